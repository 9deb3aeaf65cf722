//! The integration suite: it drives the real `tinygen` binary, its simulated board and the
//! workbench in pseudo-terminals. The boards that need an emulator (qemu) are the
//! `emulated` suite (`tests/emulated/`).

mod boards;
mod cli;
#[path = "../common/mod.rs"]
mod common;
mod diffusion;
mod doctor;
mod fixtures;
mod report;
mod tui_pty;
mod workshop;

pub use common::*;
