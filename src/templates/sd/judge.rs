//! Who reads Streaming SD's images: for dice, the pip classifier and the non-learned pip
//! counter ([`crate::scoring::dice`]); for digits, the shipped BitNet digit classifier
//! ([`crate::scoring::digits`]). Training keeps the epoch its judge scores best, and
//! `tinygen eval` prints its tables.

use crate::engine::EngineError;
use crate::project::{DataKind, Project};
use crate::scoring::dice::Judged;
use crate::scoring::digits::{DigitJudge, ReadDigits};
use crate::scoring::pips::{AssetError, PipClassifier};
use burn::prelude::*;

/// A judge that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum JudgeError {
    #[error(transparent)]
    Pips(#[from] AssetError),
    #[error("the shipped digit classifier: {0}")]
    Digits(#[from] EngineError),
}

/// The judge of a project's images.
pub enum Judge {
    Dice(PipClassifier),
    Digits(DigitJudge),
}

/// Images judged, one class after another.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Dice(Box<Judged>),
    Digits(ReadDigits),
}

impl Judge {
    pub fn for_project(p: &Project, device: &Device) -> Result<Judge, JudgeError> {
        Ok(match p.data_kind() {
            DataKind::Dice => Judge::Dice(PipClassifier::shipped(device)?),
            DataKind::Digits => Judge::Digits(DigitJudge::shipped()?),
        })
    }

    /// An empty verdict for `per_class` images of each class.
    pub fn verdict(&self, per_class: usize) -> Verdict {
        match self {
            Judge::Dice(_) => Verdict::Dice(Box::new(Judged::new(per_class))),
            Judge::Digits(_) => Verdict::Digits(ReadDigits::default()),
        }
    }

    /// Judges `images`, all drawn for `label`, into `v`.
    pub fn add(
        &mut self,
        v: &mut Verdict,
        label: u8,
        images: &[Vec<u8>],
        device: &Device,
    ) -> Result<(), EngineError> {
        match (self, v) {
            (Judge::Dice(c), Verdict::Dice(j)) => j.add(label, images, c, device),
            (Judge::Digits(c), Verdict::Digits(r)) => r.add(c, label, images)?,
            _ => unreachable!("a verdict comes from its own judge"),
        }
        Ok(())
    }
}

impl Verdict {
    /// The share a run is chosen by: for dice, the counted one (no learning in it); for
    /// digits, the classifier's.
    pub fn primary(&self) -> f64 {
        match self {
            Verdict::Dice(j) => j.counted_accuracy(),
            Verdict::Digits(r) => r.accuracy(),
        }
    }

    /// The scores the Train screen shows after an epoch.
    pub fn scores(&self) -> Vec<(String, f32)> {
        match self {
            Verdict::Dice(j) => vec![
                ("read".to_string(), j.read_accuracy() as f32),
                ("counted".to_string(), j.counted_accuracy() as f32),
            ],
            Verdict::Digits(r) => vec![("read".to_string(), r.accuracy() as f32)],
        }
    }

    /// The head of [`Verdict::row`]'s table.
    pub fn header(&self) -> &'static str {
        match self {
            Verdict::Dice(_) => "read    counted  (worst)",
            Verdict::Digits(_) => "read    (worst)",
        }
    }

    /// One row of a table: "100.00%   98.00%  (6 at 93.00%)".
    pub fn row(&self) -> String {
        match self {
            Verdict::Dice(j) => {
                let (worst, at) = j.worst_counted();
                format!(
                    "{:6.2}%  {:6.2}%  ({worst} at {:.2}%)",
                    j.read_accuracy() * 100.0,
                    j.counted_accuracy() * 100.0,
                    at * 100.0
                )
            }
            Verdict::Digits(r) => {
                let (worst, at) = r.worst();
                format!(
                    "{:6.2}%  ({worst} at {:.2}%)",
                    r.accuracy() * 100.0,
                    at * 100.0
                )
            }
        }
    }

    pub fn matrices_text(&self) -> String {
        match self {
            Verdict::Dice(j) => j.matrices_text(),
            Verdict::Digits(r) => r.matrix_text(),
        }
    }
}
