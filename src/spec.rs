//! The ModelSpec: the one description of a deployable model. The budget, the exporters and
//! the host engine all read it; none of them derives shapes on its own.
//!
//! A spec is built from a project's parameters alone (for budgets while editing) and gains
//! its integer weights once a model is trained and quantized.

use crate::project::{Project, WeightBits};
use crate::template::{LayerKind, TemplateId};
use serde::Serialize;
use std::fmt;

/// Bits per activation on the device (8-bit activations everywhere).
pub const ACT_BITS: u32 = 8;
/// Weight rows are padded to whole 32-bit words, as the engine reads them.
pub const ROW_ALIGN_BITS: u64 = 32;
/// Bytes of one per-channel bias (int32).
pub const BIAS_BYTES: u64 = 4;
/// Bytes of one layer's descriptor in the generated header (dims, shift, pointers).
pub const DESCRIPTOR_BYTES: u64 = 16;
/// The 8-bit sigmoid lookup table of image outputs.
pub const SIGMOID_LUT_BYTES: u64 = 256;

/// A tensor shape, channels first; a vector has `h == w == 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Shape {
    pub c: u32,
    pub h: u32,
    pub w: u32,
}

impl Shape {
    pub fn vector(n: u32) -> Shape {
        Shape { c: n, h: 1, w: 1 }
    }

    pub fn map(c: u32, h: u32, w: u32) -> Shape {
        Shape { c, h, w }
    }

    pub fn elements(self) -> u64 {
        u64::from(self.c) * u64::from(self.h) * u64::from(self.w)
    }

    /// Bytes at the device's activation precision.
    pub fn bytes(self) -> u64 {
        (self.elements() * u64::from(ACT_BITS)).div_ceil(8)
    }

    /// Bytes of `rows` rows of this map.
    pub fn row_bytes(self, rows: u32) -> u64 {
        Shape {
            h: rows.min(self.h),
            ..self
        }
        .bytes()
    }

    pub fn is_vector(self) -> bool {
        self.h == 1 && self.w == 1
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_vector() {
            write!(f, "{}", self.c)
        } else {
            write!(f, "{}x{}x{}", self.c, self.h, self.w)
        }
    }
}

/// Trained, quantized weights of one layer: one integer per weight, in the layer's
/// `[out][in]` (dense) or `[out][in][3][3]` (convolution) order.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerWeights {
    pub values: Vec<i8>,
    /// Real value of one integer step.
    pub scale: f32,
    pub bias: Vec<i32>,
}

/// One deployable layer.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerSpec {
    pub name: String,
    pub kind: LayerKind,
    pub input: Shape,
    pub output: Shape,
    pub weight_bits: WeightBits,
    pub bias: bool,
    /// Present once the model has been trained and quantized.
    pub weights: Option<LayerWeights>,
}

impl LayerSpec {
    /// Number of weights feeding one output channel (one "row" of the weight matrix).
    pub fn row_len(&self) -> u64 {
        match self.kind {
            LayerKind::Dense => self.input.elements(),
            _ => u64::from(self.input.c) * 9,
        }
    }

    /// Output units with weights of their own: every output of a dense layer (even one
    /// shaped as a map), every output channel of a convolution.
    pub fn rows(&self) -> u64 {
        match self.kind {
            LayerKind::Dense => self.output.elements(),
            _ => u64::from(self.output.c),
        }
    }

    pub fn weight_count(&self) -> u64 {
        self.rows() * self.row_len()
    }

    pub fn params(&self) -> u64 {
        self.weight_count() + if self.bias { self.rows() } else { 0 }
    }

    /// Packed weight bits as the engine stores them. Dense layers are one input-major bit
    /// stream (all outputs of input 0, then of input 1, ...) padded once to a 32-bit word;
    /// convolutions a row per output channel, each padded to a word.
    pub fn weight_bits_packed(&self) -> u64 {
        let b = u64::from(self.weight_bits.storage_bits());
        let (rows, len) = match self.kind {
            LayerKind::Dense => (1, self.weight_count()),
            _ => (self.rows(), self.row_len()),
        };
        rows * (len * b).div_ceil(ROW_ALIGN_BITS) * ROW_ALIGN_BITS
    }

    pub fn weight_bytes(&self) -> u64 {
        self.weight_bits_packed() / 8
    }

    /// Flash for everything but the weights: biases and the layer descriptor.
    pub fn const_bytes(&self) -> u64 {
        DESCRIPTOR_BYTES
            + if self.bias {
                self.rows() * BIAS_BYTES
            } else {
                0
            }
    }

    /// Whether the engine can read this layer's weights coded: dense, 4-bit.
    pub fn codable(&self) -> bool {
        self.kind == LayerKind::Dense && self.weight_bits == WeightBits::Four
    }

    /// Multiply-accumulates for one forward pass.
    pub fn macs(&self) -> u64 {
        match self.kind {
            LayerKind::Dense => self.weight_count(),
            _ => self.output.elements() * self.row_len(),
        }
    }
}

/// A deployable model: its input, its layers in execution order, and how often the chain
/// runs per generated image.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    pub template: TemplateId,
    pub input: Shape,
    pub layers: Vec<LayerSpec>,
    /// For diffusion: how many times the first `repeat.1` layers run per image.
    pub repeat: Option<(u32, usize)>,
    /// Whether the output goes through the sigmoid table (images).
    pub sigmoid_output: bool,
    /// ShiftNorm after every layer (BitNet): the requantization shift is chosen per run
    /// from the largest accumulator instead of fixed at export.
    pub shift_norm: bool,
    /// The input is unsigned 8-bit (pixels) rather than signed.
    pub u8_input: bool,
    /// The 4-bit dense layers' weights are stored prefix-coded (see `codes_layer`).
    pub coded_weights: bool,
}

/// Bits a coded 4-bit weight takes, for estimates before training: the entropy of 4-bit
/// codes of normally distributed weights at the step BitLinear uses (0.335 sigma) is 3.55
/// bits; the trained 12k BitNet model codes to 3.54.
pub const CODED_BITS_PER_WEIGHT: f64 = 3.55;
/// The decoder's table of a coded model: one byte for each value of the next 6 bits.
pub const CODE_TABLE_BYTES: u64 = 64;
/// Coding pays only when it saves more flash than the decoder and its table cost.
pub const CODED_MIN_SAVING: u64 = 512;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SpecError {
    #[error(
        "layer '{layer}': the trained weights have {found} values but the layer needs {expected}; \
         the checkpoint does not match the project's widths, so train again"
    )]
    WeightCount {
        layer: String,
        expected: u64,
        found: u64,
    },
    #[error("layer '{layer}': weight {value} does not fit in {bits} bits")]
    WeightRange {
        layer: String,
        value: i8,
        bits: WeightBits,
    },
    #[error("the trained model has {found} layers; the project has {expected}")]
    LayerCount { expected: usize, found: usize },
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

impl ModelSpec {
    /// The spec a project's parameters describe, without weights.
    pub fn from_project(p: &Project) -> ModelSpec {
        let m = &p.model;
        let layer = |i: usize, kind: LayerKind, input: Shape, output: Shape, bias: bool| {
            let l = &m.layers[i];
            LayerSpec {
                name: l.name.clone(),
                kind,
                input,
                output,
                weight_bits: l.bits,
                bias,
                weights: None,
            }
        };
        let spec = match p.template {
            TemplateId::CvaeDie => {
                // z and the one-hot pip count -> 4x4 -> 8x8 -> 16x16 -> 32x32 grey.
                let w = |i: usize| m.layers[i].width;
                let input = Shape::vector(m.latent + 6);
                let s0 = Shape::map(w(0), 4, 4);
                let s1 = Shape::map(w(1), 8, 8);
                let s2 = Shape::map(w(2), 16, 16);
                let s3 = Shape::map(w(3), 32, 32);
                ModelSpec {
                    template: p.template,
                    input,
                    layers: vec![
                        layer(0, LayerKind::Dense, input, s0, true),
                        layer(1, LayerKind::UpConv3x3, s0, s1, true),
                        layer(2, LayerKind::UpConv3x3, s1, s2, true),
                        layer(3, LayerKind::UpConv3x3, s2, s3, true),
                    ],
                    repeat: None,
                    sigmoid_output: true,
                    shift_norm: false,
                    u8_input: false,
                    coded_weights: false,
                }
            }
            TemplateId::BitnetMnist => {
                // BitNetMCU: 16x16 = 256 inputs, bias-free BitLinear layers.
                let input = Shape::vector(256);
                let mut prev = input;
                let layers = (0..m.layers.len())
                    .map(|i| {
                        let out = Shape::vector(m.layers[i].width);
                        let l = layer(i, LayerKind::Dense, prev, out, false);
                        prev = out;
                        l
                    })
                    .collect();
                ModelSpec {
                    template: p.template,
                    input,
                    layers,
                    repeat: None,
                    sigmoid_output: false,
                    shift_norm: true,
                    u8_input: true,
                    coded_weights: false,
                }
            }
            TemplateId::StreamingSd => {
                let w = |i: usize| m.layers[i].width;
                let lat = m.latent;
                let input = Shape::map(lat, 8, 8);
                let u0 = Shape::map(w(0), 8, 8);
                let u1 = Shape::map(w(1), 4, 4);
                let u2 = Shape::map(w(2), 4, 4);
                let u3 = Shape::map(w(3), 8, 8);
                let u4 = Shape::map(lat, 8, 8);
                let v0 = Shape::map(w(5), 8, 8);
                let v1 = Shape::map(w(6), 16, 16);
                let v2 = Shape::map(w(7), 32, 32);
                let v3 = Shape::map(1, 32, 32);
                ModelSpec {
                    template: p.template,
                    input,
                    layers: vec![
                        layer(0, LayerKind::Conv3x3, input, u0, true),
                        layer(1, LayerKind::Conv3x3Down, u0, u1, true),
                        layer(2, LayerKind::Conv3x3, u1, u2, true),
                        layer(3, LayerKind::UpConv3x3, u2, u3, true),
                        layer(4, LayerKind::Conv3x3, u3, u4, true),
                        layer(5, LayerKind::Conv3x3, u4, v0, true),
                        layer(6, LayerKind::UpConv3x3, v0, v1, true),
                        layer(7, LayerKind::UpConv3x3, v1, v2, true),
                        layer(8, LayerKind::Conv3x3, v2, v3, true),
                    ],
                    repeat: Some((m.steps, 5)),
                    sigmoid_output: true,
                    shift_norm: false,
                    u8_input: false,
                    coded_weights: false,
                }
            }
        };
        spec.for_target(crate::target::find(&p.target))
    }

    /// Decides `coded_weights` for a target: on a microcontroller, where flash runs out
    /// first, when coding the 4-bit dense weights would save at least `CODED_MIN_SAVING`
    /// bytes (the 12k BitNet classifier: about 1.4 KB; the die's small dense layer: not).
    pub fn for_target(mut self, target: Option<&crate::target::Target>) -> ModelSpec {
        let mcu = target.is_some_and(|t| !t.hosted && t.flash_bytes > 0);
        self.coded_weights = mcu && self.coded_saving_estimate() >= CODED_MIN_SAVING;
        self
    }

    /// Whether layer `i`'s weights are coded: a codable layer of a coded model.
    pub fn codes_layer(&self, i: usize) -> bool {
        self.coded_weights && self.layers[i].codable()
    }

    /// Bytes coding would save on the codable layers, estimated before training.
    pub fn coded_saving_estimate(&self) -> u64 {
        let n: u64 = self
            .layers
            .iter()
            .filter(|l| l.codable())
            .map(LayerSpec::weight_count)
            .sum();
        (n as f64 * (4.0 - CODED_BITS_PER_WEIGHT) / 8.0) as u64
    }

    /// Flash bytes of layer `i`'s weights: packed, or (coded) estimated before training.
    pub fn weight_bytes(&self, i: usize) -> u64 {
        let l = &self.layers[i];
        if self.codes_layer(i) {
            ((l.weight_count() as f64 * CODED_BITS_PER_WEIGHT / 8.0).ceil() as u64).div_ceil(4) * 4
        } else {
            l.weight_bytes()
        }
    }

    /// Attaches trained weights, checking every count and range against the spec.
    pub fn with_weights(mut self, weights: Vec<LayerWeights>) -> Result<ModelSpec, SpecError> {
        if weights.len() != self.layers.len() {
            return Err(SpecError::LayerCount {
                expected: self.layers.len(),
                found: weights.len(),
            });
        }
        for (l, w) in self.layers.iter_mut().zip(weights) {
            let found = w.values.len() as u64;
            if found != l.weight_count() {
                return Err(SpecError::WeightCount {
                    layer: l.name.clone(),
                    expected: l.weight_count(),
                    found,
                });
            }
            let (lo, hi) = weight_range(l.weight_bits);
            if let Some(&value) = w.values.iter().find(|v| **v < lo || **v > hi) {
                return Err(SpecError::WeightRange {
                    layer: l.name.clone(),
                    value,
                    bits: l.weight_bits,
                });
            }
            l.weights = Some(w);
        }
        Ok(self)
    }

    /// How many times layer `i` runs per generated image or inference.
    pub fn runs(&self, i: usize) -> u64 {
        match self.repeat {
            Some((times, first)) if i < first => u64::from(times),
            _ => 1,
        }
    }

    pub fn params(&self) -> u64 {
        self.layers.iter().map(LayerSpec::params).sum()
    }

    /// log2 of the real value of one integer step of layer `i`'s input and of its output.
    /// Every grid is a power of two, so requantizing is one rounding shift.
    pub fn step_log2(&self, i: usize) -> (i32, i32) {
        use crate::model::{ACT_STEP_LOG2, IN_STEP_LOG2, LOGIT_STEP_LOG2};
        let input = if i == 0 { IN_STEP_LOG2 } else { ACT_STEP_LOG2 };
        let output = if i + 1 == self.layers.len() && self.sigmoid_output {
            LOGIT_STEP_LOG2
        } else {
            ACT_STEP_LOG2
        };
        (input, output)
    }

    /// The right shift that takes layer `i`'s accumulator (units of weight scale x input
    /// step) to its output grid; negative means a left shift. `None` before training; 0
    /// with ShiftNorm, where the device picks the shift per run.
    pub fn shift(&self, i: usize) -> Option<i32> {
        let w = self.layers[i].weights.as_ref()?;
        if self.shift_norm {
            return Some(0);
        }
        let (input, output) = self.step_log2(i);
        let w_log2 = w.scale.log2().round() as i32;
        Some(output - (w_log2 + input))
    }

    /// Whether layer `i` ends in ReLU (every layer but the last: image logits, or class
    /// scores).
    pub fn relu(&self, i: usize) -> bool {
        i + 1 < self.layers.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template;

    fn spec(name: &str) -> ModelSpec {
        ModelSpec::from_project(&Project::from_template(template::find(name).unwrap()))
    }

    #[test]
    fn shapes_chain_for_every_template() {
        for def in template::all() {
            let s = ModelSpec::from_project(&Project::from_template(def));
            let mut prev = s.input;
            for l in &s.layers {
                assert_eq!(l.input, prev, "{} {}", def.name, l.name);
                prev = l.output;
            }
        }
    }

    #[test]
    fn bitnetmcu_12k_model_is_100864_weight_bits() {
        let s = spec("bitnet-mnist");
        let dims: Vec<_> = s.layers.iter().map(|l| (l.input.c, l.output.c)).collect();
        assert_eq!(dims, [(256, 64), (64, 64), (64, 64), (64, 10)]);
        let bits: u64 = s.layers.iter().map(LayerSpec::weight_bits_packed).sum();
        assert_eq!(bits, 100_864);
        assert_eq!(bits / 8, 12_608);
    }

    #[test]
    fn hand_computed_die_decoder() {
        let s = spec("cvae-die");
        // fc: (2 + 6) -> 8x4x4 = 128 outputs of 8 weights at 4 bits, one unpadded stream.
        let fc = &s.layers[0];
        assert_eq!((fc.rows(), fc.row_len()), (128, 8));
        assert_eq!(fc.weight_bits_packed(), 1024 * 4);
        assert_eq!(fc.params(), 1024 + 128);
        assert_eq!(fc.macs(), 1024);
        // up1: 8 -> 8 channels at 8x8: rows of 72 weights at 4 bits = 288 bits (9 words).
        let up1 = &s.layers[1];
        assert_eq!(up1.weight_bytes(), 8 * 36);
        assert_eq!(up1.macs(), 8 * 8 * 8 * 72);
        assert_eq!(up1.const_bytes(), 16 + 8 * 4);
        // out: 4 -> 1 at 32x32, 8 bits: 36 weights = 288 bits.
        let out = &s.layers[3];
        assert_eq!(out.weight_bytes(), 36);
        assert_eq!(out.output.bytes(), 1024);
    }

    #[test]
    fn binary_rows_pad_to_words() {
        let mut p = Project::from_template(template::find("bitnet-mnist").unwrap());
        p.model.layers[3].bits = WeightBits::Binary;
        let s = ModelSpec::from_project(&p);
        // 640 binary weights = 20 words, whatever the row length.
        assert_eq!(s.layers[3].weight_bits_packed(), 10 * 64);
        p.model.layers[3].bits = WeightBits::Ternary;
        let s = ModelSpec::from_project(&p);
        assert_eq!(s.layers[3].weight_bits_packed(), 10 * 128);
    }

    #[test]
    fn weights_are_checked_against_the_spec() {
        let s = spec("bitnet-mnist");
        let good: Vec<LayerWeights> = s
            .layers
            .iter()
            .map(|l| LayerWeights {
                values: vec![-8; l.weight_count() as usize],
                scale: 0.1,
                bias: vec![],
            })
            .collect();
        assert!(s.clone().with_weights(good.clone()).is_ok());
        let mut short = good.clone();
        short[1].values.pop();
        assert!(matches!(
            s.clone().with_weights(short),
            Err(SpecError::WeightCount {
                expected: 4096,
                found: 4095,
                ..
            })
        ));
        let mut wide = good;
        wide[0].values[5] = 9;
        assert!(matches!(
            s.with_weights(wide),
            Err(SpecError::WeightRange { value: 9, .. })
        ));
    }
}
