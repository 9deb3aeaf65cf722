//! `tinygen eval`: scores a trained model the way its template does (for the die, the
//! pip classifier on generated dice; for digits, the official test set).

use super::error::CliError;
use crate::template::EvalRequest;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project file (.ron), e.g. projects/die.ron.
    #[arg(value_name = "PROJECT")]
    pub path: PathBuf,
    /// Dice generated per pip count.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub count: u32,
    /// Seed for the latent draws and the fresh test renders.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Scale of the latent draws: below 1 trades variety for cleaner dice.
    #[arg(long, default_value_t = 1.0, value_parser = super::common::parse_temperature)]
    pub temperature: f32,
    /// Score the device path instead: the C engine on the board's own latent draws,
    /// side by side with the burn integer model on the same inputs.
    #[arg(long)]
    pub engine: bool,
    /// A classifier's test set: a folder with t10k-images-idx3-ubyte[.gz] and its labels
    /// [default: the project's dataset.path, $TINYGEN_MNIST, data/mnist].
    #[arg(long)]
    pub test: Option<PathBuf>,
    /// A diffusion model's classifier-free guidance scale for burn's float sampler, 0
    /// (none) to 15 in steps of 1/16 [default: the model's own, 1.5]; to try one before
    /// changing the template. The C engine (--engine) guides as its model says.
    #[arg(long, value_parser = parse_guidance)]
    pub guidance: Option<f32>,
}

fn parse_guidance(s: &str) -> Result<f32, String> {
    let g: f32 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number"))?;
    if (0.0..=15.0).contains(&g) {
        Ok(g)
    } else {
        Err(format!("guidance {g} is outside 0 to 15"))
    }
}

impl Args {
    pub fn run(self) -> Result<(), CliError> {
        let p = super::common::load(&self.path)?;
        let diffusion = crate::templates::spec(&p).kind == crate::spec::ModelKind::Diffusion;
        if self.guidance.is_some() && (!diffusion || self.engine) {
            return Err(CliError::bad_input(anyhow::anyhow!(
                "--guidance steers burn's float sampler of a diffusion model (template \
                 streaming-sd), not {}: leave it out",
                if self.engine {
                    "the C engine, which guides as the exported model says"
                } else {
                    "this template's model"
                }
            )));
        }
        let req = EvalRequest {
            project: &p,
            file: &self.path,
            checkpoints: p.checkpoint_dir(Some(&self.path)),
            data: p.data_places(Some(&self.path)),
            count: self.count as usize,
            seed: self.seed,
            temperature: self.temperature,
            engine: self.engine,
            test: self.test.clone(),
            guidance: self.guidance,
        };
        // The device is chosen here, at the edge.
        let report = crate::templates::of(&p).evaluate(&req, &burn::prelude::Device::flex())?;
        super::common::print(&report)
    }
}
