//! `cargo bench --bench tui`: how fast the workbench starts and draws.
//!
//! - start-up: the real binary in a 120x40 pseudo-terminal, from spawn until its first
//!   frame (the status bar) has been written; median and best of several runs;
//! - render: one frame at 120x40 through ratatui's crossterm backend into memory, for each
//!   screen, redrawing the same screen and switching screens every frame.
//!
//! Goals (issue 2): first frame under 150 ms, a frame under 2 ms.

use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use std::io::Read;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tinygen::project::Project;
use tinygen::tui::app::App;
use tinygen::tui::layout::Screen;
use tinygen::tui::view;

fn binary() -> PathBuf {
    // target/release/deps/tui-… → target/release/tinygen
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let bin = dir.join("tinygen");
    assert!(
        bin.exists(),
        "build the binary first: cargo build --release"
    );
    bin
}

fn startup_once(bin: &PathBuf) -> Duration {
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: 40,
            cols: 120,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = CommandBuilder::new(bin);
    cmd.env("TERM", "xterm-256color");
    cmd.env_remove("DISPLAY");
    let start = Instant::now();
    let mut child = pair.slave.spawn_command(cmd).unwrap();
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
            if seen.windows(6).any(|w| w == b"q quit") {
                let _ = tx.send(Instant::now());
                break;
            }
        }
    });
    let first_frame = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("a first frame");
    let mut writer = pair.master.take_writer().unwrap();
    let _ = writer.write_all(b"q");
    let _ = child.wait();
    first_frame - start
}

use std::io::Write;

/// Counts the bytes a frame would send to the terminal, and drops them.
struct Sink(usize);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn render_bench(screen_switch: bool, w: u16, h: u16) -> Vec<(Screen, f64)> {
    let project = Project::from_template(tinygen::templates::ALL[0].def());
    let mut app = App::new(project, Some("projects/die.ron".into()), (w, h));
    let backend = CrosstermBackend::new(Sink(0));
    let mut term = Terminal::with_options(
        backend,
        TerminalOptions {
            viewport: Viewport::Fixed(Rect::new(0, 0, w, h)),
        },
    )
    .unwrap();
    let mut out = Vec::new();
    let frames = 2000;
    for s in Screen::ALL {
        let start = Instant::now();
        for i in 0..frames {
            app.screen = if screen_switch && i % 2 == 1 {
                Screen::Train
            } else {
                s
            };
            term.draw(|f| view::render(&app, f, Instant::now()))
                .unwrap();
        }
        out.push((s, start.elapsed().as_secs_f64() * 1e3 / frames as f64));
    }
    out
}

fn main() {
    // `cargo test --benches` runs this with --test-ish flags; stay quick there.
    if std::env::args().any(|a| a == "--test") {
        return;
    }
    let bin = binary();
    let _ = startup_once(&bin); // warm the page cache
    let mut runs: Vec<f64> = (0..15)
        .map(|_| startup_once(&bin).as_secs_f64() * 1e3)
        .collect();
    runs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "tui start-up to first frame (120x40 pty, {} runs)",
        runs.len()
    );
    println!(
        "  median {:7.1} ms   best {:7.1} ms   worst {:7.1} ms   goal < 150 ms",
        runs[runs.len() / 2],
        runs[0],
        runs[runs.len() - 1]
    );

    // The Train screen at its busiest: 30 epochs of curves and six dice in colour.
    let project = Project::from_template(tinygen::templates::ALL[0].def());
    let mut app = App::new(project, None, (120, 40));
    app.train.running = true;
    app.train.epochs = 30;
    app.train.history = (1..=30)
        .map(|e| tinygen::train::EpochLoss {
            epoch: e,
            losses: vec![("recon".into(), 500.0 - e as f32), ("kl".into(), 8.0)],
            ..Default::default()
        })
        .collect();
    app.train.samples = (1..=6u8)
        .map(|p| (p, tinygen::data::die::sample(1, u64::from(p) - 1).pixels))
        .collect();
    let mut term = Terminal::with_options(
        CrosstermBackend::new(Sink(0)),
        TerminalOptions {
            viewport: Viewport::Fixed(Rect::new(0, 0, 120, 40)),
        },
    )
    .unwrap();
    let frames = 2000;
    let start = Instant::now();
    for i in 0..frames {
        // Alternate two sample sets so every frame repaints the dice.
        app.train.samples.swap(0, 1 + i % 5);
        term.draw(|f| view::render(&app, f, Instant::now()))
            .unwrap();
    }
    println!(
        "render per frame (Train, 30 epochs + 6 colour dice changing every frame, 120x40)\n  Train    {:7.3} ms   goal < 2 ms",
        start.elapsed().as_secs_f64() * 1e3 / frames as f64
    );

    for (label, switch, w, h) in [
        ("redraw, 120x40", false, 120, 40),
        ("switch screens every frame, 120x40", true, 120, 40),
        ("redraw, 80x24", false, 80, 24),
    ] {
        println!("render per frame ({label})");
        for (s, ms) in render_bench(switch, w, h) {
            println!("  {:<8} {:7.3} ms   goal < 2 ms", s.title(), ms);
        }
    }
}
