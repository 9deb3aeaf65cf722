//! What the Monitor saw, kept beside the project (`die.ron` → `die.progress.ron`) so the
//! checklist can tick the steps a board completes: the model hash of the last board's
//! HELLO, how many images arrived whole from that model, and the last PNG saved. Written
//! atomically; a damaged file reads as no progress (the steps tick again as things
//! happen) and is never fatal.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// The model hash in the last HELLO seen.
    pub board_hash: Option<u32>,
    /// Images received whole from boards running `images_hash`.
    pub images: u32,
    pub images_hash: Option<u32>,
    /// The last PNG of generated images saved.
    pub png: Option<PathBuf>,
}

/// What happened on a board, as the Monitor reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Hello { model_hash: u32 },
    Images { model_hash: u32, count: u32 },
    Png(PathBuf),
}

impl Progress {
    pub fn apply(&mut self, e: Event) {
        match e {
            Event::Hello { model_hash } => self.board_hash = Some(model_hash),
            Event::Images { model_hash, count } => {
                if self.images_hash != Some(model_hash) {
                    self.images_hash = Some(model_hash);
                    self.images = 0;
                }
                self.images = self.images.saturating_add(count);
            }
            Event::Png(p) => self.png = Some(std::path::absolute(&p).unwrap_or(p)),
        }
    }
}

/// `die.ron` → `die.progress.ron`.
pub fn path(project_file: &Path) -> PathBuf {
    sibling(project_file, "progress")
}

/// `die.ron` → `die.<what>.ron`, beside the project file.
pub fn sibling(project_file: &Path, what: &str) -> PathBuf {
    let stem = project_file
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "project".into());
    project_file.with_file_name(format!("{stem}.{what}.ron"))
}

/// The progress of the project in `project_file`; none when there is no file or it is
/// damaged.
pub fn load(project_file: &Path) -> Progress {
    std::fs::read_to_string(path(project_file))
        .ok()
        .and_then(|t| ron::from_str(&t).ok())
        .unwrap_or_default()
}

/// Records `events` for the project in `project_file`. A failure to write is returned for
/// the caller to mention; it never stops what the user was doing.
pub fn record(project_file: &Path, events: Vec<Event>) -> std::io::Result<()> {
    let mut p = load(project_file);
    let before = p.clone();
    for e in events {
        p.apply(e);
    }
    if p == before {
        return Ok(());
    }
    let text = ron::ser::to_string_pretty(&p, ron::ser::PrettyConfig::default())
        .map_err(std::io::Error::other)?;
    crate::util::fsutil::write_atomic(&path(project_file), text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_count_per_model_and_survive_a_reload() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("die.ron");
        record(&f, vec![Event::Hello { model_hash: 7 }]).unwrap();
        record(
            &f,
            vec![Event::Images {
                model_hash: 7,
                count: 4,
            }],
        )
        .unwrap();
        record(
            &f,
            vec![Event::Images {
                model_hash: 7,
                count: 2,
            }],
        )
        .unwrap();
        let p = load(&f);
        assert_eq!(
            (p.board_hash, p.images, p.images_hash),
            (Some(7), 6, Some(7))
        );
        // Another model starts the count again.
        record(
            &f,
            vec![Event::Images {
                model_hash: 9,
                count: 1,
            }],
        )
        .unwrap();
        assert_eq!(load(&f).images, 1);
    }

    #[test]
    fn a_damaged_progress_file_reads_as_none_and_is_replaced_whole() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("die.ron");
        std::fs::write(path(&f), "Progress(board_hash: Some(").unwrap();
        assert_eq!(load(&f), Progress::default());
        record(&f, vec![Event::Png(d.path().join("dice.png"))]).unwrap();
        assert!(load(&f).png.unwrap().ends_with("dice.png"));
    }
}
