//! `tinygen runner`: builds the Raspberry Pi runner (aarch64 Linux) to copy to a Pi.

use super::error::CliError;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to put `tinygen-runner`.
    #[arg(long, short, default_value = "build/pi")]
    pub out: PathBuf,
}

impl Args {
    pub fn run(self) -> Result<(), CliError> {
        let exe = crate::deploy::firmware::build_pi_runner(&self.out)?;
        super::common::print(&format!(
            "Built {}.\nOn the Pi: copy it over (scp {} pi@raspberrypi:), then run\n  \
             ./tinygen-runner --port /dev/serial0 ~/tinygen\nand from here: tinygen flash PROJECT --board pi --port /dev/ttyUSB0\n",
            exe.display(),
            exe.display()
        ))
    }
}
