//! Terminal image protocols: which one the terminal draws, asked of the terminal itself,
//! and images encoded for it. Sixel (xterm, foot, mlterm, WezTerm, Konsole, iTerm2 3.5+),
//! the kitty graphics protocol (kitty, WezTerm, Konsole, Ghostty) and iTerm2's inline
//! images (iTerm2, WezTerm).
//!
//! Asking is how ratatui-image's picker does it: a kitty graphics query, then the Primary
//! Device Attributes request (`ESC [ c`), which every terminal answers; its answer lists 4
//! when the terminal draws sixel, and it arrives after any kitty answer, so it ends the
//! wait. Terminals that say nothing about images (iTerm2's inline images) are known by the
//! `TERM_PROGRAM` and `LC_TERMINAL` they set.

use std::time::Duration;

/// A way to draw pixels in a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Sixel,
    Kitty,
    Iterm2,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Sixel => "sixel",
            Protocol::Kitty => "kitty",
            Protocol::Iterm2 => "iTerm2",
        }
    }

    /// `sixel`, `kitty`, `iterm2` (any case).
    pub fn parse(text: &str) -> Option<Protocol> {
        match text.to_ascii_lowercase().as_str() {
            "sixel" => Some(Protocol::Sixel),
            "kitty" => Some(Protocol::Kitty),
            "iterm2" | "iterm" => Some(Protocol::Iterm2),
            _ => None,
        }
    }

    /// `pixels` (grey, `width` x `height`) drawn `scale` x `scale` at the cursor.
    pub fn encode(self, pixels: &[u8], width: usize, height: usize, scale: usize) -> String {
        match self {
            Protocol::Sixel => sixel(pixels, width, height, scale),
            Protocol::Kitty => kitty(pixels, width, height, scale),
            Protocol::Iterm2 => iterm2(pixels, width, height, scale),
        }
    }

    /// What removes the images drawn before, written before a new frame's images: kitty
    /// keeps its images over redrawn text, the others are painted over by it.
    pub fn clear(self) -> &'static str {
        match self {
            // d=A: the placements and the image data, so nothing piles up frame by frame.
            Protocol::Kitty => "\x1b_Ga=d,d=A,q=2\x1b\\",
            Protocol::Sixel | Protocol::Iterm2 => "",
        }
    }
}

/// The id of tinygen's kitty query image.
const QUERY_ID: u32 = 31;

/// What tinygen writes to ask: a kitty graphics query for a 1x1 image, then DA1.
pub fn query() -> String {
    format!("\x1b_Gi={QUERY_ID},s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\\x1b[c")
}

/// What the terminal said to [`query`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Replies {
    /// The kitty query was answered OK.
    pub kitty: bool,
    /// DA1 lists attribute 4, sixel graphics.
    pub sixel: bool,
    /// The DA1 answer arrived (the end of the replies).
    pub done: bool,
}

/// Reads the replies in `bytes`: `ESC _ G i=31 ; OK ESC \` and `ESC [ ? 6 2 ; 4 ; … c`.
pub fn parse_replies(bytes: &[u8]) -> Replies {
    let text = String::from_utf8_lossy(bytes);
    let kitty = text.contains(&format!("\x1b_Gi={QUERY_ID};OK"));
    let mut r = Replies {
        kitty,
        ..Replies::default()
    };
    if let Some(start) = text.find("\x1b[?")
        && let Some(len) = text[start..].find('c')
    {
        r.done = true;
        r.sixel = text[start + 3..start + len].split(';').any(|a| a == "4");
    }
    r
}

/// The protocol to draw with: `TINYGEN_GRAPHICS` (`sixel`, `kitty`, `iterm2` or `none`)
/// when set, else what the terminal answered, else what its environment names.
pub fn choose(replies: Replies, env: &dyn Fn(&str) -> Option<String>) -> Option<Protocol> {
    if let Some(forced) = env("TINYGEN_GRAPHICS") {
        return Protocol::parse(&forced);
    }
    if let Some(v) = env("TINYGEN_SIXEL") {
        // The older switch, still honoured.
        return (v == "1").then_some(Protocol::Sixel);
    }
    if replies.kitty {
        return Some(Protocol::Kitty);
    }
    if replies.sixel {
        return Some(Protocol::Sixel);
    }
    let program = env("TERM_PROGRAM").unwrap_or_default();
    let lc = env("LC_TERMINAL").unwrap_or_default();
    if program == "iTerm.app" || lc == "iTerm2" || program == "WezTerm" {
        return Some(Protocol::Iterm2);
    }
    // Only without an answer (a multiplexer that keeps it) does TERM still say: a
    // terminal that answered without naming images draws none.
    if replies.done {
        return None;
    }
    let term = env("TERM").unwrap_or_default();
    if term.contains("sixel")
        || ["mlterm", "foot", "contour", "yaft"]
            .iter()
            .any(|t| term.starts_with(t))
    {
        return Some(Protocol::Sixel);
    }
    if term.starts_with("xterm-kitty") {
        return Some(Protocol::Kitty);
    }
    None
}

/// Asks the terminal on stdin/stdout (which must be in raw mode) and waits up to
/// `timeout` for its DA1 answer; returns what arrived.
#[cfg(unix)]
pub fn ask_terminal(timeout: Duration) -> Replies {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if out
        .write_all(query().as_bytes())
        .and_then(|_| out.flush())
        .is_err()
    {
        return Replies::default();
    }
    drop(out);
    let start = std::time::Instant::now();
    let mut got = Vec::new();
    loop {
        let left = timeout.saturating_sub(start.elapsed());
        if left.is_zero() {
            break;
        }
        let mut fd = libc::pollfd {
            fd: 0,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, and a buffer of the length passed to read.
        let ready = unsafe { libc::poll(&mut fd, 1, left.as_millis().max(1) as libc::c_int) };
        if ready < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue; // a signal (a window resize): wait on
        }
        if ready <= 0 {
            break;
        }
        let mut buf = [0u8; 256];
        let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            break;
        }
        got.extend_from_slice(&buf[..n as usize]);
        if parse_replies(&got).done {
            break;
        }
    }
    let replies = parse_replies(&got);
    if !replies.done {
        // An answer that comes later must not reach the input thread as keys.
        std::thread::sleep(Duration::from_millis(50));
        // SAFETY: discards pending input on our own stdin.
        unsafe { libc::tcflush(0, libc::TCIFLUSH) };
    }
    replies
}

#[cfg(not(unix))]
pub fn ask_terminal(_timeout: Duration) -> Replies {
    Replies::default()
}

/// Grey levels in a sixel palette.
pub const SIXEL_GREYS: usize = 16;

/// A greyscale image as a sixel sequence (DCS … ST), each pixel drawn `scale` x `scale`,
/// in a 16-grey palette. Runs of one colour are run-length encoded.
pub fn sixel(pixels: &[u8], width: usize, height: usize, scale: usize) -> String {
    let scale = scale.max(1);
    let (w, h) = (width * scale, height * scale);
    let level = |x: usize, y: usize| -> usize {
        let v = usize::from(pixels[(y / scale) * width + x / scale]);
        (v * (SIXEL_GREYS - 1) + 127) / 255
    };
    let mut s = format!("\x1bP0;1;0q\"1;1;{w};{h}");
    for i in 0..SIXEL_GREYS {
        let pct = i * 100 / (SIXEL_GREYS - 1);
        s += &format!("#{i};2;{pct};{pct};{pct}");
    }
    for band in 0..h.div_ceil(6) {
        let y0 = band * 6;
        let mut first = true;
        for colour in 0..SIXEL_GREYS {
            let bits: Vec<u8> = (0..w)
                .map(|x| {
                    (0..6)
                        .filter(|dy| y0 + dy < h && level(x, y0 + dy) == colour)
                        .fold(0u8, |b, dy| b | (1 << dy))
                })
                .collect();
            if bits.iter().all(|&b| b == 0) {
                continue;
            }
            if !first {
                s.push('$'); // back to the start of the band for the next colour
            }
            first = false;
            s += &format!("#{colour}");
            let mut x = 0;
            while x < w {
                let run = bits[x..].iter().take_while(|&&b| b == bits[x]).count();
                let c = char::from(63 + bits[x]);
                if run > 3 {
                    s += &format!("!{run}{c}");
                } else {
                    s.extend(std::iter::repeat_n(c, run));
                }
                x += run;
            }
        }
        s.push('-');
    }
    s + "\x1b\\"
}

/// Standard base64, with padding.
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                s.push(char::from(ABC[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// A grey image scaled by whole pixels, as PNG bytes.
fn png_bytes(pixels: &[u8], width: usize, height: usize, scale: usize) -> Vec<u8> {
    use image::ImageEncoder;
    let scale = scale.max(1);
    let (w, h) = (width * scale, height * scale);
    let mut big = vec![0u8; w * h];
    for y in 0..h {
        for x in 0..w {
            big[y * w + x] = pixels
                .get((y / scale) * width + x / scale)
                .copied()
                .unwrap_or(0);
        }
    }
    let mut bytes = Vec::new();
    let _ = image::codecs::png::PngEncoder::new(&mut bytes).write_image(
        &big,
        w as u32,
        h as u32,
        image::ExtendedColorType::L8,
    );
    bytes
}

/// The kitty graphics protocol: a PNG sent in base64 chunks of at most 4,096 bytes, drawn
/// at the cursor without moving it (`C=1`), with no reply (`q=2`).
pub fn kitty(pixels: &[u8], width: usize, height: usize, scale: usize) -> String {
    let data = base64(&png_bytes(pixels, width, height, scale));
    let chunks: Vec<&[u8]> = data.as_bytes().chunks(4096).collect();
    let mut s = String::new();
    for (i, c) in chunks.iter().enumerate() {
        let more = u8::from(i + 1 < chunks.len());
        let keys = if i == 0 {
            format!("a=T,f=100,q=2,C=1,m={more}")
        } else {
            format!("m={more}")
        };
        s += &format!("\x1b_G{keys};{}\x1b\\", String::from_utf8_lossy(c));
    }
    s
}

/// iTerm2's inline image: the PNG in base64, at its own pixel size.
pub fn iterm2(pixels: &[u8], width: usize, height: usize, scale: usize) -> String {
    let png = png_bytes(pixels, width, height, scale);
    let (w, h) = (width * scale.max(1), height * scale.max(1));
    format!(
        "\x1b]1337;File=inline=1;size={};width={w}px;height={h}px;preserveAspectRatio=1:{}\x07",
        png.len(),
        base64(&png)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    /// #18, item 12: sixel was guessed from TERM; the terminal's own answers decide now.
    #[test]
    fn the_terminals_answers_choose_the_protocol() {
        // foot: DA1 with 4.
        let foot = parse_replies(b"\x1b[?62;4;22c");
        assert_eq!(
            foot,
            Replies {
                kitty: false,
                sixel: true,
                done: true
            }
        );
        assert_eq!(choose(foot, &env_of(&[])), Some(Protocol::Sixel));
        // kitty: the query answered OK, then DA1 without sixel.
        let kitty = parse_replies(b"\x1b_Gi=31;OK\x1b\\\x1b[?62;c");
        assert!(kitty.kitty && !kitty.sixel && kitty.done);
        assert_eq!(choose(kitty, &env_of(&[])), Some(Protocol::Kitty));
        // A terminal that draws nothing, whatever TERM claims to be like.
        let plain = parse_replies(b"\x1b[?1;2c");
        assert_eq!(choose(plain, &env_of(&[("TERM", "xterm-256color")])), None);
        // An answer without images wins over a TERM that suggests them.
        assert_eq!(choose(plain, &env_of(&[("TERM", "foot")])), None);
        // iTerm2 says so in its environment.
        let iterm = env_of(&[("TERM_PROGRAM", "iTerm.app")]);
        assert_eq!(choose(plain, &iterm), Some(Protocol::Iterm2));
        // No answer at all (a multiplexer): TERM is the last word.
        let none = parse_replies(b"");
        assert!(!none.done);
        assert_eq!(
            choose(none, &env_of(&[("TERM", "foot")])),
            Some(Protocol::Sixel)
        );
        // The switches win.
        let forced = env_of(&[("TINYGEN_GRAPHICS", "none")]);
        assert_eq!(choose(foot, &forced), None);
        let forced = env_of(&[("TINYGEN_GRAPHICS", "kitty")]);
        assert_eq!(choose(plain, &forced), Some(Protocol::Kitty));
        assert_eq!(
            choose(plain, &env_of(&[("TINYGEN_SIXEL", "1")])),
            Some(Protocol::Sixel)
        );
        // A DA1 answer that only mentions 4 inside another number is not sixel.
        assert!(!parse_replies(b"\x1b[?64;14c").sixel);
    }

    /// Decodes our own sixel output back to palette indices (a minimal reader of the
    /// subset `sixel` writes), so the encoder is checked by content, not by shape.
    fn read_sixel(s: &str) -> (usize, usize, Vec<usize>) {
        let body = s
            .strip_prefix("\x1bP0;1;0q\"1;1;")
            .unwrap()
            .strip_suffix("\x1b\\")
            .unwrap();
        let (dims, mut rest) = body.split_at(body.find('#').unwrap());
        let mut it = dims.split(';');
        let w: usize = it.next().unwrap().parse().unwrap();
        let h: usize = it.next().unwrap().parse().unwrap();
        // Skip the palette definitions.
        while let Some(p) = rest.strip_prefix('#') {
            let end = p
                .find(|c: char| c == '#' || c == '-' || c == '!' || ('?'..='~').contains(&c))
                .unwrap();
            if p[..end].contains(";2;") {
                rest = &p[end..];
            } else {
                break;
            }
        }
        let mut out = vec![usize::MAX; w * h];
        let (mut x, mut band, mut colour) = (0usize, 0usize, 0usize);
        let chars: Vec<char> = rest.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '#' => {
                    let n: String = chars[i + 1..]
                        .iter()
                        .take_while(|c| c.is_ascii_digit())
                        .collect();
                    colour = n.parse().unwrap();
                    i += 1 + n.len();
                    continue;
                }
                '$' => x = 0,
                '-' => {
                    x = 0;
                    band += 1;
                }
                '!' => {
                    let n: String = chars[i + 1..]
                        .iter()
                        .take_while(|c| c.is_ascii_digit())
                        .collect();
                    let c = chars[i + 1 + n.len()];
                    for _ in 0..n.parse::<usize>().unwrap() {
                        for dy in 0..6 {
                            if (c as u8 - 63) & (1 << dy) != 0 {
                                out[(band * 6 + dy) * w + x] = colour;
                            }
                        }
                        x += 1;
                    }
                    i += 2 + n.len();
                    continue;
                }
                c => {
                    for dy in 0..6 {
                        if (c as u8 - 63) & (1 << dy) != 0 {
                            out[(band * 6 + dy) * w + x] = colour;
                        }
                    }
                    x += 1;
                }
            }
            i += 1;
        }
        (w, h, out)
    }

    #[test]
    fn sixel_round_trips_through_a_reader() {
        let img = crate::data::die::sample(3, 5).pixels;
        for scale in [1, 2] {
            let s = sixel(&img, 32, 32, scale);
            let (w, h, got) = read_sixel(&s);
            assert_eq!((w, h), (32 * scale, 32 * scale));
            for y in 0..h {
                for x in 0..w {
                    let v = usize::from(img[(y / scale) * 32 + x / scale]);
                    assert_eq!(
                        got[y * w + x],
                        (v * 15 + 127) / 255,
                        "({x},{y}) scale {scale}"
                    );
                }
            }
        }
    }

    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn kitty_images_come_in_chunks_that_carry_a_png() {
        // Noise does not compress: a 64x64 image at scale 2 needs several chunks.
        let px: Vec<u8> = (0..64 * 64).map(|i| ((i * 7919) % 251) as u8).collect();
        let s = kitty(&px, 64, 64, 2);
        let parts: Vec<&str> = s.split("\x1b\\").filter(|p| !p.is_empty()).collect();
        assert!(parts.len() > 1, "{} chunks", parts.len());
        assert!(parts[0].starts_with("\x1b_Ga=T,f=100,q=2,C=1,m=1;"));
        assert!(parts.last().unwrap().starts_with("\x1b_Gm=0;"));
        let payload: String = parts.iter().map(|p| p.split_once(';').unwrap().1).collect();
        assert!(payload.len() <= parts.len() * 4096);
        // The payload is the PNG of the scaled image.
        assert!(payload.starts_with(&base64(b"\x89PNG")[..4]));
        assert_eq!(payload, base64(&png_bytes(&px, 64, 64, 2)));
    }

    #[test]
    fn iterm2_images_say_their_size() {
        let s = iterm2(&[255; 4], 2, 2, 3);
        assert!(s.starts_with("\x1b]1337;File=inline=1;size="), "{s}");
        assert!(s.contains(";width=6px;height=6px;"), "{s}");
        assert!(s.ends_with('\x07'));
    }
}
