//! The qemu RV32EC board: the firmware ELF in `qemu-system-riscv32 -M virt` with a CPU
//! that has no M, A, F or D extensions (so a stray multiply traps), `-icount shift=0` so
//! `minstret` counts exactly, and its UART on a pseudo-terminal. qemu starts halted (-S)
//! and is let go ("cont" on its monitor socket) only once the port is open, so no byte of
//! the boot HELLO is lost.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const QEMU_RV32: &str = "qemu-system-riscv32";
pub const RV32EC_CPU: &str = "rv32,e=on,i=off,h=off,m=off,a=off,f=off,d=off";

#[derive(Debug, thiserror::Error)]
pub enum QemuError {
    #[error(
        "'{QEMU_RV32}' was not found; install it with './scripts/setup' (Debian package 'qemu-system-misc')"
    )]
    Missing,
    #[error("qemu did not start: {0}")]
    Start(String),
    #[error("qemu could not be started")]
    Spawn(#[source] std::io::Error),
    #[error("qemu's monitor did not answer")]
    Monitor(#[source] std::io::Error),
}

pub struct QemuBoard {
    child: Child,
    pub port: String,
    monitor: PathBuf,
    _dir: PathBuf,
}

impl QemuBoard {
    /// Starts qemu halted, with the UART on a new pty; `dir` holds the monitor socket.
    pub fn spawn(elf: &Path, dir: &Path) -> Result<QemuBoard, QemuError> {
        std::fs::create_dir_all(dir).map_err(QemuError::Spawn)?;
        let monitor = dir.join(format!("qemu-monitor-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&monitor);
        let mut child = Command::new(QEMU_RV32)
            .args(["-M", "virt", "-bios", "none", "-cpu", RV32EC_CPU])
            .args([
                "-icount", "shift=0", "-display", "none", "-serial", "pty", "-S",
            ])
            .arg("-monitor")
            .arg(format!("unix:{},server,nowait", monitor.display()))
            .arg("-kernel")
            .arg(elf)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => QemuError::Missing,
                _ => QemuError::Spawn(e),
            })?;
        // qemu names the pty on stderr ("char device redirected to /dev/pts/N").
        let (tx, rx) = std::sync::mpsc::channel();
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut seen = Vec::new();
        let port = loop {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(line) => {
                    if let Some(i) = line.find("/dev/pts/") {
                        let p: String = line[i..]
                            .chars()
                            .take_while(|c| !c.is_whitespace())
                            .collect();
                        break p;
                    }
                    seen.push(line);
                }
                Err(_) if Instant::now() > deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(QemuError::Start(format!(
                        "no serial pty reported within 10 s: {}",
                        seen.join(" | ")
                    )));
                }
                Err(_) => {
                    if let Ok(Some(status)) = child.try_wait() {
                        return Err(QemuError::Start(format!(
                            "exited ({status}): {}",
                            seen.join(" | ")
                        )));
                    }
                }
            }
        };
        Ok(QemuBoard {
            child,
            port,
            monitor,
            _dir: dir.to_path_buf(),
        })
    }

    /// Lets the halted CPU run.
    pub fn start_cpu(&self) -> Result<(), QemuError> {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut s = loop {
            match UnixStream::connect(&self.monitor) {
                Ok(s) => break s,
                Err(e) if Instant::now() > deadline => {
                    return Err(QemuError::Monitor(e));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        s.write_all(b"cont\n").map_err(QemuError::Monitor)?;
        // Wait for the monitor to take the command (it echoes a prompt) before hanging up;
        // a connection closed at once can lose the line.
        use std::io::Read;
        let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
        let mut seen = Vec::new();
        let mut buf = [0u8; 256];
        let until = Instant::now() + Duration::from_secs(2);
        while Instant::now() < until {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    seen.extend_from_slice(&buf[..n]);
                    if String::from_utf8_lossy(&seen).matches("(qemu)").count() >= 2 {
                        break;
                    }
                }
                Err(_) => {}
            }
        }
        Ok(())
    }

    /// An opener for the board's port that lets the CPU run once the port is first open
    /// (so no byte of the boot HELLO is lost). It keeps the board alive as long as it lives.
    pub fn opener(self: std::sync::Arc<Self>, baud: u32) -> crate::link::session::Opener {
        let mut inner = crate::link::session::serial_opener(self.port.clone(), baud);
        let mut started = false;
        Box::new(move || {
            let port = inner()?;
            if !started {
                self.start_cpu().map_err(std::io::Error::other)?;
                started = true;
            }
            Ok(port)
        })
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.monitor);
    }
}

impl Drop for QemuBoard {
    fn drop(&mut self) {
        self.kill();
    }
}
