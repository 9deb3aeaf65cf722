//! `tinygen steps check PROJECT`: the workshop checklist, headless. The same steps and the
//! same checks as the workbench's Steps panel (`crate::workshop`), so a leader and a
//! participant get the same answer. Exit 0 when every step is done, 1 when some are not.

use super::error::CliError;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: StepsCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum StepsCommand {
    /// Check every step of the project's workshop (PROJECT.workshop.ron beside it, or the
    /// template's built-in steps) and print which are done.
    Check {
        #[arg(value_name = "PROJECT")]
        path: PathBuf,
        /// Print the steps as JSON (id, title, done, status, hint).
        #[arg(long)]
        json: bool,
    },
}

impl Args {
    pub fn run(self) -> Result<(), CliError> {
        let StepsCommand::Check { path, json } = self.command;
        let p = super::common::load(&path)?;
        let (w, from) = crate::workshop::load(&p, Some(&path)).map_err(CliError::bad_input)?;
        let states = crate::workshop::evaluate(&w, &p, Some(&path));
        if json {
            let v = serde_json::json!({
                "workshop": w.title,
                "from": from,
                "done": states.iter().filter(|s| s.done).count(),
                "steps": states,
            });
            println!(
                "{}",
                serde_json::to_string_pretty(&v).map_err(CliError::failure)?
            );
        } else {
            print!("{}", crate::workshop::text(&w.title, &states));
            println!("(steps from {from})");
        }
        let open = states.iter().filter(|s| !s.done).count();
        if open == 0 {
            Ok(())
        } else {
            Err(CliError::failure(anyhow::anyhow!(
                "{open} step{} not done yet",
                if open == 1 { "" } else { "s" }
            )))
        }
    }
}
