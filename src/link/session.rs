//! A board session: a worker thread that owns the serial port, turns frames into
//! [`LinkEvent`]s, assembles image rows into whole images, and reconnects when the board
//! goes away. Commands go in over a channel; events come out through a callback, so the
//! TUI and the CLI consume them the same way.

use super::frame::{Decoder, FrameError};
use super::proto::{Classified, Hello, ImageRows, Msg, PROTOCOL_VERSION, Stats};
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
mod tests {
    use super::*;
    use crate::link::proto::{BoardId, ImageRows};
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};

    /// A port whose incoming bytes the test queues and whose outgoing bytes it reads; an
    /// empty queue reads as a serial timeout, and `cut` makes the next read fail.
    #[derive(Clone, Default)]
    struct FakePort {
        incoming: Arc<Mutex<VecDeque<u8>>>,
        outgoing: Arc<Mutex<Vec<u8>>>,
        cut: Arc<Mutex<bool>>,
    }

    impl FakePort {
        fn push(&self, m: &Msg) {
            self.incoming.lock().unwrap().extend(m.encode());
        }
        /// What the host sent, once it has sent at least `n` frames (or after 5 s).
        fn sent_at_least(&self, n: usize) -> Vec<Msg> {
            let deadline = Instant::now() + Duration::from_secs(5);
            while self.sent().len() < n && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            self.sent()
        }
        fn sent(&self) -> Vec<Msg> {
            let bytes = self.outgoing.lock().unwrap().clone();
            Decoder::new()
                .feed(&bytes)
                .into_iter()
                .filter_map(|f| Msg::decode(&f.ok()?).ok())
                .collect()
        }
    }

    impl Read for FakePort {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if std::mem::take(&mut *self.cut.lock().unwrap()) {
                return Err(std::io::Error::other("the cable was pulled"));
            }
            crate::link::testing::read_queued(&self.incoming, buf)
        }
    }

    impl Write for FakePort {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.outgoing.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn hello(hash: u32) -> Hello {
        Hello {
            protocol: PROTOCOL_VERSION,
            board: BoardId::Sim,
            firmware: 0x0100,
            model_hash: hash,
            max_frame: 32,
            arena_bytes: 544,
            image_h: 4,
            image_w: 2,
            latent: 2,
            classes: 6,
            kind: Some(crate::spec::ModelKind::Generator),
        }
    }

    fn rows(index: u16, first_row: u8, n: u8) -> Msg {
        Msg::Image(ImageRows {
            index,
            label: 3,
            first_row,
            rows: n,
            width: 2,
            data: vec![first_row; usize::from(n) * 2],
        })
    }

    /// A session on the fake port, its events, and how many times it was opened.
    fn start(
        port: &FakePort,
        expected: Option<u32>,
    ) -> (Session, mpsc::Receiver<LinkEvent>, Arc<Mutex<u32>>) {
        let opened = Arc::new(Mutex::new(0));
        let (p, o) = (port.clone(), opened.clone());
        let opener: Opener = Box::new(move || {
            *o.lock().unwrap() += 1;
            Ok(Box::new(p.clone()) as Box<dyn Port>)
        });
        let (tx, rx) = mpsc::channel();
        let s = Session::start("fake".into(), opener, expected, move |e| {
            let _ = tx.send(e);
        });
        (s, rx, opened)
    }

    /// The events until `stop` accepts one (which is included), or a timeout.
    fn until(rx: &mpsc::Receiver<LinkEvent>, stop: impl Fn(&LinkEvent) -> bool) -> Vec<LinkEvent> {
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(e) = rx.recv_timeout(Duration::from_millis(20)) {
                let done = stop(&e);
                seen.push(e);
                if done {
                    return seen;
                }
            }
        }
        panic!("timed out; events: {seen:?}");
    }

    #[test]
    fn it_greets_assembles_images_and_sends_commands() {
        let port = FakePort::default();
        let (s, rx, _) = start(&port, Some(7));
        until(&rx, |e| matches!(e, LinkEvent::Connected { .. }));
        assert_eq!(
            port.sent_at_least(1),
            vec![Msg::HelloReq],
            "a HELLO is asked for first"
        );
        // A board with another model is reported, not trusted silently.
        port.push(&Msg::Hello(hello(9)));
        let seen = until(&rx, |e| matches!(e, LinkEvent::HashMismatch { .. }));
        assert!(matches!(
            seen.last(),
            Some(LinkEvent::HashMismatch {
                board: 9,
                expected: 7
            })
        ));
        // Two frames of two rows make a whole 4-row image.
        port.push(&rows(0, 0, 2));
        port.push(&rows(0, 2, 2));
        let seen = until(&rx, |e| matches!(e, LinkEvent::Image(_)));
        let Some(LinkEvent::Image(img)) = seen.last() else {
            unreachable!()
        };
        assert_eq!((img.width, img.height), (2, 4));
        assert_eq!(img.pixels, vec![0, 0, 0, 0, 2, 2, 2, 2]);
        // Commands go out as frames after a lone delimiter.
        s.send(LinkCmd::Generate {
            label: 2,
            count: 1,
            seed: 5,
            temperature: 32,
            first: 0,
        });
        assert_eq!(
            port.sent_at_least(2)[1],
            Msg::Generate {
                label: 2,
                count: 1,
                seed: 5,
                temperature: 32,
                first: 0,
            }
        );
    }

    /// #19, item 3: a die whose first frame was lost vanished without a word.
    #[test]
    fn an_image_whose_first_rows_were_lost_is_reported_once() {
        let port = FakePort::default();
        let (_s, rx, _) = start(&port, None);
        port.push(&Msg::Hello(hello(1)));
        until(&rx, |e| matches!(e, LinkEvent::Hello(_)));
        port.push(&rows(5, 2, 1));
        port.push(&rows(5, 3, 1));
        port.push(&rows(6, 0, 2));
        port.push(&rows(6, 2, 2));
        let seen = until(&rx, |e| matches!(e, LinkEvent::Image(_)));
        let lost: Vec<_> = seen
            .iter()
            .filter(|e| matches!(e, LinkEvent::Incomplete { .. }))
            .collect();
        assert!(
            matches!(lost[..], [LinkEvent::Incomplete { index: 5, rows: 0 }]),
            "{seen:?}"
        );
        assert!(matches!(seen.last(), Some(LinkEvent::Image(i)) if i.index == 6));
    }

    #[test]
    fn damage_and_gaps_are_never_a_whole_image() {
        let port = FakePort::default();
        let (_s, rx, _) = start(&port, None);
        port.push(&Msg::Hello(hello(1)));
        until(&rx, |e| matches!(e, LinkEvent::Hello(_)));
        // Rows 0-1, then a damaged frame: the image is cut off, the garbage counted.
        port.push(&rows(0, 0, 2));
        let mut bad = rows(0, 2, 2).encode();
        bad[3] ^= 0x55;
        port.incoming.lock().unwrap().extend(bad);
        let seen = until(&rx, |e| matches!(e, LinkEvent::Incomplete { .. }));
        assert!(matches!(
            seen.last(),
            Some(LinkEvent::Incomplete { index: 0, rows: 2 })
        ));
        // A later image that skips a row is cut off too; the next whole one arrives.
        port.push(&rows(1, 0, 2));
        port.push(&rows(1, 3, 1));
        port.push(&rows(2, 0, 2));
        port.push(&rows(2, 2, 2));
        let seen = until(&rx, |e| matches!(e, LinkEvent::Image(_)));
        let cut_1 = seen
            .iter()
            .filter(|e| matches!(e, LinkEvent::Incomplete { index: 1, .. }))
            .count();
        assert_eq!(cut_1, 1, "image 1 is said cut off once: {seen:?}");
        assert!(matches!(seen.last(), Some(LinkEvent::Image(i)) if i.index == 2));
        let seen = until(&rx, |e| matches!(e, LinkEvent::Garbage { .. }));
        assert!(matches!(
            seen.last(),
            Some(LinkEvent::Garbage { frames: 1 })
        ));
    }

    /// #19, item 1: a board's nonsense (index 65535, rows that do not add up, a width
    /// other than its HELLO's, no pixels) is a damaged frame, never a die or a panic.
    #[test]
    fn a_boards_nonsense_is_refused_not_shown() {
        let port = FakePort::default();
        let (_s, rx, _) = start(&port, None);
        port.push(&Msg::Hello(hello(1)));
        until(&rx, |e| matches!(e, LinkEvent::Hello(_)));
        let bad = |index, width, rows, data: Vec<u8>| {
            Msg::Image(ImageRows {
                index,
                label: 3,
                first_row: 0,
                rows,
                width,
                data,
            })
        };
        port.push(&bad(7, 3, 2, vec![1; 6])); // not the HELLO's width
        port.push(&bad(7, 2, 2, vec![1; 3])); // fewer bytes than its rows
        port.push(&bad(7, 0, 0, vec![])); // no pixels at all
        let mut seen = until(&rx, |e| matches!(e, LinkEvent::Garbage { .. }));
        while !seen
            .iter()
            .filter_map(|e| match e {
                LinkEvent::Garbage { frames } => Some(*frames),
                _ => None,
            })
            .sum::<u32>()
            .ge(&3)
        {
            seen.extend(until(&rx, |e| matches!(e, LinkEvent::Garbage { .. })));
        }
        assert!(
            !seen.iter().any(|e| matches!(e, LinkEvent::Image(_))),
            "{seen:?}"
        );
        // The largest index still makes a whole image, and one cut off is said.
        port.push(&rows(u16::MAX, 0, 2));
        port.push(&rows(u16::MAX, 2, 2));
        let seen = until(&rx, |e| matches!(e, LinkEvent::Image(_)));
        assert!(matches!(seen.last(), Some(LinkEvent::Image(i)) if i.index == u16::MAX));
    }

    #[test]
    fn a_cut_link_is_reported_and_reopened() {
        let port = FakePort::default();
        let (_s, rx, opened) = start(&port, None);
        until(&rx, |e| matches!(e, LinkEvent::Connected { .. }));
        port.push(&Msg::Hello(hello(1)));
        port.push(&rows(0, 0, 2));
        until(&rx, |e| matches!(e, LinkEvent::Rows(_)));
        *port.cut.lock().unwrap() = true;
        let seen = until(&rx, |e| matches!(e, LinkEvent::Connected { .. }));
        assert!(
            seen.iter()
                .any(|e| matches!(e, LinkEvent::Incomplete { index: 0, rows: 2 })),
            "the half image is reported cut off: {seen:?}"
        );
        assert!(
            seen.iter().any(
                |e| matches!(e, LinkEvent::Disconnected { reason } if reason.contains("pulled"))
            )
        );
        assert_eq!(*opened.lock().unwrap(), 2, "the port was opened again");
        // The board is asked for its HELLO again on the new connection.
        let hellos = |m: &Vec<Msg>| m.iter().filter(|m| **m == Msg::HelloReq).count();
        let deadline = Instant::now() + Duration::from_secs(5);
        while hellos(&port.sent()) < 2 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(hellos(&port.sent()), 2);
    }
}
