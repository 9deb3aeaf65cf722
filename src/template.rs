//! The seam between tinygen and its templates. Everything that differs from one template
//! to another (the deployable model's shapes, the dataset, the burn model and its
//! training task, the evaluation, a shipped model) is behind [`Template`]; the rest of the
//! program asks the project's template and never matches on which one it is.
//!
//! A template lives in its own folder, `src/templates/<name>/`, and is registered with one
//! line in `src/templates/mod.rs` (see `docs/architecture.md`).

use crate::data::Places;
use crate::data::mnist::MnistError;
use crate::deploy::ModelError;
use crate::project::{Project, TemplateDef};
use crate::spec::ModelSpec;
use crate::train::{Control, LossInfo, TrainError, TrainEvent, TrainOptions, TrainOutcome};
use burn::prelude::Device;
use std::path::{Path, PathBuf};

/// What a template does. Implementations are unit structs registered in
/// `crate::templates`.
pub trait Template: Sync {
    /// Its names, default project and the rules of its parameters.
    fn def(&self) -> &'static TemplateDef;

    /// The deployable model a project describes (shapes and bit widths, no weights), as
    /// stored on the project's target.
    fn spec(&self, p: &Project) -> ModelSpec;

    /// The losses its training reports, for curves drawn before any training ran.
    fn losses(&self) -> &'static [LossInfo];

    /// What its model's images are called, one and many: ("die", "dice").
    fn image_words(&self, _p: &Project) -> (&'static str, &'static str) {
        ("image", "images")
    }

    /// How a label is shown beside an image: "3 pips", "digit 3".
    fn caption(&self, _p: &Project, label: u8) -> String {
        format!("class {label}")
    }

    /// Trains the project's model on `device` through the shared loop
    /// (`crate::train::run`), reporting through `emit`.
    fn train(
        &self,
        p: &Project,
        opts: &TrainOptions,
        control: &Control,
        device: &Device,
        emit: &mut dyn FnMut(TrainEvent),
    ) -> Result<TrainOutcome, TrainError>;

    /// Scores a trained model; the report as text.
    fn evaluate(&self, req: &EvalRequest, device: &Device) -> Result<String, EvalError>;

    /// Labelled samples of a project's training data, as `tinygen data preview` shows
    /// them (`seed` in place of its `dataset.seed`).
    fn preview_data(
        &self,
        p: &Project,
        seed: u64,
        per_class: usize,
    ) -> Result<DataPreview, DataError>;

    /// A model of the project's architecture scaled to `width` channels, its weights drawn
    /// from `seed` with no training: for memory benchmarks at sizes no board was trained
    /// for. `None` when the template has no such models.
    fn synthetic(
        &self,
        _p: &Project,
        _width: u32,
        _seed: u64,
    ) -> Option<Result<Vec<u8>, crate::export::ExportError>> {
        None
    }

    /// The model tinygen ships for this project, when the project describes exactly the
    /// template's default model (a newcomer sees it run before training anything).
    fn builtin_model(&self, _p: &Project) -> Option<&'static [u8]> {
        None
    }

    /// Changes a default project into the template's quick preset (`tinygen new --quick`):
    /// training in about 90 s on two cores to a model that still passes the template's
    /// quality bar. Returns what it sets, or `None` when the template has no such preset.
    fn quick_preset(&self, _p: &mut Project) -> Option<&'static str> {
        None
    }

    /// The template's workshop steps (a `.ron` workshop file's text), when the default
    /// list (`crate::workshop`) does not suit it.
    fn workshop(&self) -> Option<&'static str> {
        None
    }

    /// What this machine must have for the template, besides the simulated board: the
    /// doctor's groups, whose failed checks the workbench shows when it opens.
    fn needs(&self) -> &'static [crate::doctor::Group] {
        &[]
    }

    /// Labelled inputs for a classifier board (the Monitor and `--verify` send them):
    /// up to `n`, from the project's data places or the standard ones.
    fn sample_inputs(&self, _data: &Places, _n: usize) -> Result<Samples, DataError> {
        Err(DataError::NotAvailable {
            template: self.def().name,
            what: "inputs to classify (its boards draw images)",
        })
    }
}

/// A template's burn model loaded from the checkpoint folder `dir` of the project file
/// `file`, into `fresh` (a model built with the project's settings).
pub fn load_trained<M: burn::module::Module>(
    fresh: M,
    file: &Path,
    dir: &Path,
) -> Result<M, EvalError> {
    let path = crate::checkpoint::trained_model_file(dir);
    if !path.exists() {
        return Err(EvalError::Untrained {
            dir: dir.to_path_buf(),
            file: file.to_path_buf(),
        });
    }
    fresh.try_load_file(&path).map_err(|e| EvalError::Load {
        path: path.clone(),
        file: file.to_path_buf(),
        source: Box::new(e),
    })
}

/// What `tinygen eval` asks of a template.
#[derive(Debug, Clone)]
pub struct EvalRequest<'a> {
    pub project: &'a Project,
    /// The project file, for messages and relative paths.
    pub file: &'a Path,
    /// The project's checkpoint folder, resolved.
    pub checkpoints: PathBuf,
    /// Where the project's data may be (its `dataset.path`, its folder).
    pub data: crate::data::Places,
    /// Images generated per class.
    pub count: usize,
    pub seed: u64,
    /// Scale of a generator's latent draws.
    pub temperature: f32,
    /// Score through the C engine (the device path) rather than burn.
    pub engine: bool,
    /// A classifier's test set folder, overriding the usual search.
    pub test: Option<PathBuf>,
    /// A diffusion model's guidance scale for the float sampler, instead of its own.
    pub guidance: Option<f32>,
}

/// Why an evaluation could not run.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The request asks for something this template does not take (exit code 2).
    #[error("{0}")]
    BadRequest(String),
    #[error("evaluating the '{0}' template is not built yet")]
    NotBuilt(&'static str),
    #[error("no trained model in '{}'; train it first with 'tinygen train {}'", dir.display(), file.display())]
    Untrained { dir: PathBuf, file: PathBuf },
    #[error(
        "cannot load '{}'; it was trained for other settings or is damaged: \
         'tinygen train --fresh {}'",
        path.display(), file.display()
    )]
    Load {
        path: PathBuf,
        file: PathBuf,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Classifier(#[from] crate::scoring::pips::AssetError),
    #[error("the C engine refused the model")]
    Engine(#[from] crate::engine::EngineError),
    #[error("the burn integer model failed")]
    Int(#[from] crate::nn::int::IntError),
}

/// Why a template's data could not be had.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error(transparent)]
    Mnist(#[from] MnistError),
    #[error("the '{template}' template has no {what}")]
    NotAvailable {
        template: &'static str,
        what: &'static str,
    },
    #[error("a data preview of '{0}' is not built yet; 'cvae-die' and 'bitnet-mnist' have one")]
    NoPreview(&'static str),
}

/// Labelled images of a template's data, for a look at them.
#[derive(Debug, Clone, PartialEq)]
pub struct DataPreview {
    /// What is shown, e.g. "cvae-die training data, seed 1: 2 per pip count".
    pub title: String,
    /// Width and height of each (square) image.
    pub side: usize,
    /// Images per class, in class order.
    pub per_class: usize,
    /// `(caption, pixels)`, one class after another.
    pub samples: Vec<(String, Vec<u8>)>,
}

/// Labelled inputs for a classifier board.
#[derive(Debug, Clone, PartialEq)]
pub struct Samples {
    pub inputs: Vec<Vec<u8>>,
    pub labels: Vec<u8>,
    /// Which set they are, e.g. "test set".
    pub what: String,
    /// Where they came from, e.g. "test set, data/mnist/t10k-images-idx3-ubyte.gz".
    pub source: String,
}
