//! `tinygen monitor`: the headless Monitor. Starts a local board (the simulated board or
//! qemu, through the deploy seam) or opens a port, asks for images (or, on a classifier
//! board, sends its template's test inputs), prints each as it completes, and sums up
//! speed and link use.

use super::common::StyleArg;
use super::error::CliError;
use crate::deploy::local::{self, LocalKind};
use crate::link::proto::PROTOCOL_VERSION;
use crate::link::session::{LinkCmd, LinkEvent, Session, serial_opener};
use crate::preview::Style;
use crate::project::Project;
use crate::spec::ModelKind;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project file (.ron) [default: the built-in die template and its shipped model].
    #[arg(value_name = "PROJECT")]
    pub path: Option<PathBuf>,
    /// A serial port (e.g. /dev/ttyACM0, or a pty path) instead of a board tinygen starts.
    #[arg(long, conflicts_with = "board")]
    pub port: Option<String>,
    /// The board tinygen starts: sim (the firmware built for this machine) or qemu-rv32
    /// (the RV32EC firmware in qemu).
    #[arg(long, value_enum, default_value = "sim")]
    pub board: LocalBoard,
    /// Line speed of a real port, and the pace of the simulated one.
    #[arg(long, default_value_t = 115_200)]
    pub baud: u32,
    /// Images to generate (dice, for the die), or inputs to classify.
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u16).range(1..))]
    pub count: u16,
    /// The class to draw (for dice, a pip count 1-6; for Streaming SD's digits, the digit,
    /// with 10 for 0), or 0 to let the board roll.
    #[arg(long, default_value_t = 0)]
    pub label: u8,
    #[arg(long, default_value_t = 1)]
    pub seed: u32,
    /// Scale of the latent draws (1 = the prior; lower is cleaner, less varied).
    #[arg(long, default_value_t = 0.5, value_parser = super::common::parse_temperature)]
    pub temperature: f32,
    /// A diffusion model's sampling steps (1 to 255) [default: the model's own, 8 for
    /// Streaming SD]. Fewer steps stride the same schedule.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..))]
    pub steps: Option<u8>,
    /// A diffusion model: also show the decoded estimate of every K-th step as each image
    /// forms (0: only the finished images).
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub preview: u8,
    /// How to draw the images [default: half-blocks on a colour terminal, else ascii].
    #[arg(long, value_enum)]
    pub style: Option<StyleArg>,
    /// Also save the received images as a PNG grid, each under its label.
    #[arg(long)]
    pub png: Option<PathBuf>,
    /// Pixels of the PNG per image pixel (1 to 16).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=16))]
    pub scale: u32,
    /// Give up when no image arrives for this many seconds.
    #[arg(long, default_value_t = 20)]
    pub timeout: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LocalBoard {
    Sim,
    QemuRv32,
}

fn fail(msg: String) -> CliError {
    CliError::failure(anyhow::anyhow!(msg))
}

impl Args {
    pub fn run(self) -> Result<(), CliError> {
        let (p, file) = match &self.path {
            Some(f) => (super::common::load(f)?, Some(f.clone())),
            None => (Project::from_template(crate::templates::ALL[0].def()), None),
        };
        let classes = crate::templates::spec(&p).classes;
        if u32::from(self.label) > classes {
            return Err(CliError::bad_input(anyhow::anyhow!(
                "label {} is not a class of this model; use 0 (the board rolls) or 1 to {classes}",
                self.label
            )));
        }
        let diffusion = crate::templates::spec(&p).kind == ModelKind::Diffusion;
        if !diffusion && (self.steps.is_some() || self.preview > 0) {
            return Err(CliError::bad_input(anyhow::anyhow!(
                "--steps and --preview are for diffusion models (the '{}' template samples in \
                 one pass)",
                p.template.name
            )));
        }
        run(&p, file.as_deref(), &self)
    }

    /// The steps and preview cadence a GENERATE carries: both 0 unless the board's model
    /// samples by diffusion.
    fn diffusion(&self, kind: Option<ModelKind>) -> (u8, u8) {
        if kind == Some(ModelKind::Diffusion) {
            (self.steps.unwrap_or(0), self.preview)
        } else {
            (0, 0)
        }
    }
}

fn run(p: &Project, file: Option<&Path>, o: &Args) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    let mut seen_hash: Option<u32> = None;
    let template = crate::templates::of(p);
    let (one, many) = template.image_words(p);
    let style = StyleArg::or_default(o.style);
    let temperature = crate::engine::temperature_steps(o.temperature);
    let timeout = Duration::from_secs(o.timeout);
    let mut board = None;
    let (port, expected, opener) = match &o.port {
        Some(port) => {
            crate::link::ports::check_exists(port).map_err(CliError::bad_input)?;
            (port.clone(), None, serial_opener(port.clone(), o.baud))
        }
        None => {
            let m = crate::templates::deployable(p, file)?;
            let kind = match o.board {
                LocalBoard::Sim => LocalKind::Sim,
                LocalBoard::QemuRv32 => LocalKind::QemuRv32,
            };
            let b = local::start(kind, &m, &p.name, o.baud)?;
            let _ = match &b.sizes {
                Some(s) => writeln!(
                    out,
                    "qemu rv32ec board on {} ({}; firmware {} B flash, {} B static SRAM)",
                    b.port,
                    m.origin,
                    s.flash_bytes(),
                    s.static_sram_bytes()
                ),
                None => writeln!(
                    out,
                    "Simulated board on {} ({}), {} baud",
                    b.port, m.origin, o.baud
                ),
            };
            let opener = b.opener();
            let port = b.port.clone();
            board = Some(b);
            (port, Some(m.hash()), opener)
        }
    };
    let (tx, rx) = mpsc::channel();
    let session = Session::start(port.clone(), opener, expected, move |e| {
        let _ = tx.send(e);
    });

    let mut to_classify: Option<(Vec<Vec<u8>>, Vec<u8>)> = None;
    let mut answers: Vec<(u8, u8)> = Vec::new();
    let start = Instant::now();
    let mut last_progress = Instant::now();
    let mut asked = false;
    // A run cut by a lost link is asked again from the first die still owed (#19, item
    // 3): GENERATEs not yet answered by a DONE, links made, and whether one is waiting
    // for the board's HELLO to be asked again.
    let mut outstanding = 0u32;
    let mut connections = 0u32;
    let mut reask = false;
    let mut images: Vec<crate::link::session::Image> = Vec::new();
    let mut wire_bytes = 0u64;
    let mut paced = true;
    let mut cycles = Vec::new();
    let mut stack = 0u16;
    let mut memory = None;
    loop {
        let e = match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(e) => e,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if last_progress.elapsed() > timeout {
                    return Err(fail(format!(
                        "no answer from {port} for {} s; is the board running tinygen firmware \
                         at {} baud?",
                        timeout.as_secs(),
                        o.baud
                    )));
                }
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        match e {
            LinkEvent::Hello(h) => {
                last_progress = Instant::now();
                seen_hash = Some(h.model_hash);
                paced = h.board.paced_line();
                let _ = writeln!(
                    out,
                    "HELLO from {}: protocol {}, firmware {}.{}, model {:08x}, arena {} B",
                    h.board.name(),
                    h.protocol,
                    h.firmware >> 8,
                    h.firmware & 0xff,
                    h.model_hash,
                    h.arena_bytes
                );
                if reask && h.protocol == PROTOCOL_VERSION {
                    reask = false;
                    // The dice after the last whole one; any lost before it stay missing.
                    let first = images
                        .iter()
                        .map(|i| u32::from(i.index) + 1)
                        .max()
                        .unwrap_or(0);
                    if first >= u32::from(o.count) {
                        break; // the last die came; those lost before it are said below
                    }
                    if h.firmware < crate::link::proto::FIRMWARE_RESUMES {
                        let _ = writeln!(
                            out,
                            "reconnected, but firmware {}.{} cannot resume a run: {many} {} to \
                             {} were not drawn; flash this tinygen's firmware",
                            h.firmware >> 8,
                            h.firmware & 0xff,
                            first + 1,
                            o.count
                        );
                        break;
                    }
                    let _ = writeln!(
                        out,
                        "reconnected: asking again for {many} {} to {}",
                        first + 1,
                        o.count
                    );
                    // The run the cut ended has said DONE by now, or never will
                    // (a board that restarted): only this one is awaited.
                    outstanding = 1;
                    let (steps, preview) = o.diffusion(h.model_kind());
                    session.send(LinkCmd::Generate {
                        label: o.label,
                        count: o.count - first as u16,
                        seed: o.seed,
                        temperature,
                        first: first as u16,
                        steps,
                        preview,
                    });
                    continue;
                }
                if asked || h.protocol != PROTOCOL_VERSION {
                    continue;
                }
                match h.model_kind() {
                    Some(ModelKind::Classifier) => {
                        asked = true;
                        // The template's test inputs (the test set's first `count`, or the
                        // training digits' when there is no test set), one at a time.
                        let s = crate::templates::of(p)
                            .sample_inputs(&p.data_places(file), usize::from(o.count))?;
                        let needed = s.inputs.first().map_or(0, |i| i.len() + 3);
                        if usize::from(h.max_frame) < needed {
                            return Err(fail(format!(
                                "the board takes frames of {} bytes, an input needs {needed}; \
                                 flash firmware built for this model ('tinygen flash')",
                                h.max_frame
                            )));
                        }
                        let _ = writeln!(
                            out,
                            "Classifying {} digits of the {}",
                            s.inputs.len(),
                            s.what
                        );
                        if let Some(first) = s.inputs.first() {
                            session.send(LinkCmd::Classify {
                                tag: 0,
                                input: first.clone(),
                            });
                        }
                        to_classify = Some((s.inputs, s.labels));
                    }
                    Some(kind @ (ModelKind::Generator | ModelKind::Diffusion)) if h.image_h > 0 => {
                        asked = true;
                        outstanding += 1;
                        let (steps, preview) = o.diffusion(Some(kind));
                        if kind == ModelKind::Diffusion {
                            let _ = writeln!(
                                out,
                                "Sampling by diffusion in {} steps (seed {})",
                                if steps > 0 { steps } else { h.steps },
                                o.seed
                            );
                        }
                        session.send(LinkCmd::Generate {
                            label: o.label,
                            count: o.count,
                            seed: o.seed,
                            temperature,
                            first: 0,
                            steps,
                            preview,
                        });
                    }
                    _ => {
                        return Err(fail(format!(
                            "the board on {port} has no image model; flash one with 'tinygen flash'"
                        )));
                    }
                }
            }
            LinkEvent::VersionMismatch { board, host } => {
                return Err(fail(format!(
                    "the board speaks protocol {board}, this tinygen {host}; update the firmware \
                     ('tinygen flash') or tinygen"
                )));
            }
            LinkEvent::HashMismatch { board, expected } => {
                let _ = writeln!(
                    out,
                    "warning: the board runs model {board:08x}, not this project's {expected:08x}; \
                     flash it to see this project's model"
                );
            }
            LinkEvent::Image(img) => {
                last_progress = Instant::now();
                let _ = writeln!(
                    out,
                    "{one} {}: {}",
                    u32::from(img.index) + 1,
                    template.caption(p, img.label)
                );
                for l in crate::preview::lines(style, &img.pixels, img.width, img.height, 3) {
                    let _ = writeln!(out, "{l}");
                }
                images.push(img);
                // A board that ignores the count is stopped at the first image beyond it,
                // so memory stays bounded (#19, item 2); up to then its STATS and DONE
                // still arrive and count.
                if images.len() > usize::from(o.count) {
                    images.truncate(usize::from(o.count));
                    session.send(LinkCmd::Stop);
                    let _ = writeln!(out, "the board sent more than asked; stopped it");
                    break;
                }
            }
            LinkEvent::Incomplete { index, rows } => {
                let n = u32::from(index) + 1;
                let _ = if rows == 0 {
                    writeln!(out, "{one} {n} lost: its first rows never arrived")
                } else {
                    writeln!(out, "{one} {n} cut off after {rows} rows (not shown)")
                };
            }
            LinkEvent::Stats(s) => {
                if s.cycles > 0 {
                    cycles.push(s.cycles);
                }
                stack = stack.max(s.stack_bytes);
                memory = s.memory.or(memory);
            }
            LinkEvent::Traffic { bytes } => wire_bytes += bytes,
            LinkEvent::BoardError { code, text } => {
                let _ = writeln!(out, "board error {code}: {text}");
            }
            LinkEvent::Log(t) => {
                let _ = writeln!(out, "board: {t}");
            }
            LinkEvent::Garbage { frames } => {
                let _ = writeln!(out, "{frames} damaged frame(s) skipped");
            }
            LinkEvent::Disconnected { reason } => {
                let _ = writeln!(out, "disconnected: {reason}");
            }
            LinkEvent::Done { count } => {
                let _ = writeln!(out, "board done: {count} image(s)");
                outstanding = outstanding.saturating_sub(1);
                // The DONE of a run the cut ended comes before the board's new HELLO.
                if outstanding == 0 && !reask {
                    break;
                }
            }
            LinkEvent::Classified(r) => {
                last_progress = Instant::now();
                let Some((inputs, labels)) = &to_classify else {
                    continue;
                };
                let i = usize::from(r.tag);
                let (Some(input), Some(&truth)) = (inputs.get(i), labels.get(i)) else {
                    let _ = writeln!(out, "an answer for digit {i}, which was not asked");
                    continue;
                };
                let side = input.len().isqrt();
                let scale = if matches!(style, Style::Image(_)) {
                    4
                } else {
                    1
                };
                for l in crate::preview::lines(style, input, side, side, scale) {
                    let _ = writeln!(out, "{l}");
                }
                let _ = writeln!(
                    out,
                    "digit {}: labelled {truth}, board says {}{}  ({} counted, stack {} B)",
                    i + 1,
                    r.class,
                    if r.class == truth { "" } else { "  (wrong)" },
                    r.cycles,
                    r.stack_bytes
                );
                if r.cycles > 0 {
                    cycles.push(r.cycles);
                }
                stack = stack.max(r.stack_bytes);
                answers.push((truth, r.class));
                if i + 1 < inputs.len() {
                    session.send(LinkCmd::Classify {
                        tag: (i + 1) as u16,
                        input: inputs[i + 1].clone(),
                    });
                } else {
                    break;
                }
            }
            LinkEvent::Closed => break,
            LinkEvent::Connected { .. } => {
                connections += 1;
                let generating = asked && to_classify.is_none();
                if connections > 1 && generating {
                    if images.len() < usize::from(o.count) {
                        reask = true;
                    } else {
                        // Every die came whole; only the DONE was lost in the cut.
                        break;
                    }
                }
            }
            LinkEvent::Step(s) => {
                last_progress = Instant::now();
                let _ = writeln!(
                    out,
                    "{one} {}: {}, step {} of {}",
                    u32::from(s.index) + 1,
                    template.caption(p, s.label),
                    u32::from(s.step) + 1,
                    s.steps
                );
                let (w, h) = (usize::from(s.width), usize::from(s.height));
                for l in crate::preview::lines(style, &s.pixels, w, h, 3) {
                    let _ = writeln!(out, "{l}");
                }
            }
            LinkEvent::Ack { .. } | LinkEvent::Rows(_) | LinkEvent::Reconnecting { .. } => {}
        }
    }
    drop(session);
    drop(board);
    if let Some((inputs, _)) = &to_classify {
        let right = answers.iter().filter(|(t, c)| t == c).count();
        let _ = writeln!(
            out,
            "\n{right} of {} digits classified as labelled ({:.1}%)",
            answers.len(),
            100.0 * right as f64 / answers.len().max(1) as f64
        );
        if !cycles.is_empty() {
            let mean = cycles.iter().map(|&c| u64::from(c)).sum::<u64>() / cycles.len() as u64;
            let _ = writeln!(
                out,
                "board counter per inference: {mean}; stack high-water {stack} B"
            );
        }
        if answers.len() < inputs.len() {
            return Err(fail(format!(
                "only {} of {} answers arrived",
                answers.len(),
                inputs.len()
            )));
        }
        return Ok(());
    }
    let secs = start.elapsed().as_secs_f64();
    let payload: usize = images.iter().map(|i| i.pixels.len()).sum();
    let line_bytes_per_s = f64::from(o.baud) / 10.0;
    // The share of the line rate means something only on a line paced at its baud rate.
    let link_use = if paced {
        format!(
            "link use {:.0}% of {} baud",
            100.0 * wire_bytes as f64 / secs.max(1e-9) / line_bytes_per_s,
            o.baud
        )
    } else {
        "no link use: this board's serial line is not paced at a baud rate".to_string()
    };
    let _ = writeln!(
        out,
        "\n{} {many} in {secs:.2} s ({:.1}/s); {payload} pixel bytes, {wire_bytes} bytes on the \
         wire ({:.0}% payload); {link_use}",
        images.len(),
        images.len() as f64 / secs.max(1e-9),
        100.0 * payload as f64 / (wire_bytes.max(1)) as f64,
    );
    if !cycles.is_empty() {
        let mean = cycles.iter().map(|&c| u64::from(c)).sum::<u64>() / cycles.len() as u64;
        let _ = writeln!(
            out,
            "board counter per image: {mean}; stack high-water {stack} B"
        );
    }
    if let Some(m) = memory {
        let _ = writeln!(
            out,
            "board memory: peak {} KiB (anonymous {} KiB, file {} KiB); {} weight bytes read for the last image",
            m.peak_kb, m.anon_kb, m.file_kb, m.weight_bytes
        );
    }
    if let Some(path) = &o.png {
        let labels: Vec<String> = images.iter().map(|i| i.label.to_string()).collect();
        let refs: Vec<(&str, &[u8])> = images
            .iter()
            .zip(&labels)
            .map(|(i, l)| (l.as_str(), i.pixels.as_slice()))
            .collect();
        if let Some(first) = images.first() {
            let (px, w, h) =
                crate::preview::sheet(&refs, first.width, first.height, 6, o.scale as usize);
            crate::preview::write_png(path, &px, w, h)
                .map_err(|e| fail(format!("cannot write '{}': {e}", path.display())))?;
            let _ = writeln!(out, "Wrote {}", path.display());
        }
    }
    // The workshop checklist's facts: what this board runs, what arrived, the PNG.
    if let (Some(f), Some(hash)) = (file, seen_hash) {
        use crate::workshop::progress::{Event, record};
        let mut events = vec![Event::Hello { model_hash: hash }];
        events.push(Event::Images {
            model_hash: hash,
            count: images.len() as u32,
        });
        if let Some(png) = o.png.as_ref().filter(|_| !images.is_empty()) {
            events.push(Event::Png(png.clone()));
        }
        if let Err(e) = record(f, events) {
            let _ = writeln!(out, "note: the workshop progress was not saved: {e}");
        }
    }
    if (images.len() as u16) < o.count {
        return Err(fail(format!(
            "only {} of {} {many} arrived whole",
            images.len(),
            o.count
        )));
    }
    Ok(())
}
