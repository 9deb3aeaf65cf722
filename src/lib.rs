//! tinygen: a terminal workbench for tiny generative models.
//!
//! The library holds everything; `src/main.rs` only parses arguments and calls [`cli::main`].
//! Only the `tui` module knows about ratatui and crossterm.

pub mod budget;
pub mod cli;
pub mod data;
pub mod deploy;
pub mod engine;
pub mod eval;
pub mod export;
pub mod fsutil;
pub mod link;
pub mod model;
pub mod monitor_cli;
pub mod preview;
pub mod project;
pub mod spec;
pub mod suggest;
pub mod target;
pub mod template;
pub mod train;
pub mod tui;
pub mod verify;
