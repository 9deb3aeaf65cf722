//! The RV32EC firmware in qemu-system-riscv32 (`-icount shift=0`), started through the
//! deploy seam as the Monitor starts it, beside the simulated board.

use crate::common::{classify_all, default_model, generate, hello, sim, start, wait_for};
use tinygen::deploy::local::{self, LocalKind};
use tinygen::link::proto::BoardId;
use tinygen::link::session::{LinkCmd, LinkEvent, serial_opener};
use tinygen::project::Project;

/// Issue #5, item 6: the RV32EC firmware under qemu streams the very bytes the simulated
/// board does.
#[test]
fn qemu_rv32ec_streams_the_same_images_as_the_simulated_board() {
    let dir = tempfile::tempdir().unwrap();
    let m = default_model();

    let board = sim(dir.path(), &m, None);
    let (s, rx) = start(
        &board.port,
        serial_opener(board.port.clone(), 115_200),
        Some(m.hash()),
    );
    let h = hello(&rx);
    assert_eq!(
        (h.board, h.model_hash, h.image_h),
        (BoardId::Sim, m.hash(), 32)
    );
    let (sim_rows, sim_whole) = generate(&s, &rx);
    drop(s);

    let q = local::start(LocalKind::QemuRv32, &m, "test", 115_200)
        .unwrap_or_else(|e| panic!("the RV32EC firmware in qemu: {e}"));
    let (s, rx) = start(&q.port, q.opener(), Some(m.hash()));
    let h = hello(&rx);
    assert_eq!((h.board, h.model_hash), (BoardId::QemuRv32, m.hash()));
    let (qemu_rows, qemu_whole) = generate(&s, &rx);

    assert_eq!((sim_whole, qemu_whole), (3, 3));
    assert_eq!(sim_rows.len(), 3 * 4, "32 rows in frames of 8");
    assert_eq!(
        qemu_rows, sim_rows,
        "the IMAGE frames differ between qemu and the sim"
    );
}

/// Issue #7, item 4: a BitNet classifier trained here (on real MNIST digits) answers the
/// same class and scores on the simulated board, on the RV32EC firmware in qemu, and in
/// the host engine; qemu counts the instructions of each inference. A digit that does not
/// fit the board's frame is an ERROR, not a crash.
#[test]
fn bitnet_classifier_answers_alike_on_the_simulated_and_qemu_boards() {
    use tinygen::data::mnist;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mnist.ron");
    let mut p: Project = tinygen::templates::default_project("bitnet-mnist").unwrap();
    p.dataset.size = 2000;
    p.training.epochs = 2;
    tinygen::project::save(&p, &file).unwrap();
    let opts = tinygen::train::TrainOptions {
        checkpoints: p.checkpoint_dir(Some(&file)),
        fresh: true,
        epochs: None,
        data: p.data_places(Some(&file)),
    };
    tinygen::templates::of(&p)
        .train(
            &p,
            &opts,
            &tinygen::train::Control::default(),
            &burn::prelude::Device::flex(),
            &mut |_| {},
        )
        .unwrap_or_else(|e| panic!("training on the npm digits (run scripts/setup): {e}"));
    let m = tinygen::templates::deployable(&p, Some(&file)).unwrap();
    // The 12k model for the CH32V003 has coded weights: every board below decodes them.
    assert!(m.spec.coded_weights && m.firmware_config().only_coded);
    let (mut digits, _) = mnist::load(&Default::default(), mnist::Split::Train).unwrap();
    digits.truncate(2024);
    let inputs: Vec<[u8; 256]> = mnist::inputs(&digits)[2000..].to_vec();
    let mut engine = tinygen::engine::Engine::load(&m.blob).unwrap();
    let want: Vec<(u8, Vec<i8>)> = inputs.iter().map(|x| engine.classify(x).unwrap()).collect();
    let right = want
        .iter()
        .zip(&digits.labels[2000..])
        .filter(|((c, _), l)| c == *l)
        .count();
    assert!(right >= 12, "a model that learned something: {right} of 24");

    let board = sim(dir.path(), &m, None);
    let (s, rx) = start(
        &board.port,
        serial_opener(board.port.clone(), 115_200),
        Some(m.hash()),
    );
    let h = hello(&rx);
    assert_eq!((h.latent, h.classes, h.image_w), (0, 10, 10), "{h:?}");
    let sim_answers = classify_all(&s, &rx, &inputs);
    // A cut-short digit: the board says what is wrong and serves on.
    s.send(LinkCmd::Classify {
        tag: 99,
        input: vec![0; 100],
    });
    wait_for(&rx, 20, |e| match e {
        LinkEvent::BoardError { code: 3, .. } => Some(()),
        _ => None,
    });
    assert_eq!(classify_all(&s, &rx, &inputs[..1])[0].class, want[0].0);
    drop(s);

    let q = local::start(LocalKind::QemuRv32, &m, "test", 115_200)
        .unwrap_or_else(|e| panic!("the RV32EC classifier firmware in qemu: {e}"));
    let sizes = q.sizes.expect("qemu firmware sizes");
    assert!(sizes.flash_bytes() <= 16 * 1024, "{sizes:?}");
    let (s, rx) = start(&q.port, q.opener(), Some(m.hash()));
    assert_eq!(hello(&rx).board, BoardId::QemuRv32);
    let qemu_answers = classify_all(&s, &rx, &inputs);
    // The small microcontroller build sends the error code alone; the host words it.
    s.send(LinkCmd::Classify {
        tag: 98,
        input: vec![0; 100],
    });
    let (text, _) = wait_for(&rx, 20, |e| match e {
        LinkEvent::BoardError { code: 3, text } => Some(text.clone()),
        _ => None,
    });
    assert_eq!(text, "bad arguments");
    assert_eq!(classify_all(&s, &rx, &inputs[..1])[0].class, want[0].0);

    for (i, ((w, sa), qa)) in want.iter().zip(&sim_answers).zip(&qemu_answers).enumerate() {
        assert_eq!((sa.class, &sa.scores), (w.0, &w.1), "sim, digit {i}");
        assert_eq!((qa.class, &qa.scores), (w.0, &w.1), "qemu, digit {i}");
        assert!(qa.cycles > 10_000, "qemu counts instructions: {qa:?}");
        assert!(qa.stack_bytes > 0);
    }
}
