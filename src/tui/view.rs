//! Rendering the workbench: the tabs, the current screen, the status bar and any popup.
//! Nothing here changes state.

use super::app::App;
use super::layout::{Areas, BRAND, MIN_HEIGHT, MIN_WIDTH, Screen, areas, centered, tab_label};
use super::theme::{Theme, truncate};
use super::{popup, screens};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use std::time::Instant;

/// Draws the whole workbench: a pure function of the state and the time `now` (which the
/// Monitor's rates are measured against).
pub fn render(app: &App, f: &mut Frame, now: Instant) {
    let t = Theme { color: app.color };
    let full = f.area();
    if full.width < MIN_WIDTH || full.height < MIN_HEIGHT {
        render_too_small(t, f, full);
        return;
    }
    let a = areas(full);
    render_tabs(app, t, f, &a);
    match app.screen {
        Screen::Project => screens::project::render(app, t, f, a.templates, a.form),
        Screen::Train => screens::train::render(app, t, f, a.body),
        Screen::Budget => screens::budget::render(app, t, f, a.body),
        Screen::Deploy => screens::deploy::render(app, t, f, a.body),
        Screen::Monitor => screens::monitor::render(app, t, f, a.body, now),
    }
    render_status(app, t, f, a.status);
    if let Some(p) = &app.popup {
        popup::render_popup(app, p, t, f, full);
    } else if app.pending.is_some() {
        let r = centered(full, 56, 5);
        f.render_widget(Clear, r);
        f.render_widget(
            Paragraph::new(vec![
                Line::raw("Waiting for the desktop file dialog…"),
                Line::styled("Esc: use the in-terminal picker instead", t.dim()),
            ])
            .block(t.block("Files", true)),
            r,
        );
    }
}

fn render_too_small(t: Theme, f: &mut Frame, area: Rect) {
    let lines = vec![
        Line::styled(
            "Terminal too small",
            t.accent().add_modifier(Modifier::BOLD),
        ),
        Line::raw(format!(
            "tinygen needs {MIN_WIDTH}x{MIN_HEIGHT}; this one is {}x{}.",
            area.width, area.height
        )),
        Line::styled(
            "Enlarge the window or make the font smaller. q quits.",
            t.dim(),
        ),
    ];
    let top = area.height.saturating_sub(lines.len() as u16) / 2;
    let r = Rect {
        y: area.y + top,
        height: area.height - top,
        ..area
    };
    f.render_widget(
        Paragraph::new(lines)
            .alignment(ratatui::layout::Alignment::Center)
            .wrap(ratatui::widgets::Wrap { trim: true }),
        r,
    );
}

fn render_tabs(app: &App, t: Theme, f: &mut Frame, a: &Areas) {
    let mut spans = vec![
        Span::styled(BRAND, t.accent().add_modifier(Modifier::BOLD)),
        Span::raw(" "),
    ];
    for s in Screen::ALL {
        let style = if s == app.screen {
            t.selected().add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        };
        spans.push(Span::styled(tab_label(s), style));
        spans.push(Span::raw(" "));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), a.tabs);
}

fn render_status(app: &App, t: Theme, f: &mut Frame, area: Rect) {
    let board = format!(
        " {} · {} ",
        app.project.board.kind,
        app.monitor.short_state()
    );
    let right = " ? help  q quit ";
    let (middle, style) = match &app.status {
        Some(s) if s.is_error => (s.text.clone(), t.error()),
        Some(s) => (s.text.clone(), t.ok()),
        None => (app.title(), Style::new()),
    };
    let room = (area.width as usize).saturating_sub(board.chars().count() + right.len() + 2);
    let middle = truncate(&middle, room);
    let pad = room.saturating_sub(middle.chars().count());
    let line = Line::from(vec![
        Span::styled(board, t.dim().add_modifier(Modifier::REVERSED)),
        Span::raw(" "),
        Span::styled(middle, style),
        Span::raw(" ".repeat(pad + 1)),
        Span::styled(right, t.dim()),
    ]);
    f.render_widget(Paragraph::new(line), area);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::Popup;
    use crate::tui::picker::{Entry, Picker, PickerMode};
    use crate::tui::testing::{app, draw, key};
    use crossterm::event::KeyCode;
    use std::path::PathBuf;

    #[test]
    fn every_screen_at_both_sizes() {
        for (w, h) in [(80, 24), (120, 40)] {
            for (i, s) in Screen::ALL.iter().enumerate() {
                let mut a = app(w, h);
                key(&mut a, KeyCode::Char((b'1' + i as u8) as char));
                assert_eq!(a.screen, *s);
                insta::assert_snapshot!(format!("{}_{w}x{h}", s.title().to_lowercase()), draw(&a));
            }
        }
    }

    /// #18, item 9: at 60x20 rows wrapped, tabs were cut and the help was cut off.
    #[test]
    fn a_small_terminal_says_the_size_it_needs() {
        for (w, h) in [(60, 20), (79, 24), (80, 23), (30, 8)] {
            let a = app(w, h);
            let screen = draw(&a);
            assert!(screen.contains("Terminal too small"), "{w}x{h}: {screen}");
            if w >= 40 {
                assert!(screen.contains(&format!("needs 80x24; this one is {w}x{h}")));
            }
        }
        insta::assert_snapshot!("too_small_60x20", draw(&app(60, 20)));
        assert!(!draw(&app(80, 24)).contains("too small"));
    }

    #[test]
    fn help_overlay() {
        for (w, h) in [(80, 24), (120, 40)] {
            let mut a = app(w, h);
            key(&mut a, KeyCode::Char('?'));
            insta::assert_snapshot!(format!("help_{w}x{h}"), draw(&a));
        }
    }

    /// Issue #20: what the project needs and the machine lacks, at both sizes, each
    /// failure with its fix; any key closes it.
    #[test]
    fn setup_panel_lists_what_is_missing_with_fixes() {
        use crate::doctor::checks::{dialout, parse_identity, port_thief};
        let ada = parse_identity(
            "Uid:\t1000\t1000\t1000\t1000\nGroups:\t1000\n",
            "ada:x:1000:1000::/home/ada:/bin/sh\n",
        );
        let brltty = crate::doctor::sys::Process {
            pid: 812,
            name: "brltty".into(),
            ports: vec!["/dev/ttyUSB0".into()],
        };
        let checks = vec![
            dialout(&ada, "dialout:x:20:\n"),
            port_thief(&[brltty], "brltty"),
        ];
        for (w, h) in [(80, 24), (120, 40)] {
            let mut a = app(w, h);
            crate::tui::update::update(&mut a, crate::tui::msg::Msg::Setup(checks.clone()));
            let screen = draw(&a);
            assert!(screen.contains("sudo usermod -aG dialout ada"), "{screen}");
            insta::assert_snapshot!(format!("setup_{w}x{h}"), screen);
            key(&mut a, KeyCode::Char('x'));
            assert_eq!(a.popup, None);
        }
        // It does not push aside a popup the user already has, nor show an empty list.
        let mut a = app(80, 24);
        key(&mut a, KeyCode::Char('?'));
        crate::tui::update::update(&mut a, crate::tui::msg::Msg::Setup(checks));
        assert_eq!(a.popup, Some(Popup::Help));
        let mut a = app(80, 24);
        crate::tui::update::update(&mut a, crate::tui::msg::Msg::Setup(vec![]));
        assert_eq!(a.popup, None);
    }

    /// Issue #20: `w` shows the workshop steps, the first open one with its hint.
    #[test]
    fn steps_panel_on_an_unsaved_die() {
        let dir = tempfile::tempdir().unwrap();
        for (w, h) in [(80, 24), (120, 40)] {
            let mut a = app(w, h);
            // Not the repository's project: its progress and checkpoints are a developer's.
            a.path = Some(dir.path().join("die.ron"));
            key(&mut a, KeyCode::Char('w'));
            let screen = draw(&a);
            assert!(screen.contains("1 of 6 done"), "{screen}");
            assert!(screen.contains("next: Train screen (2)"), "{screen}");
            insta::assert_snapshot!(format!("steps_{w}x{h}"), screen);
        }
    }

    #[test]
    fn picker_popup() {
        let mut a = app(80, 24);
        a.popup = Some(Popup::Picker(Picker {
            mode: PickerMode::Save,
            dir: PathBuf::from("/home/ada/projects"),
            entries: vec![
                Entry {
                    name: "..".into(),
                    is_dir: true,
                },
                Entry {
                    name: "dice".into(),
                    is_dir: true,
                },
                Entry {
                    name: "mnist.ron".into(),
                    is_dir: false,
                },
            ],
            selected: 1,
            filename: "cvae-die.ron".into(),
            browsing: true,
            suggested: "cvae-die.ron".into(),
            error: None,
        }));
        insta::assert_snapshot!("picker_save_80x24", draw(&a));
    }

    #[test]
    fn tiny_terminals_do_not_panic() {
        for (w, h) in [(1, 1), (10, 3), (20, 5), (0, 0), (300, 2)] {
            for s in 0..5u8 {
                let mut a = app(w.max(1), h.max(1));
                key(&mut a, KeyCode::Char((b'1' + s) as char));
                key(&mut a, KeyCode::Char('?'));
                let _ = draw(&a);
                key(&mut a, KeyCode::Esc);
                let _ = draw(&a);
            }
        }
    }
}
