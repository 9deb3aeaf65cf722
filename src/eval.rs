//! Scoring a trained die model the way the anchor project did: generate dice for each
//! requested pip count with the quantized decoder, let the separately trained pip
//! classifier read them, and count how often it reads what was asked for.

use crate::data::{Rng, die};
use crate::model::classifier::PipClassifier;
use crate::model::cvae::{CLASSES, Cvae, images_tensor, normal_tensor, onehot_tensor, to_pixels};
use crate::project::Project;
use burn::module::Module;
use burn::prelude::*;
use std::path::Path;

/// Seeds of the fresh renders used for reconstruction error; never used for training.
const RECON_SEED: u64 = 0xE7A1_0001;

#[derive(Debug, Clone, PartialEq)]
pub struct EvalReport {
    pub per_class: usize,
    /// `confusion[asked - 1][read - 1]`.
    pub confusion: [[u32; CLASSES]; CLASSES],
    /// Mean squared error per pixel (grey levels in 0..1) of encode → decode on fresh renders.
    pub recon_mse: f64,
}

impl EvalReport {
    pub fn accuracy(&self) -> f64 {
        let right: u32 = (0..CLASSES).map(|i| self.confusion[i][i]).sum();
        f64::from(right) / (self.per_class * CLASSES) as f64
    }

    pub fn to_text(&self) -> String {
        let mut s = format!(
            "Pip accuracy: {:.2}% ({} dice per pip count, read by the pip classifier)\n\n",
            self.accuracy() * 100.0,
            self.per_class
        );
        s += "asked \\ read     1     2     3     4     5     6\n";
        for (i, row) in self.confusion.iter().enumerate() {
            s += &format!("      {}     ", i + 1);
            for v in row {
                s += &format!("{v:>6}");
            }
            s += "\n";
        }
        s += &format!(
            "\nReconstruction error: {:.5} mean squared error per pixel on fresh renders\n",
            self.recon_mse
        );
        s
    }
}

/// Generates `per_class` dice per pip count with the decoder and has them read.
pub fn score(
    model: &Cvae,
    classifier: &PipClassifier,
    per_class: usize,
    seed: u64,
    temperature: f32,
    device: &Device,
) -> EvalReport {
    let mut confusion = [[0u32; CLASSES]; CLASSES];
    let mut rng = Rng::new(seed);
    for pips in 1..=CLASSES as u8 {
        let mut left = per_class;
        while left > 0 {
            let n = left.min(256);
            left -= n;
            let z = normal_tensor(n, model.latent, &mut rng, device).mul_scalar(temperature);
            let images = to_pixels(model.decode_logits(z, onehot_tensor(&vec![pips; n], device)));
            let refs: Vec<&[u8]> = images.iter().map(Vec::as_slice).collect();
            for read in classifier.classify(&refs, device) {
                confusion[pips as usize - 1][read as usize - 1] += 1;
            }
        }
    }
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
        per_class,
        confusion,
        recon_mse: f64::from(mse),
    }
}

/// Loads a project's trained model from its checkpoints and scores it.
pub fn evaluate(
    p: &Project,
    project_file: &Path,
    per_class: usize,
    seed: u64,
    temperature: f32,
) -> Result<EvalReport, String> {
    if p.template != crate::template::TemplateId::CvaeDie {
        return Err(format!(
            "evaluating the '{}' template is not built yet",
            p.template
        ));
    }
    let dir = p.resolve(project_file, &p.artifacts.checkpoints);
    let file = dir.join("model.bpk");
    if !file.exists() {
        return Err(format!(
            "no trained model in '{}'; train it first with 'tinygen train {}'",
            dir.display(),
            project_file.display()
        ));
    }
    let device = Device::flex();
    let model = Cvae::new(p, p.training.seed, &device)
        .try_load_file(&file)
        .map_err(|e| {
            format!(
                "cannot load '{}' ({e}); it was trained for other settings or is damaged: \
                 'tinygen train --fresh {}'",
                file.display(),
                project_file.display()
            )
        })?;
    let classifier = PipClassifier::shipped(&device)?;
    Ok(score(
        &model,
        &classifier,
        per_class,
        seed,
        temperature,
        &device,
    ))
}

/// The shipped classifier's accuracy on `n` fresh renders.
pub fn classifier_accuracy(n: usize) -> Result<f64, String> {
    let device = Device::flex();
    let model = PipClassifier::shipped(&device)?;
    Ok(crate::model::classifier::accuracy_on_fresh(
        &model,
        0xF8E5_0000,
        n,
        &device,
    ))
}

/// Pip accuracy of dice drawn on the device path: the board's own latent draws
/// (`tg_latent`), decoded by the C engine, and, on the same inputs, by the burn integer
/// model. The two must agree byte for byte; the report says whether they did.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineReport {
    pub per_class: usize,
    pub engine_confusion: [[u32; CLASSES]; CLASSES],
    /// `None` when the model has no weights outside its blob (the shipped model).
    pub burn_accuracy: Option<f64>,
    pub identical_bytes: Option<bool>,
}

fn accuracy_of(c: &[[u32; CLASSES]; CLASSES], per_class: usize) -> f64 {
    let right: u32 = (0..CLASSES).map(|i| c[i][i]).sum();
    f64::from(right) / (per_class * CLASSES) as f64
}

impl EngineReport {
    pub fn engine_accuracy(&self) -> f64 {
        accuracy_of(&self.engine_confusion, self.per_class)
    }

    pub fn to_text(&self) -> String {
        let mut s = format!(
            "Device path: {} dice per pip count, the board's latent draws, read by the pip classifier\n\
             C engine (integer, as on the board): {:.2}%\n",
            self.per_class,
            self.engine_accuracy() * 100.0
        );
        match (self.burn_accuracy, self.identical_bytes) {
            (Some(b), Some(same)) => {
                s += &format!(
                    "burn integer model, same inputs:      {:.2}%  (difference {:.2} points; images {})\n",
                    b * 100.0,
                    (self.engine_accuracy() - b).abs() * 100.0,
                    if same { "byte-identical" } else { "DIFFER" }
                );
            }
            _ => s += "burn integer model: not available for the shipped model (no checkpoint)\n",
        }
        s
    }
}

/// Scores a model blob through the C engine (and the burn integer model when `spec` has
/// weights). `temperature` is in 1/64, as the board takes it.
pub fn score_engine(
    blob: &[u8],
    spec: &crate::spec::ModelSpec,
    per_class: usize,
    seed: u32,
    temperature: u8,
) -> Result<EngineReport, String> {
    let device = Device::flex();
    let classifier = PipClassifier::shipped(&device)?;
    let mut engine = crate::engine::Engine::load(blob).map_err(|e| e.to_string())?;
    let latent = (engine.input_len() - CLASSES) as u8;
    let mut engine_confusion = [[0u32; CLASSES]; CLASSES];
    let mut burn_confusion = [[0u32; CLASSES]; CLASSES];
    let trained = spec.layers.iter().all(|l| l.weights.is_some());
    let mut identical = true;
    for pips in 1..=CLASSES as u8 {
        let inputs: Vec<Vec<i8>> = (0..per_class)
            .map(|i| {
                let index = (usize::from(pips - 1) * per_class + i) as u16;
                crate::engine::latent_input(seed, index, temperature, pips, latent, CLASSES as u8)
            })
            .collect();
        let images: Vec<Vec<u8>> = inputs
            .iter()
            .map(|x| engine.run(x).map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()?;
        let refs: Vec<&[u8]> = images.iter().map(Vec::as_slice).collect();
        for read in classifier.classify(&refs, &device) {
            engine_confusion[usize::from(pips - 1)][usize::from(read.clamp(1, 6) - 1)] += 1;
        }
        if trained {
            let out =
                crate::model::int::forward(spec, &inputs, &device).map_err(|e| e.to_string())?;
            let burn_images: Vec<Vec<u8>> = out
                .into_iter()
                .map(|o| match o {
                    crate::model::int::IntOutput::Image(p)
                    | crate::model::int::IntOutput::Scores(p) => p,
                    crate::model::int::IntOutput::Class { scores, .. } => {
                        scores.iter().map(|&v| v as u8).collect()
                    }
                })
                .collect();
            identical &= burn_images == images;
            let refs: Vec<&[u8]> = burn_images.iter().map(Vec::as_slice).collect();
            for read in classifier.classify(&refs, &device) {
                burn_confusion[usize::from(pips - 1)][usize::from(read.clamp(1, 6) - 1)] += 1;
            }
        }
    }
    Ok(EngineReport {
        per_class,
        engine_confusion,
        burn_accuracy: trained.then(|| accuracy_of(&burn_confusion, per_class)),
        identical_bytes: trained.then_some(identical),
    })
}

/// A digit confusion matrix (`[true][predicted]`) as text, with the accuracy of each row.
pub fn confusion_text(m: &[Vec<u32>]) -> String {
    let mut s = String::from("true \\ predicted");
    for c in 0..m.len() {
        s += &format!("{c:>6}");
    }
    s += "   correct\n";
    for (i, row) in m.iter().enumerate() {
        s += &format!("{i:>17}");
        for v in row {
            s += &format!("{v:>6}");
        }
        let total: u32 = row.iter().sum();
        s += &format!(
            "   {:6.2}%\n",
            f64::from(row[i]) * 100.0 / f64::from(total.max(1))
        );
    }
    s
}

/// A digit classifier on a test set: the burn integer model and the C engine on the same
/// 16x16 inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct DigitReport {
    /// What was scored (e.g. the official test set's path).
    pub source: String,
    /// `[true][predicted]` of the burn integer model.
    pub confusion: Vec<Vec<u32>>,
    /// `[true][predicted]` of the C engine, as the board runs it.
    pub engine_confusion: Vec<Vec<u32>>,
    /// Digits where the engine's class and scores equal the burn integer model's.
    pub identical: usize,
}

impl DigitReport {
    pub fn to_text(&self) -> String {
        let n: u32 = self.confusion.iter().flatten().sum();
        let acc = crate::train::mnist::accuracy(&self.confusion);
        let eng = crate::train::mnist::accuracy(&self.engine_confusion);
        let mut s = format!(
            "Accuracy on {n} digits of {}: {:.2}% (burn integer model)\n\
             C engine, as on the board:  {:.2}%  ({} of {n} answers identical, class and scores)\n\n",
            self.source,
            acc * 100.0,
            eng * 100.0,
            self.identical
        );
        s += &confusion_text(&self.confusion);
        s
    }
}

/// Scores a classifier's spec (with weights) and blob on labelled digits.
pub fn score_digits(
    spec: &crate::spec::ModelSpec,
    blob: &[u8],
    digits: &crate::data::mnist::Digits,
    source: String,
) -> Result<DigitReport, String> {
    use crate::model::int::IntOutput;
    let device = Device::flex();
    let inputs = crate::data::mnist::inputs(digits);
    let mut engine = crate::engine::Engine::load(blob).map_err(|e| e.to_string())?;
    let classes = crate::model::bitnet::CLASSES;
    let mut confusion = vec![vec![0u32; classes]; classes];
    let mut engine_confusion = vec![vec![0u32; classes]; classes];
    let mut identical = 0;
    for (chunk, labels) in inputs.chunks(1000).zip(digits.labels.chunks(1000)) {
        let batch: Vec<Vec<i8>> = chunk
            .iter()
            .map(|x| x.iter().map(|&v| v as i8).collect())
            .collect();
        let out = crate::model::int::forward(spec, &batch, &device).map_err(|e| e.to_string())?;
        for ((x, o), &label) in chunk.iter().zip(out).zip(labels) {
            let IntOutput::Class { class, scores } = o else {
                return Err("this model is not a classifier".into());
            };
            let got = engine.classify(x).map_err(|e| e.to_string())?;
            confusion[usize::from(label)][usize::from(class)] += 1;
            engine_confusion[usize::from(label)][usize::from(got.0.min(9))] += 1;
            identical += usize::from(got == (class, scores));
        }
    }
    Ok(DigitReport {
        source,
        confusion,
        engine_confusion,
        identical,
    })
}
