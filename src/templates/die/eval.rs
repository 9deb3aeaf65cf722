//! Scoring a trained die model the way the anchor project did: generate dice for each
//! requested pip count with the quantized decoder, let the separately trained pip
//! classifier read them, and count how often it reads what was asked for; on the device
//! path, the board's own latent draws through the C engine beside the burn integer model.

use super::model::{CLASSES, Cvae, images_tensor, normal_tensor, onehot_tensor, to_pixels};
use crate::data::die;
use crate::engine::{Engine, latent_input};
use crate::nn::int::{self, IntOutput};
use crate::project::Project;
use crate::scoring::holes;
use crate::scoring::pips::PipClassifier;
use crate::spec::ModelSpec;
use crate::template::EvalError;
use crate::util::rng::Rng;
use burn::prelude::*;
use std::path::Path;

/// Seeds of the fresh renders used for reconstruction error; never used for training.
const RECON_SEED: u64 = 0xE7A1_0001;

/// Columns of the counter's confusion matrix: 0 (no pips or no face) to 6, then 7 or more.
pub const COUNT_COLUMNS: usize = CLASSES + 2;

/// Generated dice judged twice: by the learned pip classifier, and by the counter of
/// distinct pips ([`crate::scoring::holes`]), which has no learning in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    pub per_class: usize,
    /// `read[asked - 1][read - 1]`, the pip classifier.
    pub read: [[u32; CLASSES]; CLASSES],
    /// `counted[asked - 1][pips found]`, the counter; the last column is seven or more.
    pub counted: [[u32; COUNT_COLUMNS]; CLASSES],
}

impl Judged {
    pub fn new(per_class: usize) -> Judged {
        Judged {
            per_class,
            read: [[0; CLASSES]; CLASSES],
            counted: [[0; COUNT_COLUMNS]; CLASSES],
        }
    }

    /// Judges `images`, all generated for `asked` pips.
    pub fn add(
        &mut self,
        asked: u8,
        images: &[Vec<u8>],
        classifier: &PipClassifier,
        device: &Device,
    ) {
        let row = usize::from(asked.clamp(1, CLASSES as u8) - 1);
        let refs: Vec<&[u8]> = images.iter().map(Vec::as_slice).collect();
        for read in classifier.classify(&refs, device) {
            self.read[row][usize::from(read.clamp(1, CLASSES as u8) - 1)] += 1;
        }
        for img in images {
            let n = holes::count(img, die::SIZE).pips();
            self.counted[row][n.min(COUNT_COLUMNS - 1)] += 1;
        }
    }

    /// The share the pip classifier read as asked.
    pub fn read_accuracy(&self) -> f64 {
        let right: u32 = (0..CLASSES).map(|i| self.read[i][i]).sum();
        f64::from(right) / (self.per_class * CLASSES).max(1) as f64
    }

    /// The share whose distinct pips, counted, are the number asked for.
    pub fn counted_accuracy(&self) -> f64 {
        let right: u32 = (0..CLASSES).map(|i| self.counted[i][i + 1]).sum();
        f64::from(right) / (self.per_class * CLASSES).max(1) as f64
    }

    /// The counted accuracy of each pip count, 1 to 6.
    pub fn counted_per_class(&self) -> [f64; CLASSES] {
        std::array::from_fn(|i| f64::from(self.counted[i][i + 1]) / self.per_class.max(1) as f64)
    }

    /// The pip count the counter gets right least often, and how often.
    pub fn worst_counted(&self) -> (u8, f64) {
        let per = self.counted_per_class();
        let i = (0..CLASSES)
            .min_by(|&a, &b| per[a].total_cmp(&per[b]))
            .unwrap_or(0);
        (i as u8 + 1, per[i])
    }

    /// Both scores in a line: "97.50% read by the pip classifier, 81.00% counted …".
    pub fn summary(&self) -> String {
        let (worst, worst_acc) = self.worst_counted();
        format!(
            "{:.2}% read by the pip classifier, {:.2}% counted as distinct pips (worst: {worst} \
             at {:.2}%)",
            self.read_accuracy() * 100.0,
            self.counted_accuracy() * 100.0,
            worst_acc * 100.0
        )
    }

    /// Both confusion matrices, one table per judge.
    pub fn matrices_text(&self) -> String {
        let mut s = String::from(
            "pip classifier (learned)\n  asked \\ read     1     2     3     4     5     6\n",
        );
        for (i, row) in self.read.iter().enumerate() {
            s += &format!("      {}     ", i + 1);
            for v in row {
                s += &format!("{v:>6}");
            }
            s += "\n";
        }
        s += "\ndistinct pips counted (no learning)\n  asked \\ counted  0     1     2     3     4     5     6    7+   right\n";
        for (i, row) in self.counted.iter().enumerate() {
            s += &format!("      {}     ", i + 1);
            for v in row {
                s += &format!("{v:>6}");
            }
            s += &format!("  {:6.2}%\n", self.counted_per_class()[i] * 100.0);
        }
        s
    }
}

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

/// Generates `per_class` dice per pip count with the decoder and judges them.
pub fn score_dice(
    model: &Cvae,
    classifier: &PipClassifier,
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
            judged.add(pips, &images, classifier, device);
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
    let judged = score_dice(model, classifier, per_class, seed, temperature, device);
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
