//! What flows through the workbench's main loop: [`Msg`] in (keys, mouse, ticks and every
//! worker's events), [`Effect`] out (work the loop starts on the app's behalf). The
//! workers' event types that only the workbench uses are here too.

use super::dialog::{DialogAnswer, DialogKind};
use crate::link::session::{LinkCmd, LinkEvent};
use crate::project::{BoardKind, Project};
use crate::train::{TrainEvent, TrainOptions};
use crossterm::event::{KeyEvent, MouseEvent};
use std::path::PathBuf;

/// Everything the main loop feeds to `update`.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    Tick,
    Dialog(DialogAnswer),
    Train(TrainEvent),
    Link(LinkEvent),
    /// The link worker could not start the board (no model, a missing tool, ...).
    LinkFailed(String),
    Deploy(DeployEvent),
    /// The doctor's failed checks that matter to the project, found as the workbench opens.
    Setup(Vec<crate::doctor::Check>),
}

/// Work the event loop must start on the app's behalf.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Dialog {
        kind: DialogKind,
        request: u64,
        start_dir: PathBuf,
        file_name: String,
    },
    Train {
        project: Box<Project>,
        options: TrainOptions,
    },
    /// Pause, resume or stop the training worker.
    TrainControl(TrainCtl),
    /// Start (or restart) the project's board and its link.
    Connect {
        project: Box<Project>,
        path: Option<PathBuf>,
    },
    /// Send a command to the board.
    Link(LinkCmd),
    /// List the boards (serial ports, debug probes, local boards).
    ScanBoards,
    /// Put the model on a board: build, flash, verify.
    Deploy {
        board: BoardEntry,
        project: Box<Project>,
        path: Option<PathBuf>,
    },
    /// Stop the running deploy (a wait for the Pi runner, an upload).
    CancelDeploy,
}

/// What the Train screen asks of the training worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrainCtl {
    Pause(bool),
    Stop,
}

/// One line of the Deploy screen's board list.
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
