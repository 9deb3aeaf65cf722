//! The diffusion model as a board runs it, in integers: the reference the C engine's
//! sampler (`firmware-stub/engine/tg_diffusion.c`) is checked against byte for byte.
//!
//! - The sampler's state is the normalised latent in 1/512 (int16), starting from integer
//!   noise of `(seed, index)`: twelve random bytes summed (Irwin-Hall), centred and
//!   doubled, so a deviation of 512, one unit.
//! - Step `k` of `steps` is at time `t = (steps − k) / steps`. The denoiser's input is the
//!   state rounded to 1/32, a plane holding `t` in 1/32 (rounded half up) and the class's
//!   one-hot plane at 32; its output is the velocity in 1/16.
//! - The state moves by `v·(1/steps)`: `(2·32·v + steps) div (2·steps)` in 1/512, floor
//!   division (exact when `steps` divides 32). The preview of step `k` is the state less
//!   `t·v` the same way.
//! - The decoder's input is `state·deviation + mean` per channel (deviation in 1/4096, mean
//!   in 1/512), rounded to 1/32.
//! - Guidance: on a step whose time plane is above the model's threshold, the denoiser
//!   also runs with no class (every class plane 0), and the velocity is
//!   `v∅ + floor((scale·(v − v∅) + 8) / 16)`, the scale in 1/16, in 32 bits.

use crate::nn::int::{IntError, pass};
use crate::quant::sigmoid_table;
use crate::spec::ModelSpec;
use burn::prelude::*;
use burn::tensor::TensorData;

/// Side of the latent map.
const SIDE: usize = super::model::LATENT_SIDE;

/// The sampler's integer noise for image `index` of `seed`: `n` values in 1/512.
pub fn noise(seed: u32, index: u32, n: usize) -> Vec<i16> {
    let mut s = seed ^ index.wrapping_mul(0x9E37_79B9) ^ 0x5D1F_F005;
    if s == 0 {
        s = 1;
    }
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        s
    };
    for _ in 0..4 {
        next(); // mix weak seeds
    }
    (0..n)
        .map(|_| {
            let mut sum = 0i32;
            for _ in 0..3 {
                let v = next();
                sum += (v & 0xff) as i32
                    + ((v >> 8) & 0xff) as i32
                    + ((v >> 16) & 0xff) as i32
                    + (v >> 24) as i32;
            }
            (2 * (sum - 1530)) as i16
        })
        .collect()
}

/// `floor(a / b)` for `b > 0`.
fn floor_div(a: i64, b: i64) -> i64 {
    a.div_euclid(b)
}

/// `t·v` in 1/512 at time `num / steps`, for a velocity `v` in 1/16.
fn scaled(v: i32, num: u32, steps: u32) -> i32 {
    let steps = i64::from(steps.max(1));
    floor_div(2 * 32 * i64::from(v) * i64::from(num) + steps, 2 * steps) as i32
}

/// The state in 1/512 rounded to the 1/32 input grid.
fn to_input(v: i64) -> i8 {
    ((v + 8) >> 4).clamp(-128, 127) as i8
}

/// The time of step `k` of `steps` in 1/32, rounded half up: the denoiser's time plane.
pub fn time32(k: u32, steps: u32) -> u8 {
    let steps = steps.max(1);
    ((2 * 32 * (steps - k.min(steps)) + steps) / (2 * steps)) as u8
}

/// Whether step `k` of `steps` is guided, for guidance `(scale, above)`.
pub fn guided(guidance: (u8, u8), k: u32, steps: u32) -> bool {
    let (scale, above) = guidance;
    scale != 0 && scale != 16 && time32(k, steps) > above
}

/// The guided velocity from the class's `v` and the classless `free` (both in 1/16).
pub fn guide(v: &[i8], free: &[i8], scale: u8) -> Vec<i32> {
    v.iter()
        .zip(free)
        .map(|(&v, &f)| {
            let (v, f) = (i32::from(v), i32::from(f));
            f + (i32::from(scale) * (v - f) + 8).div_euclid(16)
        })
        .collect()
}

/// The denoiser's input at step `k` of `steps`: the state, the time plane, the class (0:
/// none, every class plane 0).
pub fn unet_input(state: &[i16], label: u8, classes: usize, k: u32, steps: u32) -> Vec<i8> {
    let t = time32(k, steps) as i8;
    let mut x: Vec<i8> = state.iter().map(|&v| to_input(i64::from(v))).collect();
    let plane = SIDE * SIDE;
    x.extend(std::iter::repeat_n(t, plane));
    for c in 1..=classes {
        let on = if c == usize::from(label) { 32 } else { 0 };
        x.extend(std::iter::repeat_n(on, plane));
    }
    x
}

/// The decoder's input for a state (normalised latent in 1/512).
pub fn decoder_input(spec: &ModelSpec, state: &[i16]) -> Vec<i8> {
    let plane = SIDE * SIDE;
    state
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            let (dev, mean) = spec
                .latent_denorm
                .get(i / plane)
                .copied()
                .unwrap_or((4096, 0));
            to_input(((i64::from(s) * i64::from(dev) + 2048) >> 12) + i64::from(mean))
        })
        .collect()
}

/// Layers of the denoiser, and the latent's channels.
fn unet(spec: &ModelSpec) -> (usize, usize) {
    let first = spec.repeat.map_or(0, |(_, f)| f);
    let latent = first
        .checked_sub(1)
        .map_or(0, |i| spec.layers[i].output.c as usize);
    (first, latent)
}

fn tensor(inputs: &[Vec<i8>], shape: [usize; 3], device: &Device) -> Tensor<4> {
    let data: Vec<f32> = inputs.iter().flatten().map(|&v| f32::from(v)).collect();
    Tensor::from_data(
        TensorData::new(data, [inputs.len(), shape[0], shape[1], shape[2]]),
        device,
    )
}

fn rows<T>(values: Vec<f32>, n: usize, f: impl Fn(f32) -> T) -> Vec<Vec<T>> {
    let per = values.len() / n.max(1);
    values
        .chunks(per.max(1))
        .map(|c| c.iter().map(|&v| f(v)).collect())
        .collect()
}

/// One denoiser pass on a batch of inputs: velocities in 1/16.
pub fn unet_pass(
    spec: &ModelSpec,
    inputs: &[Vec<i8>],
    device: &Device,
) -> Result<Vec<Vec<i8>>, IntError> {
    let (first, _) = unet(spec);
    let s = spec.input;
    let x = tensor(inputs, [s.c as usize, s.h as usize, s.w as usize], device);
    let v = crate::nn::values(&pass(spec, 0..first, x, device)?);
    Ok(rows(v, inputs.len(), |q| q as i8))
}

/// One decoder pass on a batch of decoder inputs: grey pixels.
pub fn decode_pass(
    spec: &ModelSpec,
    inputs: &[Vec<i8>],
    device: &Device,
) -> Result<Vec<Vec<u8>>, IntError> {
    let (first, latent) = unet(spec);
    let x = tensor(inputs, [latent, SIDE, SIDE], device);
    let q = crate::nn::values(&pass(spec, first..spec.layers.len(), x, device)?);
    let table = sigmoid_table();
    Ok(rows(q, inputs.len(), |v| table[(v as i32 + 128) as usize]))
}

/// What the integer sampler gives for a batch of images.
#[derive(Debug, Clone, PartialEq)]
pub struct IntSampled {
    pub images: Vec<Vec<u8>>,
    /// `previews[step][image]`, when asked for.
    pub previews: Vec<Vec<Vec<u8>>>,
}

/// Draws images `(seed, index, label)` in `steps` steps (0: the model's), as the board
/// does.
pub fn sample(
    spec: &ModelSpec,
    seed: u32,
    jobs: &[(u32, u8)],
    steps: u32,
    previews: bool,
    device: &Device,
) -> Result<IntSampled, IntError> {
    let (_, latent) = unet(spec);
    let classes = spec.classes as usize;
    let n = latent * SIDE * SIDE;
    let steps = match steps {
        0 => spec.repeat.map_or(1, |(s, _)| s.max(1)),
        s => s,
    };
    let mut states: Vec<Vec<i16>> = jobs.iter().map(|&(i, _)| noise(seed, i, n)).collect();
    let mut shown = Vec::new();
    for k in 0..steps {
        let inputs: Vec<Vec<i8>> = states
            .iter()
            .zip(jobs)
            .map(|(s, &(_, label))| unet_input(s, label, classes, k, steps))
            .collect();
        let cond = unet_pass(spec, &inputs, device)?;
        let v: Vec<Vec<i32>> = if guided(spec.guidance, k, steps) {
            let free: Vec<Vec<i8>> = states
                .iter()
                .map(|s| unet_input(s, 0, classes, k, steps))
                .collect();
            let free = unet_pass(spec, &free, device)?;
            cond.iter()
                .zip(&free)
                .map(|(v, f)| guide(v, f, spec.guidance.0))
                .collect()
        } else {
            cond.iter()
                .map(|v| v.iter().map(|&x| i32::from(x)).collect())
                .collect()
        };
        if previews {
            let x0: Vec<Vec<i8>> = states
                .iter()
                .zip(&v)
                .map(|(s, v)| {
                    let z: Vec<i16> = s
                        .iter()
                        .zip(v)
                        .map(|(&s, &v)| sat(i32::from(s) - scaled(v, steps - k, steps)))
                        .collect();
                    decoder_input(spec, &z)
                })
                .collect();
            shown.push(decode_pass(spec, &x0, device)?);
        }
        for (s, v) in states.iter_mut().zip(&v) {
            for (s, &v) in s.iter_mut().zip(v) {
                *s = sat(i32::from(*s) - scaled(v, 1, steps));
            }
        }
    }
    let inputs: Vec<Vec<i8>> = states.iter().map(|s| decoder_input(spec, s)).collect();
    Ok(IntSampled {
        images: decode_pass(spec, &inputs, device)?,
        previews: shown,
    })
}

fn sat(v: i32) -> i16 {
    v.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::diffusion::{self, Diffusion};
    use crate::project::Project;
    use crate::templates::sd::model::LatentDiffusion;

    /// A model with the template's default shapes, weights from a seed, and latent
    /// statistics that are not the identity; its spec and blob.
    fn model() -> (ModelSpec, Vec<u8>) {
        model_of(&Project::from_template(&super::super::def::DEF))
    }

    fn model_of(p: &Project) -> (ModelSpec, Vec<u8>) {
        let device = Device::flex();
        let p = p.clone();
        let m = LatentDiffusion::new(&p, 1, &device);
        let z = super::super::sample::noise(3, 0, 16, 4, &device)
            .mul_scalar(0.7)
            .add_scalar(0.2);
        let spec = m.with_stats(&z).export_spec(&p).unwrap();
        let blob = crate::export::blob(&spec, "sd").unwrap();
        (spec, blob)
    }

    /// Issue #16, item 3: one denoiser pass and one decoder pass of the C runner are byte
    /// for byte burn's integer model's, and so is a whole draw, previews and all.
    #[test]
    fn the_c_runner_and_burns_integer_model_agree_byte_for_byte() {
        let device = Device::flex();
        let (spec, blob) = model();
        let mut c = Diffusion::load(&blob).unwrap();
        assert_eq!((c.steps(), c.classes()), (8, 6));
        let n = 4 * 64;
        assert_eq!(diffusion::noise(9, 2, n), noise(9, 2, n));
        let state = noise(9, 2, n);
        let input = unet_input(&state, 3, 6, 2, 8);
        let v = unet_pass(&spec, std::slice::from_ref(&input), &device).unwrap();
        assert_eq!(c.unet(&input).unwrap(), v[0]);
        assert!(
            v[0].iter().any(|&x| x != v[0][0]),
            "the pass computes something"
        );
        let z = decoder_input(&spec, &state);
        let px = decode_pass(&spec, std::slice::from_ref(&z), &device).unwrap();
        assert_eq!(c.decode(&z).unwrap(), px[0]);
        let burn = sample(&spec, 9, &[(0, 6), (5, 2)], 8, true, &device).unwrap();
        for (k, &(index, label)) in [(0u32, 6u8), (5, 2)].iter().enumerate() {
            let (image, shots) = c.sample(9, index, label, 8, true).unwrap();
            assert_eq!(image, burn.images[k], "image {k}");
            let theirs: Vec<&Vec<u8>> = burn.previews.iter().map(|s| &s[k]).collect();
            assert_eq!(shots.iter().collect::<Vec<_>>(), theirs, "previews {k}");
        }
        // Four steps stride the same grid; they give another image.
        let (four, _) = c.sample(9, 0, 6, 4, false).unwrap();
        assert_eq!(
            four,
            sample(&spec, 9, &[(0, 6)], 4, false, &device)
                .unwrap()
                .images[0]
        );
    }

    /// The digits' model (ten classes: label 10 is the digit 0) is as bit-exact: its
    /// one-hot planes follow the latent and the time in the C runner as in burn.
    #[test]
    fn a_ten_class_digit_model_is_byte_for_byte_the_same_in_c() {
        let device = Device::flex();
        let mut p = Project::from_template(&super::super::def::DEF);
        p.dataset.kind = Some(crate::project::DataKind::Digits);
        let (spec, blob) = model_of(&p);
        let mut c = Diffusion::load(&blob).unwrap();
        assert_eq!((c.steps(), c.classes()), (8, 10));
        let jobs = [(0u32, 10u8), (0, 7), (4, 1)];
        let burn = sample(&spec, 5, &jobs, 8, false, &device).unwrap();
        for (k, &(index, label)) in jobs.iter().enumerate() {
            let (image, _) = c.sample(5, index, label, 8, false).unwrap();
            assert_eq!(image, burn.images[k], "label {label}");
        }
        assert_ne!(
            burn.images[0], burn.images[1],
            "the class changes the image"
        );
    }

    /// A fixed seed gives a fixed image: golden CRCs of the C runner's draws, so a change
    /// in the arithmetic (noise, rounding, the sampler) shows.
    #[test]
    fn a_seed_gives_the_golden_image() {
        let (_, blob) = model();
        let mut c = Diffusion::load(&blob).unwrap();
        let crcs: Vec<u32> = [(0u32, 1u8, 8u8), (1, 6, 8), (0, 6, 1)]
            .iter()
            .map(|&(i, label, steps)| {
                crate::util::checksum::crc32(&c.sample(42, i, label, steps, false).unwrap().0)
            })
            .collect();
        assert_eq!(crcs, GOLDEN, "{crcs:08x?}");
    }

    /// The C tests' damaged-blob run (`firmware-stub/tests/test_blob.c`) starts from this
    /// tiny model's blob; regenerate the file with TINYGEN_UPDATE_GOLDEN=1.
    #[test]
    fn the_c_tests_diffusion_blob_is_this_models() {
        let mut p = Project::from_template(&super::super::def::DEF);
        for (l, w) in p.model.layers.iter_mut().zip([4, 8, 8, 4, 4, 4, 4, 4, 1]) {
            l.width = w;
        }
        let (_, blob) = model_of(&p);
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("firmware-stub/tests/diffusion.bin");
        if std::env::var_os("TINYGEN_UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, &blob).unwrap();
        }
        let kept = std::fs::read(&path).unwrap_or_default();
        assert!(
            kept == blob,
            "{} is not this tinygen's; regenerate it with TINYGEN_UPDATE_GOLDEN=1 cargo test --lib diffusion_blob",
            path.display()
        );
        Diffusion::load(&blob).unwrap();
    }

    /// Guidance steers the first half of the steps, and the C runner follows burn's
    /// integer model with it and without it.
    #[test]
    fn guidance_steers_the_first_half_of_the_steps_on_both_sides() {
        let g = (48, 16);
        let at8: Vec<bool> = (0..8).map(|k| guided(g, k, 8)).collect();
        assert_eq!(at8, [true, true, true, true, false, false, false, false]);
        assert!(guided(g, 0, 1) && !guided((16, 16), 0, 8) && !guided((0, 0), 0, 8));
        assert_eq!(guide(&[10, -4], &[2, 2], 48), [26, -16]);
        let device = Device::flex();
        let (spec, blob) = model();
        let shipped = (
            super::super::spec::GUIDANCE,
            super::super::spec::GUIDED_ABOVE,
        );
        assert_eq!(spec.guidance, shipped);
        assert!(guided(shipped, 0, 8) && !guided(shipped, 4, 8));
        assert_eq!(
            Diffusion::load(&blob).unwrap().guidance(),
            shipped,
            "the C side reads it"
        );
        let mut plain = spec.clone();
        plain.guidance = (0, 0);
        let plain_blob = crate::export::blob(&plain, "sd").unwrap();
        let mut c = Diffusion::load(&plain_blob).unwrap();
        let unguided = sample(&plain, 5, &[(0, 4)], 8, false, &device).unwrap();
        assert_eq!(c.sample(5, 0, 4, 8, false).unwrap().0, unguided.images[0]);
        let mut c = Diffusion::load(&blob).unwrap();
        assert_ne!(c.sample(5, 0, 4, 8, false).unwrap().0, unguided.images[0]);
    }

    const GOLDEN: [u32; 3] = [0x981b_d4e1, 0xa825_491c, 0xec05_81e4];

    #[test]
    fn the_noise_has_unit_spread_in_its_units_and_depends_on_seed_and_index() {
        let v = noise(7, 3, 20_000);
        let mean = v.iter().map(|&x| f64::from(x)).sum::<f64>() / v.len() as f64;
        let var = v
            .iter()
            .map(|&x| (f64::from(x) - mean).powi(2))
            .sum::<f64>()
            / v.len() as f64;
        assert!(mean.abs() < 10.0, "{mean}");
        assert!((var.sqrt() - 512.0).abs() < 15.0, "{}", var.sqrt());
        assert_ne!(noise(7, 4, 8), noise(7, 3, 8));
        assert_ne!(noise(8, 3, 8), noise(7, 3, 8));
    }

    #[test]
    fn the_time_plane_and_steps_round_as_documented() {
        let s = vec![0i16; 64];
        assert_eq!(unet_input(&s, 1, 6, 0, 8)[64], 32);
        assert_eq!(unet_input(&s, 1, 6, 4, 8)[64], 16);
        assert_eq!(unet_input(&s, 1, 6, 2, 3)[64], 11); // 32/3 = 10.67
        // The one-hot plane of the label.
        let x = unet_input(&s, 2, 6, 0, 8);
        assert_eq!((x[128], x[192]), (0, 32));
        // Eight steps move by exactly v/8; three round toward minus infinity at halves down.
        assert_eq!(scaled(16, 1, 8), 64);
        assert_eq!(scaled(-16, 1, 8), -64);
        assert_eq!(scaled(1, 1, 3), 11); // 32/3 = 10.67
        assert_eq!(to_input(-8), 0);
        assert_eq!(to_input(-9), -1);
    }
}
