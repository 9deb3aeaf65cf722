//! The real binary in a real pseudo-terminal: it draws, switches screens by key and by
//! mouse, quits, and leaves the terminal as it found it (also after Ctrl-C and a panic).

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// An upper bound only: generous, because CI runs these beside training and qemu tests.
const WAIT: Duration = Duration::from_secs(60);

struct Session {
    /// The terminal's local modes before tinygen started.
    cooked: libc::tcflag_t,
    master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    output: Arc<Mutex<Vec<u8>>>,
    /// Set once the reader has seen the end of the output.
    eof: Arc<std::sync::atomic::AtomicBool>,
    _dir: tempfile::TempDir,
}

/// The terminal's local modes (ICANON, ECHO, …) as the kernel has them.
fn lflags(master: &dyn MasterPty) -> libc::tcflag_t {
    let fd = master.as_raw_fd().expect("a unix pty");
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::tcgetattr(fd, &mut t) }, 0);
    t.c_lflag
}

impl Session {
    fn start(envs: &[(&str, &str)]) -> Session {
        Session::start_in(tempfile::tempdir().unwrap(), &[], envs)
    }

    /// tinygen with `args`, run in `dir` (which the session keeps).
    fn start_in(dir: tempfile::TempDir, args: &[&str], envs: &[(&str, &str)]) -> Session {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: 24,
                cols: 80,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let cooked = lflags(pair.master.as_ref());
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_tinygen"));
        cmd.args(args);
        cmd.cwd(dir.path());
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("DISPLAY");
        cmd.env_remove("WAYLAND_DISPLAY");
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        let writer = pair.master.take_writer().unwrap();
        let output = Arc::new(Mutex::new(Vec::new()));
        let sink = output.clone();
        let eof = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let done = eof.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        Session {
            cooked,
            master: pair.master,
            writer,
            child,
            output,
            eof,
            _dir: dir,
        }
    }

    fn raw(&self) -> Vec<u8> {
        self.output.lock().unwrap().clone()
    }

    fn screen(&self) -> String {
        let mut parser = vt100::Parser::new(24, 80, 0);
        parser.process(&self.raw());
        parser.screen().contents()
    }

    fn wait_for(&self, needle: &str) {
        let start = Instant::now();
        while start.elapsed() < WAIT {
            if self.screen().contains(needle) {
                return;
            }
            std::thread::sleep(Duration::from_millis(30));
        }
        panic!("'{needle}' never appeared; the screen:\n{}", self.screen());
    }

    fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
        self.writer.flush().unwrap();
    }

    fn wait_exit(&mut self) -> portable_pty::ExitStatus {
        let start = Instant::now();
        while start.elapsed() < WAIT {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader thread collect the last bytes: until it sees the end of
                // the output (the pty closes with the child); on a loaded machine that can
                // take a while, so the bound is the same generous one.
                let until = Instant::now() + WAIT;
                while !self.eof.load(std::sync::atomic::Ordering::SeqCst) && Instant::now() < until
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
                std::thread::sleep(Duration::from_millis(100));
                return status;
            }
            std::thread::sleep(Duration::from_millis(30));
        }
        let _ = self.child.kill();
        panic!("tinygen did not exit; the screen:\n{}", self.screen());
    }

    /// The terminal was handed back: the alternate screen left, mouse reporting off,
    /// the cursor shown, and line editing and echo on again.
    fn assert_restored(&self) {
        let cooked = self.cooked;
        let raw = self.raw();
        let find = |pat: &[u8]| raw.windows(pat.len()).rposition(|w| w == pat);
        let enter = find(b"\x1b[?1049h").expect("entered the alternate screen");
        let leave = find(b"\x1b[?1049l").expect("left the alternate screen");
        assert!(leave > enter);
        assert!(
            find(b"\x1b[?1000l").is_some_and(|i| i > enter),
            "mouse capture left on"
        );
        assert!(
            find(b"\x1b[?25h").is_some_and(|i| i > enter),
            "cursor left hidden"
        );
        let now = lflags(self.master.as_ref());
        for flag in [libc::ICANON, libc::ECHO] {
            assert_eq!(now & flag, cooked & flag, "terminal left in raw mode");
        }
    }
}

#[test]
fn switches_screens_by_key_and_mouse_then_quits_cleanly() {
    let mut s = Session::start(&[]);
    assert_ne!(s.cooked & libc::ICANON, 0);
    s.wait_for("Settings · CVAE die");
    s.wait_for("sim · not connected");

    s.send(b"2");
    s.wait_for("Enter: train/resume");
    s.send(b"\t");
    s.wait_for("Budget · ch32v003");
    s.send(b"?");
    s.wait_for("switch screen");
    s.send(b"x");
    // A left click on the "5 Monitor" tab (SGR mouse: 1-based column 57, row 1).
    s.send(b"\x1b[<0;57;1M\x1b[<0;57;1m");
    // The Monitor starts the simulated board and the first HELLO rolls six dice, which
    // stream in from the real firmware loop over a pty.
    s.wait_for("sim · live");
    s.wait_for(" pip");
    s.send(b"r");
    s.send(b"1");
    s.wait_for("Settings · CVAE die");
    // Mid-session the terminal is raw.
    assert_eq!(lflags(s.master.as_ref()) & libc::ICANON, 0);

    s.send(b"q");
    let status = s.wait_exit();
    assert!(status.success(), "{status:?}");
    s.assert_restored();
}

/// Issue #7, item 4, in the real terminal: a BitNet project trained here, its Monitor on
/// the simulated board classifies a test digit at once; a digit drawn with the mouse
/// (SGR mouse reports) is classified on Enter.
#[test]
fn the_monitor_classifies_test_digits_and_a_drawing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("digits.ron");
    let mut p = tinygen::templates::default_project("bitnet-mnist").unwrap();
    p.dataset.size = 1000;
    p.training.epochs = 1;
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

    // Without colour the canvas is drawn in ASCII, so ink shows in the screen's text.
    let mut s = Session::start_in(dir, &["digits.ron"], &[("NO_COLOR", "1")]);
    s.wait_for("Settings · BitNet MNIST");
    s.send(b"5");
    s.wait_for("board says");
    s.wait_for("digit labelled");
    // Erase, then drag across the canvas (half blocks at 80x24: it starts at column 2,
    // row 5, 1-based) and send the drawing.
    s.send(b"e");
    s.wait_for("your drawing");
    let canvas = |s: &Session| -> String {
        s.screen()
            .lines()
            .skip(4)
            .take(8)
            .map(|l| l.chars().skip(1).take(16).collect::<String>())
            .collect()
    };
    assert!(canvas(&s).trim().is_empty(), "erased: {:?}", canvas(&s));
    s.send(b"\x1b[<0;4;8M\x1b[<32;6;8M\x1b[<32;8;8M\x1b[<32;10;8M\x1b[<0;10;8m");
    let start = Instant::now();
    while canvas(&s).trim().is_empty() && start.elapsed() < WAIT {
        std::thread::sleep(Duration::from_millis(30));
    }
    assert!(
        !canvas(&s).trim().is_empty(),
        "the stroke is drawn:\n{}",
        s.screen()
    );
    s.send(b"\r");
    s.wait_for("for the drawing");
    s.send(b"q");
    let status = s.wait_exit();
    assert!(status.success(), "{status:?}");
    s.assert_restored();
}

#[test]
fn ctrl_c_restores_the_terminal() {
    let mut s = Session::start(&[]);
    s.wait_for("Settings · CVAE die");
    s.send(b"\x03");
    let status = s.wait_exit();
    assert!(status.success(), "{status:?}");
    s.assert_restored();
}

#[test]
fn unsaved_changes_are_not_lost_on_quit() {
    let mut s = Session::start(&[]);
    s.wait_for("Settings · CVAE die");
    // Edit the latent size (second field), then try to quit.
    s.send(b"j\r\x7f6\r");
    s.wait_for("CVAE die* · unsaved");
    s.send(b"q");
    s.wait_for("has unsaved changes");
    // Save: no desktop here, so the in-terminal picker opens with a suggested name.
    s.send(b"s");
    s.wait_for("Save project as");
    s.send(b"\r");
    let status = s.wait_exit();
    assert!(status.success());
    let saved = s._dir.path().join("cvae-die.ron");
    let text = std::fs::read_to_string(&saved).expect("the project was saved");
    assert!(text.contains("latent: 6"), "{text}");
}

#[test]
fn a_panic_restores_the_terminal_and_reports() {
    let mut s = Session::start(&[("TINYGEN_DEBUG_PANIC", "1")]);
    let status = s.wait_exit();
    assert!(!status.success());
    s.assert_restored();
    let raw = String::from_utf8_lossy(&s.raw()).into_owned();
    let leave = raw.find("\x1b[?1049l").unwrap();
    assert!(
        raw[leave..].contains("TINYGEN_DEBUG_PANIC is set"),
        "the panic message must be printed on the restored screen"
    );
}

/// Issue #18, item 12: sixel was guessed from TERM. The workbench asks the terminal (a
/// kitty graphics query, then DA1, which every terminal answers) and the Monitor draws
/// with what the answer names; a terminal that names none gets half-blocks.
#[test]
fn the_workbench_asks_the_terminal_which_graphics_it_draws() {
    let answers: [(&[u8], &str); 3] = [
        (b"\x1b[?62;4;22c", "sixel"),
        (b"\x1b_Gi=31;OK\x1b\\\x1b[?62;22c", "kitty"),
        (b"\x1b[?1;2c", "half-block"),
    ];
    for (answer, name) in answers {
        let mut s = Session::start(&[]);
        let start = Instant::now();
        while !s.raw().windows(3).any(|w| w == b"\x1b[c") {
            assert!(start.elapsed() < WAIT, "no DA1 query:\n{:?}", s.raw());
            std::thread::sleep(Duration::from_millis(10));
        }
        s.send(answer);
        s.wait_for("1 Project");
        s.send(b"5");
        s.wait_for(&format!("preview   {name}"));
        s.send(b"q");
        let status = s.wait_exit();
        assert!(status.success(), "{name}: {status:?}");
        s.assert_restored();
    }
}

/// Issue #19, item 7: SIGTERM and SIGHUP (a closed terminal window, `kill`) left the
/// terminal in raw mode on the alternate screen.
#[test]
fn sigterm_and_sighup_restore_the_terminal() {
    for signal in [libc::SIGTERM, libc::SIGHUP] {
        let mut s = Session::start(&[]);
        s.wait_for("1 Project");
        let pid = s.child.process_id().expect("a running child") as i32;
        // SAFETY: a signal to our own child.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
        let status = s.wait_exit();
        assert!(status.success(), "signal {signal}: {status:?}");
        s.assert_restored();
    }
}

/// Issue #20, item 2: a whole die workshop on the simulated board, headless. After each
/// step, `tinygen steps check --json` ticks exactly one more, in order; at the end the
/// workbench's Steps panel (`w`) shows the same answer.
#[test]
fn a_die_workshop_ticks_its_steps_in_order_then_the_steps_panel_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let cli = |args: &[&str]| crate::common::run_in(dir.path(), args);
    // A workshop-sized run: one epoch of 600 dice.
    crate::common::small_die_project(dir.path(), 1);
    let done = || crate::common::steps_done(dir.path());
    assert_eq!(done(), ["budget"]);
    // A board run with the shipped model does not tick the board steps of this workshop:
    // they wait for training.
    let out = cli(&["monitor", "d.ron", "--count", "2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(done(), ["budget"]);
    let out = cli(&["train", "d.ron"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(done(), ["budget", "train"]);
    assert!(cli(&["export", "d.ron"]).status.success());
    assert_eq!(done(), ["budget", "train", "export"]);
    let out = cli(&["monitor", "d.ron", "--count", "6", "--png", "dice.png"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        done(),
        ["budget", "train", "export", "board", "images", "png"]
    );
    let out = cli(&["steps", "check", "d.ron"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("6 of 6 steps done"));

    let mut s = Session::start_in(dir, &["d.ron"], &[]);
    s.wait_for("1 Project");
    s.send(b"w");
    s.wait_for("6 of 6 done");
    s.wait_for("[x] 6. Save the images as a PNG");
    s.send(b"x");
    s.send(b"q");
    s.wait_exit();
}

/// Issue #20, item 2: "skip to here" in the Steps panel: `k` loads the workshop's
/// reference checkpoint and the training step ticks.
#[test]
fn the_steps_panel_skips_past_training_with_the_reference() {
    let (_leader, reference) = crate::common::trained_reference();
    let dir = tempfile::tempdir().unwrap();
    crate::common::small_die_project(dir.path(), 1);
    crate::common::write_workshop(
        dir.path(),
        &reference,
        &[
            r#"Step(id: "budget", title: "Fits", check: BudgetFits)"#,
            r#"Step(id: "train", title: "Trained once", check: Trained(epochs: 1))"#,
        ],
    );
    let mut s = Session::start_in(dir, &["d.ron"], &[]);
    s.wait_for("1 Project");
    s.send(b"w");
    s.wait_for("k: skip past training");
    s.wait_for("[ ] 2. Trained once");
    s.send(b"k");
    s.wait_for("[x] 2. Trained once");
    s.wait_for("Dice · 2 of 2 done");
    s.send(b"x");
    s.send(b"q");
    s.wait_exit();
}
