//! The conditional VAE of the die template. The pip count, one-hot, enters the encoder as
//! six extra input planes and the decoder next to the latent. Only the decoder is deployed:
//! dense → 4x4 map → (nearest upsample x2 → 3x3 conv) x3 → sigmoid, all quantization-aware.

use crate::nn::layers::{QConv, QLinear, upsample};
use crate::nn::{
    grey_images, quant_act, quant_input, quant_logit, seeded_conv_down, uniform_param,
};
use crate::project::Project;
use crate::quant::{ACT_STEP, IN_STEP};
use crate::spec::{ModelSpec, SpecError};
use crate::util::rng::Rng;
use burn::module::{Module, Param};
use burn::nn::conv::Conv2d;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::TensorData;

pub use crate::nn::to_pixels;

pub use super::spec::CLASSES;

/// The train-time encoder: float, never deployed.
#[derive(Module, Debug)]
pub struct Encoder {
    pub convs: Vec<Conv2d>,
    pub mu: Linear,
    pub logvar: Linear,
}

/// The deployable decoder.
#[derive(Module, Debug)]
pub struct Decoder {
    pub fc: QLinear,
    pub up: Vec<QConv>,
    #[module(skip)]
    pub channels: usize,
}

#[derive(Module, Debug)]
pub struct Cvae {
    pub encoder: Encoder,
    pub decoder: Decoder,
    #[module(skip)]
    pub latent: usize,
}

impl Cvae {
    /// Builds the model a project describes; the weights come from `seed`.
    pub fn new(p: &Project, seed: u64, device: &Device) -> Cvae {
        let mut rng = Rng::new(seed ^ 0xC0DE);
        let latent = p.model.latent as usize;
        let layers = &p.model.layers;
        let width = |i: usize| layers[i].width as usize;

        let mut convs = Vec::new();
        let mut ch = 1 + CLASSES;
        let mut side = 32;
        // Every parameter comes from our generator, never burn's global one, so the same
        // seed gives the same model even with other models being built at the same time.
        for &w in &p.model.encoder {
            let w = w as usize;
            convs.push(seeded_conv_down(ch, w, &mut rng, device));
            ch = w;
            side /= 2;
        }
        let flat = ch * side * side;
        let head = |rng: &mut Rng| {
            let mut l = LinearConfig::new(flat, latent).init(device);
            l.weight = uniform_param([flat, latent], (1.0 / flat as f32).sqrt(), rng, device);
            l.bias = Some(Param::from_tensor(Tensor::zeros([latent], device)));
            l
        };
        let encoder = Encoder {
            mu: head(&mut rng),
            logvar: head(&mut rng),
            convs,
        };

        let c0 = width(0);
        let decoder = Decoder {
            fc: QLinear::new(latent + CLASSES, c0 * 16, layers[0].bits, &mut rng, device),
            up: vec![
                QConv::new(c0, width(1), layers[1].bits, &mut rng, device),
                QConv::new(width(1), width(2), layers[2].bits, &mut rng, device),
                QConv::new(width(2), width(3), layers[3].bits, &mut rng, device),
            ],
            channels: c0,
        };
        Cvae {
            encoder,
            decoder,
            latent,
        }
    }

    /// `images [b, 1, 32, 32]`, `onehot [b, 6]` → `(mu, logvar)`, each `[b, latent]`.
    pub fn encode(&self, images: Tensor<4>, onehot: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let [b, _, h, w] = images.dims();
        // The label as six constant planes next to the image.
        let planes = onehot
            .reshape([b, CLASSES, 1, 1])
            .expand([b, CLASSES, h, w]); // [b, 6, 32, 32]
        let mut x = Tensor::cat(vec![images, planes], 1); // [b, 7, 32, 32]
        for conv in &self.encoder.convs {
            x = burn::tensor::activation::relu(conv.forward(x)); // [b, c, h/2, w/2] per stage
        }
        let x = x.flatten::<2>(1, 3); // [b, c * s * s]
        (
            self.encoder.mu.forward(x.clone()),
            self.encoder.logvar.forward(x),
        )
    }

    /// `z [b, latent]`, `onehot [b, 6]` → logits `[b, 1, 32, 32]`.
    pub fn decode_logits(&self, z: Tensor<2>, onehot: Tensor<2>) -> Tensor<4> {
        let [b, _] = z.dims();
        let d = &self.decoder;
        let x = quant_input(Tensor::cat(vec![z, onehot], 1)); // [b, latent + 6]
        let x = quant_act(d.fc.forward(x)); // [b, c0 * 16]
        let x = x.reshape([b, d.channels, 4, 4]); // [b, c0, 4, 4]
        let x = quant_act(d.up[0].forward(upsample(x))); // [b, c1, 8, 8]
        let x = quant_act(d.up[1].forward(upsample(x))); // [b, c2, 16, 16]
        quant_logit(d.up[2].forward(upsample(x))) // [b, 1, 32, 32]
    }

    /// The integer decoder as the device runs it.
    pub fn export_spec(&self, p: &Project) -> Result<ModelSpec, SpecError> {
        let d = &self.decoder;
        let weights = vec![
            d.fc.export(IN_STEP),
            d.up[0].export(ACT_STEP),
            d.up[1].export(ACT_STEP),
            d.up[2].export(ACT_STEP),
        ];
        super::spec::spec(p).with_weights(weights)
    }
}

/// Pixels `[n, 1024]` as a `[n, 1, 32, 32]` tensor in `[0, 1]`.
pub fn images_tensor(pixels: &[&[u8]], device: &Device) -> Tensor<4> {
    grey_images(pixels, crate::data::die::SIZE, device)
}

/// Pip counts 1..=6 as one-hot rows.
pub fn onehot_tensor(pips: &[u8], device: &Device) -> Tensor<2> {
    let mut data = vec![0f32; pips.len() * CLASSES];
    for (i, &p) in pips.iter().enumerate() {
        data[i * CLASSES + (p as usize).clamp(1, CLASSES) - 1] = 1.0;
    }
    Tensor::from_data(TensorData::new(data, [pips.len(), CLASSES]), device)
}

/// A `[n, k]` tensor of standard normal samples from our own generator.
pub fn normal_tensor(n: usize, k: usize, rng: &mut Rng, device: &Device) -> Tensor<2> {
    let data: Vec<f32> = (0..n * k).map(|_| rng.normal()).collect();
    Tensor::from_data(TensorData::new(data, [n, k]), device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_follow_the_project_and_export_matches_the_spec() {
        let device = Device::flex();
        let p = Project::from_template(&super::super::def::DEF);
        let m = Cvae::new(&p, 1, &device);
        let mut rng = Rng::new(3);
        let imgs: Vec<Vec<u8>> = (0..2)
            .map(|i| crate::data::die::sample(1, i).pixels)
            .collect();
        let refs: Vec<&[u8]> = imgs.iter().map(Vec::as_slice).collect();
        let x = images_tensor(&refs, &device);
        let y = onehot_tensor(&[1, 2], &device);
        let (mu, logvar) = m.encode(x, y.clone());
        assert_eq!(mu.dims(), [2, 2]);
        assert_eq!(logvar.dims(), [2, 2]);
        let logits = m.decode_logits(normal_tensor(2, 2, &mut rng, &device), y);
        assert_eq!(logits.dims(), [2, 1, 32, 32]);
        let spec = m.export_spec(&p).unwrap();
        assert!(spec.layers.iter().all(|l| l.weights.is_some()));
    }
}
