//! The numbers of quantization every layer shares, with no tensor library in sight: the
//! weight precisions (1, 1.58, 2, 4 or 8 bits) and their integer ranges, the fixed
//! power-of-two grids of activations, inputs and logits, the per-tensor weight scale, and
//! the 8-bit sigmoid table of image outputs.
//!
//! Every scale being a power of two is what lets the device requantize with one rounding
//! shift (no multiplier), and lets the burn integer reference reproduce it exactly.

use std::fmt;

/// The weight precisions the quantization-aware training and the device engine support.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WeightBits {
    Binary,
    Ternary,
    Two,
    Four,
    Eight,
}

impl WeightBits {
    pub const ALL: [WeightBits; 5] = [
        WeightBits::Binary,
        WeightBits::Ternary,
        WeightBits::Two,
        WeightBits::Four,
        WeightBits::Eight,
    ];

    /// The value written in project files: 1, 1.58, 2, 4 or 8.
    pub fn as_f64(self) -> f64 {
        match self {
            WeightBits::Binary => 1.0,
            WeightBits::Ternary => 1.58,
            WeightBits::Two => 2.0,
            WeightBits::Four => 4.0,
            WeightBits::Eight => 8.0,
        }
    }

    /// Bits each weight occupies once packed for the device (ternary packs into 2 bits).
    pub fn storage_bits(self) -> u32 {
        match self {
            WeightBits::Binary => 1,
            WeightBits::Ternary | WeightBits::Two => 2,
            WeightBits::Four => 4,
            WeightBits::Eight => 8,
        }
    }

    /// Parses a project-file value; ternary may be written 1.58 or 1.5.
    pub fn from_f64(v: f64) -> Option<WeightBits> {
        let close = |x: f64| (v - x).abs() < 1e-6;
        if close(1.0) {
            Some(WeightBits::Binary)
        } else if (v - 1.58).abs() < 0.005 || close(1.5) {
            Some(WeightBits::Ternary)
        } else if close(2.0) {
            Some(WeightBits::Two)
        } else if close(4.0) {
            Some(WeightBits::Four)
        } else if close(8.0) {
            Some(WeightBits::Eight)
        } else {
            None
        }
    }

    /// The code the model blob stores for this precision.
    pub fn blob_code(self) -> u8 {
        match self {
            WeightBits::Binary => 1,
            WeightBits::Two => 2,
            WeightBits::Ternary => 3,
            WeightBits::Four => 4,
            WeightBits::Eight => 8,
        }
    }
}

impl fmt::Display for WeightBits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WeightBits::Ternary => f.write_str("1.58"),
            other => write!(f, "{}", other.storage_bits()),
        }
    }
}

/// The integer range a weight of this precision may take.
pub fn weight_range(bits: WeightBits) -> (i8, i8) {
    match bits {
        // Binary weights are ±1; ternary −1, 0, +1.
        WeightBits::Binary | WeightBits::Ternary => (-1, 1),
        WeightBits::Two => (-2, 1),
        WeightBits::Four => (-8, 7),
        WeightBits::Eight => (-128, 127),
    }
}

/// Bits per activation on the device (8-bit activations everywhere).
pub const ACT_BITS: u32 = 8;
/// Hidden activations are clamped to `[0, ACT_MAX)` and stored as unsigned 8-bit steps.
pub const ACT_MAX: f32 = 4.0;
pub const ACT_STEP_LOG2: i32 = -6;
pub const ACT_STEP: f32 = ACT_MAX / 256.0;
/// Model inputs (latent vectors) are signed 8-bit steps on `[-4, 4)`.
pub const IN_STEP_LOG2: i32 = -5;
pub const IN_STEP: f32 = 4.0 / 128.0;
/// Image logits are signed 8-bit steps on `[-8, 8)`, the index of the sigmoid table.
pub const LOGIT_STEP_LOG2: i32 = -4;
pub const LOGIT_STEP: f32 = 1.0 / 16.0;

/// The divisor that maps a tensor's largest magnitude to the top quantization level.
fn top_level(bits: WeightBits) -> f32 {
    match bits {
        WeightBits::Binary | WeightBits::Ternary => 1.0,
        WeightBits::Two => 2.0,
        WeightBits::Four => 7.0,
        WeightBits::Eight => 127.0,
    }
}

/// The per-tensor scale of a weight tensor: one integer step in real units, always a power
/// of two. Binary and ternary weights take the power of two nearest their mean magnitude
/// (as BitNet uses the mean); the others the smallest that keeps the largest weight in
/// range.
pub fn weight_scale(values: &[f32], bits: WeightBits) -> f32 {
    let n = values.len().max(1) as f32;
    match bits {
        WeightBits::Binary | WeightBits::Ternary => {
            let mean = values.iter().map(|v| v.abs()).sum::<f32>() / n;
            pow2(mean.max(1e-6).log2().round())
        }
        _ => {
            let max = values.iter().fold(0f32, |m, v| m.max(v.abs()));
            pow2((max.max(1e-6) / top_level(bits)).log2().ceil())
        }
    }
}

/// `2^e` for an integral `e`, exactly.
fn pow2(e: f32) -> f32 {
    2f32.powi(e.clamp(-40.0, 40.0) as i32)
}

/// Integer weights for the device, given their scale.
pub fn quantize_weights(values: &[f32], bits: WeightBits, scale: f32) -> Vec<i8> {
    let (lo, hi) = weight_range(bits);
    values
        .iter()
        .map(|v| {
            if bits == WeightBits::Binary {
                if *v < 0.0 { -1 } else { 1 }
            } else {
                (v / scale + 0.5)
                    .floor()
                    .clamp(f32::from(lo), f32::from(hi)) as i8
            }
        })
        .collect()
}

/// The device's sigmoid table: entry `i` is the 8-bit grey of logit `(i - 128) / 16`.
pub fn sigmoid_table() -> [u8; 256] {
    let mut t = [0u8; 256];
    for (i, v) in t.iter_mut().enumerate() {
        let x = (i as f64 - 128.0) * f64::from(LOGIT_STEP);
        *v = (255.0 / (1.0 + (-x).exp())).round() as u8;
    }
    t
}

/// The ShiftNorm shift of one sample: the smallest `s` with `max >> s <= top`.
pub fn norm_shift(max: u64, top: u64) -> i32 {
    let mut s = 0;
    while (max >> s) > top {
        s += 1;
    }
    s
}

/// The first largest score of each row of `classes` scores: the device's class (ties go
/// to the lower class).
pub fn argmax_rows(scores: &[f32], classes: usize) -> Vec<u8> {
    scores
        .chunks(classes.max(1))
        .map(|r| {
            let mut best = 0;
            for (i, v) in r.iter().enumerate() {
                if *v > r[best] {
                    best = i;
                }
            }
            best as u8
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_and_integer_weights() {
        let w = [0.7, -0.35, 0.0, 0.14];
        // 0.7 / 7 = 0.1 → the next power of two up, 1/8.
        let s = weight_scale(&w, WeightBits::Four);
        assert_eq!(s, 0.125);
        assert_eq!(quantize_weights(&w, WeightBits::Four, s), vec![6, -3, 0, 1]);
        // Mean magnitude 0.2975 → the nearest power of two, 1/4.
        let s = weight_scale(&w, WeightBits::Ternary);
        assert_eq!(s, 0.25);
        assert_eq!(
            quantize_weights(&w, WeightBits::Ternary, s),
            vec![1, -1, 0, 1]
        );
        assert_eq!(
            quantize_weights(&w, WeightBits::Binary, 1.0),
            vec![1, -1, 1, 1]
        );
        assert_eq!(
            quantize_weights(&[-9.0, 9.0], WeightBits::Two, 1.0),
            vec![-2, 1]
        );
    }

    #[test]
    fn bits_parse() {
        assert_eq!(WeightBits::from_f64(1.58), Some(WeightBits::Ternary));
        assert_eq!(WeightBits::from_f64(3.0), None);
        assert_eq!(WeightBits::from_f64(f64::NAN), None);
        for b in WeightBits::ALL {
            assert_eq!(WeightBits::from_f64(b.as_f64()), Some(b));
        }
    }
}
