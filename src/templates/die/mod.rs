//! The CVAE die template: a conditional VAE that draws a 32x32 die face with 1 to 6 pips,
//! whose decoder fits a CH32V003. Its data is the procedural renderer (`crate::data::die`);
//! its model, training task, evaluation and deployable spec are here.

pub mod def;
pub mod eval;
pub mod model;
pub mod spec;
pub mod task;

use crate::project::{Project, TemplateDef};
use crate::spec::ModelSpec;
use crate::template::{DataError, DataPreview, EvalError, EvalRequest, Template};
use crate::train::{Control, LossInfo, TrainError, TrainEvent, TrainOptions, TrainOutcome};
use burn::prelude::Device;

/// The die model tinygen ships, trained by this code (see README, "The default model").
pub const DEFAULT_BLOB: &[u8] = include_bytes!("../../../assets/die-default.bin");

/// A pip count as a person reads it: "1 pip", "3 pips".
pub fn caption(pips: u8) -> String {
    format!("{pips} pip{}", if pips == 1 { "" } else { "s" })
}

/// The die template.
pub struct Die;

/// The quick preset (`tinygen new --quick`): 9 epochs of 12,000 dice train in under
/// 90 s on two cores (the README's quick presets). Epoch 9 is what a 10-epoch run kept,
/// so the tenth was time for nothing; the default's 18 keep a better epoch (the README's
/// die quality table).
const QUICK_EPOCHS: u32 = 9;
const QUICK: &str = "9 epochs of 12,000 dice (the default trains 18)";

impl Template for Die {
    fn def(&self) -> &'static TemplateDef {
        &def::DEF
    }

    fn spec(&self, p: &Project) -> ModelSpec {
        spec::spec(p)
    }

    fn losses(&self) -> &'static [LossInfo] {
        task::LOSSES
    }

    fn quick_preset(&self, p: &mut Project) -> Option<&'static str> {
        p.training.epochs = QUICK_EPOCHS;
        Some(QUICK)
    }

    fn image_words(&self, _p: &Project) -> (&'static str, &'static str) {
        ("die", "dice")
    }

    fn caption(&self, _p: &Project, pips: u8) -> String {
        caption(pips)
    }

    fn train(
        &self,
        p: &Project,
        opts: &TrainOptions,
        control: &Control,
        device: &Device,
        emit: &mut dyn FnMut(TrainEvent),
    ) -> Result<TrainOutcome, TrainError> {
        crate::train::run(task::DieTask::new(p), p, opts, control, device, emit)
    }

    fn evaluate(&self, req: &EvalRequest, device: &Device) -> Result<String, EvalError> {
        if req.test.is_some() {
            return Err(EvalError::BadRequest(
                "--test names the test set of a digit classifier (template bitnet-mnist); a die \
                 model is scored on fresh renders: leave --test out (see --count and --seed)"
                    .into(),
            ));
        }
        let p = req.project;
        if !req.engine {
            let report = eval::evaluate(
                p,
                req.file,
                &req.checkpoints,
                req.count,
                req.seed,
                req.temperature,
                device,
            )?;
            return Ok(report.to_text());
        }
        let m = crate::deploy::model_for(
            spec::spec(p),
            self.builtin_model(p),
            &req.checkpoints,
            &p.name,
            Some(req.file),
        )?;
        let t64 = crate::engine::temperature_steps(req.temperature);
        let report = eval::score_engine(&m.blob, &m.spec, req.count, req.seed as u32, t64, device)?;
        Ok(format!(
            "Model: {} (hash {:08x})\n{}",
            m.origin,
            m.hash(),
            report.to_text()
        ))
    }

    fn preview_data(
        &self,
        _p: &Project,
        seed: u64,
        per_class: usize,
    ) -> Result<DataPreview, DataError> {
        use crate::data::die;
        // The first `per_class` samples of each pip count, in dataset order.
        let samples = (1..=die::PIPS as u8)
            .flat_map(|pips| {
                (0..per_class as u64).map(move |k| {
                    let index = k * die::PIPS as u64 + u64::from(pips) - 1;
                    die::sample_posed(seed, index, die::Pose::steady)
                })
            })
            .map(|smp| (caption(smp.pips), smp.pixels))
            .collect();
        Ok(DataPreview {
            title: format!("cvae-die training data, seed {seed}: {per_class} per pip count"),
            side: die::SIZE,
            per_class,
            samples,
        })
    }

    fn builtin_model(&self, p: &Project) -> Option<&'static [u8]> {
        let default = Project::from_template(&def::DEF);
        (spec::spec(p) == spec::spec(&default)).then_some(DEFAULT_BLOB)
    }
}
