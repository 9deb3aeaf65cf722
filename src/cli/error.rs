//! Exit codes, and the one place where every module's error is mapped to one.

use crate::deploy::flash::FlashError;
use crate::project::ProjectError;
use crate::template::{DataError, EvalError};

/// Exit codes, documented in `--help`.
pub mod exit {
    pub const OK: i32 = 0;
    /// Something outside the user's input failed (I/O, a tool, a device).
    pub const FAILURE: i32 = 1;
    /// The input was wrong: a bad argument or an invalid project file.
    pub const BAD_INPUT: i32 = 2;
    /// The model does not fit the target.
    pub const DOES_NOT_FIT: i32 = 3;
    /// Stopped by Ctrl-C (128 + SIGINT, as shells report it).
    pub const INTERRUPTED: i32 = 130;
}

/// An error with the exit code it should produce.
#[derive(Debug)]
pub struct CliError {
    pub code: i32,
    pub error: anyhow::Error,
}

impl CliError {
    /// The user's input was wrong (exit code 2).
    pub fn bad_input(error: impl Into<anyhow::Error>) -> Self {
        CliError {
            code: exit::BAD_INPUT,
            error: error.into(),
        }
    }

    /// Something outside the input failed (exit code 1).
    pub fn failure(error: impl Into<anyhow::Error>) -> Self {
        CliError {
            code: exit::FAILURE,
            error: error.into(),
        }
    }

    /// The user stopped the command with Ctrl-C (exit code 130, as the shell's own), after
    /// it said what was kept.
    pub fn interrupted(what_was_kept: String) -> Self {
        CliError {
            code: exit::INTERRUPTED,
            error: anyhow::anyhow!(what_was_kept),
        }
    }

    /// The model does not fit its target (exit code 3).
    pub fn does_not_fit(error: impl Into<anyhow::Error>) -> Self {
        CliError {
            code: exit::DOES_NOT_FIT,
            error: error.into(),
        }
    }
}

impl From<ProjectError> for CliError {
    fn from(e: ProjectError) -> Self {
        if e.is_bad_input() {
            CliError::bad_input(e)
        } else {
            CliError::failure(e)
        }
    }
}

impl From<EvalError> for CliError {
    fn from(e: EvalError) -> Self {
        match e {
            EvalError::BadRequest(_) => CliError::bad_input(e),
            _ => CliError::failure(e),
        }
    }
}

impl From<DataError> for CliError {
    fn from(e: DataError) -> Self {
        match e {
            DataError::NoPreview(_) => CliError::bad_input(e),
            _ => CliError::failure(e),
        }
    }
}

impl From<FlashError> for CliError {
    fn from(e: FlashError) -> Self {
        match e {
            FlashError::DoesNotFit { .. } => CliError::does_not_fit(e),
            _ => CliError::failure(e),
        }
    }
}

/// Errors that are always a failure of something outside the input.
macro_rules! failures {
    ($($t:ty),* $(,)?) => {$(
        impl From<$t> for CliError {
            fn from(e: $t) -> Self {
                CliError::failure(e)
            }
        }
    )*};
}

failures!(
    anyhow::Error,
    std::io::Error,
    crate::deploy::ModelError,
    crate::deploy::firmware::BuildError,
    crate::deploy::local::LocalError,
    crate::deploy::sim::SimError,
    crate::deploy::verify::VerifyError,
    crate::data::mnist::MnistError,
    crate::export::ExportError,
    crate::scoring::pips::AssetError,
    crate::scoring::pips::SaveError,
    crate::train::TrainError,
    serde_json::Error,
);
