//! What Streaming SD trains on, by the project's `dataset.kind`: the die's procedural
//! renders (the default; the label is the pip count) or MNIST's handwritten digits padded
//! to 32x32 (the label is the digit, 10 standing for 0: [`crate::scoring::digits::label_of`]).

use crate::data::Places;
use crate::data::die;
use crate::data::mnist::{self, MnistError, Split};
use crate::project::{DataKind, Project};
use crate::scoring::digits;

/// One labelled 32x32 training image.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// 1 to the model's classes (0 is left for "no class").
    pub label: u8,
    pub pixels: Vec<u8>,
}

/// How the data's images and classes are called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Words {
    pub one: &'static str,
    pub many: &'static str,
    /// "per pip count", "of each digit".
    pub each: &'static str,
}

pub fn words(kind: DataKind) -> Words {
    match kind {
        DataKind::Dice => Words {
            one: "die",
            many: "dice",
            each: "per pip count",
        },
        DataKind::Digits => Words {
            one: "digit",
            many: "digits",
            each: "of each digit",
        },
    }
}

/// A class as a person reads it: "3 pips", "digit 0".
pub fn caption(kind: DataKind, label: u8) -> String {
    match kind {
        DataKind::Dice => crate::templates::die::caption(label),
        DataKind::Digits => format!("digit {}", digits::digit_of(label)),
    }
}

/// A class as a grid's label: "3" (pips) or "0" (the digit).
pub fn short(kind: DataKind, label: u8) -> String {
    match kind {
        DataKind::Dice => label.to_string(),
        DataKind::Digits => digits::digit_of(label).to_string(),
    }
}

/// The project's training images: the first `dataset.size` steady die renders of its seed
/// (sizes and offsets vary a little, tilt and greys as widely: the sixes' pips stay apart
/// far more often than on the wide renders, issue #16), or its first `dataset.size`
/// training digits.
pub fn training_set(p: &Project, places: &Places) -> Result<Vec<Example>, MnistError> {
    let n = p.dataset.size as usize;
    Ok(match p.data_kind() {
        DataKind::Dice => die::steady_dataset(p.dataset.seed, n)
            .into_iter()
            .map(|d| Example {
                label: d.pips,
                pixels: d.pixels,
            })
            .collect(),
        DataKind::Digits => {
            let (mut d, _) = mnist::load(places, Split::Train)?;
            d.truncate(n);
            (0..d.len())
                .map(|i| Example {
                    label: digits::label_of(d.labels[i]),
                    pixels: digits::pad(d.image(i)),
                })
                .collect()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `tinygen data preview` of a digits project shows each digit as training sees it:
    /// 32x32, the MNIST digit in the middle 28x28 on black.
    #[test]
    fn the_digits_preview_shows_each_digit_padded() {
        let mut p = Project::from_template(&super::super::def::DEF);
        p.dataset.kind = Some(DataKind::Digits);
        let preview = crate::templates::of(&p).preview_data(&p, 1, 2).unwrap();
        assert_eq!(preview.side, 32);
        let captions: Vec<&str> = preview.samples.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(captions.len(), 20);
        assert_eq!((captions[0], captions[19]), ("digit 1", "digit 0"));
        let px = &preview.samples[0].1;
        assert!(
            px[..2 * 32].iter().all(|&v| v == 0),
            "the top rows are padding"
        );
        assert!(px.iter().any(|&v| v > 128), "a digit is drawn");
    }
}
