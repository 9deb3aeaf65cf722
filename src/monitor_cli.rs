//! `tinygen monitor`: the headless Monitor. Starts the simulated board (or opens a port),
//! asks for dice, prints each one as it completes, and sums up speed and link use.

use crate::cli::CliError;
use crate::deploy::firmware::Rv32Board;
use crate::deploy::qemu::QemuBoard;
use crate::deploy::{self, sim::SimBoard};
use crate::link::session::{LinkCmd, LinkEvent, Session, serial_opener};
use crate::project::Project;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub struct Options {
    pub port: Option<String>,
    /// Start the RV32EC firmware in qemu instead of the simulated board.
    pub qemu: bool,
    pub baud: u32,
    pub count: u16,
    pub label: u8,
    pub seed: u32,
    /// In 1/64.
    pub temperature: u8,
    pub style: crate::cli::StyleArg,
    pub png: Option<PathBuf>,
    pub timeout: Duration,
}

fn fail(msg: String) -> CliError {
    CliError::from(anyhow::anyhow!(msg))
}

/// A model blob in a temporary file, removed when dropped.
struct TempModel(PathBuf);

impl Drop for TempModel {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

pub fn run(p: &Project, file: Option<&Path>, o: &Options) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    let model = deploy::model_for(p, file);
    let mut qemu_board = None;
    let (_sim, _tmp, port, expected, opener) = match &o.port {
        Some(port) => (
            None,
            None,
            port.clone(),
            None,
            serial_opener(port.clone(), o.baud),
        ),
        None if o.qemu => {
            let m = model.map_err(|e| fail(e.to_string()))?;
            let dir = std::env::temp_dir().join(format!("tinygen-qemu-{:08x}", m.hash()));
            let header = m
                .header(&p.name, "qemu-rv32")
                .map_err(|e| fail(e.to_string()))?;
            let built = crate::deploy::firmware::build_rv32(
                Rv32Board::QemuRv32,
                &header,
                &m.firmware_config(),
                &dir,
            )
            .map_err(|e| fail(e.to_string()))?;
            let board = QemuBoard::spawn(&built.elf, &dir).map_err(|e| fail(e.to_string()))?;
            let _ = writeln!(
                out,
                "qemu rv32ec board on {} ({}; firmware {} B flash, {} B static SRAM)",
                board.port,
                m.origin,
                built.sizes.flash_bytes(),
                built.sizes.static_sram_bytes()
            );
            let port = board.port.clone();
            let board = std::sync::Arc::new(board);
            qemu_board = Some(board.clone());
            let opener = board.opener(o.baud);
            (None, None, port, Some(m.hash()), opener)
        }
        None => {
            let m = model.map_err(|e| fail(e.to_string()))?;
            let tmp = TempModel(std::env::temp_dir().join(format!(
                "tinygen-sim-{}-{:08x}.bin",
                std::process::id(),
                m.hash()
            )));
            crate::fsutil::write_atomic(&tmp.0, &m.blob)
                .map_err(|e| fail(format!("cannot write {}: {e}", tmp.0.display())))?;
            let sim = SimBoard::spawn(&tmp.0, o.baud, None).map_err(|e| fail(e.to_string()))?;
            let _ = writeln!(
                out,
                "Simulated board on {} ({}), {} baud",
                sim.port, m.origin, o.baud
            );
            let port = sim.port.clone();
            let opener = serial_opener(port.clone(), o.baud);
            (Some(sim), Some(tmp), port, Some(m.hash()), opener)
        }
    };
    let (tx, rx) = mpsc::channel();
    let session = Session::start(port.clone(), opener, expected, move |e| {
        let _ = tx.send(e);
    });

    // A classifier board gets digits instead of GENERATE: the test set's first `count`
    // (or the training digits' when there is no test set), one at a time.
    type Digits = (Vec<[u8; 256]>, Vec<u8>, &'static str);
    let digits = || -> Result<Digits, CliError> {
        use crate::data::mnist::{self, Split};
        let dir = match (&p.dataset.path, file) {
            (Some(d), Some(f)) => Some(p.resolve(f, d)),
            (Some(d), None) => Some(d.clone()),
            _ => None,
        };
        let (mut d, what) = match mnist::load(dir.as_deref(), Split::Test) {
            Ok((d, _)) => (d, "test set"),
            Err(_) => (
                mnist::load(dir.as_deref(), Split::Train)
                    .map_err(|e| fail(e.to_string()))?
                    .0,
                "training digits (no test set found)",
            ),
        };
        d.truncate(usize::from(o.count));
        Ok((mnist::inputs(&d), d.labels, what))
    };
    let mut to_classify: Option<(Vec<[u8; 256]>, Vec<u8>)> = None;
    let mut answers: Vec<(u8, u8)> = Vec::new();

    let start = Instant::now();
    let mut last_progress = Instant::now();
    let mut asked = false;
    let mut images = Vec::new();
    let mut wire_bytes = 0u64;
    let mut cycles = Vec::new();
    let mut stack = 0u16;
    let mut first_image_at = None;
    loop {
        let e = match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(e) => e,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if last_progress.elapsed() > o.timeout {
                    return Err(fail(format!(
                        "no answer from {port} for {} s; is the board running tinygen firmware \
                         at {} baud?",
                        o.timeout.as_secs(),
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
                if !asked
                    && h.protocol == crate::link::proto::PROTOCOL_VERSION
                    && h.model_hash != 0
                    && h.latent == 0
                    && h.classes > 0
                {
                    asked = true;
                    let (inputs, labels, what) = digits()?;
                    let needed = inputs.first().map_or(0, |i| i.len() + 3);
                    if usize::from(h.max_frame) < needed {
                        return Err(fail(format!(
                            "the board takes frames of {} bytes, a digit needs {needed}; flash                              firmware built for this model ('tinygen flash')",
                            h.max_frame
                        )));
                    }
                    let _ = writeln!(out, "Classifying {} digits of the {what}", inputs.len());
                    session.send(LinkCmd::Classify {
                        tag: 0,
                        input: inputs[0].to_vec(),
                    });
                    to_classify = Some((inputs, labels));
                }
                if !asked && h.protocol == crate::link::proto::PROTOCOL_VERSION {
                    if h.model_hash == 0 || h.image_h == 0 {
                        return Err(fail(format!(
                            "the board on {port} has no image model; flash one with 'tinygen flash'"
                        )));
                    }
                    asked = true;
                    session.send(LinkCmd::Generate {
                        label: o.label,
                        count: o.count,
                        seed: o.seed,
                        temperature: o.temperature,
                    });
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
                first_image_at.get_or_insert_with(Instant::now);
                let _ = writeln!(out, "die {}: {} pips", img.index + 1, img.label);
                let lines = match o.style {
                    crate::cli::StyleArg::Ascii => crate::preview::ascii(&img.pixels, img.width),
                    crate::cli::StyleArg::Half => {
                        crate::preview::half_blocks_ansi(&img.pixels, img.width)
                    }
                    crate::cli::StyleArg::Sixel => {
                        vec![crate::preview::sixel(&img.pixels, img.width, img.height, 3)]
                    }
                };
                for l in lines {
                    let _ = writeln!(out, "{l}");
                }
                images.push(img);
            }
            LinkEvent::Incomplete { index, rows } => {
                let _ = writeln!(
                    out,
                    "die {} cut off after {rows} rows (not shown)",
                    index + 1
                );
            }
            LinkEvent::Stats(s) => {
                if s.cycles > 0 {
                    cycles.push(s.cycles);
                }
                stack = stack.max(s.stack_bytes);
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
                break;
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
                let lines = match o.style {
                    crate::cli::StyleArg::Half => crate::preview::half_blocks_ansi(input, 16),
                    crate::cli::StyleArg::Sixel => vec![crate::preview::sixel(input, 16, 16, 4)],
                    crate::cli::StyleArg::Ascii => crate::preview::ascii(input, 16),
                };
                for l in lines {
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
                        input: inputs[i + 1].to_vec(),
                    });
                } else {
                    break;
                }
            }
            LinkEvent::Closed => break,
            LinkEvent::Connected { .. }
            | LinkEvent::Ack { .. }
            | LinkEvent::Rows(_)
            | LinkEvent::Reconnecting { .. } => {}
        }
    }
    drop(session);
    drop(qemu_board);
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
    let _ = writeln!(
        out,
        "\n{} dice in {secs:.2} s ({:.1}/s); {payload} pixel bytes, {wire_bytes} bytes on the \
         wire ({:.0}% payload); link use {:.0}% of {} baud",
        images.len(),
        images.len() as f64 / secs.max(1e-9),
        100.0 * payload as f64 / (wire_bytes.max(1)) as f64,
        100.0 * wire_bytes as f64 / secs.max(1e-9) / line_bytes_per_s,
        o.baud
    );
    if !cycles.is_empty() {
        let mean = cycles.iter().map(|&c| u64::from(c)).sum::<u64>() / cycles.len() as u64;
        let _ = writeln!(
            out,
            "board counter per image: {mean}; stack high-water {stack} B"
        );
    }
    if let Some(path) = &o.png {
        let refs: Vec<&[u8]> = images.iter().map(|i| i.pixels.as_slice()).collect();
        if let Some(first) = images.first() {
            let (px, w, h) = crate::preview::grid(&refs, first.width, first.height, 6, 2);
            crate::preview::write_png(path, &px, w, h)
                .map_err(|e| fail(format!("cannot write '{}': {e}", path.display())))?;
            let _ = writeln!(out, "Wrote {}", path.display());
        }
    }
    if (images.len() as u16) < o.count {
        return Err(fail(format!(
            "only {} of {} dice arrived whole",
            images.len(),
            o.count
        )));
    }
    Ok(())
}
