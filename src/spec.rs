//! The ModelSpec: the one description of a deployable model. The budget, the exporters and
//! the host engine all read it; none of them derives shapes on its own.
//!
//! Each template builds its spec from a project's parameters alone (for budgets while
//! editing, `Template::spec`); the spec gains its integer weights once the model is trained
//! and quantized. The spec says what kind of model it is, so nothing downstream guesses it
//! from other fields.

use crate::quant::{
    ACT_BITS, ACT_STEP_LOG2, IN_STEP_LOG2, LOGIT_STEP_LOG2, WeightBits, weight_range,
};
use serde::Serialize;
use std::fmt;

/// The operation a deployable layer performs; this decides its shapes and costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerKind {
    /// Fully connected.
    Dense,
    /// 3x3 convolution, stride 1, same padding.
    Conv3x3,
    /// 3x3 convolution, stride 2: halves height and width.
    Conv3x3Down,
    /// Nearest-neighbour upsampling x2, then a 3x3 convolution.
    UpConv3x3,
}

impl LayerKind {
    /// The short name budgets and headers print.
    pub fn op_name(self) -> &'static str {
        match self {
            LayerKind::Dense => "dense",
            LayerKind::Conv3x3 => "conv3",
            LayerKind::Conv3x3Down => "conv3/2",
            LayerKind::UpConv3x3 => "up+conv3",
        }
    }

    /// The code the model blob stores for this kind.
    pub fn blob_code(self) -> u8 {
        match self {
            LayerKind::Dense => 0,
            LayerKind::Conv3x3 => 1,
            LayerKind::Conv3x3Down => 2,
            LayerKind::UpConv3x3 => 3,
        }
    }
}

/// What a deployed model does with its input: the board, the monitor and the budget all
/// follow this, never a guess from the shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// Draws an image from a latent draw and a one-hot label (the die).
    Generator,
    /// Answers a class for an input image (the digits).
    Classifier,
    /// Draws an image by denoising a latent over several steps.
    Diffusion,
}

impl ModelKind {
    pub const ALL: [ModelKind; 3] = [
        ModelKind::Generator,
        ModelKind::Classifier,
        ModelKind::Diffusion,
    ];

    /// The code the model blob and HELLO carry (0 is left for blobs from before it).
    pub fn code(self) -> u8 {
        match self {
            ModelKind::Generator => 1,
            ModelKind::Classifier => 2,
            ModelKind::Diffusion => 3,
        }
    }

    pub fn from_code(c: u8) -> Option<ModelKind> {
        ModelKind::ALL.into_iter().find(|k| k.code() == c)
    }

    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Generator => "generator",
            ModelKind::Classifier => "classifier",
            ModelKind::Diffusion => "diffusion",
        }
    }

    /// What one run of the model produces: an image, or an inference.
    pub fn run_noun(self) -> &'static str {
        match self {
            ModelKind::Classifier => "inference",
            ModelKind::Generator | ModelKind::Diffusion => "image",
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
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

/// A deployable model: what kind it is, its input, its layers in execution order, and how
/// often the chain runs per generated image.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    pub kind: ModelKind,
    /// A generator's labels (the one-hot at the end of its input); a classifier's classes.
    pub classes: u32,
    pub input: Shape,
    pub layers: Vec<LayerSpec>,
    /// For diffusion: how many times the first `repeat.1` layers (the denoiser) run per
    /// image. The denoiser's last layer then ends a pass (no ReLU, a signed output on the
    /// logit grid) and the next layer starts one (a signed input on the input grid).
    pub repeat: Option<(u32, usize)>,
    /// `(to, from)`: the output of layer `from` is added to that of layer `to`, after its
    /// ReLU, saturating at 255 (a UNet's skip).
    pub skip: Option<(usize, usize)>,
    /// A diffusion model's per-channel `(deviation, mean)` of its latent, in 1/4096 and
    /// 1/512: the sampler's normalised latent is taken back to the VAE's before the
    /// decoder. Empty for other models, and before training.
    pub latent_denorm: Vec<(i32, i32)>,
    /// A diffusion model's classifier-free guidance: `(scale, above)`, the scale `w` in
    /// 1/16 and the time in 1/32 above which steps are guided (`v = v∅ + w·(v − v∅)`,
    /// `v∅` the denoiser's velocity without a class). `(0, 0)`: no guidance.
    pub guidance: (u8, u8),
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
/// codes of normally distributed weights at the step BitLinear uses (0.5 sigma) is 3.06
/// bits; the default BitNet model trained on the 60,000 digits codes to 3.01.
pub const CODED_BITS_PER_WEIGHT: f64 = 3.06;
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

impl ModelSpec {
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
        let input = if self.starts_pass(i) {
            IN_STEP_LOG2
        } else {
            ACT_STEP_LOG2
        };
        let last = i + 1 == self.layers.len();
        let output = if (last && self.sigmoid_output) || (!last && self.ends_pass(i)) {
            LOGIT_STEP_LOG2
        } else {
            ACT_STEP_LOG2
        };
        (input, output)
    }

    /// Whether layer `i` takes a signed 8-bit input on the input grid: the first layer,
    /// and a diffusion model's first decoder layer.
    pub fn starts_pass(&self, i: usize) -> bool {
        i == 0 || matches!(self.repeat, Some((_, first)) if i == first)
    }

    /// Whether layer `i`'s output leaves a pass: the last layer, and a diffusion model's
    /// last denoiser layer.
    pub fn ends_pass(&self, i: usize) -> bool {
        i + 1 == self.layers.len() || matches!(self.repeat, Some((_, first)) if i + 1 == first)
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

    /// Whether layer `i` ends in ReLU (every layer but those ending a pass: image logits,
    /// class scores, a denoiser's velocity).
    pub fn relu(&self, i: usize) -> bool {
        !self.ends_pass(i)
    }

    /// A generator's latent size: its input less the one-hot label.
    pub fn latent(&self) -> u32 {
        match self.kind {
            ModelKind::Generator => (self.input.elements() as u32).saturating_sub(self.classes),
            ModelKind::Classifier | ModelKind::Diffusion => 0,
        }
    }

    /// Whether every layer has its trained weights.
    pub fn is_trained(&self) -> bool {
        self.layers.iter().all(|l| l.weights.is_some())
    }
}
