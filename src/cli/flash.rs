//! `tinygen flash`: the project's model onto a CH32V003 (through a WCH-LinkE) or a
//! Raspberry Pi runner (over serial), with a progress bar. The work is the deploy seam's
//! (`crate::deploy::flash`); this file only shows it.

use super::error::CliError;
use crate::deploy::flash::{Ch32Flasher, FlashError, Flasher, PiFlasher, Progress};
use crate::deploy::probe::ProbeError;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project file (.ron), e.g. projects/die.ron.
    #[arg(value_name = "PROJECT")]
    pub path: PathBuf,
    /// The board: ch32v003 or pi.
    #[arg(long, value_enum)]
    pub board: FlashBoard,
    /// The Pi's serial port, e.g. /dev/ttyUSB0.
    #[arg(long, required_if_eq("board", "pi"))]
    pub port: Option<String>,
    #[arg(long, default_value_t = 115_200)]
    pub baud: u32,
    /// The WCH-LinkE to use when several are plugged in: VID:PID[:SERIAL] in hex, as
    /// `lsusb` prints it (e.g. 1a86:8010:0001A0000000); the first one without it.
    #[arg(long, value_name = "VID:PID[:SERIAL]", value_parser = crate::deploy::probe::parse_selector)]
    pub probe: Option<probe_rs::probe::DebugProbeSelector>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FlashBoard {
    Ch32v003,
    Pi,
}

impl Args {
    pub fn run(self) -> Result<(), CliError> {
        let p = super::common::load(&self.path)?;
        let m = crate::templates::deployable(&p, Some(&self.path))?;
        let firmware_dir = p.resolve(&self.path, &p.artifacts.export).join("ch32v003");
        let mut flasher: Box<dyn Flasher> = match (self.board, &self.port) {
            (FlashBoard::Pi, Some(port)) => {
                crate::link::ports::check_exists(port).map_err(CliError::bad_input)?;
                Box::new(PiFlasher {
                    port: port.clone(),
                    baud: self.baud,
                    cancel: Default::default(),
                })
            }
            (FlashBoard::Pi, None) => {
                return Err(CliError::bad_input(anyhow::anyhow!(
                    "flashing a Pi needs its serial port: --port /dev/ttyUSB0"
                )));
            }
            (FlashBoard::Ch32v003, _) => Box::new(Ch32Flasher {
                dir: firmware_dir.clone(),
                probe: self.probe.clone(),
            }),
        };
        if let FlashBoard::Pi = self.board {
            eprintln!(
                "Uploading {} ({} bytes, model {:08x}) to {}",
                m.origin,
                m.blob.len(),
                m.hash(),
                self.port.as_deref().unwrap_or("")
            );
        }
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{prefix:8} [{bar:30}] {pos}/{len}  {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        let result = flasher.flash(&m, &p.name, &mut |pr| match pr {
            Progress::Stage { stage, done, total } => {
                bar.set_prefix(stage.name());
                bar.set_length(total);
                bar.set_position(done);
            }
            Progress::Note(line) => bar.suspend(|| eprintln!("{line}")),
        });
        bar.finish_and_clear();
        match result {
            Ok(_) if self.board == FlashBoard::Pi => {
                eprintln!("Verified: the runner now serves model {:08x}.", m.hash());
                Ok(())
            }
            Ok(_) => {
                eprintln!(
                    "Flashed, verified and reset. Watch it: tinygen monitor {} --port /dev/ttyACM0",
                    self.path.display()
                );
                Ok(())
            }
            Err(e @ FlashError::DoesNotFit { .. }) => {
                if let FlashError::DoesNotFit { report, .. } = &e {
                    eprint!("{report}");
                }
                Err(e.into())
            }
            Err(FlashError::Probe(ProbeError::NoProbe)) => {
                let mut msg =
                    crate::hints::no_probe("no debug probe found. To flash a CH32V003:", "  - ");
                msg += &format!("\nThe firmware is built in {}", firmware_dir.display());
                Err(CliError::failure(anyhow::anyhow!(msg)))
            }
            Err(FlashError::Probe(e @ ProbeError::NoAccess { .. })) => {
                Err(CliError::failure(anyhow::anyhow!(
                    "{e}. Let your user open it (both LinkE modes, 8010 and 8012):\n  {}\n\
                     'tinygen doctor' checks it again.",
                    crate::hints::UDEV_RULE_FIX
                )))
            }
            Err(e) => Err(e.into()),
        }
    }
}
