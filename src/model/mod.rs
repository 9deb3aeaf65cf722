//! The burn models, and the quantization-aware training every template shares: weights
//! fake-quantized per layer (1, 1.58, 2, 4 or 8 bits) with a per-tensor scale and a
//! straight-through estimator, activations fake-quantized to 8 bits on fixed ranges the
//! integer engine uses too.

pub mod classifier;
pub mod cvae;

use crate::data::Rng;
use crate::project::WeightBits;
use crate::spec::weight_range;
use burn::module::Param;
use burn::prelude::*;
use burn::tensor::TensorData;

/// Hidden activations are clamped to `[0, ACT_MAX)` and stored as unsigned 8-bit steps.
pub const ACT_MAX: f32 = 4.0;
pub const ACT_STEP: f32 = ACT_MAX / 256.0;
/// Model inputs (latent vectors) are signed 8-bit steps on `[-4, 4)`.
pub const IN_STEP: f32 = 4.0 / 128.0;

/// The divisor that maps a tensor's largest magnitude to the top quantization level.
fn top_level(bits: WeightBits) -> f32 {
    match bits {
        WeightBits::Binary | WeightBits::Ternary => 1.0,
        WeightBits::Two => 2.0,
        WeightBits::Four => 7.0,
        WeightBits::Eight => 127.0,
    }
}

/// The per-tensor scale of a weight tensor: one integer step in real units. Binary and
/// ternary weights use the mean magnitude (as BitNet does), the others the largest.
pub fn weight_scale(values: &[f32], bits: WeightBits) -> f32 {
    let n = values.len().max(1) as f32;
    let s = match bits {
        WeightBits::Binary | WeightBits::Ternary => values.iter().map(|v| v.abs()).sum::<f32>() / n,
        _ => values.iter().fold(0f32, |m, v| m.max(v.abs())) / top_level(bits),
    };
    s.max(1e-8)
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
                (v / scale).round().clamp(f32::from(lo), f32::from(hi)) as i8
            }
        })
        .collect()
}

/// Forward: the quantized weights; backward: the gradient passes straight through.
pub fn fake_quant<const D: usize>(w: Tensor<D>, bits: WeightBits) -> Tensor<D> {
    let (lo, hi) = weight_range(bits);
    let detached = w.clone().detach();
    let scale = match bits {
        WeightBits::Binary | WeightBits::Ternary => detached.clone().abs().mean(),
        _ => detached.clone().abs().max().div_scalar(top_level(bits)),
    }
    .clamp_min(1e-8);
    let scale = scale.reshape([1; D]);
    let q = if bits == WeightBits::Binary {
        // sign(), with 0 mapped to +1 as the device does.
        detached
            .clone()
            .greater_equal_elem(0.0)
            .float()
            .mul_scalar(2.0)
            .sub_scalar(1.0)
    } else {
        detached
            .clone()
            .div(scale.clone())
            .round()
            .clamp(f32::from(lo), f32::from(hi))
    };
    let wq = q.mul(scale);
    w.clone() + (wq - w).detach()
}

/// ReLU, then the 8-bit activation grid, with a straight-through estimator.
pub fn quant_act<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let y = x.clamp(0.0, ACT_MAX - ACT_STEP);
    let q = y.clone().div_scalar(ACT_STEP).round().mul_scalar(ACT_STEP);
    y.clone() + (q - y).detach()
}

/// Signed 8-bit input grid, with a straight-through estimator.
pub fn quant_input<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let y = x.clamp(-4.0, 4.0 - IN_STEP);
    let q = y.clone().div_scalar(IN_STEP).round().mul_scalar(IN_STEP);
    y.clone() + (q - y).detach()
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
        let s = weight_scale(&w, WeightBits::Four);
        assert!((s - 0.1).abs() < 1e-6);
        assert_eq!(quantize_weights(&w, WeightBits::Four, s), vec![7, -4, 0, 1]);
        let s = weight_scale(&w, WeightBits::Ternary);
        assert!((s - 0.2975).abs() < 1e-6);
        assert_eq!(
            quantize_weights(&w, WeightBits::Ternary, s),
            vec![1, -1, 0, 0]
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
        assert!((y[1] - ACT_STEP * (0.01f32 / ACT_STEP).round()).abs() < 1e-6);
        assert_eq!(y[2], 1.0);
        assert_eq!(y[3], ACT_MAX - ACT_STEP);
    }
}
