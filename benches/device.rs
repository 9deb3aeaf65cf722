//! Device benchmarks (issue #5, item 8), printed as figures, not asserted:
//! - instructions per 32x32 die image for the RV32EC firmware in qemu (-icount shift=0,
//!   minstret around one image), and dice per second at 48 MHz at 1.0 and 1.5 cycles per
//!   instruction (BitNetMCU's code runs at about 1.5 on the real chip);
//! - payload bytes per second over a 115200-baud line as a share of the line rate, with
//!   the simulated board pacing itself like a UART, and the framing's own efficiency.
//!
//! Run: `cargo bench --bench device`

use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tinygen::deploy::local::{self, LocalKind};
use tinygen::deploy::sim::SimBoard;
use tinygen::deploy::verify::{self, Work};
use tinygen::link::session::{LinkCmd, LinkEvent, Session, serial_opener};

fn main() {
    let p = tinygen::templates::default_project("cvae-die").unwrap();
    let m = tinygen::templates::deployable(&p, None).expect("the shipped die model");
    let dir = tempfile::tempdir().expect("a temp dir");

    // Instructions per image on the RV32EC firmware.
    let board = local::start(LocalKind::QemuRv32, &m, "bench", 115_200)
        .expect("building and starting the RV32EC firmware in qemu (run ./scripts/setup)");
    let sizes = board.sizes.expect("a qemu board's firmware sizes");
    let stats = verify::run(&board, &Work::Images(12)).expect("qemu runs");
    drop(board);
    let instr: Vec<u64> = stats.iter().map(|s| u64::from(s.cycles)).collect();
    let mean = instr.iter().sum::<u64>() as f64 / instr.len() as f64;
    let (lo, hi) = (instr.iter().min().unwrap(), instr.iter().max().unwrap());
    println!(
        "RV32EC die image (qemu -icount shift=0, {} images, board-rolled pip counts):",
        instr.len()
    );
    println!("  instructions per image: mean {mean:.0} (min {lo}, max {hi}); goal <= 3,200,000");
    for cpi in [1.0, 1.5] {
        println!(
            "  at 48 MHz and {cpi} cycles/instruction: {:.1} dice per second (goal >= 10)",
            48e6 / (mean * cpi)
        );
    }
    println!(
        "  stack high-water mark: {} B; firmware: {} B flash, {} B static SRAM",
        stats.iter().map(|s| s.stack_bytes).max().unwrap_or(0),
        sizes.flash_bytes(),
        sizes.static_sram_bytes()
    );

    // Link use at 115200 baud, the simulated board paced like a UART.
    let model = dir.path().join("model.bin");
    std::fs::write(&model, &m.blob).expect("write the model");
    let baud = 115_200u32;
    let board = SimBoard::spawn_with(Path::new(env!("CARGO_BIN_EXE_tinygen")), &model, baud, None)
        .expect("the simulated board starts");
    let (tx, rx) = mpsc::channel();
    let session = Session::start(
        board.port.clone(),
        serial_opener(board.port.clone(), baud),
        None,
        move |e| {
            let _ = tx.send(e);
        },
    );
    let count = 24u16;
    let mut start = None;
    let (mut wire, mut payload, mut images) = (0u64, 0u64, 0u32);
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(LinkEvent::Hello(_)) if start.is_none() => {
                // Drain the HELLO's bytes from the count: measure the GENERATE alone.
                std::thread::sleep(Duration::from_millis(300));
                while let Ok(e) = rx.try_recv() {
                    let _ = e;
                }
                start = Some(Instant::now());
                session.send(LinkCmd::Generate {
                    label: 0,
                    count,
                    seed: 3,
                    temperature: 32,
                    first: 0,
                    steps: 0,
                    preview: 0,
                });
            }
            Ok(LinkEvent::Traffic { bytes }) if start.is_some() => wire += bytes,
            Ok(LinkEvent::Image(i)) => {
                images += 1;
                payload += i.pixels.len() as u64;
            }
            Ok(LinkEvent::Done { .. }) => break,
            _ => {}
        }
    }
    let secs = start.map_or(0.0, |s| s.elapsed().as_secs_f64());
    let line = f64::from(baud) / 10.0;
    println!("\nLink at {baud} baud (8N1: {line:.0} bytes/s), simulated board, {images} dice:");
    println!(
        "  payload {:.0} bytes/s = {:.1}% of the line rate (goal >= 90%); framing efficiency {:.1}% \
         (payload / wire bytes; frames of 8 rows: 6 header + 4 CRC + COBS + delimiter)",
        payload as f64 / secs,
        100.0 * payload as f64 / secs / line,
        100.0 * payload as f64 / wire.max(1) as f64
    );
}
