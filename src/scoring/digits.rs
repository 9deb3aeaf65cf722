//! Generated digits judged by a BitNet classifier: the `bitnet-mnist` template's default
//! model (`projects/mnist.ron` trained on the 60,000 digits, 98.84% on the official test
//! set), shipped as `assets/digit-classifier.bin` and run by the C engine as a board runs
//! it. A generated image is 32x32 with the digit in its middle 28x28, as MNIST's digits
//! are padded for Streaming SD; the judge crops that square and scales it to the
//! classifier's 16x16 input, as the template does with MNIST's own digits.

use crate::data::mnist::{self, Affine};
use crate::engine::{Engine, EngineError};
use crate::scoring::{accuracy, confusion_text};

/// The shipped classifier (`scripts/default-model mnist` reproduces it byte for byte).
pub const ASSET: &[u8] = include_bytes!("../../assets/digit-classifier.bin");
/// Side of the generated images.
pub const SIDE: usize = 32;
/// Pixels of padding around MNIST's 28x28 in a 32x32 image.
pub const PAD: usize = (SIDE - mnist::SRC) / 2;
/// Digits 0 to 9.
pub const DIGITS: usize = 10;

/// The label a generator takes for `digit`: 1 to 9 for themselves and 10 for 0, so that
/// `--label 7` draws a 7 (0 is left to mean "no class", as for the dice).
pub fn label_of(digit: u8) -> u8 {
    if digit == 0 { 10 } else { digit }
}

/// The digit a generator's label asks for (the inverse of [`label_of`]).
pub fn digit_of(label: u8) -> u8 {
    label % 10
}

/// A 28x28 MNIST digit in the middle of a black 32x32 image.
pub fn pad(src: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; SIDE * SIDE];
    for (y, row) in src.chunks(mnist::SRC).enumerate() {
        let at = (y + PAD) * SIDE + PAD;
        out[at..at + mnist::SRC].copy_from_slice(row);
    }
    out
}

/// The middle 28x28 of a 32x32 image.
pub fn crop(image: &[u8]) -> Vec<u8> {
    (0..mnist::SRC)
        .flat_map(|y| {
            let at = (y + PAD) * SIDE + PAD;
            image[at..at + mnist::SRC].iter().copied()
        })
        .collect()
}

/// The shipped BitNet classifier.
pub struct DigitJudge {
    engine: Engine,
}

impl DigitJudge {
    pub fn shipped() -> Result<DigitJudge, EngineError> {
        Ok(DigitJudge {
            engine: Engine::load(ASSET)?,
        })
    }

    /// The digit the classifier reads in a 32x32 image.
    pub fn read(&mut self, image: &[u8]) -> Result<u8, EngineError> {
        let input = mnist::to_input(&crop(image), &Affine::IDENTITY);
        Ok(self.engine.classify(&input)?.0.min(9))
    }

    /// The classifier's ten scores for a 32x32 image: the features its Fréchet distance
    /// is measured in.
    pub fn scores(&mut self, image: &[u8]) -> Result<Vec<f64>, EngineError> {
        let input = mnist::to_input(&crop(image), &Affine::IDENTITY);
        let (_, scores) = self.engine.classify(&input)?;
        Ok(scores.into_iter().map(f64::from).collect())
    }
}

/// Generated digits as the classifier read them.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadDigits {
    /// `[asked digit][read digit]`.
    pub confusion: Vec<Vec<u32>>,
}

impl Default for ReadDigits {
    fn default() -> Self {
        ReadDigits {
            confusion: vec![vec![0; DIGITS]; DIGITS],
        }
    }
}

impl ReadDigits {
    /// Reads `images`, all generated for the label `asked` (1 to 10).
    pub fn add(
        &mut self,
        judge: &mut DigitJudge,
        asked: u8,
        images: &[Vec<u8>],
    ) -> Result<(), EngineError> {
        let row = usize::from(digit_of(asked));
        for img in images {
            let read = judge.read(img)?;
            self.confusion[row][usize::from(read)] += 1;
        }
        Ok(())
    }

    /// The share read as asked.
    pub fn accuracy(&self) -> f64 {
        f64::from(accuracy(&self.confusion))
    }

    /// The digit read right least often, and its share (of the digits asked for).
    pub fn worst(&self) -> (u8, f64) {
        let mut worst = (0u8, 1.0f64);
        for (d, row) in self.confusion.iter().enumerate() {
            let n: u32 = row.iter().sum();
            if n == 0 {
                continue;
            }
            let share = f64::from(row[d]) / f64::from(n);
            if share < worst.1 {
                worst = (d as u8, share);
            }
        }
        worst
    }

    pub fn matrix_text(&self) -> String {
        format!(
            "Read by the BitNet digit classifier\n{}",
            confusion_text(&self.confusion)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_the_digits_with_ten_for_zero() {
        for d in 0..10 {
            assert_eq!(digit_of(label_of(d)), d);
        }
        assert_eq!((label_of(7), label_of(0)), (7, 10));
    }

    /// The judge reads real MNIST test digits, padded as Streaming SD trains on them, as
    /// well as the classifier reads them unpadded: the crop undoes the padding exactly.
    #[test]
    fn padded_test_digits_are_read_as_the_classifier_reads_them() {
        let (digits, _) = mnist::load(&crate::data::Places::default(), mnist::Split::Test)
            .unwrap_or_else(|e| panic!("{e} (scripts/setup fetches the MNIST digits)"));
        let mut judge = DigitJudge::shipped().unwrap();
        let mut read = ReadDigits::default();
        for i in 0..500 {
            let padded = pad(digits.image(i));
            assert_eq!(crop(&padded), digits.image(i));
            read.add(&mut judge, label_of(digits.labels[i]), &[padded])
                .unwrap();
        }
        let acc = read.accuracy();
        assert!(acc > 0.97, "{acc}\n{}", read.matrix_text());
    }
}
