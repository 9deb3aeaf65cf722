//! `tinygen doctor`: what this machine can do, and the one command that fixes each gap.
//! Exit 0 when the simulated board is ready (the die and a template's training on it),
//! 1 when it is not; `--json` prints the same report for a workshop leader to collect.

use super::error::CliError;
use crate::doctor::{Group, examine, sys::Sys};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the report as JSON (one object: groups, checks, fixes).
    #[arg(long)]
    pub json: bool,
}

impl Args {
    pub fn run(self) -> Result<(), CliError> {
        let report = examine(&Sys::from_env());
        if self.json {
            let text = serde_json::to_string_pretty(&report)
                .map_err(|e| CliError::failure(anyhow::anyhow!(e)))?;
            println!("{text}");
        } else {
            print!("{}", report.text());
        }
        if report.ready(Group::Sim) {
            Ok(())
        } else {
            Err(CliError::failure(anyhow::anyhow!(
                "the simulated board is not ready: fix the failed checks above"
            )))
        }
    }
}
