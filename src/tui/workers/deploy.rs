//! The deploy worker: lists the boards tinygen can find, and puts the model on the one
//! picked through the deploy seam's [`Flasher`]s, reporting each stage.

use super::super::msg::{BoardEntry, DeployEvent, Msg};
use crate::deploy::flash::{Ch32Flasher, FlashError, Flasher, PiFlasher, Progress};
use crate::deploy::probe::ProbeError;
use crate::project::{BoardKind, Project};
use std::path::PathBuf;
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
        for port in serialport::available_ports().unwrap_or_default() {
            boards.push(BoardEntry {
                kind: BoardKind::Pi,
                port: Some(port.port_name.clone()),
                label: format!("Raspberry Pi runner on {}", port.port_name),
                unavailable: None,
            });
        }
        let _ = tx.send(Msg::Deploy(DeployEvent::Boards(boards)));
    });
}

/// Builds and flashes a CH32V003, or uploads to a Pi, reporting each stage.
pub fn start(board: BoardEntry, project: Project, path: Option<PathBuf>, tx: Sender<Msg>) {
    std::thread::spawn(move || {
        let send = |e: DeployEvent| {
            let _ = tx.send(Msg::Deploy(e));
        };
        let result = run(&board, &project, path.as_deref(), &send);
        send(DeployEvent::Finished(result));
    });
}

fn run(
    board: &BoardEntry,
    p: &Project,
    file: Option<&std::path::Path>,
    send: &dyn Fn(DeployEvent),
) -> Result<String, String> {
    let mut flasher: Box<dyn Flasher> = match (board.kind, &board.port) {
        (BoardKind::Ch32v003, _) => Box::new(Ch32Flasher {
            dir: std::env::temp_dir().join(format!("tinygen-ch32-{}", std::process::id())),
        }),
        (BoardKind::Pi, Some(port)) => Box::new(PiFlasher {
            port: port.clone(),
            baud: p.board.baud,
        }),
        (BoardKind::Pi, None) => return Err("pick the Pi's serial port".into()),
        _ => return Err("this board loads its model when it starts: use the Monitor".into()),
    };
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
            let mut s = String::from("no debug probe found.");
            for h in crate::hints::PROBE_SETUP {
                s += "\n- ";
                s += h;
            }
            Err(s)
        }
        Err(e) => Err(crate::util::error_chain(&e)),
    }
}
