//! Boards that run on this machine, started the same way for every front-end: the
//! simulated board (the firmware built into tinygen, serving a model file on a pty) and
//! the RV32EC firmware in qemu (built for the model, on qemu's UART pty). [`start`] gives
//! back the port to open and an opener that brings the board up without losing its first
//! HELLO; dropping the [`LocalBoard`] stops the board.

use super::Deployable;
use super::firmware::{self, BuildError, Rv32Board, Sizes};
use super::qemu::{QemuBoard, QemuError};
use super::sim::{SimBoard, SimError};
use crate::link::session::{Opener, serial_opener};
use std::path::PathBuf;
use std::sync::Arc;

/// Which local board.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalKind {
    /// The host build of the firmware on a pseudo-terminal.
    Sim,
    /// The RV32EC firmware in qemu-system-riscv32.
    QemuRv32,
}

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("cannot write the model for the simulated board to '{}'", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Sim(#[from] SimError),
    #[error(transparent)]
    Model(#[from] super::ModelError),
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(transparent)]
    Qemu(#[from] QemuError),
}

/// A file or folder that lives as long as the board using it.
struct Temp(PathBuf);

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[allow(dead_code)] // held only for their Drop, which stops the board
enum Keep {
    Sim(SimBoard, Temp),
    /// The board, then its build folder (fields drop in this order).
    Qemu(Arc<QemuBoard>, Temp),
}

/// A started local board.
pub struct LocalBoard {
    pub kind: LocalKind,
    /// The serial port to open (a pty).
    pub port: String,
    /// The model it runs.
    pub hash: u32,
    /// The qemu firmware's section sizes.
    pub sizes: Option<Sizes>,
    baud: u32,
    keep: Keep,
}

impl LocalBoard {
    /// How to open the board's port. Call it once: for qemu, the first open lets the
    /// halted CPU run, so no byte of its boot HELLO is lost.
    pub fn opener(&self) -> Opener {
        match &self.keep {
            Keep::Sim(..) => serial_opener(self.port.clone(), self.baud),
            Keep::Qemu(q, _) => q.clone().opener(self.baud),
        }
    }
}

/// Starts a local board running `m`, paced at `baud` (the simulated board) and named
/// `project` in the firmware's header (qemu).
pub fn start(
    kind: LocalKind,
    m: &Deployable,
    project: &str,
    baud: u32,
) -> Result<LocalBoard, LocalError> {
    let hash = m.hash();
    // Models and firmware builds of local boards whose tinygen was killed.
    let tmp = std::env::temp_dir();
    crate::util::fsutil::sweep_dead(&tmp, "tinygen-sim-", "-");
    crate::util::fsutil::sweep_dead(&tmp, "tinygen-qemu-", "-");
    match kind {
        LocalKind::Sim => {
            let tmp = Temp(std::env::temp_dir().join(format!(
                "tinygen-sim-{}-{hash:08x}-{}.bin",
                std::process::id(),
                unique()
            )));
            crate::util::fsutil::write_atomic(&tmp.0, &m.blob).map_err(|source| {
                LocalError::Write {
                    path: tmp.0.clone(),
                    source,
                }
            })?;
            let sim = SimBoard::spawn(&tmp.0, baud, None)?;
            Ok(LocalBoard {
                kind,
                port: sim.port.clone(),
                hash,
                sizes: None,
                baud,
                keep: Keep::Sim(sim, tmp),
            })
        }
        LocalKind::QemuRv32 => {
            // A folder of its own: boards of one model may start side by side.
            let dir = Temp(std::env::temp_dir().join(format!(
                "tinygen-qemu-{}-{hash:08x}-{}",
                std::process::id(),
                unique()
            )));
            let header = m.header(project, "qemu-rv32")?;
            let built =
                firmware::build_rv32(Rv32Board::QemuRv32, &header, &m.firmware_config(), &dir.0)?;
            let q = Arc::new(QemuBoard::spawn(&built.elf, &dir.0)?);
            Ok(LocalBoard {
                kind,
                port: q.port.clone(),
                hash,
                sizes: Some(built.sizes),
                baud,
                keep: Keep::Qemu(q, dir),
            })
        }
    }
}

/// A number no other board of this process has used, for file names.
fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
