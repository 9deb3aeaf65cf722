//! Golden frames: fixed messages and their exact wire bytes, in
//! `firmware-stub/tests/golden-frames.txt`. The Rust tests below and the C test
//! (`firmware-stub/tests/test_proto.c`) both check their codec against that file, so the
//! two sides cannot drift apart.

use super::proto::{BoardId, BoardMemory, Classified, Hello, ImageRows, Msg, Stats, StepPreview};

pub const PATH: &str = "firmware-stub/tests/golden-frames.txt";

/// The messages in the golden file, by name.
pub fn messages() -> Vec<(&'static str, Msg)> {
    let long: String = (b'!'..=b'~').cycle().take(300).map(char::from).collect();
    vec![
        ("hello_req", Msg::HelloReq),
        ("stop", Msg::Stop),
        (
            "generate",
            Msg::Generate {
                label: 3,
                count: 2,
                seed: 0x0102_0304,
                temperature: 64,
                first: 0,
                steps: 0,
                preview: 0,
            },
        ),
        (
            "generate_roll_zero_seed",
            Msg::Generate {
                label: 0,
                count: 1,
                seed: 0,
                temperature: 0,
                first: 0,
                steps: 0,
                preview: 0,
            },
        ),
        (
            "generate_resumed",
            Msg::Generate {
                label: 4,
                count: 3,
                seed: 0x0A0B_0C0D,
                temperature: 32,
                first: 45,
                steps: 0,
                preview: 0,
            },
        ),
        (
            "hello",
            Msg::Hello(Hello {
                protocol: 1,
                board: BoardId::Ch32v003,
                firmware: 0x0100,
                model_hash: 0xCAFE_0042,
                max_frame: 32,
                arena_bytes: 544,
                image_h: 32,
                image_w: 32,
                latent: 4,
                classes: 6,
                kind: None,
                steps: 0,
                arena32: None,
            }),
        ),
        (
            "image_two_rows",
            Msg::Image(ImageRows {
                index: 0,
                label: 5,
                first_row: 8,
                rows: 2,
                width: 4,
                data: vec![0, 128, 255, 0, 7, 0, 0, 9],
            }),
        ),
        (
            "stats",
            Msg::Stats(Stats {
                index: 1,
                label: 6,
                cycles: 1_500_000,
                micros: 31_250,
                stack_bytes: 212,
                arena_bytes: 544,
                memory: None,
            }),
        ),
        (
            "stats_memory",
            Msg::Stats(Stats {
                index: 3,
                label: 6,
                cycles: 0,
                micros: 4_563_153,
                stack_bytes: 0,
                arena_bytes: 0xffff,
                memory: Some(BoardMemory {
                    peak_kb: 1112,
                    anon_kb: 344,
                    file_kb: 768,
                    weight_bytes: 40_295_496,
                }),
            }),
        ),
        ("log", Msg::Log("boot ok".into())),
        (
            "error",
            Msg::Error {
                code: 2,
                text: "unknown message".into(),
            },
        ),
        ("done", Msg::Done { count: 2 }),
        (
            "upload_begin",
            Msg::UploadBegin {
                total: 1884,
                crc: 0x4e89_3e4c,
            },
        ),
        (
            "upload_chunk",
            Msg::UploadChunk {
                offset: 256,
                data: vec![0x54, 0x47, 0x00, 0x4d, 0x31],
            },
        ),
        ("upload_end", Msg::UploadEnd),
        (
            "ack",
            Msg::Ack {
                what: 0x06,
                next: 261,
            },
        ),
        // 300 non-zero payload bytes: crosses a full 254-byte COBS block.
        ("log_long", Msg::Log(long)),
        (
            "classify",
            Msg::Classify {
                tag: 0x0102,
                input: vec![0, 0, 17, 255, 0, 128],
            },
        ),
        (
            "result",
            Msg::Result(Classified {
                tag: 0x0102,
                class: 7,
                cycles: 123_456,
                micros: 0,
                stack_bytes: 212,
                scores: vec![-12, 0, 3, -128, 9, 1, 0, 127, 40, -1],
            }),
        ),
        // HELLO with the model's kind (appended in firmware 1.0's successor; a 16-byte
        // HELLO, like "hello" above, is still read).
        (
            "hello_generator",
            Msg::Hello(Hello {
                protocol: 1,
                board: BoardId::Sim,
                firmware: 0x0100,
                model_hash: 0x1234_5678,
                max_frame: 32,
                arena_bytes: 544,
                image_h: 32,
                image_w: 32,
                latent: 2,
                classes: 6,
                kind: Some(crate::spec::ModelKind::Generator),
                steps: 0,
                arena32: None,
            }),
        ),
        (
            "hello_classifier",
            Msg::Hello(Hello {
                protocol: 1,
                board: BoardId::QemuRv32,
                firmware: 0x0100,
                model_hash: 0x0BAD_F00D,
                max_frame: 259,
                arena_bytes: 448,
                image_h: 1,
                image_w: 10,
                latent: 0,
                classes: 10,
                kind: Some(crate::spec::ModelKind::Classifier),
                steps: 0,
                arena32: None,
            }),
        ),
        // Firmware 1.2: a diffusion run (12 bytes: steps and a preview every step), the
        // HELLO of a diffusion model (its steps and a 32-bit arena), and a step's preview.
        (
            "generate_diffusion",
            Msg::Generate {
                label: 6,
                count: 2,
                seed: 0x0102_0304,
                temperature: 64,
                first: 0,
                steps: 8,
                preview: 1,
            },
        ),
        (
            "hello_diffusion",
            Msg::Hello(Hello {
                protocol: 1,
                board: BoardId::Sim,
                firmware: 0x0102,
                model_hash: 0x5D1F_F00D,
                max_frame: 32,
                arena_bytes: 0xFFFF,
                image_h: 32,
                image_w: 32,
                latent: 4,
                classes: 6,
                kind: Some(crate::spec::ModelKind::Diffusion),
                steps: 8,
                arena32: Some(0x0001_2345),
            }),
        ),
        (
            "step",
            Msg::Step(StepPreview {
                index: 0x0102,
                label: 6,
                step: 3,
                steps: 8,
                height: 2,
                width: 3,
                pixels: vec![0, 64, 255, 0, 9, 200],
            }),
        ),
    ]
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|v| format!("{v:02x}")).collect()
}

/// The golden file's text: `name kind payload-hex wire-hex` per line.
pub fn render() -> String {
    let mut s = String::from(
        "# tinygen golden frames: name, type, payload (hex, '-' if empty), wire bytes (hex).\n\
         # Checked by src/link/golden.rs and firmware-stub/tests/test_proto.c.\n\
         # Regenerate with: TINYGEN_UPDATE_GOLDEN=1 cargo test --lib golden\n",
    );
    for (name, m) in messages() {
        let p = m.payload();
        let payload = if p.is_empty() { "-".into() } else { hex(&p) };
        s.push_str(&format!(
            "{name} {:02x} {payload} {}\n",
            m.kind(),
            hex(&m.encode())
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::frame::Decoder;

    #[test]
    fn golden_file_matches_the_rust_codec() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(PATH);
        let want = render();
        if std::env::var_os("TINYGEN_UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            have, want,
            "{PATH} differs from the codec; if the protocol changed on purpose, regenerate \
             it (TINYGEN_UPDATE_GOLDEN=1) and bump the protocol version"
        );
        // And every wire line decodes back to its message.
        for ((_, m), line) in messages()
            .into_iter()
            .zip(have.lines().filter(|l| !l.starts_with('#')))
        {
            let wire: Vec<u8> = (0..line.split(' ').nth(3).unwrap().len() / 2)
                .map(|i| {
                    u8::from_str_radix(&line.split(' ').nth(3).unwrap()[2 * i..2 * i + 2], 16)
                        .unwrap()
                })
                .collect();
            let f = Decoder::new().feed(&wire).remove(0).unwrap();
            assert_eq!(Msg::decode(&f).unwrap(), m);
        }
    }
}
