//! The popups over every screen: help, errors, unsaved changes, overwrite, the file picker
//! and the question about a damaged checkpoint.

use super::app::{AfterDiscard, App, Popup};
use super::layout::{centered, picker_area, picker_window};
use super::picker::{Picker, PickerMode};
use super::theme::{Theme, truncate, truncate_left};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

/// Every key, for the help overlay (and the README).
pub const HELP: &[(&str, &str)] = &[
    ("1-5, Tab, S-Tab", "switch screen"),
    (
        "?  F1  w",
        "this help · w: the workshop steps, done and next",
    ),
    ("o", "open a project"),
    ("s  Ctrl-S", "save (asks where, the first time)"),
    ("S", "save as"),
    ("n", "new project from a template (Enter; f: quick preset)"),
    ("q  Ctrl-C", "quit (asks about unsaved changes)"),
    ("", ""),
    ("↑↓  j k", "move (Project screen)"),
    ("Enter", "edit a field (choices shown) / apply / pick"),
    ("Esc", "cancel an edit (keeps the old value)"),
    ("←→  h l", "step a choice (bits, target, board)"),
    ("t  e", "focus templates / settings"),
    ("p  t/T", "Budget: switch plan / target"),
    ("Enter f space c", "Train: start/resume, fresh, pause, stop"),
    ("↑↓ Enter r", "Deploy: pick a board, deploy, rescan"),
    (
        "r g x v z p c",
        "Monitor: roll, six, stop, view, zoom, PNG, reconnect",
    ),
    ("e  t", "Monitor: seed of the next roll, diffusion steps"),
    (
        "n s e  mouse",
        "digit Monitor: next, send drawing, erase, draw",
    ),
    ("", ""),
    (
        "file picker",
        "type a path, Tab completes, ↑↓ Enter, ← up, Esc",
    ),
    ("mouse", "click tabs, templates, fields; wheel"),
];

pub fn render_popup(app: &App, popup: &Popup, t: Theme, f: &mut Frame, full: Rect) {
    match popup {
        Popup::Help => {
            let r = centered(full, 74.min(full.width), HELP.len() as u16 + 3);
            let mut lines: Vec<Line> = HELP
                .iter()
                .map(|(k, v)| {
                    Line::from(vec![
                        Span::styled(format!("{k:<18}"), t.accent()),
                        Span::raw(*v),
                    ])
                })
                .collect();
            lines.push(Line::styled("any key closes", t.dim()));
            f.render_widget(Clear, r);
            f.render_widget(Paragraph::new(lines).block(t.block("Keys", true)), r);
        }
        Popup::Error { title, text } => {
            let width = 76.min(full.width);
            let inner_w = width.saturating_sub(2).max(1) as usize;
            let wrapped: usize = text
                .lines()
                .map(|l| l.chars().count().div_ceil(inner_w).max(1))
                .sum();
            let r = centered(full, width, wrapped as u16 + 4);
            let mut lines: Vec<Line> = text
                .lines()
                .map(|l| Line::styled(l.to_string(), t.error()))
                .collect();
            lines.push(Line::raw(""));
            lines.push(Line::styled("any key closes", t.dim()));
            f.render_widget(Clear, r);
            f.render_widget(
                Paragraph::new(lines)
                    .wrap(Wrap { trim: false })
                    .block(t.block(title, true).border_style(t.error())),
                r,
            );
        }
        Popup::Discard(then) => {
            let action = match then {
                AfterDiscard::Quit => "quitting",
                AfterDiscard::NewFromTemplate(..) => "starting a new project",
                AfterDiscard::Open => "opening another project",
            };
            let r = centered(full, 58, 6);
            f.render_widget(Clear, r);
            f.render_widget(
                Paragraph::new(vec![
                    Line::raw(format!("'{}' has unsaved changes.", app.project.name)),
                    Line::raw(format!("Save them before {action}?")),
                    Line::styled("s: save · d: discard · Esc: go back", t.accent()),
                ])
                .block(t.block("Unsaved changes", true)),
                r,
            );
        }
        Popup::Overwrite(path) => {
            let r = centered(full, 64, 5);
            f.render_widget(Clear, r);
            f.render_widget(
                Paragraph::new(vec![
                    Line::raw(truncate_left(&format!("{} exists.", path.display()), 60)),
                    Line::styled("Replace it? y: replace · n: go back", t.accent()),
                ])
                .block(t.block("Replace file", true)),
                r,
            );
        }
        Popup::Picker(picker) => render_picker(picker, t, f, full),
        Popup::Steps {
            title,
            states,
            can_skip,
        } => {
            let width = 78.min(full.width);
            let done = states.iter().filter(|s| s.done).count();
            let first_open = states.iter().position(|s| !s.done);
            let mut lines = Vec::new();
            for (i, st) in states.iter().enumerate() {
                let (mark, style) = if st.done {
                    ("[x] ", t.accent())
                } else {
                    ("[ ] ", Style::new())
                };
                lines.push(Line::from(vec![
                    Span::styled(format!("{mark}{}. {}", i + 1, st.title), style),
                    Span::styled(format!("  {}", st.status), t.dim()),
                ]));
                if Some(i) == first_open && !st.hint.is_empty() {
                    lines.push(Line::styled(format!("    next: {}", st.hint), t.accent()));
                }
            }
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                if *can_skip {
                    "k: skip past training (the workshop's reference checkpoint) · any key closes"
                } else {
                    "the same as 'tinygen steps check PROJECT' · any key closes"
                },
                t.dim(),
            ));
            popup_box(
                f,
                full,
                width,
                lines,
                &format!("{title} · {done} of {} done", states.len()),
                t,
            );
        }
        Popup::Setup(checks) => {
            let width = 78.min(full.width);
            let mut lines = vec![Line::raw(
                "This machine lacks something the project needs; each has its fix:",
            )];
            for c in checks {
                lines.push(Line::raw(""));
                lines.push(Line::from(vec![
                    Span::styled(format!("{}: ", c.name), t.error()),
                    Span::raw(c.found.clone()),
                ]));
                if let Some(fix) = &c.fix {
                    lines.push(Line::from(vec![
                        Span::styled("fix: ", t.accent()),
                        Span::raw(fix.clone()),
                    ]));
                }
            }
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                "All checks: tinygen doctor · any key closes",
                t.dim(),
            ));
            popup_box(f, full, width, lines, "Setup", t);
        }
        Popup::TrainFresh(reason) => {
            let r = centered(full, 70, 8);
            f.render_widget(Clear, r);
            f.render_widget(
                Paragraph::new(vec![
                    Line::styled(reason.clone(), t.error()),
                    Line::raw(""),
                    Line::styled(
                        "Start training from scratch? y: yes, replace it · n: no",
                        t.accent(),
                    ),
                ])
                .wrap(Wrap { trim: true })
                .block(t.block("Checkpoint", true)),
                r,
            );
        }
    }
}

/// A box of wrapped `lines`, as tall as they need (at most the screen), centred.
fn popup_box(f: &mut Frame, full: Rect, width: u16, lines: Vec<Line>, title: &str, t: Theme) {
    let inner_w = width.saturating_sub(2).max(1) as usize;
    let rows: usize = lines
        .iter()
        .map(|l| l.width().div_ceil(inner_w).max(1))
        .sum();
    let r = centered(full, width, (rows as u16 + 2).min(full.height));
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(t.block(title, true)),
        r,
    );
}

fn render_picker(p: &Picker, t: Theme, f: &mut Frame, full: Rect) {
    let r = picker_area(full);
    let title = match p.mode {
        PickerMode::Open => "Open project",
        PickerMode::Save => "Save project as",
    };
    let block = t.block(title, true);
    let inner = block.inner(r);
    f.render_widget(Clear, r);
    f.render_widget(block, r);
    let w = inner.width as usize;
    let (rows, offset) = picker_window(r, p.selected);
    // The folder, and where the list is when it does not fit: "13–24 of 40".
    let shown = p.entries.len().min(offset + rows);
    let place = if p.entries.len() > rows {
        format!("  {}–{shown} of {} ↕", offset + 1, p.entries.len())
    } else {
        String::new()
    };
    let folder = truncate_left(
        &p.dir.display().to_string(),
        w.saturating_sub(place.chars().count()),
    );
    let mut lines = vec![Line::from(vec![
        Span::styled(folder, t.dim()),
        Span::styled(place, t.accent()),
    ])];
    for (i, e) in p.entries.iter().enumerate().skip(offset).take(rows) {
        let name = if e.is_dir {
            format!("{}/", e.name)
        } else {
            e.name.clone()
        };
        let style = if i == p.selected {
            t.selected()
        } else {
            Style::new()
        };
        lines.push(Line::styled(truncate(&name, w), style));
    }
    while lines.len() < rows + 1 {
        lines.push(Line::raw(""));
    }
    match &p.error {
        Some(e) => lines.push(Line::styled(truncate(e, w), t.error())),
        None => {
            let label = match p.mode {
                PickerMode::Save => "File name: ",
                PickerMode::Open => "Go to: ",
            };
            let room = w.saturating_sub(label.len() + 1);
            lines.push(Line::from(vec![
                Span::styled(label, t.dim()),
                Span::styled(format!("{}█", truncate_left(&p.filename, room)), t.accent()),
            ]));
        }
    }
    let hint = match p.mode {
        PickerMode::Open => "name or path · Tab: complete · Enter: open · ←: up · Esc: cancel",
        PickerMode::Save => "name or path (~/…) · Tab: complete · Enter: save · ←: up · Esc",
    };
    lines.push(Line::styled(truncate(hint, w), t.dim()));
    f.render_widget(Paragraph::new(lines), inner);
}
