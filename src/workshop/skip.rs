//! "Skip to here" (issue #20, item 2): a participant who fell behind loads the workshop's
//! reference checkpoint, so the steps up to training tick and they join the room. The
//! reference must fit the project's model (its weights are checked against the project's
//! layers first); a checkpoint the participant already has is kept beside, never lost.

use super::Workshop;
use crate::project::Project;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SkipError {
    #[error(
        "this workshop names no reference checkpoint (a 'reference: \"folder\"' in its workshop file)"
    )]
    NoReference,
    #[error("the reference checkpoint '{}' does not fit this project's model: {source}", path.display())]
    DoesNotFit {
        path: PathBuf,
        source: crate::checkpoint::CheckpointError,
    },
    #[error("cannot copy the reference checkpoint into '{}': {source}", path.display())]
    Copy {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What a skip did, for the user.
#[derive(Debug)]
pub struct Skipped {
    pub reference: PathBuf,
    pub checkpoints: PathBuf,
    /// Where the participant's own checkpoint went, when there was one.
    pub kept: Option<PathBuf>,
}

/// Loads the reference of `w` (whose file is `workshop_file`) into the checkpoint folder
/// of the project in `file`.
pub fn skip(
    w: &Workshop,
    workshop_file: &Path,
    p: &Project,
    file: &Path,
) -> Result<Skipped, SkipError> {
    let reference = w.reference.as_ref().ok_or(SkipError::NoReference)?;
    let reference = workshop_file
        .parent()
        .unwrap_or(Path::new("."))
        .join(reference);
    crate::checkpoint::read_weights(&reference, crate::templates::spec(p)).map_err(|source| {
        SkipError::DoesNotFit {
            path: reference.clone(),
            source,
        }
    })?;
    let target = p.checkpoint_dir(Some(file));
    let copy_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SkipError::Copy { path, source }
    };
    let parent = target.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(copy_err(parent))?;
    // Copied whole into a fresh folder first; only then does it take the checkpoint's place.
    let staging = parent.join(format!(".reference-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).map_err(copy_err(&staging))?;
    for e in std::fs::read_dir(&reference).map_err(copy_err(&reference))? {
        let e = e.map_err(copy_err(&reference))?;
        if e.path().is_file() {
            std::fs::copy(e.path(), staging.join(e.file_name())).map_err(copy_err(&staging))?;
        }
    }
    let kept = if target.exists() {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "checkpoints".into());
        let aside = (1..)
            .map(|n| parent.join(format!("{name}.before-skip-{n}")))
            .find(|d| !d.exists())
            .expect("a free name");
        std::fs::rename(&target, &aside).map_err(copy_err(&target))?;
        Some(aside)
    } else {
        None
    };
    std::fs::rename(&staging, &target).map_err(copy_err(&target))?;
    Ok(Skipped {
        reference,
        checkpoints: target,
        kept,
    })
}
