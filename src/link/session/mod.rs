//! A board session: a worker thread that owns the serial port, turns frames into
//! [`LinkEvent`]s, assembles image rows into whole images, and reconnects when the board
//! goes away. Commands go in over a channel; events come out through a callback, so the
//! TUI and the CLI consume them the same way.

use super::frame::{Decoder, FrameError};
use super::proto::{Classified, Hello, ImageRows, Msg, PROTOCOL_VERSION, Stats, StepPreview};
use std::io::{ErrorKind, Read, Write};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A finished image: every row arrived, in order, each in a frame that passed its CRC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub index: u16,
    pub label: u8,
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LinkEvent {
    /// The port is open; a HELLO has been asked for.
    Connected {
        port: String,
    },
    Hello(Hello),
    /// Rows of the image being drawn (for a live preview; not yet an image).
    Rows(ImageRows),
    Image(Image),
    /// An image that stopped part-way (a lost frame, a cut cable); it is not shown as done.
    Incomplete {
        index: u16,
        rows: usize,
    },
    Stats(Stats),
    Log(String),
    BoardError {
        code: u8,
        text: String,
    },
    Done {
        count: u16,
    },
    /// Damaged frames seen since the last report (garbage on the line).
    Garbage {
        frames: u32,
    },
    /// Raw bytes received since the last report.
    Traffic {
        bytes: u64,
    },
    Disconnected {
        reason: String,
    },
    Reconnecting {
        attempt: u32,
    },
    VersionMismatch {
        board: u8,
        host: u8,
    },
    HashMismatch {
        board: u32,
        expected: u32,
    },
    /// The board acknowledged message `what` (uploads: the next offset it expects).
    Ack {
        what: u8,
        next: u32,
    },
    /// A classifier's answer.
    Classified(Classified),
    /// A diffusion step's preview of the image being drawn (checked against HELLO).
    Step(StepPreview),
    /// The session has ended (asked to quit).
    Closed,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LinkCmd {
    Generate {
        label: u8,
        count: u16,
        seed: u32,
        temperature: u8,
        /// The index of the first image: 0 for a new run, the first one still owed when
        /// a run is asked again after a cut.
        first: u16,
        /// A diffusion model's sampling steps (0: its default) and preview cadence (a STEP
        /// every that many steps; 0: none). Both 0 for other models.
        steps: u8,
        preview: u8,
    },
    Stop,
    /// Classify one input (a classifier board).
    Classify {
        tag: u16,
        input: Vec<u8>,
    },
    /// Bytes sent as they are (tests use it to put garbage on the line).
    Raw(Vec<u8>),
    Quit,
}

/// Anything the session can talk through: a serial port, or a test double.
pub trait Port: Read + Write + Send {}
impl<T: Read + Write + Send> Port for T {}

/// How to (re)open the port.
pub type Opener = Box<dyn FnMut() -> std::io::Result<Box<dyn Port>> + Send>;

/// Opens `path` as a serial port at `baud`, with a short read timeout.
pub fn serial_opener(path: String, baud: u32) -> Opener {
    Box::new(move || {
        let p = serialport::new(&path, baud)
            .timeout(Duration::from_millis(20))
            .open_native()
            .map_err(|e| std::io::Error::other(format!("{path}: {e}")))?;
        Ok(Box::new(p) as Box<dyn Port>)
    })
}

pub struct Session {
    commands: Sender<LinkCmd>,
    thread: Option<JoinHandle<()>>,
}

impl Session {
    /// Starts the worker. `expected_hash` is the model the host believes is flashed; a
    /// board running another is reported (HashMismatch), not silently used.
    pub fn start(
        name: String,
        opener: Opener,
        expected_hash: Option<u32>,
        sink: impl FnMut(LinkEvent) + Send + 'static,
    ) -> Session {
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("tinygen-link".into())
            .spawn(move || Worker::new(name, opener, expected_hash, rx, sink).run())
            .expect("spawning the link thread");
        Session {
            commands: tx,
            thread: Some(thread),
        }
    }

    pub fn send(&self, cmd: LinkCmd) {
        let _ = self.commands.send(cmd);
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.commands.send(LinkCmd::Quit);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Partial {
    index: u16,
    label: u8,
    width: usize,
    next_row: usize,
    pixels: Vec<u8>,
}

struct Worker<F: FnMut(LinkEvent)> {
    name: String,
    opener: Opener,
    expected_hash: Option<u32>,
    commands: Receiver<LinkCmd>,
    sink: F,
    hello: Option<Hello>,
    partial: Option<Partial>,
    /// The image whose first rows never came, already reported as lost.
    lost: Option<u16>,
    garbage: u32,
    traffic: u64,
    last_report: Instant,
}

enum Step {
    Continue,
    Quit,
}

impl<F: FnMut(LinkEvent)> Worker<F> {
    fn new(
        name: String,
        opener: Opener,
        expected_hash: Option<u32>,
        commands: Receiver<LinkCmd>,
        sink: F,
    ) -> Self {
        Worker {
            name,
            opener,
            expected_hash,
            commands,
            sink,
            hello: None,
            partial: None,
            lost: None,
            garbage: 0,
            traffic: 0,
            last_report: Instant::now(),
        }
    }

    fn run(mut self) {
        let mut attempt = 0u32;
        loop {
            match (self.opener)() {
                Ok(port) => {
                    attempt = 0;
                    (self.sink)(LinkEvent::Connected {
                        port: self.name.clone(),
                    });
                    if let Step::Quit = self.serve(port) {
                        break;
                    }
                }
                Err(e) => {
                    if attempt == 0 {
                        (self.sink)(LinkEvent::Disconnected {
                            reason: e.to_string(),
                        });
                    }
                    attempt += 1;
                    (self.sink)(LinkEvent::Reconnecting { attempt });
                    // Wait before the next try, but answer Quit at once.
                    match self.commands.recv_timeout(Duration::from_millis(400)) {
                        Ok(LinkCmd::Quit) | Err(RecvTimeoutError::Disconnected) => break,
                        _ => {}
                    }
                }
            }
        }
        (self.sink)(LinkEvent::Closed);
    }

    fn serve(&mut self, mut port: Box<dyn Port>) -> Step {
        let mut decoder = Decoder::new();
        self.hello = None;
        let mut hello = vec![0];
        hello.extend(Msg::HelloReq.encode());
        if let Err(e) = port.write_all(&hello) {
            return self.lost(e.to_string());
        }
        let mut buf = [0u8; 1024];
        loop {
            loop {
                match self.commands.try_recv() {
                    Ok(LinkCmd::Quit) | Err(TryRecvError::Disconnected) => return Step::Quit,
                    Ok(cmd) => {
                        if let Some(bytes) = self.command_bytes(cmd)
                            && let Err(e) = port.write_all(&bytes).and_then(|_| port.flush())
                        {
                            return self.lost(e.to_string());
                        }
                    }
                    Err(TryRecvError::Empty) => break,
                }
            }
            match port.read(&mut buf) {
                Ok(0) => return self.lost("the port closed".into()),
                Ok(n) => {
                    self.traffic += n as u64;
                    for r in decoder.feed(&buf[..n]) {
                        match r {
                            Ok(f) => match Msg::decode(&f) {
                                Ok(m) => self.on_msg(m),
                                Err(_) => self.garbage += 1,
                            },
                            Err(FrameError::Crc { .. } | FrameError::Cobs { .. })
                            | Err(FrameError::TooLong) => {
                                self.garbage += 1;
                                self.drop_partial();
                            }
                        }
                    }
                }
                Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return self.lost(e.to_string()),
            }
            self.report(false);
        }
    }

    /// The bytes of a command. Each frame is sent after a lone delimiter, which ends any
    /// garbage the board holds, so the command itself always arrives whole.
    fn command_bytes(&mut self, cmd: LinkCmd) -> Option<Vec<u8>> {
        let frame = match cmd {
            LinkCmd::Generate {
                label,
                count,
                seed,
                temperature,
                first,
                steps,
                preview,
            } => {
                if let Some(h) = self.hello
                    && h.protocol != PROTOCOL_VERSION
                {
                    (self.sink)(LinkEvent::VersionMismatch {
                        board: h.protocol,
                        host: PROTOCOL_VERSION,
                    });
                    return None;
                }
                Some(
                    Msg::Generate {
                        label,
                        count,
                        seed,
                        temperature,
                        first,
                        steps,
                        preview,
                    }
                    .encode(),
                )
            }
            LinkCmd::Stop => Some(Msg::Stop.encode()),
            LinkCmd::Classify { tag, input } => Some(Msg::Classify { tag, input }.encode()),
            LinkCmd::Raw(b) => return Some(b),
            LinkCmd::Quit => None,
        }?;
        let mut bytes = vec![0];
        bytes.extend(frame);
        Some(bytes)
    }

    fn lost(&mut self, reason: String) -> Step {
        self.report(true);
        self.drop_partial();
        (self.sink)(LinkEvent::Disconnected { reason });
        Step::Continue
    }

    fn report(&mut self, now: bool) {
        if !now && self.last_report.elapsed() < Duration::from_millis(200) {
            return;
        }
        self.last_report = Instant::now();
        if self.garbage > 0 {
            (self.sink)(LinkEvent::Garbage {
                frames: std::mem::take(&mut self.garbage),
            });
        }
        if self.traffic > 0 {
            (self.sink)(LinkEvent::Traffic {
                bytes: std::mem::take(&mut self.traffic),
            });
        }
    }

    fn drop_partial(&mut self) {
        if let Some(p) = self.partial.take() {
            (self.sink)(LinkEvent::Incomplete {
                index: p.index,
                rows: p.next_row,
            });
        }
    }

    fn on_msg(&mut self, m: Msg) {
        match m {
            Msg::Hello(h) => {
                self.hello = Some(h);
                (self.sink)(LinkEvent::Hello(h));
                if h.protocol != PROTOCOL_VERSION {
                    (self.sink)(LinkEvent::VersionMismatch {
                        board: h.protocol,
                        host: PROTOCOL_VERSION,
                    });
                } else if let Some(expected) = self.expected_hash
                    && expected != h.model_hash
                {
                    (self.sink)(LinkEvent::HashMismatch {
                        board: h.model_hash,
                        expected,
                    });
                }
            }
            Msg::Image(r) => {
                self.on_rows(&r);
                (self.sink)(LinkEvent::Rows(r));
                self.finish_if_whole();
            }
            Msg::Stats(s) => (self.sink)(LinkEvent::Stats(s)),
            Msg::Log(t) => (self.sink)(LinkEvent::Log(t)),
            Msg::Error { code, text } => {
                let text = if text.is_empty() {
                    super::proto::error_meaning(code).to_string()
                } else {
                    text
                };
                (self.sink)(LinkEvent::BoardError { code, text })
            }
            Msg::Done { count } => {
                self.drop_partial();
                self.report(true); // the traffic so far belongs before the end
                (self.sink)(LinkEvent::Done { count });
            }
            Msg::Ack { what, next } => (self.sink)(LinkEvent::Ack { what, next }),
            Msg::Result(r) => (self.sink)(LinkEvent::Classified(r)),
            Msg::Step(s) => {
                // The board's word again: a preview must be the image HELLO describes.
                let sane = s.height > 0
                    && s.width > 0
                    && s.step < s.steps
                    && self.hello.is_none_or(|h| {
                        (h.image_w == 0 || h.image_w == s.width)
                            && (h.image_h == 0 || h.image_h == s.height)
                    });
                if sane {
                    (self.sink)(LinkEvent::Step(s));
                } else {
                    self.garbage += 1;
                }
            }
            // Host-to-board messages echoed back mean a loop or a confused peer.
            Msg::HelloReq
            | Msg::Generate { .. }
            | Msg::Stop
            | Msg::UploadBegin { .. }
            | Msg::UploadChunk { .. }
            | Msg::UploadEnd
            | Msg::Classify { .. } => self.garbage += 1,
        }
    }

    fn on_rows(&mut self, r: &ImageRows) {
        // Every field is the board's word: rows that do not add up, or that disagree with
        // its own HELLO, are a damaged frame, never a die (#19, item 1).
        let width = usize::from(r.width);
        let sane = width > 0
            && r.rows > 0
            && r.data.len() == width * usize::from(r.rows)
            && self.hello.is_none_or(|h| {
                (h.image_w == 0 || usize::from(h.image_w) == width)
                    && (h.image_h == 0 || usize::from(r.first_row) < usize::from(h.image_h))
            });
        if !sane {
            self.garbage += 1;
            return;
        }
        let continues = self
            .partial
            .as_ref()
            .is_some_and(|p| p.index == r.index && p.next_row == usize::from(r.first_row));
        if !continues {
            if self.partial.as_ref().is_some_and(|p| p.index == r.index) {
                // A gap inside an image: reported as cut off just below, once.
                self.lost = Some(r.index);
            }
            self.drop_partial();
            if r.first_row != 0 {
                // Its first frame was lost (or we joined mid-image): say so once, as a
                // cut-off image with no rows, rather than let it vanish (#19, item 3).
                if self.lost != Some(r.index) {
                    self.lost = Some(r.index);
                    (self.sink)(LinkEvent::Incomplete {
                        index: r.index,
                        rows: 0,
                    });
                }
                return;
            }
            self.partial = Some(Partial {
                index: r.index,
                label: r.label,
                width: usize::from(r.width),
                next_row: 0,
                pixels: Vec::new(),
            });
        }
        let p = self.partial.as_mut().expect("just set");
        if p.width != usize::from(r.width) {
            self.drop_partial();
            return;
        }
        p.pixels.extend_from_slice(&r.data);
        p.next_row += usize::from(r.rows);
    }

    fn finish_if_whole(&mut self) {
        let height = self.hello.map_or(0, |h| usize::from(h.image_h));
        if height == 0 {
            return;
        }
        if self.partial.as_ref().is_some_and(|p| p.next_row >= height) {
            let p = self.partial.take().expect("checked");
            if p.next_row == height && !p.pixels.is_empty() && p.pixels.len() == p.width * height {
                (self.sink)(LinkEvent::Image(Image {
                    index: p.index,
                    label: p.label,
                    width: p.width,
                    height,
                    pixels: p.pixels,
                }));
            } else {
                (self.sink)(LinkEvent::Incomplete {
                    index: p.index,
                    rows: p.next_row,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests;
