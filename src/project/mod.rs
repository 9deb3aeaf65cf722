//! The `.ron` project file: a versioned schema, loaded in two stages (a raw serde struct,
//! then a validated [`Project`]), saved atomically. Every error names the file, the line,
//! the column and the field, and says what to write instead.
//!
//! A project names its template; validation checks the model parameters against that
//! template's rules ([`rules::TemplateDef`]). The project file knows no template itself:
//! the caller passes the catalogue of templates (`crate::templates::catalog()`, or use
//! `crate::templates::load_project`).
//!
//! The format is documented in `docs/project-format.md`.

pub mod error;
pub mod locate;
pub mod raw;
pub mod rules;
mod validate;

pub use error::{FieldIssue, ProjectError};
pub use raw::{RawProject, VERSION};
pub use rules::{Catalog, DataKind, Maturity, TemplateDef};

use crate::quant::WeightBits;
use crate::target;
use crate::util::fsutil::write_atomic;
use raw::{
    Bits, RawArtifacts, RawBoard, RawDataset, RawLayer, RawModel, RawTraining, VersionProbe,
};
use std::fmt;
use std::path::{Path, PathBuf};

/// Nesting deeper than this is refused as garbage, long before it could exhaust the stack.
const RECURSION_LIMIT: usize = 32;

/// A project that passed validation: every value is in range and every name is known.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    pub name: String,
    /// The template the project is made from: its rules and defaults.
    pub template: &'static TemplateDef,
    pub model: ModelParams,
    pub dataset: Dataset,
    pub training: Training,
    /// A target id from the target table (`crate::target`).
    pub target: String,
    pub board: Board,
    pub artifacts: Artifacts,
}

/// The template parameters: sizes and bit widths of the model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelParams {
    /// Latent size (CVAE) or latent channels (diffusion); 0 when the template has none.
    pub latent: u32,
    /// Denoising steps (diffusion); 0 when the template has none.
    pub steps: u32,
    /// Channel counts of the train-time encoder; empty when the template has none.
    pub encoder: Vec<u32>,
    /// The deployable layers, in order.
    pub layers: Vec<LayerParams>,
}

/// One deployable layer's output width and weight precision.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerParams {
    pub name: String,
    pub width: u32,
    pub bits: WeightBits,
}

/// Which data the model trains on.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// What the model trains on, when the template offers more than one kind (`None`:
    /// the template's first, its default).
    pub kind: Option<DataKind>,
    pub seed: u64,
    /// Number of training samples to render or load.
    pub size: u32,
    /// A folder of user-supplied data (e.g. the full MNIST IDX files), relative to the
    /// project file or absolute.
    pub path: Option<PathBuf>,
}

/// Optimiser settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Training {
    pub epochs: u32,
    pub batch_size: u32,
    pub learning_rate: f64,
    pub seed: u64,
}

/// How the workbench reaches the board.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoardKind {
    /// The host build of the firmware on a pseudo-terminal: no hardware needed.
    Sim,
    /// The RV32EC firmware in qemu-system-riscv32.
    QemuRv32,
    /// A real CH32V003 through a WCH-LinkE.
    Ch32v003,
    /// A Raspberry Pi running the tinygen runner.
    Pi,
}

impl BoardKind {
    pub const ALL: [BoardKind; 4] = [
        BoardKind::Sim,
        BoardKind::QemuRv32,
        BoardKind::Ch32v003,
        BoardKind::Pi,
    ];

    pub fn name(self) -> &'static str {
        match self {
            BoardKind::Sim => "sim",
            BoardKind::QemuRv32 => "qemu-rv32",
            BoardKind::Ch32v003 => "ch32v003",
            BoardKind::Pi => "pi",
        }
    }

    pub fn from_name(s: &str) -> Option<BoardKind> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }

    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|k| k.name()).collect()
    }
}

impl fmt::Display for BoardKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The board connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Board {
    pub kind: BoardKind,
    /// A serial port path; `None` means "find it" (or the simulator's own pty).
    pub port: Option<String>,
    pub baud: u32,
}

/// Where the project writes what it makes, relative to the project file.
#[derive(Debug, Clone, PartialEq)]
pub struct Artifacts {
    pub checkpoints: PathBuf,
    pub export: PathBuf,
}

// ---------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------

fn ron_options() -> ron::Options {
    let mut o =
        ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
    o.recursion_limit = Some(RECURSION_LIMIT);
    o
}

/// Reads and validates a project file against the templates of `catalog`.
pub fn load(path: &Path, catalog: Catalog) -> Result<Project, ProjectError> {
    let bytes = std::fs::read(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            ProjectError::Missing {
                path: path.to_path_buf(),
            }
        } else {
            ProjectError::Read {
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let good = e.utf8_error().valid_up_to();
            let bytes = e.as_bytes();
            let before = String::from_utf8_lossy(&bytes[..good]);
            let line = before.matches('\n').count() + 1;
            let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            return Err(ProjectError::NotUtf8 {
                path: path.to_path_buf(),
                line,
                col,
                byte: bytes[good],
            });
        }
    };
    parse(&text, path, catalog)
}

/// Parses and validates project text; `origin` names it in errors.
pub fn parse(text: &str, origin: &Path, catalog: Catalog) -> Result<Project, ProjectError> {
    // A byte-order mark (some Windows editors write one) is not part of the project: left
    // in, it shifted every field's position out of reach (#19, item 6).
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let raw = parse_raw(text, origin)?;
    raw.validate(catalog).map_err(|mut issues| {
        let positions = locate::field_positions(text);
        for issue in &mut issues {
            issue.pos = locate::locate(&positions, &issue.field);
        }
        ProjectError::Invalid {
            path: origin.to_path_buf(),
            issues,
        }
    })
}

/// Stage one: text to [`RawProject`], refusing newer versions first.
pub fn parse_raw(text: &str, origin: &Path) -> Result<RawProject, ProjectError> {
    let path = origin.to_path_buf();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(ProjectError::Empty { path });
    }
    let syntax = |e: ron::error::SpannedError| ProjectError::Syntax {
        path: origin.to_path_buf(),
        line: e.span.start.line,
        col: e.span.start.col,
        message: error::describe_ron_error(&e.code),
    };
    let probe: VersionProbe = ron_options().from_str(text).map_err(syntax)?;
    match probe.version {
        None => {
            return Err(ProjectError::Syntax {
                path,
                line: 1,
                col: 1,
                message: format!("missing field 'version'; add 'version: {VERSION},' first"),
            });
        }
        Some(v) if v > VERSION => {
            let at = locate::locate(&locate::field_positions(text), "version")
                .unwrap_or(locate::Pos { line: 1, col: 1 });
            return Err(ProjectError::NewerVersion {
                path,
                line: at.line,
                col: at.col,
                found: v,
                supported: VERSION,
            });
        }
        Some(_) => {}
    }
    ron_options().from_str(text).map_err(syntax)
}

// ---------------------------------------------------------------------------------------
// Saving, templates, paths
// ---------------------------------------------------------------------------------------

impl Project {
    /// What the model trains on: `dataset.kind`, or the template's default.
    pub fn data_kind(&self) -> DataKind {
        self.dataset
            .kind
            .or_else(|| self.template.datasets.first().copied())
            .unwrap_or(DataKind::Dice)
    }

    /// The raw form, as it is written to a file.
    pub fn to_raw(&self) -> RawProject {
        RawProject {
            version: VERSION,
            name: self.name.clone(),
            template: self.template.name.to_string(),
            model: RawModel {
                latent: self.model.latent.into(),
                steps: self.model.steps.into(),
                encoder: self.model.encoder.iter().map(|&w| w.into()).collect(),
                layers: self
                    .model
                    .layers
                    .iter()
                    .map(|l| RawLayer {
                        name: l.name.clone(),
                        width: l.width.into(),
                        bits: Bits(l.bits.as_f64()),
                    })
                    .collect(),
            },
            dataset: RawDataset {
                kind: self.dataset.kind.map(|k| k.name().to_string()),
                seed: self.dataset.seed as i64,
                size: self.dataset.size.into(),
                path: self
                    .dataset
                    .path
                    .as_ref()
                    .map(|p| p.to_string_lossy().into_owned()),
            },
            training: RawTraining {
                epochs: self.training.epochs.into(),
                batch_size: self.training.batch_size.into(),
                learning_rate: self.training.learning_rate,
                seed: self.training.seed as i64,
            },
            target: self.target.clone(),
            board: RawBoard {
                kind: self.board.kind.name().to_string(),
                port: self.board.port.clone(),
                baud: self.board.baud.into(),
            },
            artifacts: RawArtifacts {
                checkpoints: self.artifacts.checkpoints.to_string_lossy().into_owned(),
                export: self.artifacts.export.to_string_lossy().into_owned(),
            },
        }
    }

    /// The project file's text.
    pub fn to_ron(&self) -> Result<String, ProjectError> {
        let config = ron::ser::PrettyConfig::new()
            .depth_limit(3)
            .indentor("    ".to_string());
        let body =
            ron::ser::to_string_pretty(&self.to_raw(), config).map_err(ProjectError::Serialize)?;
        Ok(format!(
            "// A tinygen project (template '{}'). Format: docs/project-format.md\n{body}\n",
            self.template
        ))
    }

    /// The default project of a built-in template (its `source`, which names it).
    pub fn from_template(def: &'static TemplateDef) -> Project {
        // Every embedded template is checked by a unit test, so this only fails in a broken build.
        parse(def.source, Path::new(def.name), &[def])
            .unwrap_or_else(|e| panic!("built-in template '{}' is invalid: {e}", def.name))
    }

    /// The target profile this project is budgeted against.
    pub fn target_profile(&self) -> &'static target::Target {
        // `target` was checked against the table during validation.
        target::find(&self.target).unwrap_or(&target::all()[0])
    }

    /// An artifact path resolved against the project file's folder.
    pub fn resolve(&self, project_file: &Path, relative: &Path) -> PathBuf {
        project_file
            .parent()
            .unwrap_or(Path::new("."))
            .join(relative)
    }

    /// Gives a project that still uses its template's artifact folders folders of its own,
    /// named after its file: `build/<file stem>/checkpoints` and `build/<file stem>/export`.
    /// Two new projects of one template then never share a checkpoint.
    pub fn own_artifacts(&mut self, file: &Path) {
        let template = Project::from_template(self.template);
        if self.artifacts != template.artifacts {
            return;
        }
        let Some(stem) = file.file_stem().map(|s| s.to_string_lossy().into_owned()) else {
            return;
        };
        let build = PathBuf::from("build").join(stem);
        self.artifacts.checkpoints = build.join("checkpoints");
        self.artifacts.export = build.join("export");
    }

    /// The checkpoint folder (relative paths are relative to the project file; a project
    /// without a file uses the current folder).
    pub fn checkpoint_dir(&self, file: Option<&Path>) -> PathBuf {
        match file {
            Some(f) => self.resolve(f, &self.artifacts.checkpoints),
            None => self.artifacts.checkpoints.clone(),
        }
    }

    /// Where the project's data may be: its `dataset.path`, resolved against the project
    /// file, and the project file's folder.
    pub fn data_places(&self, file: Option<&Path>) -> crate::data::Places {
        let dataset = self.dataset.path.as_ref().map(|d| match file {
            Some(f) => self.resolve(f, d),
            None => d.clone(),
        });
        let project_dir = file.map(|f| {
            f.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
                .to_path_buf()
        });
        crate::data::Places {
            dataset,
            project_dir,
        }
    }
}

/// Saves atomically. A file already at `path` from a newer tinygen is never overwritten.
pub fn save(project: &Project, path: &Path) -> Result<(), ProjectError> {
    if let Ok(existing) = std::fs::read_to_string(path)
        && let Ok(probe) = ron_options().from_str::<VersionProbe>(&existing)
        && let Some(v) = probe.version
        && v > VERSION
    {
        let at = locate::locate(&locate::field_positions(&existing), "version")
            .unwrap_or(locate::Pos { line: 1, col: 1 });
        return Err(ProjectError::NewerVersion {
            path: path.to_path_buf(),
            line: at.line,
            col: at.col,
            found: v,
            supported: VERSION,
        });
    }
    let text = project.to_ron()?;
    write_atomic(path, text.as_bytes()).map_err(|source| ProjectError::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::catalog;
    use locate::Pos;

    fn die() -> Project {
        crate::templates::default_project("cvae-die").unwrap()
    }

    fn err_text(text: &str) -> String {
        parse(text, Path::new("p.ron"), catalog())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn save_then_load_gives_an_equal_project() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("die.ron");
        let mut p = die();
        p.model.layers[1].bits = WeightBits::Ternary;
        p.board.port = Some("/dev/ttyUSB0".into());
        p.dataset.path = Some("data/dice".into());
        save(&p, &path).unwrap();
        assert_eq!(load(&path, catalog()).unwrap(), p);
    }

    #[test]
    fn unknown_target_suggests_the_closest() {
        let text = die()
            .to_ron()
            .unwrap()
            .replace("\"ch32v003\"", "\"ch32v03\"");
        let e = err_text(&text);
        assert!(
            e.contains("unknown target 'ch32v03'; did you mean 'ch32v003'?"),
            "{e}"
        );
        assert!(e.starts_with("p.ron:"), "{e}");
    }

    #[test]
    fn validation_errors_carry_the_line_and_column() {
        let text = "(\n    version: 1,\n    name: \"x\",\n    template: \"cvae-die\",\n    model: (latent: 4, encoder: [8], layers: [\n        (name: \"fc\", width: 8, bits: 3),\n        (name: \"up1\", width: 8, bits: 4),\n        (name: \"up2\", width: 4, bits: 4),\n        (name: \"out\", width: 1, bits: 8),\n    ]),\n    dataset: (seed: 1, size: 100),\n    training: (epochs: 1, batch_size: 8, learning_rate: 0.01, seed: 1),\n    target: \"host\",\n    board: (kind: \"sim\", baud: 115200),\n    artifacts: (checkpoints: \"c\", export: \"e\"),\n)\n";
        let e = parse(text, Path::new("p.ron"), catalog()).unwrap_err();
        assert_eq!(e.position(), Some(Pos { line: 6, col: 38 }));
        assert!(
            e.to_string()
                .contains("'model.layers[0].bits': bits '3' is not supported")
        );
    }

    #[test]
    fn newer_versions_are_refused_before_their_fields() {
        let text = "(version: 2, hologram: true)";
        let e = parse(text, Path::new("p.ron"), catalog()).unwrap_err();
        assert!(
            matches!(e, ProjectError::NewerVersion { found: 2, .. }),
            "{e}"
        );
    }

    #[test]
    fn save_refuses_to_overwrite_a_newer_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.ron");
        std::fs::write(&path, "(version: 7, future: ())").unwrap();
        assert!(matches!(
            save(&die(), &path),
            Err(ProjectError::NewerVersion { .. })
        ));
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "(version: 7, future: ())"
        );
    }

    #[test]
    fn artifact_paths_must_stay_inside() {
        let mut raw = die().to_raw();
        raw.artifacts.export = "build/../../etc".into();
        raw.artifacts.checkpoints = "/tmp/x".into();
        let issues = raw.validate(catalog()).unwrap_err();
        assert_eq!(issues.len(), 2);
        raw.artifacts.export = "build/../out".into();
        raw.artifacts.checkpoints = "./ck".into();
        assert!(raw.validate(catalog()).is_ok());
    }

    #[test]
    fn mlp_layers_are_counted_and_named() {
        let mut raw = crate::templates::default_project("bitnet-mnist")
            .unwrap()
            .to_raw();
        raw.model.layers.remove(1);
        let issues = raw.validate(catalog()).unwrap_err();
        assert!(
            issues
                .iter()
                .any(|i| i.message.contains("named 'fc2', not 'fc3'")),
            "{issues:?}"
        );
        raw.model.layers[1].name = "fc2".into();
        assert!(raw.validate(catalog()).is_ok());
    }

    #[test]
    fn explicit_and_implicit_some_both_load() {
        let base = die().to_ron().unwrap();
        for port in ["Some(\"/dev/ttyACM0\")", "\"/dev/ttyACM0\""] {
            let text = base.replace("kind: \"sim\",", &format!("kind: \"sim\", port: {port},"));
            let p = parse(&text, Path::new("p.ron"), catalog())
                .unwrap_or_else(|e| panic!("{port}: {e}"));
            assert_eq!(p.board.port.as_deref(), Some("/dev/ttyACM0"));
        }
    }

    /// Issue #18, item 3: new projects of one template get folders of their own.
    #[test]
    fn new_projects_get_artifact_folders_named_after_their_file() {
        let def = crate::templates::ALL[0].def();
        let mut a = Project::from_template(def);
        a.own_artifacts(Path::new("work/a.ron"));
        let mut b = Project::from_template(def);
        b.own_artifacts(Path::new("b.ron"));
        assert_eq!(a.artifacts.checkpoints, Path::new("build/a/checkpoints"));
        assert_eq!(a.artifacts.export, Path::new("build/a/export"));
        assert_eq!(b.artifacts.checkpoints, Path::new("build/b/checkpoints"));
        // Folders the user chose stay.
        let mut c = Project::from_template(def);
        c.artifacts.checkpoints = "mine".into();
        c.own_artifacts(Path::new("c.ron"));
        assert_eq!(c.artifacts.checkpoints, Path::new("mine"));
    }

    /// Streaming SD trains on dice or digits; a template that takes one kind refuses the
    /// other where the file says it, and the kind survives a save.
    #[test]
    fn the_dataset_kind_is_checked_against_the_template_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sd.ron");
        let mut sd = crate::templates::default_project("streaming-sd").unwrap();
        assert_eq!(sd.data_kind(), DataKind::Dice);
        sd.dataset.kind = Some(DataKind::Digits);
        save(&sd, &path).unwrap();
        let back = load(&path, catalog()).unwrap();
        assert_eq!((back.data_kind(), &back), (DataKind::Digits, &sd));
        assert_eq!(die().data_kind(), DataKind::Dice);

        let with_kind = |p: &Project, kind: &str| {
            p.to_ron()
                .unwrap()
                .replacen("dataset: (", &format!("dataset: (kind: \"{kind}\", "), 1)
        };
        let e = err_text(&with_kind(&die(), "digits"));
        assert!(
            e.contains("dataset.kind") && e.contains("use 'dice' (or leave 'kind' out"),
            "{e}"
        );
        let sd = crate::templates::default_project("streaming-sd").unwrap();
        let e = err_text(&with_kind(&sd, "faces"));
        assert!(e.contains("use 'dice' or 'digits'"), "{e}");
    }
}
