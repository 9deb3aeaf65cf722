//! Datasets: the procedural die renderer and the MNIST digits from IDX files. Loading is
//! deterministic for a given seed. Templates build their training data from these.

pub mod die;
pub mod mnist;

use std::path::{Path, PathBuf};

/// Where a project's data may be, besides the standard places each dataset knows: the
/// project's `dataset.path`, resolved, and the folder of the project file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Places {
    /// The project's `dataset.path`, resolved against its file.
    pub dataset: Option<PathBuf>,
    /// The folder the project file is in.
    pub project_dir: Option<PathBuf>,
}

impl Places {
    /// Only `dir` (and the standard places).
    pub fn dir(dir: &Path) -> Places {
        Places {
            dataset: Some(dir.to_path_buf()),
            project_dir: None,
        }
    }
}
