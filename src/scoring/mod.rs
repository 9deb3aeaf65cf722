//! Judges of generated and classified images that every template may call on: the
//! shipped pip classifier (a learned judge of dice), the shipped BitNet digit classifier
//! (`digits`), a pip counter with no learning in it
//! (`holes`), and confusion matrices with their
//! text. Evaluations that belong to one template live in its folder and use these.

pub mod dice;
pub mod digits;
pub mod frechet;
pub mod holes;
pub mod pips;

/// A `[true][predicted]` confusion matrix of `classes` classes (labels from 0).
pub fn confusion(labels: &[u8], predicted: &[u8], classes: usize) -> Vec<Vec<u32>> {
    let mut m = vec![vec![0u32; classes]; classes];
    for (l, p) in labels.iter().zip(predicted) {
        if let Some(cell) = m
            .get_mut(usize::from(*l))
            .and_then(|r| r.get_mut(usize::from(*p)))
        {
            *cell += 1;
        }
    }
    m
}

/// The share of a confusion matrix on its diagonal.
pub fn accuracy(m: &[Vec<u32>]) -> f32 {
    let total: u32 = m.iter().flatten().sum();
    let right: u32 = (0..m.len()).map(|i| m[i][i]).sum();
    right as f32 / total.max(1) as f32
}

/// A confusion matrix (`[true][predicted]`) as text, with the accuracy of each row.
pub fn confusion_text(m: &[Vec<u32>]) -> String {
    let mut s = String::from("true \\ predicted");
    for c in 0..m.len() {
        s += &format!("{c:>6}");
    }
    s += "   correct\n";
    for (i, row) in m.iter().enumerate() {
        s += &format!("{i:>17}");
        for v in row {
            s += &format!("{v:>6}");
        }
        let total: u32 = row.iter().sum();
        s += &format!(
            "   {:6.2}%\n",
            f64::from(row[i]) * 100.0 / f64::from(total.max(1))
        );
    }
    s
}
