//! Framing (docs/protocol.md): `COBS(type | payload | CRC-32 LE) 0x00`. The decoder
//! resynchronises at every zero byte, so garbage or a cut costs at most one frame.

use crate::util::checksum::crc32;

/// The longest frame body (type + payload + CRC) the host accepts.
pub const MAX_BODY: usize = 4096;

/// A checked frame: its type byte and payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub kind: u8,
    pub payload: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("a frame failed its CRC ({len} bytes)")]
    Crc { len: usize },
    #[error("a frame is not valid COBS ({len} bytes)")]
    Cobs { len: usize },
    #[error("a frame ran past {MAX_BODY} bytes without a delimiter")]
    TooLong,
}

/// COBS-encodes `data` (no delimiter): blocks of up to 254 non-zero bytes, each led by
/// its length + 1; a block shorter than 254 stands for a zero after it.
pub fn cobs_encode(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 254 + 2);
    let mut i = 0;
    loop {
        let run = data[i..].iter().take(254).take_while(|&&b| b != 0).count();
        out.push(run as u8 + 1);
        out.extend_from_slice(&data[i..i + run]);
        i += run;
        if i >= data.len() {
            break;
        }
        if run < 254 {
            i += 1; // the zero this block stands for
        }
    }
    out
}

/// Decodes one COBS block sequence; `None` if it is malformed.
pub fn cobs_decode(data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        let code = data[i] as usize;
        if code == 0 || i + code > data.len() {
            return None;
        }
        out.extend_from_slice(&data[i + 1..i + code]);
        i += code;
        if code < 255 && i < data.len() {
            out.push(0);
        }
    }
    Some(out)
}

/// The wire bytes of one frame, delimiter included.
pub fn encode(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(payload.len() + 5);
    body.push(kind);
    body.extend_from_slice(payload);
    let crc = crc32(&body);
    body.extend_from_slice(&crc.to_le_bytes());
    let mut wire = cobs_encode(&body);
    wire.push(0);
    wire
}

/// Splits a byte stream into checked frames.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
    overflow: bool,
}

impl Decoder {
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// Feeds one byte; a finished frame (or a damaged one) comes out at each delimiter.
    pub fn push(&mut self, byte: u8) -> Option<Result<Frame, FrameError>> {
        if byte != 0 {
            if self.buf.len() < MAX_BODY + MAX_BODY / 254 + 2 {
                self.buf.push(byte);
            } else {
                self.overflow = true;
            }
            return None;
        }
        let raw = std::mem::take(&mut self.buf);
        if std::mem::take(&mut self.overflow) {
            return Some(Err(FrameError::TooLong));
        }
        if raw.is_empty() {
            return None; // a bare delimiter: someone resynchronising
        }
        let Some(body) = cobs_decode(&raw) else {
            return Some(Err(FrameError::Cobs { len: raw.len() }));
        };
        if body.len() < 5 {
            return Some(Err(FrameError::Cobs { len: raw.len() }));
        }
        let (data, crc) = body.split_at(body.len() - 4);
        if crc32(data).to_le_bytes() != crc {
            return Some(Err(FrameError::Crc { len: raw.len() }));
        }
        Some(Ok(Frame {
            kind: data[0],
            payload: data[1..].to_vec(),
        }))
    }

    /// Feeds many bytes; returns every frame they finish.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Result<Frame, FrameError>> {
        bytes.iter().filter_map(|&b| self.push(b)).collect()
    }

    /// Bytes waiting for a delimiter.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cobs_known_vectors() {
        // From the COBS paper and Wikipedia's examples.
        assert_eq!(cobs_encode(&[0]), vec![1, 1]);
        assert_eq!(cobs_encode(&[0, 0]), vec![1, 1, 1]);
        assert_eq!(
            cobs_encode(&[0x11, 0x22, 0, 0x33]),
            vec![3, 0x11, 0x22, 2, 0x33]
        );
        assert_eq!(
            cobs_encode(&[0x11, 0x22, 0x33, 0x44]),
            vec![5, 0x11, 0x22, 0x33, 0x44]
        );
        assert_eq!(cobs_encode(&[0x11, 0, 0, 0]), vec![2, 0x11, 1, 1, 1]);
        let ones: Vec<u8> = (1..=254).collect();
        let mut want = vec![0xff];
        want.extend(&ones);
        assert_eq!(cobs_encode(&ones), want);
        let mut with_zero = ones.clone();
        with_zero.push(0);
        let mut want2 = want.clone();
        want2.extend([1, 1]);
        assert_eq!(cobs_encode(&with_zero), want2);
    }

    #[test]
    fn resynchronises_after_garbage() {
        let mut d = Decoder::new();
        let mut stream = vec![0x13, 0x37, 0xff, 0x00];
        stream.extend(encode(0x81, b"hi"));
        let out = d.feed(&stream);
        assert_eq!(out.len(), 2);
        assert!(out[0].is_err());
        assert_eq!(
            out[1],
            Ok(Frame {
                kind: 0x81,
                payload: b"hi".to_vec()
            })
        );
    }

    #[test]
    fn a_flipped_bit_fails_the_crc() {
        let mut wire = encode(0x82, &[1, 2, 3, 4, 5]);
        wire[3] ^= 0x10;
        let out = Decoder::new().feed(&wire);
        assert!(matches!(out[..], [Err(FrameError::Crc { .. })]), "{out:?}");
    }

    proptest! {
        #[test]
        fn round_trip(kind: u8, payload in prop::collection::vec(any::<u8>(), 0..1200)) {
            let wire = encode(kind, &payload);
            prop_assert_eq!(wire.iter().filter(|&&b| b == 0).count(), 1);
            let out = Decoder::new().feed(&wire);
            prop_assert_eq!(out, vec![Ok(Frame { kind, payload })]);
        }

        #[test]
        fn cobs_round_trip(data in prop::collection::vec(any::<u8>(), 0..800)) {
            let enc = cobs_encode(&data);
            prop_assert!(!enc.contains(&0));
            prop_assert_eq!(cobs_decode(&enc), Some(data));
        }

        #[test]
        fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..3000)) {
            let mut d = Decoder::new();
            let _ = d.feed(&bytes);
            // And a good frame still gets through afterwards.
            let mut tail = vec![0u8];
            tail.extend(encode(1, b"ok"));
            let out = d.feed(&tail);
            prop_assert_eq!(out.last().cloned(), Some(Ok(Frame { kind: 1, payload: b"ok".to_vec() })));
        }
    }
}
