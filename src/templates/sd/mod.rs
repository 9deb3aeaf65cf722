//! The Streaming SD template: a tiny latent-diffusion model (a VAE with a 4x8x8 latent and
//! a conditional conv UNet trained by rectified flow) that draws 32x32 dice, sized for a
//! Pi Zero 2 W. It trains, samples and is scored on this machine, and runs on the boards
//! with an operating system: the simulated board and the Pi runner (hosted builds of the
//! C engine), which stream each step's preview.

pub mod data;
pub mod def;
pub mod eval;
pub mod int;
pub mod judge;
pub mod model;
pub mod sample;
pub mod spec;
pub mod synthetic;
pub mod task;

use crate::project::{Project, TemplateDef};
use crate::spec::ModelSpec;
use crate::template::{DataError, DataPreview, EvalError, EvalRequest, Template};
use crate::train::{Control, LossInfo, TrainError, TrainEvent, TrainOptions, TrainOutcome};
use burn::prelude::Device;

/// The model the workbench shows before anything is trained: `projects/sd.ron` trained
/// from scratch (`scripts/default-model sd` reproduces it byte for byte).
pub const DEFAULT_BLOB: &[u8] = include_bytes!("../../../assets/sd-default.bin");

/// The Streaming SD template.
pub struct StreamingSd;

impl Template for StreamingSd {
    fn def(&self) -> &'static TemplateDef {
        &def::DEF
    }

    fn spec(&self, p: &Project) -> ModelSpec {
        spec::spec(p)
    }

    fn synthetic(
        &self,
        p: &Project,
        width: u32,
        seed: u64,
    ) -> Option<Result<Vec<u8>, crate::export::ExportError>> {
        Some(synthetic::blob(p, width, seed))
    }

    fn builtin_model(&self, p: &Project) -> Option<&'static [u8]> {
        let default = Project::from_template(&def::DEF);
        (spec::spec(p) == spec::spec(&default)).then_some(DEFAULT_BLOB)
    }

    fn losses(&self) -> &'static [LossInfo] {
        task::LOSSES
    }

    fn image_words(&self, p: &Project) -> (&'static str, &'static str) {
        let w = data::words(p.data_kind());
        (w.one, w.many)
    }

    fn caption(&self, p: &Project, label: u8) -> String {
        data::caption(p.data_kind(), label)
    }

    fn train(
        &self,
        p: &Project,
        opts: &TrainOptions,
        control: &Control,
        device: &Device,
        emit: &mut dyn FnMut(TrainEvent),
    ) -> Result<TrainOutcome, TrainError> {
        let data = data::training_set(p, &opts.data)?;
        crate::train::run(task::SdTask::new(p, data), p, opts, control, device, emit)
    }

    fn evaluate(&self, req: &EvalRequest, device: &Device) -> Result<String, EvalError> {
        eval::evaluate(req, device)
    }

    fn preview_data(&self, seed: u64, per_class: usize) -> Result<DataPreview, DataError> {
        // The same procedural dice as the die template's.
        let mut preview = crate::templates::die::Die.preview_data(seed, per_class)?;
        preview.title = preview.title.replace("cvae-die", def::DEF.name);
        Ok(preview)
    }
}
