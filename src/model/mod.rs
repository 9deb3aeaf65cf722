//! The burn models, and the quantization-aware training every template shares: weights
//! fake-quantized per layer (1, 1.58, 2, 4 or 8 bits) with a per-tensor power-of-two scale
//! and a straight-through estimator, activations fake-quantized to 8 bits on fixed
//! power-of-two grids. Every scale being a power of two is what lets the device requantize
//! with one rounding shift (no multiplier) and lets `int_forward` reproduce it exactly.

pub mod bitnet;
pub mod classifier;
pub mod cvae;

use crate::data::Rng;
use crate::project::WeightBits;
use crate::spec::weight_range;
use burn::module::Param;
use burn::prelude::*;
use burn::tensor::TensorData;

pub mod int;

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

/// Forward: the quantized weights; backward: the gradient passes straight through.
pub fn fake_quant<const D: usize>(w: Tensor<D>, bits: WeightBits) -> Tensor<D> {
    let (codes, scale) = fake_codes(w, bits);
    codes.mul_scalar(scale)
}

/// Forward: the integer weight codes the device stores, and their scale; backward: the
/// gradient of `w / scale` passes straight through.
pub fn fake_codes<const D: usize>(w: Tensor<D>, bits: WeightBits) -> (Tensor<D>, f32) {
    // The scale is computed on the host so that it is an exact power of two.
    let scale = weight_scale(&values(&w.clone().detach()), bits);
    (fake_codes_with(w, bits, scale), scale)
}

/// [`fake_codes`] with a scale of the caller's choosing.
pub fn fake_codes_with<const D: usize>(w: Tensor<D>, bits: WeightBits, scale: f32) -> Tensor<D> {
    let (lo, hi) = weight_range(bits);
    let detached = w.clone().detach();
    let q = if bits == WeightBits::Binary {
        // sign(), with 0 mapped to +1 as the device does.
        detached
            .greater_equal_elem(0.0)
            .float()
            .mul_scalar(2.0)
            .sub_scalar(1.0)
    } else {
        round_half_up(detached.div_scalar(scale)).clamp(f32::from(lo), f32::from(hi))
    };
    let scaled = w.div_scalar(scale);
    scaled.clone() + (q - scaled).detach()
}

/// Rounds halves up, as the device's rounding shift does (burn's `round` goes to even).
pub fn round_half_up<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    x.add_scalar(0.5).floor()
}

/// Clamps to `[lo, hi]` and snaps to the grid of `step`, with a straight-through estimator.
fn quant_grid<const D: usize>(x: Tensor<D>, lo: f32, hi: f32, step: f32) -> Tensor<D> {
    let y = x.clamp(lo, hi);
    let q = round_half_up(y.clone().div_scalar(step)).mul_scalar(step);
    y.clone() + (q - y).detach()
}

/// ReLU, then the 8-bit activation grid, with a straight-through estimator.
pub fn quant_act<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    quant_grid(x, 0.0, ACT_MAX - ACT_STEP, ACT_STEP)
}

/// Signed 8-bit input grid, with a straight-through estimator.
pub fn quant_input<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    quant_grid(x, -4.0, 4.0 - IN_STEP, IN_STEP)
}

/// Signed 8-bit logit grid (the sigmoid table's index), with a straight-through estimator.
pub fn quant_logit<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    quant_grid(x, -8.0, 8.0 - LOGIT_STEP, LOGIT_STEP)
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

/// A parameter drawn uniformly from `[-bound, bound]` by our own generator, so that the
/// same seed gives the same model on any backend.
pub fn uniform_param<const D: usize>(
    shape: [usize; D],
    bound: f32,
    rng: &mut Rng,
    device: &Device,
) -> Param<Tensor<D>> {
    let n: usize = shape.iter().product();
    let values: Vec<f32> = (0..n).map(|_| rng.range(-bound, bound)).collect();
    Param::from_tensor(Tensor::from_data(TensorData::new(values, shape), device))
}

/// A float 3x3 convolution with stride 2 and padding 1 (halves height and width), its
/// weights drawn from our generator.
pub fn seeded_conv_down(
    inputs: usize,
    outputs: usize,
    rng: &mut Rng,
    device: &Device,
) -> burn::nn::conv::Conv2d {
    let mut conv = burn::nn::conv::Conv2dConfig::new([inputs, outputs], [3, 3])
        .with_stride([2, 2])
        .with_padding(burn::nn::PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(device);
    let bound = (6.0 / (inputs * 9) as f32).sqrt();
    conv.weight = uniform_param([outputs, inputs, 3, 3], bound, rng, device);
    conv.bias = Some(Param::from_tensor(Tensor::zeros([outputs], device)));
    conv
}

/// A float tensor's values as a flat vector.
pub fn values<const D: usize>(t: &Tensor<D>) -> Vec<f32> {
    // Float tensors always convert to f32; an empty vector here would silently corrupt
    // exports and scores, so a failure is a bug worth stopping for.
    t.to_data()
        .try_to_vec_as::<f32>()
        .expect("float tensor values convert to f32")
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
    fn fake_quant_matches_the_integer_export_and_passes_gradients() {
        let device = Device::flex().autodiff();
        let raw = vec![0.7f32, -0.35, 0.0, 0.14, -0.5, 0.2];
        for bits in WeightBits::ALL {
            let w =
                Tensor::<1>::from_data(TensorData::new(raw.clone(), [6]), &device).require_grad();
            let q = fake_quant(w.clone(), bits);
            let got = values(&q);
            let s = weight_scale(&raw, bits);
            let ints = quantize_weights(&raw, bits, s);
            for (g, i) in got.iter().zip(&ints) {
                assert!(
                    (g - f32::from(*i) * s).abs() < 1e-5,
                    "{bits:?}: {got:?} vs {ints:?}"
                );
            }
            let grads = q.sum().backward();
            let g = w.grad(&grads).expect("a gradient");
            assert_eq!(values(&g), vec![1.0; 6], "{bits:?}: straight through");
        }
    }

    #[test]
    fn activations_land_on_the_grid() {
        let device = Device::flex();
        let x =
            Tensor::<1>::from_data(TensorData::new(vec![-1.0f32, 0.01, 1.0, 9.0], [4]), &device);
        let y = values(&quant_act(x));
        assert_eq!(y[0], 0.0);
        assert_eq!(y[1], ACT_STEP); // 0.01 is 0.64 steps: rounds up to one
        assert_eq!(y[2], 1.0);
        assert_eq!(y[3], ACT_MAX - ACT_STEP);
    }
}
