//! What can go wrong with a project file, in the user's words: the file, the line and
//! column, the field, and what to write instead.

use super::locate::Pos;
use crate::util::suggest;
use std::path::{Path, PathBuf};

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
    pub(crate) fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
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
    #[error(
        "'{}' does not exist; start a project there with 'tinygen new --template cvae-die {}' \
         ('tinygen templates' lists the others)",
        path.display(),
        path.display()
    )]
    Missing { path: PathBuf },
    #[error("cannot read '{}'", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot save '{}' (the previous file, if any, is unchanged)", path.display())]
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
        "{}:{line}:{col}: written by a newer tinygen (project version {found}); this tinygen \
         reads version {supported}. Upgrade tinygen to open it; the file was left untouched",
        path.display()
    )]
    NewerVersion {
        path: PathBuf,
        line: usize,
        col: usize,
        found: i64,
        supported: i64,
    },
    #[error("{}", format_issues(path, issues))]
    Invalid {
        path: PathBuf,
        issues: Vec<FieldIssue>,
    },
    #[error("cannot write the project")]
    Serialize(#[source] ron::Error),
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
pub(super) fn describe_ron_error(code: &ron::Error) -> String {
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
        E::ExpectedDifferentStructName { found, .. } => format!(
            "found '{found}' where the project begins: a project file is one RON struct, \
             '( version: 1, … )', with no name before it (see docs/project-format.md)"
        ),
        E::ExpectedStructLikeEnd | E::ExpectedOptionEnd => {
            "expected a closing ')' here (is a comma or a bracket missing?)".into()
        }
        E::ExpectedBoolean => "expected true or false here".into(),
        E::ExpectedComma => {
            "expected a comma here, or a closing bracket ('(…)' and '[…]' must pair up)".into()
        }
        E::ExpectedArrayEnd => "expected a closing ']' here".into(),
        E::ExpectedStringEnd => "the text in quotes is not closed; add the closing '\"'".into(),
        E::UnclosedBlockComment => "a '/*' comment is not closed with '*/'".into(),
        E::UnexpectedChar(c) => format!("'{c}' does not belong here"),
        E::ExpectedMap => "expected '{' here".into(),
        E::ExpectedMapEnd => "expected a closing '}' here".into(),
        other => in_our_voice(&format!("{other}")),
    }
}

/// The parser's own words for the errors above does not name: sentence case as ours are,
/// quotes instead of backticks, and no internal type names.
fn in_our_voice(message: &str) -> String {
    let text = message
        .replace("VersionProbe", "project")
        .replace("Raw", "")
        .replace('`', "'");
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text,
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
