//! `tinygen sim`: a simulated board serving a model blob on a new pseudo-terminal.

use super::error::CliError;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The model blob (model.bin); 'default' for the model tinygen ships with its first
    /// template (the die).
    pub model: String,
    /// Pace output to this line speed (0: as fast as possible).
    #[arg(long, default_value_t = 115_200)]
    pub baud: u32,
    /// Also make this path a symlink to the pty (stable across restarts).
    #[arg(long)]
    pub link: Option<PathBuf>,
    /// End when process PID ends (set by the tinygen that starts a board for itself).
    #[arg(long, value_name = "PID", hide = true)]
    pub parent: Option<u32>,
}

impl Args {
    pub fn run(self) -> Result<(), CliError> {
        let model = &self.model;
        let blob = if model == "default" {
            let t = crate::templates::ALL[0];
            let p = crate::project::Project::from_template(t.def());
            t.builtin_model(&p).unwrap_or_default().to_vec()
        } else {
            std::fs::read(model).map_err(|e| {
                CliError::bad_input(anyhow::Error::new(e).context(format!(
                    "cannot read the model '{model}'; export one with 'tinygen export PROJECT'"
                )))
            })?
        };
        crate::engine::Engine::load(&blob).map_err(|e| {
            CliError::bad_input(
                anyhow::Error::new(e).context(format!("'{model}' is not a usable model")),
            )
        })?;
        if let Some(pid) = self.parent {
            crate::deploy::sim::exit_with(pid);
        }
        crate::deploy::sim::serve(&blob, self.baud, self.link.as_deref())?;
        Ok(())
    }
}
