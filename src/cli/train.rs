//! `tinygen train`: the training loop with a progress bar on stderr, one line per epoch
//! on stdout, and the epoch's samples as `samples.png` in the checkpoint folder.

use super::error::CliError;
use crate::spec::ModelKind;
use crate::train::{Control, LossInfo, TrainEvent, TrainOptions};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project file (.ron), e.g. projects/die.ron.
    #[arg(value_name = "PROJECT")]
    pub path: PathBuf,
    /// Train this many epochs in all instead of the project's count.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub epochs: Option<u32>,
    /// Start again from scratch, replacing any checkpoint.
    #[arg(long)]
    pub fresh: bool,
}

/// The value of the loss `info` in `losses`, at its precision.
fn shown(losses: &[(String, f32)], info: &LossInfo) -> Option<String> {
    let (_, v) = losses.iter().find(|(n, _)| n == info.name)?;
    Some(info.show(*v))
}

impl Args {
    pub fn run(self) -> Result<(), CliError> {
        let p = super::common::load(&self.path)?;
        let template = crate::templates::of(&p);
        let kind = template.spec(&p).kind;
        let infos = template.losses();
        let checkpoints = p.checkpoint_dir(Some(&self.path));
        let opts = TrainOptions {
            checkpoints: checkpoints.clone(),
            fresh: self.fresh,
            epochs: self.epochs,
            data: p.data_places(Some(&self.path)),
        };
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} [{bar:30}] {pos}/{len} batches  {msg}  eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        let mut total_epochs = 0;
        let mut resumed = 0;
        // Ctrl-C stops between batches and says where the last checkpoint is; a second
        // Ctrl-C leaves at once.
        let control = std::sync::Arc::new(Control::default());
        let handler = control.clone();
        let installed = ctrlc::set_handler(move || {
            if handler.cancel.swap(true, Ordering::Relaxed) {
                std::process::exit(130);
            }
        });
        if installed.is_err() {
            eprintln!("note: Ctrl-C will stop training without saying where it got to");
        }
        // The device is chosen here, at the edge.
        let device = burn::prelude::Device::flex();
        let result = template.train(&p, &opts, &control, &device, &mut |e| match e {
            TrainEvent::Data(source) => bar.suspend(|| println!("{source}")),
            TrainEvent::Started {
                epochs,
                batches,
                history,
            } => {
                total_epochs = epochs;
                resumed = history.len();
                bar.set_length(batches as u64);
                if let Some(last) = history.last() {
                    if last.epoch >= epochs {
                        bar.suspend(|| {
                            println!(
                                "Nothing to train: all {epochs} epochs are done (--epochs N \
                                 trains on to N, --fresh starts again)."
                            )
                        });
                    } else {
                        bar.suspend(|| {
                            println!("Resuming after epoch {} of {epochs}.", last.epoch)
                        });
                    }
                }
            }
            TrainEvent::Batch {
                epoch,
                batch,
                losses,
            } => {
                bar.set_prefix(format!("epoch {epoch}/{total_epochs}"));
                bar.set_position(batch as u64);
                let parts: Vec<String> = infos.iter().filter_map(|i| shown(&losses, i)).collect();
                bar.set_message(parts.join(" "));
            }
            TrainEvent::Epoch {
                loss,
                seconds,
                samples,
                confusion,
                scores,
                strip,
            } => {
                let _ = std::fs::create_dir_all(&checkpoints);
                let mut line = format!("epoch {:>3}/{total_epochs}", loss.epoch);
                // A task trained in stages reports the losses of the epoch's stage.
                for info in infos {
                    let v = loss.loss(info.name);
                    if v.is_finite() {
                        line += &format!("  {}", info.column(v));
                    }
                }
                if let Some(acc) = loss.accuracy {
                    line += &format!("  train {:6.2}%", acc * 100.0);
                    line += &loss.test_accuracy.map_or("  no test set".to_string(), |t| {
                        format!("  test {:6.2}%", t * 100.0)
                    });
                }
                for (name, v) in &scores {
                    line += &format!("  {name} {:5.1}%", v * 100.0);
                }
                bar.suspend(|| println!("{line}  {seconds:5.1} s"));
                if loss.epoch == total_epochs && !confusion.is_empty() {
                    bar.suspend(|| print!("{}", crate::scoring::confusion_text(&confusion)));
                }
                // The epoch's samples, for a look without the workbench: a generator's
                // one row per class, a classifier's test digits six to a row.
                let labels: Vec<String> = samples.iter().map(|(l, _)| l.to_string()).collect();
                let images: Vec<(&str, &[u8])> = samples
                    .iter()
                    .zip(&labels)
                    .map(|((_, px), l)| (l.as_str(), px.as_slice()))
                    .collect();
                let side = images.first().map_or(0, |(_, i)| i.len().isqrt());
                let cols = match kind {
                    ModelKind::Classifier => 6,
                    ModelKind::Generator | ModelKind::Diffusion => {
                        let classes = template.spec(&p).classes.max(1) as usize;
                        (images.len() / classes).max(1)
                    }
                };
                if side > 0 {
                    let (px, w, h) = crate::preview::sheet(&images, side, side, cols, 4);
                    let _ = crate::preview::write_png(&checkpoints.join("samples.png"), &px, w, h);
                }
                // A diffusion model's die forming step by step, numbered by step.
                if let Some(side) = strip.first().map(|px| px.len().isqrt()) {
                    let steps: Vec<String> = (1..=strip.len()).map(|k| k.to_string()).collect();
                    let shots: Vec<(&str, &[u8])> = steps
                        .iter()
                        .zip(&strip)
                        .map(|(l, px)| (l.as_str(), px.as_slice()))
                        .collect();
                    let (px, w, h) = crate::preview::sheet(&shots, side, side, shots.len(), 4);
                    let _ = crate::preview::write_png(&checkpoints.join("strip.png"), &px, w, h);
                }
                bar.reset();
            }
            _ => {}
        });
        bar.finish_and_clear();
        let outcome = result?;
        if outcome.cancelled {
            let kept = stopped_message(outcome.history.len(), &checkpoints, self.fresh);
            return Err(CliError::interrupted(kept));
        }
        if outcome.history.len() > resumed {
            println!(
                "Trained {} epochs. Checkpoint, quantized weights and samples.png: {}",
                outcome.history.len(),
                checkpoints.display()
            );
            if let Some(k) = outcome
                .kept
                .filter(|k| k.epoch as usize != outcome.history.len())
            {
                println!(
                    "Kept epoch {} for export: the best by the template's validation score \
                     ({:.1}%). The last epoch is the one that resumes.",
                    k.epoch,
                    k.score * 100.0
                );
            }
        } else {
            println!("The checkpoint is in {}.", checkpoints.display());
        }
        Ok(())
    }
}

/// What Ctrl-C leaves behind: the epochs kept, and how to go on.
fn stopped_message(epochs_done: usize, checkpoints: &Path, fresh: bool) -> String {
    if epochs_done == 0 {
        "stopped (Ctrl-C or a termination signal) during epoch 1, before the first checkpoint; nothing was saved"
            .to_string()
    } else {
        format!(
            "stopped (Ctrl-C or a termination signal); the last checkpoint is epoch \
             {epochs_done}, in {}; {}",
            checkpoints.display(),
            if fresh {
                "the same command without --fresh resumes from it"
            } else {
                "the same command resumes from it (--fresh starts again)"
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// #18, item 8: Ctrl-C in `tinygen train` left without a word.
    #[test]
    fn a_stopped_run_says_where_its_checkpoint_is() {
        let m = stopped_message(7, Path::new("build/die/checkpoints"), false);
        assert!(m.contains("epoch 7, in build/die/checkpoints"), "{m}");
        assert!(m.contains("the same command resumes"), "{m}");
        let m = stopped_message(7, Path::new("x"), true);
        assert!(m.contains("without --fresh resumes"), "{m}");
        assert!(stopped_message(0, Path::new("x"), false).contains("nothing was saved"));
    }
}
