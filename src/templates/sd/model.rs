//! The Streaming SD model: a small VAE whose latent is a 4x8x8 map, and a conditional conv
//! UNet that denoises that latent by rectified flow. Only the UNet and the VAE decoder are
//! deployed, both quantization-aware (8-bit weights on power-of-two scales, activations on
//! the engine's grids); the encoder is float and used in training only.
//!
//! The UNet takes the noisy latent, one plane holding the time `t` and one-hot planes
//! holding the class (the prompt: six pip counts, or ten digits), and predicts the
//! velocity `v = noise − clean latent`:
//!
//! ```text
//! [latent + 1 + classes, 8, 8] → unet_in  → h0 [w, 8x8]
//!                        → unet_down (stride 2) → [2w, 4x4] → unet_mid
//!                        → upsample, unet_up, + h0 (skip) → [w, 8x8]
//!                        → unet_out → v [latent, 8x8], signed
//! ```
//!
//! The denoiser works on latents normalised per channel (mean 0, deviation 1); the means
//! and deviations are measured on the training set when the denoiser's stage begins and
//! kept in the model (`stats`), so a checkpoint carries them.

use crate::nn::layers::{QConv, upsample};
use crate::nn::{grey_images, quant_act, quant_input, quant_logit, seeded_conv, values};
use crate::project::Project;
use crate::quant::{ACT_STEP, IN_STEP};
use crate::spec::{ModelSpec, SpecError};
use crate::util::rng::Rng;
use burn::module::{Module, Param};
use burn::nn::conv::Conv2d;
use burn::prelude::*;
use burn::tensor::TensorData;

/// Side of the latent map.
pub const LATENT_SIDE: usize = 8;
/// Side of the images.
pub const SIDE: usize = 32;
/// Units of the exported latent statistics: deviations in 1/4096, means in 1/512 (the
/// integer sampler's state unit).
pub const DENORM_DEV_UNIT: f32 = 4096.0;
pub const DENORM_MEAN_UNIT: f32 = 512.0;

/// The train-time encoder: float, never deployed. Stride-2 convolutions down to 8x8, then
/// a 3x3 convolution for the latent's mean and one for its log-variance.
#[derive(Module, Debug)]
pub struct Encoder {
    pub convs: Vec<Conv2d>,
    pub mu: Conv2d,
    pub logvar: Conv2d,
}

/// The deployable VAE decoder: 8x8 latent → 32x32 logits.
#[derive(Module, Debug)]
pub struct Decoder {
    /// `vae_in`, `vae_up1`, `vae_up2`, `vae_out`.
    pub convs: Vec<QConv>,
}

/// The deployable denoiser.
#[derive(Module, Debug)]
pub struct Unet {
    /// `unet_in`, `unet_down`, `unet_mid`, `unet_up`, `unet_out`.
    pub convs: Vec<QConv>,
}

#[derive(Module, Debug)]
pub struct LatentDiffusion {
    pub encoder: Encoder,
    pub decoder: Decoder,
    pub unet: Unet,
    /// `[2, latent]`: the per-channel mean and deviation of the training latents (0 and 1
    /// until the denoiser's stage measures them).
    pub stats: Param<Tensor<2>>,
    #[module(skip)]
    pub latent: usize,
    /// Classes of the prompt.
    #[module(skip)]
    pub classes: usize,
    /// The sampler's classifier-free guidance, as the exported model carries it
    /// ([`super::spec::guidance`]).
    #[module(skip)]
    pub guidance: (u8, u8),
}

impl LatentDiffusion {
    /// Builds the model a project describes; the weights come from `seed`.
    pub fn new(p: &Project, seed: u64, device: &Device) -> LatentDiffusion {
        let mut rng = Rng::new(seed ^ 0x5D5D);
        let latent = p.model.latent as usize;
        let classes = super::spec::classes(p) as usize;
        let layers = &p.model.layers;
        let width = |i: usize| layers[i].width as usize;
        let bits = |i: usize| layers[i].bits;

        let mut convs = Vec::new();
        let mut ch = 1;
        for &w in &p.model.encoder {
            convs.push(seeded_conv(ch, w as usize, 2, &mut rng, device));
            ch = w as usize;
        }
        let encoder = Encoder {
            mu: seeded_conv(ch, latent, 1, &mut rng, device),
            logvar: seeded_conv(ch, latent, 1, &mut rng, device),
            convs,
        };

        let mut q =
            |i: usize, inputs: usize| QConv::new(inputs, width(i), bits(i), &mut rng, device);
        let w0 = width(0);
        let unet = Unet {
            convs: vec![
                q(0, latent + 1 + classes),
                q(1, w0),
                q(2, width(1)),
                q(3, width(2)),
                q(4, width(3)),
            ],
        };
        let decoder = Decoder {
            convs: vec![q(5, latent), q(6, width(5)), q(7, width(6)), q(8, width(7))],
        };
        let mut stats = vec![0f32; 2 * latent];
        stats[latent..].fill(1.0);
        LatentDiffusion {
            encoder,
            decoder,
            unet,
            stats: Param::from_tensor(Tensor::from_data(
                TensorData::new(stats, [2, latent]),
                device,
            )),
            latent,
            classes,
            guidance: super::spec::guidance(p),
        }
    }

    /// `images [b, 1, 32, 32]` → `(mu, logvar)`, each `[b, latent, 8, 8]`.
    pub fn encode(&self, images: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
        let mut x = images;
        for conv in &self.encoder.convs {
            x = burn::tensor::activation::relu(conv.forward(x));
        }
        (
            self.encoder.mu.forward(x.clone()),
            self.encoder.logvar.forward(x),
        )
    }

    /// A latent as the VAE made it, `[b, latent, 8, 8]` → logits `[b, 1, 32, 32]`.
    pub fn decode_logits(&self, z: Tensor<4>) -> Tensor<4> {
        let c = &self.decoder.convs;
        let x = quant_act(c[0].forward(quant_input(z))); // [b, w5, 8, 8]
        let x = quant_act(c[1].forward(upsample(x))); // [b, w6, 16, 16]
        let x = quant_act(c[2].forward(upsample(x))); // [b, w7, 32, 32]
        quant_logit(c[3].forward(x)) // [b, 1, 32, 32]
    }

    /// Per-channel `(mean, deviation)` as `[1, latent, 1, 1]` tensors.
    fn stats4(&self) -> (Tensor<4>, Tensor<4>) {
        let s = self.stats.val().detach();
        let l = self.latent;
        (
            s.clone().slice([0..1, 0..l]).reshape([1, l, 1, 1]),
            s.slice([1..2, 0..l]).reshape([1, l, 1, 1]),
        )
    }

    /// A VAE latent in the denoiser's units (mean 0, deviation 1 per channel).
    pub fn normalise(&self, z: Tensor<4>) -> Tensor<4> {
        let (mean, dev) = self.stats4();
        (z - mean) / dev
    }

    /// A normalised latent decoded to logits.
    pub fn decode_normalised(&self, z: Tensor<4>) -> Tensor<4> {
        let (mean, dev) = self.stats4();
        self.decode_logits(z * dev + mean)
    }

    /// The UNet's velocity for normalised latents `z [b, latent, 8, 8]` at times `t [b]`
    /// (1 is pure noise) for classes `onehot [b, classes]`.
    pub fn velocity(&self, z: Tensor<4>, t: Tensor<1>, onehot: Tensor<2>) -> Tensor<4> {
        let [b, _, h, w] = z.dims();
        let time = t.reshape([b, 1, 1, 1]).expand([b, 1, h, w]);
        let k = self.classes;
        let class = onehot.reshape([b, k, 1, 1]).expand([b, k, h, w]);
        let x = quant_input(Tensor::cat(vec![z, time, class], 1)); // [b, latent + 1 + k, 8, 8]
        let c = &self.unet.convs;
        let h0 = quant_act(c[0].forward(x)); // [b, w, 8, 8]
        let h1 = quant_act(c[1].forward_down(h0.clone())); // [b, 2w, 4, 4]
        let h2 = quant_act(c[2].forward(h1)); // [b, 2w, 4, 4]
        // The skip: a saturating add of two activations on the same grid.
        let h3 = quant_act(quant_act(c[3].forward(upsample(h2))) + h0); // [b, w, 8, 8]
        quant_logit(c[4].forward(h3)) // [b, latent, 8, 8], signed
    }

    /// Measures the per-channel mean and deviation of `latents [n, latent, 8, 8]` and keeps
    /// them as the model's `stats`.
    pub fn with_stats(mut self, latents: &Tensor<4>) -> LatentDiffusion {
        let l = self.latent;
        let per_channel = latents.clone().swap_dims(0, 1).reshape([l as i32, -1]); // [l, n*64]
        let mean = per_channel.clone().mean_dim(1); // [l, 1]
        let dev = (per_channel - mean.clone())
            .powi_scalar(2)
            .mean_dim(1)
            .sqrt()
            .clamp_min(1e-3); // [l, 1]
        let s = Tensor::cat(vec![mean.reshape([1, l]), dev.reshape([1, l])], 0);
        let device = self.stats.val().device();
        let s = Tensor::from_data(s.into_data(), &device);
        self.stats = Param::initialized(self.stats.id, s);
        self
    }

    /// The per-channel `(means, deviations)` the model keeps.
    pub fn stats_values(&self) -> (Vec<f32>, Vec<f32>) {
        let v = values(&self.stats.val());
        let (m, d) = v.split_at(self.latent);
        (m.to_vec(), d.to_vec())
    }

    /// The integer UNet and decoder as the device will run them.
    pub fn export_spec(&self, p: &Project) -> Result<ModelSpec, SpecError> {
        let mut weights: Vec<_> = self.unet.convs.iter().map(|c| c.export(ACT_STEP)).collect();
        weights[0] = self.unet.convs[0].export(IN_STEP);
        weights.push(self.decoder.convs[0].export(IN_STEP));
        weights.extend(self.decoder.convs[1..].iter().map(|c| c.export(ACT_STEP)));
        let mut spec = super::spec::spec(p).with_weights(weights)?;
        let (means, devs) = self.stats_values();
        spec.latent_denorm = devs
            .iter()
            .zip(&means)
            .map(|(d, m)| {
                let q = |v: f32, unit: f32| (v * unit).round().clamp(-1e9, 1e9) as i32;
                (q(*d, DENORM_DEV_UNIT), q(*m, DENORM_MEAN_UNIT))
            })
            .collect();
        Ok(spec)
    }
}

/// Pixels `[n, 1024]` as a `[n, 1, 32, 32]` tensor in `[0, 1]`.
pub fn images_tensor(pixels: &[&[u8]], device: &Device) -> Tensor<4> {
    grey_images(pixels, SIDE, device)
}

/// Labels 1..=`classes` as one-hot rows `[n, classes]`.
pub fn onehot(labels: &[u8], classes: usize, device: &Device) -> Tensor<2> {
    let mut data = vec![0f32; labels.len() * classes];
    for (i, &c) in labels.iter().enumerate() {
        // Label 0 is no class: the unconditional model of classifier-free guidance.
        if c > 0 {
            data[i * classes + usize::from(c).min(classes) - 1] = 1.0;
        }
    }
    Tensor::from_data(TensorData::new(data, [labels.len(), classes]), device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_follow_the_project_and_export_matches_the_spec() {
        let device = Device::flex();
        let p = Project::from_template(&super::super::def::DEF);
        let m = LatentDiffusion::new(&p, 1, &device);
        let imgs: Vec<Vec<u8>> = (0..2)
            .map(|i| crate::data::die::sample(1, i).pixels)
            .collect();
        let refs: Vec<&[u8]> = imgs.iter().map(Vec::as_slice).collect();
        let (mu, logvar) = m.encode(images_tensor(&refs, &device));
        assert_eq!(mu.dims(), [2, 4, 8, 8]);
        assert_eq!(logvar.dims(), [2, 4, 8, 8]);
        assert_eq!(m.decode_logits(mu.clone()).dims(), [2, 1, 32, 32]);
        let t = Tensor::from_data(TensorData::new(vec![0.25f32, 1.0], [2]), &device);
        let y = onehot(&[1, 6], 6, &device);
        assert_eq!(m.velocity(mu.clone(), t, y).dims(), [2, 4, 8, 8]);
        let spec = m.export_spec(&p).unwrap();
        assert!(spec.layers.iter().all(|l| l.weights.is_some()));
        // The stats are measured per channel.
        let m = m.with_stats(&mu);
        let (mean, dev) = m.stats_values();
        assert_eq!((mean.len(), dev.len()), (4, 4));
        let again = values(&m.normalise(mu));
        let avg = again.iter().sum::<f32>() / again.len() as f32;
        assert!(avg.abs() < 1e-4, "normalised latents have mean 0: {avg}");
    }
}
