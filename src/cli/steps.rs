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
    /// Skip to after training: load the workshop's reference checkpoint into the project
    /// (a checkpoint already there is kept beside it).
    Skip {
        #[arg(value_name = "PROJECT")]
        path: PathBuf,
    },
}

impl Args {
    pub fn run(self) -> Result<(), CliError> {
        let (path, json) = match self.command {
            StepsCommand::Check { path, json } => (path, json),
            StepsCommand::Skip { path } => return skip(&path),
        };
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

fn skip(path: &std::path::Path) -> Result<(), CliError> {
    let p = super::common::load(path)?;
    let (w, _) = crate::workshop::load(&p, Some(path)).map_err(CliError::bad_input)?;
    let ws = crate::workshop::workshop_path(path);
    let done = crate::workshop::skip::skip(&w, &ws, &p, path).map_err(|e| match e {
        crate::workshop::skip::SkipError::Copy { .. } => CliError::failure(e),
        _ => CliError::bad_input(e),
    })?;
    println!(
        "Loaded the reference checkpoint {} into {}.",
        done.reference.display(),
        done.checkpoints.display()
    );
    if let Some(k) = done.kept {
        println!("Your own checkpoint is kept in {}.", k.display());
    }
    print!(
        "{}",
        crate::workshop::text(&w.title, &crate::workshop::evaluate(&w, &p, Some(path)))
    );
    Ok(())
}
