//! The workbench's link worker: a thread that starts the project's board (the simulated
//! board, or the RV32EC firmware in qemu; a real board is opened on its port), runs a
//! board session on it, and forwards the Monitor's commands. Dropping the worker stops
//! the session and the board it started.

use super::app::Msg;
use crate::deploy::firmware::{Rv32Board, build_rv32};
use crate::deploy::qemu::QemuBoard;
use crate::deploy::sim::SimBoard;
use crate::link::session::{LinkCmd, Opener, Session, serial_opener};
use crate::project::{BoardKind, Project};
use std::path::PathBuf;
use std::sync::mpsc::{self, Sender};
use std::thread::JoinHandle;

pub struct LinkWorker {
    commands: Option<Sender<LinkCmd>>,
    thread: Option<JoinHandle<()>>,
}

impl LinkWorker {
    pub fn start(project: Project, path: Option<PathBuf>, tx: Sender<Msg>) -> LinkWorker {
        let (cmd_tx, cmd_rx) = mpsc::channel::<LinkCmd>();
        let thread = std::thread::Builder::new()
            .name("tinygen-board".into())
            .spawn(move || {
                let board = match Board::start(&project, path.as_deref()) {
                    Ok(b) => b,
                    Err(e) => {
                        let _ = tx.send(Msg::LinkFailed(e));
                        return;
                    }
                };
                let events = tx.clone();
                let session =
                    Session::start(board.port.clone(), board.opener, board.expected, move |e| {
                        let _ = events.send(Msg::Link(e));
                    });
                // Forward commands until the workbench drops its sender.
                for cmd in cmd_rx {
                    session.send(cmd);
                }
                drop(session);
                drop(board.keep);
            })
            .expect("spawning the board thread");
        LinkWorker {
            commands: Some(cmd_tx),
            thread: Some(thread),
        }
    }

    pub fn send(&self, cmd: LinkCmd) {
        if let Some(c) = &self.commands {
            let _ = c.send(cmd);
        }
    }
}

impl Drop for LinkWorker {
    fn drop(&mut self) {
        self.commands = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What keeps a started board alive, and how to reach it.
struct Board {
    port: String,
    opener: Opener,
    expected: Option<u32>,
    keep: Keep,
}

#[allow(dead_code)] // held only for their Drop, which stops the board
enum Keep {
    Nothing,
    Sim(SimBoard, TempFile),
    Qemu(std::sync::Arc<QemuBoard>),
}

struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl Board {
    fn start(p: &Project, file: Option<&std::path::Path>) -> Result<Board, String> {
        let baud = p.board.baud;
        if let Some(port) = &p.board.port
            && matches!(p.board.kind, BoardKind::Ch32v003 | BoardKind::Pi)
        {
            let expected = crate::deploy::model_for(p, file).ok().map(|m| m.hash());
            return Ok(Board {
                port: port.clone(),
                opener: serial_opener(port.clone(), baud),
                expected,
                keep: Keep::Nothing,
            });
        }
        let m = crate::deploy::model_for(p, file).map_err(|e| e.to_string())?;
        match p.board.kind {
            BoardKind::Sim => {
                let tmp = TempFile(std::env::temp_dir().join(format!(
                    "tinygen-tui-{}-{:08x}.bin",
                    std::process::id(),
                    m.hash()
                )));
                crate::fsutil::write_atomic(&tmp.0, &m.blob)
                    .map_err(|e| format!("cannot write {}: {e}", tmp.0.display()))?;
                let sim = SimBoard::spawn(&tmp.0, baud, None).map_err(|e| e.to_string())?;
                Ok(Board {
                    port: sim.port.clone(),
                    opener: serial_opener(sim.port.clone(), baud),
                    expected: Some(m.hash()),
                    keep: Keep::Sim(sim, tmp),
                })
            }
            BoardKind::QemuRv32 => {
                let dir = std::env::temp_dir().join(format!("tinygen-qemu-{:08x}", m.hash()));
                let header = m.header(&p.name, "qemu-rv32").map_err(|e| e.to_string())?;
                let built = build_rv32(Rv32Board::QemuRv32, &header, &m.firmware_config(), &dir)
                    .map_err(|e| e.to_string())?;
                let q = std::sync::Arc::new(
                    QemuBoard::spawn(&built.elf, &dir).map_err(|e| e.to_string())?,
                );
                let opener = q.clone().opener(baud);
                Ok(Board {
                    port: q.port.clone(),
                    opener,
                    expected: Some(m.hash()),
                    keep: Keep::Qemu(q),
                })
            }
            BoardKind::Ch32v003 | BoardKind::Pi => Err(format!(
                "the {} board needs its serial port: set board.port in the project (e.g. \
                 '/dev/ttyACM0'); flashing it from tinygen is not built yet",
                p.board.kind
            )),
        }
    }
}

/// Whether the terminal draws sixel graphics, from what it says about itself
/// (`TINYGEN_SIXEL=1` or `0` overrides).
pub fn terminal_has_sixel() -> bool {
    if let Some(v) = std::env::var_os("TINYGEN_SIXEL") {
        return v == "1";
    }
    let term = std::env::var("TERM").unwrap_or_default();
    let program = std::env::var("TERM_PROGRAM").unwrap_or_default();
    term.contains("sixel")
        || ["mlterm", "foot", "contour", "yaft"]
            .iter()
            .any(|t| term.starts_with(t))
        || ["WezTerm", "iTerm.app", "mintty"].contains(&program.as_str())
}
