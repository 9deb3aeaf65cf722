//! The link worker: a thread that starts the project's board (a local one through the
//! deploy seam; a real board is opened on its port), runs a board session on it, and
//! forwards the Monitor's commands. Dropping the worker stops the session and the board it
//! started.

use super::super::msg::Msg;
use crate::deploy::local::{self, LocalBoard, LocalKind};
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
                drop(board.local);
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

/// How to reach the project's board, and what keeps a started one alive.
struct Board {
    port: String,
    opener: Opener,
    expected: Option<u32>,
    local: Option<LocalBoard>,
}

impl Board {
    fn start(p: &Project, file: Option<&std::path::Path>) -> Result<Board, String> {
        let baud = p.board.baud;
        let text = |e: &dyn std::error::Error| crate::util::error_chain(e);
        if let Some(port) = &p.board.port
            && matches!(p.board.kind, BoardKind::Ch32v003 | BoardKind::Pi)
        {
            let expected = crate::templates::deployable(p, file).ok().map(|m| m.hash());
            return Ok(Board {
                port: port.clone(),
                opener: serial_opener(port.clone(), baud),
                expected,
                local: None,
            });
        }
        let kind = match p.board.kind {
            BoardKind::Sim => LocalKind::Sim,
            BoardKind::QemuRv32 => LocalKind::QemuRv32,
            BoardKind::Ch32v003 | BoardKind::Pi => {
                return Err(format!(
                    "the {} board needs its serial port: set board.port in the project (e.g. \
                     '/dev/ttyACM0'), or flash it from the Deploy screen (4)",
                    p.board.kind
                ));
            }
        };
        let m = crate::templates::deployable(p, file).map_err(|e| text(&e))?;
        let b = local::start(kind, &m, &p.name, baud).map_err(|e| text(&e))?;
        Ok(Board {
            port: b.port.clone(),
            opener: b.opener(),
            expected: Some(b.hash),
            local: Some(b),
        })
    }
}
