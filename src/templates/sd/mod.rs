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

    /// The dice: the die template's steady renders; the digits: the first of each digit,
    /// padded to 32x32 as training sees them.
    fn preview_data(
        &self,
        p: &Project,
        seed: u64,
        per_class: usize,
    ) -> Result<DataPreview, DataError> {
        if p.data_kind() == crate::project::DataKind::Dice {
            let die = crate::templates::die::Die;
            let mut preview = die.preview_data(p, seed, per_class)?;
            preview.title = preview.title.replace("cvae-die", def::DEF.name);
            return Ok(preview);
        }
        let mut digits = p.clone();
        digits.dataset.size = 60_000;
        let set = data::training_set(&digits, &crate::data::Places::default())?;
        let mut samples = Vec::new();
        for label in 1..=spec::classes(p) as u8 {
            samples.extend(
                set.iter()
                    .filter(|e| e.label == label)
                    .take(per_class)
                    .map(|e| (data::caption(p.data_kind(), label), e.pixels.clone())),
            );
        }
        Ok(DataPreview {
            title: format!(
                "{} training digits (MNIST, padded to 32x32): {per_class} of each digit",
                def::DEF.name
            ),
            side: model::SIDE,
            per_class,
            samples,
        })
    }
}
