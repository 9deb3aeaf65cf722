//! Helpers both test suites share: the real binary, and board sessions over real ports
//! as the Monitor runs them.

#![allow(dead_code)] // each suite uses its own share of these

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};
use tinygen::deploy::Deployable;
use tinygen::deploy::sim::SimBoard;
use tinygen::link::proto::Hello;
use tinygen::link::session::{LinkCmd, LinkEvent, Opener, Session};

/// The built binary under test.
pub fn tinygen() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tinygen"));
    c.env("NO_COLOR", "1");
    c
}

pub fn run(args: &[&str]) -> Output {
    tinygen()
        .args(args)
        .output()
        .expect("the tinygen binary runs")
}

/// tinygen with `args`, run in `dir`.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    tinygen()
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the tinygen binary runs")
}

/// A die project `d.ron` in `dir`, sized for a test: `epochs` epochs of 600 dice.
pub fn small_die_project(dir: &Path, epochs: u32) {
    assert!(
        run_in(dir, &["new", "-t", "cvae-die", "d.ron"])
            .status
            .success()
    );
    let ron = std::fs::read_to_string(dir.join("d.ron")).unwrap();
    let default_epochs = tinygen::templates::default_project("cvae-die")
        .unwrap()
        .training
        .epochs;
    let small = ron
        .replacen(
            &format!("epochs: {default_epochs},"),
            &format!("epochs: {epochs},"),
            1,
        )
        .replacen("size: 12000", "size: 600", 1);
    assert!(
        small.contains("size: 600,") && small.contains(&format!("epochs: {epochs},")),
        "{small}"
    );
    std::fs::write(dir.join("d.ron"), small).unwrap();
}

/// A leader's trained `d.ron` (one epoch) in a new folder, and its checkpoint folder.
pub fn trained_reference() -> (tempfile::TempDir, PathBuf) {
    let leader = tempfile::tempdir().unwrap();
    small_die_project(leader.path(), 1);
    assert!(run_in(leader.path(), &["train", "d.ron"]).status.success());
    let checkpoints = leader.path().join("build/d/checkpoints");
    (leader, checkpoints)
}

/// `d.workshop.ron` in `dir`, titled "Dice", with `reference` and `steps` (RON `Step(…)`s).
pub fn write_workshop(dir: &Path, reference: &Path, steps: &[&str]) {
    let text = format!(
        "Workshop(title: \"Dice\", reference: Some({:?}), steps: [\n{}\n])",
        reference.display().to_string(),
        steps.join(",\n")
    );
    std::fs::write(dir.join("d.workshop.ron"), text).unwrap();
}

/// The ids of the steps `tinygen steps check` finds done for `d.ron` in `dir`.
pub fn steps_done(dir: &Path) -> Vec<String> {
    let out = run_in(dir, &["steps", "check", "d.ron", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["done"] == true)
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

pub fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub fn default_model() -> Deployable {
    let p = tinygen::templates::default_project("cvae-die").unwrap();
    tinygen::templates::deployable(&p, None).expect("the shipped die model")
}

pub fn start(port: &str, opener: Opener, expected: Option<u32>) -> (Session, Receiver<LinkEvent>) {
    let (tx, rx) = mpsc::channel();
    let s = Session::start(port.to_string(), opener, expected, move |e| {
        let _ = tx.send(e);
    });
    (s, rx)
}

/// Waits for the first event `pick` accepts; panics with what came instead.
pub fn wait_for<T>(
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

pub fn hello(rx: &Receiver<LinkEvent>) -> Hello {
    wait_for(rx, 20, |e| match e {
        LinkEvent::Hello(h) => Some(*h),
        _ => None,
    })
    .0
}

/// Everything the board streamed for one GENERATE: its IMAGE frames in order.
pub fn generate(s: &Session, rx: &Receiver<LinkEvent>) -> (Vec<LinkEvent>, usize) {
    s.send(LinkCmd::Generate {
        label: 0,
        count: 3,
        seed: 11,
        temperature: 40,
        first: 0,
        steps: 0,
        preview: 0,
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

pub fn write_model(dir: &Path, m: &Deployable) -> std::path::PathBuf {
    let path = dir.join("model.bin");
    std::fs::write(&path, &m.blob).unwrap();
    path
}

pub fn sim(dir: &Path, m: &Deployable, link: Option<&Path>) -> SimBoard {
    SimBoard::spawn_with(
        Path::new(env!("CARGO_BIN_EXE_tinygen")),
        &write_model(dir, m),
        0,
        link,
    )
    .expect("the simulated board starts")
}

/// Sends `inputs` one CLASSIFY at a time and collects the RESULTs in order.
pub fn classify_all(
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

/// A port that flips one bit in the `nth` write (a damaged chunk on the line).
pub struct Corrupting {
    pub inner: Box<dyn tinygen::link::session::Port>,
    pub writes: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    pub nth: usize,
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
