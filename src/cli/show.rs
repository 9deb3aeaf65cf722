//! `tinygen show`: check a project file and print what it describes.

use super::error::CliError;
use crate::project::Project;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project file (.ron), e.g. projects/die.ron.
    #[arg(value_name = "PROJECT")]
    pub path: PathBuf,
    /// Print the normalised project file instead of a summary.
    #[arg(long)]
    pub ron: bool,
}

impl Args {
    pub fn run(self) -> Result<(), CliError> {
        let p = super::common::load(&self.path)?;
        let text = if self.ron {
            p.to_ron()?
        } else {
            summary(&p, &self.path)
        };
        super::common::print(&text)
    }
}

/// A human-readable description of a validated project.
pub fn summary(p: &Project, path: &Path) -> String {
    let t = p.target_profile();
    let mut s = String::new();
    let def = p.template;
    s += &format!("Project    {}  ({})\n", p.name, path.display());
    s += &format!("Template   {} ({})\n", def.name, def.title);
    s += &format!("Target     {} ({})\n", t.id, t.title);
    let port = p.board.port.as_deref().unwrap_or("auto");
    s += &format!(
        "Board      {}, port {port}, {} baud\n",
        p.board.kind, p.board.baud
    );
    let mut model = Vec::new();
    if p.model.latent > 0 {
        model.push(format!("latent {}", p.model.latent));
    }
    if p.model.steps > 0 {
        model.push(format!("{} steps", p.model.steps));
    }
    if !p.model.encoder.is_empty() {
        model.push(format!("encoder {:?}", p.model.encoder));
    }
    model.push(format!("{} deployable layers", p.model.layers.len()));
    s += &format!("Model      {}\n", model.join(", "));
    s += "           layer        width  bits\n";
    for l in &p.model.layers {
        s += &format!(
            "           {:<12} {:>5}  {:>4}\n",
            l.name,
            l.width,
            l.bits.to_string()
        );
    }
    let data = p
        .dataset
        .path
        .as_ref()
        .map(|d| format!(", from '{}'", d.display()))
        .unwrap_or_default();
    s += &format!(
        "Dataset    {} {}, seed {}{data}\n",
        p.dataset.size,
        p.data_kind().name(),
        p.dataset.seed
    );
    s += &format!(
        "Training   {} epochs, batch {}, learning rate {}, seed {}\n",
        p.training.epochs, p.training.batch_size, p.training.learning_rate, p.training.seed
    );
    s += &format!(
        "Artifacts  checkpoints '{}', export '{}'\n",
        p.artifacts.checkpoints.display(),
        p.artifacts.export.display()
    );
    s
}
