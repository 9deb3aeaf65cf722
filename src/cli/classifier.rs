//! `tinygen classifier`: the pip classifier that scores generated dice (how its asset was
//! made, and how good it is on fresh renders).

use super::error::CliError;
use crate::scoring::pips::{self, PipClassifier};
use burn::prelude::Device;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Train it from scratch (this is how assets/pip-classifier.bpk was made).
    Train {
        /// Where to write the trained classifier (.bpk).
        #[arg(long)]
        out: PathBuf,
    },
    /// Its accuracy on fresh renders.
    Check {
        #[arg(long, default_value_t = 2000)]
        count: u32,
    },
}

impl Args {
    pub fn run(self) -> Result<(), CliError> {
        // The device is chosen here, at the edge.
        let device = Device::flex();
        match self.action {
            Action::Train { out } => {
                let model = pips::train(&device, |epoch, loss| {
                    println!("epoch {epoch}/{}  loss {loss:.4}", pips::EPOCHS)
                });
                pips::save(&model, &out)?;
                println!("Wrote {}", out.display());
            }
            Action::Check { count } => {
                let model = PipClassifier::shipped(&device)?;
                let acc = pips::accuracy_on_fresh(&model, 0xF8E5_0000, count as usize, &device);
                println!(
                    "pip classifier: {:.2}% of {count} fresh renders right",
                    acc * 100.0
                );
            }
        }
        Ok(())
    }
}
