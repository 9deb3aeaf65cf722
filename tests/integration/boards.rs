//! Boards over real ports: the simulated board (the real binary's `sim` on a pty) and the
//! RV32EC firmware in qemu, driven through board sessions exactly as the Monitor does.

use std::path::Path;
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};
use tinygen::deploy::Deployable;
use tinygen::deploy::firmware::{Rv32Board, build_rv32};
use tinygen::deploy::qemu::QemuBoard;
use tinygen::deploy::sim::SimBoard;
use tinygen::link::proto::{BoardId, Hello, Msg, PROTOCOL_VERSION};
use tinygen::link::session::{LinkCmd, LinkEvent, Opener, Session, serial_opener};
use tinygen::project::Project;

fn default_model() -> Deployable {
    let p = tinygen::templates::default_project("cvae-die").unwrap();
    tinygen::templates::deployable(&p, None).expect("the shipped die model")
}

fn start(port: &str, opener: Opener, expected: Option<u32>) -> (Session, Receiver<LinkEvent>) {
    let (tx, rx) = mpsc::channel();
    let s = Session::start(port.to_string(), opener, expected, move |e| {
        let _ = tx.send(e);
    });
    (s, rx)
}

/// Waits for the first event `pick` accepts; panics with what came instead.
fn wait_for<T>(
    rx: &Receiver<LinkEvent>,
    secs: u64,
    mut pick: impl FnMut(&LinkEvent) -> Option<T>,
) -> (T, Vec<LinkEvent>) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        if let Ok(e) = rx.recv_timeout(Duration::from_millis(50)) {
            if let Some(v) = pick(&e) {
                return (v, seen);
            }
            seen.push(e);
        }
    }
    panic!("timed out; events: {seen:?}");
}

fn hello(rx: &Receiver<LinkEvent>) -> Hello {
    wait_for(rx, 20, |e| match e {
        LinkEvent::Hello(h) => Some(*h),
        _ => None,
    })
    .0
}

/// Everything the board streamed for one GENERATE: its IMAGE frames in order.
fn generate(s: &Session, rx: &Receiver<LinkEvent>) -> (Vec<LinkEvent>, usize) {
    s.send(LinkCmd::Generate {
        label: 0,
        count: 3,
        seed: 11,
        temperature: 40,
    });
    let mut rows = Vec::new();
    let mut whole = 0;
    wait_for(rx, 60, |e| match e {
        LinkEvent::Rows(_) => {
            rows.push(e.clone());
            None
        }
        LinkEvent::Image(_) => {
            whole += 1;
            None
        }
        LinkEvent::Done { count } => Some(*count),
        _ => None,
    });
    (rows, whole)
}

fn write_model(dir: &Path, m: &Deployable) -> std::path::PathBuf {
    let path = dir.join("model.bin");
    std::fs::write(&path, &m.blob).unwrap();
    path
}

fn sim(dir: &Path, m: &Deployable, link: Option<&Path>) -> SimBoard {
    SimBoard::spawn_with(
        Path::new(env!("CARGO_BIN_EXE_tinygen")),
        &write_model(dir, m),
        0,
        link,
    )
    .expect("the simulated board starts")
}

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

    let header = m.header("test", "qemu-rv32").unwrap();
    let built = build_rv32(
        Rv32Board::QemuRv32,
        &header,
        &m.firmware_config(),
        dir.path(),
    )
    .unwrap_or_else(|e| panic!("building the RV32EC firmware: {e}"));
    let q = std::sync::Arc::new(
        QemuBoard::spawn(&built.elf, dir.path()).unwrap_or_else(|e| panic!("qemu: {e}")),
    );
    let opener = q.clone().opener(115_200);
    let (s, rx) = start(&q.port, opener, Some(m.hash()));
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

/// Issue #5, item 9: garbage on the line, a board killed mid-frame, and a board that
/// comes back, each as the Monitor sees it.
#[test]
fn garbage_a_killed_board_and_a_board_that_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let m = default_model();
    let link = dir.path().join("board");
    let mut board = sim(dir.path(), &m, Some(&link));
    let port = link.display().to_string();
    let (s, rx) = start(&port, serial_opener(port.clone(), 115_200), Some(m.hash()));
    hello(&rx);

    // Garbage on the line: the board says so, and then serves as before.
    s.send(LinkCmd::Raw(vec![0x42, 0x13, 0x37, 0x99, 0x00]));
    let (code, _) = wait_for(&rx, 10, |e| match e {
        LinkEvent::BoardError { code, .. } => Some(*code),
        _ => None,
    });
    assert_eq!(code, 1, "bad frame");
    let (_, whole) = generate(&s, &rx);
    assert_eq!(whole, 3);

    // Killed mid-stream: whatever image was in flight is reported cut, never whole.
    s.send(LinkCmd::Generate {
        label: 2,
        count: 500,
        seed: 1,
        temperature: 64,
    });
    wait_for(&rx, 10, |e| {
        matches!(e, LinkEvent::Rows(r) if r.first_row == 8).then_some(())
    });
    board.kill();
    let (_, seen) = wait_for(&rx, 10, |e| {
        matches!(e, LinkEvent::Disconnected { .. }).then_some(())
    });
    // Every image reported whole has all its 1,024 pixels; an image in flight at the cut
    // is reported as cut (unless the kill fell exactly between two images).
    assert!(
        seen.iter()
            .all(|e| !matches!(e, LinkEvent::Image(i) if i.pixels.len() != 1024)),
        "a cut image passed off as whole"
    );
    let last_rows_end = seen.iter().rev().find_map(|e| match e {
        LinkEvent::Rows(r) => Some(r.first_row + r.rows),
        _ => None,
    });
    let cut = seen
        .iter()
        .any(|e| matches!(e, LinkEvent::Incomplete { .. }));
    assert!(cut || last_rows_end == Some(32), "{seen:?}");
    wait_for(&rx, 10, |e| {
        matches!(e, LinkEvent::Reconnecting { .. }).then_some(())
    });

    // It comes back (a new pty behind the same link): the session reconnects by itself.
    let _board = sim(dir.path(), &m, Some(&link));
    let h = hello(&rx);
    assert_eq!(h.model_hash, m.hash());
    let (_, whole) = generate(&s, &rx);
    assert_eq!(whole, 3);
}

/// Issue #5, item 9: a board on another protocol version, or with another model, is named
/// as such, and no GENERATE is sent to a board that speaks another version.
#[test]
fn version_and_model_mismatches_are_reported() {
    use serialport::{SerialPort, TTYPort};
    use std::io::{Read, Write};
    let (mut ours, theirs) = TTYPort::pair().expect("a pty pair");
    let mut slot = Some(theirs);
    let opener: Opener = Box::new(move || {
        slot.take()
            .map(|p| Box::new(p) as Box<dyn tinygen::link::session::Port>)
            .ok_or_else(|| std::io::Error::other("gone"))
    });
    let (s, rx) = start("pair", opener, Some(0x1111_1111));
    let mut reply = |protocol: u8, hash: u32| {
        let h = Hello {
            protocol,
            board: BoardId::Ch32v003,
            firmware: 0x0100,
            model_hash: hash,
            max_frame: 32,
            arena_bytes: 544,
            image_h: 32,
            image_w: 32,
            latent: 4,
            classes: 6,
            kind: None,
        };
        ours.write_all(&Msg::Hello(h).encode()).unwrap();
    };
    reply(PROTOCOL_VERSION, 0x2222_2222);
    let (got, _) = wait_for(&rx, 5, |e| match e {
        LinkEvent::HashMismatch { board, expected } => Some((*board, *expected)),
        _ => None,
    });
    assert_eq!(got, (0x2222_2222, 0x1111_1111));

    reply(PROTOCOL_VERSION + 1, 0x1111_1111);
    wait_for(&rx, 5, |e| {
        matches!(e, LinkEvent::VersionMismatch { .. }).then_some(())
    });
    // Drain what the host sent so far (its HELLO request), then ask for dice: nothing goes out.
    ours.set_timeout(Duration::from_millis(200)).unwrap();
    let mut buf = [0u8; 256];
    let _ = ours.read(&mut buf);
    s.send(LinkCmd::Generate {
        label: 1,
        count: 1,
        seed: 1,
        temperature: 64,
    });
    wait_for(&rx, 5, |e| {
        matches!(e, LinkEvent::VersionMismatch { .. }).then_some(())
    });
    let n = ours.read(&mut buf).unwrap_or(0);
    assert_eq!(
        n, 0,
        "a GENERATE went to a board on another protocol version"
    );
}

/// A port that flips one bit in the `nth` write (a damaged chunk on the line).
struct Corrupting {
    inner: Box<dyn tinygen::link::session::Port>,
    writes: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    nth: usize,
}

impl std::io::Read for Corrupting {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf)
    }
}

impl std::io::Write for Corrupting {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let k = self
            .writes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if k == self.nth && buf.len() > 8 {
            let mut bad = buf.to_vec();
            bad[buf.len() / 2] ^= 0x10;
            self.inner.write_all(&bad)?;
            return Ok(buf.len());
        }
        self.inner.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

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

/// Sends `inputs` one CLASSIFY at a time and collects the RESULTs in order.
fn classify_all(
    s: &Session,
    rx: &Receiver<LinkEvent>,
    inputs: &[[u8; 256]],
) -> Vec<tinygen::link::proto::Classified> {
    inputs
        .iter()
        .enumerate()
        .map(|(i, x)| {
            s.send(LinkCmd::Classify {
                tag: i as u16,
                input: x.to_vec(),
            });
            wait_for(rx, 60, |e| match e {
                LinkEvent::Classified(r) if usize::from(r.tag) == i => Some(r.clone()),
                _ => None,
            })
            .0
        })
        .collect()
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
        data: None,
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
    let (mut digits, _) = mnist::load(None, mnist::Split::Train).unwrap();
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

    let header = m.header("test", "qemu-rv32").unwrap();
    let built = build_rv32(
        Rv32Board::QemuRv32,
        &header,
        &m.firmware_config(),
        dir.path(),
    )
    .unwrap_or_else(|e| panic!("building the RV32EC classifier firmware: {e}"));
    assert!(built.sizes.flash_bytes() <= 16 * 1024, "{:?}", built.sizes);
    let q = std::sync::Arc::new(
        QemuBoard::spawn(&built.elf, dir.path()).unwrap_or_else(|e| panic!("qemu: {e}")),
    );
    let (s, rx) = start(&q.port, q.clone().opener(115_200), Some(m.hash()));
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
