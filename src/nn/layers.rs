//! Quantization-aware layers that deploy: a dense layer and a 3x3 convolution whose
//! weights are fake-quantized in the forward pass and exported as the device's integers.

use super::{fake_quant, uniform_param, values};
use crate::quant::{WeightBits, quantize_weights, weight_scale};
use crate::spec::LayerWeights;
use crate::util::rng::Rng;
use burn::module::{Module, Param};
use burn::prelude::*;
use burn::tensor::module::{conv2d, interpolate, linear};
use burn::tensor::ops::{ConvOptions, InterpolateMode, InterpolateOptions};

/// A fully connected layer with fake-quantized weights.
#[derive(Module, Debug)]
pub struct QLinear {
    /// `[inputs, outputs]`, as burn's `linear` takes it.
    pub weight: Param<Tensor<2>>,
    pub bias: Param<Tensor<1>>,
    #[module(skip)]
    pub bits: WeightBits,
}

impl QLinear {
    pub fn new(
        inputs: usize,
        outputs: usize,
        bits: WeightBits,
        rng: &mut Rng,
        device: &Device,
    ) -> Self {
        let bound = (6.0 / inputs as f32).sqrt();
        QLinear {
            weight: uniform_param([inputs, outputs], bound, rng, device),
            bias: Param::from_tensor(Tensor::zeros([outputs], device)),
            bits,
        }
    }

    /// `[batch, inputs]` → `[batch, outputs]`
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        linear(
            x,
            fake_quant(self.weight.val(), self.bits),
            Some(self.bias.val()),
        )
    }

    /// Integer weights in the device's `[out][in]` order; `in_step` is the real value of
    /// one step of this layer's integer input.
    pub fn export(&self, in_step: f32) -> LayerWeights {
        let w = values(&self.weight.val());
        let dims = self.weight.val().dims();
        let (inputs, outputs) = (dims[0], dims[1]);
        let scale = weight_scale(&w, self.bits);
        let mut out_major = Vec::with_capacity(w.len());
        for o in 0..outputs {
            for i in 0..inputs {
                out_major.push(w[i * outputs + o]);
            }
        }
        export_weights(
            &out_major,
            &values(&self.bias.val()),
            self.bits,
            scale,
            in_step,
        )
    }
}

/// A 3x3 convolution (padding 1) with fake-quantized weights.
#[derive(Module, Debug)]
pub struct QConv {
    /// `[out, in, 3, 3]`
    pub weight: Param<Tensor<4>>,
    pub bias: Param<Tensor<1>>,
    #[module(skip)]
    pub bits: WeightBits,
}

impl QConv {
    pub fn new(
        inputs: usize,
        outputs: usize,
        bits: WeightBits,
        rng: &mut Rng,
        device: &Device,
    ) -> Self {
        let bound = (6.0 / (inputs * 9) as f32).sqrt();
        QConv {
            weight: uniform_param([outputs, inputs, 3, 3], bound, rng, device),
            bias: Param::from_tensor(Tensor::zeros([outputs], device)),
            bits,
        }
    }

    /// `[batch, in, h, w]` → `[batch, out, h, w]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.forward_stride(x, 1)
    }

    /// With stride 2: `[batch, in, h, w]` → `[batch, out, h/2, w/2]`.
    pub fn forward_down(&self, x: Tensor<4>) -> Tensor<4> {
        self.forward_stride(x, 2)
    }

    fn forward_stride(&self, x: Tensor<4>, stride: usize) -> Tensor<4> {
        conv2d(
            x,
            fake_quant(self.weight.val(), self.bits),
            Some(self.bias.val()),
            ConvOptions::new([stride, stride], [1, 1], [1, 1], 1),
        )
    }

    pub fn export(&self, in_step: f32) -> LayerWeights {
        let w = values(&self.weight.val());
        let scale = weight_scale(&w, self.bits);
        export_weights(&w, &values(&self.bias.val()), self.bits, scale, in_step)
    }
}

/// Integer weights and a bias in units of `weight scale x input step` (the input step of
/// hidden layers is the activation grid; the first layer's is the input grid).
fn export_weights(
    w: &[f32],
    bias: &[f32],
    bits: WeightBits,
    scale: f32,
    in_step: f32,
) -> LayerWeights {
    let unit = scale * in_step;
    LayerWeights {
        values: quantize_weights(w, bits, scale),
        scale,
        bias: bias
            .iter()
            .map(|b| (b / unit + 0.5).floor().clamp(-1e9, 1e9) as i32)
            .collect(),
    }
}

/// Nearest-neighbour upsampling x2: `[b, c, h, w]` → `[b, c, 2h, 2w]`.
pub fn upsample(x: Tensor<4>) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    interpolate(
        x,
        InterpolateOptions::new(InterpolateMode::Nearest).with_output_size([2 * h, 2 * w]),
    )
}
