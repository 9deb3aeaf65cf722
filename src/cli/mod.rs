//! The command line: argument parsing, one file per subcommand (each a clap struct with a
//! `run`), and exit codes (`error`). Every action of the workbench also exists here, for
//! scripts and workshop leaders.

pub mod budget;
pub mod classifier;
pub mod common;
pub mod data;
pub mod doctor;
pub mod error;
pub mod eval;
pub mod export;
pub mod flash;
pub mod monitor;
pub mod new;
pub mod report;
pub mod runner;
pub mod show;
pub mod sim;
pub mod steps;
pub mod templates;
pub mod train;

pub use error::{CliError, exit};

use crate::project::Project;
use crate::util::use_color;
use clap::{CommandFactory, Parser, Subcommand};
use common::load;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  tinygen                                   open the workbench on the built-in die template
  tinygen projects/die.ron                  open a project in the workbench
  tinygen new --template cvae-die my.ron    start a project from a template
  tinygen show my.ron                       check a project file and print it
  tinygen budget my.ron --target ch32v003   per-layer flash and SRAM against a chip
  tinygen templates                         list the built-in templates
  tinygen doctor                            what this machine can do, and how to fix the rest
  tinygen data preview cvae-die --png d.png look at the procedural dice
  tinygen completions bash > ~/.local/share/bash-completion/completions/tinygen

Exit codes: 0 ok, 1 failure, 2 bad input (argument or project file), 3 model does not fit,
130 stopped by Ctrl-C.
Set NO_COLOR to turn colour off.";

/// A terminal workbench for tiny generative models: pick a template, train it, check it
/// against a microcontroller's flash and SRAM, flash it, and watch images stream back.
#[derive(Debug, Parser)]
#[command(name = "tinygen", version, after_help = EXAMPLES, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// A project file (.ron) to open in the workbench; without it, the built-in die template.
    pub project: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a project file from a built-in template.
    New(new::Args),
    /// Check a project file and print what it describes.
    Show(show::Args),
    /// Print the per-layer flash and SRAM budget against the target (exit 3 if it does not fit).
    Budget(budget::Args),
    /// Train a project with burn on the CPU; resumes from the last checkpoint.
    Train(train::Args),
    /// Score a trained model. A die model: generated dice per pip count, read by the
    /// shipped pip classifier (a 6x6 confusion matrix), and the reconstruction error. A digit
    /// classifier: accuracy on the official MNIST test set, in burn and in the C engine.
    Eval(eval::Args),
    /// Write the model for a board: the C header (packed weights, per-layer defines, model
    /// hash) and the model blob, after checking it fits the target.
    Export(export::Args),
    /// Watch a board: ask for dice and print them as they stream back. Without --port it
    /// starts the simulated board with the project's model.
    Monitor(monitor::Args),
    /// Put the project's model on a board. CH32V003: check the budget, build the firmware,
    /// then erase, program, verify and reset through a WCH-LinkE (probe-rs). Raspberry Pi
    /// running tinygen-runner: upload over the serial link (chunked, each chunk checked, the
    /// whole verified by the runner's new model hash).
    Flash(flash::Args),
    /// Build the Raspberry Pi runner (aarch64 Linux) into a folder, to copy to the Pi.
    Runner(runner::Args),
    /// Run a simulated board: the firmware built for this machine, serving MODEL (a blob
    /// from 'tinygen export') on a new pseudo-terminal, whose path it prints.
    Sim(sim::Args),
    /// The pip classifier that scores generated dice.
    Classifier(classifier::Args),
    /// Look at a template's training data.
    Data(data::Args),
    /// Check this machine: the tools, data, permissions and probes each board needs, with
    /// the command that fixes each gap (exit 1 if the simulated board is not ready).
    Doctor(doctor::Args),
    /// One folder to hand in: report.md with the budget, training curves, evaluation,
    /// a gallery and the steps done; report.json with the same facts.
    Report(report::Args),
    /// The workshop checklist of a project: which steps are done (exit 1 while some are not).
    Steps(steps::Args),
    /// List the built-in templates.
    Templates,
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Parses the arguments, runs the command and returns the process exit code.
pub fn main() -> i32 {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(message) = mistyped_command(&args) {
        report(&anyhow::anyhow!(message));
        return exit::BAD_INPUT;
    }
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                exit::BAD_INPUT
            } else {
                exit::OK
            };
        }
    };
    match run(cli) {
        Ok(()) => exit::OK,
        Err(e) => {
            report(&e.error);
            e.code
        }
    }
}

/// Prints an error as every command does: one line, "error:" in red on a terminal.
fn report(error: &anyhow::Error) {
    let stderr = std::io::stderr();
    let label = if use_color(stderr.is_terminal()) {
        "\x1b[1;31merror:\x1b[0m"
    } else {
        "error:"
    };
    let _ = writeln!(stderr.lock(), "{label} {error:#}");
}

/// A first argument that is neither a command nor a file but is one typo from a command
/// (`tinygen budegt good.ron`). Without this clap reads it as the project to open and
/// complains about the second argument instead.
fn mistyped_command(args: &[std::ffi::OsString]) -> Option<String> {
    let word = args.get(1)?.to_str()?;
    let looks_like_a_path = word.starts_with('-')
        || word.contains(['.', '/', std::path::MAIN_SEPARATOR])
        || std::path::Path::new(word).exists();
    if looks_like_a_path {
        return None;
    }
    let cli = Cli::command();
    let names: Vec<&str> = cli.get_subcommands().map(|c| c.get_name()).collect();
    if names.contains(&word) {
        return None;
    }
    // Two edits (a swapped pair of letters is two) from a command of four letters or more.
    let (distance, best) = names
        .iter()
        .map(|n| (crate::util::suggest::edit_distance(word, n), *n))
        .min()?;
    if distance > 2 || word.chars().count() < 3 || best.len() < 4 {
        return None;
    }
    Some(format!(
        "'{word}' is not a command; did you mean 'tinygen {best}'? ('tinygen --help' lists them)"
    ))
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        None => workbench(cli.project),
        Some(Command::New(a)) => a.run(),
        Some(Command::Show(a)) => a.run(),
        Some(Command::Budget(a)) => a.run(),
        Some(Command::Train(a)) => a.run(),
        Some(Command::Eval(a)) => a.run(),
        Some(Command::Export(a)) => a.run(),
        Some(Command::Monitor(a)) => a.run(),
        Some(Command::Flash(a)) => a.run(),
        Some(Command::Runner(a)) => a.run(),
        Some(Command::Sim(a)) => a.run(),
        Some(Command::Classifier(a)) => a.run(),
        Some(Command::Data(a)) => a.run(),
        Some(Command::Doctor(a)) => a.run(),
        Some(Command::Steps(a)) => a.run(),
        Some(Command::Report(a)) => a.run(),
        Some(Command::Templates) => templates::run(),
        Some(Command::Completions { shell }) => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "tinygen",
                &mut std::io::stdout().lock(),
            );
            Ok(())
        }
    }
}

/// `tinygen [PROJECT]`: the workbench, on a project file or the built-in die template.
fn workbench(path: Option<PathBuf>) -> Result<(), CliError> {
    let (project, path) = match path {
        Some(path) => (load(&path)?, Some(path)),
        None => (Project::from_template(crate::templates::ALL[0].def()), None),
    };
    crate::tui::run(project, path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    fn args(words: &[&str]) -> Vec<std::ffi::OsString> {
        std::iter::once("tinygen")
            .chain(words.iter().copied())
            .map(Into::into)
            .collect()
    }

    /// #18, item 10: `tinygen budegt good.ron` blamed 'good.ron' instead of the typo.
    #[test]
    fn a_mistyped_command_is_named_with_the_one_meant() {
        let m = mistyped_command(&args(&["budegt", "good.ron"])).unwrap();
        assert!(m.contains("did you mean 'tinygen budget'?"), "{m}");
        assert!(
            mistyped_command(&args(&["trian"]))
                .unwrap()
                .contains("'tinygen train'")
        );
        // Commands, project files, options and far-off words are left to clap.
        assert_eq!(mistyped_command(&args(&["budget", "good.ron"])), None);
        assert_eq!(mistyped_command(&args(&["my.ron"])), None);
        assert_eq!(mistyped_command(&args(&["--help"])), None);
        assert_eq!(mistyped_command(&args(&["zzzzzzzz"])), None);
        assert_eq!(mistyped_command(&args(&[])), None);
    }

    #[test]
    fn no_color_is_respected() {
        assert!(!use_color(false));
    }
}
