//! Training the latent-diffusion model in two stages through the shared loop:
//!
//! 1. **VAE** (the first quarter of the epochs, at least one, at most ten): encode the
//!    training images (rendered dice, or digits) to a 4x8x8 latent, decode them back; binary cross-entropy plus a small KL term.
//! 2. **Denoiser** (the rest): the VAE is frozen; the training set's latents are encoded
//!    once (the means, normalised per channel) and the UNet learns rectified flow on them:
//!    `z_t = (1 − t)·z0 + t·ε`, predict `v = ε − z0`, mean squared error, `t` logit-normal.
//!
//! After each epoch the Train screen gets a grid of samples per class (reconstructions in
//! the first stage, images drawn from noise in the second), a strip of one image forming
//! over the sampler's steps, and the judges' scores ([`super::judge`]).

use super::data::Example;
use super::judge::{Judge, Verdict};
use super::model::{LATENT_SIDE, LatentDiffusion, images_tensor, onehot};
use super::sample::{sample, sample_many};
use crate::engine::EngineError;
use crate::nn::{bce_with_logits_sum, gaussian_kl, to_pixels, values};
use crate::project::{DataKind, Project};
use crate::scoring::frechet;
use crate::scoring::pips::PipClassifier;
use crate::spec::{ModelSpec, SpecError};
use crate::train::{EpochView, LossInfo, Step, Task};
use crate::util::rng::Rng;
use burn::prelude::*;
use burn::tensor::TensorData;

/// Samples shown per class after each epoch.
pub const SAMPLES_PER_CLASS: usize = 2;
/// Images per class judged after each epoch of the denoiser's stage.
const SCORED_PER_CLASS: usize = 30;

/// The class whose forming is shown step by step after each epoch: six pips, the hardest
/// die; the digit 8.
pub fn strip_class(kind: DataKind) -> u8 {
    match kind {
        DataKind::Dice => 6,
        DataKind::Digits => 8,
    }
}
/// Weight of the KL term against the reconstruction's cross-entropy (both per image): small,
/// as latent-diffusion autoencoders use, so the latent keeps the detail.
const KL_WEIGHT: f32 = 1e-3;
/// The share of denoiser examples trained without their class (classifier-free guidance).
const DROP_CLASS: f32 = 0.1;

/// The losses: the VAE's reconstruction (binary cross-entropy summed over pixels, per
/// image), the denoiser's flow loss (mean squared error of the velocity, per latent value)
/// and the VAE's KL term (per image). An epoch reports the losses of its stage only.
pub const LOSSES: &[LossInfo] = &[
    LossInfo {
        name: "recon",
        label: "recon",
        title: "VAE reconstruction",
        decimals: 1,
        column: (8, 2),
    },
    LossInfo {
        name: "flow",
        label: "flow",
        title: "denoiser flow",
        decimals: 4,
        column: (7, 4),
    },
    LossInfo {
        name: "kl",
        label: "kl",
        title: "VAE KL",
        decimals: 1,
        column: (7, 1),
    },
];

/// Which part of the model an epoch trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Vae,
    Denoiser,
}

/// Epochs of the VAE's stage for a run of `epochs`: a quarter, at least one and at most
/// ten (its loss has flattened by then; the denoiser gains from every further epoch).
pub fn vae_epochs(epochs: u32) -> u32 {
    (epochs / 4).clamp(1, 10)
}

/// The stage of `epoch` (1-based) of a project.
pub fn stage(p: &Project, epoch: u32) -> Stage {
    if epoch <= vae_epochs(p.training.epochs) {
        Stage::Vae
    } else {
        Stage::Denoiser
    }
}

/// The latent-diffusion training task.
pub struct SdTask<'a> {
    p: &'a Project,
    data: Vec<Example>,
    classes: usize,
    /// The epoch's generator: the order first, then each step's noise and times.
    rng: Rng,
    stage: Stage,
    /// The training set's normalised latents, `[n * latent * 64]`, once the denoiser's
    /// stage has begun.
    latents: Option<Vec<f32>>,
    judge: Option<Judge>,
    /// The fresh renders the kept epoch's dice are measured against.
    reference: Option<Reference>,
}

impl<'a> SdTask<'a> {
    /// The task on `data`, the project's training set ([`super::data::training_set`]).
    pub fn new(p: &'a Project, data: Vec<Example>) -> SdTask<'a> {
        SdTask {
            p,
            data,
            classes: super::spec::classes(p) as usize,
            rng: Rng::new(0),
            stage: Stage::Vae,
            latents: None,
            judge: None,
            reference: None,
        }
    }

    fn latent_len(&self) -> usize {
        self.p.model.latent as usize * LATENT_SIDE * LATENT_SIDE
    }

    fn vae_step(&mut self, model: &LatentDiffusion, idx: &[usize], device: &Device) -> Step {
        let n = idx.len();
        let pixels: Vec<&[u8]> = idx
            .iter()
            .map(|&i| self.data[i].pixels.as_slice())
            .collect();
        let x = images_tensor(&pixels, device); // [n, 1, 32, 32]
        let (mu, logvar) = model.encode(x.clone()); // [n, latent, 8, 8] each
        let dims = mu.dims();
        let eps = gaussian(dims, &mut self.rng, device);
        let z = mu.clone() + logvar.clone().mul_scalar(0.5).exp() * eps;
        let logits = model.decode_logits(z); // [n, 1, 32, 32]
        let recon = bce_with_logits_sum(logits, x).div_scalar(n as f32);
        let kl = gaussian_kl(mu, logvar, n as f32);
        let loss = recon.clone() + kl.clone().mul_scalar(KL_WEIGHT);
        Step {
            loss,
            parts: vec![recon.into_scalar(), f32::NAN, kl.into_scalar()],
            right: None,
        }
    }

    fn denoiser_step(&mut self, model: &LatentDiffusion, idx: &[usize], device: &Device) -> Step {
        let n = idx.len();
        let len = self.latent_len();
        let latents = self
            .latents
            .as_ref()
            .expect("latents are encoded before the stage");
        let mut z0 = Vec::with_capacity(n * len);
        for &i in idx {
            z0.extend_from_slice(&latents[i * len..(i + 1) * len]);
        }
        let shape = [n, self.p.model.latent as usize, LATENT_SIDE, LATENT_SIDE];
        let z0 = Tensor::<4>::from_data(TensorData::new(z0, shape), device);
        let eps = gaussian(shape, &mut self.rng, device);
        // Logit-normal times: most of the training where the image takes shape.
        let t: Vec<f32> = (0..n)
            .map(|_| 1.0 / (1.0 + (-self.rng.normal()).exp()))
            .collect();
        let times = Tensor::<1>::from_data(TensorData::new(t, [n]), device);
        let tt = times.clone().reshape([n, 1, 1, 1]);
        let zt = z0.clone() * tt.clone().neg().add_scalar(1.0) + eps.clone() * tt;
        let target = eps - z0;
        // One in ten without its class: the unconditional model guidance steers from.
        let pips: Vec<u8> = idx
            .iter()
            .map(|&i| {
                if self.rng.unit() < DROP_CLASS {
                    0
                } else {
                    self.data[i].label
                }
            })
            .collect();
        let v = model.velocity(zt, times, onehot(&pips, self.classes, device));
        let flow = (v - target).powi_scalar(2).mean();
        Step {
            loss: flow.clone(),
            parts: vec![f32::NAN, flow.into_scalar(), f32::NAN],
            right: None,
        }
    }

    /// The training set's latent means, normalised by their own per-channel statistics,
    /// which the returned model keeps.
    fn encode_all(&mut self, model: LatentDiffusion) -> LatentDiffusion {
        let plain = model.valid();
        let mut mus = Vec::new();
        for chunk in self.data.chunks(500) {
            let pixels: Vec<&[u8]> = chunk.iter().map(|s| s.pixels.as_slice()).collect();
            let (mu, _) = plain.encode(images_tensor(&pixels, &plain.stats.val().device()));
            mus.push(mu);
        }
        let all = Tensor::cat(mus, 0);
        let model = model.with_stats(&all);
        let plain = model.valid();
        self.latents = Some(values(&plain.normalise(all)));
        model
    }
}

/// What one doubling of the drawn dice's Fréchet distance over the floor costs an epoch's
/// score: a point of the counted share. Kept by the count alone, an epoch whose faces had
/// drifted greyer than the renders' won (Fréchet distance 3.53 against 0.489, issue #16).
const FRECHET_POINT: f64 = 0.01;
/// Seed of the renders the per-epoch Fréchet distance is measured against (never trained
/// on, and not `tinygen eval`'s).
const REFERENCE_SEED: u64 = 0x7A1D_0001;

/// Fresh steady renders in the pip classifier's features, and the floor: the distance of
/// a second set of renders to them.
struct Reference {
    features: Vec<Vec<f64>>,
    floor: f64,
}

impl Reference {
    fn new(classifier: &PipClassifier, n: usize, device: &Device) -> Reference {
        let features = |seed: u64| {
            let renders = crate::data::die::steady_dataset(seed, n.max(2));
            let px: Vec<&[u8]> = renders.iter().map(|d| d.pixels.as_slice()).collect();
            classifier.features(&px, device)
        };
        let a = features(REFERENCE_SEED);
        let floor = frechet::distance(&features(REFERENCE_SEED ^ 0xB), &a);
        Reference { features: a, floor }
    }

    /// How many times the drawn dice's distance doubles the floor (0 at or below it).
    fn doublings(&self, classifier: &PipClassifier, images: &[Vec<u8>], device: &Device) -> f64 {
        let px: Vec<&[u8]> = images.iter().map(Vec::as_slice).collect();
        let d = frechet::distance(&classifier.features(&px, device), &self.features);
        (d / self.floor.max(1e-9)).max(1.0).log2()
    }
}

/// Standard normal samples of `shape` from our own generator.
fn gaussian(shape: [usize; 4], rng: &mut Rng, device: &Device) -> Tensor<4> {
    let n: usize = shape.iter().product();
    let data: Vec<f32> = (0..n).map(|_| rng.normal()).collect();
    Tensor::from_data(TensorData::new(data, shape), device)
}

impl Task for SdTask<'_> {
    type Model = LatentDiffusion;

    fn losses(&self) -> &'static [LossInfo] {
        LOSSES
    }

    fn samples(&self) -> usize {
        self.data.len()
    }

    fn init(&self, device: &Device) -> LatentDiffusion {
        LatentDiffusion::new(self.p, self.p.training.seed, device)
    }

    fn learning_rate(&self, _epoch: u32, _epochs: u32) -> f64 {
        // Constant: a cosine decay over the denoiser's stage ended with a higher flow loss
        // and fewer countable dice (measured: 69% counted against 77.5%).
        self.p.training.learning_rate
    }

    fn prepare(&mut self, model: LatentDiffusion, epoch: u32) -> LatentDiffusion {
        self.stage = stage(self.p, epoch);
        if self.stage == Stage::Denoiser && self.latents.is_none() {
            // The VAE is frozen from here on, so its latents are encoded once (also after
            // a resume: the same frozen encoder gives the same latents).
            return self.encode_all(model);
        }
        model
    }

    fn begin_epoch(&mut self, epoch: u32) -> Vec<usize> {
        self.rng = Rng::for_item(self.p.training.seed, u64::from(epoch));
        self.rng.permutation(self.data.len())
    }

    fn step(&mut self, model: &LatentDiffusion, idx: &[usize], device: &Device) -> Step {
        match self.stage {
            Stage::Vae => self.vae_step(model, idx, device),
            Stage::Denoiser => self.denoiser_step(model, idx, device),
        }
    }

    fn end_epoch(&mut self, model: &LatentDiffusion, device: &Device) -> EpochView {
        let seed = self.p.training.seed ^ 0x5A11;
        let steps = self.p.model.steps;
        if self.stage == Stage::Vae {
            return EpochView {
                samples: reconstructions(model, &self.data, device),
                ..EpochView::default()
            };
        }
        let classes: Vec<u8> = (1..=self.classes as u8)
            .flat_map(|c| std::iter::repeat_n(c, SAMPLES_PER_CLASS))
            .collect();
        let grid = sample(model, &classes, seed, 0, steps, false, device);
        let shown = strip_class(self.p.data_kind());
        let strip = sample(model, &[shown], seed ^ 0x57, 0, steps, true, device);
        if self.judge.is_none() {
            self.judge = Judge::for_project(self.p, device).ok();
        }
        let mut select = None;
        let mut scores = Vec::new();
        if let Some(j) = self.judge.as_mut() {
            let drawn = draw_and_judge(model, j, SCORED_PER_CLASS, seed ^ 0x5C0E, steps, device);
            // The denoiser epoch whose images its judge scores best (for dice, the most
            // countable pips, less a point for each doubling of their Fréchet distance
            // over the floor) is kept, as the die's: the count swings by several points
            // from one epoch to the next (a VAE epoch keeps none, so the first denoiser
            // epoch starts the race).
            if let Ok((v, images)) = drawn {
                let mut score = v.primary();
                if let Judge::Dice(classifier) = &*j {
                    let r = self
                        .reference
                        .get_or_insert_with(|| Reference::new(classifier, images.len(), device));
                    score -= FRECHET_POINT * r.doublings(classifier, &images, device);
                }
                select = Some(score as f32);
                scores = v.scores();
            }
        }
        EpochView {
            samples: classes.into_iter().zip(grid.images).collect(),
            strip: strip.previews.into_iter().flatten().collect(),
            scores,
            select,
            ..EpochView::default()
        }
    }

    fn export(&self, model: &LatentDiffusion) -> Result<ModelSpec, SpecError> {
        model.export_spec(self.p)
    }
}

/// The VAE's reconstructions of the first training samples of each class (twice over).
fn reconstructions(
    model: &LatentDiffusion,
    data: &[Example],
    device: &Device,
) -> Vec<(u8, Vec<u8>)> {
    let mut picked: Vec<&Example> = Vec::new();
    for c in 1..=model.classes as u8 {
        picked.extend(data.iter().filter(|s| s.label == c).take(SAMPLES_PER_CLASS));
    }
    if picked.is_empty() {
        return Vec::new();
    }
    let pixels: Vec<&[u8]> = picked.iter().map(|s| s.pixels.as_slice()).collect();
    let images = reconstruct(model, &pixels, device);
    picked.iter().map(|s| s.label).zip(images).collect()
}

/// The VAE's reconstructions of `pixels` (the float model, from each latent's mean).
pub fn reconstruct(model: &LatentDiffusion, pixels: &[&[u8]], device: &Device) -> Vec<Vec<u8>> {
    pixels
        .chunks(500)
        .flat_map(|chunk| {
            let (mu, _) = model.encode(images_tensor(chunk, device));
            to_pixels(model.decode_logits(mu))
        })
        .collect()
}

/// Draws `per_class` images of each class in `steps` steps and has the judge read them.
pub fn judge(
    model: &LatentDiffusion,
    judge: &mut Judge,
    per_class: usize,
    seed: u64,
    steps: u32,
    device: &Device,
) -> Result<Verdict, EngineError> {
    Ok(draw_and_judge(model, judge, per_class, seed, steps, device)?.0)
}

/// [`judge`], with the images drawn, one class after another.
pub fn draw_and_judge(
    model: &LatentDiffusion,
    judge: &mut Judge,
    per_class: usize,
    seed: u64,
    steps: u32,
    device: &Device,
) -> Result<(Verdict, Vec<Vec<u8>>), EngineError> {
    let mut verdict = judge.verdict(per_class);
    let mut all = Vec::with_capacity(per_class * model.classes);
    for label in 1..=model.classes as u8 {
        let class_seed = seed ^ (u64::from(label) << 32);
        let images = sample_many(model, &vec![label; per_class], class_seed, steps, device);
        judge.add(&mut verdict, label, &images, device)?;
        all.extend(images);
    }
    Ok((verdict, all))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::{self, Control, EpochLoss, TrainEvent, TrainOptions};
    use std::path::Path;

    /// One epoch of each stage on a few dice.
    fn tiny() -> Project {
        let mut p = Project::from_template(&super::super::def::DEF);
        p.dataset.size = 48;
        p.training.batch_size = 16;
        p.training.epochs = 2;
        p
    }

    fn train(p: &Project, dir: &Path, fresh: bool, epochs: Option<u32>) -> Vec<TrainEvent> {
        let opts = TrainOptions {
            checkpoints: dir.to_path_buf(),
            fresh,
            epochs,
            data: crate::data::Places::default(),
        };
        let mut events = Vec::new();
        let data = super::super::data::training_set(p, &opts.data).unwrap();
        train::run(
            SdTask::new(p, data),
            p,
            &opts,
            &Control::default(),
            &Device::flex(),
            &mut |e| events.push(e),
        )
        .unwrap();
        events
    }

    fn history(events: &[TrainEvent]) -> Vec<EpochLoss> {
        events
            .iter()
            .filter_map(|e| match e {
                TrainEvent::Epoch { loss, .. } => Some(loss.clone()),
                _ => None,
            })
            .collect()
    }

    fn decoder_weights(dir: &Path, p: &Project) -> Vec<Vec<i8>> {
        let spec = crate::checkpoint::read_weights(dir, super::super::spec::spec(p)).unwrap();
        spec.layers[5..]
            .iter()
            .map(|l| l.weights.as_ref().unwrap().values.clone())
            .collect()
    }

    #[test]
    fn the_vae_trains_first_then_the_denoiser_on_its_frozen_latents() {
        assert_eq!(
            (vae_epochs(2), vae_epochs(40), vae_epochs(1), vae_epochs(60)),
            (1, 10, 1, 10)
        );
        let d = tempfile::tempdir().unwrap();
        let p = tiny();
        let first = train(&p, d.path(), true, Some(1));
        let vae = decoder_weights(d.path(), &p);
        let events = train(&p, d.path(), false, None);
        let h = history(&first)
            .into_iter()
            .chain(history(&events))
            .collect::<Vec<_>>();
        assert_eq!(h.len(), 2);
        // Each epoch reports its own stage's losses only.
        assert!(h[0].loss("recon") > 0.0 && h[0].loss("kl") >= 0.0, "{h:?}");
        assert!(h[0].loss("flow").is_nan(), "{h:?}");
        assert!(
            h[1].loss("flow") > 0.0 && h[1].loss("recon").is_nan(),
            "{h:?}"
        );
        // The denoiser's stage leaves the VAE as it was.
        assert_eq!(decoder_weights(d.path(), &p), vae);
        // It shows the die forming, one image per step, and dice of every class.
        let Some(TrainEvent::Epoch { samples, strip, .. }) = events
            .iter()
            .find(|e| matches!(e, TrainEvent::Epoch { .. }))
        else {
            panic!("no epoch in {events:?}");
        };
        assert_eq!(strip.len(), p.model.steps as usize);
        assert!(strip.iter().all(|px| px.len() == 32 * 32));
        let classes: Vec<u8> = samples.iter().map(|(c, _)| *c).collect();
        assert_eq!(classes, [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]);
    }

    #[test]
    fn the_same_seed_gives_the_same_run_and_resume_continues_it() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let p = tiny();
        let straight = history(&train(&p, a.path(), true, None));
        assert_eq!(history(&train(&p, b.path(), true, None)), straight);
        // Stopped after the VAE's stage, resumed into the denoiser's: the same curve.
        let c = tempfile::tempdir().unwrap();
        let first = history(&train(&p, c.path(), true, Some(1)));
        let rest = history(&train(&p, c.path(), false, None));
        assert_eq!(first[..], straight[..1]);
        assert_eq!(rest.len(), 1);
        let (x, y) = (rest[0].loss("flow"), straight[1].loss("flow"));
        assert!((x - y).abs() < 1e-4, "{x} vs {y}");
    }

    /// The digits dataset: ten classes (labels 1 to 9, and 10 for 0), each shown after an
    /// epoch, read by the BitNet classifier alone (no pips to count), the 8 shown forming.
    #[test]
    fn streaming_sd_trains_on_digits_with_ten_classes() {
        let mut p = tiny();
        p.dataset.kind = Some(crate::project::DataKind::Digits);
        p.dataset.size = 60;
        let d = tempfile::tempdir().unwrap();
        let events = train(&p, d.path(), true, None);
        let Some(TrainEvent::Epoch {
            samples,
            strip,
            scores,
            ..
        }) = events
            .iter()
            .rfind(|e| matches!(e, TrainEvent::Epoch { .. }))
        else {
            panic!("no epoch in {events:?}");
        };
        let classes: Vec<u8> = samples.iter().map(|(c, _)| *c).collect();
        let want: Vec<u8> = (1..=10).flat_map(|c| [c, c]).collect();
        assert_eq!(classes, want);
        assert_eq!(strip.len(), p.model.steps as usize);
        let names: Vec<&str> = scores.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["read"]);
        // The spec the board gets has ten one-hot planes after the latent and the time.
        let spec = super::super::spec::spec(&p);
        assert_eq!((spec.classes, spec.input.c), (10, 4 + 1 + 10));
    }

    /// The kept epoch's Fréchet penalty: fresh renders sit near the floor, flat grey
    /// images many doublings above it, so a model drifting from the renders loses points.
    #[test]
    fn the_frechet_penalty_tells_renders_from_grey_images() {
        let device = Device::flex();
        let c = PipClassifier::shipped(&device).unwrap();
        let r = Reference::new(&c, 180, &device);
        let renders: Vec<Vec<u8>> = crate::data::die::steady_dataset(5, 180)
            .into_iter()
            .map(|d| d.pixels)
            .collect();
        let grey: Vec<Vec<u8>> = (0..180u8).map(|i| vec![100 + i / 4; 32 * 32]).collect();
        let (near, far) = (
            r.doublings(&c, &renders, &device),
            r.doublings(&c, &grey, &device),
        );
        assert!(near < 1.5, "renders: {near}");
        assert!(far > 4.0, "grey: {far}");
    }
}
