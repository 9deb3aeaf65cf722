//! How the workbench draws: colours (none when the user says NO_COLOR), and the small text
//! and image helpers every screen uses.

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders};

/// Styles, with colour only when the user wants it (NO_COLOR).
#[derive(Clone, Copy)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    pub fn fg(self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }
    pub fn accent(self) -> Style {
        self.fg(Color::Cyan)
    }
    pub fn dim(self) -> Style {
        self.fg(Color::DarkGray)
    }
    pub fn error(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    pub fn ok(self) -> Style {
        self.fg(Color::Green)
    }
    pub fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
    pub fn block(self, title: &str, focused: bool) -> Block<'static> {
        let border = if focused { self.accent() } else { self.dim() };
        Block::new()
            .borders(Borders::ALL)
            .border_type(BorderType::Rounded)
            .border_style(border)
            .title(Span::styled(
                format!(" {title} "),
                Style::new().add_modifier(Modifier::BOLD),
            ))
    }
}

pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else if max == 0 {
        String::new()
    } else {
        let mut out: String = s.chars().take(max - 1).collect();
        out.push('…');
        out
    }
}

/// Keeps the end of a path visible when it is too long.
pub fn truncate_left(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max || max == 0 {
        s.to_string()
    } else {
        let tail: String = s.chars().skip(n - max + 1).collect();
        format!("…{tail}")
    }
}

pub fn fmt_duration(secs: f32) -> String {
    let s = secs.round() as u64;
    if s >= 3600 {
        format!("{}h {:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// One image as half-block cells, downscaled by `factor`; without colour, an ASCII ramp.
pub fn image_lines(pixels: &[u8], side: usize, factor: usize, t: Theme) -> Vec<Line<'static>> {
    let small = side / factor;
    let px: Vec<u8> = (0..small * small)
        .map(|i| {
            let (x, y) = (i % small, i / small);
            let mut sum = 0u32;
            for dy in 0..factor {
                for dx in 0..factor {
                    sum += u32::from(pixels[(y * factor + dy) * side + x * factor + dx]);
                }
            }
            (sum / (factor * factor) as u32) as u8
        })
        .collect();
    if !t.color {
        return crate::preview::ascii(&px, small)
            .into_iter()
            .map(Line::raw)
            .collect();
    }
    crate::preview::half_block_cells(&px, small)
        .into_iter()
        .map(|row| {
            Line::from(
                row.into_iter()
                    .map(|(top, bottom)| {
                        Span::styled(
                            "▀",
                            Style::new()
                                .fg(Color::Rgb(top, top, top))
                                .bg(Color::Rgb(bottom, bottom, bottom)),
                        )
                    })
                    .collect::<Vec<_>>(),
            )
        })
        .collect()
}

/// The top and bottom halves of `r`.
pub fn halves(r: Rect) -> (Rect, Rect) {
    let top = Rect {
        height: r.height / 2,
        ..r
    };
    let bottom = Rect {
        y: r.y + top.height,
        height: r.height - top.height,
        ..r
    };
    (top, bottom)
}

/// The key line in `width`: as written when it fits, else with two spaces between the
/// keys instead of " · " (the diffusion Monitor's fits 80 columns so), and cut
/// only when that is still too long.
pub fn key_line(keys: &str, width: usize) -> String {
    if keys.chars().count() <= width {
        return keys.to_string();
    }
    truncate(&keys.replace(" · ", "  "), width)
}

#[cfg(test)]
mod tests {
    use super::key_line;

    /// The diffusion Monitor's keys were cut at 80 columns ("c reco…"): they now fit with
    /// two spaces between keys, and a line that fits is left as written.
    #[test]
    fn a_key_line_too_wide_closes_up_before_it_is_cut() {
        let keys =
            "r roll · g six · e seed · t steps · x stop · v view · z zoom · p PNG · c reconnect";
        assert_eq!(
            key_line(keys, 78),
            "r roll  g six  e seed  t steps  x stop  v view  z zoom  p PNG  c reconnect"
        );
        assert_eq!(key_line(keys, 200), keys);
        assert!(key_line(keys, 20).chars().count() <= 20);
    }
}
