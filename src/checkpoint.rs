//! A project's checkpoint folder, as far as it is plain data: the training state
//! (`state.ron`: what the checkpoint was trained for and the loss history) and the
//! quantized integer weights (`weights.ron`) that export, budget and boards read. The burn
//! model (`model.bpk`) and the optimizer (`optimizer.bin`) beside them are the training
//! loop's (`crate::train`); they are written first, and `state.ron` last, so a
//! half-written checkpoint is never taken for a whole one.
//!
//! Reading weights needs no tensor library: deploying a trained model does not pull in
//! the training code.

use crate::project::Project;
use crate::spec::{LayerWeights, ModelSpec, SpecError};
use crate::util::checksum::crc32;
use crate::util::fsutil::write_atomic;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The burn model of the last epoch.
pub const MODEL_FILE: &str = "model.bpk";
/// The optimizer's state (Adam's moments) of the last epoch.
pub const OPTIMIZER_FILE: &str = "optimizer.bin";
/// The burn model of the epoch kept for export ([`Kept`]), beside the last epoch's
/// `model.bpk`, for a task that keeps its best epoch.
pub const KEPT_MODEL_FILE: &str = "kept.bpk";
/// The quantized integer weights of the last epoch.
pub const WEIGHTS_FILE: &str = "weights.ron";
/// What the checkpoint was made for, and its history; written last.
pub const STATE_FILE: &str = "state.ron";

/// The format of `state.ron`. Version 1 named a classifier's loss `recon`; version 2
/// carries every loss by name.
const STATE_VERSION: u32 = 2;

/// One point of the training curves: an epoch's mean of each named loss, and a
/// classifier's accuracies.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EpochLoss {
    pub epoch: u32,
    /// `(name, mean per sample)` in the order the task declares its losses.
    pub losses: Vec<(String, f32)>,
    /// A classifier's accuracy on its (augmented) training samples this epoch.
    #[serde(default)]
    pub accuracy: Option<f32>,
    /// A classifier's accuracy on the test set after the epoch, when there is one.
    #[serde(default)]
    pub test_accuracy: Option<f32>,
}

impl EpochLoss {
    /// The mean of the loss called `name`; NaN when the epoch has none of that name (so
    /// any comparison with it fails).
    pub fn loss(&self, name: &str) -> f32 {
        self.losses
            .iter()
            .find(|(n, _)| n == name)
            .map_or(f32::NAN, |(_, v)| *v)
    }
}

/// Why a checkpoint folder could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("cannot read '{}'", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write '{}'", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("'{}' is not a tinygen checkpoint file", path.display())]
    Parse {
        path: PathBuf,
        source: Box<ron::error::SpannedError>,
    },
    #[error("cannot encode the checkpoint's {what}")]
    Encode {
        what: &'static str,
        source: ron::Error,
    },
    #[error("the saved weights do not fit the project")]
    Weights(#[from] SpecError),
    #[error(
        "'{}' is not the file its state.ron was written with: the checkpoint was cut off \
         while being written",
        path.display()
    )]
    HalfWritten { path: PathBuf },
}

/// What `state.ron` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    /// The settings the checkpoint belongs to ([`fingerprint`]).
    pub fingerprint: String,
    pub history: Vec<EpochLoss>,
    /// `(file name, CRC-32)` of every other file of the checkpoint, written last: a file
    /// that does not match was left by a write that was cut off (#19, item 4). Empty in
    /// checkpoints from before the manifest.
    #[serde(default)]
    pub files: Vec<(String, u32)>,
    /// The epoch whose quantized weights `weights.ron` holds, for a task that keeps its
    /// best epoch by a score ([`Kept`]); `None`: the last epoch's.
    #[serde(default)]
    pub kept: Option<Kept>,
}

/// The burn model file that stands for the trained model in `dir`: the kept epoch's
/// when the checkpoint keeps one, else the last epoch's.
pub fn trained_model_file(dir: &Path) -> PathBuf {
    let kept = dir.join(KEPT_MODEL_FILE);
    match read_state(dir, &[]) {
        Ok(Some(state)) if state.kept.is_some() && kept.exists() => kept,
        _ => dir.join(MODEL_FILE),
    }
}

/// The epoch a training keeps for export, and the score that chose it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Kept {
    pub epoch: u32,
    /// The task's selection score of that epoch, a share in 0..=1.
    pub score: f32,
}

/// `state.ron` as version 1 wrote it: the first loss in `recon`, the second in `kl`.
#[derive(Deserialize)]
struct StateV1 {
    fingerprint: String,
    history: Vec<EpochV1>,
}

#[derive(Deserialize)]
struct EpochV1 {
    epoch: u32,
    recon: f32,
    kl: f32,
    #[serde(default)]
    accuracy: Option<f32>,
    #[serde(default)]
    test_accuracy: Option<f32>,
}

impl State {
    pub fn new(fingerprint: String, history: Vec<EpochLoss>) -> State {
        State {
            version: STATE_VERSION,
            fingerprint,
            history,
            files: Vec::new(),
            kept: None,
        }
    }

    /// Records the checkpoint's files as they are now in `dir`.
    pub fn seal(&mut self, dir: &Path, names: &[&str]) -> Result<(), CheckpointError> {
        self.files = names
            .iter()
            .map(|n| {
                let path = dir.join(n);
                let bytes = std::fs::read(&path)
                    .map_err(|source| CheckpointError::Read { path, source })?;
                Ok((n.to_string(), crc32(&bytes)))
            })
            .collect::<Result<_, CheckpointError>>()?;
        Ok(())
    }

    /// Checks that the file `name` in `dir` is the one this state was sealed with (true
    /// for files the manifest does not list).
    pub fn check(&self, dir: &Path, name: &str) -> Result<(), CheckpointError> {
        let Some((_, crc)) = self.files.iter().find(|(n, _)| n == name) else {
            return Ok(());
        };
        let path = dir.join(name);
        let bytes = std::fs::read(&path).map_err(|source| CheckpointError::Read {
            path: path.clone(),
            source,
        })?;
        if crc32(&bytes) == *crc {
            Ok(())
        } else {
            Err(CheckpointError::HalfWritten { path })
        }
    }

    /// Whether this state belongs to a checkpoint made with these settings.
    pub fn matches(&self, fingerprint: &str) -> bool {
        self.version == STATE_VERSION && self.fingerprint == fingerprint
    }
}

/// The settings that must match for a checkpoint to be resumed; `data` names training data
/// that comes from files (empty for rendered data, which the seed and size fix).
pub fn fingerprint(p: &Project, data: &str) -> String {
    let m = &p.model;
    let layers: Vec<String> = m
        .layers
        .iter()
        .map(|l| format!("{}:{}:{}", l.name, l.width, l.bits))
        .collect();
    // The project's name comes first: two projects of one template with the same settings
    // still never resume each other's checkpoints (issue #18, item 3).
    let mut f = format!(
        "project {:?}|{}|latent {}|encoder {:?}|{}|data {} {}|seed {}|batch {}|lr {}",
        p.name,
        p.template,
        m.latent,
        m.encoder,
        layers.join(","),
        p.dataset.seed,
        p.dataset.size,
        p.training.seed,
        p.training.batch_size,
        p.training.learning_rate
    );
    if !data.is_empty() {
        f += &format!("|{data}");
    }
    f
}

/// What identifies training samples read from files: their count and a CRC of their
/// labels and pixels (another folder, or the full 60,000 digits, is other data).
pub fn data_identity(images: &[u8], labels: &[u8]) -> String {
    let crc = crc32(labels) ^ crc32(images).rotate_left(1);
    format!("files {} {crc:08x}", labels.len())
}

fn read(path: &Path) -> Result<String, CheckpointError> {
    std::fs::read_to_string(path).map_err(|source| CheckpointError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    write_atomic(path, bytes).map_err(|source| CheckpointError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// The state of the checkpoint in `dir`, or `None` when there is none. A version-1 state
/// is read with `loss_names` naming its two loss fields.
pub fn read_state(dir: &Path, loss_names: &[&str]) -> Result<Option<State>, CheckpointError> {
    let path = dir.join(STATE_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let text = read(&path)?;
    let parse = |source| CheckpointError::Parse {
        path: path.clone(),
        source: Box::new(source),
    };
    match ron::from_str::<State>(&text) {
        Ok(s) => Ok(Some(s)),
        Err(e) => {
            let v1: StateV1 = ron::from_str(&text).map_err(|_| parse(e))?;
            let name = |i: usize| loss_names.get(i).unwrap_or(&"loss").to_string();
            let history = v1
                .history
                .into_iter()
                .map(|h| EpochLoss {
                    epoch: h.epoch,
                    losses: [(name(0), h.recon), (name(1), h.kl)]
                        .into_iter()
                        .take(loss_names.len().max(1))
                        .collect(),
                    accuracy: h.accuracy,
                    test_accuracy: h.test_accuracy,
                })
                .collect();
            Ok(Some(State::new(v1.fingerprint, history)))
        }
    }
}

/// The history of the checkpoint in `dir` when it was made with `p`'s settings, whatever
/// its data: where a project got to, shown when it opens without reading its data. Empty
/// when there is no such checkpoint (or it cannot be read: training will say why).
pub fn saved_history(p: &Project, dir: &Path, loss_names: &[&str]) -> Vec<EpochLoss> {
    let settings = fingerprint(p, "");
    match read_state(dir, loss_names) {
        Ok(Some(s))
            if s.version == STATE_VERSION
                && (s.fingerprint == settings
                    || s.fingerprint.starts_with(&format!("{settings}|"))) =>
        {
            s.history
        }
        _ => Vec::new(),
    }
}

/// Writes `state.ron`: the last file of a checkpoint.
pub fn write_state(dir: &Path, state: &State) -> Result<(), CheckpointError> {
    let text =
        ron::ser::to_string_pretty(state, ron::ser::PrettyConfig::default()).map_err(|source| {
            CheckpointError::Encode {
                what: "state",
                source,
            }
        })?;
    write(&dir.join(STATE_FILE), text.as_bytes())
}

/// Serialisable integer weights, as training leaves them.
#[derive(Debug, Serialize, Deserialize)]
struct SavedWeights {
    layers: Vec<(Vec<i8>, f32, Vec<i32>)>,
    /// A diffusion model's latent de-normalisation ([`ModelSpec::latent_denorm`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    latent_denorm: Vec<(i32, i32)>,
}

/// Writes the quantized weights of `spec` as `weights.ron`.
pub fn write_weights(dir: &Path, spec: &ModelSpec) -> Result<(), CheckpointError> {
    let weights = SavedWeights {
        layers: spec
            .layers
            .iter()
            .filter_map(|l| l.weights.as_ref())
            .map(|w| (w.values.clone(), w.scale, w.bias.clone()))
            .collect(),
        latent_denorm: spec.latent_denorm.clone(),
    };
    let text = ron::to_string(&weights).map_err(|source| CheckpointError::Encode {
        what: "weights",
        source,
    })?;
    write(&dir.join(WEIGHTS_FILE), text.as_bytes())
}

/// Whether `dir` holds quantized weights.
pub fn has_weights(dir: &Path) -> bool {
    dir.join(WEIGHTS_FILE).exists()
}

/// `spec` with the quantized weights a training left in `dir`, each layer's count and
/// range checked.
pub fn read_weights(dir: &Path, spec: ModelSpec) -> Result<ModelSpec, CheckpointError> {
    // Weights beside a state that was sealed with other ones are not this checkpoint's.
    if let Some(state) = read_state(dir, &[])? {
        state.check(dir, WEIGHTS_FILE)?;
    }
    let path = dir.join(WEIGHTS_FILE);
    let text = read(&path)?;
    let saved: SavedWeights = ron::from_str(&text).map_err(|source| CheckpointError::Parse {
        path: path.clone(),
        source: Box::new(source),
    })?;
    let weights = saved
        .layers
        .into_iter()
        .map(|(values, scale, bias)| LayerWeights {
            values,
            scale,
            bias,
        })
        .collect();
    let mut spec = spec.with_weights(weights)?;
    spec.latent_denorm = saved.latent_denorm;
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A version-1 state (the loss of a classifier in `recon`) is read under the task's
    /// names, so checkpoints from before named losses still resume.
    #[test]
    fn a_version_1_state_reads_with_named_losses() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(STATE_FILE),
            "(version: 1, fingerprint: \"f\", history: [(epoch: 1, recon: 0.5, kl: 0.0, \
             accuracy: Some(0.9))])",
        )
        .unwrap();
        let s = read_state(dir.path(), &["cross-entropy"]).unwrap().unwrap();
        assert!(s.matches("f"));
        assert_eq!(
            s.history[0].losses,
            vec![("cross-entropy".to_string(), 0.5)]
        );
        assert_eq!(s.history[0].accuracy, Some(0.9));
        let s = read_state(dir.path(), &["recon", "kl"]).unwrap().unwrap();
        assert_eq!(s.history[0].loss("kl"), 0.0);
        assert!(s.history[0].loss("nothing").is_nan());
        let s2 = State::new("g".into(), s.history.clone());
        write_state(dir.path(), &s2).unwrap();
        assert_eq!(read_state(dir.path(), &[]).unwrap(), Some(s2));
    }
}
