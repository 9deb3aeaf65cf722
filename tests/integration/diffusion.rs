//! Issue #16, item 4: the simulated board (the real binary's `sim` on a pty) serves a
//! diffusion model: HELLO says so, GENERATE takes steps, a preview cadence and a seed, and
//! STEP frames carry each step's decoded estimate, byte for byte the engine's.

use crate::common::{hello, repo, start, wait_for};
use std::path::Path;
use tinygen::deploy::sim::SimBoard;
use tinygen::engine::diffusion::Diffusion;
use tinygen::link::proto::StepPreview;
use tinygen::link::session::{Image, LinkCmd, LinkEvent, serial_opener};
use tinygen::spec::ModelKind;

/// The C tests' tiny diffusion model (`sd::int`'s tests keep it equal to burn's).
const MODEL: &str = "firmware-stub/tests/diffusion.bin";
/// Golden CRCs of its draws for seed 42: (index 1, a six, 8 steps) and (0, a six, 1 step).
/// Regenerating the model file changes them.
const GOLDEN: [u32; 2] = [0xfb2b_690e, 0xd20a_3448];

fn board() -> SimBoard {
    SimBoard::spawn_with(
        Path::new(env!("CARGO_BIN_EXE_tinygen")),
        &repo(MODEL),
        0,
        None,
    )
    .expect("the simulated board starts")
}

/// Asks for a run and collects its previews and images until DONE.
fn run(
    s: &tinygen::link::session::Session,
    rx: &std::sync::mpsc::Receiver<LinkEvent>,
    cmd: LinkCmd,
) -> (Vec<StepPreview>, Vec<Image>, u16) {
    s.send(cmd);
    let (mut steps, mut images) = (Vec::new(), Vec::new());
    let (done, _) = wait_for(rx, 120, |e| match e {
        LinkEvent::Step(p) => {
            steps.push(p.clone());
            None
        }
        LinkEvent::Image(i) => {
            images.push(i.clone());
            None
        }
        LinkEvent::Done { count } => Some(*count),
        LinkEvent::BoardError { text, .. } => panic!("the board said: {text}"),
        _ => None,
    });
    (steps, images, done)
}

fn generate(label: u8, count: u16, seed: u32, steps: u8, preview: u8) -> LinkCmd {
    LinkCmd::Generate {
        label,
        count,
        seed,
        temperature: 64,
        first: 0,
        steps,
        preview,
    }
}

#[test]
fn the_simulated_board_serves_diffusion_with_step_previews() {
    let blob = std::fs::read(repo(MODEL)).unwrap();
    let mut engine = Diffusion::load(&blob).unwrap();
    let b = board();
    let (s, rx) = start(&b.port, serial_opener(b.port.clone(), 115_200), None);
    let h = hello(&rx);
    assert_eq!(h.model_kind(), Some(ModelKind::Diffusion), "{h:?}");
    assert_eq!((h.steps, h.classes, h.latent), (8, 6, 4), "{h:?}");
    assert_eq!((h.image_h, h.image_w), (32, 32));
    assert_eq!(
        h.arena32,
        Some(engine.arena_bytes()),
        "the arena in 32 bits"
    );
    assert_eq!(
        h.firmware, 0x0103,
        "firmware 1.3: STATS may carry a hosted board's memory"
    );

    // Two sixes in 8 steps, a preview every second step: steps 0, 2, 4, 6 of each.
    let (steps, images, done) = run(&s, &rx, generate(6, 2, 42, 8, 2));
    assert_eq!((images.len(), done), (2, 2));
    assert_eq!(
        steps.len(),
        8,
        "{:?}",
        steps.iter().map(|p| p.step).collect::<Vec<_>>()
    );
    for (k, img) in images.iter().enumerate() {
        let (want, shots) = engine.sample(42, k as u32, 6, 8, true).unwrap();
        assert_eq!(img.pixels, want, "image {k} is the engine's");
        assert_eq!((img.index, img.label), (k as u16, 6));
        let mine: Vec<&StepPreview> = steps.iter().filter(|p| p.index == k as u16).collect();
        assert_eq!(
            mine.iter().map(|p| (p.step, p.steps)).collect::<Vec<_>>(),
            [(0, 8), (2, 8), (4, 8), (6, 8)]
        );
        for p in mine {
            assert_eq!(
                p.pixels,
                shots[usize::from(p.step)],
                "image {k} step {}",
                p.step
            );
        }
    }
    let eight = tinygen::util::checksum::crc32(&images[1].pixels);

    // One step, no previews.
    let (steps, images, _) = run(&s, &rx, generate(6, 1, 42, 1, 0));
    assert!(steps.is_empty(), "no preview asked, none sent");
    let one = tinygen::util::checksum::crc32(&images[0].pixels);
    assert_eq!([eight, one], GOLDEN, "{:08x?}", [eight, one]);

    // The board rolls the class itself (label 0) into 1..=6, and keeps the default steps.
    let (steps, images, _) = run(&s, &rx, generate(0, 3, 7, 0, 8));
    assert!(images.iter().all(|i| (1..=6).contains(&i.label)));
    assert_eq!(steps.iter().map(|p| p.step).collect::<Vec<_>>(), [0, 0, 0]);
    for img in &images {
        let (want, _) = engine
            .sample(7, u32::from(img.index), img.label, 8, false)
            .unwrap();
        assert_eq!(img.pixels, want);
    }

    // A class the model does not have is refused, and the board goes on serving.
    s.send(generate(7, 1, 1, 8, 1));
    let (text, _) = wait_for(&rx, 20, |e| match e {
        LinkEvent::BoardError { code: 3, text } => Some(text.clone()),
        _ => None,
    });
    assert!(text.contains("label"), "{text}");
    let (_, images, _) = run(&s, &rx, generate(1, 1, 1, 2, 0));
    assert_eq!(images.len(), 1);
}
