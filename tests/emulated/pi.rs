//! The Raspberry Pi runner, built for aarch64 and run under qemu-aarch64 on a pty.

use crate::common::{Corrupting, default_model, generate, hello, start};
use tinygen::deploy::sim::SimBoard;
use tinygen::link::proto::BoardId;
use tinygen::link::session::{Opener, serial_opener};

/// Issue #6, items 3 and 4: the real aarch64 runner under qemu-aarch64 on a pty takes a
/// model upload (one chunk damaged on the way, detected and sent again), serves dice from
/// it, keeps its old model when the link is cut mid-upload, and a retry succeeds.
#[test]
fn pi_runner_under_qemu_aarch64_uploads_serves_and_survives_a_cut() {
    use tinygen::deploy::firmware::build_pi_runner;
    use tinygen::deploy::pi::{qemu_runner_command, upload};
    let dir = tempfile::tempdir().unwrap();
    let runner = build_pi_runner(&dir.path().join("build"))
        .unwrap_or_else(|e| panic!("building the Pi runner: {e}"));
    let home = dir.path().join("runner-home");
    let m = default_model();

    let writes = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let board = SimBoard::spawn_command(qemu_runner_command(&runner, &home))
        .unwrap_or_else(|e| panic!("qemu-aarch64 runner: {e}"));
    let mut inner = serial_opener(board.port.clone(), 115_200);
    let w = writes.clone();
    let opener: Opener = Box::new(move || {
        Ok(Box::new(Corrupting {
            inner: inner()?,
            writes: w.clone(),
            nth: 3, // HELLO_REQ, BEGIN, chunk 0, then chunk 1 is damaged
        }) as Box<dyn tinygen::link::session::Port>)
    });
    let (s, rx) = start(&board.port, opener, None);
    let h = hello(&rx);
    assert_eq!(
        (h.board, h.model_hash),
        (BoardId::Pi, 0),
        "a fresh runner has no model"
    );
    let chunk = usize::from(h.max_frame) - 5;
    assert!(chunk >= 512, "the runner takes big chunks ({chunk})");
    // Small chunks so the blob takes several frames.
    let hash = upload(&s, &rx, &m.blob, 256, |_| {}).expect("the upload succeeds");
    assert_eq!(hash, m.hash());
    assert!(
        writes.load(std::sync::atomic::Ordering::SeqCst) > 3,
        "the damaged chunk went out"
    );
    assert_eq!(std::fs::read(home.join("model.bin")).unwrap(), m.blob);
    let (_, whole) = generate(&s, &rx);
    assert_eq!(whole, 3, "the runner serves dice from the uploaded model");
    drop(s);

    // Another model; the runner dies after the first chunks.
    let other = {
        let p = tinygen::templates::default_project("cvae-die").unwrap();
        let c = tinygen::templates::die::model::Cvae::new(&p, 9, &burn::prelude::Device::flex());
        tinygen::export::blob(&c.export_spec(&p).unwrap(), "other").unwrap()
    };
    let board = std::sync::Mutex::new(Some(board));
    let port = board.lock().unwrap().as_ref().unwrap().port.clone();
    let (s, rx) = start(&port, serial_opener(port.clone(), 115_200), None);
    hello(&rx);
    let result = upload(&s, &rx, &other, 256, |p| {
        if p.sent >= 512 {
            board.lock().unwrap().take(); // the cable is pulled: the runner is gone
        }
    });
    assert!(result.is_err(), "a cut upload is never reported as success");
    drop(s);
    assert_eq!(
        std::fs::read(home.join("model.bin")).unwrap(),
        m.blob,
        "the old model survives the cut"
    );
    // The runner comes back with its old model; the retry succeeds.
    let board = SimBoard::spawn_command(qemu_runner_command(&runner, &home)).unwrap();
    let (s, rx) = start(
        &board.port,
        serial_opener(board.port.clone(), 115_200),
        None,
    );
    assert_eq!(hello(&rx).model_hash, m.hash());
    let hash = upload(&s, &rx, &other, 1024, |_| {}).expect("the retry succeeds");
    assert_eq!(Some(hash), tinygen::export::blob_hash(&other));
    assert_eq!(std::fs::read(home.join("model.bin")).unwrap(), other);
}

/// Issue #16, item 4: the aarch64 runner (built with the diffusion runner) takes a
/// diffusion model by upload and serves it with STEP previews, the images and previews
/// byte for byte those of the engine on this machine.
#[test]
fn pi_runner_under_qemu_aarch64_serves_a_diffusion_model() {
    use tinygen::deploy::firmware::build_pi_runner;
    use tinygen::deploy::pi::{qemu_runner_command, upload};
    use tinygen::link::session::{LinkCmd, LinkEvent};
    let dir = tempfile::tempdir().unwrap();
    let runner = build_pi_runner(&dir.path().join("build"))
        .unwrap_or_else(|e| panic!("building the Pi runner: {e}"));
    let blob = std::fs::read(crate::common::repo("firmware-stub/tests/diffusion.bin")).unwrap();
    let board = SimBoard::spawn_command(qemu_runner_command(&runner, &dir.path().join("home")))
        .unwrap_or_else(|e| panic!("qemu-aarch64 runner: {e}"));
    let (s, rx) = start(
        &board.port,
        serial_opener(board.port.clone(), 115_200),
        None,
    );
    hello(&rx);
    let hash = upload(&s, &rx, &blob, 1024, |_| {}).expect("the upload succeeds");
    assert_eq!(Some(hash), tinygen::export::blob_hash(&blob));
    s.send(LinkCmd::Generate {
        label: 4,
        count: 2,
        seed: 3,
        temperature: 64,
        first: 0,
        steps: 4,
        preview: 2,
    });
    let mut engine = tinygen::engine::diffusion::Diffusion::load(&blob).unwrap();
    let (mut images, mut previews, mut stats) = (Vec::new(), Vec::new(), Vec::new());
    crate::common::wait_for(&rx, 120, |e| match e {
        LinkEvent::Step(p) => {
            previews.push(p.clone());
            None
        }
        LinkEvent::Stats(s) => {
            stats.push(*s);
            None
        }
        LinkEvent::Image(i) => {
            images.push(i.clone());
            None
        }
        LinkEvent::Done { count } => Some(*count),
        _ => None,
    });
    assert_eq!(images.len(), 2);
    for img in &images {
        let (want, shots) = engine.sample(3, u32::from(img.index), 4, 4, true).unwrap();
        assert_eq!(img.pixels, want, "image {}", img.index);
        let mine: Vec<_> = previews.iter().filter(|p| p.index == img.index).collect();
        assert_eq!(mine.iter().map(|p| p.step).collect::<Vec<_>>(), [0, 2]);
        for p in mine {
            assert_eq!(p.pixels, shots[usize::from(p.step)]);
        }
    }
    // The runner streamed the weights (its default provider, prefetch) and says what it
    // used: its own resident memory and the weight bytes each image read from the file.
    assert_eq!(stats.len(), 2);
    for st in &stats {
        let m = st
            .memory
            .expect("a Pi runner's diffusion STATS carry its memory");
        assert!(m.peak_kb > 0 && m.peak_kb >= m.anon_kb, "{m:?}");
        assert!(m.weight_bytes > 0, "the weights were streamed: {m:?}");
    }
    assert_eq!(
        stats[0].memory.unwrap().weight_bytes,
        stats[1].memory.unwrap().weight_bytes
    );
}

/// Issue #17, item 2: `tinygen flash --board pi` uploads the Streaming SD project's model
/// to the aarch64 runner as it uploads a die model, and the runner then serves it.
#[test]
fn flash_board_pi_uploads_the_streaming_sd_model() {
    use tinygen::deploy::firmware::build_pi_runner;
    use tinygen::deploy::pi::qemu_runner_command;
    let dir = tempfile::tempdir().unwrap();
    let runner = build_pi_runner(&dir.path().join("build"))
        .unwrap_or_else(|e| panic!("building the Pi runner: {e}"));
    let home = dir.path().join("home");
    let board = SimBoard::spawn_command(qemu_runner_command(&runner, &home))
        .unwrap_or_else(|e| panic!("qemu-aarch64 runner: {e}"));
    let project = dir.path().join("sd.ron");
    std::fs::copy(crate::common::repo("projects/sd.ron"), &project).unwrap();
    let p = tinygen::templates::load_project(&project).unwrap();
    let m = tinygen::templates::deployable(&p, Some(&project)).unwrap();
    let out = crate::common::run(&[
        "flash",
        project.to_str().unwrap(),
        "--board",
        "pi",
        "--port",
        &board.port,
    ]);
    let err = crate::common::text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!(
            "Verified: the runner now serves model {:08x}",
            m.hash()
        )),
        "{err}"
    );
    assert_eq!(std::fs::read(home.join("model.bin")).unwrap(), m.blob);
    // The runner says so to the next one who asks.
    let (_s, rx) = start(
        &board.port,
        serial_opener(board.port.clone(), 115_200),
        None,
    );
    let h = hello(&rx);
    assert_eq!((h.board, h.model_hash), (BoardId::Pi, m.hash()));
}
