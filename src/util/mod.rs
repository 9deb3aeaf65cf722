//! Small leaf helpers every layer may use: atomic file writes, "did you mean" suggestions,
//! the CRC-32 that names models and checks frames, and the seedable generator behind every
//! dataset and every initial weight, and [`error_chain`] for front-ends that print an
//! error with its causes. Nothing here knows about tinygen's data.

pub mod checksum;
pub mod fsutil;
pub mod rng;
pub mod suggest;
pub mod unit;

/// Whether to colour output written to a stream: only to a terminal, and never when
/// `NO_COLOR` is set (<https://no-color.org>).
pub fn use_color(stream_is_tty: bool) -> bool {
    stream_is_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// An error and every cause under it, as one line: "what failed: why: why".
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        // A cause already quoted in its parent's message is not repeated.
        if !s.contains(&text) {
            s += ": ";
            s += &text;
        }
        cause = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot read 'x'")]
    struct Outer {
        source: std::io::Error,
    }

    #[test]
    fn a_chain_names_each_cause_once() {
        let e = Outer {
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        assert_eq!(error_chain(&e), "cannot read 'x': entity not found");
    }
}
