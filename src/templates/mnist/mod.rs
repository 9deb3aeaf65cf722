//! The BitNet MNIST template: a low-bit digit classifier after BitNetMCU, trained on the
//! real MNIST digits (`crate::data::mnist`) and run multiply-free on a CH32V003. Its
//! model, training task, evaluation and deployable spec are here.

pub mod def;
pub mod eval;
pub mod model;
pub mod spec;
pub mod task;

use crate::data::Places;
use crate::data::mnist::{self, MnistError, Split};
use crate::project::{Project, TemplateDef};
use crate::spec::ModelSpec;
use crate::template::{DataError, DataPreview, EvalError, EvalRequest, Samples, Template};
use crate::train::{Control, LossInfo, TrainError, TrainEvent, TrainOptions, TrainOutcome};
use burn::prelude::Device;

/// The BitNet MNIST template.
pub struct Mnist;

/// The quick preset (`tinygen new --quick`): the default model and data, fewer epochs.
/// Its figures are in the README's workshop section.
const QUICK_EPOCHS: u32 = 10;
const QUICK: &str = "10 epochs of the 60,000 digits";

impl Template for Mnist {
    fn def(&self) -> &'static TemplateDef {
        &def::DEF
    }

    fn spec(&self, p: &Project) -> ModelSpec {
        spec::spec(p)
    }

    fn losses(&self) -> &'static [LossInfo] {
        task::LOSSES
    }

    fn image_words(&self, _p: &Project) -> (&'static str, &'static str) {
        ("digit", "digits")
    }

    fn caption(&self, _p: &Project, digit: u8) -> String {
        format!("digit {digit}")
    }

    fn train(
        &self,
        p: &Project,
        opts: &TrainOptions,
        control: &Control,
        device: &Device,
        emit: &mut dyn FnMut(TrainEvent),
    ) -> Result<TrainOutcome, TrainError> {
        let data = task::load_data(p, &opts.data)?;
        crate::train::run(
            task::MnistTask::new(p, &data),
            p,
            opts,
            control,
            device,
            emit,
        )
    }

    /// The official test set (or the `--test` folder) through the burn integer model and
    /// the C engine.
    fn evaluate(&self, req: &EvalRequest, device: &Device) -> Result<String, EvalError> {
        let p = req.project;
        let m = crate::deploy::model_for(
            spec::spec(p),
            None,
            &req.checkpoints,
            &p.name,
            Some(req.file),
        )?;
        // An explicit --test folder is the only place looked at; otherwise the usual search.
        let found = match &req.test {
            Some(d) => match mnist::files_in(d, Split::Test) {
                Some((i, l)) => mnist::read_idx_pair(&i, &l).map(|digits| (digits, i)),
                None => Err(MnistError::NotFound {
                    what: mnist::TEST_SET,
                    looked: d.display().to_string(),
                }),
            },
            None => mnist::load(&req.data, Split::Test),
        };
        let (digits, file) = found.map_err(DataError::from)?;
        let report = eval::score_digits(
            &m.spec,
            &m.blob,
            &digits,
            file.display().to_string(),
            device,
        )?;
        Ok(format!(
            "Model: {} (hash {:08x})\n{}",
            m.origin,
            m.hash(),
            report.to_text()
        ))
    }

    /// The first `per_class` digits of each class, posed as training epoch 1 poses them
    /// with this seed.
    fn preview_data(
        &self,
        _p: &Project,
        seed: u64,
        per_class: usize,
    ) -> Result<DataPreview, DataError> {
        let (digits, from) = mnist::load(&Places::default(), Split::Train)?;
        let inputs = mnist::augmented(&digits, seed, 1);
        let mut samples = Vec::new();
        for class in 0..model::CLASSES as u8 {
            samples.extend(
                (0..digits.len())
                    .filter(|&i| digits.labels[i] == class)
                    .take(per_class)
                    .map(|i| (format!("digit {class}"), inputs[i].to_vec())),
            );
        }
        Ok(DataPreview {
            title: format!(
                "bitnet-mnist training data from {}, augmentation seed {seed}: {per_class} per digit",
                from.display()
            ),
            side: mnist::SIZE,
            per_class,
            samples,
        })
    }

    /// The first `n` digits of the official test set, or of the training digits when no
    /// test set is found.
    fn quick_preset(&self, p: &mut Project) -> Option<&'static str> {
        p.training.epochs = QUICK_EPOCHS;
        Some(QUICK)
    }

    fn workshop(&self) -> Option<&'static str> {
        Some(include_str!("workshop.ron"))
    }

    fn needs(&self) -> &'static [crate::doctor::Group] {
        &[crate::doctor::Group::Digits]
    }

    fn sample_inputs(&self, data: &Places, n: usize) -> Result<Samples, DataError> {
        let (mut d, path, what) = match mnist::load(data, Split::Test) {
            Ok((d, p)) => (d, p, "test set"),
            Err(_) => {
                let (d, p) = mnist::load(data, Split::Train)?;
                (d, p, "training digits (no test set found)")
            }
        };
        d.truncate(n);
        Ok(Samples {
            inputs: mnist::inputs(&d).iter().map(|x| x.to_vec()).collect(),
            labels: d.labels,
            what: what.into(),
            source: format!("{what}, {}", path.display()),
        })
    }
}
