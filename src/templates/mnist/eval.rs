//! Scoring a digit classifier on labelled digits: the burn integer model and the C engine,
//! as the board runs it, on the same 16x16 inputs.

use super::model::CLASSES;
use crate::data::mnist::{self, Digits};
use crate::engine::Engine;
use crate::nn::int::{self, IntOutput};
use crate::scoring::{accuracy, confusion_text};
use crate::spec::ModelSpec;
use crate::template::EvalError;
use burn::prelude::Device;

/// A digit classifier on a test set: the burn integer model and the C engine on the same
/// 16x16 inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct DigitReport {
    /// What was scored (e.g. the official test set's path).
    pub source: String,
    /// `[true][predicted]` of the burn integer model.
    pub confusion: Vec<Vec<u32>>,
    /// `[true][predicted]` of the C engine, as the board runs it.
    pub engine_confusion: Vec<Vec<u32>>,
    /// Digits where the engine's class and scores equal the burn integer model's.
    pub identical: usize,
}

impl DigitReport {
    pub fn to_text(&self) -> String {
        let n: u32 = self.confusion.iter().flatten().sum();
        let acc = accuracy(&self.confusion);
        let eng = accuracy(&self.engine_confusion);
        let mut s = format!(
            "Accuracy on {n} digits of {}: {:.2}% (burn integer model)\n\
             C engine, as on the board:  {:.2}%  ({} of {n} answers identical, class and scores)\n\n",
            self.source,
            acc * 100.0,
            eng * 100.0,
            self.identical
        );
        s += &confusion_text(&self.confusion);
        s
    }
}

/// Scores a classifier's spec (with weights) and blob on labelled digits.
pub fn score_digits(
    spec: &ModelSpec,
    blob: &[u8],
    digits: &Digits,
    source: String,
    device: &Device,
) -> Result<DigitReport, EvalError> {
    let inputs = mnist::inputs(digits);
    let mut engine = Engine::load(blob)?;
    let mut confusion = vec![vec![0u32; CLASSES]; CLASSES];
    let mut engine_confusion = vec![vec![0u32; CLASSES]; CLASSES];
    let mut identical = 0;
    for (chunk, labels) in inputs.chunks(1000).zip(digits.labels.chunks(1000)) {
        let batch: Vec<Vec<i8>> = chunk
            .iter()
            .map(|x| x.iter().map(|&v| v as i8).collect())
            .collect();
        let out = int::forward(spec, &batch, device)?;
        for ((x, o), &label) in chunk.iter().zip(out).zip(labels) {
            let IntOutput::Class { class, scores } = o else {
                return Err(EvalError::BadRequest(
                    "this model is not a classifier".into(),
                ));
            };
            let got = engine.classify(x)?;
            confusion[usize::from(label)][usize::from(class)] += 1;
            engine_confusion[usize::from(label)][usize::from(got.0.min(9))] += 1;
            identical += usize::from(got == (class, scores));
        }
    }
    Ok(DigitReport {
        source,
        confusion,
        engine_confusion,
        identical,
    })
}
