//! Boards over real ports: the simulated board (the real binary's `sim` on a pty) and a
//! pty pair, driven through board sessions exactly as the Monitor does.

use crate::common::{default_model, generate, hello, sim, start, wait_for};
use std::time::Duration;
use tinygen::link::proto::{BoardId, Hello, Msg, PROTOCOL_VERSION};
use tinygen::link::session::{LinkCmd, LinkEvent, Opener, serial_opener};

/// Issue #5, item 9: garbage on the line, a board killed mid-frame, and a board that
/// comes back, each as the Monitor sees it.
#[test]
fn garbage_a_killed_board_and_a_board_that_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let m = default_model();
    let link = dir.path().join("board");
    let mut board = sim(dir.path(), &m, Some(&link));
    let port = link.display().to_string();
    let (s, rx) = start(&port, serial_opener(port.clone(), 115_200), Some(m.hash()));
    hello(&rx);

    // Garbage on the line: the board says so, and then serves as before.
    s.send(LinkCmd::Raw(vec![0x42, 0x13, 0x37, 0x99, 0x00]));
    let (code, _) = wait_for(&rx, 10, |e| match e {
        LinkEvent::BoardError { code, .. } => Some(*code),
        _ => None,
    });
    assert_eq!(code, 1, "bad frame");
    let (_, whole) = generate(&s, &rx);
    assert_eq!(whole, 3);

    // Killed mid-stream: whatever image was in flight is reported cut, never whole.
    s.send(LinkCmd::Generate {
        label: 2,
        count: 500,
        seed: 1,
        temperature: 64,
        first: 0,
        steps: 0,
        preview: 0,
    });
    wait_for(&rx, 10, |e| {
        matches!(e, LinkEvent::Rows(r) if r.first_row == 8).then_some(())
    });
    board.kill();
    let (_, seen) = wait_for(&rx, 10, |e| {
        matches!(e, LinkEvent::Disconnected { .. }).then_some(())
    });
    // Every image reported whole has all its 1,024 pixels; an image in flight at the cut
    // is reported as cut (unless the kill fell exactly between two images).
    assert!(
        seen.iter()
            .all(|e| !matches!(e, LinkEvent::Image(i) if i.pixels.len() != 1024)),
        "a cut image passed off as whole"
    );
    let last_rows_end = seen.iter().rev().find_map(|e| match e {
        LinkEvent::Rows(r) => Some(r.first_row + r.rows),
        _ => None,
    });
    let cut = seen
        .iter()
        .any(|e| matches!(e, LinkEvent::Incomplete { .. }));
    assert!(cut || last_rows_end == Some(32), "{seen:?}");
    wait_for(&rx, 10, |e| {
        matches!(e, LinkEvent::Reconnecting { .. }).then_some(())
    });

    // It comes back (a new pty behind the same link): the session reconnects by itself.
    let _board = sim(dir.path(), &m, Some(&link));
    let h = hello(&rx);
    assert_eq!(h.model_hash, m.hash());
    let (_, whole) = generate(&s, &rx);
    assert_eq!(whole, 3);
}

/// Issue #5, item 9: a board on another protocol version, or with another model, is named
/// as such, and no GENERATE is sent to a board that speaks another version.
#[test]
fn version_and_model_mismatches_are_reported() {
    use serialport::{SerialPort, TTYPort};
    use std::io::{Read, Write};
    let (mut ours, theirs) = TTYPort::pair().expect("a pty pair");
    let mut slot = Some(theirs);
    let opener: Opener = Box::new(move || {
        slot.take()
            .map(|p| Box::new(p) as Box<dyn tinygen::link::session::Port>)
            .ok_or_else(|| std::io::Error::other("gone"))
    });
    let (s, rx) = start("pair", opener, Some(0x1111_1111));
    let mut reply = |protocol: u8, hash: u32| {
        let h = Hello {
            protocol,
            board: BoardId::Ch32v003,
            firmware: 0x0100,
            model_hash: hash,
            max_frame: 32,
            arena_bytes: 544,
            image_h: 32,
            image_w: 32,
            latent: 4,
            classes: 6,
            kind: None,
            steps: 0,
            arena32: None,
        };
        ours.write_all(&Msg::Hello(h).encode()).unwrap();
    };
    reply(PROTOCOL_VERSION, 0x2222_2222);
    let (got, _) = wait_for(&rx, 5, |e| match e {
        LinkEvent::HashMismatch { board, expected } => Some((*board, *expected)),
        _ => None,
    });
    assert_eq!(got, (0x2222_2222, 0x1111_1111));

    reply(PROTOCOL_VERSION + 1, 0x1111_1111);
    wait_for(&rx, 5, |e| {
        matches!(e, LinkEvent::VersionMismatch { .. }).then_some(())
    });
    // Drain what the host sent so far (its HELLO request), then ask for dice: nothing goes out.
    ours.set_timeout(Duration::from_millis(200)).unwrap();
    let mut buf = [0u8; 256];
    let _ = ours.read(&mut buf);
    s.send(LinkCmd::Generate {
        label: 1,
        count: 1,
        seed: 1,
        temperature: 64,
        first: 0,
        steps: 0,
        preview: 0,
    });
    wait_for(&rx, 5, |e| {
        matches!(e, LinkEvent::VersionMismatch { .. }).then_some(())
    });
    let n = ours.read(&mut buf).unwrap_or(0);
    assert_eq!(
        n, 0,
        "a GENERATE went to a board on another protocol version"
    );
}

/// Issue #19, item 3: after STOP the board's DONE counted one image fewer than it had
/// sent. Now DONE says exactly how many whole images came.
#[test]
fn done_after_stop_counts_every_image_sent() {
    let dir = tempfile::tempdir().unwrap();
    let m = default_model();
    let link = dir.path().join("board");
    let _board = sim(dir.path(), &m, Some(&link));
    let port = link.display().to_string();
    let (s, rx) = start(&port, serial_opener(port.clone(), 115_200), Some(m.hash()));
    hello(&rx);
    s.send(LinkCmd::Generate {
        label: 3,
        count: 500,
        seed: 2,
        temperature: 64,
        first: 0,
        steps: 0,
        preview: 0,
    });
    // Two whole images, then STOP.
    let mut whole = 0;
    wait_for(&rx, 20, |e| {
        if matches!(e, LinkEvent::Image(_)) {
            whole += 1;
        }
        (whole == 2).then_some(())
    });
    s.send(LinkCmd::Stop);
    let (count, seen) = wait_for(&rx, 20, |e| match e {
        LinkEvent::Done { count } => Some(*count),
        _ => None,
    });
    let more = seen
        .iter()
        .filter(|e| matches!(e, LinkEvent::Image(_)))
        .count();
    assert_eq!(
        usize::from(count),
        whole + more,
        "DONE says {count}, {whole} + {more} whole images came"
    );
}

/// Issue #19, item 3: after a cut, the monitor's reconnect ended the board's run and the
/// dice still owed were never asked for again. Now `tinygen monitor` asks the board that
/// comes back for the dice after the last whole one, and all of them arrive.
#[test]
fn a_cut_run_is_asked_again_for_the_dice_still_owed() {
    use std::io::{BufRead, BufReader};
    use tinygen::deploy::sim::SimBoard;
    let dir = tempfile::tempdir().unwrap();
    let m = default_model();
    let model = crate::common::write_model(dir.path(), &m);
    let link = dir.path().join("board");
    let board = || {
        // Paced like a real line, so the run is still going when the cable is cut.
        SimBoard::spawn_with(
            std::path::Path::new(env!("CARGO_BIN_EXE_tinygen")),
            &model,
            115_200,
            Some(&link),
        )
        .expect("the simulated board starts")
    };
    let mut first = board();
    let mut monitor = crate::common::tinygen()
        .args(["monitor", "--port", link.to_str().unwrap(), "--count", "30"])
        .args(["--style", "ascii", "--seed", "4"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(monitor.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    for l in lines.by_ref() {
        let l = l.unwrap();
        let at_six = l.starts_with("die 6:");
        seen.push(l);
        if at_six {
            break;
        }
    }
    first.kill();
    std::thread::sleep(Duration::from_millis(300));
    let _second = board();
    seen.extend(lines.map_while(Result::ok));
    let status = monitor.wait().unwrap();
    let all = seen.join("\n");
    let mut err = String::new();
    std::io::Read::read_to_string(&mut monitor.stderr.take().unwrap(), &mut err).unwrap();
    assert!(status.success(), "{all}\n{err}");
    assert!(all.contains("reconnected: asking again for dice"), "{all}");
    // Every die from 1 to 30 arrived whole, once.
    for n in 1..=30 {
        let count = seen
            .iter()
            .filter(|l| l.starts_with(&format!("die {n}:")))
            .count();
        assert_eq!(count, 1, "die {n} in:\n{all}");
    }
}

/// Issue #19, item 2: a board that ignores `--count` and never sends DONE grew the
/// monitor's memory without bound. `tinygen monitor` now stops it at the first die beyond
/// the count, and ends with the dice it asked for.
#[test]
fn a_board_that_ignores_the_count_is_stopped() {
    use serialport::{SerialPort, TTYPort};
    use std::io::Write;
    use tinygen::link::proto::ImageRows;
    let (mut ours, theirs) = TTYPort::pair().expect("a pty pair");
    let path = theirs.name().expect("the pty's name");
    ours.set_timeout(Duration::from_millis(500)).unwrap();
    let monitor = crate::common::tinygen()
        .args([
            "monitor", "--port", &path, "--count", "3", "--style", "ascii",
        ])
        .args(["--timeout", "10"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A board that says HELLO, then sends dice for ever, one index after another.
    let board = std::thread::spawn(move || {
        let _keep = theirs;
        std::thread::sleep(Duration::from_millis(300));
        let h = Hello {
            protocol: PROTOCOL_VERSION,
            board: BoardId::Sim,
            firmware: 0x0101,
            model_hash: 0x1234_5678,
            max_frame: 300,
            arena_bytes: 544,
            image_h: 32,
            image_w: 32,
            latent: 2,
            classes: 6,
            kind: None,
            steps: 0,
            arena32: None,
        };
        if ours.write_all(&Msg::Hello(h).encode()).is_err() {
            return 0;
        }
        let mut sent = 0u16;
        'dice: for index in 0..2_000u16 {
            for part in 0..4u8 {
                let rows = ImageRows {
                    index,
                    label: 3,
                    first_row: 8 * part,
                    rows: 8,
                    width: 32,
                    data: vec![index as u8; 256],
                };
                if ours.write_all(&Msg::Image(rows).encode()).is_err() {
                    break 'dice;
                }
            }
            sent = index + 1;
        }
        sent
    });
    let out = monitor.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("the board sent more than asked; stopped it"),
        "{stdout}"
    );
    assert!(
        stdout.contains("die 3:") && !stdout.contains("die 5:"),
        "{stdout}"
    );
    let sent = board.join().unwrap();
    assert!(
        sent < 2_000,
        "the monitor stopped reading; the board sent {sent} dice"
    );
}
