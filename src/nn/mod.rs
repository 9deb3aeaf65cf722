//! The burn side of quantization-aware training, shared by every template: weights
//! fake-quantized per layer (1, 1.58, 2, 4 or 8 bits) with a per-tensor power-of-two scale
//! and a straight-through estimator, activations fake-quantized to 8 bits on the fixed
//! grids of `crate::quant`, ShiftNorm as the device runs it, and seeded parameters. The
//! layers built from these are in [`layers`]; the integer reference the C engine is
//! checked against is [`int`].
//!
//! Nothing here picks a device: every function takes the tensors or the `Device` it is
//! given.

pub mod int;
pub mod layers;

use crate::quant::{
    ACT_MAX, ACT_STEP, IN_STEP, LOGIT_STEP, WeightBits, norm_shift, weight_range, weight_scale,
};
use crate::util::rng::Rng;
use burn::module::Param;
use burn::prelude::*;
use burn::tensor::TensorData;

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

/// ShiftNorm over the last axis of `[n, k]` integer accumulators: ReLU and 0..255 for a
/// hidden layer, -128..127 for the class scores; rounding halves up, as the device's
/// `(acc + half) >> s` does. The per-sample scale is a constant for the gradient and the
/// rounding passes it straight through.
pub fn shift_norm(acc: Tensor<2>, relu: bool) -> Tensor<2> {
    let [n, _] = acc.dims();
    let device = acc.device();
    let y = if relu { acc.clamp_min(0.0) } else { acc };
    let (lo, hi, top) = if relu {
        (0.0, 255.0, 255)
    } else {
        (-128.0, 127.0, 127)
    };
    let exact = y.clone().detach();
    let maxima = values(&exact.clone().abs().max_dim(1));
    let factors: Vec<f32> = maxima
        .iter()
        .map(|m| 2f32.powi(-norm_shift(*m as u64, top)))
        .collect();
    let f = Tensor::<2>::from_data(TensorData::new(factors, [n, 1]), &device);
    // The device's values: a power-of-two scale (exact in f32), rounded half up.
    let q = round_half_up(exact * f.clone()).clamp(lo, hi);
    // The gradient: that of RMS norm, y / rms(y), held at the same scale, so training
    // sees a smooth normalization while the forward values stay the device's.
    let rms = y.clone().powi_scalar(2).mean_dim(1).add_scalar(1e-6).sqrt(); // [n, 1]
    let smooth = y / rms.clone() * (rms.detach() * f);
    smooth.clone() + (q - smooth).detach()
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
    seeded_conv(inputs, outputs, 2, rng, device)
}

/// A float 3x3 convolution with padding 1 and the given stride, its weights drawn from
/// our generator.
pub fn seeded_conv(
    inputs: usize,
    outputs: usize,
    stride: usize,
    rng: &mut Rng,
    device: &Device,
) -> burn::nn::conv::Conv2d {
    let mut conv = burn::nn::conv::Conv2dConfig::new([inputs, outputs], [3, 3])
        .with_stride([stride, stride])
        .with_padding(burn::nn::PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(device);
    let bound = (6.0 / (inputs * 9) as f32).sqrt();
    conv.weight = uniform_param([outputs, inputs, 3, 3], bound, rng, device);
    conv.bias = Some(Param::from_tensor(Tensor::zeros([outputs], device)));
    conv
}

/// Square grey images (`side * side` pixels each) as a `[n, 1, side, side]` tensor in
/// `[0, 1]`.
pub fn grey_images(pixels: &[&[u8]], side: usize, device: &Device) -> Tensor<4> {
    let n = pixels.len();
    let data: Vec<f32> = pixels
        .iter()
        .flat_map(|p| p.iter().map(|&v| f32::from(v) / 255.0))
        .collect();
    Tensor::from_data(TensorData::new(data, [n, 1, side, side]), device)
}

/// Logits `[n, 1, h, w]` to 8-bit grey images through the sigmoid.
pub fn to_pixels(logits: Tensor<4>) -> Vec<Vec<u8>> {
    let [n, _, h, w] = logits.dims();
    let v = values(&burn::tensor::activation::sigmoid(logits));
    (0..n)
        .map(|i| {
            v[i * h * w..(i + 1) * h * w]
                .iter()
                .map(|p| (p * 255.0).round() as u8)
                .collect()
        })
        .collect()
}

/// Binary cross-entropy of `logits` against `target` in `[0, 1]`, summed over every
/// element: `softplus(l) − x·l`, in the form that never overflows.
pub fn bce_with_logits_sum<const D: usize>(logits: Tensor<D>, target: Tensor<D>) -> Tensor<1> {
    let softplus =
        logits.clone().clamp_min(0.0) + logits.clone().abs().neg().exp().add_scalar(1.0).log();
    (softplus - target * logits).sum()
}

/// The KL divergence of `N(mu, exp(logvar))` from `N(0, 1)`, summed over every element
/// and divided by `per` (the batch's images, for a figure per image).
pub fn gaussian_kl<const D: usize>(mu: Tensor<D>, logvar: Tensor<D>, per: f32) -> Tensor<1> {
    // One multiplication by -0.5 / per, as the shipped die model was trained with.
    (logvar.clone().add_scalar(1.0) - mu.powi_scalar(2) - logvar.exp())
        .sum()
        .mul_scalar(-0.5 / per)
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
    use crate::quant::quantize_weights;

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

    #[test]
    fn shift_norm_fits_eight_bits_and_rounds_like_the_device() {
        assert_eq!(norm_shift(255, 255), 0);
        assert_eq!(norm_shift(256, 255), 1);
        assert_eq!(norm_shift(511, 255), 1);
        assert_eq!(norm_shift(512, 255), 2);
        assert_eq!(norm_shift(0, 127), 0);
        let d = Device::flex();
        let acc = Tensor::<2>::from_data(
            TensorData::new(
                vec![-40.0f32, 3.0, 511.0, 100.0, -300.0, 5.0, 1.0, 2.0],
                [2, 4],
            ),
            &d,
        );
        // Row 0: max 511 → shift 1; (3+1)>>1 = 2, (511+1)>>1 = 256 → clamped 255, 100 → 50.
        assert_eq!(
            values(&shift_norm(acc.clone(), true)),
            vec![0.0, 2.0, 255.0, 50.0, 0.0, 5.0, 1.0, 2.0]
        );
        // Signed: row 1 max |−300| → shift 2; −300/4 = −75, 5 → (5+2)>>2 = 1, 1 → 0.
        assert_eq!(
            values(&shift_norm(acc, false))[4..],
            [-75.0, 1.0, 0.0, 1.0] // (2 + 2) >> 2 = 1
        );
    }
}
