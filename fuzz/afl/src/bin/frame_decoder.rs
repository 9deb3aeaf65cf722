//! Any byte stream into the host's frame decoder and message parser, as a board could
//! send it: no panic, no unbounded buffering, and a good frame after the garbage still
//! gets through.
use tinygen::link::frame::{Decoder, Frame, MAX_BODY, encode};
use tinygen::link::proto::Msg;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let mut d = Decoder::new();
        for frame in d.feed(data).into_iter().flatten() {
            let _ = Msg::decode(&frame);
        }
        assert!(d.pending() <= MAX_BODY + MAX_BODY / 254 + 2);
        let mut tail = vec![0u8];
        tail.extend(encode(0x84, b"ok"));
        let out = d.feed(&tail);
        assert_eq!(
            out.last().cloned(),
            Some(Ok(Frame {
                kind: 0x84,
                payload: b"ok".to_vec()
            }))
        );
    });
}
