//! The one integration test binary: it drives the real `tinygen` executable.

mod boards;
mod cli;
mod fixtures;
mod tui_pty;

use std::path::PathBuf;
use std::process::{Command, Output};

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

pub fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
