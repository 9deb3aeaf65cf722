//! The Monitor on a classifier board: the 16x16 canvas (a test digit, or one drawn with
//! the mouse) and the board's answer with its scores.

use super::super::super::app::App;
use super::super::super::theme::{Theme, image_lines};
use super::layout::canvas_geometry;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// The canvas: a 16x16 digit at full scale (two cells per pixel) or in half blocks.
fn canvas_lines(px: &[u8; 256], full_scale: bool, t: Theme) -> Vec<Line<'static>> {
    if !full_scale {
        return image_lines(px, 16, 1, t);
    }
    const RAMP: &[u8] = b" .:-=+*#%@";
    (0..16)
        .map(|y| {
            Line::from(
                (0..16)
                    .map(|x| {
                        let v = px[y * 16 + x];
                        if t.color {
                            Span::styled("  ", Style::new().bg(Color::Rgb(v, v, v)))
                        } else {
                            let c = RAMP[usize::from(v) * (RAMP.len() - 1) / 255] as char;
                            Span::raw(format!("{c}{c}"))
                        }
                    })
                    .collect::<Vec<_>>(),
            )
        })
        .collect()
}

/// The Monitor's main area on a classifier board: the canvas and the board's answer.
pub fn render_classifier(app: &App, t: Theme, f: &mut Frame, area: Rect, full: Rect) {
    let m = &app.monitor;
    let (canvas, full_scale) = canvas_geometry(full);
    let caption = match m.canvas_label {
        Some(l) => format!("digit labelled {l}"),
        None => "your drawing".to_string(),
    };
    f.render_widget(
        Paragraph::new(Line::styled(caption, t.dim())),
        Rect { height: 1, ..area },
    );
    f.render_widget(
        Paragraph::new(canvas_lines(&m.canvas, full_scale, t)),
        canvas,
    );
    // The answer, right of the canvas.
    let right = Rect {
        x: canvas.right() + 2,
        width: area.right().saturating_sub(canvas.right() + 2),
        ..area
    };
    if right.width < 12 {
        return;
    }
    let mut lines = Vec::new();
    match &m.classified {
        None => lines.push(Line::styled(
            if m.asked.is_some() {
                "asking the board…"
            } else {
                "n: send a test digit"
            },
            t.dim(),
        )),
        Some(r) => {
            let verdict = match m.answered_label {
                Some(l) if l == r.class => Span::styled("  right", t.ok()),
                Some(l) => Span::styled(format!("  wrong, it is a {l}"), t.error()),
                None => Span::raw(""),
            };
            lines.push(Line::from(vec![
                Span::styled("board says ", t.dim()),
                Span::styled(
                    format!("{}", r.class),
                    t.accent().add_modifier(Modifier::BOLD),
                ),
                verdict,
            ]));
            let hi = r
                .scores
                .iter()
                .map(|v| i32::from(*v))
                .max()
                .unwrap_or(1)
                .max(1);
            let bar_w = right.width.saturating_sub(8) as i32;
            for (c, v) in r.scores.iter().enumerate() {
                let n = (i32::from(*v).max(0) * bar_w / hi) as usize;
                let style = if c == usize::from(r.class) {
                    t.accent()
                } else {
                    t.dim()
                };
                lines.push(Line::from(vec![
                    Span::styled(format!("{c} {:>4} ", v), t.dim()),
                    Span::styled("█".repeat(n), style),
                ]));
            }
        }
    }
    f.render_widget(Paragraph::new(lines), right);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::msg::Msg;
    use crate::tui::testing::{draw, key};
    use crate::tui::update::update;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use std::path::PathBuf;

    /// The Monitor with real dice: the shipped model run by the C engine, delivered as the
    /// link worker delivers them (HELLO, rows, whole images, traffic, a cut image).
    /// Issue #7, item 4: on a classifier board the Monitor sends a test digit at once,
    /// shows it with the board's class, scores and counter, lets the user draw a digit
    /// with the mouse and sends that; at 80x24 and 120x40.
    #[test]
    fn monitor_of_a_classifier_board() {
        use crate::link::proto::{BoardId, Classified, Hello};
        use crate::link::session::{LinkCmd, LinkEvent};
        use crate::template::Samples;
        use crate::tui::msg::Effect;
        use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
        // A "7": a top bar and a diagonal.
        let mut seven = [0u8; 256];
        for x in 3..13 {
            seven[2 * 16 + x] = 255;
        }
        for y in 3..14 {
            seven[y * 16 + 12 - (y - 3) * 2 / 3] = 255;
        }
        for (w, h) in [(80u16, 24u16), (120, 40)] {
            let p = crate::templates::default_project("bitnet-mnist").unwrap();
            let mut a = App::new(p, Some(PathBuf::from("projects/mnist.ron")), (w, h));
            a.color = false;
            a.monitor.digits = Some(Ok(Samples {
                inputs: vec![seven.to_vec()],
                labels: vec![7],
                what: "test".into(),
                source: "test".into(),
            }));
            key(&mut a, KeyCode::Char('5'));
            update(
                &mut a,
                Msg::Link(LinkEvent::Connected {
                    port: "/dev/pts/9".into(),
                }),
            );
            let hello = Hello {
                protocol: 1,
                board: BoardId::QemuRv32,
                firmware: 0x0100,
                model_hash: 0x1234_abcd,
                max_frame: 259,
                arena_bytes: 384,
                image_h: 1,
                image_w: 10,
                latent: 0,
                classes: 10,
                kind: None,
                steps: 0,
                arena32: None,
            };
            let effect = update(&mut a, Msg::Link(LinkEvent::Hello(hello)));
            let Some(Effect::Link(LinkCmd::Classify { tag, input })) = effect else {
                panic!("the first HELLO sends a test digit, not {effect:?}")
            };
            assert_eq!(input, seven.to_vec());
            update(
                &mut a,
                Msg::Link(LinkEvent::Classified(Classified {
                    tag,
                    class: 7,
                    cycles: 112_856,
                    micros: 0,
                    stack_bytes: 328,
                    scores: vec![-40, 2, 30, 41, -90, 0, -60, 127, 11, 64],
                })),
            );
            let screen = draw(&a);
            assert!(
                screen.contains("board says 7") && screen.contains("right"),
                "{screen}"
            );
            assert!(screen.contains("112,856"), "{screen}");
            insta::assert_snapshot!(format!("monitor_classifier_{w}x{h}"), screen);

            // Erase, draw a stroke with the mouse, and send the drawing.
            key(&mut a, KeyCode::Char('e'));
            assert!(a.monitor.canvas.iter().all(|v| *v == 0));
            let (canvas, _) = canvas_geometry(Rect::new(0, 0, w, h));
            for (kind, dx) in [
                (MouseEventKind::Down(MouseButton::Left), 0),
                (MouseEventKind::Drag(MouseButton::Left), 2),
                (MouseEventKind::Drag(MouseButton::Left), 4),
            ] {
                update(
                    &mut a,
                    Msg::Mouse(MouseEvent {
                        kind,
                        column: canvas.x + 4 + dx,
                        row: canvas.y + 3,
                        modifiers: KeyModifiers::NONE,
                    }),
                );
            }
            let painted = a.monitor.canvas.iter().filter(|v| **v == 255).count();
            assert!(painted >= 3, "a stroke of three cells: {painted} pixels");
            assert_eq!(a.monitor.canvas_label, None);
            let effect = update(
                &mut a,
                Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
            );
            let Some(Effect::Link(LinkCmd::Classify { input, .. })) = effect else {
                panic!("Enter sends the drawing, not {effect:?}")
            };
            assert_eq!(input, a.monitor.canvas.to_vec());
        }
    }

    /// Issue #18, item 1 (keys that lie): on the digit Monitor, `n` sends the next test
    /// digit and `s` sends the drawing; the global "new project" and "save" keys used to
    /// run first and leave the screen.
    #[test]
    fn n_and_s_belong_to_the_digit_monitor() {
        use crate::link::proto::{BoardId, Hello};
        use crate::link::session::{LinkCmd, LinkEvent};
        use crate::template::Samples;
        use crate::tui::layout::Screen;
        use crate::tui::msg::Effect;
        let p = crate::templates::default_project("bitnet-mnist").unwrap();
        let mut a = App::new(p, Some(PathBuf::from("projects/mnist.ron")), (80, 24));
        a.monitor.digits = Some(Ok(Samples {
            inputs: vec![vec![9; 256], vec![200; 256]],
            labels: vec![1, 2],
            what: "test".into(),
            source: "test".into(),
        }));
        key(&mut a, KeyCode::Char('5'));
        let port = "/dev/pts/9".into();
        update(&mut a, Msg::Link(LinkEvent::Connected { port }));
        let hello = Hello {
            protocol: 1,
            board: BoardId::Sim,
            firmware: 0x0100,
            model_hash: 1,
            max_frame: 259,
            arena_bytes: 384,
            image_h: 1,
            image_w: 10,
            latent: 0,
            classes: 10,
            kind: None,
            steps: 0,
            arena32: None,
        };
        update(&mut a, Msg::Link(LinkEvent::Hello(hello)));
        let effect = update(
            &mut a,
            Msg::Key(KeyEvent::new(KeyCode::Char('n'), KeyModifiers::NONE)),
        );
        assert_eq!(a.screen, Screen::Monitor, "n stays on the Monitor");
        assert!(
            matches!(effect, Some(Effect::Link(LinkCmd::Classify { .. }))),
            "n sends a digit: {effect:?}"
        );
        let effect = update(
            &mut a,
            Msg::Key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::NONE)),
        );
        assert_eq!(a.screen, Screen::Monitor);
        assert!(
            matches!(effect, Some(Effect::Link(LinkCmd::Classify { .. }))),
            "s sends the drawing, it does not save: {effect:?}"
        );
        assert!(a.popup.is_none(), "no save dialog");
    }
}
