//! The `.ron` project file: a versioned schema, loaded in two stages (a raw serde struct,
//! then a validated [`Project`]), saved atomically. Every error names the file, the line,
//! the column and the field, and says what to write instead.
//!
//! The format is documented in `docs/project-format.md`.

pub mod locate;

use crate::fsutil::write_atomic;
use crate::suggest;
use crate::target;
use crate::template::{self, Layout, TemplateDef, TemplateId, Width};
use locate::Pos;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Component, Path, PathBuf};

/// The schema version this build reads and writes.
pub const VERSION: i64 = 1;

/// Nesting deeper than this is refused as garbage, long before it could exhaust the stack.
const RECURSION_LIMIT: usize = 32;

// ---------------------------------------------------------------------------------------
// The validated project
// ---------------------------------------------------------------------------------------

/// A project that passed validation: every value is in range and every name is known.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    pub name: String,
    pub template: TemplateId,
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

/// The weight precisions the quantization-aware training and the device engine support.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WeightBits {
    Binary,
    Ternary,
    Two,
    Four,
    Eight,
}

impl WeightBits {
    pub const ALL: [WeightBits; 5] = [
        WeightBits::Binary,
        WeightBits::Ternary,
        WeightBits::Two,
        WeightBits::Four,
        WeightBits::Eight,
    ];

    /// The value written in project files: 1, 1.58, 2, 4 or 8.
    pub fn as_f64(self) -> f64 {
        match self {
            WeightBits::Binary => 1.0,
            WeightBits::Ternary => 1.58,
            WeightBits::Two => 2.0,
            WeightBits::Four => 4.0,
            WeightBits::Eight => 8.0,
        }
    }

    /// Bits each weight occupies once packed for the device (ternary packs into 2 bits).
    pub fn storage_bits(self) -> u32 {
        match self {
            WeightBits::Binary => 1,
            WeightBits::Ternary | WeightBits::Two => 2,
            WeightBits::Four => 4,
            WeightBits::Eight => 8,
        }
    }

    /// Parses a project-file value; ternary may be written 1.58 or 1.5.
    pub fn from_f64(v: f64) -> Option<WeightBits> {
        let close = |x: f64| (v - x).abs() < 1e-6;
        if close(1.0) {
            Some(WeightBits::Binary)
        } else if (v - 1.58).abs() < 0.005 || close(1.5) {
            Some(WeightBits::Ternary)
        } else if close(2.0) {
            Some(WeightBits::Two)
        } else if close(4.0) {
            Some(WeightBits::Four)
        } else if close(8.0) {
            Some(WeightBits::Eight)
        } else {
            None
        }
    }
}

impl fmt::Display for WeightBits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WeightBits::Ternary => f.write_str("1.58"),
            other => write!(f, "{}", other.storage_bits()),
        }
    }
}

/// Which data the model trains on.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
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
// The raw file format
// ---------------------------------------------------------------------------------------

/// The project file as written, before validation. Numbers are wide and names are strings
/// so that a wrong value gets a helpful message from validation rather than a type error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProject {
    pub version: i64,
    pub name: String,
    pub template: String,
    pub model: RawModel,
    pub dataset: RawDataset,
    pub training: RawTraining,
    pub target: String,
    pub board: RawBoard,
    pub artifacts: RawArtifacts,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModel {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub latent: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub steps: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub encoder: Vec<i64>,
    pub layers: Vec<RawLayer>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLayer {
    pub name: String,
    pub width: i64,
    pub bits: Bits,
}

/// A bit width as written: `4`, `1.58`. Integers are written back without a fraction.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct Bits(pub f64);

impl Serialize for Bits {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.fract() == 0.0 && self.0.abs() < 1e9 {
            s.serialize_i64(self.0 as i64)
        } else {
            s.serialize_f64(self.0)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDataset {
    pub seed: i64,
    pub size: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTraining {
    pub epochs: i64,
    pub batch_size: i64,
    pub learning_rate: f64,
    pub seed: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBoard {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    pub baud: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawArtifacts {
    pub checkpoints: String,
    pub export: String,
}

/// Only the version, read first so that a newer file is refused before its unknown fields
/// could be reported as mistakes.
#[derive(Deserialize)]
struct VersionProbe {
    version: Option<i64>,
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// One thing wrong with one field.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldIssue {
    /// The field path, e.g. `model.layers[2].bits`.
    pub field: String,
    /// What is wrong and what to do, quoting values 'like this'.
    pub message: String,
    pub pos: Option<Pos>,
}

impl FieldIssue {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldIssue {
            field: field.into(),
            message: message.into(),
            pos: None,
        }
    }
}

/// Everything that can go wrong reading or writing a project file.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error("cannot read '{}': {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot save '{}': {source}; the previous file, if any, is unchanged", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{}: the file is empty; start from a template with 'tinygen new --template cvae-die {}'",
        path.display(), path.display()
    )]
    Empty { path: PathBuf },
    #[error(
        "{}:{line}:{col}: the file is not UTF-8 text (byte {byte:#04x}); \
         save it as UTF-8, or start again from 'tinygen new'",
        path.display()
    )]
    NotUtf8 {
        path: PathBuf,
        line: usize,
        col: usize,
        byte: u8,
    },
    #[error("{}:{line}:{col}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        col: usize,
        message: String,
    },
    #[error(
        "{}: written by a newer tinygen (project version {found}); this tinygen reads \
         version {supported}. Upgrade tinygen to open it; the file was left untouched",
        path.display()
    )]
    NewerVersion {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("{}", format_issues(path, issues))]
    Invalid {
        path: PathBuf,
        issues: Vec<FieldIssue>,
    },
    #[error("cannot write the project: {0}")]
    Serialize(String),
}

fn format_issues(path: &Path, issues: &[FieldIssue]) -> String {
    issues
        .iter()
        .map(|i| match i.pos {
            Some(p) => format!(
                "{}:{}:{}: '{}': {}",
                path.display(),
                p.line,
                p.col,
                i.field,
                i.message
            ),
            None => format!("{}: '{}': {}", path.display(), i.field, i.message),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

impl ProjectError {
    /// The first line and column the error points at, when it has one.
    pub fn position(&self) -> Option<Pos> {
        match self {
            ProjectError::NotUtf8 { line, col, .. } | ProjectError::Syntax { line, col, .. } => {
                Some(Pos {
                    line: *line,
                    col: *col,
                })
            }
            ProjectError::Invalid { issues, .. } => issues.iter().find_map(|i| i.pos),
            _ => None,
        }
    }

    /// Whether the input was at fault (exit code 2), rather than the system.
    pub fn is_bad_input(&self) -> bool {
        !matches!(
            self,
            ProjectError::Read { .. } | ProjectError::Write { .. } | ProjectError::Serialize(_)
        )
    }
}

/// Rewrites ron's error messages in our voice, with suggestions where we can make one.
fn describe_ron_error(code: &ron::Error) -> String {
    use ron::Error as E;
    match code {
        E::NoSuchStructField {
            expected,
            found,
            outer,
        } => {
            let place = outer
                .as_deref()
                .map(|o| format!(" in {}", friendly_struct(o)))
                .unwrap_or_default();
            format!(
                "unknown field '{found}'{place}; {}",
                suggest::hint_for("fields", found, expected)
            )
        }
        E::MissingStructField { field, outer } => {
            let place = outer
                .as_deref()
                .map(|o| format!(" in {}", friendly_struct(o)))
                .unwrap_or_default();
            format!("missing field '{field}'{place}; add it (see docs/project-format.md)")
        }
        E::DuplicateStructField { field, .. } => {
            format!("field '{field}' is given twice; keep one")
        }
        E::ExceededRecursionLimit => {
            "the file nests deeper than any project can; it is not a tinygen project".into()
        }
        E::Eof => "the file ends too early (is it cut short? check the closing brackets)".into(),
        E::IntegerOutOfBounds => "this number is far too large".into(),
        E::TrailingCharacters => {
            "unexpected text after the project's closing ')'; remove it".into()
        }
        E::ExpectedStructLike | E::ExpectedNamedStructLike(_) => {
            "expected '(' here: a project file is one RON struct, '( version: 1, … )' \
             (see docs/project-format.md)"
                .into()
        }
        E::ExpectedInteger => "expected a whole number here".into(),
        E::ExpectedFloat => "expected a number here".into(),
        E::ExpectedString => "expected text in double quotes here".into(),
        E::ExpectedArray => "expected a list '[ … ]' here".into(),
        E::InvalidValueForType { expected, found } => {
            format!("expected {expected} here, found {found}")
        }
        other => format!("{other}")
            .replace("VersionProbe", "project")
            .replace("Raw", ""),
    }
}

fn friendly_struct(name: &str) -> String {
    match name {
        "RawProject" => "the project".into(),
        other => format!(
            "'{}'",
            other
                .trim_start_matches("Raw")
                .to_lowercase()
                .replace("layer", "a layer")
        ),
    }
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

/// Reads and validates a project file.
pub fn load(path: &Path) -> Result<Project, ProjectError> {
    let bytes = std::fs::read(path).map_err(|source| ProjectError::Read {
        path: path.to_path_buf(),
        source,
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
    parse(&text, path)
}

/// Parses and validates project text; `origin` names it in errors.
pub fn parse(text: &str, origin: &Path) -> Result<Project, ProjectError> {
    let raw = parse_raw(text, origin)?;
    raw.validate().map_err(|mut issues| {
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
        message: describe_ron_error(&e.code),
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
            return Err(ProjectError::NewerVersion {
                path,
                found: v,
                supported: VERSION,
            });
        }
        Some(_) => {}
    }
    ron_options().from_str(text).map_err(syntax)
}

// ---------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------

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
    pub fn validate(&self) -> Result<Project, Vec<FieldIssue>> {
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

        let tdef = template::find(&self.template);
        if tdef.is_none() {
            issues.push(FieldIssue::new(
                "template",
                format!(
                    "unknown template '{}'; {}",
                    self.template,
                    suggest::hint(&self.template, &template::names())
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
        let dataset = Dataset {
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

        if !issues.is_empty() {
            return Err(issues);
        }
        Ok(Project {
            name,
            // `tdef` is Some here, or an issue was pushed above.
            template: tdef.map_or(TemplateId::CvaeDie, |d| d.id),
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

// ---------------------------------------------------------------------------------------
// Saving, templates, paths
// ---------------------------------------------------------------------------------------

impl Project {
    /// The raw form, as it is written to a file.
    pub fn to_raw(&self) -> RawProject {
        RawProject {
            version: VERSION,
            name: self.name.clone(),
            template: self.template.name().to_string(),
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
        let body = ron::ser::to_string_pretty(&self.to_raw(), config)
            .map_err(|e| ProjectError::Serialize(e.to_string()))?;
        Ok(format!(
            "// A tinygen project (template '{}'). Format: docs/project-format.md\n{body}\n",
            self.template
        ))
    }

    /// The default project of a built-in template.
    pub fn from_template(def: &TemplateDef) -> Project {
        // Every embedded template is checked by a unit test, so this only fails in a broken build.
        parse(def.source, Path::new(def.name))
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
}

/// Saves atomically. A file already at `path` from a newer tinygen is never overwritten.
pub fn save(project: &Project, path: &Path) -> Result<(), ProjectError> {
    if let Ok(existing) = std::fs::read_to_string(path)
        && let Ok(probe) = ron_options().from_str::<VersionProbe>(&existing)
        && let Some(v) = probe.version
        && v > VERSION
    {
        return Err(ProjectError::NewerVersion {
            path: path.to_path_buf(),
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

    fn die() -> Project {
        Project::from_template(template::find("cvae-die").unwrap())
    }

    fn err_text(text: &str) -> String {
        parse(text, Path::new("p.ron")).unwrap_err().to_string()
    }

    #[test]
    fn every_template_is_valid_and_round_trips() {
        for def in template::all() {
            let p = Project::from_template(def);
            assert_eq!(p.template, def.id);
            let text = p.to_ron().unwrap();
            let again = parse(&text, Path::new("x.ron")).unwrap();
            assert_eq!(p, again, "{}", def.name);
        }
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
        assert_eq!(load(&path).unwrap(), p);
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
        let e = parse(text, Path::new("p.ron")).unwrap_err();
        assert_eq!(e.position(), Some(Pos { line: 6, col: 38 }));
        assert!(
            e.to_string()
                .contains("'model.layers[0].bits': bits '3' is not supported")
        );
    }

    #[test]
    fn newer_versions_are_refused_before_their_fields() {
        let text = "(version: 2, hologram: true)";
        let e = parse(text, Path::new("p.ron")).unwrap_err();
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
        let issues = raw.validate().unwrap_err();
        assert_eq!(issues.len(), 2);
        raw.artifacts.export = "build/../out".into();
        raw.artifacts.checkpoints = "./ck".into();
        assert!(raw.validate().is_ok());
    }

    #[test]
    fn mlp_layers_are_counted_and_named() {
        let mut raw = Project::from_template(template::find("bitnet-mnist").unwrap()).to_raw();
        raw.model.layers.remove(1);
        let issues = raw.validate().unwrap_err();
        assert!(
            issues
                .iter()
                .any(|i| i.message.contains("named 'fc2', not 'fc3'")),
            "{issues:?}"
        );
        raw.model.layers[1].name = "fc2".into();
        assert!(raw.validate().is_ok());
    }

    #[test]
    fn bits_parse() {
        assert_eq!(WeightBits::from_f64(1.58), Some(WeightBits::Ternary));
        assert_eq!(WeightBits::from_f64(3.0), None);
        assert_eq!(WeightBits::from_f64(f64::NAN), None);
        for b in WeightBits::ALL {
            assert_eq!(WeightBits::from_f64(b.as_f64()), Some(b));
        }
    }

    #[test]
    fn explicit_and_implicit_some_both_load() {
        let base = die().to_ron().unwrap();
        for port in ["Some(\"/dev/ttyACM0\")", "\"/dev/ttyACM0\""] {
            let text = base.replace("kind: \"sim\",", &format!("kind: \"sim\", port: {port},"));
            let p = parse(&text, Path::new("p.ron")).unwrap_or_else(|e| panic!("{port}: {e}"));
            assert_eq!(p.board.port.as_deref(), Some("/dev/ttyACM0"));
        }
    }
}
