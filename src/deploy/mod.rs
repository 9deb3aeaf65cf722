//! Getting a model onto a board: the model a project deploys ([`Deployable`]: its
//! trained checkpoint, or a model tinygen ships), the firmware build, the boards that run
//! on this machine ([`local`]: the simulated board and qemu), flashing real ones
//! ([`flash`]: a CH32V003 through probe-rs, a Raspberry Pi over serial), and `budget
//! --verify` ([`verify`]).
//!
//! Nothing here trains or needs a tensor library: the caller (a template) hands over the
//! model's spec, and the checkpoint's weights are read as plain data.

pub mod firmware;
pub mod flash;
pub mod local;
pub mod pi;
pub mod probe;
pub mod qemu;
pub mod sim;
pub mod verify;

use crate::spec::ModelSpec;
use std::path::{Path, PathBuf};

/// Where a deployed model came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// The project's own checkpoint.
    Trained(PathBuf),
    /// A model tinygen ships (the project describes its template's default model).
    Builtin,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Trained(p) => write!(f, "trained checkpoint {}", p.display()),
            Origin::Builtin => write!(f, "the built-in default die model"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("'{project}' has no trained model yet; train it with 'tinygen train {file}'")]
    Untrained {
        project: String,
        file: String,
        source: Box<NoModel>,
    },
    /// The template has only a budget so far: there is nothing to export, flash or watch.
    #[error(
        "the '{template}' template has a budget but no training yet, so it has no model to \
         export, flash or monitor; 'tinygen budget {file}' shows what it would take on the board"
    )]
    NotBuilt { template: String, file: String },
    #[error(transparent)]
    Export(#[from] crate::export::ExportError),
    #[error("the model blob is unusable")]
    Blob(#[from] crate::engine::EngineError),
}

/// Why a project has no trained model.
#[derive(Debug, thiserror::Error)]
pub enum NoModel {
    #[error("no checkpoint in '{}'", .0.display())]
    NoCheckpoint(PathBuf),
    #[error("the checkpoint in '{}' does not fit the project", dir.display())]
    Unusable {
        dir: PathBuf,
        source: crate::checkpoint::CheckpointError,
    },
}

/// A model ready for a board: its spec (with weights when trained here; shapes only for
/// the shipped model, whose weights live in its blob) and its blob.
pub struct Deployable {
    pub spec: ModelSpec,
    pub blob: Vec<u8>,
    pub origin: Origin,
}

impl Deployable {
    pub fn hash(&self) -> u32 {
        crate::export::blob_hash(&self.blob).unwrap_or(0)
    }

    /// The model as `target` stores it: coded 4-bit weights on a microcontroller when that
    /// saves flash (the project's own target decides it otherwise).
    pub fn for_target(
        mut self,
        target: &crate::target::Target,
        project: &str,
    ) -> Result<Deployable, ModelError> {
        let spec = self.spec.clone().for_target(Some(target));
        let trained = spec.layers.iter().all(|l| l.weights.is_some());
        if trained && spec.coded_weights != self.spec.coded_weights {
            self.blob = crate::export::blob(&spec, project)?;
            self.spec = spec;
        }
        Ok(self)
    }

    /// The C header for the firmware, with the arena the engine itself plans.
    pub fn header(&self, project: &str, target: &str) -> Result<String, ModelError> {
        let engine = crate::engine::Engine::load(&self.blob)?;
        Ok(crate::export::header(
            &self.spec,
            &self.blob,
            project,
            u64::from(engine.arena_bytes()),
            target,
        ))
    }

    /// Bytes of one output row (what an IMAGE frame carries per row).
    pub fn row_bytes(&self) -> u32 {
        self.spec
            .layers
            .last()
            .map_or(0, |l| l.output.c * l.output.w)
    }

    /// How a microcontroller firmware for this model is sized.
    pub fn firmware_config(&self) -> crate::deploy::firmware::FirmwareConfig {
        use crate::spec::{LayerKind, ModelKind};
        let classifier = self.spec.kind == ModelKind::Classifier;
        crate::deploy::firmware::FirmwareConfig {
            row_bytes: self.row_bytes(),
            // A CLASSIFY frame: type, tag, the input. Generators need only short commands.
            rx_max: if classifier {
                (3 + self.spec.input.elements() as u32).max(32)
            } else {
                32
            },
            conv: self.spec.layers.iter().any(|l| l.kind != LayerKind::Dense),
            generator: !classifier,
            coded: (0..self.spec.layers.len()).any(|i| self.spec.codes_layer(i)),
            only_coded: (0..self.spec.layers.len()).all(|i| self.spec.codes_layer(i)),
            bits_mask: self
                .spec
                .layers
                .iter()
                .map(|l| 1u32 << l.weight_bits.blob_code())
                .fold(0, |a, b| a | b),
            diffusion_arena: (self.spec.kind == ModelKind::Diffusion).then(|| {
                crate::engine::diffusion::Diffusion::load(&self.blob).map_or(0, |d| d.arena_bytes())
            }),
        }
    }
}

/// The model to deploy: the trained checkpoint in `dir` if there is one that fits `spec`
/// (the project's, without weights), else `builtin` (the blob tinygen ships for it).
/// `file` is the project file, for the message that says how to train it.
pub fn model_for(
    spec: ModelSpec,
    builtin: Option<&'static [u8]>,
    dir: &Path,
    project: &str,
    file: Option<&Path>,
) -> Result<Deployable, ModelError> {
    let trained = if crate::checkpoint::has_weights(dir) {
        crate::checkpoint::read_weights(dir, spec.clone()).map_err(|source| NoModel::Unusable {
            dir: dir.to_path_buf(),
            source,
        })
    } else {
        Err(NoModel::NoCheckpoint(dir.to_path_buf()))
    };
    match (trained, builtin) {
        (Ok(spec), _) => {
            let blob = crate::export::blob(&spec, project)?;
            Ok(Deployable {
                spec,
                blob,
                origin: Origin::Trained(dir.to_path_buf()),
            })
        }
        (Err(_), Some(blob)) => Ok(Deployable {
            spec,
            blob: blob.to_vec(),
            origin: Origin::Builtin,
        }),
        (Err(source), None) => Err(ModelError::Untrained {
            project: project.to_string(),
            file: file.map_or("PROJECT.ron".into(), |f| f.display().to_string()),
            source: Box::new(source),
        }),
    }
}
