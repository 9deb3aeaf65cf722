//! `tinygen export`: the model blob and the C header for a board, after checking the
//! model fits the target.

use super::error::CliError;
use crate::budget;
use anyhow::Context;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project file (.ron), e.g. projects/die.ron.
    #[arg(value_name = "PROJECT")]
    pub path: PathBuf,
    /// The target to check against [default: the project's].
    #[arg(long)]
    pub target: Option<String>,
    /// Output folder [default: the project's artifacts.export].
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Write it even if the model does not fit the target.
    #[arg(long)]
    pub force: bool,
}

impl Args {
    pub fn run(self) -> Result<(), CliError> {
        let p = super::common::load(&self.path)?;
        let t = super::budget::target_or(self.target.as_deref(), &p)?;
        let m = crate::templates::deployable(&p, Some(&self.path))?.for_target(t, &p.name)?;
        let b = budget::compute(&m.spec, t, budget::Plan::Tiled);
        if !b.fits && !self.force {
            super::common::print(&budget::report(&b, &p.name))?;
            return Err(CliError::does_not_fit(anyhow::anyhow!(
                "the model does not fit {} (see above); shrink it, or pass --force to export anyway",
                t.id
            )));
        }
        let dir = self
            .out
            .unwrap_or_else(|| p.resolve(&self.path, &p.artifacts.export));
        let hdr = m.header(&p.name, &t.id)?;
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create '{}'", dir.display()))?;
        let (bin, h) = (dir.join("model.bin"), dir.join("tg_model.h"));
        // One unit: a reader never sees a new blob beside an old header (#19, item 4).
        crate::util::unit::write_unit(
            &dir,
            &[
                ("model.bin", m.blob.as_slice()),
                ("tg_model.h", hdr.as_bytes()),
            ],
        )
        .with_context(|| format!("cannot write the export in '{}'", dir.display()))?;
        super::common::print(&format!(
            "Exported '{}' ({}) for {}: model hash {:08x}\n  {}  ({}: the model alone; \
             'tinygen budget --verify' measures the firmware with it)\n  {}\n",
            p.name,
            m.origin,
            t.id,
            m.hash(),
            bin.display(),
            crate::budget::report::bytes(m.blob.len() as u64),
            h.display()
        ))
    }
}
