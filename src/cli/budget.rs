//! `tinygen budget`: the per-layer flash and SRAM budget against a target, as text or
//! JSON, and with `--verify` the real firmware's measurements beside it.

use super::error::CliError;
use crate::budget::{self, Plan};
use crate::deploy::verify::{self, Work};
use crate::spec::ModelKind;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project file (.ron), e.g. projects/die.ron.
    #[arg(value_name = "PROJECT")]
    pub path: PathBuf,
    /// Budget against this target instead of the project's: ch32v003, ch32v002,
    /// pi-zero-2w, pi4 or host.
    #[arg(long)]
    pub target: Option<String>,
    /// Execution plan: 'layer' (layer by layer) or 'tiled' (depth-first row streaming).
    #[arg(long, value_enum, default_value = "tiled")]
    pub plan: PlanArg,
    /// Print the report as JSON (documented in docs/budget-json.md).
    #[arg(long)]
    pub json: bool,
    /// Build the real firmware and put predicted and measured flash, SRAM, stack and
    /// instructions per image side by side (needs the RISC-V compiler and qemu).
    #[arg(long, conflicts_with = "json")]
    pub verify: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum PlanArg {
    Layer,
    Tiled,
}

impl From<PlanArg> for Plan {
    fn from(p: PlanArg) -> Self {
        match p {
            PlanArg::Layer => Plan::Layer,
            PlanArg::Tiled => Plan::Tiled,
        }
    }
}

/// The target `id` names, or the project's.
pub fn target_or(
    id: Option<&str>,
    project: &crate::project::Project,
) -> Result<&'static crate::target::Target, CliError> {
    match id {
        Some(id) => crate::target::find(id).ok_or_else(|| {
            CliError::bad_input(anyhow::anyhow!(
                "unknown target '{id}'; {}",
                crate::util::suggest::hint(id, &crate::target::ids())
            ))
        }),
        None => Ok(project.target_profile()),
    }
}

impl Args {
    pub fn run(self) -> Result<(), CliError> {
        let p = super::common::load(&self.path)?;
        let t = target_or(self.target.as_deref(), &p)?;
        if self.verify && !t.id.starts_with("ch32v00") {
            // The measurement is of the CH32V003 firmware in qemu; set beside another
            // target's prediction it would compare two different machines.
            return Err(CliError::bad_input(anyhow::anyhow!(
                "--verify measures the CH32V003 firmware in qemu, not {}; run it with \
                 --target ch32v003 (for other targets the budget is a prediction only)",
                t.id
            )));
        }
        let b = budget::for_project(&p, &crate::templates::spec, t, self.plan.into());
        let text = if self.json {
            serde_json::to_string_pretty(&b)? + "\n"
        } else {
            budget::report(&b, &p.name)
        };
        super::common::print(&text)?;
        if self.verify {
            let m = crate::templates::deployable(&p, Some(&self.path))?;
            let b = budget::compute(&m.spec, t, self.plan.into());
            // Four dice, or ten digits (as BitNetMCU measures on its ten test digits).
            let work = match m.spec.kind {
                ModelKind::Classifier => {
                    let inputs = crate::templates::of(&p)
                        .sample_inputs(&p.data_places(Some(&self.path)), 10)?;
                    Work::Classify(inputs.inputs)
                }
                ModelKind::Generator | ModelKind::Diffusion => Work::Images(4),
            };
            let dir = std::env::temp_dir().join(format!("tinygen-verify-{}", std::process::id()));
            let v = verify::verify(&m, &b, &p.name, &dir, &work);
            let _ = std::fs::remove_dir_all(&dir);
            super::common::print(&format!("\n{}\n", v?.to_text(&t.id)))?;
        }
        if !b.fits {
            return Err(CliError::does_not_fit(anyhow::anyhow!(
                "the model does not fit {}; see the advice above",
                t.id
            )));
        }
        Ok(())
    }
}
