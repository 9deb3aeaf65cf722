//! The Deploy screen: every board tinygen can find (the simulated board, the qemu board,
//! debug probes from probe-rs, serial ports), and a worker that puts the model on the one
//! picked: build → flash → verify for a CH32V003, upload → verify for a Pi. Local boards
//! (sim, qemu) load the model when they start, so picking one lands on the Monitor.

use super::app::Msg;
use crate::project::{BoardKind, Project};
use std::path::PathBuf;
use std::sync::mpsc::Sender;

/// One line of the board list.
#[derive(Debug, Clone, PartialEq)]
pub struct BoardEntry {
    pub kind: BoardKind,
    /// The serial port, for a Pi (or the probe's name, for a CH32V003).
    pub port: Option<String>,
    pub label: String,
    /// Why it cannot be used now (no probe attached, ...).
    pub unavailable: Option<String>,
}

/// What the deploy worker reports.
#[derive(Debug, Clone, PartialEq)]
pub enum DeployEvent {
    Boards(Vec<BoardEntry>),
    /// A stage started or moved on: its name and bytes done of total (0 total: unknown).
    Stage {
        name: &'static str,
        done: u64,
        total: u64,
    },
    Log(String),
    Finished(Result<String, String>),
}

#[derive(Debug, Clone, Default)]
pub struct DeployView {
    pub boards: Vec<BoardEntry>,
    pub sel: usize,
    pub scanned: bool,
    pub running: bool,
    /// Stages so far, in order, with their progress.
    pub stages: Vec<(&'static str, u64, u64)>,
    pub log: Vec<String>,
    pub result: Option<Result<String, String>>,
}

impl DeployView {
    pub fn on_event(&mut self, e: DeployEvent) {
        match e {
            DeployEvent::Boards(b) => {
                self.boards = b;
                self.scanned = true;
                self.sel = self.sel.min(self.boards.len().saturating_sub(1));
            }
            DeployEvent::Stage { name, done, total } => {
                match self.stages.iter_mut().find(|(n, ..)| *n == name) {
                    Some(s) => *s = (name, done, total),
                    None => self.stages.push((name, done, total)),
                }
            }
            DeployEvent::Log(l) => self.log.push(l),
            DeployEvent::Finished(r) => {
                self.running = false;
                self.result = Some(r);
            }
        }
    }

    pub fn selected(&self) -> Option<&BoardEntry> {
        self.boards.get(self.sel)
    }
}

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
        let result = match board.kind {
            BoardKind::Ch32v003 => flash_ch32(&project, path.as_deref(), &send),
            BoardKind::Pi => match &board.port {
                Some(port) => upload_pi(&project, path.as_deref(), port, &send),
                None => Err("pick the Pi's serial port".into()),
            },
            _ => Err("this board loads its model when it starts: use the Monitor".into()),
        };
        send(DeployEvent::Finished(result));
    });
}

fn flash_ch32(
    p: &Project,
    file: Option<&std::path::Path>,
    send: &dyn Fn(DeployEvent),
) -> Result<String, String> {
    use crate::deploy::probe::{self, FlashProjectError, ProbeError};
    let dir = std::env::temp_dir().join(format!("tinygen-ch32-{}", std::process::id()));
    let r = probe::flash_project(
        p,
        file,
        &dir,
        |name, done, total| send(DeployEvent::Stage { name, done, total }),
        |line| send(DeployEvent::Log(line)),
    );
    match r {
        Ok(_) => Ok("flashed, verified and reset".into()),
        Err(FlashProjectError::Probe(ProbeError::NoProbe)) => {
            let mut s = String::from("no debug probe found.");
            for h in probe::SETUP_HINTS {
                s += "\n- ";
                s += h;
            }
            Err(s)
        }
        Err(e) => Err(e.to_string()),
    }
}

fn upload_pi(
    p: &Project,
    file: Option<&std::path::Path>,
    port: &str,
    send: &dyn Fn(DeployEvent),
) -> Result<String, String> {
    let m = crate::deploy::model_for(p, file).map_err(|e| e.to_string())?;
    send(DeployEvent::Stage {
        name: "upload",
        done: 0,
        total: m.blob.len() as u64,
    });
    let (board, before, hash) = crate::deploy::pi::flash(port, p.board.baud, &m.blob, |pr| {
        send(DeployEvent::Stage {
            name: "upload",
            done: pr.sent,
            total: pr.total,
        })
    })?;
    send(DeployEvent::Log(format!("{board} ran model {before:08x}")));
    send(DeployEvent::Stage {
        name: "verify",
        done: 1,
        total: 1,
    });
    Ok(format!("the runner serves model {hash:08x}"))
}
