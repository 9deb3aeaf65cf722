//! Atomic file writes: a save either lands whole or leaves the old file untouched.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

/// Writes `bytes` to `path` through a temporary file in the same folder, fsyncs it and
/// renames it over the target, so a crash or a full disk never leaves a half-written file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
    let prefix = format!(".{}.tmp-", file_name.to_string_lossy());
    // What an earlier save of this file, killed mid-write, left behind.
    sweep_dead(dir, &prefix, "");
    let tmp = dir.join(format!("{prefix}{}", std::process::id()));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        // Persist the rename itself; not every filesystem allows opening a folder.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Whether a process with this id may be running: only "no such process" from `kill(pid,
/// 0)` counts as gone, so a process of another user, or hidden from this one, is kept.
pub fn pid_alive(pid: u32) -> bool {
    let Ok(id) = i32::try_from(pid) else {
        return false;
    };
    if id <= 0 {
        return true;
    }
    // SAFETY: signal 0 only checks that the process exists; nothing is sent.
    let r = unsafe { libc::kill(id, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Removes the files and folders in `dir` named `prefix` + the id of a process that is no
/// longer running + `after` (then anything, or nothing when `after` is empty): leftovers of
/// a tinygen killed by a signal or a power cut. Those of running processes, and names that
/// do not match, are kept.
pub fn sweep_dead(dir: &Path, prefix: &str, after: &str) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(prefix)) else {
            continue;
        };
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let tail = &rest[digits.len()..];
        let matches = if after.is_empty() {
            tail.is_empty()
        } else {
            tail.starts_with(after)
        };
        let Ok(pid) = digits.parse::<u32>() else {
            continue;
        };
        if matches && pid != std::process::id() && !pid_alive(pid) {
            let path = e.path();
            let _ = fs::remove_file(&path).or_else(|_| fs::remove_dir_all(&path));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue #19, item 4: leftover temporary files were never cleaned up.
    #[test]
    fn a_killed_saves_leftovers_are_swept_and_a_running_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.ron");
        // No process has an id above the kernel's limit (4,194,304 at most).
        let dead = dir.path().join(".a.ron.tmp-4999999");
        let running = dir.path().join(".a.ron.tmp-1");
        let other = dir.path().join(".b.ron.tmp-4999999");
        // The temp file of a file named `a.ron.tmp-4999999`, being saved by process 1.
        let nested = dir.path().join(".a.ron.tmp-4999999.tmp-1");
        for f in [&dead, &running, &other, &nested] {
            fs::write(f, b"half").unwrap();
        }
        write_atomic(&p, b"whole").unwrap();
        assert!(!dead.exists(), "the dead save's temp file is swept");
        assert!(running.exists(), "process 1 is running: its file stays");
        assert!(
            other.exists(),
            "another file's temp is not this save's business"
        );
        let sim = dir.path().join("tinygen-sim-4999999-0badf00d-3.bin");
        let mine = dir
            .path()
            .join(format!("tinygen-sim-{}-0badf00d-4.bin", std::process::id()));
        fs::create_dir(dir.path().join("tinygen-qemu-4999999-1")).unwrap();
        fs::write(&sim, b"").unwrap();
        fs::write(&mine, b"").unwrap();
        sweep_dead(dir.path(), "tinygen-sim-", "-");
        sweep_dead(dir.path(), "tinygen-qemu-", "-");
        assert!(!sim.exists() && mine.exists());
        assert!(!dir.path().join("tinygen-qemu-4999999-1").exists());
    }

    #[test]
    fn replaces_content_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.ron");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn failed_write_keeps_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("missing-dir").join("a.ron");
        assert!(write_atomic(&p, b"x").is_err());
        assert!(!p.exists());
    }
}
