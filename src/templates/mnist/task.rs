//! Training the BitNet MNIST classifier: cross-entropy on freshly augmented digits each
//! epoch, Adam with a cosine learning-rate decay, and the test-set accuracy and confusion
//! matrix after every epoch (when a test set is found).

use super::model::{BitMlp, CLASSES, pixels_tensor};
use crate::data::Places;
use crate::data::mnist::{self, Digits, PIXELS, Split};
use crate::nn::values;
use crate::project::Project;
use crate::quant::argmax_rows;
use crate::spec::{ModelSpec, SpecError};
use crate::train::{EpochView, LossInfo, Step, Task};
use crate::util::rng::Rng;
use burn::prelude::*;
use burn::tensor::TensorData;

/// Test digits shown with their predicted class after each epoch.
pub const SAMPLES: usize = 12;

/// The classifier's one loss: the mean cross-entropy of its logits.
pub const LOSSES: &[LossInfo] = &[LossInfo {
    name: "cross-entropy",
    label: "loss",
    title: "loss",
    decimals: 3,
    column: (7, 4),
}];

/// The training and (when found) test digits of a project.
pub struct MnistData {
    pub train: Digits,
    pub test: Option<Digits>,
    /// Which files these are, in words, for the start of a run.
    pub source: String,
}

/// Loads a project's digits: `dataset_dir` is its resolved `dataset.path`.
pub fn load_data(p: &Project, places: &Places) -> Result<MnistData, mnist::MnistError> {
    let (mut train, train_file) = mnist::load(places, Split::Train)?;
    let found = train.len();
    train.truncate(p.dataset.size as usize);
    let test = mnist::load(places, Split::Test).ok();
    let mut source = format!(
        "Training on {} digits of {} in {}",
        count(train.len()),
        count(found),
        train_file.display()
    );
    if found < p.dataset.size as usize {
        source += &format!(
            " (the project asks for {}; scripts/setup fetches the full 60,000)",
            count(p.dataset.size as usize)
        );
    }
    source += &match &test {
        Some((d, f)) => format!("; testing on {} in {}.", count(d.len()), f.display()),
        None => "; no test set found.".to_string(),
    };
    Ok(MnistData {
        train,
        test: test.map(|(d, _)| d),
        source,
    })
}

/// 60000 as "60,000".
fn count(n: usize) -> String {
    crate::budget::report::count(n as u64)
}

/// The learning rate of `epoch` (1-based): cosine from `lr` down to `lr / 20`.
fn learning_rate(lr: f64, epoch: u32, epochs: u32) -> f64 {
    let t = f64::from(epoch - 1) / f64::from(epochs.max(1));
    let floor = lr / 20.0;
    floor + (lr - floor) * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
}

/// Class predictions of the integer model for 16x16 inputs, in batches.
pub fn predict(model: &BitMlp, inputs: &[[u8; PIXELS]], device: &Device) -> Vec<u8> {
    let mut out = Vec::with_capacity(inputs.len());
    for chunk in inputs.chunks(1000) {
        let refs: Vec<&[u8]> = chunk.iter().map(|p| p.as_slice()).collect();
        let acc = values(&model.accumulators(pixels_tensor(&refs, device)));
        out.extend(argmax_rows(&acc, CLASSES));
    }
    out
}

/// The classifier's training task.
pub struct MnistTask<'a> {
    p: &'a Project,
    data: &'a MnistData,
    test_inputs: Option<Vec<[u8; PIXELS]>>,
    /// This epoch's augmented training inputs.
    inputs: Vec<[u8; PIXELS]>,
}

impl<'a> MnistTask<'a> {
    pub fn new(p: &'a Project, data: &'a MnistData) -> MnistTask<'a> {
        MnistTask {
            p,
            data,
            test_inputs: data.test.as_ref().map(mnist::inputs),
            inputs: Vec::new(),
        }
    }
}

impl Task for MnistTask<'_> {
    type Model = BitMlp;

    fn losses(&self) -> &'static [LossInfo] {
        LOSSES
    }

    fn samples(&self) -> usize {
        self.data.train.len()
    }

    fn data_identity(&self) -> String {
        crate::checkpoint::data_identity(&self.data.train.images, &self.data.train.labels)
    }

    fn data_source(&self) -> Option<String> {
        Some(self.data.source.clone())
    }

    fn init(&self, device: &Device) -> BitMlp {
        BitMlp::new(self.p, self.p.training.seed, device)
    }

    fn learning_rate(&self, epoch: u32, epochs: u32) -> f64 {
        learning_rate(self.p.training.learning_rate, epoch, epochs)
    }

    fn begin_epoch(&mut self, epoch: u32) -> Vec<usize> {
        self.inputs = mnist::augmented(&self.data.train, self.p.dataset.seed, epoch);
        Rng::for_item(self.p.training.seed, u64::from(epoch)).permutation(self.samples())
    }

    fn step(&mut self, model: &BitMlp, idx: &[usize], device: &Device) -> Step {
        let k = idx.len();
        let refs: Vec<&[u8]> = idx.iter().map(|&i| self.inputs[i].as_slice()).collect();
        let labels: Vec<u8> = idx.iter().map(|&i| self.data.train.labels[i]).collect();
        let mut onehot = vec![0f32; k * CLASSES];
        for (j, l) in labels.iter().enumerate() {
            onehot[j * CLASSES + *l as usize] = 1.0;
        }
        let y = Tensor::<2>::from_data(TensorData::new(onehot, [k, CLASSES]), device);
        let logits = model.logits(pixels_tensor(&refs, device));
        let predicted = argmax_rows(&values(&logits.clone().detach()), CLASSES);
        let right = predicted
            .iter()
            .zip(&labels)
            .filter(|(a, b)| a == b)
            .count();
        let logp = burn::tensor::activation::log_softmax(logits, 1);
        let loss = (logp * y).sum().neg().div_scalar(k as f32);
        let l: f32 = loss.clone().into_scalar();
        Step {
            loss,
            parts: vec![l],
            right: Some(right),
        }
    }

    fn end_epoch(&mut self, model: &BitMlp, device: &Device) -> EpochView {
        match (&self.data.test, &self.test_inputs) {
            (Some(test), Some(ins)) => {
                let predicted = predict(model, ins, device);
                let m = crate::scoring::confusion(&test.labels, &predicted, CLASSES);
                let samples = (0..SAMPLES.min(ins.len()))
                    .map(|i| (predicted[i], ins[i].to_vec()))
                    .collect();
                EpochView {
                    samples,
                    test_accuracy: Some(crate::scoring::accuracy(&m)),
                    confusion: m,
                    ..EpochView::default()
                }
            }
            _ => EpochView::default(),
        }
    }

    fn export(&self, model: &BitMlp) -> Result<ModelSpec, SpecError> {
        model.export_spec(self.p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::mnist::SRC;
    use crate::train::{self, Control, EpochLoss, TrainError, TrainOptions};

    /// Ten easy classes: a thick vertical bar whose column follows the class, with noise.
    fn bars(n: usize, seed: u64) -> Digits {
        let mut rng = Rng::new(seed);
        let mut d = Digits::default();
        for i in 0..n {
            let c = (i % 10) as u8;
            let mut img = vec![0u8; SRC * SRC];
            let x0 = 3 + 2 * c as usize;
            for y in 4..24 {
                for x in x0..x0 + 3 {
                    img[y * SRC + x] = 200 + (rng.unit() * 55.0) as u8;
                }
            }
            d.images.extend(img);
            d.labels.push(c);
        }
        d
    }

    fn tiny() -> Project {
        let mut p = Project::from_template(&super::super::def::DEF);
        p.dataset.size = 200;
        p.training.batch_size = 20;
        p.training.epochs = 2;
        p
    }

    fn options(dir: &std::path::Path, fresh: bool, epochs: Option<u32>) -> TrainOptions {
        TrainOptions {
            checkpoints: dir.to_path_buf(),
            fresh,
            epochs,
            data: Places::default(),
        }
    }

    fn run(
        p: &Project,
        data: &MnistData,
        opts: &TrainOptions,
    ) -> Result<train::TrainOutcome, TrainError> {
        let control = Control::default();
        train::run(
            MnistTask::new(p, data),
            p,
            opts,
            &control,
            &Device::flex(),
            &mut |_| {},
        )
    }

    fn history(
        p: &Project,
        dir: &std::path::Path,
        fresh: bool,
        epochs: Option<u32>,
    ) -> Vec<EpochLoss> {
        let data = MnistData {
            source: String::new(),
            train: bars(200, 1),
            test: Some(bars(100, 2)),
        };
        run(p, &data, &options(dir, fresh, epochs)).unwrap().history
    }

    #[test]
    fn same_seed_same_curve_and_resume_continues_it() {
        let (a, b, c) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        let p = tiny();
        let one = history(&p, a.path(), true, None);
        assert_eq!(one.len(), 2);
        assert_eq!(one, history(&p, b.path(), true, None));
        assert!(
            one.iter()
                .all(|l| l.accuracy.is_some() && l.test_accuracy.is_some())
        );
        assert!(
            one[1].test_accuracy.unwrap() > 0.3,
            "ten bars are easy to tell apart: {one:?}"
        );
        let first = history(&p, c.path(), true, Some(1));
        assert_eq!(first, one[..1]);
        let resumed = history(&p, c.path(), false, None);
        assert_eq!(resumed.len(), 2);
        assert!(
            (resumed[1].loss("cross-entropy") - one[1].loss("cross-entropy")).abs() < 1e-3,
            "{resumed:?} vs {one:?}"
        );
        let mut q = p.clone();
        q.training.seed += 1;
        assert_ne!(history(&q, b.path(), true, None), one);
    }

    /// Regression: a checkpoint trained on other digits (another `dataset.path`, or the
    /// full 60,000) was resumed as if it were this data's.
    #[test]
    fn a_checkpoint_of_other_digits_is_not_resumed() {
        let d = tempfile::tempdir().unwrap();
        let p = tiny();
        history(&p, d.path(), true, Some(1));
        let other = MnistData {
            source: String::new(),
            train: bars(200, 7),
            test: None,
        };
        let e = run(&p, &other, &options(d.path(), false, None)).unwrap_err();
        assert!(matches!(e, TrainError::Mismatch { .. }), "{e}");
        // The same digits resume.
        assert_eq!(history(&p, d.path(), false, None).len(), 2);
    }

    #[test]
    fn confusion_and_accuracy() {
        use crate::scoring::{accuracy, confusion};
        let m = confusion(&[0, 1, 1, 2], &[0, 1, 2, 2], CLASSES);
        assert_eq!((m[1][1], m[1][2], m[2][2]), (1, 1, 1));
        assert_eq!(accuracy(&m), 0.75);
        assert!((learning_rate(0.002, 1, 30) - 0.002).abs() < 1e-12);
        assert!(learning_rate(0.002, 30, 30) < 0.0002);
    }
}
