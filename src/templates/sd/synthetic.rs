//! Synthetic Streaming SD models for scale (issue #17, item 3): the project's architecture
//! with the denoiser `width` channels wide (`unet_in` and `unet_up` `width`, `unet_down`
//! and `unet_mid` twice that), weights drawn from a seed, no training. The streaming
//! runtime's memory is measured on them, from the default size up to about 100 MB of int8
//! weights (`width` 1152); their images are noise-shaped, not dice.

use crate::export::ExportError;
use crate::project::Project;
use crate::spec::{LayerWeights, ModelSpec};
use crate::util::rng::Rng;

/// The widest synthetic denoiser: about 100 MB of int8 weights, the bench's upper end.
pub const MAX_WIDTH: u32 = 1200;

/// The synthetic model's spec: the project's, with the denoiser's widths from `width`.
pub fn spec(p: &Project, width: u32) -> ModelSpec {
    let mut p = p.clone();
    for (i, w) in [width, 2 * width, 2 * width, width].into_iter().enumerate() {
        p.model.layers[i].width = w;
    }
    super::spec::spec(&p)
}

/// Weight bytes of a synthetic model (one byte a weight: every layer is 8-bit).
pub fn weight_bytes(p: &Project, width: u32) -> u64 {
    spec(p, width).layers.iter().map(|l| l.weight_count()).sum()
}

/// The blob of a synthetic model: weights uniform in −127..127 from `seed`, each layer's
/// step a power of two that keeps its outputs about as large as its inputs, no biases,
/// and an identity latent normalisation.
pub fn blob(p: &Project, width: u32, seed: u64) -> Result<Vec<u8>, ExportError> {
    let spec = spec(p, width);
    let mut rng = Rng::new(seed);
    let weights = spec
        .layers
        .iter()
        .map(|l| {
            let n = l.weight_count() as usize;
            let mut values = Vec::with_capacity(n);
            while values.len() < n {
                let r = rng.next_u64();
                values.extend(
                    r.to_le_bytes()
                        .iter()
                        .map(|&b| (b as i8).max(-127))
                        .take(n - values.len()),
                );
            }
            // A uniform int8 weight has a deviation of about 73; a ReLU halves the power.
            let fan_in = f64::from(l.input.c) * 9.0;
            let scale = (-(73.0 * (fan_in / 2.0).sqrt()).log2().round()).exp2() as f32;
            LayerWeights {
                values,
                scale,
                bias: vec![0; l.output.c as usize],
            }
        })
        .collect();
    let mut spec = spec
        .with_weights(weights)
        .expect("synthetic weights have their layers' counts and ranges by construction");
    spec.latent_denorm = vec![(4096, 0); p.model.latent as usize];
    crate::export::blob(&spec, &format!("synthetic-{width}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::diffusion::Diffusion;

    fn project() -> Project {
        Project::from_template(&super::super::def::DEF)
    }

    #[test]
    fn synthetic_models_run_and_reach_100_mb() {
        let p = project();
        let small = blob(&p, 32, 7).unwrap();
        let mut d = Diffusion::load(&small).unwrap();
        let (a, _) = d.sample(1, 0, 3, 2, false).unwrap();
        assert!(
            a.iter().max() != a.iter().min(),
            "the image is not flat: the steps keep the signal alive"
        );
        assert_eq!(
            d.sample(1, 0, 3, 2, false).unwrap().0,
            a,
            "a seed gives one image"
        );
        let other = blob(&p, 32, 8).unwrap();
        assert_ne!(other, small, "the weights come from the seed");
        // Width 32 is the default model's size; 1152 is about 100 MB.
        assert_eq!(
            weight_bytes(&p, 32),
            crate::templates::spec(&p)
                .layers
                .iter()
                .map(|l| l.weight_count())
                .sum::<u64>()
        );
        let big = weight_bytes(&p, 1152);
        assert!((90_000_000..110_000_000).contains(&big), "{big}");
    }
}
