//! The project file as written: wide numbers and plain strings, so that a wrong value gets
//! a helpful message from validation rather than a type error from the parser.

use serde::{Deserialize, Serialize};

/// The schema version this build reads and writes.
pub const VERSION: i64 = 1;

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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
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
pub(super) struct VersionProbe {
    pub(super) version: Option<i64>,
}
