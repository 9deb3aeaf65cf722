//! Training the BitNet MNIST classifier: cross-entropy on freshly augmented digits each
//! epoch, Adam with a cosine learning-rate decay, the test-set accuracy and confusion
//! matrix after every epoch (when a test set is found), and the same checkpoints, resume,
//! pause and cancel as the die.

use super::{
    Control, EpochLoss, TrainError, TrainEvent, TrainOptions, TrainOutcome, end_of_epoch, resume,
};
use crate::data::Rng;
use crate::data::mnist::{self, Digits, PIXELS, Split};
use crate::model::bitnet::{BitMlp, CLASSES, argmax_rows, pixels_tensor};
use crate::model::values;
use crate::project::Project;
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::TensorData;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Test digits shown with their predicted class after each epoch.
pub const SAMPLES: usize = 12;

/// The training and (when found) test digits of a project.
pub struct MnistData {
    pub train: Digits,
    pub test: Option<Digits>,
}

/// Loads a project's digits: `dataset_dir` is its resolved `dataset.path`.
pub fn load_data(
    p: &Project,
    dataset_dir: Option<&std::path::Path>,
) -> Result<MnistData, TrainError> {
    let (mut train, _) = mnist::load(dataset_dir, Split::Train)?;
    train.truncate(p.dataset.size as usize);
    let test = mnist::load(dataset_dir, Split::Test).ok().map(|(d, _)| d);
    Ok(MnistData { train, test })
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

/// A `[true][predicted]` confusion matrix.
pub fn confusion(labels: &[u8], predicted: &[u8]) -> Vec<Vec<u32>> {
    let mut m = vec![vec![0u32; CLASSES]; CLASSES];
    for (l, p) in labels.iter().zip(predicted) {
        m[*l as usize][*p as usize] += 1;
    }
    m
}

pub fn accuracy(m: &[Vec<u32>]) -> f32 {
    let total: u32 = m.iter().flatten().sum();
    let right: u32 = (0..m.len()).map(|i| m[i][i]).sum();
    right as f32 / total.max(1) as f32
}

pub(super) fn run(
    p: &Project,
    data: &MnistData,
    opts: &TrainOptions,
    control: &Control,
    emit: &mut dyn FnMut(TrainEvent),
) -> Result<TrainOutcome, TrainError> {
    let device = Device::flex().autodiff();
    let inner = Device::flex();
    let t = &p.training;
    let epochs = opts.epochs.unwrap_or(t.epochs);
    let n = data.train.len();
    let batch = (t.batch_size as usize).min(n).max(1);
    let batches = n.div_ceil(batch);
    let test_inputs = data.test.as_ref().map(mnist::inputs);

    let dir = &opts.checkpoints;
    let data_id = super::data_identity(&data.train.images, &data.train.labels);
    let (mut model, mut optim, mut history) =
        resume(p, &data_id, opts, BitMlp::new(p, t.seed, &device))?;
    let export = |m: &BitMlp| {
        m.export_spec(p).map_err(|e| TrainError::Write {
            path: dir.clone(),
            reason: e.to_string(),
        })
    };

    emit(TrainEvent::Started {
        epochs,
        batches: batches as u32,
        history: history.clone(),
    });
    let first = history.len() as u32 + 1;
    for epoch in first..=epochs {
        let started = Instant::now();
        let lr = learning_rate(t.learning_rate, epoch, t.epochs.max(epochs));
        let inputs = mnist::augmented(&data.train, p.dataset.seed, epoch);
        let order = Rng::for_item(t.seed, u64::from(epoch)).permutation(n);
        let (mut loss_sum, mut right) = (0f64, 0usize);
        for (b, idx) in order.chunks(batch).enumerate() {
            while control.pause.load(Ordering::Relaxed) && !control.cancel.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
            }
            if control.cancel.load(Ordering::Relaxed) {
                emit(TrainEvent::Cancelled { epoch });
                return Ok(TrainOutcome {
                    history,
                    spec: export(&model.valid())?,
                    cancelled: true,
                });
            }
            let k = idx.len();
            let refs: Vec<&[u8]> = idx.iter().map(|&i| inputs[i].as_slice()).collect();
            let labels: Vec<u8> = idx.iter().map(|&i| data.train.labels[i]).collect();
            let mut onehot = vec![0f32; k * CLASSES];
            for (j, l) in labels.iter().enumerate() {
                onehot[j * CLASSES + *l as usize] = 1.0;
            }
            let y = Tensor::<2>::from_data(TensorData::new(onehot, [k, CLASSES]), &device);
            let logits = model.logits(pixels_tensor(&refs, &device));
            let predicted = argmax_rows(&values(&logits.clone().detach()), CLASSES);
            right += predicted
                .iter()
                .zip(&labels)
                .filter(|(a, b)| a == b)
                .count();
            let logp = burn::tensor::activation::log_softmax(logits, 1);
            let loss = (logp * y).sum().neg().div_scalar(k as f32);
            let l: f32 = loss.clone().into_scalar();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(lr, model, grads);
            loss_sum += f64::from(l) * k as f64;
            emit(TrainEvent::Batch {
                epoch,
                batch: b as u32 + 1,
                recon: l,
                kl: 0.0,
            });
        }
        let valid = model.valid();
        let (test_accuracy, matrix, samples) = match (&data.test, &test_inputs) {
            (Some(test), Some(ins)) => {
                let predicted = predict(&valid, ins, &inner);
                let m = confusion(&test.labels, &predicted);
                let samples = (0..SAMPLES.min(ins.len()))
                    .map(|i| (predicted[i], ins[i].to_vec()))
                    .collect();
                (Some(accuracy(&m)), m, samples)
            }
            _ => (None, Vec::new(), Vec::new()),
        };
        let loss = EpochLoss {
            epoch,
            recon: (loss_sum / n as f64) as f32,
            kl: 0.0,
            accuracy: Some(right as f32 / n as f32),
            test_accuracy,
        };
        history.push(loss);
        emit(TrainEvent::Epoch {
            loss,
            seconds: started.elapsed().as_secs_f32(),
            samples,
            confusion: matrix,
        });
        let spec = export(&valid)?;
        end_of_epoch(p, &data_id, dir, &valid, &optim, &spec, &history)?;
        emit(TrainEvent::Checkpoint(dir.clone()));
    }
    emit(TrainEvent::Finished { epochs });
    Ok(TrainOutcome {
        history,
        spec: export(&model.valid())?,
        cancelled: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::mnist::SRC;
    use crate::template;

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
        let mut p = Project::from_template(template::find("bitnet-mnist").unwrap());
        p.dataset.size = 200;
        p.training.batch_size = 20;
        p.training.epochs = 2;
        p
    }

    fn history(
        p: &Project,
        dir: &std::path::Path,
        fresh: bool,
        epochs: Option<u32>,
    ) -> Vec<EpochLoss> {
        let data = MnistData {
            train: bars(200, 1),
            test: Some(bars(100, 2)),
        };
        let opts = TrainOptions {
            checkpoints: dir.to_path_buf(),
            fresh,
            epochs,
            data: None,
        };
        run(p, &data, &opts, &Control::default(), &mut |_| {})
            .unwrap()
            .history
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
            (resumed[1].recon - one[1].recon).abs() < 1e-3,
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
            train: bars(200, 7),
            test: None,
        };
        let opts = TrainOptions {
            checkpoints: d.path().to_path_buf(),
            fresh: false,
            epochs: None,
            data: None,
        };
        let e = run(&p, &other, &opts, &Control::default(), &mut |_| {}).unwrap_err();
        assert!(matches!(e, TrainError::Mismatch { .. }), "{e}");
        // The same digits resume.
        assert_eq!(history(&p, d.path(), false, None).len(), 2);
    }

    #[test]
    fn confusion_and_accuracy() {
        let m = confusion(&[0, 1, 1, 2], &[0, 1, 2, 2]);
        assert_eq!((m[1][1], m[1][2], m[2][2]), (1, 1, 1));
        assert_eq!(accuracy(&m), 0.75);
        assert!((learning_rate(0.002, 1, 30) - 0.002).abs() < 1e-12);
        assert!(learning_rate(0.002, 30, 30) < 0.0002);
    }
}
