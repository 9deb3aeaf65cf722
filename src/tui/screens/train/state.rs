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
    pub checkpoints: Option<PathBuf>,
    /// How the last run ended, or why it could not start.
    pub message: Option<String>,
}

impl TrainView {
    /// Seconds left, from the mean epoch time of this run.
    pub fn eta_seconds(&self) -> Option<f32> {
        if self.epoch_seconds.is_empty() || !self.running {
            return None;
        }
        let per_epoch = self.epoch_seconds.iter().sum::<f32>() / self.epoch_seconds.len() as f32;
        let done_in_epoch = if self.batches > 0 {
            self.batch as f32 / self.batches as f32
        } else {
            0.0
        };
        let left = self.epochs.saturating_sub(self.epoch) as f32 + (1.0 - done_in_epoch);
        Some(per_epoch * left.max(0.0))
    }
}
