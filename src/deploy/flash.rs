//! Putting a model on a real board: the [`Flasher`] trait, with the CH32V003 through a
//! WCH-LinkE ([`Ch32Flasher`], on `probe`), the Raspberry Pi runner over serial
//! ([`PiFlasher`], on `pi`), and a fake for tests ([`FakeFlasher`]). Every flasher
//! reports through one [`Progress`] callback, which the CLI turns into a progress bar and
//! the Deploy screen into gauges.

use super::{Deployable, firmware, pi, probe};
use crate::budget::{self, Budget, Plan};
use std::path::PathBuf;

/// A stage of putting a model on a board.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Building the firmware.
    Build,
    Erase,
    Program,
    /// Reading the flash back, or the runner's hash of the new model.
    Verify,
    /// Sending the model over the serial link.
    Upload,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Build => "build",
            Stage::Erase => "erase",
            Stage::Program => "program",
            Stage::Verify => "verify",
            Stage::Upload => "upload",
        }
    }
}

/// What a flasher reports while it works.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// A stage moved on: bytes (or steps) done of total; total 0 when unknown.
    Stage { stage: Stage, done: u64, total: u64 },
    /// A line worth showing (the firmware's size, the model the board ran before).
    Note(String),
}

/// What a finished flash says.
#[derive(Debug, Clone, PartialEq)]
pub struct Flashed {
    /// A few words, e.g. "flashed, verified and reset".
    pub summary: String,
}

/// Why a flash failed.
#[derive(Debug, thiserror::Error)]
pub enum FlashError {
    #[error(
        "not flashing: the model is {flash_over} B over the flash and {sram_over} B over the \
         SRAM of a {target}"
    )]
    DoesNotFit {
        target: String,
        flash_over: i64,
        sram_over: i64,
        /// The budget report, for the front-end to show.
        report: String,
    },
    #[error(transparent)]
    Model(#[from] super::ModelError),
    #[error(transparent)]
    Build(#[from] super::firmware::BuildError),
    #[error(transparent)]
    Probe(#[from] super::probe::ProbeError),
    #[error(transparent)]
    Pi(#[from] super::pi::PiError),
}

/// A board a model can be put on.
pub trait Flasher {
    /// The board, as a front-end names it.
    fn board(&self) -> String;
    /// Puts the model on the board and checks it is there.
    fn flash(
        &mut self,
        m: &Deployable,
        project: &str,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Flashed, FlashError>;
}

/// The budget check every flasher makes first: the model, as it will be flashed, on
/// `target`, tiled.
pub fn check_fits(
    m: &Deployable,
    target: &crate::target::Target,
    project: &str,
) -> Result<Budget, FlashError> {
    let b = budget::compute(&m.spec, target, Plan::Tiled);
    if !b.fits {
        return Err(FlashError::DoesNotFit {
            target: target.short_name().to_string(),
            flash_over: b.flash_over_bytes().max(0),
            sram_over: b.sram_over_bytes().max(0),
            report: budget::report(&b, project),
        });
    }
    Ok(b)
}

/// A flasher for tests: reports the stages a real one would and remembers what it got.
#[derive(Debug, Default)]
pub struct FakeFlasher {
    /// Hashes of the models flashed, in order.
    pub flashed: Vec<u32>,
}

impl Flasher for FakeFlasher {
    fn board(&self) -> String {
        "fake board".into()
    }

    fn flash(
        &mut self,
        m: &Deployable,
        _project: &str,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Flashed, FlashError> {
        let total = m.blob.len() as u64;
        for stage in [Stage::Program, Stage::Verify] {
            progress(Progress::Stage {
                stage,
                done: 0,
                total,
            });
            progress(Progress::Stage {
                stage,
                done: total,
                total,
            });
        }
        self.flashed.push(m.hash());
        Ok(Flashed {
            summary: format!("fake board holds model {:08x}", m.hash()),
        })
    }
}

/// The CH32V003 through a WCH-LinkE: budget check, firmware build in `dir`, then erase,
/// program, verify and reset.
pub struct Ch32Flasher {
    /// Where the firmware is built.
    pub dir: PathBuf,
    /// The probe to use (`--probe VID:PID[:SERIAL]`); the first one found without it.
    pub probe: Option<probe_rs::probe::DebugProbeSelector>,
}

impl Flasher for Ch32Flasher {
    fn board(&self) -> String {
        "CH32V003 through a WCH-LinkE".into()
    }

    fn flash(
        &mut self,
        m: &Deployable,
        project: &str,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Flashed, FlashError> {
        let t = crate::target::find("ch32v003").expect("a built-in target");
        check_fits(m, t, project)?;
        let stage = |stage, done, total| Progress::Stage { stage, done, total };
        progress(stage(Stage::Build, 0, 1));
        let header = m.header(project, &t.id)?;
        let built = firmware::build_rv32(
            firmware::Rv32Board::Ch32v003,
            &header,
            &m.firmware_config(),
            &self.dir,
        )?;
        progress(stage(Stage::Build, 1, 1));
        progress(Progress::Note(format!(
            "{}: firmware with its model, measured in the ELF: {} of flash of 16,384 B, {} of \
             static SRAM of 2,048 B",
            built.elf.display(),
            crate::budget::report::bytes(built.sizes.flash_bytes()),
            crate::budget::report::bytes(built.sizes.static_sram_bytes())
        )));
        probe::flash(&built.elf, self.probe.as_ref(), |s, done, total| {
            let s = match s {
                probe::Stage::Erase => Stage::Erase,
                probe::Stage::Program => Stage::Program,
                probe::Stage::Verify => Stage::Verify,
            };
            progress(stage(s, done, total))
        })?;
        Ok(Flashed {
            summary: "flashed, verified and reset".into(),
        })
    }
}

/// A Raspberry Pi running `tinygen-runner`, reached over a serial port: budget check, then
/// the upload, verified by the runner's new model hash.
pub struct PiFlasher {
    pub port: String,
    pub baud: u32,
    /// Set it to stop the wait or the upload (the Deploy screen's Esc).
    pub cancel: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Flasher for PiFlasher {
    fn board(&self) -> String {
        format!("Raspberry Pi runner on {}", self.port)
    }

    fn flash(
        &mut self,
        m: &Deployable,
        project: &str,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Flashed, FlashError> {
        let t = crate::target::find("pi-zero-2w").expect("a built-in target");
        check_fits(m, t, project)?;
        let total = m.blob.len() as u64;
        progress(Progress::Stage {
            stage: Stage::Upload,
            done: 0,
            total,
        });
        progress(Progress::Note(format!(
            "waiting up to {} s for the runner on {} to answer (Esc cancels)",
            pi::HELLO_WAIT.as_secs(),
            self.port
        )));
        let up = pi::flash(
            &self.port,
            self.baud,
            &m.blob,
            &self.cancel,
            |_| {},
            |pr| {
                progress(Progress::Stage {
                    stage: Stage::Upload,
                    done: pr.sent,
                    total: pr.total,
                });
                if pr.attempt > 1 {
                    progress(Progress::Note(format!("attempt {}", pr.attempt)));
                }
            },
        )?;
        progress(Progress::Note(format!(
            "{} on {} ran model {:08x}.",
            up.board, self.port, up.before
        )));
        progress(Progress::Stage {
            stage: Stage::Verify,
            done: 1,
            total: 1,
        });
        Ok(Flashed {
            summary: format!("the runner serves model {:08x}", up.hash),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fake takes one callback for every stage, as the real flashers do.
    #[test]
    fn the_fake_reports_stages_and_remembers_the_model() {
        let p = crate::templates::default_project("cvae-die").unwrap();
        let m = crate::templates::deployable(&p, None).unwrap();
        let mut f = FakeFlasher::default();
        let mut seen = Vec::new();
        let done = f
            .flash(&m, "test", &mut |p| seen.push(p))
            .expect("the fake flashes");
        assert_eq!(f.flashed, vec![m.hash()]);
        assert!(done.summary.contains(&format!("{:08x}", m.hash())));
        assert_eq!(seen.len(), 4);
        assert!(matches!(
            seen.last(),
            Some(Progress::Stage {
                stage: Stage::Verify,
                ..
            })
        ));
    }

    #[test]
    fn a_model_that_does_not_fit_is_not_flashed() {
        let mut p = crate::templates::default_project("bitnet-mnist").unwrap();
        p.model.layers[0].width = 1024;
        let spec = crate::templates::spec(&p);
        let m = Deployable {
            spec,
            blob: vec![],
            origin: super::super::Origin::Builtin,
        };
        let t = crate::target::find("ch32v003").unwrap();
        let e = check_fits(&m, t, "big").unwrap_err();
        assert!(matches!(e, FlashError::DoesNotFit { .. }), "{e}");
        assert!(e.to_string().contains("over the flash"), "{e}");
    }
}
