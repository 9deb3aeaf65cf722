//! The session worker against a scripted port: frames in, events out.
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
        steps: 0,
        arena32: None,
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
        steps: 0,
        preview: 0,
    });
    assert_eq!(
        port.sent_at_least(2)[1],
        Msg::Generate {
            label: 2,
            count: 1,
            seed: 5,
            temperature: 32,
            first: 0,
            steps: 0,
            preview: 0,
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
        seen.iter()
            .any(|e| matches!(e, LinkEvent::Disconnected { reason } if reason.contains("pulled")))
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

/// Issue #16, item 4: a STEP preview is passed on only when it is the image HELLO
/// describes and its step lies inside its run; anything else is a damaged frame.
#[test]
fn a_step_preview_must_fit_the_boards_image() {
    let port = FakePort::default();
    let (_s, rx, _) = start(&port, None);
    port.push(&Msg::Hello(hello(1)));
    until(&rx, |e| matches!(e, LinkEvent::Hello(_)));
    let step = |step: u8, steps: u8, height: u8, width: u8| {
        Msg::Step(StepPreview {
            index: 0,
            label: 3,
            step,
            steps,
            height,
            width,
            pixels: vec![7; usize::from(height) * usize::from(width)],
        })
    };
    for bad in [
        step(8, 8, 4, 2),
        step(0, 8, 3, 2),
        step(0, 8, 4, 1),
        step(0, 8, 0, 0),
    ] {
        port.push(&bad);
    }
    port.push(&step(7, 8, 4, 2));
    let seen = until(&rx, |e| matches!(e, LinkEvent::Step(_)));
    assert!(
        matches!(seen.last(), Some(LinkEvent::Step(s)) if s.step == 7 && s.pixels == [7; 8]),
        "{seen:?}"
    );
    // Damage is reported in batches; they add up to the four bad previews.
    let mut frames = 0;
    while frames < 4 {
        if let Some(LinkEvent::Garbage { frames: n }) =
            until(&rx, |e| matches!(e, LinkEvent::Garbage { .. })).pop()
        {
            frames += n;
        }
    }
    assert_eq!(frames, 4, "each bad preview counted as damaged");
}
