//! Generated dice judged twice, by the learned pip classifier and by the counter of
//! distinct pips: what every template that draws dice is scored with (the CVAE die and
//! Streaming SD).

use crate::data::die::{self, PIPS as CLASSES};
use crate::scoring::holes;
use crate::scoring::pips::PipClassifier;
use burn::prelude::*;

/// Columns of the counter's confusion matrix: 0 (no pips or no face) to 6, then 7 or more.
pub const COUNT_COLUMNS: usize = CLASSES + 2;

/// Generated dice judged twice: by the learned pip classifier, and by the counter of
/// distinct pips ([`crate::scoring::holes`]), which has no learning in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    pub per_class: usize,
    /// `read[asked - 1][read - 1]`, the pip classifier.
    pub read: [[u32; CLASSES]; CLASSES],
    /// `counted[asked - 1][pips found]`, the counter; the last column is seven or more.
    pub counted: [[u32; COUNT_COLUMNS]; CLASSES],
}

impl Judged {
    pub fn new(per_class: usize) -> Judged {
        Judged {
            per_class,
            read: [[0; CLASSES]; CLASSES],
            counted: [[0; COUNT_COLUMNS]; CLASSES],
        }
    }

    /// Judges `images`, all generated for `asked` pips.
    pub fn add(
        &mut self,
        asked: u8,
        images: &[Vec<u8>],
        classifier: &PipClassifier,
        device: &Device,
    ) {
        let row = usize::from(asked.clamp(1, CLASSES as u8) - 1);
        let refs: Vec<&[u8]> = images.iter().map(Vec::as_slice).collect();
        for read in classifier.classify(&refs, device) {
            self.read[row][usize::from(read.clamp(1, CLASSES as u8) - 1)] += 1;
        }
        self.add_counted(asked, images);
    }

    /// Counts the distinct pips of `images`, all generated for `asked` pips, without the
    /// classifier (its matrix is left as it is).
    pub fn add_counted(&mut self, asked: u8, images: &[Vec<u8>]) {
        let row = usize::from(asked.clamp(1, CLASSES as u8) - 1);
        for img in images {
            let n = holes::count(img, die::SIZE).pips();
            self.counted[row][n.min(COUNT_COLUMNS - 1)] += 1;
        }
    }

    /// The share the pip classifier read as asked.
    pub fn read_accuracy(&self) -> f64 {
        let right: u32 = (0..CLASSES).map(|i| self.read[i][i]).sum();
        f64::from(right) / (self.per_class * CLASSES).max(1) as f64
    }

    /// The share whose distinct pips, counted, are the number asked for.
    pub fn counted_accuracy(&self) -> f64 {
        let right: u32 = (0..CLASSES).map(|i| self.counted[i][i + 1]).sum();
        f64::from(right) / (self.per_class * CLASSES).max(1) as f64
    }

    /// The counted accuracy of each pip count, 1 to 6.
    pub fn counted_per_class(&self) -> [f64; CLASSES] {
        std::array::from_fn(|i| f64::from(self.counted[i][i + 1]) / self.per_class.max(1) as f64)
    }

    /// The pip count the counter gets right least often, and how often.
    pub fn worst_counted(&self) -> (u8, f64) {
        let per = self.counted_per_class();
        let i = (0..CLASSES)
            .min_by(|&a, &b| per[a].total_cmp(&per[b]))
            .unwrap_or(0);
        (i as u8 + 1, per[i])
    }

    /// Both scores in a line: "97.50% read by the pip classifier, 81.00% counted …".
    pub fn summary(&self) -> String {
        let (worst, worst_acc) = self.worst_counted();
        format!(
            "{:.2}% read by the pip classifier, {:.2}% counted as distinct pips (worst: {worst} \
             at {:.2}%)",
            self.read_accuracy() * 100.0,
            self.counted_accuracy() * 100.0,
            worst_acc * 100.0
        )
    }

    /// Both confusion matrices, one table per judge.
    pub fn matrices_text(&self) -> String {
        let mut s = String::from(
            "pip classifier (learned)\n  asked \\ read     1     2     3     4     5     6\n",
        );
        for (i, row) in self.read.iter().enumerate() {
            s += &format!("      {}     ", i + 1);
            for v in row {
                s += &format!("{v:>6}");
            }
            s += "\n";
        }
        s += "\ndistinct pips counted (no learning)\n  asked \\ counted  0     1     2     3     4     5     6    7+   right\n";
        for (i, row) in self.counted.iter().enumerate() {
            s += &format!("      {}     ", i + 1);
            for v in row {
                s += &format!("{v:>6}");
            }
            s += &format!("  {:6.2}%\n", self.counted_per_class()[i] * 100.0);
        }
        s
    }
}
