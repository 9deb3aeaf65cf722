//! The messages of the serial protocol (docs/protocol.md), and their payloads. All
//! integers are little-endian.

use super::frame::{self, Frame};
use crate::spec::ModelKind;

pub const PROTOCOL_VERSION: u8 = 1;

pub mod kind {
    pub const HELLO_REQ: u8 = 0x01;
    pub const GENERATE: u8 = 0x02;
    pub const STOP: u8 = 0x03;
    pub const UPLOAD_BEGIN: u8 = 0x05;
    pub const UPLOAD_CHUNK: u8 = 0x06;
    pub const UPLOAD_END: u8 = 0x07;
    pub const CLASSIFY: u8 = 0x08;
    pub const HELLO: u8 = 0x81;
    pub const IMAGE: u8 = 0x82;
    pub const STATS: u8 = 0x83;
    pub const LOG: u8 = 0x84;
    pub const ERROR: u8 = 0x85;
    pub const DONE: u8 = 0x86;
    pub const ACK: u8 = 0x87;
    pub const RESULT: u8 = 0x88;
    pub const STEP: u8 = 0x89;
}

/// What an ERROR code means (docs/protocol.md), for boards that send the code alone: the
/// CH32V003 classifier firmware leaves its texts out to save flash.
pub fn error_meaning(code: u8) -> &'static str {
    match code {
        1 => "bad frame (CRC or COBS)",
        2 => "unknown message",
        3 => "bad arguments",
        4 => "no model (or not this kind of model) on the board",
        5 => "frame too long for the board",
        6 => "upload out of order, too large, or failing its check",
        7 => "the board could not write its model file",
        _ => "unknown error code",
    }
}

/// Boards as HELLO names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoardId {
    Sim,
    QemuRv32,
    Ch32v003,
    Pi,
    Other(u8),
}

impl BoardId {
    pub fn from_byte(b: u8) -> BoardId {
        match b {
            0 => BoardId::Sim,
            1 => BoardId::QemuRv32,
            2 => BoardId::Ch32v003,
            3 => BoardId::Pi,
            n => BoardId::Other(n),
        }
    }

    pub fn byte(self) -> u8 {
        match self {
            BoardId::Sim => 0,
            BoardId::QemuRv32 => 1,
            BoardId::Ch32v003 => 2,
            BoardId::Pi => 3,
            BoardId::Other(n) => n,
        }
    }

    /// Whether the board's line runs at its nominal baud rate, so that "link use" (the
    /// share of the line rate) means something. qemu's serial port is not paced: it moves
    /// bytes as fast as the emulator runs.
    pub fn paced_line(self) -> bool {
        !matches!(self, BoardId::QemuRv32)
    }

    pub fn name(self) -> String {
        match self {
            BoardId::Sim => "simulated board".into(),
            BoardId::QemuRv32 => "qemu rv32ec".into(),
            BoardId::Ch32v003 => "CH32V003".into(),
            BoardId::Pi => "Raspberry Pi".into(),
            BoardId::Other(n) => format!("board #{n}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hello {
    pub protocol: u8,
    pub board: BoardId,
    pub firmware: u16,
    /// 0 when the board has no usable model.
    pub model_hash: u32,
    /// The longest frame body the board accepts.
    pub max_frame: u16,
    pub arena_bytes: u16,
    pub image_h: u8,
    /// Bytes per output row.
    pub image_w: u8,
    pub latent: u8,
    pub classes: u8,
    /// What the board's model does; `None` from boards whose HELLO predates the field
    /// (16 bytes), or without a model.
    pub kind: Option<ModelKind>,
    /// A diffusion model's default number of sampling steps (0 for other models).
    pub steps: u8,
    /// The arena in 32 bits (firmware 1.2, 22 bytes); `arena_bytes` is then at most
    /// 65535. `None` from older firmware.
    pub arena32: Option<u32>,
}

impl Hello {
    /// The board's working memory in bytes, from the widest field it sent.
    pub fn arena(&self) -> u32 {
        self.arena32.unwrap_or(u32::from(self.arena_bytes))
    }

    /// What the board's model does. A HELLO without the kind byte (firmware from before
    /// it) is read by the only rule that held then: a classifier names classes and no
    /// latent, anything else with an image is the die generator.
    pub fn model_kind(&self) -> Option<ModelKind> {
        if self.model_hash == 0 {
            return None;
        }
        self.kind.or(if self.latent == 0 && self.classes > 0 {
            Some(ModelKind::Classifier)
        } else if self.image_h > 0 {
            Some(ModelKind::Generator)
        } else {
            None
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub index: u16,
    pub label: u8,
    /// Instructions (qemu) or core cycles (CH32V003) for the image; 0 if not counted.
    pub cycles: u32,
    pub micros: u32,
    /// Deepest stack use so far, bytes; 0 if not measured.
    pub stack_bytes: u16,
    pub arena_bytes: u16,
    /// A hosted board's own memory after a diffusion image (firmware 1.3; the Pi runner).
    pub memory: Option<BoardMemory>,
}

/// What a hosted board reports of itself in STATS (firmware 1.3): its resident memory
/// from `/proc/self/status` and the weight bytes the image read from the model file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoardMemory {
    /// Peak resident memory (VmHWM), KiB.
    pub peak_kb: u32,
    /// Resident anonymous memory (RssAnon), KiB.
    pub anon_kb: u32,
    /// Resident file-backed memory (RssFile), KiB.
    pub file_kb: u32,
    /// Weight bytes this image read (0 when the model is held in memory).
    pub weight_bytes: u32,
}

/// A classifier's answer to CLASSIFY.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    /// The CLASSIFY's tag, echoed.
    pub tag: u16,
    pub class: u8,
    /// Instructions (qemu) or core cycles (CH32V003) of the inference; 0 if not counted.
    pub cycles: u32,
    pub micros: u32,
    pub stack_bytes: u16,
    /// The 8-bit class scores (ShiftNorm'd accumulators of the last layer).
    pub scores: Vec<i8>,
}

/// Rows of one image, as an IMAGE frame carries them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRows {
    /// The image within its GENERATE.
    pub index: u16,
    pub label: u8,
    pub first_row: u8,
    pub rows: u8,
    /// Bytes per row.
    pub width: u8,
    pub data: Vec<u8>,
}

/// The first firmware whose GENERATE takes a first index (1.1); the host asks an older
/// board again for nothing, and says which dice a cut lost.
pub const FIRMWARE_RESUMES: u16 = 0x0101;

/// A diffusion step's preview: the decoded estimate of the clean image after step `step`
/// (0-based) of `steps`, as a STEP frame carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepPreview {
    /// The image within its GENERATE.
    pub index: u16,
    pub label: u8,
    pub step: u8,
    pub steps: u8,
    pub height: u8,
    /// Bytes per row.
    pub width: u8,
    pub pixels: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    HelloReq,
    /// `label` 0 asks the board to roll a pip count itself; temperature is in 1/64.
    /// Images `first..first + count` of the seed (10 bytes; 8 when `first` is 0). A
    /// diffusion model also takes `steps` (0: its default) and `preview` (a STEP every
    /// that many steps; 0: none), in 12 bytes, sent only when one of them is not 0.
    Generate {
        label: u8,
        count: u16,
        seed: u32,
        temperature: u8,
        first: u16,
        steps: u8,
        preview: u8,
    },
    Stop,
    Hello(Hello),
    Image(ImageRows),
    Stats(Stats),
    Log(String),
    Error {
        code: u8,
        text: String,
    },
    Done {
        count: u16,
    },
    /// Start a model upload: its length and CRC-32.
    UploadBegin {
        total: u32,
        crc: u32,
    },
    /// Bytes of the model at `offset` (the frame's CRC protects each chunk).
    UploadChunk {
        offset: u32,
        data: Vec<u8>,
    },
    UploadEnd,
    /// The board took message `what`; for uploads, the next offset it expects.
    Ack {
        what: u8,
        next: u32,
    },
    /// Run the classifier on one input (8-bit pixels); `tag` comes back in the RESULT.
    Classify {
        tag: u16,
        input: Vec<u8>,
    },
    Result(Classified),
    Step(StepPreview),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtoError {
    #[error("unknown message type 0x{0:02x}")]
    Unknown(u8),
    #[error("message 0x{kind:02x} has a {len}-byte payload; it needs {need}")]
    Length { kind: u8, len: usize, need: usize },
}

fn u16_at(p: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([p[i], p[i + 1]])
}

fn u32_at(p: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([p[i], p[i + 1], p[i + 2], p[i + 3]])
}

fn need(kind: u8, p: &[u8], n: usize, exact: bool) -> Result<(), ProtoError> {
    if p.len() < n || (exact && p.len() != n) {
        return Err(ProtoError::Length {
            kind,
            len: p.len(),
            need: n,
        });
    }
    Ok(())
}

impl Msg {
    pub fn kind(&self) -> u8 {
        match self {
            Msg::HelloReq => kind::HELLO_REQ,
            Msg::Generate { .. } => kind::GENERATE,
            Msg::Stop => kind::STOP,
            Msg::Hello(_) => kind::HELLO,
            Msg::Image(_) => kind::IMAGE,
            Msg::Stats(_) => kind::STATS,
            Msg::Log(_) => kind::LOG,
            Msg::Error { .. } => kind::ERROR,
            Msg::Done { .. } => kind::DONE,
            Msg::UploadBegin { .. } => kind::UPLOAD_BEGIN,
            Msg::UploadChunk { .. } => kind::UPLOAD_CHUNK,
            Msg::UploadEnd => kind::UPLOAD_END,
            Msg::Ack { .. } => kind::ACK,
            Msg::Classify { .. } => kind::CLASSIFY,
            Msg::Result(_) => kind::RESULT,
            Msg::Step(_) => kind::STEP,
        }
    }

    pub fn payload(&self) -> Vec<u8> {
        let mut p = Vec::new();
        match self {
            Msg::HelloReq | Msg::Stop | Msg::UploadEnd => {}
            Msg::UploadBegin { total, crc } => {
                p.extend(total.to_le_bytes());
                p.extend(crc.to_le_bytes());
            }
            Msg::UploadChunk { offset, data } => {
                p.extend(offset.to_le_bytes());
                p.extend(data);
            }
            Msg::Ack { what, next } => {
                p.push(*what);
                p.extend(next.to_le_bytes());
            }
            Msg::Generate {
                label,
                count,
                seed,
                temperature,
                first,
                steps,
                preview,
            } => {
                p.push(*label);
                p.extend(count.to_le_bytes());
                p.extend(seed.to_le_bytes());
                p.push(*temperature);
                // A new run keeps the 8 bytes every firmware takes; a resumed one says
                // where it starts; a diffusion run its steps and previews.
                let diffusion = *steps != 0 || *preview != 0;
                if *first != 0 || diffusion {
                    p.extend(first.to_le_bytes());
                }
                if diffusion {
                    p.extend([*steps, *preview]);
                }
            }
            Msg::Hello(h) => {
                p.extend([h.protocol, h.board.byte()]);
                p.extend(h.firmware.to_le_bytes());
                p.extend(h.model_hash.to_le_bytes());
                p.extend(h.max_frame.to_le_bytes());
                p.extend(h.arena_bytes.to_le_bytes());
                p.extend([h.image_h, h.image_w, h.latent, h.classes]);
                // The kind byte (0: none) whenever a later field follows it.
                if h.kind.is_some() || h.arena32.is_some() {
                    p.push(h.kind.map_or(0, |k| k.code()));
                }
                if let Some(a) = h.arena32 {
                    p.push(h.steps);
                    p.extend(a.to_le_bytes());
                }
            }
            Msg::Image(r) => {
                p.extend(r.index.to_le_bytes());
                p.extend([r.label, r.first_row, r.rows, r.width]);
                p.extend(&r.data);
            }
            Msg::Stats(s) => {
                p.extend(s.index.to_le_bytes());
                p.extend([s.label, 0]);
                p.extend(s.cycles.to_le_bytes());
                p.extend(s.micros.to_le_bytes());
                p.extend(s.stack_bytes.to_le_bytes());
                p.extend(s.arena_bytes.to_le_bytes());
                if let Some(m) = s.memory {
                    for v in [m.peak_kb, m.anon_kb, m.file_kb, m.weight_bytes] {
                        p.extend(v.to_le_bytes());
                    }
                }
            }
            Msg::Log(t) => p.extend(t.as_bytes()),
            Msg::Error { code, text } => {
                p.push(*code);
                p.extend(text.as_bytes());
            }
            Msg::Done { count } => p.extend(count.to_le_bytes()),
            Msg::Classify { tag, input } => {
                p.extend(tag.to_le_bytes());
                p.extend(input);
            }
            Msg::Result(r) => {
                p.extend(r.tag.to_le_bytes());
                p.extend([r.class, r.scores.len() as u8]);
                p.extend(r.cycles.to_le_bytes());
                p.extend(r.micros.to_le_bytes());
                p.extend(r.stack_bytes.to_le_bytes());
                p.extend(r.scores.iter().map(|&v| v as u8));
            }
            Msg::Step(s) => {
                p.extend(s.index.to_le_bytes());
                p.extend([s.label, s.step, s.steps, s.height, s.width]);
                p.extend(&s.pixels);
            }
        }
        p
    }

    /// The wire bytes of this message.
    pub fn encode(&self) -> Vec<u8> {
        frame::encode(self.kind(), &self.payload())
    }

    pub fn decode(f: &Frame) -> Result<Msg, ProtoError> {
        let p = &f.payload[..];
        let k = f.kind;
        Ok(match k {
            kind::HELLO_REQ => {
                need(k, p, 0, true)?;
                Msg::HelloReq
            }
            kind::STOP => {
                need(k, p, 0, true)?;
                Msg::Stop
            }
            kind::GENERATE => {
                if p.len() != 10 && p.len() != 12 {
                    need(k, p, 8, true)?;
                }
                Msg::Generate {
                    label: p[0],
                    count: u16_at(p, 1),
                    seed: u32_at(p, 3),
                    temperature: p[7],
                    first: if p.len() >= 10 { u16_at(p, 8) } else { 0 },
                    steps: p.get(10).copied().unwrap_or(0),
                    preview: p.get(11).copied().unwrap_or(0),
                }
            }
            kind::HELLO => {
                // Later protocol versions may append fields; the first 16 bytes stay.
                need(k, p, 2, false)?;
                if p[0] == PROTOCOL_VERSION {
                    need(k, p, 16, false)?;
                }
                let at = |i: usize| p.get(i).copied().unwrap_or(0);
                let at16 = |i: usize| u16::from_le_bytes([at(i), at(i + 1)]);
                Msg::Hello(Hello {
                    protocol: p[0],
                    board: BoardId::from_byte(p[1]),
                    firmware: at16(2),
                    model_hash: u32::from_le_bytes([at(4), at(5), at(6), at(7)]),
                    max_frame: at16(8),
                    arena_bytes: at16(10),
                    image_h: at(12),
                    image_w: at(13),
                    latent: at(14),
                    classes: at(15),
                    kind: p.get(16).and_then(|&k| ModelKind::from_code(k)),
                    steps: if p.len() >= 22 { at(17) } else { 0 },
                    arena32: (p.len() >= 22).then(|| u32_at(p, 18)),
                })
            }
            kind::IMAGE => {
                need(k, p, 6, false)?;
                let (rows, width) = (p[4], p[5]);
                need(k, p, 6 + usize::from(rows) * usize::from(width), true)?;
                Msg::Image(ImageRows {
                    index: u16_at(p, 0),
                    label: p[2],
                    first_row: p[3],
                    rows,
                    width,
                    data: p[6..].to_vec(),
                })
            }
            kind::STATS => {
                // 16 bytes, or 32 with a hosted board's memory (firmware 1.3).
                if p.len() != 32 {
                    need(k, p, 16, true)?;
                }
                Msg::Stats(Stats {
                    index: u16_at(p, 0),
                    label: p[2],
                    cycles: u32_at(p, 4),
                    micros: u32_at(p, 8),
                    stack_bytes: u16_at(p, 12),
                    arena_bytes: u16_at(p, 14),
                    memory: (p.len() == 32).then(|| BoardMemory {
                        peak_kb: u32_at(p, 16),
                        anon_kb: u32_at(p, 20),
                        file_kb: u32_at(p, 24),
                        weight_bytes: u32_at(p, 28),
                    }),
                })
            }
            kind::UPLOAD_BEGIN => {
                need(k, p, 8, true)?;
                Msg::UploadBegin {
                    total: u32_at(p, 0),
                    crc: u32_at(p, 4),
                }
            }
            kind::UPLOAD_CHUNK => {
                need(k, p, 4, false)?;
                Msg::UploadChunk {
                    offset: u32_at(p, 0),
                    data: p[4..].to_vec(),
                }
            }
            kind::UPLOAD_END => {
                need(k, p, 0, true)?;
                Msg::UploadEnd
            }
            kind::ACK => {
                need(k, p, 5, true)?;
                Msg::Ack {
                    what: p[0],
                    next: u32_at(p, 1),
                }
            }
            kind::LOG => Msg::Log(String::from_utf8_lossy(p).into_owned()),
            kind::ERROR => {
                need(k, p, 1, false)?;
                Msg::Error {
                    code: p[0],
                    text: String::from_utf8_lossy(&p[1..]).into_owned(),
                }
            }
            kind::DONE => {
                need(k, p, 2, true)?;
                Msg::Done {
                    count: u16_at(p, 0),
                }
            }
            kind::CLASSIFY => {
                need(k, p, 3, false)?;
                Msg::Classify {
                    tag: u16_at(p, 0),
                    input: p[2..].to_vec(),
                }
            }
            kind::RESULT => {
                need(k, p, 14, false)?;
                need(k, p, 14 + usize::from(p[3]), true)?;
                Msg::Result(Classified {
                    tag: u16_at(p, 0),
                    class: p[2],
                    cycles: u32_at(p, 4),
                    micros: u32_at(p, 8),
                    stack_bytes: u16_at(p, 12),
                    scores: p[14..].iter().map(|&v| v as i8).collect(),
                })
            }
            kind::STEP => {
                need(k, p, 7, false)?;
                let (height, width) = (p[5], p[6]);
                need(k, p, 7 + usize::from(height) * usize::from(width), true)?;
                Msg::Step(StepPreview {
                    index: u16_at(p, 0),
                    label: p[2],
                    step: p[3],
                    steps: p[4],
                    height,
                    width,
                    pixels: p[7..].to_vec(),
                })
            }
            other => return Err(ProtoError::Unknown(other)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::frame::Decoder;
    use proptest::prelude::*;

    #[test]
    fn every_documented_error_code_has_its_own_meaning() {
        let texts: Vec<&str> = (1..=7).map(error_meaning).collect();
        for (i, t) in texts.iter().enumerate() {
            assert_ne!(*t, error_meaning(0), "code {}", i + 1);
            assert!(!texts[..i].contains(t), "code {} repeats a meaning", i + 1);
        }
    }

    fn round(m: Msg) {
        let out = Decoder::new().feed(&m.encode());
        let f = out[0].clone().unwrap();
        assert_eq!(Msg::decode(&f), Ok(m));
    }

    #[test]
    fn every_message_round_trips() {
        round(Msg::HelloReq);
        round(Msg::Stop);
        round(Msg::Generate {
            label: 3,
            count: 600,
            seed: 0xdead_beef,
            temperature: 32,
            first: 0,
            steps: 0,
            preview: 0,
        });
        round(Msg::Generate {
            label: 0,
            count: 48,
            seed: 77,
            temperature: 64,
            first: 0,
            steps: 4,
            preview: 1,
        });
        round(Msg::Generate {
            label: 2,
            count: 5,
            seed: 9,
            temperature: 64,
            first: 43,
            steps: 0,
            preview: 0,
        });
        round(Msg::Hello(Hello {
            protocol: 1,
            board: BoardId::QemuRv32,
            firmware: 0x0100,
            model_hash: 0x1234_5678,
            max_frame: 32,
            arena_bytes: 544,
            image_h: 32,
            image_w: 32,
            latent: 4,
            classes: 6,
            kind: None,
            steps: 0,
            arena32: None,
        }));
        round(Msg::Hello(Hello {
            protocol: 1,
            board: BoardId::Pi,
            firmware: 0x0102,
            model_hash: 0x1234_5678,
            max_frame: 1100,
            arena_bytes: 0xffff,
            image_h: 32,
            image_w: 32,
            latent: 4,
            classes: 6,
            kind: Some(ModelKind::Diffusion),
            steps: 8,
            arena32: Some(123_456),
        }));
        // A 1.2 board without a model: kind 0, then steps and the arena.
        round(Msg::Hello(Hello {
            protocol: 1,
            board: BoardId::Sim,
            firmware: 0x0102,
            model_hash: 0,
            max_frame: 32,
            arena_bytes: 0,
            image_h: 0,
            image_w: 0,
            latent: 0,
            classes: 0,
            kind: None,
            steps: 0,
            arena32: Some(0),
        }));
        round(Msg::Step(StepPreview {
            index: 3,
            label: 6,
            step: 2,
            steps: 8,
            height: 2,
            width: 3,
            pixels: vec![0, 1, 2, 3, 0, 255],
        }));
        round(Msg::Image(ImageRows {
            index: 1,
            label: 6,
            first_row: 8,
            rows: 2,
            width: 3,
            data: vec![0, 1, 2, 3, 0, 255],
        }));
        round(Msg::Stats(Stats {
            index: 9,
            label: 2,
            cycles: 1_234_567,
            micros: 42,
            stack_bytes: 180,
            arena_bytes: 544,
            memory: None,
        }));
        round(Msg::Stats(Stats {
            index: 9,
            label: 2,
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
        }));
        round(Msg::Log("hello, board".into()));
        round(Msg::Error {
            code: 2,
            text: "unknown message".into(),
        });
        round(Msg::Done { count: 7 });
        round(Msg::UploadBegin {
            total: 1884,
            crc: 0xdead_beef,
        });
        round(Msg::UploadChunk {
            offset: 1024,
            data: vec![0, 1, 2, 0],
        });
        round(Msg::UploadEnd);
        round(Msg::Ack {
            what: kind::UPLOAD_CHUNK,
            next: 2048,
        });
        round(Msg::Classify {
            tag: 7,
            input: (0..=255).collect(),
        });
        round(Msg::Result(Classified {
            tag: 7,
            class: 3,
            cycles: 98_765,
            micros: 2_000,
            stack_bytes: 300,
            scores: vec![-128, 5, 0, 127, -3, 0, 0, 0, 1, 2],
        }));
    }

    #[test]
    fn short_payloads_are_errors_not_panics() {
        for k in [
            kind::GENERATE,
            kind::HELLO,
            kind::IMAGE,
            kind::STATS,
            kind::DONE,
            kind::CLASSIFY,
            kind::RESULT,
            kind::STEP,
        ] {
            let f = Frame {
                kind: k,
                payload: vec![1],
            };
            assert!(Msg::decode(&f).is_err(), "0x{k:02x}");
        }
        let f = Frame {
            kind: kind::IMAGE,
            payload: vec![0, 0, 1, 0, 4, 32, 1, 2],
        };
        assert!(matches!(Msg::decode(&f), Err(ProtoError::Length { .. })));
    }

    proptest! {
        #[test]
        fn decoding_any_frame_never_panics(k: u8, payload in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = Msg::decode(&Frame { kind: k, payload });
        }
    }
}
