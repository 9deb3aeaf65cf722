//! The simulated board: the firmware loop of `firmware-stub/` (built into tinygen by
//! `build.rs`) serving on the master side of a pseudo-terminal, in a child process. The
//! host opens the pty's path with `serialport`, exactly as it opens a real port.

use std::ffi::{CStr, c_char, c_int};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

unsafe extern "C" {
    fn tg_sim_open_pty(name: *mut c_char, cap: usize) -> c_int;
    fn tg_sim_run(master: c_int, blob: *const u8, len: u32, baud: u32) -> c_int;
}

/// The line the board prints first, so its parent knows where to connect.
pub const PORT_LINE: &str = "tinygen-sim: serial on ";

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("could not open a pseudo-terminal")]
    Pty(#[source] std::io::Error),
    #[error("could not make the link {}", path.display())]
    Link {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("could not start the simulated board ({program})")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("the simulated board did not report its port: {0}")]
    NoPort(String),
}

/// Runs the board in this process until SIGTERM or SIGINT: prints the pty path (and makes
/// `link` a symlink to it, so a restarted board keeps one name), then serves forever.
pub fn serve(blob: &[u8], baud: u32, link: Option<&Path>) -> Result<(), SimError> {
    let mut name = [0 as c_char; 128];
    // SAFETY: `name` has 128 bytes and the C side writes at most `cap` including the NUL.
    let master = unsafe { tg_sim_open_pty(name.as_mut_ptr(), name.len()) };
    if master < 0 {
        return Err(SimError::Pty(std::io::Error::last_os_error()));
    }
    // SAFETY: on success the C side wrote a NUL-terminated path into `name`.
    let path = unsafe { CStr::from_ptr(name.as_ptr()) }
        .to_string_lossy()
        .into_owned();
    if let Some(link) = link {
        let tmp = link.with_extension("tinygen-new");
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(&path, &tmp)
            .and_then(|_| std::fs::rename(&tmp, link))
            .map_err(|source| SimError::Link {
                path: link.to_path_buf(),
                source,
            })?;
    }
    println!("{PORT_LINE}{path}");
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let words = crate::engine::aligned_words(blob);
    // SAFETY: `words` holds the blob and lives until the call returns.
    unsafe { tg_sim_run(master, words.as_ptr().cast(), blob.len() as u32, baud) };
    Ok(())
}

/// Ends this process when process `pid`, the tinygen that started this board, is gone: a
/// `tinygen monitor` or a workbench killed by a signal cannot drop its [`SimBoard`], and
/// the board would serve an empty pty for ever. (An orphan is handed to another parent, so
/// its parent's id changes; a parent already gone before this runs is seen at once.)
pub fn exit_with(pid: u32) {
    // SAFETY: getppid has no preconditions and cannot fail.
    let parent = || unsafe { libc::getppid() } as u32;
    if parent() != pid {
        std::process::exit(0);
    }
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(std::time::Duration::from_millis(200));
            if parent() != pid {
                std::process::exit(0);
            }
        }
    });
}

/// A simulated board running as a child process; killed when dropped.
pub struct SimBoard {
    child: Child,
    pub port: String,
}

impl SimBoard {
    /// Starts `tinygen sim MODEL` and waits for its port line.
    pub fn spawn(model: &Path, baud: u32, link: Option<&Path>) -> Result<SimBoard, SimError> {
        let exe = std::env::current_exe().map_err(|source| SimError::Spawn {
            program: "tinygen".into(),
            source,
        })?;
        SimBoard::spawn_with(&exe, model, baud, link)
    }

    pub fn spawn_with(
        exe: &Path,
        model: &Path,
        baud: u32,
        link: Option<&Path>,
    ) -> Result<SimBoard, SimError> {
        let mut cmd = Command::new(exe);
        cmd.arg("sim")
            .arg(model)
            .arg("--baud")
            .arg(baud.to_string())
            .arg("--parent")
            .arg(std::process::id().to_string());
        if let Some(l) = link {
            cmd.arg("--link").arg(l);
        }
        SimBoard::spawn_command(cmd)
    }

    /// Starts any board program that makes its own pty and prints [`PORT_LINE`] first
    /// (the simulated board, the Pi runner with `--pty`).
    pub fn spawn_command(mut cmd: Command) -> Result<SimBoard, SimError> {
        let exe = cmd.get_program().to_string_lossy().into_owned();
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| SimError::Spawn {
                program: exe.clone(),
                source,
            })?;
        let stdout = child.stdout.take().expect("piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next();
            let _ = tx.send(first);
            for _ in lines {} // keep draining so the child never blocks on stdout
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        let line = loop {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(Some(Ok(line))) => break line,
                Ok(_) => {
                    let mut err = String::new();
                    if let Some(mut e) = child.stderr.take() {
                        use std::io::Read;
                        let _ = e.read_to_string(&mut err);
                    }
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(SimError::NoPort(err.trim().to_string()));
                }
                Err(_) if Instant::now() > deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(SimError::NoPort("no answer within 10 s".into()));
                }
                Err(_) => {}
            }
        };
        let port = line
            .strip_prefix(PORT_LINE)
            .ok_or_else(|| SimError::NoPort(line.clone()))?
            .to_string();
        Ok(SimBoard { child, port })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the board (as pulling its power would).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for SimBoard {
    fn drop(&mut self) {
        self.kill();
    }
}
