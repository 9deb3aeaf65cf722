//! `tinygen budget --verify`: the budget's predictions beside measurements of the real
//! firmware. Flash and static SRAM come from the CH32V003 ELF (the `size` report), the
//! arena from the engine's own plan, instructions per image and the stack high-water mark
//! from the same firmware built for qemu's RV32EC CPU with `-icount shift=0`. A classifier
//! is given inputs by its template (the first test digits, as BitNetMCU measures).

use super::Deployable;
use super::firmware::{BuildError, Rv32Board, build_rv32};
use super::local::{self, LocalError, LocalKind};
use crate::budget::Budget;
use crate::link::proto::Stats;
use crate::link::session::{LinkCmd, LinkEvent, Session};
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Why a verification could not finish.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Model(#[from] super::ModelError),
    #[error("the C engine refused the model")]
    Engine(#[from] crate::engine::EngineError),
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(transparent)]
    Board(#[from] LocalError),
    #[error("the board said: {0}")]
    Said(String),
    #[error("qemu did not finish within 120 s")]
    Timeout,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub flash_predicted: u64,
    pub flash_measured: u64,
    pub static_predicted: u64,
    pub static_measured: u64,
    pub arena_predicted: u64,
    pub arena_measured: u64,
    pub stack_predicted: u64,
    pub stack_measured: u64,
    pub instructions_predicted: u64,
    /// Mean over the measured images.
    pub instructions_measured: u64,
    pub images: usize,
    /// "image" or "inference".
    pub unit: &'static str,
}

impl Verified {
    pub fn sram_predicted(&self) -> u64 {
        self.static_predicted + self.arena_predicted + self.stack_predicted
    }

    /// Static data (arena included, it is a static buffer) plus the deepest stack seen.
    pub fn sram_measured(&self) -> u64 {
        self.static_measured + self.stack_measured
    }

    pub fn to_text(&self, target: &str) -> String {
        let row = |name: &str, p: u64, m: u64| {
            let d = m as f64 / p.max(1) as f64 * 100.0 - 100.0;
            format!("{name:<26}{p:>12}{m:>12}{d:>+9.1}%\n")
        };
        let mut s = format!(
            "Predicted vs measured on {target} (firmware built with riscv64-unknown-elf-gcc; \
             instructions from qemu -icount shift=0 over {} {}s)\n\n",
            self.images, self.unit
        );
        s += &format!(
            "{:<26}{:>12}{:>12}{:>10}\n",
            "", "predicted", "measured", "diff"
        );
        s += &row("flash bytes", self.flash_predicted, self.flash_measured);
        s += &row(
            "static SRAM (incl. arena)",
            self.static_predicted + self.arena_predicted,
            self.static_measured,
        );
        s += &row(
            "  of which arena",
            self.arena_predicted,
            self.arena_measured,
        );
        s += &row("stack bytes", self.stack_predicted, self.stack_measured);
        s += &row("SRAM bytes", self.sram_predicted(), self.sram_measured());
        s += &row(
            &format!("instructions per {}", self.unit),
            self.instructions_predicted,
            self.instructions_measured,
        );
        s
    }
}

/// Builds the CH32V003 ELF in `dir` for its sizes, runs the qemu build of the same
/// firmware on `work`, and compares both with the budget `b`.
pub fn verify(
    m: &Deployable,
    b: &Budget,
    project: &str,
    dir: &Path,
    work: &Work,
) -> Result<Verified, VerifyError> {
    let engine = crate::engine::Engine::load(&m.blob)?;
    let header = m.header(project, "ch32v003")?;
    let chip = build_rv32(
        Rv32Board::Ch32v003,
        &header,
        &m.firmware_config(),
        &dir.join("ch32v003"),
    )?;
    let board = local::start(LocalKind::QemuRv32, m, project, 115_200)?;
    let stats = run(&board, work)?;
    let n = stats.len().max(1) as u64;
    Ok(Verified {
        flash_predicted: b.flash.total_bytes,
        flash_measured: chip.sizes.flash_bytes(),
        static_predicted: b.sram.static_bytes,
        static_measured: chip.sizes.static_sram_bytes(),
        arena_predicted: b.sram.arena_bytes,
        arena_measured: u64::from(engine.arena_bytes()),
        stack_predicted: b.sram.stack_bytes,
        stack_measured: stats
            .iter()
            .map(|s| u64::from(s.stack_bytes))
            .max()
            .unwrap_or(0),
        instructions_predicted: b.instructions,
        instructions_measured: stats.iter().map(|s| u64::from(s.cycles)).sum::<u64>() / n,
        images: stats.len(),
        unit: m.spec.kind.run_noun(),
    })
}

/// What to ask of a board.
#[derive(Debug, Clone)]
pub enum Work {
    /// This many generated images.
    Images(u16),
    /// Classify these inputs, one after the other.
    Classify(Vec<Vec<u8>>),
}

/// Gives a started board `work` and returns one STATS per image or inference (for a
/// classifier, its RESULT's counter and stack).
pub fn run(board: &local::LocalBoard, work: &Work) -> Result<Vec<Stats>, VerifyError> {
    let (tx, rx) = mpsc::channel();
    let session = Session::start(board.port.clone(), board.opener(), None, move |e| {
        let _ = tx.send(e);
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut stats = Vec::new();
    let mut asked = false;
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(LinkEvent::Hello(_)) if !asked => {
                asked = true;
                session.send(match work {
                    Work::Images(count) => LinkCmd::Generate {
                        label: 0,
                        count: *count,
                        seed: 1,
                        temperature: 32,
                        first: 0,
                        steps: 0,
                        preview: 0,
                    },
                    Work::Classify(inputs) => match inputs.first() {
                        Some(x) => LinkCmd::Classify {
                            tag: 0,
                            input: x.clone(),
                        },
                        None => return Ok(stats),
                    },
                });
            }
            Ok(LinkEvent::Stats(s)) => stats.push(s),
            Ok(LinkEvent::Classified(r)) => {
                stats.push(Stats {
                    index: r.tag,
                    label: r.class,
                    cycles: r.cycles,
                    micros: r.micros,
                    stack_bytes: r.stack_bytes,
                    arena_bytes: 0,
                    memory: None,
                });
                let Work::Classify(inputs) = work else {
                    continue;
                };
                match inputs.get(stats.len()) {
                    Some(x) => session.send(LinkCmd::Classify {
                        tag: stats.len() as u16,
                        input: x.clone(),
                    }),
                    None => return Ok(stats),
                }
            }
            Ok(LinkEvent::Done { .. }) => return Ok(stats),
            Ok(LinkEvent::BoardError { text, .. }) => return Err(VerifyError::Said(text)),
            _ => {}
        }
    }
    Err(VerifyError::Timeout)
}
