//! The deploy worker: lists the boards tinygen can find, and puts the model on the one
//! picked through the deploy seam's [`Flasher`]s, reporting each stage.

use super::super::msg::{BoardEntry, DeployEvent, Msg};
use crate::deploy::flash::{Ch32Flasher, FlashError, Flasher, PiFlasher, Progress};
use crate::deploy::probe::ProbeError;
use crate::project::{BoardKind, Project};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::Sender;

/// Lists the boards (probe-rs and serialport may take a moment: a worker does it).
pub fn scan(tx: Sender<Msg>) {
    std::thread::spawn(move || {
        let mut boards = vec![
            BoardEntry {
                kind: BoardKind::Sim,
                port: None,
                label: "simulated board: the firmware built for this machine, on a pty".into(),
                unavailable: None,
            },
            BoardEntry {
                kind: BoardKind::QemuRv32,
                port: None,
                label: "qemu rv32ec: the CH32V003 firmware in qemu-system-riscv32".into(),
                unavailable: None,
            },
        ];
        let probes = crate::deploy::probe::probes();
        if probes.is_empty() {
            boards.push(BoardEntry {
                kind: BoardKind::Ch32v003,
                port: None,
                label: "CH32V003 through a WCH-LinkE".into(),
                unavailable: Some("no debug probe found".into()),
            });
        }
        for p in probes {
            boards.push(BoardEntry {
                kind: BoardKind::Ch32v003,
                port: Some(p.clone()),
                label: format!("CH32V003 through {p}"),
                unavailable: None,
            });
        }
        // serialport never lists pseudo-terminals; a Pi on a pty is typed into the project.
        // Each port says what it is; the LinkE's own port carries a CH32V003's UART, so it
        // is listed but not offered as a Pi.
        for port in crate::link::ports::list() {
            boards.push(BoardEntry {
                kind: BoardKind::Pi,
                port: Some(port.name.clone()),
                label: format!("Raspberry Pi runner on {} · {}", port.name, port.describe()),
                unavailable: port
                    .is_wch_link()
                    .then(|| "the WCH-LinkE's own port: watch it with the Monitor".into()),
            });
        }
        let _ = tx.send(Msg::Deploy(DeployEvent::Boards(boards)));
    });
}

/// Builds and flashes a CH32V003, or uploads to a Pi, reporting each stage. Setting the
/// flag it returns stops a Pi's wait or upload.
pub fn start(
    board: BoardEntry,
    project: Project,
    path: Option<PathBuf>,
    tx: Sender<Msg>,
) -> Arc<AtomicBool> {
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    std::thread::spawn(move || {
        let send = |e: DeployEvent| {
            let _ = tx.send(Msg::Deploy(e));
        };
        let result = run(&board, &project, path.as_deref(), flag, &send);
        send(DeployEvent::Finished(result));
    });
    cancel
}

fn run(
    board: &BoardEntry,
    p: &Project,
    file: Option<&std::path::Path>,
    cancel: Arc<AtomicBool>,
    send: &dyn Fn(DeployEvent),
) -> Result<String, String> {
    let mut flasher: Box<dyn Flasher> = match (board.kind, &board.port) {
        (BoardKind::Ch32v003, _) => Box::new(Ch32Flasher {
            dir: std::env::temp_dir().join(format!("tinygen-ch32-{}", std::process::id())),
            probe: None,
        }),
        (BoardKind::Pi, Some(port)) => Box::new(PiFlasher {
            port: port.clone(),
            baud: p.board.baud,
            cancel,
        }),
        (BoardKind::Pi, None) => return Err("pick the Pi's serial port".into()),
        _ => return Err("this board loads its model when it starts: use the Monitor".into()),
    };
    flash_with(flasher.as_mut(), p, file, send)
}

/// Puts the project's model on a board through `flasher`, as the Deploy screen shows it.
fn flash_with(
    flasher: &mut dyn Flasher,
    p: &Project,
    file: Option<&std::path::Path>,
    send: &dyn Fn(DeployEvent),
) -> Result<String, String> {
    let m = crate::templates::deployable(p, file).map_err(|e| crate::util::error_chain(&e))?;
    let result = flasher.flash(&m, &p.name, &mut |pr| match pr {
        Progress::Stage { stage, done, total } => send(DeployEvent::Stage {
            name: stage.name(),
            done,
            total,
        }),
        Progress::Note(line) => send(DeployEvent::Log(line)),
    });
    match result {
        Ok(done) => Ok(done.summary),
        Err(FlashError::Probe(ProbeError::NoProbe)) => {
            Err(crate::hints::no_probe("no debug probe found.", "- "))
        }
        Err(FlashError::Probe(e @ ProbeError::NoAccess { .. })) => Err(format!(
            "{e}. Let your user open it: {}",
            crate::hints::UDEV_RULE_FIX
        )),
        Err(e) => Err(crate::util::error_chain(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::flash::FakeFlasher;

    /// The Deploy screen's worker drives a flasher through the deploy seam: the stages
    /// arrive as events, and the flasher gets the project's model.
    #[test]
    fn the_worker_reports_a_flash_stage_by_stage() {
        let p = crate::templates::default_project("cvae-die").unwrap();
        let m = crate::templates::deployable(&p, None).unwrap();
        let events = std::cell::RefCell::new(Vec::new());
        let mut fake = FakeFlasher::default();
        let r = flash_with(&mut fake, &p, None, &|e| events.borrow_mut().push(e));
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(fake.flashed, vec![m.hash()]);
        let stages: Vec<&'static str> = events
            .borrow()
            .iter()
            .filter_map(|e| match e {
                DeployEvent::Stage { name, .. } => Some(*name),
                _ => None,
            })
            .collect();
        assert_eq!(stages, ["program", "program", "verify", "verify"]);
    }
}
