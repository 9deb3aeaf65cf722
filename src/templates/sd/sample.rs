//! Sampling the latent-diffusion model: Euler steps of the rectified flow from noise
//! (`t = 1`) to a clean latent (`t = 0`) on a uniform grid, then the VAE decoder. At each
//! step the preview is the decoded estimate of the clean latent, `x̂0 = z_t − t·v̂`, so a die
//! shows from the first step on. The first half of the steps is guided toward the class
//! (classifier-free guidance, [`super::spec::guidance`]). The noise of image `i` comes from `(seed, i)` only, so a
//! seed gives the same image whatever else is drawn with it.

use super::model::{LATENT_SIDE, LatentDiffusion};
use crate::nn::to_pixels;
use crate::util::rng::Rng;
use burn::prelude::*;
use burn::tensor::TensorData;

/// Denoising steps by default (the project's `model.steps`).
pub const DEFAULT_STEPS: u32 = 8;

/// What a run of the sampler gives.
#[derive(Debug, Clone, PartialEq)]
pub struct Sampled {
    /// The finished images, one per class asked for, 32x32 grey.
    pub images: Vec<Vec<u8>>,
    /// `previews[step][image]`: the decoded `x̂0` after each step (empty unless asked).
    pub previews: Vec<Vec<Vec<u8>>>,
}

/// The initial noise of images `first..first + n` of `seed`, `[n, latent, 8, 8]`.
pub fn noise(seed: u64, first: u64, n: usize, latent: usize, device: &Device) -> Tensor<4> {
    let k = latent * LATENT_SIDE * LATENT_SIDE;
    let mut data = Vec::with_capacity(n * k);
    for i in 0..n as u64 {
        let mut rng = Rng::for_item(seed, first + i);
        data.extend((0..k).map(|_| rng.normal()));
    }
    Tensor::from_data(
        TensorData::new(data, [n, latent, LATENT_SIDE, LATENT_SIDE]),
        device,
    )
}

/// Draws one image per entry of `classes` (labels 1..=the model's classes) in `steps` Euler steps,
/// from the noise of images `first..` of `seed`; with `previews`, each step's `x̂0` too.
pub fn sample(
    model: &LatentDiffusion,
    classes: &[u8],
    seed: u64,
    first: u64,
    steps: u32,
    previews: bool,
    device: &Device,
) -> Sampled {
    let n = classes.len();
    if n == 0 {
        return Sampled {
            images: Vec::new(),
            previews: Vec::new(),
        };
    }
    let steps = steps.max(1);
    let onehot = super::model::onehot(classes, model.classes, device);
    let none = super::model::onehot(&vec![0; n], model.classes, device);
    let guidance = model.guidance;
    let mut z = noise(seed, first, n, model.latent, device);
    let mut shown = Vec::new();
    for k in 0..steps {
        let t = 1.0 - k as f32 / steps as f32;
        let next = 1.0 - (k + 1) as f32 / steps as f32;
        let times = Tensor::<1>::full([n], t, device);
        let mut v = model.velocity(z.clone(), times.clone(), onehot.clone());
        // Classifier-free guidance on the steps the board guides (the same rule).
        if super::int::guided(guidance, k, steps) {
            let free = model.velocity(z.clone(), times, none.clone());
            v = free.clone() + (v - free).mul_scalar(f32::from(guidance.0) / 16.0);
        }
        if previews {
            let x0 = z.clone() - v.clone().mul_scalar(t);
            shown.push(to_pixels(model.decode_normalised(x0)));
        }
        z = z - v.mul_scalar(t - next);
    }
    Sampled {
        images: to_pixels(model.decode_normalised(z)),
        previews: shown,
    }
}

/// [`sample`] in batches of at most 256, without previews.
pub fn sample_many(
    model: &LatentDiffusion,
    classes: &[u8],
    seed: u64,
    steps: u32,
    device: &Device,
) -> Vec<Vec<u8>> {
    let mut out = Vec::with_capacity(classes.len());
    for (b, chunk) in classes.chunks(256).enumerate() {
        let first = (b * 256) as u64;
        out.extend(sample(model, chunk, seed, first, steps, false, device).images);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::Project;

    #[test]
    fn a_seed_gives_the_same_image_alone_or_in_a_batch() {
        let device = Device::flex();
        let p = Project::from_template(&super::super::def::DEF);
        let m = LatentDiffusion::new(&p, 1, &device);
        let both = sample(&m, &[3, 5], 7, 0, 4, true, &device);
        let second = sample(&m, &[5], 7, 1, 4, false, &device);
        assert_eq!(both.images[1], second.images[0]);
        assert_eq!(both.previews.len(), 4);
        assert!(both.previews.iter().all(|s| s.len() == 2));
        assert_ne!(sample(&m, &[5], 8, 1, 4, false, &device), second);
    }
}
