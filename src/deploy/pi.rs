//! The Raspberry Pi: the runner (`firmware-stub/pi/runner.c`, built with
//! `aarch64-linux-gnu-gcc`) and the model upload over its serial link. The upload is
//! stop-and-wait: each chunk travels in a CRC-checked frame and is acknowledged with the
//! next offset the runner expects; a lost or damaged chunk is sent again, and a cut link
//! starts the upload over once the runner is back (it keeps its old model meanwhile). The
//! upload counts as done only when the runner says HELLO with the new model's hash.

use crate::link::proto::{Msg, kind};
use crate::link::session::{LinkCmd, LinkEvent, Session};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

pub const QEMU_AARCH64: &str = "qemu-aarch64";

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum UploadError {
    #[error("the runner did not answer within {0} s; is it running on that port?")]
    NoAnswer(u64),
    #[error("the runner refused the upload: {0}")]
    Refused(String),
    #[error(
        "the upload did not verify: the runner reports model {board:08x}, expected {expected:08x}"
    )]
    Verify { board: u32, expected: u32 },
    #[error("gave up after {0} tries; the runner keeps its previous model")]
    GaveUp(u32),
    #[error("cancelled; the runner keeps its previous model")]
    Cancelled,
    #[error(
        "cancelled after the runner took the whole upload: it likely runs the new model; \
         'tinygen monitor' shows which"
    )]
    CancelledAfterUpload,
}

/// Where an upload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadProgress {
    pub sent: u64,
    pub total: u64,
    /// 1 for the first attempt; higher after the link was cut.
    pub attempt: u32,
}

/// The command that runs the aarch64 runner here, under qemu user mode, on its own pty.
pub fn qemu_runner_command(runner: &Path, dir: &Path) -> Command {
    let mut c = Command::new(QEMU_AARCH64);
    c.arg("-L")
        .arg("/usr/aarch64-linux-gnu")
        .arg(runner)
        .arg("--pty")
        .arg(dir);
    c
}

const STEP: Duration = Duration::from_secs(3);
/// ERROR codes (docs/protocol.md).
const ERR_BAD_FRAME: u8 = 1;
const ERR_BAD_ARGS: u8 = 3;
const ERR_UPLOAD: u8 = 6;
const ERR_STORAGE: u8 = 7;
const TRIES: u32 = 5;

/// Uploads `blob` through a session already started on the runner's port, whose events
/// arrive on `events`. `chunk` is the payload per frame (the runner's max_frame − 5).
pub fn upload(
    session: &Session,
    events: &Receiver<LinkEvent>,
    blob: &[u8],
    chunk: usize,
    progress: impl FnMut(UploadProgress),
) -> Result<u32, UploadError> {
    upload_or_cancel(
        session,
        events,
        blob,
        chunk,
        &AtomicBool::new(false),
        progress,
    )
}

/// [`upload`], which stops with [`UploadError::Cancelled`] soon after `cancel` is set; the
/// runner keeps its old model (it replaces it only after a verified whole).
pub fn upload_or_cancel(
    session: &Session,
    events: &Receiver<LinkEvent>,
    blob: &[u8],
    chunk: usize,
    cancel: &AtomicBool,
    mut progress: impl FnMut(UploadProgress),
) -> Result<u32, UploadError> {
    let expected = crate::export::blob_hash(blob).unwrap_or(0);
    let crc = crate::util::checksum::crc32(blob);
    let total = blob.len() as u32;
    let chunk = chunk.max(16);
    // What arrived before the upload (a boot HELLO, a "no model" error) is not about it.
    while events.try_recv().is_ok() {}
    let link = Link { events, cancel };
    // After a cut the runner's HELLO says it is back; after a restart we saw, or once it
    // has answered a question, it is already there.
    let mut wait_hello = false;
    for attempt in 1..=TRIES {
        match try_once(
            session,
            &link,
            blob,
            total,
            crc,
            chunk,
            attempt,
            wait_hello,
            &mut progress,
        ) {
            Ok(()) => {}
            Err(Attempt::Again) => {
                wait_hello = true;
                continue;
            }
            Err(Attempt::Restarted) => {
                wait_hello = false;
                continue;
            }
            Err(Attempt::EndUnanswered) => {
                // The line went quiet at the very end: the runner may hold the new model
                // already. Ask it before calling the upload failed (#19, item 5).
                match ask_hash(session, &link)? {
                    Some(h) if h == expected => return Ok(expected),
                    Some(_) => wait_hello = false,
                    None => wait_hello = true,
                }
                continue;
            }
            Err(Attempt::Fatal(e)) => return Err(e),
        }
        // The runner re-announces itself with the new model.
        let deadline = Instant::now() + STEP * 2;
        while Instant::now() < deadline {
            match link
                .next(Duration::from_millis(100))
                // The runner has taken the upload: a cancel now cannot undo it.
                .map_err(|_| UploadError::CancelledAfterUpload)?
            {
                Ok(LinkEvent::Hello(h)) if h.model_hash == expected => return Ok(expected),
                Ok(LinkEvent::Hello(h)) => {
                    return Err(UploadError::Verify {
                        board: h.model_hash,
                        expected,
                    });
                }
                _ => {}
            }
        }
        return Err(UploadError::NoAnswer(STEP.as_secs() * 2));
    }
    Err(UploadError::GaveUp(TRIES))
}

enum Attempt {
    /// The link was cut or the runner lost its place: start over once it is back.
    Again,
    /// The runner restarted (a HELLO, or "no upload in progress", mid-upload): start over
    /// at once.
    Restarted,
    /// Every chunk went through but UPLOAD_END had no answer.
    EndUnanswered,
    Fatal(UploadError),
}

/// Asks the runner for its HELLO and returns its model hash, or `None` without an answer.
fn ask_hash(session: &Session, link: &Link) -> Result<Option<u32>, UploadError> {
    send(session, Msg::HelloReq);
    let deadline = Instant::now() + STEP;
    while Instant::now() < deadline {
        match link
            .next(Duration::from_millis(50))
            .map_err(|_| UploadError::CancelledAfterUpload)?
        {
            Ok(LinkEvent::Hello(h)) => return Ok(Some(h.model_hash)),
            Ok(_) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Ok(None),
        }
    }
    Ok(None)
}

/// Sends a frame after a lone delimiter.
fn send(session: &Session, m: Msg) {
    let mut bytes = vec![0];
    bytes.extend(m.encode());
    session.send(LinkCmd::Raw(bytes));
}

/// The runner's events, and whether the user asked to stop.
struct Link<'a> {
    events: &'a Receiver<LinkEvent>,
    cancel: &'a AtomicBool,
}

/// The user asked to stop.
struct Cancelled;

impl Link<'_> {
    fn next(&self, wait: Duration) -> Result<Result<LinkEvent, RecvTimeoutError>, Cancelled> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(Cancelled);
        }
        Ok(self.events.recv_timeout(wait))
    }
}

impl From<Cancelled> for Attempt {
    fn from(_: Cancelled) -> Attempt {
        Attempt::Fatal(UploadError::Cancelled)
    }
}

/// Waits for an ACK of `what`; `Again` when the link dropped.
fn wait_ack(link: &Link, what: u8) -> Result<Option<u32>, Attempt> {
    let deadline = Instant::now() + STEP;
    while Instant::now() < deadline {
        match link.next(Duration::from_millis(50))? {
            Ok(LinkEvent::Ack { what: w, next }) if w == what => return Ok(Some(next)),
            Ok(LinkEvent::BoardError { code, text }) => match code {
                // A damaged frame is simply sent again.
                ERR_BAD_FRAME => return Ok(None),
                // A chunk the runner has no upload for: it restarted (#19, item 5).
                ERR_UPLOAD if what == kind::UPLOAD_CHUNK => return Err(Attempt::Restarted),
                ERR_BAD_ARGS | ERR_UPLOAD | ERR_STORAGE => {
                    return Err(Attempt::Fatal(UploadError::Refused(text)));
                }
                // Not about the upload (say, "no model" at the runner's boot).
                _ => {}
            },
            Ok(LinkEvent::Disconnected { .. }) => return Err(Attempt::Again),
            // A HELLO in the middle of an upload: the runner started again.
            Ok(LinkEvent::Hello(_)) if what != kind::UPLOAD_END => {
                return Err(Attempt::Restarted);
            }
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                return Err(Attempt::Fatal(UploadError::NoAnswer(STEP.as_secs())));
            }
        }
    }
    Ok(None)
}

#[allow(clippy::too_many_arguments)]
fn try_once(
    session: &Session,
    link: &Link,
    blob: &[u8],
    total: u32,
    crc: u32,
    chunk: usize,
    attempt: u32,
    wait_hello: bool,
    progress: &mut impl FnMut(UploadProgress),
) -> Result<(), Attempt> {
    if wait_hello {
        // Wait for the runner to be back (its HELLO), then start over.
        let deadline = Instant::now() + STEP * 4;
        loop {
            match link.next(Duration::from_millis(100))? {
                Ok(LinkEvent::Hello(_)) => break,
                _ if Instant::now() > deadline => {
                    return Err(Attempt::Fatal(UploadError::NoAnswer(STEP.as_secs() * 4)));
                }
                _ => {}
            }
        }
    }
    let mut tries = 0;
    loop {
        send(session, Msg::UploadBegin { total, crc });
        if wait_ack(link, kind::UPLOAD_BEGIN)?.is_some() {
            break;
        }
        tries += 1;
        if tries == TRIES {
            return Err(Attempt::Fatal(UploadError::NoAnswer(STEP.as_secs())));
        }
    }
    let mut offset = 0u32;
    let mut stalled = 0;
    while offset < total {
        let end = (offset as usize + chunk).min(blob.len());
        send(
            session,
            Msg::UploadChunk {
                offset,
                data: blob[offset as usize..end].to_vec(),
            },
        );
        match wait_ack(link, kind::UPLOAD_CHUNK)? {
            Some(next) if next > offset && next <= total => {
                offset = next;
                stalled = 0;
                progress(UploadProgress {
                    sent: u64::from(offset),
                    total: u64::from(total),
                    attempt,
                });
            }
            // No answer, a damaged frame, or the runner wants another offset: resend.
            other => {
                if let Some(next) = other
                    && next <= total
                {
                    offset = next;
                }
                stalled += 1;
                if stalled == TRIES {
                    return Err(Attempt::Again);
                }
            }
        }
    }
    send(session, Msg::UploadEnd);
    match wait_ack(link, kind::UPLOAD_END)? {
        Some(_) => Ok(()),
        None => Err(Attempt::EndUnanswered),
    }
}

/// Why the Pi runner did not take a model.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PiError {
    #[error(
        "no tinygen runner answered on {port}; start it on the Pi ('tinygen-runner --port \
         /dev/serial0 ~/tinygen') and check the wiring and the baud rate ({baud})"
    )]
    NoRunner { port: String, baud: u32 },
    #[error(transparent)]
    Upload(#[from] UploadError),
}

/// What an upload found: the runner's board name, its model before, and the verified new
/// hash.
#[derive(Debug, Clone, PartialEq)]
pub struct Uploaded {
    pub board: String,
    pub before: u32,
    pub hash: u32,
}

/// How long the runner has to greet us after the port opens.
pub const HELLO_WAIT: Duration = Duration::from_secs(10);

/// Opens the runner's port, waits for its HELLO (saying so first through `waiting`, with
/// the longest wait) and uploads `blob`; stops soon after `cancel` is set.
pub fn flash(
    port: &str,
    baud: u32,
    blob: &[u8],
    cancel: &AtomicBool,
    waiting: impl FnOnce(Duration),
    progress: impl FnMut(UploadProgress),
) -> Result<Uploaded, PiError> {
    use crate::link::session::serial_opener;
    let (tx, rx) = std::sync::mpsc::channel();
    let session = Session::start(
        port.to_string(),
        serial_opener(port.to_string(), baud),
        None,
        move |e| {
            let _ = tx.send(e);
        },
    );
    waiting(HELLO_WAIT);
    let deadline = Instant::now() + HELLO_WAIT;
    let hello = loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(PiError::Upload(UploadError::Cancelled));
        }
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(LinkEvent::Hello(h)) => break h,
            _ if Instant::now() > deadline => {
                return Err(PiError::NoRunner {
                    port: port.to_string(),
                    baud,
                });
            }
            _ => {}
        }
    };
    let chunk = usize::from(hello.max_frame).saturating_sub(5);
    let hash = upload_or_cancel(&session, &rx, blob, chunk, cancel, progress)?;
    Ok(Uploaded {
        board: hello.board.name(),
        before: hello.model_hash,
        hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::frame::Decoder;
    use crate::link::proto::{BoardId, Hello, PROTOCOL_VERSION};
    use std::collections::VecDeque;
    use std::io::{Read, Write};
    use std::sync::{Arc, Mutex};

    /// How the scripted runner answers one message from the host.
    type Script = Box<dyn FnMut(&Msg) -> Vec<Msg> + Send>;

    /// A runner on the other end of a fake line: each frame the host writes is answered by
    /// the script, byte for byte as a real runner's frames.
    struct Runner {
        incoming: Arc<Mutex<VecDeque<u8>>>,
        decoder: Decoder,
        script: Arc<Mutex<Script>>,
    }

    impl Read for Runner {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            crate::link::testing::read_queued(&self.incoming, buf)
        }
    }

    impl Write for Runner {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            for f in self.decoder.feed(buf).into_iter().flatten() {
                if let Ok(m) = Msg::decode(&f) {
                    let answers = (self.script.lock().unwrap())(&m);
                    let mut q = self.incoming.lock().unwrap();
                    for a in answers {
                        q.extend(a.encode());
                    }
                }
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn runner_hello(hash: u32) -> Msg {
        Msg::Hello(Hello {
            protocol: PROTOCOL_VERSION,
            board: BoardId::Pi,
            firmware: 0x0100,
            model_hash: hash,
            max_frame: 1024,
            arena_bytes: 0,
            image_h: 32,
            image_w: 32,
            latent: 2,
            classes: 6,
            kind: Some(crate::spec::ModelKind::Generator),
            steps: 0,
            arena32: None,
        })
    }

    /// Uploads the shipped die model to a runner played by `script`.
    fn upload_to(script: Script) -> (Result<u32, UploadError>, u32) {
        let incoming = Arc::new(Mutex::new(VecDeque::new()));
        let script = Arc::new(Mutex::new(script));
        let opener: crate::link::session::Opener = Box::new(move || {
            Ok(Box::new(Runner {
                incoming: incoming.clone(),
                decoder: Decoder::new(),
                script: script.clone(),
            }) as Box<dyn crate::link::session::Port>)
        });
        let (tx, rx) = std::sync::mpsc::channel();
        let session = Session::start("runner".into(), opener, None, move |e| {
            let _ = tx.send(e);
        });
        let m = shipped_die();
        (upload(&session, &rx, &m.blob, 256, |_| {}), m.hash())
    }

    /// The model tinygen ships for the die.
    fn shipped_die() -> crate::deploy::Deployable {
        let p = crate::templates::default_project("cvae-die").unwrap();
        crate::templates::deployable(&p, None).unwrap()
    }

    /// A well-behaved runner's answers; `installed` is the model it holds.
    fn answer(m: &Msg, installed: &mut u32, new: u32) -> Vec<Msg> {
        match m {
            Msg::HelloReq => vec![runner_hello(*installed)],
            Msg::UploadBegin { .. } => vec![Msg::Ack {
                what: kind::UPLOAD_BEGIN,
                next: 0,
            }],
            Msg::UploadChunk { offset, data } => vec![Msg::Ack {
                what: kind::UPLOAD_CHUNK,
                next: offset + data.len() as u32,
            }],
            Msg::UploadEnd => {
                *installed = new;
                vec![
                    Msg::Ack {
                        what: kind::UPLOAD_END,
                        next: 0,
                    },
                    runner_hello(new),
                ]
            }
            _ => vec![],
        }
    }

    /// #19, item 5: the line went quiet right after the final frame, and flash failed
    /// after 15 s while the runner already held the new model. The host asks its hash.
    #[test]
    fn a_quiet_line_after_the_last_frame_asks_the_runner_before_failing() {
        let new = shipped_die().hash();
        let mut installed = 0u32;
        let (r, hash) = upload_to(Box::new(move |m| {
            let a = answer(m, &mut installed, new);
            // The answers to UPLOAD_END are lost; the model is in place all the same.
            if matches!(m, Msg::UploadEnd) {
                vec![]
            } else {
                a
            }
        }));
        assert_eq!(r, Ok(hash));
    }

    /// #19, item 5: a runner that restarted mid-upload (its port still open) answered
    /// "no upload in progress", and flash gave up. It starts over.
    #[test]
    fn a_runner_that_restarts_mid_upload_gets_the_upload_again() {
        let new = shipped_die().hash();
        let mut installed = 0u32;
        let mut chunks = 0;
        let mut restarted = false;
        let (r, hash) = upload_to(Box::new(move |m| {
            if let Msg::UploadChunk { .. } = m {
                chunks += 1;
                if chunks == 3 && !restarted {
                    restarted = true;
                    // It rebooted: its HELLO is lost, and it has no upload in progress.
                    return vec![Msg::Error {
                        code: ERR_UPLOAD,
                        text: "no upload in progress".into(),
                    }];
                }
            }
            answer(m, &mut installed, new)
        }));
        assert_eq!(r, Ok(hash));
    }

    /// Issue #18, item 7: the Pi upload sat waiting with no way to stop it. A cancelled
    /// flash stops at once, before the runner's greeting, and says the old model stays.
    #[test]
    fn a_cancelled_flash_stops_waiting() {
        let cancel = AtomicBool::new(true);
        let mut said = None;
        let e = flash(
            "/dev/null",
            115_200,
            &[0; 64],
            &cancel,
            |d| said = Some(d),
            |_| {},
        )
        .unwrap_err();
        assert!(matches!(e, PiError::Upload(UploadError::Cancelled)), "{e}");
        assert!(e.to_string().contains("keeps its previous model"), "{e}");
        assert_eq!(said, Some(HELLO_WAIT), "the wait is announced first");
    }
}
