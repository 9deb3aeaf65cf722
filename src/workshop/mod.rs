//! Workshop mode's checklist (issue #20, item 2): steps that tick themselves. A small
//! `.ron` workshop file beside the project (`die.ron` → `die.workshop.ron`) lists the
//! steps; without one, the template's built-in list is used. Each step is a predicate
//! over what tinygen already knows: the budget, the checkpoint's history, the exported
//! model, and what the Monitor saw (kept in `die.progress.ron`, see [`progress`]). The
//! TUI's Steps panel and `tinygen steps check` run the same [`evaluate`], so a leader and a
//! participant get the same answer.

pub mod progress;
pub mod skip;

use crate::project::Project;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A workshop: a title and its steps, in the order they are done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workshop {
    pub title: String,
    pub steps: Vec<Step>,
    /// A trained checkpoint folder (relative to the workshop file) that `tinygen steps
    /// skip` loads, so a participant who fell behind joins the room after training.
    #[serde(default)]
    pub reference: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// A short name, unique in the workshop (`steps check --json` reports it).
    pub id: String,
    pub title: String,
    pub check: Check,
    /// What to do when the step is not done yet.
    #[serde(default)]
    pub hint: String,
}

/// What makes a step done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Check {
    /// The project's model fits its target (either execution plan).
    BudgetFits,
    /// The checkpoint holds at least this many epochs of training.
    Trained { epochs: u32 },
    /// The checkpoint holds all the epochs the project sets (`training.epochs`).
    TrainedFully,
    /// The last epoch's loss `loss` is below `value`.
    LossBelow { loss: String, value: f32 },
    /// The last epoch's accuracy (on the test set when there is one) is at least `value`.
    AccuracyAtLeast { value: f32 },
    /// The export folder holds this model (the same bytes as the trained one).
    Exported,
    /// A board's HELLO, seen by the Monitor, carried this model's hash.
    BoardHasModel,
    /// At least `count` images arrived whole from a board running this model.
    ImagesReceived { count: u32 },
    /// A PNG of generated images was saved, and is still there.
    PngSaved,
}

#[derive(Debug, thiserror::Error)]
pub enum WorkshopError {
    #[error("cannot read the workshop file '{}': {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the workshop file '{}' is not valid: {message}. Fix it, or delete it to use the template's built-in steps", path.display())]
    Parse { path: PathBuf, message: String },
}

/// `die.ron` → `die.workshop.ron`, beside it.
pub fn workshop_path(project_file: &Path) -> PathBuf {
    progress::sibling(project_file, "workshop")
}

/// The steps every template gets when it brings none of its own.
const DEFAULT: &str = include_str!("default.ron");

/// The built-in workshop of a template.
pub fn builtin(p: &Project) -> Workshop {
    let text = crate::templates::of(p).workshop().unwrap_or(DEFAULT);
    parse(text, Path::new("(built in)")).expect("the built-in workshops parse (a test)")
}

/// Parses a workshop file's text.
pub fn parse(text: &str, path: &Path) -> Result<Workshop, WorkshopError> {
    let w: Workshop = ron::from_str(text).map_err(|e| WorkshopError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let mut seen = std::collections::HashSet::new();
    for s in &w.steps {
        if !seen.insert(s.id.as_str()) {
            return Err(WorkshopError::Parse {
                path: path.to_path_buf(),
                message: format!("two steps are called '{}'", s.id),
            });
        }
    }
    if w.steps.is_empty() {
        return Err(WorkshopError::Parse {
            path: path.to_path_buf(),
            message: "it has no steps".into(),
        });
    }
    Ok(w)
}

/// The workshop beside `project_file`, else the template's built-in one; and where it
/// came from.
pub fn load(p: &Project, project_file: Option<&Path>) -> Result<(Workshop, String), WorkshopError> {
    if let Some(f) = project_file {
        let path = workshop_path(f);
        match std::fs::read_to_string(&path) {
            Ok(text) => return Ok((parse(&text, &path)?, path.display().to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(WorkshopError::Read { path, source }),
        }
    }
    Ok((
        builtin(p),
        format!("the {} template's steps", p.template.name),
    ))
}

/// One step's state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepState {
    pub id: String,
    pub title: String,
    pub done: bool,
    /// Why it is not done (or what was found), in a line.
    pub status: String,
    pub hint: String,
}

/// What tinygen knows of a project, gathered once for a check.
struct Known {
    fits: bool,
    epochs: u32,
    history: Vec<crate::checkpoint::EpochLoss>,
    model_hash: Option<u32>,
    exported_hash: Option<u32>,
    progress: progress::Progress,
}

fn gather(p: &Project, file: Option<&Path>) -> Known {
    // The tiled plan is the one that fits whenever any does, and the one flashing checks
    // (`deploy::flash::check_fits`).
    let fits = crate::target::find(&p.target).is_some_and(|t| {
        crate::budget::for_project(p, &crate::templates::spec, t, crate::budget::Plan::Tiled).fits
    });
    let losses: Vec<&str> = crate::templates::of(p)
        .losses()
        .iter()
        .map(|l| l.name)
        .collect();
    // Only a checkpoint of this project's settings counts, as on the Train screen.
    let history = file
        .map(|f| crate::checkpoint::saved_history(p, &p.checkpoint_dir(Some(f)), &losses))
        .unwrap_or_default();
    let model_hash = crate::templates::deployable(p, file).ok().map(|m| m.hash());
    let exported_hash = file.and_then(|f| {
        let blob = std::fs::read(p.resolve(f, &p.artifacts.export).join("model.bin")).ok()?;
        crate::export::blob_hash(&blob)
    });
    Known {
        fits,
        epochs: p.training.epochs,
        history,
        model_hash,
        exported_hash,
        progress: file.map(progress::load).unwrap_or_default(),
    }
}

/// Every step's state for the project in `file` (`None`: an unsaved project, which has no
/// checkpoint, export or progress yet).
///
/// Steps tick in order: one whose check holds while an earlier step is not done waits for
/// it (a board running the shipped model is not this workshop's board step yet).
pub fn evaluate(w: &Workshop, p: &Project, file: Option<&Path>) -> Vec<StepState> {
    let k = gather(p, file);
    let mut open: Option<usize> = None;
    w.steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let (holds, mut status) = check(&s.check, &k);
            let done = holds && open.is_none();
            if let (true, Some(first)) = (holds, open) {
                status += &format!("; waits for step {}", first + 1);
            }
            if !done && open.is_none() {
                open = Some(i);
            }
            StepState {
                id: s.id.clone(),
                title: s.title.clone(),
                done,
                status,
                hint: s.hint.clone(),
            }
        })
        .collect()
}

fn check(c: &Check, k: &Known) -> (bool, String) {
    let last = k.history.last();
    let trained = |epochs: u32| {
        let n = last.map_or(0, |e| e.epoch);
        (n >= epochs, format!("{n} of {epochs} epochs trained"))
    };
    let hash = |h: Option<u32>| h.map_or("none".to_string(), |h| format!("{h:08x}"));
    match c {
        Check::BudgetFits => (
            k.fits,
            if k.fits {
                "fits its target".into()
            } else {
                "does not fit its target (Budget screen)".into()
            },
        ),
        Check::Trained { epochs } => trained(*epochs),
        Check::TrainedFully => trained(k.epochs),
        Check::LossBelow { loss, value } => match last.map(|e| e.loss(loss)) {
            Some(v) if v.is_finite() => (v < *value, format!("{loss} {v:.4} (goal below {value})")),
            _ => (false, format!("no {loss} yet: train first")),
        },
        Check::AccuracyAtLeast { value } => {
            match last.and_then(|e| e.test_accuracy.or(e.accuracy)) {
                Some(a) => (
                    a >= *value,
                    format!("accuracy {:.2}% (goal {:.2}%)", 100.0 * a, 100.0 * value),
                ),
                None => (false, "no accuracy yet: train first".into()),
            }
        }
        Check::Exported => (
            k.exported_hash.is_some() && k.exported_hash == k.model_hash,
            match k.exported_hash {
                None => "nothing exported yet".into(),
                Some(h) if Some(h) == k.model_hash => format!("model {h:08x} exported"),
                Some(h) => format!(
                    "the export ({h:08x}) is not this model ({}): export again",
                    hash(k.model_hash)
                ),
            },
        ),
        Check::BoardHasModel => {
            let b = k.progress.board_hash;
            (
                b.is_some() && b == k.model_hash,
                match b {
                    None => "no board seen yet (Monitor)".into(),
                    Some(h) if Some(h) == k.model_hash => format!("the board runs {h:08x}"),
                    Some(h) => format!(
                        "the board runs {h:08x}, not this model ({})",
                        hash(k.model_hash)
                    ),
                },
            )
        }
        Check::ImagesReceived { count } => {
            let n = if k.progress.images_hash.is_some() && k.progress.images_hash == k.model_hash {
                k.progress.images
            } else {
                0
            };
            let status = if n >= *count {
                format!("{n} received from this model ({count} needed)")
            } else {
                format!("{n} of {count} received from this model")
            };
            (n >= *count, status)
        }
        Check::PngSaved => match &k.progress.png {
            Some(png) if png.is_file() => (true, format!("saved {}", png.display())),
            Some(png) => (false, format!("{} is gone: save another", png.display())),
            None => (false, "no PNG saved yet".into()),
        },
    }
}

/// The steps as a person reads them: a mark, the title, what was found, and the hint of
/// the first step not done.
pub fn text(title: &str, states: &[StepState]) -> String {
    let done = states.iter().filter(|s| s.done).count();
    let mut s = format!("{title}: {done} of {} steps done\n", states.len());
    let first_open = states.iter().position(|s| !s.done);
    for (i, st) in states.iter().enumerate() {
        let mark = if st.done { "[x]" } else { "[ ]" };
        s += &format!("{mark} {}. {}  ({})\n", i + 1, st.title, st.status);
        if Some(i) == first_open && !st.hint.is_empty() {
            s += &format!("      next: {}\n", st.hint);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_templates_built_in_workshop_parses() {
        for t in crate::templates::all() {
            let p = Project::from_template(t.def());
            let w = builtin(&p);
            assert!(w.steps.len() >= 4, "{}", t.def().name);
        }
    }

    #[test]
    fn a_bad_workshop_file_says_what_is_wrong() {
        let e = parse("Workshop(title: \"x\", steps: [])", Path::new("w.ron")).unwrap_err();
        assert!(e.to_string().contains("it has no steps"), "{e}");
        let e = parse("Workshop(title: 3)", Path::new("w.ron")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("the workshop file 'w.ron' is not valid"),
            "{e}"
        );
        let twice = "Workshop(title: \"x\", steps: [\
            Step(id: \"a\", title: \"A\", check: BudgetFits),\
            Step(id: \"a\", title: \"B\", check: PngSaved)])";
        let e = parse(twice, Path::new("w.ron")).unwrap_err();
        assert!(e.to_string().contains("two steps are called 'a'"), "{e}");
    }

    #[test]
    fn the_files_sit_beside_the_project() {
        assert_eq!(
            workshop_path(Path::new("/w/die.ron")),
            PathBuf::from("/w/die.workshop.ron")
        );
    }

    #[test]
    fn an_unsaved_default_die_fits_and_has_the_shipped_model_only() {
        let p = Project::from_template(crate::templates::ALL[0].def());
        let w = builtin(&p);
        let s = evaluate(&w, &p, None);
        assert!(s[0].done, "{s:?}");
        assert!(s.iter().skip(1).all(|s| !s.done), "{s:?}");
        let t = text(&w.title, &s);
        assert!(t.contains("1 of"), "{t}");
        assert!(t.contains("      next: "), "{t}");
    }
}
