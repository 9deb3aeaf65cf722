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
    /// Write a synthetic model instead: the project's architecture with the denoiser
    /// WIDTH channels wide, weights drawn from --seed, no training (Streaming SD; for
    /// memory benchmarks: 32 is the default size, 1152 about 100 MB).
    #[arg(long, value_name = "WIDTH", value_parser = clap::value_parser!(u32).range(1..=1200))]
    pub synthetic: Option<u32>,
    /// The seed of a synthetic model's weights.
    #[arg(long, default_value_t = 1, requires = "synthetic")]
    pub seed: u64,
}

impl Args {
    /// `--synthetic WIDTH`: the blob alone (no header: nothing is built from it).
    fn synthetic(&self, p: &crate::project::Project, width: u32) -> Result<(), CliError> {
        let Some(made) = crate::templates::of(p).synthetic(p, width, self.seed) else {
            return Err(CliError::bad_input(anyhow::anyhow!(
                "the '{}' template has no synthetic models (Streaming SD has)",
                p.template.name
            )));
        };
        let blob = made?;
        let dir = self
            .out
            .clone()
            .unwrap_or_else(|| p.resolve(&self.path, &p.artifacts.export));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create '{}'", dir.display()))?;
        let path = dir.join(format!("synthetic-{width}.bin"));
        crate::util::fsutil::write_atomic(&path, &blob)
            .with_context(|| format!("cannot write '{}'", path.display()))?;
        super::common::print(&format!(
            "Wrote a synthetic model of '{}', denoiser width {width}, weights from seed {}: \
             model hash {:08x}\n  {}  ({})\n",
            p.name,
            self.seed,
            crate::export::blob_hash(&blob).unwrap_or(0),
            path.display(),
            crate::budget::report::bytes(blob.len() as u64)
        ))
    }

    pub fn run(self) -> Result<(), CliError> {
        let p = super::common::load(&self.path)?;
        if let Some(width) = self.synthetic {
            return self.synthetic(&p, width);
        }
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
