//! `tinygen report PROJECT` (issue #20, item 4): one folder to hand in. `report.md` (with
//! `curves.png` and `gallery.png` beside it) is for a person: the project, the workshop
//! steps done, the budget, the training curves, the evaluation with its confusion matrix,
//! a gallery of generated images, and the model hash and versions. `report.json` has the
//! same facts for a leader to gather. Every file is written atomically.

pub mod chart;

use crate::project::Project;
use crate::spec::ModelKind;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What goes into a report.
#[derive(Debug, Clone)]
pub struct Options {
    /// Run the template's evaluation (it takes a while for a generator: it draws and
    /// scores `count` images per class).
    pub eval: bool,
    pub count: usize,
    pub seed: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Model(#[from] crate::deploy::ModelError),
    #[error("cannot write '{}': {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the model could not be run: {0}")]
    Engine(#[from] crate::engine::EngineError),
}

/// The JSON half: the facts a leader gathers.
#[derive(Debug, Clone, Serialize)]
pub struct Facts {
    pub tinygen: &'static str,
    pub project: String,
    pub file: String,
    pub template: String,
    pub target: String,
    pub model_hash: String,
    pub model_origin: String,
    pub model_bytes: usize,
    pub budget: crate::budget::Budget,
    pub epochs_trained: u32,
    pub last_losses: Vec<(String, f32)>,
    pub last_accuracy: Option<f32>,
    pub evaluation: Option<String>,
    pub steps_done: usize,
    pub steps: Vec<crate::workshop::StepState>,
}

/// Builds the report of the project in `file` into `out`, and returns its facts.
pub fn write(p: &Project, file: &Path, out: &Path, o: &Options) -> Result<Facts, ReportError> {
    let template = crate::templates::of(p);
    let m = crate::templates::deployable(p, Some(file))?;
    let target = crate::target::find(&p.target);
    // The plan a board would run: layer by layer, else tiled when only that fits.
    let t = target.unwrap_or_else(|| crate::target::find("host").expect("a built-in target"));
    let plan = |plan| crate::budget::for_project(p, &crate::templates::spec, t, plan);
    let budget = match plan(crate::budget::Plan::Layer) {
        b if b.fits => b,
        b => Some(plan(crate::budget::Plan::Tiled))
            .filter(|t| t.fits)
            .unwrap_or(b),
    };
    let losses: Vec<&str> = template.losses().iter().map(|l| l.name).collect();
    let history = crate::checkpoint::saved_history(p, &p.checkpoint_dir(Some(file)), &losses);
    let (w, _) = crate::workshop::load(p, Some(file))
        .unwrap_or_else(|_| (crate::workshop::builtin(p), String::new()));
    let steps = crate::workshop::evaluate(&w, p, Some(file));
    let evaluation = if o.eval {
        let req = crate::template::EvalRequest {
            project: p,
            file,
            checkpoints: p.checkpoint_dir(Some(file)),
            data: p.data_places(Some(file)),
            count: o.count,
            seed: o.seed,
            temperature: 1.0,
            engine: false,
            test: None,
            guidance: None,
        };
        Some(
            template
                .evaluate(&req, &burn::prelude::Device::flex())
                .unwrap_or_else(|e| {
                    format!("the evaluation failed: {}", crate::util::error_chain(&e))
                }),
        )
    } else {
        None
    };
    let make = |e: std::io::Error, name: &str| ReportError::Write {
        path: out.join(name),
        source: e,
    };
    std::fs::create_dir_all(out).map_err(|e| make(e, ""))?;

    let (curves, cw, ch) = chart::curves(&history, &losses);
    crate::preview::write_png(&out.join("curves.png"), &curves, cw, ch)
        .map_err(|e| make(e, "curves.png"))?;
    let (gallery, caption) = gallery(p, &m, o.seed)?;
    crate::preview::write_png(&out.join("gallery.png"), &gallery.0, gallery.1, gallery.2)
        .map_err(|e| make(e, "gallery.png"))?;

    let last = history.last();
    let facts = Facts {
        tinygen: env!("CARGO_PKG_VERSION"),
        project: p.name.clone(),
        file: file.display().to_string(),
        template: p.template.name.to_string(),
        target: p.target.clone(),
        model_hash: format!("{:08x}", m.hash()),
        model_origin: m.origin.to_string(),
        model_bytes: m.blob.len(),
        budget: budget.clone(),
        epochs_trained: last.map_or(0, |e| e.epoch),
        last_losses: last.map(|e| e.losses.clone()).unwrap_or_default(),
        last_accuracy: last.and_then(|e| e.test_accuracy.or(e.accuracy)),
        evaluation,
        steps_done: steps.iter().filter(|s| s.done).count(),
        steps,
    };
    let md = markdown(p, file, &facts, &budget, &losses, &caption);
    crate::util::fsutil::write_atomic(&out.join("report.md"), md.as_bytes())
        .map_err(|e| make(e, "report.md"))?;
    let json = serde_json::to_string_pretty(&facts).expect("the facts serialise") + "\n";
    crate::util::fsutil::write_atomic(&out.join("report.json"), json.as_bytes())
        .map_err(|e| make(e, "report.json"))?;
    Ok(facts)
}

type Sheet = (Vec<u8>, usize, usize);

/// Images of the model, a row per class (a generator or a diffusion model: four draws
/// each; a classifier: test inputs under the class the model gives them), and a caption.
fn gallery(
    p: &Project,
    m: &crate::deploy::Deployable,
    seed: u64,
) -> Result<(Sheet, String), ReportError> {
    let (sheet, caption, _) = gallery_images(p, m, seed)?;
    Ok((sheet, caption))
}

/// The gallery, its caption, and its images under their labels.
type Images = Vec<(String, Vec<u8>)>;
fn gallery_images(
    p: &Project,
    m: &crate::deploy::Deployable,
    seed: u64,
) -> Result<(Sheet, String, Images), ReportError> {
    let out = m.spec.layers.last().map(|l| l.output);
    let (w, h) = out.map_or((1, 1), |s| (s.w as usize, s.h as usize));
    let classes = m.spec.classes as u8;
    let per = 4u16;
    let seed32 = seed as u32;
    let mut images: Vec<(String, Vec<u8>)> = Vec::new();
    // A generator's label as its sheet shows it: the pip count, or the digit (label 10
    // draws a 0).
    let name = |label: u8| match p.data_kind() {
        crate::project::DataKind::Dice => label.to_string(),
        crate::project::DataKind::Digits => crate::scoring::digits::digit_of(label).to_string(),
    };
    let caption = match m.spec.kind {
        ModelKind::Generator => {
            let mut e = crate::engine::Engine::load(&m.blob)?;
            let latent = (e.input_len() - usize::from(classes)) as u8;
            for label in 1..=classes {
                for i in 0..per {
                    let idx = u16::from(label - 1) * per + i;
                    // Labels are 1..=classes as a board takes them (0 rolls one).
                    let input =
                        crate::engine::latent_input(seed32, idx, 64, label, latent, classes);
                    images.push((name(label), e.run(&input)?));
                }
            }
            format!(
                "A row per class, {per} images each, seed {seed}, through the C engine (as a board draws them)"
            )
        }
        ModelKind::Diffusion => {
            let mut d = crate::engine::diffusion::Diffusion::load(&m.blob)?;
            for label in 1..=classes {
                for i in 0..per {
                    let idx = u32::from(label - 1) * u32::from(per) + u32::from(i);
                    let (px, _) = d.sample(seed32, idx, label, 0, false)?;
                    images.push((name(label), px));
                }
            }
            format!("A row per class, {per} images each, seed {seed}, at the model's default steps")
        }
        ModelKind::Classifier => {
            let mut e = crate::engine::Engine::load(&m.blob)?;
            let samples = crate::templates::of(p)
                .sample_inputs(&p.data_places(None), 24)
                .ok();
            let (mut right, mut n) = (0, 0);
            if let Some(s) = &samples {
                for (input, label) in s.inputs.iter().zip(&s.labels) {
                    let (class, _) = e.classify(input)?;
                    n += 1;
                    right += usize::from(class == *label);
                    images.push((class.to_string(), input.clone()));
                }
            }
            let side = (e.input_len() as f64).sqrt() as usize;
            return Ok((
                sheet(&images, side, side, 8),
                match samples {
                    Some(s) => format!(
                        "{n} inputs of the {}, each under the class the model gives it ({right} of {n} right)",
                        s.what
                    ),
                    None => "no test inputs were found (tinygen doctor)".into(),
                },
                images,
            ));
        }
    };
    Ok((sheet(&images, w, h, usize::from(per)), caption, images))
}

/// A sheet of `images`, `cols` to a row.
fn sheet(images: &[(String, Vec<u8>)], w: usize, h: usize, cols: usize) -> Sheet {
    let refs: Vec<(&str, &[u8])> = images
        .iter()
        .map(|(l, px)| (l.as_str(), px.as_slice()))
        .collect();
    if refs.is_empty() {
        return (vec![0; 16], 4, 4);
    }
    crate::preview::sheet(&refs, w, h, cols, 3)
}

fn markdown(
    p: &Project,
    file: &Path,
    f: &Facts,
    budget: &crate::budget::Budget,
    losses: &[&str],
    gallery: &str,
) -> String {
    let mut s = format!("# {}: tinygen report\n\n", p.name);
    s += &format!(
        "Model **{}** ({}, {} bytes) · template {} · target {} · tinygen {}\n\n",
        f.model_hash, f.model_origin, f.model_bytes, f.template, f.target, f.tinygen
    );
    s += &format!(
        "## Workshop steps: {} of {} done\n\n",
        f.steps_done,
        f.steps.len()
    );
    for st in &f.steps {
        s += &format!(
            "- [{}] {} ({})\n",
            if st.done { "x" } else { " " },
            st.title,
            st.status
        );
    }
    s += "\n## Budget\n\n```text\n";
    s += &crate::budget::report(budget, &p.name);
    s += "```\n\n## Training\n\n";
    if f.epochs_trained == 0 {
        s += "Not trained yet: the model above is the template's shipped one.\n\n";
    } else {
        let last: Vec<String> = f
            .last_losses
            .iter()
            .map(|(n, v)| format!("{n} {v:.4}"))
            .collect();
        s += &format!(
            "{} epochs; the last: {}{}.\n\n",
            f.epochs_trained,
            last.join(", "),
            f.last_accuracy
                .map(|a| format!(", accuracy {:.2}%", 100.0 * a))
                .unwrap_or_default()
        );
    }
    s += &format!(
        "![training curves](curves.png)\n\nOne panel per loss, top to bottom: {}; epochs left to right, each panel scaled to its own range.\n\n",
        losses.join(", ")
    );
    s += "## Evaluation\n\n";
    match &f.evaluation {
        Some(e) => s += &format!("```text\n{}\n```\n\n", e.trim_end()),
        None => s += "Not run (`tinygen report` without `--no-eval` runs it).\n\n",
    }
    s += &format!("## Gallery\n\n![gallery](gallery.png)\n\n{gallery}.\n\n");
    s += &format!(
        "## Project file\n\n`{}`:\n\n```ron\n{}\n```\n",
        file.display(),
        std::fs::read_to_string(file).unwrap_or_default().trim_end()
    );
    s
}

#[cfg(test)]
mod tests {
    /// A regression: the gallery drew each row with the class before it (row 1 took
    /// label 0, which rolls a random one). Each row of the shipped die model now counts
    /// as its own pips, by the counter with no learning, for most of its dice.
    #[test]
    fn each_gallery_row_is_its_own_class() {
        let p = crate::templates::default_project("cvae-die").unwrap();
        let m = crate::templates::deployable(&p, None).unwrap();
        let (_, caption, images) = super::gallery_images(&p, &m, 7).unwrap();
        assert!(caption.starts_with("A row per class"), "{caption}");
        assert_eq!(images.len(), 24);
        let right = images
            .iter()
            .filter(|(label, px)| crate::scoring::holes::count(px, 32).pips().to_string() == *label)
            .count();
        assert!(right >= 16, "{right} of 24 dice count as their row's pips");
    }
}
