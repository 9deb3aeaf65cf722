//! The quantized model as the device computes it, in burn: integer weights and activations
//! carried in f32 tensors, where every sum stays below 2^24 and every scale is a power of
//! two, so each value is exact. This is the reference the C engine is checked against
//! byte for byte; it is built from burn's own ops, not a second hand-written kernel.

use crate::quant::{argmax_rows, sigmoid_table};
use crate::spec::{LayerKind, LayerSpec, ModelSpec};
use burn::prelude::*;
use burn::tensor::TensorData;
use burn::tensor::module::{conv2d, interpolate, linear};
use burn::tensor::ops::{ConvOptions, InterpolateMode, InterpolateOptions};

/// Largest magnitude an f32 holds exactly as an integer.
const EXACT: f64 = 16_777_216.0;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum IntError {
    #[error("the model has no trained weights yet; train it first ('tinygen train PROJECT')")]
    Untrained,
    #[error("input {index} has {found} values; the model takes {expected}")]
    InputLength {
        index: usize,
        expected: usize,
        found: usize,
    },
    #[error(
        "layer '{layer}': an accumulator can reach {bound}, beyond what the exact reference \
         handles (2^24); lower the weight bits or the layer's fan-in"
    )]
    TooWide { layer: String, bound: f64 },
}

/// What one run of the integer model gives per input.
#[derive(Debug, Clone, PartialEq)]
pub enum IntOutput {
    /// 8-bit grey pixels, row-major, from the sigmoid table.
    Image(Vec<u8>),
    /// The last layer's 8-bit outputs (class scores; signed when the layer has no ReLU).
    Scores(Vec<u8>),
    /// A classifier's answer: the first largest accumulator of the last layer (the
    /// device's `tg_argmax`), and the ShiftNorm'd scores the board sends with it.
    Class { class: u8, scores: Vec<i8> },
}

/// Runs the integer model on a batch of 8-bit inputs (raw bytes: read as unsigned when
/// the model's input is).
pub fn forward(
    spec: &ModelSpec,
    inputs: &[Vec<i8>],
    device: &Device,
) -> Result<Vec<IntOutput>, IntError> {
    let n = inputs.len();
    let len = spec.input.elements() as usize;
    for (index, x) in inputs.iter().enumerate() {
        if x.len() != len {
            return Err(IntError::InputLength {
                index,
                expected: len,
                found: x.len(),
            });
        }
    }
    if n == 0 {
        return Ok(Vec::new());
    }
    let data: Vec<f32> = inputs
        .iter()
        .flatten()
        .map(|&v| {
            if spec.u8_input {
                f32::from(v as u8)
            } else {
                f32::from(v)
            }
        })
        .collect();
    let mut x: Tensor<4> = Tensor::from_data(
        TensorData::new(
            data,
            [
                n,
                spec.input.c as usize,
                spec.input.h as usize,
                spec.input.w as usize,
            ],
        ),
        device,
    );
    let mut in_bound = if spec.u8_input { 255f64 } else { 128f64 };
    let mut last_acc = None;
    for (i, l) in spec.layers.iter().enumerate() {
        l.weights.as_ref().ok_or(IntError::Untrained)?;
        let shift = spec.shift(i).ok_or(IntError::Untrained)?;
        let bound = accumulator_bound(l, in_bound);
        if bound >= EXACT {
            return Err(IntError::TooWide {
                layer: l.name.clone(),
                bound,
            });
        }
        let acc = accumulate(l, x, device);
        if spec.shift_norm {
            let relu = spec.relu(i);
            let flat = acc.clone().reshape([n, l.output.elements() as usize]);
            if !relu {
                last_acc = Some(super::values(&flat));
            }
            in_bound = 255.0;
            x = super::shift_norm(flat, relu).reshape(acc.dims());
            continue;
        }
        // y = round(acc / 2^shift), halves up, as `(acc + half) >> shift` does.
        let y = super::round_half_up(acc.mul_scalar(2f32.powi(-shift)));
        x = if spec.relu(i) {
            in_bound = 255.0;
            y.clamp(0.0, 255.0)
        } else {
            y.clamp(-128.0, 127.0)
        };
    }
    let values = super::values(&x);
    let per = values.len() / n;
    if let Some(acc) = last_acc {
        let classes = argmax_rows(&acc, per);
        return Ok(values
            .chunks(per)
            .zip(classes)
            .map(|(v, class)| IntOutput::Class {
                class,
                scores: v.iter().map(|&q| q as i8).collect(),
            })
            .collect());
    }
    let table = sigmoid_table();
    Ok(values
        .chunks(per)
        .map(|v| {
            if spec.sigmoid_output {
                IntOutput::Image(
                    v.iter()
                        .map(|&q| table[(q as i32 + 128) as usize])
                        .collect(),
                )
            } else {
                IntOutput::Scores(v.iter().map(|&q| (q as i8) as u8).collect())
            }
        })
        .collect())
}

/// Runs layers `range` of a model with fixed shifts (not ShiftNorm) on a batch of
/// integer inputs (`[n, c, h, w]` values as f32), as the device runs one pass of a
/// diffusion model: requantized, ReLU'd where the layer has it, and the skip added where
/// the spec has one (saturating at 255). The last layer's integer outputs.
///
/// A layer whose sums could pass 2^24 is summed over groups of input channels, each
/// exact in f32, and the groups are added in 64-bit integers.
pub fn pass(
    spec: &ModelSpec,
    range: std::ops::Range<usize>,
    mut x: Tensor<4>,
    device: &Device,
) -> Result<Tensor<4>, IntError> {
    let mut in_bound = 128f64;
    let mut saved: Option<Tensor<4>> = None;
    for i in range {
        let l = &spec.layers[i];
        l.weights.as_ref().ok_or(IntError::Untrained)?;
        let shift = spec.shift(i).ok_or(IntError::Untrained)?;
        let acc = exact_accumulators(l, x, in_bound, device)?;
        let relu = spec.relu(i);
        let (lo, hi) = if relu { (0, 255) } else { (-128, 127) };
        let y: Vec<f32> = acc
            .iter()
            .map(|&a| {
                let q = if shift > 0 {
                    (a + (1i64 << (shift - 1))).div_euclid(1i64 << shift)
                } else {
                    a << (-shift)
                };
                q.clamp(lo, hi) as f32
            })
            .collect();
        let [n, c, h, w] = [
            acc.len() / l.output.elements() as usize,
            l.output.c as usize,
            l.output.h as usize,
            l.output.w as usize,
        ];
        x = Tensor::from_data(TensorData::new(y, [n, c, h, w]), device);
        in_bound = if relu { 255.0 } else { 128.0 };
        match spec.skip {
            Some((_, from)) if from == i => saved = Some(x.clone()),
            Some((to, _)) if to == i => {
                if let Some(s) = saved.take() {
                    x = (x + s).clamp(0.0, 255.0);
                }
            }
            _ => {}
        }
    }
    Ok(x)
}

/// A convolution's accumulators (bias included) as exact integers, `[n, c, h, w]` flat.
fn exact_accumulators(
    l: &LayerSpec,
    x: Tensor<4>,
    in_bound: f64,
    device: &Device,
) -> Result<Vec<i64>, IntError> {
    let w = l.weights.as_ref().ok_or(IntError::Untrained)?;
    let wmax = w
        .values
        .iter()
        .map(|v| f64::from(v.unsigned_abs()))
        .fold(1.0, f64::max);
    let in_c = l.input.c as usize;
    // Input channels per group, so that a group's sum stays exact (bias apart).
    let per_channel = if l.kind == LayerKind::Dense {
        l.row_len() as f64 / in_c.max(1) as f64
    } else {
        9.0
    } * wmax
        * in_bound;
    let group = ((EXACT - 1.0) / per_channel).floor() as usize;
    if in_c == 0 || group == 0 || (l.kind == LayerKind::Dense && group < in_c) {
        return Err(IntError::TooWide {
            layer: l.name.clone(),
            bound: accumulator_bound(l, in_bound),
        });
    }
    let out_c = l.output.c as usize;
    let mut total: Vec<i64> = Vec::new();
    for start in (0..in_c).step_by(group.min(in_c)) {
        let end = (start + group).min(in_c);
        let part = if start == 0 && end == in_c {
            accumulate_unbiased(l, &w.values, x.clone(), device)
        } else {
            // The weights of these input channels, `[out][in_part][3][3]`.
            let values: Vec<i8> = (0..out_c)
                .flat_map(|o| {
                    w.values[(o * in_c + start) * 9..(o * in_c + end) * 9]
                        .iter()
                        .copied()
                })
                .collect();
            let mut part_spec = l.clone();
            part_spec.input.c = (end - start) as u32;
            let xs = x.clone().slice([0..x.dims()[0], start..end]);
            accumulate_unbiased(&part_spec, &values, xs, device)
        };
        let v = super::values(&part);
        if total.is_empty() {
            total = v.iter().map(|&a| a as i64).collect();
        } else {
            for (t, a) in total.iter_mut().zip(v) {
                *t += a as i64;
            }
        }
    }
    if l.bias && !w.bias.is_empty() {
        let plane = (l.output.h * l.output.w) as usize;
        let per = if l.kind == LayerKind::Dense { 1 } else { plane };
        let rows = w.bias.len();
        for (k, t) in total.iter_mut().enumerate() {
            *t += i64::from(w.bias[(k / per) % rows]);
        }
    }
    Ok(total)
}

/// [`accumulate`] without the bias, with these weight values.
fn accumulate_unbiased(l: &LayerSpec, values: &[i8], x: Tensor<4>, device: &Device) -> Tensor<4> {
    let mut bare = l.clone();
    bare.bias = false;
    bare.weights = Some(crate::spec::LayerWeights {
        values: values.to_vec(),
        scale: 1.0,
        bias: Vec::new(),
    });
    accumulate(&bare, x, device)
}

/// The largest accumulator magnitude a layer can produce from inputs bounded by `input`.
fn accumulator_bound(l: &LayerSpec, input: f64) -> f64 {
    let w = l.weights.as_ref().expect("checked by the caller");
    let wmax = w
        .values
        .iter()
        .map(|v| f64::from(v.unsigned_abs()))
        .fold(0.0, f64::max);
    let bmax = w
        .bias
        .iter()
        .map(|b| f64::from(b.unsigned_abs()))
        .fold(0.0, f64::max);
    l.row_len() as f64 * wmax * input + bmax
}

/// The integer accumulators of one layer: `[n, out_c, out_h, out_w]`.
fn accumulate(l: &LayerSpec, x: Tensor<4>, device: &Device) -> Tensor<4> {
    let w = l.weights.as_ref().expect("checked by the caller");
    let weights: Vec<f32> = w.values.iter().map(|&v| f32::from(v)).collect();
    let bias: Vec<f32> = w.bias.iter().map(|&b| b as f32).collect();
    let rows = l.rows() as usize;
    let bias = (l.bias && !bias.is_empty())
        .then(|| Tensor::<1>::from_data(TensorData::new(bias, [rows]), device));
    let [n, ..] = x.dims();
    let out = [
        n,
        l.output.c as usize,
        l.output.h as usize,
        l.output.w as usize,
    ];
    match l.kind {
        LayerKind::Dense => {
            let inputs = l.input.elements() as usize;
            // [out][in] → burn's [in, out]
            let wt = Tensor::<2>::from_data(TensorData::new(weights, [rows, inputs]), device)
                .transpose();
            let flat = x.reshape([n, inputs]); // [n, in]
            linear(flat, wt, bias).reshape(out) // [n, c, h, w]
        }
        kind => {
            let (c_in, c_out) = (l.input.c as usize, l.output.c as usize);
            let k = Tensor::<4>::from_data(TensorData::new(weights, [c_out, c_in, 3, 3]), device);
            let (x, stride) = match kind {
                LayerKind::UpConv3x3 => {
                    let [_, _, h, w] = x.dims();
                    let up = interpolate(
                        x,
                        InterpolateOptions::new(InterpolateMode::Nearest)
                            .with_output_size([2 * h, 2 * w]),
                    );
                    (up, 1)
                }
                LayerKind::Conv3x3Down => (x, 2),
                _ => (x, 1),
            };
            conv2d(
                x,
                k,
                bias,
                ConvOptions::new([stride, stride], [1, 1], [1, 1], 1),
            ) // [n, c_out, h, w]
        }
    }
}
