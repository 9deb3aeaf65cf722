//! The Monitor screen's state: the board link as the user sees it (connecting, live,
//! reconnecting, version or model problems), the dice streamed so far, the image being
//! drawn, link speed, and a log. Events come from the link worker; keys ask it for dice.

use super::resume::Run;
use crate::link::proto::{Hello, PROTOCOL_VERSION};
use crate::link::session::{Image, LinkCmd, LinkEvent};
use crate::spec::ModelKind;
use crate::template::Samples;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Dice kept in the gallery.
pub const GALLERY: usize = 12;
/// Lines kept in the log.
const LOG_LINES: usize = 50;
/// Window for frames and bytes per second.
const RATE_WINDOW: Duration = Duration::from_secs(3);

/// How previews are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreviewStyle {
    HalfBlock,
    Ascii,
    /// The terminal's own graphics ([`MonitorView::graphics`]).
    Graphics,
}

impl PreviewStyle {
    fn next(self, graphics: bool) -> PreviewStyle {
        match self {
            PreviewStyle::HalfBlock => PreviewStyle::Ascii,
            PreviewStyle::Ascii if graphics => PreviewStyle::Graphics,
            _ => PreviewStyle::HalfBlock,
        }
    }
}

/// The link as the status bar and the Monitor show it.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkState {
    /// Nothing started yet.
    Off,
    /// A board is being started or its port opened.
    Starting(String),
    Live,
    Disconnected(String),
    Reconnecting(u32),
    /// The board speaks another protocol version: nothing is asked of it.
    VersionError {
        board: u8,
    },
    /// The board could not be started at all.
    Failed(String),
}

/// An image being drawn, row by row.
#[derive(Debug, Clone, PartialEq)]
pub struct Drawing {
    pub index: u16,
    pub label: u8,
    pub width: usize,
    pub rows: usize,
    pub pixels: Vec<u8>,
    /// A diffusion preview: the estimate after step `.0` (0-based) of `.1`.
    pub step: Option<(u8, u8)>,
}

#[derive(Debug, Clone)]
pub struct MonitorView {
    pub state: LinkState,
    pub port: Option<String>,
    pub hello: Option<Hello>,
    /// A board running another model than the project's: (board's, project's).
    pub other_model: Option<(u32, u32)>,
    pub gallery: VecDeque<Image>,
    pub drawing: Option<Drawing>,
    pub log: VecDeque<String>,
    pub style: PreviewStyle,
    /// The newest image alone, as large as the screen holds (`z`), to judge fine detail
    /// such as whether a die's pips are distinct.
    pub zoom: bool,
    /// The graphics the terminal draws, asked of it at start.
    pub graphics: Option<crate::graphics::Protocol>,
    pub baud: u32,
    /// Arrival times of finished images, and of received byte counts, for the rates.
    done_at: VecDeque<Instant>,
    bytes_at: VecDeque<(Instant, u64)>,
    pub total_bytes: u64,
    pub damaged_frames: u64,
    pub last_cycles: Option<u32>,
    pub stack_bytes: u16,
    /// A hosted board's own memory, from its latest STATS (the Pi runner).
    pub board_memory: Option<crate::link::proto::BoardMemory>,
    /// Seed for the next roll; every roll uses a new one. `e` sets it.
    pub next_seed: u32,
    /// The seed the latest roll used.
    pub last_seed: Option<u32>,
    /// A seed being typed (`e`, digits, Enter).
    pub seed_entry: Option<String>,
    /// The next roll's seed was typed by the user.
    pub seed_chosen: bool,
    /// A diffusion board's sampling steps (0: the model's default; `t` cycles them).
    pub steps: u8,
    /// The run under way, so that a run a cut ended is asked again for the dice still
    /// owed (#19, item 3).
    run: Option<Run>,
    /// DONEs still to come from runs a newer command ended (their dice are not the run's).
    stale_dones: u32,
    /// The rest of a cut run, built at the board's new HELLO, to be sent.
    reask: Option<LinkCmd>,
    /// Whether a connection was asked for since start (the screen connects on first view).
    pub started: bool,
    /// Whether the first dice were rolled for this connection (a board's two HELLOs, at
    /// boot and when asked, once rolled twice and the second run ended the first).
    pub greeted: bool,
    /// Images received whole since the workshop progress was last written (it is written
    /// at each DONE, not at each image).
    pub unrecorded: u32,
    /// A classifier board's latest answer.
    pub classified: Option<crate::link::proto::Classified>,
    /// The 16x16 digit on the canvas: a test digit, or one drawn with the mouse.
    pub canvas: [u8; DIGIT_PIXELS],
    /// The canvas's label when it holds a dataset digit (`None` once drawn on).
    pub canvas_label: Option<u8>,
    /// Inputs to send (the template's: for digits, the test set, or the training digits
    /// without one), loaded on the first need; the error when there are none.
    pub digits: Option<Result<Samples, String>>,
    pub next_digit: usize,
    /// The CLASSIFY awaiting its RESULT: its tag and the digit's label if known.
    pub asked: Option<(u16, Option<u8>)>,
    /// The label of the digit the latest answer was about.
    pub answered_label: Option<u8>,
    /// Labelled digits answered, and how many of them right.
    pub tally: (u32, u32),
    next_tag: u16,
}

/// Pixels of a classifier's 16x16 input.
pub const DIGIT_PIXELS: usize = 256;

impl Default for MonitorView {
    fn default() -> Self {
        MonitorView {
            state: LinkState::Off,
            port: None,
            hello: None,
            other_model: None,
            gallery: VecDeque::new(),
            drawing: None,
            log: VecDeque::new(),
            style: PreviewStyle::HalfBlock,
            zoom: false,
            graphics: None,
            baud: 115_200,
            done_at: VecDeque::new(),
            bytes_at: VecDeque::new(),
            classified: None,
            canvas: [0; DIGIT_PIXELS],
            canvas_label: None,
            digits: None,
            next_digit: 0,
            asked: None,
            answered_label: None,
            tally: (0, 0),
            next_tag: 0,
            total_bytes: 0,
            damaged_frames: 0,
            last_cycles: None,
            stack_bytes: 0,
            board_memory: None,
            next_seed: 1,
            last_seed: None,
            seed_entry: None,
            seed_chosen: false,
            steps: 0,
            run: None,
            stale_dones: 0,
            reask: None,
            started: false,
            greeted: false,
            unrecorded: 0,
        }
    }
}

impl MonitorView {
    pub fn with_baud(baud: u32) -> MonitorView {
        MonitorView {
            baud,
            ..MonitorView::default()
        }
    }

    pub fn log(&mut self, line: impl Into<String>) {
        if self.log.len() == LOG_LINES {
            self.log.pop_front();
        }
        self.log.push_back(line.into());
    }

    /// Images finished per second over the last few seconds.
    pub fn fps(&self, now: Instant) -> f64 {
        let recent: Vec<Instant> = self
            .done_at
            .iter()
            .copied()
            .filter(|t| now.duration_since(*t) <= RATE_WINDOW)
            .collect();
        // From the first recent image to now: a burst of six dice 0.125 s apart reads 8 a
        // second as it ends, not six in the whole window (issue #18, item 5), and the
        // figure falls once the board goes quiet.
        let span = recent
            .first()
            .map_or(0.0, |first| now.duration_since(*first).as_secs_f64());
        if recent.len() >= 2 && span > 0.05 {
            (recent.len() - 1) as f64 / span
        } else {
            recent.len() as f64 / RATE_WINDOW.as_secs_f64()
        }
    }

    /// Bytes received per second over the last few seconds.
    pub fn bytes_per_second(&self, now: Instant) -> f64 {
        let n: u64 = self
            .bytes_at
            .iter()
            .filter(|(t, _)| now.duration_since(*t) <= RATE_WINDOW)
            .map(|(_, b)| b)
            .sum();
        n as f64 / RATE_WINDOW.as_secs_f64()
    }

    /// Share of the line rate in use (8N1: ten bits a byte).
    pub fn link_use(&self, now: Instant) -> f64 {
        self.bytes_per_second(now) * 10.0 / f64::from(self.baud.max(1))
    }

    /// A short status for the status bar.
    pub fn summary(&self) -> String {
        match &self.state {
            LinkState::Off => "board: not connected".into(),
            LinkState::Starting(what) => format!("board: {what}"),
            LinkState::Live => match &self.hello {
                Some(h) => format!("board: {} live", h.board.name()),
                None => "board: connected".into(),
            },
            LinkState::Disconnected(_) => "board: disconnected".into(),
            LinkState::Reconnecting(n) => format!("board: reconnecting ({n})"),
            LinkState::VersionError { board } => {
                format!("board: protocol {board}, need {PROTOCOL_VERSION}")
            }
            LinkState::Failed(_) => "board: failed to start".into(),
        }
    }

    /// One or two words for the status bar.
    pub fn short_state(&self) -> &'static str {
        match &self.state {
            LinkState::Off => "not connected",
            LinkState::Starting(_) => "starting",
            LinkState::Live if self.hello.is_some() => "live",
            LinkState::Live => "port open, no answer",
            LinkState::Disconnected(_) => "disconnected",
            LinkState::Reconnecting(_) => "reconnecting",
            LinkState::VersionError { .. } => "version error",
            LinkState::Failed(_) => "failed",
        }
    }

    /// Whether a GENERATE can go out now: a live board whose model draws images.
    pub fn can_generate(&self) -> bool {
        self.state == LinkState::Live
            && self.hello.is_some_and(|h| {
                h.image_h > 0
                    && matches!(
                        h.model_kind(),
                        Some(ModelKind::Generator | ModelKind::Diffusion)
                    )
            })
    }

    /// Whether the board runs a classifier, as its HELLO says.
    pub fn is_classifier(&self) -> bool {
        self.hello.and_then(|h| h.model_kind()) == Some(ModelKind::Classifier)
    }

    /// Whether a CLASSIFY can go out now.
    pub fn can_classify(&self) -> bool {
        self.state == LinkState::Live && self.is_classifier()
    }

    /// The command that classifies the canvas as it is.
    pub fn classify_canvas(&mut self) -> LinkCmd {
        let tag = self.next_tag;
        self.next_tag = self.next_tag.wrapping_add(1);
        self.asked = Some((tag, self.canvas_label));
        LinkCmd::Classify {
            tag,
            input: self.canvas.to_vec(),
        }
    }

    /// Puts the next dataset digit on the canvas and classifies it; `None` (with a log
    /// line) when there are no digits to send. `load` finds them the first time.
    pub fn classify_next_digit(
        &mut self,
        load: impl FnOnce() -> Result<Samples, String>,
    ) -> Option<LinkCmd> {
        if self.digits.is_none() {
            let loaded = load();
            match &loaded {
                Ok(d) => self.log(format!("{} digits to send: {}", d.labels.len(), d.source)),
                Err(e) => self.log(format!("no digits to send: {e}")),
            }
            self.digits = Some(loaded);
        }
        let Some(Ok(set)) = &self.digits else {
            return None;
        };
        if set.inputs.is_empty() {
            return None;
        }
        let i = self.next_digit % set.inputs.len();
        if set.inputs[i].len() != DIGIT_PIXELS {
            return None;
        }
        self.canvas.copy_from_slice(&set.inputs[i]);
        self.canvas_label = Some(set.labels[i]);
        self.next_digit = i + 1;
        Some(self.classify_canvas())
    }

    /// Paints (or, with `on` false, erases) canvas pixel `(x, y)` with a soft brush.
    pub fn paint(&mut self, x: usize, y: usize, on: bool) {
        const SIDE: usize = 16;
        if x >= SIDE || y >= SIDE {
            return;
        }
        self.canvas_label = None;
        if !on {
            self.canvas[y * SIDE + x] = 0;
            return;
        }
        self.canvas[y * SIDE + x] = 255;
        for (dx, dy) in [(-1i32, 0i32), (1, 0), (0, -1), (0, 1)] {
            let (nx, ny) = (x as i32 + dx, y as i32 + dy);
            if (0..SIDE as i32).contains(&nx) && (0..SIDE as i32).contains(&ny) {
                let v = &mut self.canvas[ny as usize * SIDE + nx as usize];
                *v = (*v).max(128);
            }
        }
    }

    pub fn clear_canvas(&mut self) {
        self.canvas = [0; DIGIT_PIXELS];
        self.canvas_label = None;
    }

    /// The command for one roll of the electronic die: a random pip count, a new seed.
    pub fn roll(&mut self, count: u16) -> LinkCmd {
        let seed = self.next_seed;
        self.last_seed = Some(seed);
        self.seed_chosen = false;
        self.next_seed = self
            .next_seed
            .wrapping_mul(1_103_515_245)
            .wrapping_add(12_345);
        // A diffusion board previews every step, so each die is seen forming.
        let (steps, preview) = if self.is_diffusion() {
            (self.run_steps(), 1)
        } else {
            (0, 0)
        };
        let cmd = LinkCmd::Generate {
            label: 0,
            count,
            seed,
            temperature: 32,
            first: 0,
            steps,
            preview,
        };
        if self.run.is_some() {
            // The board ends that run for this one: its DONE comes first.
            self.stale_dones += 1;
        }
        self.run = Some(Run {
            cmd: cmd.clone(),
            next: 0,
            cut: false,
        });
        cmd
    }

    /// The GENERATE for the rest of a run a cut ended, once the board is back.
    pub fn take_reask(&mut self) -> Option<LinkCmd> {
        let cmd = self.reask.take()?;
        if let LinkCmd::Generate { first, .. } = cmd {
            self.run = Some(Run {
                cmd: cmd.clone(),
                next: u32::from(first),
                cut: false,
            });
        }
        Some(cmd)
    }

    pub fn cycle_style(&mut self) {
        self.style = self.style.next(self.graphics.is_some());
    }

    /// How previews are drawn, in words: "half-block", "ASCII", "sixel", "kitty".
    pub fn style_name(&self) -> &'static str {
        match (self.style, self.graphics) {
            (PreviewStyle::HalfBlock, _) => "half-block",
            (PreviewStyle::Ascii, _) => "ASCII",
            (PreviewStyle::Graphics, Some(p)) => p.name(),
            (PreviewStyle::Graphics, None) => "graphics",
        }
    }

    /// The protocol images are drawn with now, if any.
    pub fn drawing_with(&self) -> Option<crate::graphics::Protocol> {
        self.graphics
            .filter(|_| self.style == PreviewStyle::Graphics)
    }

    pub fn on_event(&mut self, e: LinkEvent, now: Instant) {
        match e {
            LinkEvent::Connected { port } => {
                // A link that comes back: the board ends the run (after the die it is
                // drawing, and its DONE); the rest is asked for at its HELLO.
                if let Some(r) = &mut self.run {
                    r.cut = true;
                }
                self.log(format!("port {port} open"));
                self.hello = None;
                self.port = Some(port);
                self.state = LinkState::Live;
            }
            LinkEvent::Hello(h) => {
                // A board says HELLO at boot and again when asked: the same one twice on
                // a link is logged once.
                if self.hello != Some(h) {
                    self.log(format!(
                        "HELLO: {}, protocol {}, firmware {}.{}, model {:08x}",
                        h.board.name(),
                        h.protocol,
                        h.firmware >> 8,
                        h.firmware & 0xff,
                        h.model_hash
                    ));
                }
                self.hello = Some(h);
                if h.protocol == PROTOCOL_VERSION {
                    self.state = LinkState::Live;
                    if let Some(r) = self.run.take_if(|r| r.cut) {
                        self.stale_dones = 0;
                        self.reask = r.rest();
                        if h.firmware < crate::link::proto::FIRMWARE_RESUMES
                            && let Some(LinkCmd::Generate { first, count, .. }) = self.reask.take()
                        {
                            self.log(format!(
                                "firmware {}.{} cannot resume a run: dice {} to {} were not \
                                 drawn",
                                h.firmware >> 8,
                                h.firmware & 0xff,
                                first + 1,
                                u32::from(first) + u32::from(count)
                            ));
                        }
                        if let Some(LinkCmd::Generate { first, count, .. }) = &self.reask {
                            self.log(format!(
                                "reconnected: asking again for dice {} to {}",
                                first + 1,
                                u32::from(*first) + u32::from(*count)
                            ));
                        }
                    }
                }
            }
            LinkEvent::Rows(r) => {
                let continues = self
                    .drawing
                    .as_ref()
                    .is_some_and(|d| d.index == r.index && d.rows == usize::from(r.first_row));
                if !continues {
                    self.drawing = (r.first_row == 0).then(|| Drawing {
                        index: r.index,
                        label: r.label,
                        width: usize::from(r.width),
                        rows: 0,
                        pixels: Vec::new(),
                        step: None,
                    });
                }
                if let Some(d) = &mut self.drawing {
                    d.pixels.extend_from_slice(&r.data);
                    d.rows += usize::from(r.rows);
                }
            }
            LinkEvent::Step(s) => {
                self.drawing = Some(Drawing {
                    index: s.index,
                    label: s.label,
                    width: usize::from(s.width),
                    rows: usize::from(s.height),
                    pixels: s.pixels,
                    step: Some((s.step, s.steps)),
                });
            }
            LinkEvent::Image(img) => {
                self.drawing = None;
                if let Some(r) = self.run.as_mut().filter(|_| self.stale_dones == 0) {
                    r.next = r.next.max(u32::from(img.index) + 1);
                }
                if self.gallery.len() == GALLERY {
                    self.gallery.pop_front();
                }
                self.gallery.push_back(img);
                self.done_at.push_back(now);
                while self.done_at.len() > 64 {
                    self.done_at.pop_front();
                }
            }
            LinkEvent::Incomplete { index, rows } => {
                self.drawing = None;
                self.log(if rows == 0 {
                    format!(
                        "die {} lost: its first rows never arrived",
                        u32::from(index) + 1
                    )
                } else {
                    format!(
                        "die {} cut off after {rows} rows; not kept",
                        u32::from(index) + 1
                    )
                });
            }
            LinkEvent::Stats(s) => {
                if s.cycles > 0 {
                    self.last_cycles = Some(s.cycles);
                }
                self.stack_bytes = self.stack_bytes.max(s.stack_bytes);
                if s.memory.is_some() {
                    self.board_memory = s.memory;
                }
            }
            LinkEvent::Log(t) => self.log(format!("board: {t}")),
            LinkEvent::BoardError { code, text } => self.log(format!("board error {code}: {text}")),
            LinkEvent::Done { .. } => {
                if self.stale_dones > 0 {
                    self.stale_dones -= 1;
                } else if !self.run.as_ref().is_some_and(|r| r.cut) {
                    // (A cut run's DONE keeps it, to be asked again.)
                    self.run = None;
                }
            }
            LinkEvent::Ack { .. } => {}
            LinkEvent::Classified(r) => {
                if r.cycles > 0 {
                    self.last_cycles = Some(r.cycles);
                }
                self.stack_bytes = self.stack_bytes.max(r.stack_bytes);
                let label = match self.asked {
                    Some((tag, label)) if tag == r.tag => {
                        self.asked = None;
                        label
                    }
                    _ => None,
                };
                if let Some(l) = label {
                    self.tally.0 += 1;
                    self.tally.1 += u32::from(l == r.class);
                }
                self.answered_label = label;
                self.log(match label {
                    Some(l) => format!(
                        "board says {} for a {l}{} ({} counted)",
                        r.class,
                        if l == r.class { "" } else { " (wrong)" },
                        r.cycles
                    ),
                    None => format!(
                        "board says {} for the drawing ({} counted)",
                        r.class, r.cycles
                    ),
                });
                self.classified = Some(r);
            }
            LinkEvent::Garbage { frames } => {
                self.damaged_frames += u64::from(frames);
                self.log(format!("{frames} damaged frame(s) skipped"));
            }
            LinkEvent::Traffic { bytes } => {
                self.total_bytes += bytes;
                self.bytes_at.push_back((now, bytes));
                while self.bytes_at.len() > 256 {
                    self.bytes_at.pop_front();
                }
            }
            LinkEvent::Disconnected { reason } => {
                self.drawing = None;
                self.log(format!("disconnected: {reason}"));
                self.state = LinkState::Disconnected(reason);
            }
            LinkEvent::Reconnecting { attempt } => self.state = LinkState::Reconnecting(attempt),
            LinkEvent::VersionMismatch { board, host } => {
                self.log(format!(
                    "the board speaks protocol {board}, tinygen {host}: update its firmware"
                ));
                self.state = LinkState::VersionError { board };
            }
            LinkEvent::HashMismatch { board, expected } => {
                self.other_model = Some((board, expected));
                self.log(format!(
                    "the board runs model {board:08x}, not this project's {expected:08x}; flash it"
                ));
            }
            LinkEvent::Closed => {
                self.state = LinkState::Off;
                self.drawing = None;
            }
        }
    }

    /// The latest dice as one grey grid (for a PNG), or `None` without any.
    pub fn gallery_png(&self) -> Option<(Vec<u8>, usize, usize)> {
        let first = self.gallery.front()?;
        let labels: Vec<String> = self.gallery.iter().map(|i| i.label.to_string()).collect();
        let refs: Vec<(&str, &[u8])> = self
            .gallery
            .iter()
            .zip(&labels)
            .map(|(i, l)| (l.as_str(), i.pixels.as_slice()))
            .collect();
        Some(crate::preview::sheet(
            &refs,
            first.width,
            first.height,
            6,
            4,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::proto::BoardId;

    fn hello(protocol: u8) -> Hello {
        Hello {
            protocol,
            board: BoardId::Sim,
            firmware: 0x0101,
            model_hash: 7,
            max_frame: 32,
            arena_bytes: 544,
            image_h: 32,
            image_w: 32,
            latent: 2,
            classes: 6,
            kind: None,
            steps: 0,
            arena32: None,
        }
    }

    #[test]
    fn states_follow_the_link() {
        let now = Instant::now();
        let mut m = MonitorView::default();
        assert_eq!(m.summary(), "board: not connected");
        m.on_event(
            LinkEvent::Connected {
                port: "/dev/pts/9".into(),
            },
            now,
        );
        m.on_event(LinkEvent::Hello(hello(1)), now);
        assert!(m.can_generate());
        m.on_event(
            LinkEvent::Disconnected {
                reason: "EIO".into(),
            },
            now,
        );
        assert!(!m.can_generate());
        m.on_event(LinkEvent::Reconnecting { attempt: 3 }, now);
        assert_eq!(m.summary(), "board: reconnecting (3)");
        m.on_event(LinkEvent::Hello(hello(9)), now);
        m.on_event(LinkEvent::VersionMismatch { board: 9, host: 1 }, now);
        assert_eq!(m.state, LinkState::VersionError { board: 9 });
        assert!(!m.can_generate());
    }

    #[test]
    fn the_largest_index_a_board_sends_is_counted_not_overflowed() {
        // #19, item 1: `index + 1` overflowed (a panic in debug builds) at 65535.
        let mut m = MonitorView::with_baud(115_200);
        m.on_event(
            LinkEvent::Incomplete {
                index: u16::MAX,
                rows: 2,
            },
            Instant::now(),
        );
        assert!(
            m.log.back().unwrap().contains("die 65536 cut off"),
            "{:?}",
            m.log
        );
    }

    #[test]
    fn a_cut_image_never_reaches_the_gallery() {
        let now = Instant::now();
        let mut m = MonitorView::default();
        m.on_event(
            LinkEvent::Rows(crate::link::proto::ImageRows {
                index: 0,
                label: 3,
                first_row: 0,
                rows: 8,
                width: 32,
                data: vec![9; 256],
            }),
            now,
        );
        assert_eq!(m.drawing.as_ref().map(|d| d.rows), Some(8));
        m.on_event(LinkEvent::Incomplete { index: 0, rows: 8 }, now);
        assert!(m.drawing.is_none());
        assert!(m.gallery.is_empty());
        assert!(m.log.back().unwrap().contains("cut off"));
    }

    #[test]
    fn rates_and_rolls() {
        let now = Instant::now();
        let mut m = MonitorView::default();
        // Regression (issue #18, item 5): six dice 0.125 s apart are 8 a second.
        let start = now - Duration::from_millis(625);
        m.done_at = (0..6)
            .map(|k| start + Duration::from_millis(125 * k))
            .collect();
        assert!((m.fps(now) - 8.0).abs() < 1e-6, "{}", m.fps(now));
        m.done_at.clear();
        m.on_event(LinkEvent::Traffic { bytes: 3456 }, now);
        assert!((m.bytes_per_second(now) - 1152.0).abs() < 1e-9);
        assert!((m.link_use(now) - 0.1).abs() < 1e-9);
        let a = m.roll(1);
        let b = m.roll(1);
        assert_ne!(a, b, "each roll uses a new seed");
        m.cycle_style();
        assert_eq!(m.style, PreviewStyle::Ascii);
        m.cycle_style();
        assert_eq!(
            m.style,
            PreviewStyle::HalfBlock,
            "no sixel unless the terminal has it"
        );
    }
}
