//! The Streaming SD template: a tiny latent-diffusion model whose int8 runtime streams its
//! weights, sized for a Pi Zero 2 W. Only its budget is built so far: training and
//! evaluating it say so.

pub mod def;
pub mod spec;

use crate::project::{Project, TemplateDef};
use crate::spec::ModelSpec;
use crate::template::{DataError, DataPreview, EvalError, EvalRequest, Template};
use crate::train::{Control, LossInfo, TrainError, TrainEvent, TrainOptions, TrainOutcome};
use burn::prelude::Device;

/// The Streaming SD template.
pub struct StreamingSd;

impl Template for StreamingSd {
    fn def(&self) -> &'static TemplateDef {
        &def::DEF
    }

    fn spec(&self, p: &Project) -> ModelSpec {
        spec::spec(p)
    }

    fn losses(&self) -> &'static [LossInfo] {
        &[]
    }

    fn train(
        &self,
        _p: &Project,
        _opts: &TrainOptions,
        _control: &Control,
        _device: &Device,
        _emit: &mut dyn FnMut(TrainEvent),
    ) -> Result<TrainOutcome, TrainError> {
        Err(TrainError::NotBuilt(def::DEF.name))
    }

    fn evaluate(&self, _req: &EvalRequest, _device: &Device) -> Result<String, EvalError> {
        Err(EvalError::NotBuilt(def::DEF.name))
    }

    fn preview_data(&self, _seed: u64, _per_class: usize) -> Result<DataPreview, DataError> {
        Err(DataError::NoPreview(def::DEF.name))
    }
}
