//! Scoring a trained latent-diffusion model: images drawn from noise for each class at the
//! project's step count, then at 4, 2 and 1 steps on the same grid, each set read by its
//! judges ([`super::judge`]: for dice the pip classifier and the non-learned pip counter,
//! for digits the BitNet digit classifier), and a Fréchet distance against fresh data
//! beside the floor between two fresh sets. Beside the report it writes the pictures a
//! person judges the model by: a grid of classes by seeds, and one image per class forming
//! step by step.

use super::data::{Words, short, words};
use super::judge::Judge;
use super::model::{LatentDiffusion, SIDE};
use super::sample::sample;
use super::task::{draw_and_judge, judge};
use crate::data::mnist::{self, Split};
use crate::project::{DataKind, Project};
use crate::scoring::digits::{self, DigitJudge};
use crate::scoring::pips::PipClassifier;
use crate::template::{EvalError, EvalRequest};
use burn::prelude::*;
use std::path::{Path, PathBuf};

/// Seeds per class in the grid PNG.
const GRID_SEEDS: usize = 8;
/// Scale of the PNGs.
const PNG_SCALE: usize = 4;
/// Seeds of the fresh renders the Fréchet distance compares with; never trained on.
const RENDER_SEED: u64 = 0xF7EC_0001;

/// Loads the project's trained model from its checkpoint folder.
pub fn load(
    p: &Project,
    file: &Path,
    dir: &Path,
    device: &Device,
) -> Result<LatentDiffusion, EvalError> {
    crate::template::load_trained(LatentDiffusion::new(p, p.training.seed, device), file, dir)
}

/// `tinygen eval` of a Streaming SD project.
pub fn evaluate(req: &EvalRequest, device: &Device) -> Result<String, EvalError> {
    let p = req.project;
    let w = words(p.data_kind());
    if req.test.is_some() {
        return Err(EvalError::BadRequest(format!(
            "--test names the test set of a digit classifier (template bitnet-mnist); a \
             diffusion model is scored on {} it draws: leave --test out",
            w.many
        )));
    }
    if (req.temperature - 1.0).abs() > f32::EPSILON {
        return Err(EvalError::BadRequest(
            "--temperature scales a CVAE's latent draws; a diffusion model always starts from \
             unit noise: leave --temperature out"
                .into(),
        ));
    }
    if req.engine {
        return engine(req, device);
    }
    let mut model = load(p, req.file, &req.checkpoints, device)?;
    if let Some(g) = req.guidance {
        model.guidance.0 = (g * 16.0).round() as u8;
    }
    let mut judge_ = Judge::for_project(p, device).map_err(judge_error)?;
    let steps = p.model.steps.max(1);
    let mut s = format!(
        "Streaming SD: {} {} {} drawn from noise (seed {}, guidance {}), {}\n\n",
        req.count,
        w.many,
        w.each,
        req.seed,
        f32::from(model.guidance.0) / 16.0,
        judged_by(p.data_kind())
    );
    let mut first = None;
    let mut drawn = Vec::new();
    for k in ladder(steps) {
        let v = if k == steps {
            let (v, images) = draw_and_judge(&model, &mut judge_, req.count, req.seed, k, device)?;
            drawn = images;
            v
        } else {
            judge(&model, &mut judge_, req.count, req.seed, k, device)?
        };
        if first.is_none() {
            s += &format!("  steps   {}\n", v.header());
        }
        s += &format!("  {k:>5}  {}\n", v.row());
        first.get_or_insert(v);
    }
    if let Some(v) = first {
        s += &format!("\nAt {steps} steps\n{}", v.matrices_text());
    }
    // The Fréchet distance in the features of the judge that read the images.
    s += &match &mut judge_ {
        Judge::Dice(classifier) => {
            let f = frechet(&model, classifier, &drawn, req.seed, device);
            format!(
                "\nFréchet distance in the pip classifier's features, {} dice at {steps} steps \
                 against as many fresh renders: {:.3}\n  two sets of fresh renders against \
                 each other (the floor): {:.3}\n  the VAE's reconstructions of renders (what \
                 the decoder alone reaches): {:.3}\n",
                drawn.len(),
                f.drawn,
                f.floor,
                f.decoder
            )
        }
        Judge::Digits(classifier) => {
            let f = digit_frechet(&model, classifier, &drawn, &req.data, device)?;
            format!(
                "\nFréchet distance in the digit classifier's scores, {} digits at {steps} \
                 steps against as many test digits: {:.3}\n  two sets of test digits against \
                 each other (the floor): {:.3}\n  the VAE's reconstructions of test digits \
                 (what the decoder alone reaches): {:.3}\n",
                drawn.len(),
                f.drawn,
                f.floor,
                f.decoder
            )
        }
    };
    let (grid, strip) = pictures(
        &model,
        p.data_kind(),
        req.seed,
        steps,
        &req.checkpoints,
        device,
    );
    s += &format!(
        "\nPictures: {} ({} seeds {}), {} (one {}, step by step)\n",
        grid.display(),
        GRID_SEEDS,
        w.each,
        strip.display(),
        w.each
    );
    Ok(s)
}

fn judged_by(kind: DataKind) -> &'static str {
    match kind {
        DataKind::Dice => "read by the pip classifier and counted as distinct pips",
        DataKind::Digits => "read by the BitNet digit classifier (assets/digit-classifier.bin)",
    }
}

fn judge_error(e: super::judge::JudgeError) -> EvalError {
    match e {
        super::judge::JudgeError::Pips(e) => e.into(),
        super::judge::JudgeError::Digits(e) => e.into(),
    }
}

/// `eval --engine`: the images as a board draws them, by the C runner from its integer
/// noise, beside burn's integer model on the same seeds; the judges read the C runner's.
fn engine(req: &EvalRequest, device: &Device) -> Result<String, EvalError> {
    let p = req.project;
    let Words { many, each, .. } = words(p.data_kind());
    let m = crate::deploy::model_for(
        super::spec::spec(p),
        None,
        &req.checkpoints,
        &p.name,
        Some(req.file),
    )?;
    let mut c = crate::engine::diffusion::Diffusion::load(&m.blob)?;
    let mut judge_ = Judge::for_project(p, device).map_err(judge_error)?;
    let classes = c.classes();
    let steps = p.model.steps.clamp(1, 255);
    let seed = req.seed as u32;
    let mut s = format!(
        "Model: {} (hash {:08x})\nDevice path: {} {many} {each}, the C runner's integer \
         sampler from seed {seed}, {}\n\n",
        m.origin,
        m.hash(),
        req.count,
        judged_by(p.data_kind())
    );
    let mut first = None;
    for k in ladder(steps) {
        let mut verdict = judge_.verdict(req.count);
        let mut same = true;
        for label in 1..=classes {
            let jobs: Vec<(u32, u8)> = (0..req.count)
                .map(|i| ((usize::from(label - 1) * req.count + i) as u32, label))
                .collect();
            let images: Vec<Vec<u8>> = jobs
                .iter()
                .map(|&(i, label)| c.sample(seed, i, label, k as u8, false).map(|r| r.0))
                .collect::<Result<_, _>>()?;
            for chunk in jobs.chunks(256).zip(images.chunks(256)) {
                let burn = super::int::sample(&m.spec, seed, chunk.0, k, false, device)?;
                same &= burn.images == chunk.1;
            }
            judge_.add(&mut verdict, label, &images, device)?;
        }
        if first.is_none() {
            s += &format!("  steps   {}   burn integer model\n", verdict.header());
        }
        s += &format!(
            "  {k:>5}  {}  {}\n",
            verdict.row(),
            if same { "byte-identical" } else { "DIFFERS" }
        );
        first.get_or_insert(verdict);
    }
    if let Some(v) = first {
        s += &format!("\nC runner at {steps} steps\n{}", v.matrices_text());
    }
    Ok(s)
}

/// Fréchet distances in the pip classifier's features, each to one set of fresh renders
/// of as many dice (as many of each pip count) in the steady poses the model trains on.
struct Frechet {
    /// The drawn dice's.
    drawn: f64,
    /// A second set of fresh renders': the floor, which no model can beat.
    floor: f64,
    /// The VAE's reconstructions of that second set: what the decoder alone reaches, so
    /// the part of `drawn` the denoiser adds shows.
    decoder: f64,
}

/// The drawn dice's distance, the floor and the decoder's, against one render set.
fn frechet(
    model: &LatentDiffusion,
    classifier: &PipClassifier,
    drawn: &[Vec<u8>],
    seed: u64,
    device: &Device,
) -> Frechet {
    let n = drawn.len().max(2);
    let features = |images: &[&[u8]]| classifier.features(images, device);
    let a = crate::data::die::steady_dataset(RENDER_SEED ^ seed, n);
    let b = crate::data::die::steady_dataset(RENDER_SEED ^ seed ^ 0xB, n);
    let a: Vec<&[u8]> = a.iter().map(|d| d.pixels.as_slice()).collect();
    let b: Vec<&[u8]> = b.iter().map(|d| d.pixels.as_slice()).collect();
    let reference = features(&a);
    let recon = super::task::reconstruct(model, &b, device);
    let recon: Vec<&[u8]> = recon.iter().map(Vec::as_slice).collect();
    let drawn: Vec<&[u8]> = drawn.iter().map(Vec::as_slice).collect();
    let distance = |x: &[&[u8]]| crate::scoring::frechet::distance(&features(x), &reference);
    Frechet {
        drawn: distance(&drawn),
        floor: distance(&b),
        decoder: distance(&recon),
    }
}

/// [`Frechet`] for digits, in the BitNet classifier's ten scores, against the MNIST test
/// digits (never trained on), padded as the training digits are.
fn digit_frechet(
    model: &LatentDiffusion,
    j: &mut DigitJudge,
    drawn: &[Vec<u8>],
    places: &crate::data::Places,
    device: &Device,
) -> Result<Frechet, EvalError> {
    let (test, _) = mnist::load(places, Split::Test).map_err(crate::template::DataError::from)?;
    let n = drawn.len().clamp(2, test.len() / 2);
    let padded = |range: std::ops::Range<usize>| -> Vec<Vec<u8>> {
        range.map(|i| digits::pad(test.image(i))).collect()
    };
    let (a, b) = (padded(0..n), padded(n..2 * n));
    let mut features = |images: &[Vec<u8>]| -> Result<Vec<Vec<f64>>, EvalError> {
        images.iter().map(|x| Ok(j.scores(x)?)).collect()
    };
    let reference = features(&a)?;
    let b_refs: Vec<&[u8]> = b.iter().map(Vec::as_slice).collect();
    let recon = super::task::reconstruct(model, &b_refs, device);
    let distance = |f: Vec<Vec<f64>>| crate::scoring::frechet::distance(&f, &reference);
    Ok(Frechet {
        drawn: distance(features(&drawn[..n.min(drawn.len())])?),
        floor: distance(features(&b)?),
        decoder: distance(features(&recon)?),
    })
}

/// The step counts scored: the project's, then halving on the same grid down to one.
pub fn ladder(steps: u32) -> Vec<u32> {
    let mut out = vec![steps.max(1)];
    let mut k = steps;
    while k > 1 && k.is_multiple_of(2) {
        k /= 2;
        out.push(k);
    }
    if *out.last().unwrap_or(&1) != 1 {
        out.push(1);
    }
    out
}

/// Writes `eval-grid.png` and `eval-strip.png` into `dir`; their paths. A picture that
/// cannot be written is left out without failing the scores.
fn pictures(
    model: &LatentDiffusion,
    kind: DataKind,
    seed: u64,
    steps: u32,
    dir: &Path,
    device: &Device,
) -> (PathBuf, PathBuf) {
    let classes: Vec<u8> = (1..=model.classes as u8)
        .flat_map(|c| std::iter::repeat_n(c, GRID_SEEDS))
        .collect();
    let drawn = sample(model, &classes, seed ^ 0x9A1D, 0, steps, false, device);
    let labels: Vec<String> = classes.iter().map(|&c| short(kind, c)).collect();
    let images: Vec<(&str, &[u8])> = labels
        .iter()
        .zip(&drawn.images)
        .map(|(l, px)| (l.as_str(), px.as_slice()))
        .collect();
    let grid = dir.join("eval-grid.png");
    let (px, w, h) = crate::preview::sheet(&images, SIDE, SIDE, GRID_SEEDS, PNG_SCALE);
    let _ = crate::preview::write_png(&grid, &px, w, h);

    // Rows: classes; columns: the steps' x̂0, then the finished image.
    let per: Vec<u8> = (1..=model.classes as u8).collect();
    let formed = sample(model, &per, seed ^ 0x57, 0, steps, true, device);
    let mut cells: Vec<(String, &[u8])> = Vec::new();
    for (i, _) in per.iter().enumerate() {
        for (k, shot) in formed.previews.iter().enumerate() {
            cells.push(((k + 1).to_string(), shot[i].as_slice()));
        }
        cells.push(("-".to_string(), formed.images[i].as_slice()));
    }
    let images: Vec<(&str, &[u8])> = cells.iter().map(|(l, px)| (l.as_str(), *px)).collect();
    let strip = dir.join("eval-strip.png");
    let cols = formed.previews.len() + 1;
    let (px, w, h) = crate::preview::sheet(&images, SIDE, SIDE, cols, PNG_SCALE);
    let _ = crate::preview::write_png(&strip, &px, w, h);
    (grid, strip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ladder_halves_the_steps_down_to_one() {
        assert_eq!(ladder(8), vec![8, 4, 2, 1]);
        assert_eq!(ladder(6), vec![6, 3, 1]);
        assert_eq!(ladder(1), vec![1]);
        assert_eq!(ladder(5), vec![5, 1]);
    }

    /// The three Fréchet references measure what they say: renders offered as the drawn
    /// dice sit at the floor's order, and an untrained VAE's grey blurs far above it, so
    /// the decoder's line tells a decoder that cannot draw dice from a denoiser that
    /// cannot.
    #[test]
    fn the_decoders_frechet_line_tells_an_untrained_vae_from_the_renders() {
        let device = Device::flex();
        let p = Project::from_template(&super::super::def::DEF);
        let model = LatentDiffusion::new(&p, 1, &device);
        let classifier = PipClassifier::shipped(&device).unwrap();
        let renders: Vec<Vec<u8>> = crate::data::die::steady_dataset(99, 120)
            .into_iter()
            .map(|d| d.pixels)
            .collect();
        let f = frechet(&model, &classifier, &renders, 7, &device);
        assert!(f.floor > 0.0, "two render sets differ a little");
        assert!(
            f.drawn < 5.0 * f.floor,
            "renders: {} vs floor {}",
            f.drawn,
            f.floor
        );
        assert!(
            f.decoder > 50.0 * f.floor,
            "an untrained decoder: {} vs floor {}",
            f.decoder,
            f.floor
        );
    }
}
