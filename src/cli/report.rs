//! `tinygen report PROJECT`: the hand-in (see `crate::report`).

use super::error::CliError;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(value_name = "PROJECT")]
    pub path: PathBuf,
    /// The folder to write report.md, report.json, curves.png and gallery.png into
    /// [default: PROJECT-report beside the project file].
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Leave the evaluation out (it draws and scores --count images per class).
    #[arg(long)]
    pub no_eval: bool,
    /// Images per class the evaluation draws and scores.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub count: u32,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

impl Args {
    pub fn run(self) -> Result<(), CliError> {
        let p = super::common::load(&self.path)?;
        let out = self.out.clone().unwrap_or_else(|| {
            crate::workshop::progress::sibling(&self.path, "report").with_extension("")
        });
        let facts = crate::report::write(
            &p,
            &self.path,
            &out,
            &crate::report::Options {
                eval: !self.no_eval,
                count: self.count as usize,
                seed: self.seed,
            },
        )
        .map_err(CliError::failure)?;
        println!(
            "Wrote {} (model {}, {} of {} steps done): report.md, report.json, curves.png, gallery.png",
            out.display(),
            facts.model_hash,
            facts.steps_done,
            facts.steps.len()
        );
        Ok(())
    }
}
