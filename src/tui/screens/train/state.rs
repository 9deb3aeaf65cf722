//! What the Train screen knows: the training worker's reports, as they arrive.

use crate::train::EpochLoss;
use std::path::PathBuf;

/// What the Train screen shows: the worker's reports, as they arrive.
#[derive(Debug, Clone, Default)]
pub struct TrainView {
    pub running: bool,
    pub paused: bool,
    pub epochs: u32,
    pub batches: u32,
    pub epoch: u32,
    pub batch: u32,
    pub history: Vec<EpochLoss>,
    /// Seconds each epoch of this run took, for the ETA.
    pub epoch_seconds: Vec<f32>,
    /// `(name, value)` of each loss of the latest batch.
    pub last_batch: Option<Vec<(String, f32)>>,
    /// `(pip count, pixels)` from the latest epoch; for a classifier, `(predicted digit,
    /// 16x16 pixels)` of test digits.
    pub samples: Vec<(u8, Vec<u8>)>,
    /// A classifier's test-set confusion matrix from the latest epoch.
    pub confusion: Vec<Vec<u32>>,
    /// The judges' scores of the latest epoch's generated images.
    pub scores: Vec<(String, f32)>,
    /// One image forming over the sampler's steps, from the latest epoch (diffusion).
    pub strip: Vec<Vec<u8>>,
    /// The epoch this run keeps for export so far, for a template that keeps its best.
    pub kept: Option<crate::checkpoint::Kept>,
    pub checkpoints: Option<PathBuf>,
    /// How the last run ended, or why it could not start.
    pub message: Option<String>,
    /// When the epoch under way began, for the first epoch's ETA.
    pub epoch_started: Option<std::time::Instant>,
}

impl TrainView {
    /// What a project shows before anything runs: the history of its checkpoint, if it
    /// has one made with its settings.
    pub fn opened(history: Vec<EpochLoss>, epochs: u32, checkpoints: PathBuf) -> TrainView {
        let message = match history.len() as u32 {
            0 => None,
            // The folder last: on a narrow screen it is what gets cut.
            done if done >= epochs => Some(format!(
                "Trained all {done} epochs. f trains afresh; more epochs in the project \
                 train on. Checkpoint: {}",
                checkpoints.display()
            )),
            done => Some(format!(
                "Trained {done} of {epochs} epochs. Enter resumes. Checkpoint: {}",
                checkpoints.display()
            )),
        };
        TrainView {
            epochs,
            epoch: history.len() as u32,
            history,
            checkpoints: Some(checkpoints),
            message,
            ..TrainView::default()
        }
    }

    /// Seconds left, from the mean epoch time of this run; in its first epoch, from the
    /// time its batches so far took.
    pub fn eta_seconds(&self) -> Option<f32> {
        if !self.running {
            return None;
        }
        let done_in_epoch = if self.batches > 0 {
            self.batch as f32 / self.batches as f32
        } else {
            0.0
        };
        let per_epoch = if self.epoch_seconds.is_empty() {
            // Too few batches yet say nothing about the pace.
            let started = self.epoch_started?;
            if self.batch < 3 || done_in_epoch <= 0.0 {
                return None;
            }
            started.elapsed().as_secs_f32() / done_in_epoch
        } else {
            self.epoch_seconds.iter().sum::<f32>() / self.epoch_seconds.len() as f32
        };
        let left = self.epochs.saturating_sub(self.epoch) as f32 + (1.0 - done_in_epoch);
        Some(per_epoch * left.max(0.0))
    }
}
