//! Scoring a trained die model the way the anchor project did: generate dice for each
//! requested pip count with the quantized decoder, let the separately trained pip
//! classifier read them, and count how often it reads what was asked for; on the device
//! path, the board's own latent draws through the C engine beside the burn integer model.

use super::model::{CLASSES, Cvae, images_tensor, normal_tensor, onehot_tensor, to_pixels};
use crate::data::die;
use crate::engine::{Engine, latent_input};
use crate::nn::int::{self, IntOutput};
use crate::project::Project;
use crate::scoring::pips::PipClassifier;
use crate::spec::ModelSpec;
use crate::template::EvalError;
use crate::util::rng::Rng;
use burn::prelude::*;
use std::path::Path;

/// Seeds of the fresh renders used for reconstruction error; never used for training.
const RECON_SEED: u64 = 0xE7A1_0001;

pub use crate::scoring::dice::{COUNT_COLUMNS, Judged};

#[derive(Debug, Clone, PartialEq)]
pub struct EvalReport {
    pub judged: Judged,
    /// Mean squared error per pixel (grey levels in 0..1) of encode → decode on fresh renders.
    pub recon_mse: f64,
}

impl EvalReport {
    pub fn to_text(&self) -> String {
        let j = &self.judged;
        let mut s = format!(
            "Pip accuracy: {}; {} dice per pip count\n\n",
            j.summary(),
            j.per_class
        );
        s += &j.matrices_text();
        s += &format!(
            "\nReconstruction error: {:.5} mean squared error per pixel on fresh renders\n",
            self.recon_mse
        );
        s
    }
}

/// Generates `per_class` dice per pip count with the decoder and judges them: by both
/// judges, or with `classifier` `None` by the counter alone (faster).
pub fn score_dice(
    model: &Cvae,
    classifier: Option<&PipClassifier>,
    per_class: usize,
    seed: u64,
    temperature: f32,
    device: &Device,
) -> Judged {
    let mut judged = Judged::new(per_class);
    let mut rng = Rng::new(seed);
    for pips in 1..=CLASSES as u8 {
        let mut left = per_class;
        while left > 0 {
            let n = left.min(256);
            left -= n;
            let z = normal_tensor(n, model.latent, &mut rng, device).mul_scalar(temperature);
            let images = to_pixels(model.decode_logits(z, onehot_tensor(&vec![pips; n], device)));
            match classifier {
                Some(c) => judged.add(pips, &images, c, device),
                None => judged.add_counted(pips, &images),
            }
        }
    }
    judged
}

/// Generates `per_class` dice per pip count and has them judged, then measures the
/// reconstruction error.
pub fn score(
    model: &Cvae,
    classifier: &PipClassifier,
    per_class: usize,
    seed: u64,
    temperature: f32,
    device: &Device,
) -> EvalReport {
    let judged = score_dice(
        model,
        Some(classifier),
        per_class,
        seed,
        temperature,
        device,
    );
    // Reconstruction: encode fresh renders, decode their means.
    let fresh = die::dataset(RECON_SEED ^ seed, 6 * 64);
    let refs: Vec<&[u8]> = fresh.iter().map(|s| s.pixels.as_slice()).collect();
    let pips: Vec<u8> = fresh.iter().map(|s| s.pips).collect();
    let x = images_tensor(&refs, device);
    let y = onehot_tensor(&pips, device);
    let (mu, _) = model.encode(x.clone(), y.clone());
    let out = burn::tensor::activation::sigmoid(model.decode_logits(mu, y));
    let mse: f32 = (out - x).powi_scalar(2).mean().into_scalar();
    EvalReport {
        judged,
        recon_mse: f64::from(mse),
    }
}

/// Loads a project's trained model from its checkpoint folder `dir` and scores it.
pub fn evaluate(
    p: &Project,
    file: &Path,
    dir: &Path,
    per_class: usize,
    seed: u64,
    temperature: f32,
    device: &Device,
) -> Result<EvalReport, EvalError> {
    let model = crate::template::load_trained(Cvae::new(p, p.training.seed, device), file, dir)?;
    let classifier = PipClassifier::shipped(device)?;
    Ok(score(
        &model,
        &classifier,
        per_class,
        seed,
        temperature,
        device,
    ))
}

/// Pip accuracy of dice drawn on the device path: the board's own latent draws
/// (`tg_latent`), decoded by the C engine, and, on the same inputs, by the burn integer
/// model. The two must agree byte for byte; the report says whether they did.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineReport {
    pub engine: Judged,
    /// `None` when the model has no weights outside its blob (the shipped model).
    pub burn: Option<Judged>,
    pub identical_bytes: Option<bool>,
}

impl EngineReport {
    pub fn to_text(&self) -> String {
        let e = &self.engine;
        let mut s = format!(
            "Device path: {} dice per pip count, the board's latent draws\n\
             C engine (integer, as on the board): {}\n",
            e.per_class,
            e.summary()
        );
        match (&self.burn, self.identical_bytes) {
            (Some(b), Some(same)) => {
                s += &format!(
                    "burn integer model, same inputs:      {:.2}% read, {:.2}% counted  (images {})\n",
                    b.read_accuracy() * 100.0,
                    b.counted_accuracy() * 100.0,
                    if same { "byte-identical" } else { "DIFFER" }
                );
            }
            _ => s += "burn integer model: not available for the shipped model (no checkpoint)\n",
        }
        s += "\nC engine\n";
        s += &e.matrices_text();
        s
    }
}

/// Scores a model blob through the C engine (and the burn integer model when `spec` has
/// weights). `temperature` is in 1/64, as the board takes it.
pub fn score_engine(
    blob: &[u8],
    spec: &ModelSpec,
    per_class: usize,
    seed: u32,
    temperature: u8,
    device: &Device,
) -> Result<EngineReport, EvalError> {
    let classifier = PipClassifier::shipped(device)?;
    let mut engine = Engine::load(blob)?;
    let latent = (engine.input_len() - CLASSES) as u8;
    let mut on_engine = Judged::new(per_class);
    let mut on_burn = Judged::new(per_class);
    let trained = spec.is_trained();
    let mut identical = true;
    for pips in 1..=CLASSES as u8 {
        let inputs: Vec<Vec<i8>> = (0..per_class)
            .map(|i| {
                let index = (usize::from(pips - 1) * per_class + i) as u16;
                latent_input(seed, index, temperature, pips, latent, CLASSES as u8)
            })
            .collect();
        let images: Vec<Vec<u8>> = inputs
            .iter()
            .map(|x| engine.run(x))
            .collect::<Result<_, _>>()?;
        on_engine.add(pips, &images, &classifier, device);
        if trained {
            let out = int::forward(spec, &inputs, device)?;
            let burn_images: Vec<Vec<u8>> = out
                .into_iter()
                .map(|o| match o {
                    IntOutput::Image(p) | IntOutput::Scores(p) => p,
                    IntOutput::Class { scores, .. } => scores.iter().map(|&v| v as u8).collect(),
                })
                .collect();
            identical &= burn_images == images;
            on_burn.add(pips, &burn_images, &classifier, device);
        }
    }
    Ok(EngineReport {
        engine: on_engine,
        burn: trained.then_some(on_burn),
        identical_bytes: trained.then_some(identical),
    })
}
