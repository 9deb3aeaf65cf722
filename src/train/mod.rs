//! The training loop every template shares, in the manner of burn's
//! `custom-training-loop` example: it owns the model and the optimizer, runs the epochs,
//! pauses and cancels between batches, checkpoints after every epoch, resumes from the last
//! checkpoint, and reports through [`TrainEvent`]s. What is trained, and how one step's
//! loss is computed, is the template's [`Task`].
//!
//! The same project and seed give the same loss curve. The device is the caller's: the
//! loop adds burn's autodiff to it for the steps and evaluates on the plain device.

use crate::checkpoint::{
    self, CheckpointError, KEPT_MODEL_FILE, Kept, MODEL_FILE, OPTIMIZER_FILE, State,
};
use crate::project::Project;
use crate::spec::{ModelSpec, SpecError};
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub use crate::checkpoint::EpochLoss;

/// A loss a task reports: its name in events and checkpoints, and how screens show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LossInfo {
    /// The name events and checkpoints carry, e.g. "recon" or "cross-entropy".
    pub name: &'static str,
    /// A short label for progress lines, e.g. "recon" or "loss".
    pub label: &'static str,
    /// The title of its curve, e.g. "reconstruction".
    pub title: &'static str,
    /// Decimals worth printing for one batch.
    pub decimals: usize,
    /// Width and decimals of the epoch's mean in a column of epoch lines.
    pub column: (usize, usize),
}

impl LossInfo {
    /// `label value`, at the loss's own precision.
    pub fn show(&self, value: f32) -> String {
        format!("{} {value:.*}", self.label, self.decimals)
    }

    /// `label value` for a column of epoch lines.
    pub fn column(&self, value: f32) -> String {
        let (w, d) = self.column;
        format!("{} {value:w$.d$}", self.label)
    }
}

/// What one epoch shows besides its losses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EpochView {
    /// `(label, pixels)`: generated images per class, or test inputs with the class the
    /// model gave them.
    pub samples: Vec<(u8, Vec<u8>)>,
    /// A classifier's accuracy on its test set, when it has one.
    pub test_accuracy: Option<f32>,
    /// A classifier's test confusion matrix, `[true][predicted]` (empty otherwise).
    pub confusion: Vec<Vec<u32>>,
    /// `(name, share)`: how good the epoch's generated images are, by each of the
    /// template's judges (the die: the pip classifier's reading and the counted pips).
    pub scores: Vec<(String, f32)>,
    /// One image forming over a sampler's steps, first step first (empty for a model that
    /// draws in one pass).
    pub strip: Vec<Vec<u8>>,
    /// The share, measured on a validation draw of the task's own, by which the training
    /// keeps its best epoch for export (`None`: the last epoch is kept). The last epoch
    /// still resumes.
    pub select: Option<f32>,
}

/// One training step's result.
pub struct Step {
    /// The loss to minimise (a scalar tensor on the autodiff device).
    pub loss: Tensor<1>,
    /// The value of each of the task's losses, in its order; NaN for a loss this step
    /// does not train (a task trained in stages), which the epoch then leaves out.
    pub parts: Vec<f32>,
    /// How many samples of the batch a classifier got right.
    pub right: Option<usize>,
}

/// One template's training, as the loop drives it.
pub trait Task {
    /// The burn model being trained.
    type Model: Module;

    /// The losses [`Task::step`] reports, in order.
    fn losses(&self) -> &'static [LossInfo];
    /// Training samples per epoch.
    fn samples(&self) -> usize;
    /// What else than the project's settings a checkpoint must match: the identity of
    /// training data read from files (empty for data rendered from the seed).
    fn data_identity(&self) -> String {
        String::new()
    }
    /// Where the training data comes from, in words, said at the start of a run (for
    /// data read from files: which files, how many samples).
    fn data_source(&self) -> Option<String> {
        None
    }
    /// A freshly initialised model on `device` (the autodiff one).
    fn init(&self, device: &Device) -> Self::Model;
    /// The learning rate of `epoch` (1-based) of `epochs`.
    fn learning_rate(&self, epoch: u32, epochs: u32) -> f64;
    /// Changes the model outside the optimizer before `epoch` (1-based), for a task
    /// trained in stages: e.g. statistics of the data measured by a frozen part. By
    /// default the model is left as it is.
    fn prepare(&mut self, model: Self::Model, _epoch: u32) -> Self::Model {
        model
    }
    /// Prepares an epoch (its noise, its augmentation) and returns the order of samples.
    fn begin_epoch(&mut self, epoch: u32) -> Vec<usize>;
    /// The loss of one batch of samples `batch` (indices into the epoch's data).
    fn step(&mut self, model: &Self::Model, batch: &[usize], device: &Device) -> Step;
    /// What the epoch shows (samples, test metrics), from the model in validation mode.
    fn end_epoch(&mut self, model: &Self::Model, device: &Device) -> EpochView;
    /// The integer model the device runs.
    fn export(&self, model: &Self::Model) -> Result<ModelSpec, SpecError>;
}

/// What the training loop reports.
#[derive(Debug, Clone, PartialEq)]
pub enum TrainEvent {
    /// Where the data comes from ([`Task::data_source`]), before `Started`.
    Data(String),
    Started {
        epochs: u32,
        batches: u32,
        /// Epochs already done when resuming, and their losses.
        history: Vec<EpochLoss>,
    },
    Batch {
        epoch: u32,
        batch: u32,
        /// `(name, value)` of each of the task's losses on this batch.
        losses: Vec<(String, f32)>,
    },
    Epoch {
        loss: EpochLoss,
        seconds: f32,
        /// `(label, pixels)` shown after the epoch ([`EpochView::samples`]).
        samples: Vec<(u8, Vec<u8>)>,
        /// A classifier's test-set confusion matrix, `[true][predicted]` (empty otherwise).
        confusion: Vec<Vec<u32>>,
        /// The judges' scores of the epoch's generated images ([`EpochView::scores`]).
        scores: Vec<(String, f32)>,
        /// One image forming over the sampler's steps ([`EpochView::strip`]).
        strip: Vec<Vec<u8>>,
    },
    Checkpoint(PathBuf),
    /// After a checkpoint, for a task that keeps its best epoch: the epoch kept so far.
    Kept(Kept),
    Paused(bool),
    Finished {
        epochs: u32,
    },
    Cancelled {
        epoch: u32,
    },
    /// The checkpoint cannot be resumed (damaged, or made for other settings); training can
    /// start fresh if the user agrees.
    CheckpointProblem(String),
    Failed(String),
}

/// Why training could not run.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("training the '{0}' template is not built yet")]
    NotBuilt(&'static str),
    #[error(
        "the checkpoint in '{}' is damaged; start again with 'tinygen train --fresh' \
         (the damaged files are replaced)",
        path.display()
    )]
    CorruptCheckpoint {
        path: PathBuf,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(
        "the checkpoint in '{}' was made for another project or other model settings; start \
         again with 'tinygen train --fresh', give this project its own folder \
         (artifacts.checkpoints), or restore the settings it was made with",
        path.display()
    )]
    Mismatch { path: PathBuf },
    #[error("cannot write the checkpoint in '{}'", path.display())]
    Write {
        path: PathBuf,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(transparent)]
    Data(#[from] crate::data::mnist::MnistError),
}

impl TrainError {
    /// Whether the problem is the checkpoint, which starting fresh solves.
    pub fn is_checkpoint_problem(&self) -> bool {
        matches!(
            self,
            TrainError::CorruptCheckpoint { .. } | TrainError::Mismatch { .. }
        )
    }
}

/// Pause and cancel, shared with whoever started the loop.
#[derive(Debug, Default)]
pub struct Control {
    pub cancel: AtomicBool,
    pub pause: AtomicBool,
}

/// How to run.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    pub checkpoints: PathBuf,
    /// Ignore (and replace) an existing checkpoint.
    pub fresh: bool,
    /// Override the project's epoch count.
    pub epochs: Option<u32>,
    /// Where the project's data may be (its `dataset.path`, its folder).
    pub data: crate::data::Places,
}

/// What training leaves behind.
#[derive(Debug, Clone)]
pub struct TrainOutcome {
    pub history: Vec<EpochLoss>,
    /// The kept epoch's integer model: the best by [`EpochView::select`], or the last.
    pub spec: ModelSpec,
    /// The epoch kept by its score, for a task that keeps its best.
    pub kept: Option<Kept>,
    pub cancelled: bool,
}

fn write_error(dir: &Path, e: impl std::error::Error + Send + Sync + 'static) -> TrainError {
    TrainError::Write {
        path: dir.to_path_buf(),
        source: Box::new(e),
    }
}

fn corrupt(dir: &Path, e: impl std::error::Error + Send + Sync + 'static) -> TrainError {
    TrainError::CorruptCheckpoint {
        path: dir.to_path_buf(),
        source: Box::new(e),
    }
}

/// The names of a task's losses, in order.
fn names(losses: &[LossInfo]) -> Vec<&'static str> {
    losses.iter().map(|l| l.name).collect()
}

/// Trains `task` for project `p` on `device`, reporting through `emit`. Runs on the
/// caller's thread.
pub fn run<T: Task>(
    mut task: T,
    p: &Project,
    opts: &TrainOptions,
    control: &Control,
    device: &Device,
    emit: &mut dyn FnMut(TrainEvent),
) -> Result<TrainOutcome, TrainError> {
    let autodiff = device.clone().autodiff();
    let t = &p.training;
    let epochs = opts.epochs.unwrap_or(t.epochs);
    let n = task.samples();
    let batch = (t.batch_size as usize).min(n).max(1);
    let batches = n.div_ceil(batch);
    let dir = &opts.checkpoints;
    let data_id = task.data_identity();
    let fingerprint = checkpoint::fingerprint(p, &data_id);
    let losses = task.losses();
    let export = |task: &T, m: &T::Model| task.export(m).map_err(|e| write_error(dir, e));

    if let Some(source) = task.data_source() {
        emit(TrainEvent::Data(source));
    }
    let mut model = task.init(&autodiff);
    let mut optim = AdamConfig::new().init();
    let mut history = Vec::new();
    let mut kept = None::<Kept>;
    if !opts.fresh
        && let Some(state) = resume(dir, &fingerprint, losses, &mut model, &mut optim)?
    {
        history = state.history;
        kept = state.kept;
    }
    // The kept epoch's model, once this run has trained it.
    let mut kept_spec = None::<ModelSpec>;
    // The model to report: the kept epoch's when it is not the current one.
    let outcome_spec =
        |task: &T, m: &T::Model, kept_spec: Option<ModelSpec>, kept: Option<Kept>| {
            let last = export(task, m)?;
            match (kept_spec, kept) {
                (Some(spec), _) => Ok(spec),
                (None, Some(_)) => checkpoint::read_weights(dir, last).map_err(|e| corrupt(dir, e)),
                (None, None) => Ok(last),
            }
        };

    emit(TrainEvent::Started {
        epochs,
        batches: batches as u32,
        history: history.clone(),
    });
    let first = history.len() as u32 + 1;
    for epoch in first..=epochs {
        let started = Instant::now();
        let lr = task.learning_rate(epoch, t.epochs.max(epochs));
        model = task.prepare(model, epoch);
        let order = task.begin_epoch(epoch);
        let mut sums = vec![0f64; losses.len()];
        let mut right = None::<usize>;
        for (b, idx) in order.chunks(batch).enumerate() {
            if control.pause.load(Ordering::Relaxed) {
                emit(TrainEvent::Paused(true));
                while control.pause.load(Ordering::Relaxed)
                    && !control.cancel.load(Ordering::Relaxed)
                {
                    std::thread::sleep(Duration::from_millis(50));
                }
                emit(TrainEvent::Paused(false));
            }
            if control.cancel.load(Ordering::Relaxed) {
                emit(TrainEvent::Cancelled { epoch });
                return Ok(TrainOutcome {
                    history,
                    spec: outcome_spec(&task, &model.valid(), kept_spec, kept)?,
                    kept,
                    cancelled: true,
                });
            }
            let step = task.step(&model, idx, &autodiff);
            let grads = GradientsParams::from_grads(step.loss.backward(), &model);
            model = optim.step(lr, model, grads);
            for (sum, v) in sums.iter_mut().zip(&step.parts) {
                *sum += f64::from(*v) * idx.len() as f64;
            }
            if let Some(r) = step.right {
                *right.get_or_insert(0) += r;
            }
            emit(TrainEvent::Batch {
                epoch,
                batch: b as u32 + 1,
                losses: losses
                    .iter()
                    .zip(&step.parts)
                    .filter(|(_, v)| v.is_finite())
                    .map(|(l, v)| (l.name.to_string(), *v))
                    .collect(),
            });
        }
        let valid = model.valid();
        let view = task.end_epoch(&valid, device);
        let view_select = view.select;
        let loss = EpochLoss {
            epoch,
            losses: losses
                .iter()
                .zip(&sums)
                .filter(|(_, s)| s.is_finite())
                .map(|(l, s)| (l.name.to_string(), (s / n as f64) as f32))
                .collect(),
            accuracy: right.map(|r| r as f32 / n as f32),
            test_accuracy: view.test_accuracy,
        };
        history.push(loss.clone());
        emit(TrainEvent::Epoch {
            loss,
            seconds: started.elapsed().as_secs_f32(),
            samples: view.samples,
            confusion: view.confusion,
            scores: view.scores,
            strip: view.strip,
        });
        let spec = export(&task, &valid)?;
        // An epoch that scores no better than the kept one leaves its weights in place.
        let better = match (view_select, kept) {
            (Some(s), Some(k)) => s > k.score,
            _ => true,
        };
        if better {
            kept = view_select.map(|score| Kept { epoch, score });
        }
        let mut state = State::new(fingerprint.clone(), history.clone());
        state.kept = kept;
        save(dir, &valid, &optim, better.then_some(&spec), &state)?;
        if better {
            kept_spec = Some(spec);
        }
        emit(TrainEvent::Checkpoint(dir.clone()));
        if let Some(k) = kept.filter(|_| view_select.is_some()) {
            emit(TrainEvent::Kept(k));
        }
    }
    emit(TrainEvent::Finished { epochs });
    Ok(TrainOutcome {
        history,
        spec: outcome_spec(&task, &model.valid(), kept_spec, kept)?,
        kept,
        cancelled: false,
    })
}

/// Restores the last checkpoint in `dir` into `model` and `optim`, if there is one and it
/// was made for these settings; returns its state.
fn resume<M: Module>(
    dir: &Path,
    fingerprint: &str,
    losses: &[LossInfo],
    model: &mut M,
    optim: &mut ModuleOptimizer,
) -> Result<Option<State>, TrainError> {
    let Some(state) = checkpoint::read_state(dir, &names(losses)).map_err(|e| corrupt(dir, e))?
    else {
        return Ok(None);
    };
    if !state.matches(fingerprint) {
        return Err(TrainError::Mismatch {
            path: dir.to_path_buf(),
        });
    }
    for name in [
        MODEL_FILE,
        OPTIMIZER_FILE,
        checkpoint::WEIGHTS_FILE,
        KEPT_MODEL_FILE,
    ] {
        state.check(dir, name).map_err(|e| corrupt(dir, e))?;
    }
    *model = model
        .clone()
        .try_load_file(dir.join(MODEL_FILE))
        .map_err(|e| corrupt(dir, e))?;
    let path = dir.join(OPTIMIZER_FILE);
    let bytes = std::fs::read(&path).map_err(|source| {
        corrupt(
            dir,
            CheckpointError::Read {
                path: path.clone(),
                source,
            },
        )
    })?;
    let fresh = std::mem::replace(optim, AdamConfig::new().init());
    *optim = fresh
        .from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes))
        .map_err(|e| corrupt(dir, e))?;
    Ok(Some(state))
}

/// The checkpoint at the end of an epoch: model, optimizer, weights, then the state.
fn save<M: Module>(
    dir: &Path,
    model: &M,
    optim: &ModuleOptimizer,
    spec: Option<&ModelSpec>,
    state: &State,
) -> Result<(), TrainError> {
    std::fs::create_dir_all(dir).map_err(|e| write_error(dir, e))?;
    remove_leftovers(dir);
    let tmp = dir.join(format!(".{MODEL_FILE}.tmp"));
    model
        .clone()
        .save_file(&tmp)
        .map_err(|e| write_error(dir, e))?;
    std::fs::rename(&tmp, dir.join(MODEL_FILE)).map_err(|e| write_error(dir, e))?;
    let keeps = state.kept.is_some();
    if keeps && spec.is_some() {
        // This epoch is the kept one: its model also stands for the trained model.
        let bytes = std::fs::read(dir.join(MODEL_FILE)).map_err(|e| write_error(dir, e))?;
        crate::util::fsutil::write_atomic(&dir.join(KEPT_MODEL_FILE), &bytes)
            .map_err(|e| write_error(dir, e))?;
    }
    let optim_bytes = optim.into_bytes().map_err(|e| write_error(dir, e))?;
    crate::util::fsutil::write_atomic(&dir.join(OPTIMIZER_FILE), &optim_bytes)
        .map_err(|e| write_error(dir, e))?;
    // `None`: the weights of an earlier, better epoch stay.
    if let Some(spec) = spec {
        checkpoint::write_weights(dir, spec).map_err(|e| write_error(dir, e))?;
    }
    // The state, last, names what it was written with.
    let mut state = state.clone();
    let mut files = vec![MODEL_FILE, OPTIMIZER_FILE, checkpoint::WEIGHTS_FILE];
    if keeps {
        files.push(KEPT_MODEL_FILE);
    }
    state.seal(dir, &files).map_err(|e| write_error(dir, e))?;
    checkpoint::write_state(dir, &state).map_err(|e| write_error(dir, e))
}

/// Temporary files a killed save left behind (`.model.bpk.tmp`, `.state.ron.tmp-1234`).
fn remove_leftovers(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.filter_map(Result::ok) {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.contains(".tmp") {
            let _ = std::fs::remove_file(e.path());
        }
    }
}
