//! Stage two of loading: every rule a project must follow, the template's own rules
//! included. All problems are reported at once.

use super::raw::{RawModel, RawProject, VERSION};
use super::rules::{self, Catalog, Layout, TemplateDef, Width};
use super::{
    Artifacts, Board, BoardKind, DataKind, Dataset, FieldIssue, LayerParams, ModelParams, Project,
    Training,
};
use crate::quant::WeightBits;
use crate::target;
use crate::util::suggest;
use std::path::{Component, PathBuf};

/// Largest sizes accepted anywhere; far beyond what a tiny model needs, far below overflow.
const MAX_DATASET: i64 = 1_000_000;
const MAX_EPOCHS: i64 = 100_000;
const MAX_BATCH: i64 = 65_536;
const MAX_NAME_CHARS: usize = 80;

fn check_range(
    issues: &mut Vec<FieldIssue>,
    field: &str,
    what: &str,
    v: i64,
    lo: i64,
    hi: i64,
) -> u32 {
    if v < lo || v > hi {
        issues.push(FieldIssue::new(
            field,
            format!("{what} '{v}' is out of range; use a value from {lo} to {hi}"),
        ));
    }
    v.clamp(0, u32::MAX as i64) as u32
}

fn check_seed(issues: &mut Vec<FieldIssue>, field: &str, v: i64) -> u64 {
    if v < 0 {
        issues.push(FieldIssue::new(
            field,
            format!("seed '{v}' is negative; use a whole number from 0 up"),
        ));
    }
    v.max(0) as u64
}

/// Checks a path that tinygen writes to: relative, and inside the project's folder.
fn check_relative_path(issues: &mut Vec<FieldIssue>, field: &str, p: &str) -> PathBuf {
    let path = PathBuf::from(p);
    if p.trim().is_empty() {
        issues.push(FieldIssue::new(
            field,
            "the path is empty; use e.g. 'build/export'",
        ));
    } else if path.is_absolute() || p.starts_with('~') {
        issues.push(FieldIssue::new(
            field,
            format!("'{p}' is absolute; artifact paths are relative to the project file, e.g. 'build/export'"),
        ));
    } else {
        let mut depth: i64 = 0;
        for c in path.components() {
            match c {
                Component::ParentDir => depth -= 1,
                Component::Normal(_) => depth += 1,
                _ => {}
            }
            if depth < 0 {
                issues.push(FieldIssue::new(
                    field,
                    format!("'{p}' leaves the project's folder through '..'; keep artifacts inside it, e.g. 'build/export'"),
                ));
                break;
            }
        }
    }
    path
}

impl RawProject {
    /// Stage two: every rule a project must follow. Returns all problems at once.
    pub fn validate(&self, catalog: Catalog) -> Result<Project, Vec<FieldIssue>> {
        let mut issues = Vec::new();
        if self.version != VERSION {
            issues.push(FieldIssue::new(
                "version",
                format!(
                    "version '{}' is not one tinygen knows; use {VERSION}",
                    self.version
                ),
            ));
        }
        let name = self.name.trim().to_string();
        if name.is_empty() {
            issues.push(FieldIssue::new(
                "name",
                "the name is empty; give the project a name",
            ));
        } else if name.chars().count() > MAX_NAME_CHARS {
            issues.push(FieldIssue::new(
                "name",
                format!("the name is longer than {MAX_NAME_CHARS} characters; shorten it"),
            ));
        } else if name.chars().any(char::is_control) {
            issues.push(FieldIssue::new(
                "name",
                "the name has control characters; use plain text",
            ));
        }

        let tdef = rules::find(catalog, &self.template);
        if tdef.is_none() {
            issues.push(FieldIssue::new(
                "template",
                format!(
                    "unknown template '{}'; {}",
                    self.template,
                    suggest::hint(
                        &self.template,
                        &catalog.iter().map(|t| t.name).collect::<Vec<_>>()
                    )
                ),
            ));
        }
        let model = match tdef {
            Some(def) => self.model.validate(def, &mut issues),
            None => ModelParams {
                latent: 0,
                steps: 0,
                encoder: vec![],
                layers: vec![],
            },
        };

        let d = &self.dataset;
        let kinds = tdef.map_or(&[][..], |t| t.datasets);
        let kind = d.kind.as_deref().and_then(|k| {
            let found = DataKind::from_name(k).filter(|k| kinds.contains(k));
            if found.is_none() {
                let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
                issues.push(FieldIssue::new(
                    "dataset.kind",
                    format!(
                        "'{k}' is not a dataset this template trains on; use {} (or leave \
                         'kind' out for '{}')",
                        quoted_list(&names),
                        names.first().unwrap_or(&"dice")
                    ),
                ));
            }
            found
        });
        let dataset = Dataset {
            kind,
            seed: check_seed(&mut issues, "dataset.seed", d.seed),
            size: check_range(
                &mut issues,
                "dataset.size",
                "dataset size",
                d.size,
                1,
                MAX_DATASET,
            ),
            path: d.path.as_ref().map(|p| {
                if p.trim().is_empty() {
                    issues.push(FieldIssue::new(
                        "dataset.path",
                        "the path is empty; remove 'path' or name the data folder",
                    ));
                }
                PathBuf::from(p)
            }),
        };

        let t = &self.training;
        let training = Training {
            epochs: check_range(
                &mut issues,
                "training.epochs",
                "epochs",
                t.epochs,
                1,
                MAX_EPOCHS,
            ),
            batch_size: check_range(
                &mut issues,
                "training.batch_size",
                "batch size",
                t.batch_size,
                1,
                MAX_BATCH,
            ),
            learning_rate: t.learning_rate,
            seed: check_seed(&mut issues, "training.seed", t.seed),
        };
        if !(t.learning_rate.is_finite() && t.learning_rate > 0.0 && t.learning_rate <= 10.0) {
            issues.push(FieldIssue::new(
                "training.learning_rate",
                format!(
                    "learning rate '{}' is out of range; use a positive number such as 0.001",
                    t.learning_rate
                ),
            ));
        }
        if (1..=MAX_DATASET).contains(&d.size) && t.batch_size > d.size && t.batch_size <= MAX_BATCH
        {
            issues.push(FieldIssue::new(
                "training.batch_size",
                format!(
                    "batch size '{}' is larger than the dataset ({}); lower it or grow 'dataset.size'",
                    t.batch_size, d.size
                ),
            ));
        }

        if target::find(&self.target).is_none() {
            issues.push(FieldIssue::new(
                "target",
                format!(
                    "unknown target '{}'; {}",
                    self.target,
                    suggest::hint(&self.target, &target::ids())
                ),
            ));
        }

        let kind = BoardKind::from_name(&self.board.kind).unwrap_or_else(|| {
            issues.push(FieldIssue::new(
                "board.kind",
                format!(
                    "unknown board '{}'; {}",
                    self.board.kind,
                    suggest::hint(&self.board.kind, &BoardKind::names())
                ),
            ));
            BoardKind::Sim
        });
        if let Some(port) = &self.board.port
            && port.trim().is_empty()
        {
            issues.push(FieldIssue::new(
                "board.port",
                "the port is empty; remove 'port' to pick one, or name it, e.g. '/dev/ttyUSB0'",
            ));
        }
        let board = Board {
            kind,
            port: self.board.port.clone(),
            baud: check_range(
                &mut issues,
                "board.baud",
                "baud rate",
                self.board.baud,
                1200,
                4_000_000,
            ),
        };

        let artifacts = Artifacts {
            checkpoints: check_relative_path(
                &mut issues,
                "artifacts.checkpoints",
                &self.artifacts.checkpoints,
            ),
            export: check_relative_path(&mut issues, "artifacts.export", &self.artifacts.export),
        };

        // `tdef` is None only when an issue says so.
        let Some(template) = tdef.filter(|_| issues.is_empty()) else {
            return Err(issues);
        };
        Ok(Project {
            name,
            template,
            model,
            dataset,
            training,
            target: self.target.clone(),
            board,
            artifacts,
        })
    }
}

impl RawModel {
    fn validate(&self, def: &TemplateDef, issues: &mut Vec<FieldIssue>) -> ModelParams {
        let t = def.name;
        let latent = match def.latent {
            Some((lo, hi)) => check_range(
                issues,
                "model.latent",
                "latent size",
                self.latent,
                lo.into(),
                hi.into(),
            ),
            None => {
                if self.latent != 0 {
                    issues.push(FieldIssue::new(
                        "model.latent",
                        format!("template '{t}' has no latent; remove 'latent'"),
                    ));
                }
                0
            }
        };
        let steps = match def.steps {
            Some((lo, hi)) => check_range(
                issues,
                "model.steps",
                "steps",
                self.steps,
                lo.into(),
                hi.into(),
            ),
            None => {
                if self.steps != 0 {
                    issues.push(FieldIssue::new(
                        "model.steps",
                        format!("template '{t}' has no denoising steps; remove 'steps'"),
                    ));
                }
                0
            }
        };
        let encoder = match def.encoder {
            Some(rule) => {
                let (lo, hi) = rule.stages;
                if self.encoder.len() < lo || self.encoder.len() > hi {
                    issues.push(FieldIssue::new(
                        "model.encoder",
                        format!(
                            "the encoder has {} stages; use {lo} to {hi}, e.g. [8, 16]",
                            self.encoder.len()
                        ),
                    ));
                }
                self.encoder
                    .iter()
                    .enumerate()
                    .map(|(i, w)| {
                        check_range(
                            issues,
                            &format!("model.encoder[{i}]"),
                            "encoder width",
                            *w,
                            rule.width.0.into(),
                            rule.width.1.into(),
                        )
                    })
                    .collect()
            }
            None => {
                if !self.encoder.is_empty() {
                    issues.push(FieldIssue::new(
                        "model.encoder",
                        format!("template '{t}' has no encoder; remove 'encoder'"),
                    ));
                }
                vec![]
            }
        };

        // The expected name, kind of width and position of every layer.
        let expected: Vec<(String, Width)> = match def.layout {
            Layout::Fixed(rules) => rules
                .iter()
                .map(|r| (r.name.to_string(), r.width))
                .collect(),
            Layout::Mlp {
                hidden,
                hidden_width,
                out,
            } => {
                let n_hidden = self.layers.len().saturating_sub(1);
                if n_hidden < hidden.0 || n_hidden > hidden.1 {
                    issues.push(FieldIssue::new(
                        "model.layers",
                        format!(
                            "{} hidden layers; use {} to {} hidden layers (fc1, fc2, …) followed by 'out'",
                            n_hidden, hidden.0, hidden.1
                        ),
                    ));
                }
                (1..=n_hidden)
                    .map(|i| {
                        (
                            format!("fc{i}"),
                            Width::Range(hidden_width.0, hidden_width.1),
                        )
                    })
                    .chain(std::iter::once(("out".to_string(), Width::Fixed(out))))
                    .collect()
            }
        };
        if let Layout::Fixed(rules) = def.layout
            && self.layers.len() != rules.len()
        {
            let names: Vec<_> = rules.iter().map(|r| r.name).collect();
            issues.push(FieldIssue::new(
                "model.layers",
                format!(
                    "template '{t}' has {} layers ({}); this file lists {}",
                    rules.len(),
                    names.join(", "),
                    self.layers.len()
                ),
            ));
        }

        let layers = self
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let field = format!("model.layers[{i}]");
                if let Some((name, _)) = expected.get(i)
                    && &l.name != name
                {
                    issues.push(FieldIssue::new(
                        format!("{field}.name"),
                        format!(
                            "layer {} of template '{t}' is named '{name}', not '{}'",
                            i + 1,
                            l.name
                        ),
                    ));
                }
                let width = match expected.get(i).map(|e| e.1) {
                    Some(Width::Range(lo, hi)) => check_range(
                        issues,
                        &format!("{field}.width"),
                        "width",
                        l.width,
                        lo.into(),
                        hi.into(),
                    ),
                    Some(Width::Fixed(w)) => {
                        if l.width != i64::from(w) {
                            issues.push(FieldIssue::new(
                                format!("{field}.width"),
                                format!("layer '{}' must have width {w} in template '{t}'", l.name),
                            ));
                        }
                        w
                    }
                    Some(Width::Latent) => {
                        if l.width != i64::from(latent) {
                            issues.push(FieldIssue::new(
                                format!("{field}.width"),
                                format!(
                                    "layer '{}' must be as wide as the latent ({latent})",
                                    l.name
                                ),
                            ));
                        }
                        latent
                    }
                    Some(Width::Same(other)) => {
                        let want = self.layers.get(other).map_or(0, |o| o.width);
                        if l.width != want {
                            let name = self.layers.get(other).map_or("?", |o| o.name.as_str());
                            issues.push(FieldIssue::new(
                            format!("{field}.width"),
                            format!(
                                "layer '{}' must be as wide as '{name}' ({want}): the skip adds \
                                 their outputs",
                                l.name
                            ),
                        ));
                        }
                        u32::try_from(l.width).unwrap_or(0)
                    }
                    None => 0,
                };
                let bits = WeightBits::from_f64(l.bits.0).unwrap_or_else(|| {
                    issues.push(FieldIssue::new(
                        format!("{field}.bits"),
                        format!(
                            "bits '{}' is not supported; use 1, 1.58 (ternary), 2, 4 or 8",
                            l.bits.0
                        ),
                    ));
                    WeightBits::Eight
                });
                LayerParams {
                    name: l.name.clone(),
                    width,
                    bits,
                }
            })
            .collect();
        ModelParams {
            latent,
            steps,
            encoder,
            layers,
        }
    }
}

/// `'a'`, `'a' or 'b'`, `'a', 'b' or 'c'`.
fn quoted_list(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => "nothing".into(),
    }
}
