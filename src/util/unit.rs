//! Files that must change together, such as an export's `model.bin` and `tg_model.h`:
//! a reader never sees one new and the other old, even when the writer is killed between
//! two writes.
//!
//! Each file in the folder is a symbolic link into `.tinygen-unit/current/`, and `current`
//! is itself a link to the folder of the latest version. A new version is written whole
//! into its own folder first; one `rename` of a new `current` link over the old one then
//! switches every file at once. Versions left by a writer that died are removed by the
//! next write; the previous version is removed once the switch has happened.
//!
//! Two cases are weaker, and said here: the first write over plain files of an older
//! tinygen replaces them by links one rename at a time, and a filesystem without links
//! (FAT) gets each file written atomically on its own.

use super::fsutil::{pid_alive, sweep_dead, write_atomic};
use std::fs;
use std::io;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

/// The hidden folder that holds the versions.
pub const STORE: &str = ".tinygen-unit";
const CURRENT: &str = "current";

/// Writes `files` (name, bytes) into `dir` as one unit. Names are plain file names. On a
/// filesystem without symbolic links (FAT on an SD card), each file is written atomically
/// on its own instead.
pub fn write_unit(dir: &Path, files: &[(&str, &[u8])]) -> io::Result<()> {
    if !links_work(dir) {
        for (name, bytes) in files {
            write_atomic(&dir.join(name), bytes)?;
        }
        return Ok(());
    }
    let staged = stage(dir, files)?;
    commit(dir, &staged, files.iter().map(|(n, _)| *n))
}

/// Whether `dir` takes symbolic links.
fn links_work(dir: &Path) -> bool {
    let probe = dir.join(format!(".tinygen-link-probe-{}", std::process::id()));
    let _ = fs::remove_file(&probe);
    let ok = symlink("probe", &probe).is_ok();
    let _ = fs::remove_file(&probe);
    ok
}

/// Writes a new version into its own folder, without showing it yet; its folder.
pub fn stage(dir: &Path, files: &[(&str, &[u8])]) -> io::Result<PathBuf> {
    for (name, _) in files {
        if name.is_empty() || name.contains('/') || name.starts_with('.') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("'{name}' is not a plain file name"),
            ));
        }
        // Checked before anything changes, so a unit never half switches.
        if fs::symlink_metadata(dir.join(name)).is_ok_and(|m| m.is_dir()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "'{}' is a folder; move it away first",
                    dir.join(name).display()
                ),
            ));
        }
        // Links a killed writer left half made.
        sweep_dead(dir, &format!(".{name}.tmp-"), "");
    }
    let store = dir.join(STORE);
    fs::create_dir_all(&store)?;
    sweep(&store);
    sweep_dead(&store, ".current.tmp-", "");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let version = store.join(format!("v-{}-{nanos}", std::process::id()));
    fs::create_dir(&version)?;
    for (name, bytes) in files {
        write_atomic(&version.join(name), bytes)?;
    }
    Ok(version)
}

/// Shows a staged version: one rename switches `current`, then each file's link is made
/// (once: later versions reuse it) and the versions before are removed.
pub fn commit<'a>(
    dir: &Path,
    version: &Path,
    names: impl IntoIterator<Item = &'a str>,
) -> io::Result<()> {
    let store = dir.join(STORE);
    let target = version
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no version folder"))?;
    let tmp = store.join(format!(".current.tmp-{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    symlink(target, &tmp)?;
    fs::rename(&tmp, store.join(CURRENT))?;
    for name in names {
        let link = dir.join(name);
        let want = Path::new(STORE).join(CURRENT).join(name);
        if fs::read_link(&link).ok().as_deref() == Some(want.as_path()) {
            continue;
        }
        // A file of an older tinygen, or none: replaced by the link in one rename.
        let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
        let _ = fs::remove_file(&tmp);
        symlink(&want, &tmp)?;
        fs::rename(&tmp, &link)?;
    }
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    sweep(&store);
    Ok(())
}

/// Removes every version folder but the current one, except those a running process is
/// still writing.
fn sweep(store: &Path) {
    let current = fs::read_link(store.join(CURRENT)).ok();
    let Ok(entries) = fs::read_dir(store) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(n) = name.to_str() else { continue };
        let Some(rest) = n.strip_prefix("v-") else {
            continue;
        };
        if current.as_deref() == Some(Path::new(n)) {
            continue;
        }
        let pid: u32 = rest
            .split('-')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        if pid == std::process::id() || !pid_alive(pid) {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(dir: &Path, name: &str) -> String {
        fs::read_to_string(dir.join(name)).unwrap()
    }

    /// Issue #19, item 4: `export` wrote model.bin and tg_model.h one after the other, so
    /// a kill between the two left a new model.bin beside an old tg_model.h.
    #[test]
    fn a_killed_export_never_mixes_a_new_blob_with_an_old_header() {
        let d = tempfile::tempdir().unwrap();
        // A folder an older tinygen exported to: plain files.
        fs::write(d.path().join("model.bin"), "old blob").unwrap();
        fs::write(d.path().join("tg_model.h"), "old header").unwrap();
        write_unit(
            d.path(),
            &[("model.bin", b"v1 blob"), ("tg_model.h", b"v1 header")],
        )
        .unwrap();
        assert_eq!(read(d.path(), "model.bin"), "v1 blob");
        assert_eq!(read(d.path(), "tg_model.h"), "v1 header");
        // A second export, killed after writing everything but before the switch: the
        // reader still sees the first export whole.
        let staged = stage(
            d.path(),
            &[("model.bin", b"v2 blob"), ("tg_model.h", b"v2 header")],
        )
        .unwrap();
        assert_eq!(read(d.path(), "model.bin"), "v1 blob");
        assert_eq!(read(d.path(), "tg_model.h"), "v1 header");
        // The switch shows both at once, and the old version is removed.
        commit(d.path(), &staged, ["model.bin", "tg_model.h"]).unwrap();
        assert_eq!(read(d.path(), "model.bin"), "v2 blob");
        assert_eq!(read(d.path(), "tg_model.h"), "v2 header");
        let versions = fs::read_dir(d.path().join(STORE))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("v-")
            })
            .count();
        assert_eq!(versions, 1);
    }

    /// Review: a folder where a file should go was found only after `current` switched.
    #[test]
    fn a_folder_in_the_way_changes_nothing() {
        let d = tempfile::tempdir().unwrap();
        write_unit(d.path(), &[("a.bin", b"v1"), ("b.h", b"v1")]).unwrap();
        fs::remove_file(d.path().join("b.h")).unwrap();
        fs::create_dir(d.path().join("b.h")).unwrap();
        let e = write_unit(d.path(), &[("a.bin", b"v2"), ("b.h", b"v2")]).unwrap_err();
        assert!(e.to_string().contains("is a folder"), "{e}");
        assert_eq!(read(d.path(), "a.bin"), "v1");
    }

    #[test]
    fn a_dead_writers_version_is_swept_and_names_stay_plain() {
        let d = tempfile::tempdir().unwrap();
        let store = d.path().join(STORE);
        fs::create_dir_all(store.join("v-999999999-1")).unwrap();
        write_unit(d.path(), &[("a.bin", b"a")]).unwrap();
        assert!(!store.join("v-999999999-1").exists());
        assert!(write_unit(d.path(), &[("../a", b"x")]).is_err());
        assert!(write_unit(d.path(), &[(".hidden", b"x")]).is_err());
    }
}
