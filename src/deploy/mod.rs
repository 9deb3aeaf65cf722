//! Getting a model onto a board: which model a project deploys (its trained checkpoint,
//! or the shipped default die), the simulated board (the firmware built for this machine,
//! on a pseudo-terminal), and later the qemu boards, probe-rs and the Pi upload.

pub mod firmware;
pub mod pi;
pub mod probe;
pub mod qemu;
pub mod sim;

use crate::project::Project;
use crate::spec::ModelSpec;
use std::path::{Path, PathBuf};

/// The die model tinygen ships, trained by this code (see README, "The default model").
pub const DEFAULT_DIE_BLOB: &[u8] = include_bytes!("../../assets/die-default.bin");

/// Where a deployed model came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// The project's own checkpoint.
    Trained(PathBuf),
    /// The shipped default die model (the project is the untouched die template).
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
    #[error(
        "'{project}' has no trained model yet ({reason}); train it with 'tinygen train {file}'"
    )]
    Untrained {
        project: String,
        file: String,
        reason: String,
    },
    #[error(transparent)]
    Export(#[from] crate::export::ExportError),
    #[error("the model blob is unusable: {0}")]
    Blob(String),
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
        let engine =
            crate::engine::Engine::load(&self.blob).map_err(|e| ModelError::Blob(e.to_string()))?;
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
        use crate::template::LayerKind;
        let classifier = !self.spec.sigmoid_output;
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
                .map(|l| 1u32 << crate::export::bits_code(l.weight_bits))
                .fold(0, |a, b| a | b),
        }
    }
}

/// The checkpoint folder of a project (relative paths are relative to its file; a
/// project without a file uses the current directory).
pub fn checkpoint_dir(p: &Project, file: Option<&Path>) -> PathBuf {
    match file {
        Some(f) => p.resolve(f, &p.artifacts.checkpoints),
        None => p.artifacts.checkpoints.clone(),
    }
}

/// The model a project deploys: its trained checkpoint if there is one, else the shipped
/// default when the project describes exactly the default die model.
pub fn model_for(p: &Project, file: Option<&Path>) -> Result<Deployable, ModelError> {
    let dir = checkpoint_dir(p, file);
    let trained = if dir.join("weights.ron").exists() {
        crate::train::load_trained_spec(p, &dir).map_err(|e| e.to_string())
    } else {
        Err(format!("no checkpoint in '{}'", dir.display()))
    };
    match trained {
        Ok(spec) => {
            let blob = crate::export::blob(&spec, &p.name)?;
            Ok(Deployable {
                spec,
                blob,
                origin: Origin::Trained(dir),
            })
        }
        Err(e) => {
            if is_default_die(p) {
                return Ok(Deployable {
                    spec: ModelSpec::from_project(p),
                    blob: DEFAULT_DIE_BLOB.to_vec(),
                    origin: Origin::Builtin,
                });
            }
            Err(ModelError::Untrained {
                project: p.name.clone(),
                file: file.map_or("PROJECT.ron".into(), |f| f.display().to_string()),
                reason: e,
            })
        }
    }
}

/// Whether a project's deployable layers are exactly the default die template's.
pub fn is_default_die(p: &Project) -> bool {
    let Some(def) = crate::template::find("cvae-die") else {
        return false;
    };
    let d = Project::from_template(def);
    p.template == d.template && ModelSpec::from_project(p) == ModelSpec::from_project(&d)
}
