//! Rendering: a pure function of the [`App`] state. Nothing here changes state.

use super::app::{
    AfterDiscard, App, BRAND, Focus, Popup, Screen, areas, centered, form_window, picker_area,
    picker_window, tab_label,
};
use super::form::{self, FieldId};
use super::picker::{Picker, PickerMode};
use crate::budget;
use crate::project::BoardKind;
use crate::template;
use crate::train::EpochLoss;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Wrap};

/// Styles, with colour only when the user wants it (NO_COLOR).
#[derive(Clone, Copy)]
struct Theme {
    color: bool,
}

impl Theme {
    fn fg(self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }
    fn accent(self) -> Style {
        self.fg(Color::Cyan)
    }
    fn dim(self) -> Style {
        self.fg(Color::DarkGray)
    }
    fn error(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    fn ok(self) -> Style {
        self.fg(Color::Green)
    }
    fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
    fn block(self, title: &str, focused: bool) -> Block<'static> {
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

/// Draws the whole workbench.
pub fn render(app: &App, f: &mut Frame) {
    let t = Theme { color: app.color };
    let full = f.area();
    let a = areas(full);
    render_tabs(app, t, f, &a);
    match app.screen {
        Screen::Project => render_project(app, t, f, a.templates, a.form),
        Screen::Train => render_train(app, t, f, a.body),
        Screen::Budget => render_budget(app, t, f, a.body),
        Screen::Deploy => render_deploy(app, t, f, a.body),
        Screen::Monitor => render_monitor(app, t, f, a.body),
    }
    render_status(app, t, f, a.status);
    if let Some(p) = &app.popup {
        render_popup(app, p, t, f, full);
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

fn render_tabs(app: &App, t: Theme, f: &mut Frame, a: &super::app::Areas) {
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

fn truncate(s: &str, max: usize) -> String {
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
fn truncate_left(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max || max == 0 {
        s.to_string()
    } else {
        let tail: String = s.chars().skip(n - max + 1).collect();
        format!("…{tail}")
    }
}

fn render_project(app: &App, t: Theme, f: &mut Frame, left: Rect, right: Rect) {
    // Templates.
    let focused = app.focus == Focus::Templates;
    let block = t.block("Templates", focused);
    let inner = block.inner(left);
    f.render_widget(block, left);
    let mut lines: Vec<Line> = template::all()
        .iter()
        .enumerate()
        .map(|(i, def)| {
            let current = def.id == app.project.template;
            let mark = if current { "● " } else { "  " };
            let text = truncate(&format!("{mark}{}", def.title), inner.width as usize);
            let style = if i == app.template_sel && focused {
                t.selected()
            } else if i == app.template_sel {
                Style::new().add_modifier(Modifier::BOLD)
            } else {
                Style::new()
            };
            Line::styled(text, style)
        })
        .collect();
    lines.push(Line::raw(""));
    if let Some(def) = template::all().get(app.template_sel) {
        lines.push(Line::styled(def.summary, t.dim()));
        lines.push(Line::raw(""));
        lines.push(Line::styled("Enter: new project from it", t.accent()));
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), inner);

    // Settings form.
    let focused = app.focus == Focus::Form;
    let block = t.block(&format!("Settings · {}", app.project.name), focused);
    let inner = block.inner(right);
    f.render_widget(block, right);
    let fields = app.fields();
    let (rows, offset) = form_window(right, app.field_sel);
    let label_w = 24usize;
    let mut lines = Vec::new();
    let raw = app.project.to_raw();
    let mut last_section = "";
    for (i, id) in fields.iter().enumerate().skip(offset).take(rows) {
        let (section, label) = form::label(*id, &app.project);
        let section_text = if section != last_section || i == offset {
            section
        } else {
            ""
        };
        last_section = section;
        let head = format!("{section_text:<10}{label}");
        let selected = i == app.field_sel;
        let editing = app.editing.as_ref().filter(|e| e.field == *id);
        let value_span = match editing {
            Some(ed) => {
                let style = if ed.error.is_some() {
                    t.error()
                } else {
                    t.accent()
                };
                Span::styled(format!("{}█", ed.buffer), style)
            }
            None => {
                let v = form::value_in(*id, &app.project, &raw);
                if v.is_empty() {
                    Span::styled(form::placeholder(*id).unwrap_or("").to_string(), t.dim())
                } else if form::choices(*id).is_some() {
                    Span::raw(format!("‹ {v} ›"))
                } else {
                    Span::raw(v)
                }
            }
        };
        let head_style = if selected && focused && editing.is_none() {
            t.selected()
        } else if selected {
            Style::new().add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        };
        lines.push(Line::from(vec![
            Span::styled(
                format!("{:<label_w$}", truncate(&head, label_w - 1)),
                head_style,
            ),
            Span::raw(" "),
            value_span,
        ]));
    }
    let list_area = Rect {
        height: inner.height.saturating_sub(2),
        ..inner
    };
    f.render_widget(Paragraph::new(lines), list_area);
    let hint_area = Rect {
        y: inner.y + inner.height.saturating_sub(2),
        height: 2.min(inner.height),
        ..inner
    };
    let hint = match (&app.editing, app.selected_field()) {
        (Some(ed), _) if ed.error.is_some() => Line::styled(
            format!(
                "✗ {} (Esc: keep the old value)",
                ed.error.as_deref().unwrap_or("")
            ),
            t.error(),
        ),
        (Some(_), _) => Line::styled("Enter: apply · Esc: cancel · Ctrl-U: clear", t.dim()),
        (None, Some(id)) => Line::styled(field_hint(app, id), t.dim()),
        (None, None) => Line::raw(""),
    };
    f.render_widget(Paragraph::new(hint).wrap(Wrap { trim: true }), hint_area);
}

fn field_hint(app: &App, id: FieldId) -> String {
    match id {
        FieldId::Target => format!("←/→ change · {}", app.project.target_profile().title),
        FieldId::BoardKind => format!("←/→ change · {}", board_summary(app.project.board.kind)),
        FieldId::LayerBits(_) => "←/→ change · 1, 1.58 (ternary), 2, 4 or 8 bits per weight".into(),
        FieldId::DatasetPath => "Enter: edit · a folder of your own data; empty: built-in".into(),
        FieldId::Port => "Enter: edit · e.g. /dev/ttyUSB0; empty: find it".into(),
        _ => "Enter: edit · ↑/↓: move · t: templates · s: save".into(),
    }
}

fn board_summary(kind: BoardKind) -> &'static str {
    match kind {
        BoardKind::Sim => "the host build of the firmware on a pseudo-terminal, no hardware",
        BoardKind::QemuRv32 => "the RV32EC firmware in qemu-system-riscv32",
        BoardKind::Ch32v003 => "a CH32V003 flashed with probe-rs through a WCH-LinkE",
        BoardKind::Pi => "a Raspberry Pi running the tinygen runner, over serial",
    }
}

fn fmt_duration(secs: f32) -> String {
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
fn image_lines(pixels: &[u8], side: usize, factor: usize, t: Theme) -> Vec<Line<'static>> {
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

fn render_train(app: &App, t: Theme, f: &mut Frame, area: Rect) {
    use ratatui::widgets::{Axis, Chart, Dataset, Gauge, GraphType};
    let p = &app.project;
    let tr = &app.train;
    let classifier = p.template == crate::template::TemplateId::BitnetMnist;
    let block = t.block("Train", true);
    let inner = block.inner(area);
    f.render_widget(block, area);
    if inner.height < 4 || inner.width < 20 {
        return;
    }
    // Status and progress.
    let status = if tr.running {
        let mut s = format!(
            "Epoch {}/{} · batch {}/{}",
            tr.epoch, tr.epochs, tr.batch, tr.batches
        );
        if let Some((r, k)) = tr.last_batch {
            if classifier {
                s += &format!(" · loss {r:.3}");
            } else {
                s += &format!(" · recon {r:.1} · kl {k:.2}");
            }
        }
        if let Some(eta) = tr.eta_seconds() {
            s += &format!(" · ETA {}", fmt_duration(eta));
        }
        if tr.paused {
            s += " · PAUSED";
        }
        Line::styled(s, t.accent())
    } else if let Some(m) = &tr.message {
        Line::styled(m.clone(), t.dim())
    } else {
        Line::styled(
            format!(
                "Enter: train {} for {} epochs (batch {}, learning rate {}); resumes from the last checkpoint",
                p.template.def().title,
                p.training.epochs,
                p.training.batch_size,
                p.training.learning_rate
            ),
            t.dim(),
        )
    };
    f.render_widget(Paragraph::new(status), Rect { height: 1, ..inner });
    let done = tr.history.len() as f64
        + if tr.batches > 0 {
            tr.batch as f64 / tr.batches as f64
        } else {
            0.0
        };
    let ratio = if tr.epochs > 0 {
        (done / tr.epochs as f64).clamp(0.0, 1.0)
    } else {
        0.0
    };
    f.render_widget(
        Gauge::default()
            .gauge_style(t.accent())
            .ratio(if tr.running || !tr.history.is_empty() {
                ratio
            } else {
                0.0
            })
            .label(format!("{:.0}%", ratio * 100.0)),
        Rect {
            y: inner.y + 1,
            height: 1,
            ..inner
        },
    );
    let hint_y = inner.y + inner.height - 1;
    f.render_widget(
        Paragraph::new(Line::styled(
            truncate(
                "Enter: train/resume · f: fresh · space: pause · c: stop",
                inner.width as usize,
            ),
            t.dim(),
        )),
        Rect {
            y: hint_y,
            height: 1,
            ..inner
        },
    );
    let body = Rect {
        y: inner.y + 2,
        height: inner.height.saturating_sub(3),
        ..inner
    };
    if classifier {
        render_train_classifier(app, t, f, body);
        return;
    }

    // Samples on the right: 3 columns x 2 rows of one die per pip count.
    let big = body.width >= 3 * 33 + 30 && body.height > 2 * 17;
    let (factor, tile_w) = if big { (1, 33u16) } else { (2, 17u16) };
    let tile_h = (32 / factor / 2) as u16 + 1;
    let grid_w = (3 * tile_w).min(body.width.saturating_sub(24));
    let grid = Rect {
        x: body.x + body.width - grid_w,
        width: grid_w,
        ..body
    };
    let charts = Rect {
        width: body.width.saturating_sub(grid_w + 1),
        ..body
    };
    let shown: Vec<&(u8, Vec<u8>)> = (1..=6u8)
        .filter_map(|pips| tr.samples.iter().find(|(p, _)| *p == pips))
        .collect();
    if shown.is_empty() {
        f.render_widget(
            Paragraph::new(Line::styled(
                "Generated dice appear here after each epoch.",
                t.dim(),
            ))
            .wrap(Wrap { trim: true }),
            grid,
        );
    }
    for (k, (pips, px)) in shown.iter().enumerate() {
        let cell = Rect {
            x: grid.x + (k % 3) as u16 * tile_w,
            y: grid.y + (k / 3) as u16 * tile_h,
            width: tile_w.min(grid.width),
            height: tile_h,
        }
        .intersection(grid);
        if cell.height == 0 {
            continue;
        }
        let mut lines = vec![Line::styled(
            format!("{pips} pip{}", if *pips == 1 { "" } else { "s" }),
            t.dim(),
        )];
        lines.extend(image_lines(px, 32, factor, t));
        f.render_widget(Paragraph::new(lines), cell);
    }

    // Loss curves on the left, one chart each.
    if charts.width < 12 || charts.height < 4 {
        return;
    }
    let (half, lower) = halves(charts);
    let series = |pick: fn(&EpochLoss) -> f32| -> Vec<(f64, f64)> {
        tr.history
            .iter()
            .map(|l| (f64::from(l.epoch), f64::from(pick(l))))
            .collect()
    };
    for (rect, title, data, color) in [
        (half, "reconstruction", series(|l| l.recon), Color::Cyan),
        (lower, "KL", series(|l| l.kl), Color::Magenta),
    ] {
        let (lo, hi) = data.iter().fold((f64::MAX, f64::MIN), |(a, b), (_, y)| {
            (a.min(*y), b.max(*y))
        });
        let (lo, hi) = if data.is_empty() {
            (0.0, 1.0)
        } else {
            (lo, hi.max(lo + 1e-3))
        };
        let last = data
            .last()
            .map_or(String::from("–"), |(_, y)| format!("{y:.2}"));
        let epochs = f64::from(tr.epochs.max(p.training.epochs).max(1));
        let ds = Dataset::default()
            .name(title)
            .marker(ratatui::symbols::Marker::Braille)
            .graph_type(GraphType::Line)
            .style(t.fg(color))
            .data(&data);
        let chart = Chart::new(vec![ds])
            .block(Block::new().title(Span::styled(format!("{title} {last}"), t.dim())))
            .x_axis(Axis::default().bounds([1.0, epochs]).style(t.dim()))
            .y_axis(
                Axis::default()
                    .bounds([lo, hi])
                    .labels(if hi - lo < 10.0 {
                        [format!("{lo:.1}"), format!("{hi:.1}")]
                    } else {
                        [format!("{lo:.0}"), format!("{hi:.0}")]
                    })
                    .style(t.dim()),
            )
            .legend_position(None);
        f.render_widget(chart, rect);
    }
}

/// The Train screen's body for a classifier: loss and accuracy curves on the left; the
/// test-set confusion matrix (percent of each true digit) and test digits with their
/// predicted class on the right.
fn render_train_classifier(app: &App, t: Theme, f: &mut Frame, body: Rect) {
    use ratatui::widgets::{Axis, Chart, Dataset, GraphType};
    let tr = &app.train;
    let matrix_w = 2 + 10 * 3 + 8;
    let side_w = (matrix_w as u16).min(body.width.saturating_sub(24));
    let side = Rect {
        x: body.x + body.width - side_w,
        width: side_w,
        ..body
    };
    let charts = Rect {
        width: body.width.saturating_sub(side_w + 1),
        ..body
    };
    // Confusion matrix.
    let mut lines = vec![Line::styled(
        "test confusion, % of each digit".to_string(),
        t.dim(),
    )];
    if tr.confusion.is_empty() {
        lines.push(Line::styled(
            "Appears after each epoch when a test set is found (t10k files in dataset.path or \
             $TINYGEN_MNIST)."
                .to_string(),
            t.dim(),
        ));
    } else {
        let mut head = String::from("  ");
        for c in 0..tr.confusion.len() {
            head += &format!("{c:>3}");
        }
        head += "    ok";
        lines.push(Line::styled(head, t.dim()));
        for (i, row) in tr.confusion.iter().enumerate() {
            let total = row.iter().sum::<u32>().max(1);
            let mut spans = vec![Span::styled(format!("{i} "), t.dim())];
            for (j, v) in row.iter().enumerate() {
                let pct = f64::from(*v) * 100.0 / f64::from(total);
                let cell = if *v == 0 {
                    "  ·".to_string()
                } else {
                    format!("{:>3.0}", pct.clamp(1.0, 99.0))
                };
                let style = if i == j {
                    t.ok()
                } else if pct >= 1.0 {
                    t.error()
                } else {
                    t.dim()
                };
                spans.push(Span::styled(cell, style));
            }
            spans.push(Span::styled(
                format!(" {:>5.1}", f64::from(row[i]) * 100.0 / f64::from(total)),
                t.accent(),
            ));
            lines.push(Line::from(spans));
        }
    }
    let used = lines.len() as u16;
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), side);
    // Test digits with their predictions, below the matrix when there is room.
    let below = Rect {
        y: side.y + used + 1,
        height: side.height.saturating_sub(used + 1),
        ..side
    };
    if below.height >= 9 && !tr.samples.is_empty() {
        let per_row = (below.width / 18).max(1) as usize;
        for (k, (pred, px)) in tr.samples.iter().enumerate() {
            let cell = Rect {
                x: below.x + (k % per_row) as u16 * 18,
                y: below.y + (k / per_row) as u16 * 9,
                width: 18,
                height: 9,
            }
            .intersection(below);
            if cell.height < 9 {
                break;
            }
            let mut l = vec![Line::styled(format!("says {pred}"), t.dim())];
            l.extend(image_lines(px, 16, 1, t));
            f.render_widget(Paragraph::new(l), cell);
        }
    }
    if charts.width < 12 || charts.height < 4 {
        return;
    }
    let (half, lower) = halves(charts);
    let epochs = f64::from(tr.epochs.max(app.project.training.epochs).max(1));
    let loss: Vec<(f64, f64)> = tr
        .history
        .iter()
        .map(|l| (f64::from(l.epoch), f64::from(l.recon)))
        .collect();
    let train_acc: Vec<(f64, f64)> = tr
        .history
        .iter()
        .filter_map(|l| Some((f64::from(l.epoch), f64::from(l.accuracy?) * 100.0)))
        .collect();
    let test_acc: Vec<(f64, f64)> = tr
        .history
        .iter()
        .filter_map(|l| Some((f64::from(l.epoch), f64::from(l.test_accuracy?) * 100.0)))
        .collect();
    let hi = loss.iter().fold(1e-3f64, |m, (_, y)| m.max(*y));
    let last_loss = loss.last().map_or("–".into(), |(_, y)| format!("{y:.3}"));
    let chart = Chart::new(vec![
        Dataset::default()
            .marker(ratatui::symbols::Marker::Braille)
            .graph_type(GraphType::Line)
            .style(t.fg(Color::Cyan))
            .data(&loss),
    ])
    .block(Block::new().title(Span::styled(format!("loss {last_loss}"), t.dim())))
    .x_axis(Axis::default().bounds([1.0, epochs]).style(t.dim()))
    .y_axis(
        Axis::default()
            .bounds([0.0, hi])
            .labels(["0".to_string(), format!("{hi:.2}")])
            .style(t.dim()),
    )
    .legend_position(None);
    f.render_widget(chart, half);
    let lo = train_acc
        .iter()
        .chain(&test_acc)
        .fold(100.0f64, |m, (_, y)| m.min(*y))
        .min(90.0)
        .floor();
    let title = match (train_acc.last(), test_acc.last()) {
        (Some((_, a)), Some((_, b))) => format!("accuracy: train {a:.2}% · test {b:.2}%"),
        (Some((_, a)), None) => format!("accuracy: train {a:.2}% (no test set)"),
        _ => "accuracy".to_string(),
    };
    let chart = Chart::new(vec![
        Dataset::default()
            .marker(ratatui::symbols::Marker::Braille)
            .graph_type(GraphType::Line)
            .style(t.fg(Color::Magenta))
            .data(&train_acc),
        Dataset::default()
            .marker(ratatui::symbols::Marker::Braille)
            .graph_type(GraphType::Line)
            .style(t.fg(Color::Green))
            .data(&test_acc),
    ])
    .block(Block::new().title(Span::styled(title, t.dim())))
    .x_axis(Axis::default().bounds([1.0, epochs]).style(t.dim()))
    .y_axis(
        Axis::default()
            .bounds([lo, 100.0])
            .labels([format!("{lo:.0}%"), "100%".to_string()])
            .style(t.dim()),
    )
    .legend_position(None);
    f.render_widget(chart, lower);
}

/// The top and bottom halves of `r`.
fn halves(r: Rect) -> (Rect, Rect) {
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

fn usage_style(t: Theme, used: u64, limit: Option<u64>) -> Style {
    match limit {
        Some(l) if used > l => t.error(),
        Some(l) if used * 10 > l * 9 => t.fg(Color::Yellow),
        _ => t.ok(),
    }
}

fn render_budget(app: &App, t: Theme, f: &mut Frame, area: Rect) {
    let b = &app.budget;
    let block = t.block(
        &format!("Budget · {} · plan {}", b.target, b.plan.name()),
        true,
    );
    let inner = block.inner(area);
    f.render_widget(block, area);
    let wide = inner.width >= 100;
    let base = b.sram.static_bytes + b.sram.stack_bytes + b.sram.weight_buffer_bytes;
    let mut lines = vec![Line::styled(
        truncate(&b.target_title, inner.width as usize),
        t.dim(),
    )];
    let head = if wide {
        format!(
            "{:<10} {:<8} {:>8} {:>8} {:>7} {:>4} {:>8} {:>7} {:<12} {:>10} {:>11}",
            "layer",
            "op",
            "in",
            "out",
            "params",
            "bits",
            "flash B",
            "live B",
            "SRAM",
            "MACs",
            "cycles"
        )
    } else {
        format!(
            "{:<9} {:<8} {:>8} {:>6} {:>4} {:>7} {:>6} {:<10} {:>10}",
            "layer", "op", "out", "params", "bits", "flash B", "live B", "SRAM", "cycles"
        )
    };
    lines.push(Line::styled(head, t.dim().add_modifier(Modifier::BOLD)));
    let heaviest = b.layers.iter().map(|l| l.weight_bytes).max().unwrap_or(0);
    for l in &b.layers {
        let bits = crate::project::WeightBits::from_f64(l.weight_bits)
            .map_or(String::new(), |w| w.to_string());
        let live_total = base + l.live_bytes;
        let limit = b.sram.limit_bytes;
        let bar_w = if wide { 12 } else { 10 };
        let sram_bar = budget::bar(live_total, limit.unwrap_or(0), bar_w);
        let flash_style = if b.flash_over_bytes() > 0 && l.weight_bytes == heaviest {
            t.error()
        } else {
            Style::new()
        };
        let peak = if l.name == b.peak_layer {
            t.accent().add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        };
        let runs = if l.runs > 1 {
            format!(" x{}", l.runs)
        } else {
            String::new()
        };
        let mut spans = vec![Span::styled(format!("{:<9} ", truncate(&l.name, 9)), peak)];
        if wide {
            spans[0] = Span::styled(format!("{:<10} ", truncate(&l.name, 10)), peak);
            spans.push(Span::raw(format!(
                "{:<8} {:>8} {:>8} {:>7} {:>4} ",
                l.op,
                l.input.to_string(),
                l.output.to_string(),
                budget::count(l.params),
                bits
            )));
        } else {
            spans.push(Span::raw(format!(
                "{:<8} {:>8} {:>6} {:>4} ",
                l.op,
                l.output.to_string(),
                budget::count(l.params),
                bits
            )));
        }
        spans.push(Span::styled(
            format!(
                "{:>width$} ",
                budget::count(l.weight_bytes),
                width = if wide { 8 } else { 7 }
            ),
            flash_style,
        ));
        spans.push(Span::raw(format!(
            "{:>width$} ",
            budget::count(l.live_bytes),
            width = if wide { 7 } else { 6 }
        )));
        spans.push(Span::styled(
            format!("{sram_bar} "),
            usage_style(t, live_total, limit),
        ));
        if wide {
            spans.push(Span::raw(format!("{:>10} ", budget::count(l.macs))));
            spans.push(Span::raw(format!("{:>11}{runs}", budget::count(l.cycles))));
        } else {
            spans.push(Span::raw(format!("{:>10}", budget::count(l.cycles))));
        }
        lines.push(Line::from(spans));
    }
    let repeated: Vec<&str> = b
        .layers
        .iter()
        .filter(|l| l.runs > 1)
        .map(|l| l.name.as_str())
        .collect();
    match (repeated.first(), repeated.last()) {
        (Some(first), Some(last)) if !wide => lines.push(Line::styled(
            format!(
                "{first} … {last} run {} times per image (counted in cycles)",
                b.layers[0].runs
            ),
            t.dim(),
        )),
        _ => lines.push(Line::raw("")),
    }
    let gauge = |label: &str, used: u64, limit: Option<u64>, detail: String| {
        let (amount, bar) = match limit {
            Some(l) => (
                format!(
                    "{:>9} of {:>9}",
                    budget::bytes_short(used),
                    budget::bytes_short(l)
                ),
                budget::bar(used, l, 20),
            ),
            None => (
                format!("{:>9} (no limit)", budget::bytes_short(used)),
                String::new(),
            ),
        };
        Line::from(vec![
            Span::styled(
                format!("{label:<6}"),
                Style::new().add_modifier(Modifier::BOLD),
            ),
            Span::styled(format!("{amount} {bar} "), usage_style(t, used, limit)),
            Span::styled(detail, t.dim()),
        ])
    };
    let fl = &b.flash;
    let (flash_label, ram_label) = if b.sram.weight_buffer_bytes > 0 {
        ("File", "RAM")
    } else {
        ("Flash", "SRAM")
    };
    lines.push(gauge(
        flash_label,
        fl.total_bytes,
        fl.limit_bytes,
        if b.sram.weight_buffer_bytes > 0 {
            format!(
                "weights {} · header {}",
                budget::count(fl.weight_bytes),
                fl.code_bytes
            )
        } else {
            format!(
                "weights {} · code ~{}",
                budget::count(fl.weight_bytes),
                budget::count(fl.code_bytes)
            )
        },
    ));
    lines.push(gauge(
        ram_label,
        b.sram.total_bytes,
        b.sram.limit_bytes,
        format!(
            "arena {} · peak '{}'",
            budget::count(b.sram.arena_bytes),
            b.peak_layer
        ),
    ));
    lines.push(Line::styled(
        format!(
            "arena: layer by layer {} · tiled {}{}",
            budget::bytes(b.arena.layer_bytes),
            budget::bytes(b.arena.tiled_bytes),
            if b.arena.tiled_streams {
                " (streams rows)"
            } else {
                " (nothing to stream)"
            }
        ),
        t.dim(),
    ));
    let noun = b.run;
    let mut speed = format!(
        "{} instructions · {} cycles per {noun}",
        budget::count(b.instructions),
        budget::count(b.cycles)
    );
    if let Some(ms) = b.ms_per_run {
        speed += &format!(" · {ms:.1} ms");
    }
    lines.push(Line::styled(speed + " (est.)", t.dim()));
    for a in &b.advice {
        let style = if b.fits { t.ok() } else { t.error() };
        lines.push(Line::styled(a.clone(), style));
    }
    let rest = Rect {
        height: inner.height.saturating_sub(1),
        ..inner
    };
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), rest);
    let hint = Rect {
        y: inner.y + inner.height.saturating_sub(1),
        height: 1.min(inner.height),
        ..inner
    };
    f.render_widget(
        Paragraph::new(Line::styled(
            truncate(
                "p: plan · t/T: target · widths and bits: Project screen (1)",
                inner.width as usize,
            ),
            t.dim(),
        )),
        hint,
    );
}

fn render_deploy(app: &App, t: Theme, f: &mut Frame, area: Rect) {
    let d = &app.deploy;
    let mut lines = vec![Line::styled(
        format!("Boards (project board: {})", app.project.board.kind),
        t.dim(),
    )];
    if !d.scanned || d.boards.is_empty() {
        lines.push(Line::styled("Looking for boards…", t.dim()));
    }
    for (i, b) in d.boards.iter().enumerate() {
        let mark = if i == d.sel { "▶ " } else { "  " };
        let style = if b.unavailable.is_some() {
            t.dim()
        } else if i == d.sel {
            Style::new().add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        };
        let mut spans = vec![Span::styled(format!("{mark}{}", b.label), style)];
        if let Some(why) = &b.unavailable {
            spans.push(Span::styled(format!(" — {why}"), t.error()));
        }
        lines.push(Line::from(spans));
    }
    lines.push(Line::raw(""));
    for (name, done, total) in &d.stages {
        let width = 24usize;
        let filled = if *total > 0 {
            ((*done as f64 / *total as f64) * width as f64).round() as usize
        } else {
            0
        }
        .min(width);
        lines.push(Line::from(vec![
            Span::styled(format!("{name:<8} "), t.dim()),
            Span::raw(format!(
                "[{}{}]",
                "█".repeat(filled),
                "░".repeat(width - filled)
            )),
            Span::styled(format!(" {done}/{total}"), t.dim()),
        ]));
    }
    for l in &d.log {
        lines.push(Line::styled(l.clone(), t.dim()));
    }
    match &d.result {
        Some(Ok(msg)) => lines.push(Line::styled(format!("Done: {msg}."), t.ok())),
        Some(Err(msg)) => lines.push(Line::styled(
            format!("Failed: {}", msg.lines().next().unwrap_or("")),
            t.error(),
        )),
        None if d.running => lines.push(Line::styled("Working…", t.dim())),
        None => {}
    }
    lines.push(Line::styled(
        "↑↓ pick · Enter build, flash and verify (sim/qemu: start and watch) · r rescan",
        t.dim(),
    ));
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(t.block("Deploy", true)),
        area,
    );
}

fn render_monitor(app: &App, t: Theme, f: &mut Frame, area: Rect) {
    use super::monitor::{LinkState, PreviewStyle};
    use ratatui::layout::{Constraint, Layout};
    let m = &app.monitor;
    let block = t.block("Monitor", true);
    f.render_widget(block, area);
    let now = std::time::Instant::now();
    let rows = monitor_rows(area);
    let (state, style) = match &m.state {
        LinkState::Off => ("not connected".to_string(), t.dim()),
        LinkState::Starting(what) => (format!("{what}…"), t.dim()),
        LinkState::Live => (
            match (&m.hello, &m.port) {
                (Some(h), Some(p)) => {
                    format!("{} on {p} · model {:08x}", h.board.name(), h.model_hash)
                }
                (_, Some(p)) => format!("connected on {p}, waiting for HELLO"),
                _ => "connected".into(),
            },
            t.ok(),
        ),
        LinkState::Disconnected(r) => (format!("disconnected: {r}"), t.error()),
        LinkState::Reconnecting(n) => (format!("disconnected; reconnecting (try {n})"), t.error()),
        LinkState::VersionError { board } => (
            format!(
                "version error: the board speaks protocol {board}, tinygen {}; update the firmware",
                crate::link::proto::PROTOCOL_VERSION
            ),
            t.error(),
        ),
        LinkState::Failed(r) => (format!("could not start the board: {r}"), t.error()),
    };
    f.render_widget(
        Paragraph::new(Line::styled(
            truncate(&state, rows[0].width as usize),
            style,
        )),
        rows[0],
    );

    let cols = Layout::horizontal([Constraint::Min(20), Constraint::Length(24)]).split(rows[1]);
    let classifier = m.is_classifier();
    if classifier {
        let full = Rect::new(0, 0, app.size.0, app.size.1);
        render_classifier(app, t, f, cols[0], full);
    } else {
        render_dice(app, t, f, cols[0]);
    }

    let mut side = if classifier {
        let (asked, right) = m.tally;
        vec![
            Line::from(vec![
                Span::styled("right     ", t.dim()),
                Span::raw(if asked > 0 {
                    format!("{right} of {asked}")
                } else {
                    "–".into()
                }),
            ]),
            Line::from(vec![
                Span::styled("received  ", t.dim()),
                Span::raw(budget::bytes(m.total_bytes)),
            ]),
            Line::from(vec![
                Span::styled("damaged   ", t.dim()),
                Span::raw(format!("{} frames", m.damaged_frames)),
            ]),
        ]
    } else {
        vec![
            Line::from(vec![
                Span::styled("dice/s    ", t.dim()),
                Span::raw(format!("{:.1}", m.fps(now))),
            ]),
            Line::from(vec![
                Span::styled("bytes/s   ", t.dim()),
                Span::raw(format!("{:.0}", m.bytes_per_second(now))),
            ]),
            Line::from(vec![
                Span::styled("link use  ", t.dim()),
                Span::raw(format!("{:.0}% of {}", m.link_use(now) * 100.0, m.baud)),
            ]),
            Line::from(vec![
                Span::styled("received  ", t.dim()),
                Span::raw(budget::bytes(m.total_bytes)),
            ]),
            Line::from(vec![
                Span::styled("damaged   ", t.dim()),
                Span::raw(format!("{} frames", m.damaged_frames)),
            ]),
        ]
    };
    if let Some(c) = m.last_cycles {
        side.push(Line::from(vec![
            Span::styled("counter   ", t.dim()),
            Span::raw(budget::count(u64::from(c))),
        ]));
    }
    if m.stack_bytes > 0 {
        side.push(Line::from(vec![
            Span::styled("stack     ", t.dim()),
            Span::raw(format!("{} B", m.stack_bytes)),
        ]));
    }
    if !classifier {
        side.push(Line::from(vec![
            Span::styled("preview   ", t.dim()),
            Span::raw(m.style.name()),
        ]));
    }
    if let Some((board, want)) = m.other_model {
        side.push(Line::styled(format!("board model {board:08x}"), t.error()));
        side.push(Line::styled(format!("project's   {want:08x}"), t.error()));
    }
    f.render_widget(Paragraph::new(side), cols[1]);

    let log: Vec<Line> = m
        .log
        .iter()
        .rev()
        .take(rows[2].height as usize)
        .rev()
        .map(|l| Line::styled(truncate(l, rows[2].width as usize), t.dim()))
        .collect();
    f.render_widget(Paragraph::new(log), rows[2]);
    let keys = if classifier {
        "n next test digit · draw with the mouse (right erases) · Enter classify it · e erase · c reconnect"
    } else if m.style == PreviewStyle::Sixel {
        "r roll · g six · x stop · v view · p save PNG · c reconnect (sixel drawn over the dice)"
    } else {
        "r roll · g six · x stop · v view · p save PNG · c reconnect"
    };
    f.render_widget(
        Paragraph::new(Line::styled(
            truncate(keys, rows[3].width as usize),
            t.dim(),
        )),
        rows[3],
    );
}

/// Where the Monitor's 16x16 canvas sits for a terminal of size `full`, and how many
/// pixels one cell holds: `(area, full_scale)`. At full scale a pixel is two cells wide
/// and one high; otherwise one cell holds two pixels, one above the other (half blocks).
pub fn canvas_geometry(full: Rect) -> (Rect, bool) {
    use ratatui::layout::{Constraint, Layout};
    let body = super::app::areas(full).body;
    let rows = monitor_rows(body);
    let cols = Layout::horizontal([Constraint::Min(20), Constraint::Length(24)]).split(rows[1]);
    let area = cols[0];
    // One line of caption above the canvas.
    let full_scale = area.height > 16 && area.width >= 32;
    let (w, h) = if full_scale { (32, 16) } else { (16, 8) };
    let canvas = Rect {
        x: area.x,
        y: area.y + 1,
        width: w,
        height: h,
    }
    .intersection(area);
    (canvas, full_scale)
}

/// The canvas pixels under terminal cell `at` (none when it is off the canvas).
pub fn canvas_pixels_at(full: Rect, at: ratatui::layout::Position) -> Option<Vec<(usize, usize)>> {
    let (c, full_scale) = canvas_geometry(full);
    if !c.contains(at) {
        return None;
    }
    let (dx, dy) = ((at.x - c.x) as usize, (at.y - c.y) as usize);
    Some(if full_scale {
        vec![(dx / 2, dy)]
    } else {
        vec![(dx, 2 * dy), (dx, 2 * dy + 1)]
    })
}

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
fn render_classifier(app: &App, t: Theme, f: &mut Frame, area: Rect, full: Rect) {
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

/// The Monitor's rows inside its border: the link line, the dice and side panel, the log,
/// the keys.
fn monitor_rows(area: Rect) -> std::rc::Rc<[Rect]> {
    use ratatui::layout::{Constraint, Layout};
    let inner = Rect {
        x: area.x + 1,
        y: area.y + 1,
        width: area.width.saturating_sub(2),
        height: area.height.saturating_sub(2),
    };
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(4),
        Constraint::Length(3),
        Constraint::Length(1),
    ])
    .split(inner)
}

/// Size of one die tile on the Monitor, in cells.
const TILE: (u16, u16) = (34, 17);

/// Where the dice go: one tile each, row by row, as many as `area` holds.
fn dice_tiles(area: Rect, n: usize) -> Vec<Rect> {
    let (w, h) = TILE;
    let per_row = (area.width / w).max(1);
    let rows = (area.height / h).max(1);
    (0..n.min((per_row * rows) as usize) as u16)
        .map(|k| Rect {
            x: area.x + (k % per_row) * w,
            y: area.y + (k / per_row) * h,
            width: w.min(area.width),
            height: h.min(area.height.saturating_sub((k / per_row) * h)),
        })
        .filter(|r| r.height > 0)
        .collect()
}

/// The images the Monitor shows, in tile order: the die being drawn, then the gallery,
/// newest first. `(label, pixels, width, height)`.
fn monitor_images(app: &App) -> Vec<(String, Vec<u8>, usize, usize)> {
    let m = &app.monitor;
    let mut tiles: Vec<(String, Vec<u8>, usize, usize)> = Vec::new();
    if let Some(d) = &m.drawing {
        // Rows so far on a blank die of the full height.
        let height = m.hello.map_or(d.width, |h| usize::from(h.image_h));
        tiles.push((
            format!("{} pips…", d.label),
            d.pixels.clone(),
            d.width,
            height,
        ));
    }
    for img in m.gallery.iter().rev() {
        tiles.push((
            format!("{} pip{}", img.label, if img.label == 1 { "" } else { "s" }),
            img.pixels.clone(),
            img.width,
            img.height,
        ));
    }
    tiles
}

/// Sixel images to write over the Monitor after a frame: `(column, row, sequence)`.
pub fn monitor_sixels(app: &App) -> Vec<(u16, u16, String)> {
    use super::monitor::PreviewStyle;
    if app.screen != Screen::Monitor
        || app.monitor.style != PreviewStyle::Sixel
        || app.popup.is_some()
    {
        return Vec::new();
    }
    let body = areas(Rect::new(0, 0, app.size.0, app.size.1)).body;
    let rows = monitor_rows(body);
    let dice = ratatui::layout::Layout::horizontal([
        ratatui::layout::Constraint::Min(20),
        ratatui::layout::Constraint::Length(24),
    ])
    .split(rows[1])[0];
    let images = monitor_images(app);
    dice_tiles(dice, images.len())
        .into_iter()
        .zip(images)
        .filter(|(r, _)| r.height > 8)
        .map(|(r, (_, px, w, h))| {
            let mut full = px;
            full.resize(w * h, 0);
            (r.x, r.y + 1, crate::preview::sixel(&full, w, h, 3))
        })
        .collect()
}

/// The die being drawn (rows so far) and then the gallery, newest first, as many as fit.
fn render_dice(app: &App, t: Theme, f: &mut Frame, area: Rect) {
    use super::monitor::PreviewStyle;
    let m = &app.monitor;
    let tiles = monitor_images(app);
    if tiles.is_empty() {
        let msg = if m.can_generate() {
            "No dice yet: press r to roll."
        } else {
            "Dice appear here as the board streams them."
        };
        f.render_widget(Paragraph::new(Line::styled(msg, t.dim())), area);
        return;
    }
    let cells = dice_tiles(area, tiles.len());
    for (cell, (label, px, width, height)) in cells.into_iter().zip(tiles) {
        let mut lines = vec![Line::styled(label, t.dim())];
        // A die still being drawn shows its rows so far; the rest stays blank. The
        // half-block drawing takes square images.
        let side = width.max(height).max(1);
        let mut full = px;
        full.resize(width * height, 0);
        if width != height {
            let mut square = vec![0u8; side * side];
            for (y, row) in full.chunks(width.max(1)).enumerate() {
                square[y * side..y * side + row.len()].copy_from_slice(row);
            }
            full = square;
        }
        let width = side;
        if m.style == PreviewStyle::Sixel {
            lines.push(Line::styled("(sixel)", t.dim()));
        } else if m.style == PreviewStyle::Ascii || !t.color {
            lines.extend(
                crate::preview::ascii(&full, width)
                    .into_iter()
                    .map(Line::raw),
            );
        } else {
            lines.extend(image_lines(&full, width, 1, t));
        }
        f.render_widget(Paragraph::new(lines), cell);
    }
}

/// Every key, for the help overlay (and the README).
pub const HELP: &[(&str, &str)] = &[
    ("1-5, Tab, S-Tab", "switch screen"),
    ("?  F1", "this help"),
    ("o", "open a project"),
    ("s  Ctrl-S", "save (asks where, the first time)"),
    ("S", "save as"),
    ("n", "new project from a template"),
    ("q  Ctrl-C", "quit (asks about unsaved changes)"),
    ("", ""),
    ("↑↓  j k", "move (Project screen)"),
    ("Enter", "edit a field / apply / pick a template"),
    ("Esc", "cancel an edit (keeps the old value)"),
    ("←→  h l", "change a choice (bits, target, board)"),
    ("t  e", "focus templates / settings"),
    ("p  t/T", "Budget: switch plan / target"),
    ("Enter f space c", "Train: start/resume, fresh, pause, stop"),
    (
        "r g x v p c",
        "Monitor: roll, six, stop, view, PNG, reconnect",
    ),
    ("", ""),
    ("file picker", "↑↓ move, Enter open, Backspace up, Esc"),
    ("mouse", "click tabs, templates, fields; wheel"),
];

fn render_popup(app: &App, popup: &Popup, t: Theme, f: &mut Frame, full: Rect) {
    match popup {
        Popup::Help => {
            let r = centered(full, 62, HELP.len() as u16 + 3);
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
                AfterDiscard::NewFromTemplate(_) => "starting a new project",
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
    let mut lines = vec![Line::styled(
        truncate_left(&p.dir.display().to_string(), w),
        t.dim(),
    )];
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
        None if p.mode == PickerMode::Save => {
            lines.push(Line::from(vec![
                Span::styled("File name: ", t.dim()),
                Span::styled(format!("{}█", p.filename), t.accent()),
            ]));
        }
        None => lines.push(Line::raw("")),
    }
    let hint = match p.mode {
        PickerMode::Open => "Enter: open · Backspace: up a folder · Esc: cancel",
        PickerMode::Save => "type a name · Enter: save · ↑↓: browse · Esc: cancel",
    };
    lines.push(Line::styled(truncate(hint, w), t.dim()));
    f.render_widget(Paragraph::new(lines), inner);
}

#[cfg(test)]
mod tests {
    use super::super::app::{Msg, update};
    use super::super::picker::Entry;
    use super::*;
    use crate::project::Project;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use std::path::PathBuf;

    fn app(w: u16, h: u16) -> App {
        let p = Project::from_template(&template::all()[0]);
        let mut a = App::new(p, Some(PathBuf::from("projects/die.ron")), (w, h));
        a.color = false;
        a
    }

    fn draw(app: &App) -> String {
        let (w, h) = app.size;
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        term.draw(|f| render(app, f)).unwrap();
        term.backend().to_string()
    }

    fn key(app: &mut App, code: KeyCode) {
        update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    #[test]
    fn sixel_dice_are_painted_only_when_asked_and_inside_the_dice_area() {
        use crate::link::session::{Image, LinkEvent};
        let mut a = app(120, 40);
        a.screen = Screen::Monitor;
        for i in 0..3u16 {
            update(
                &mut a,
                Msg::Link(LinkEvent::Image(Image {
                    index: i,
                    label: 2,
                    width: 32,
                    height: 32,
                    pixels: crate::data::die::sample(1, u64::from(i)).pixels,
                })),
            );
        }
        assert!(monitor_sixels(&a).is_empty(), "half-blocks by default");
        a.monitor.sixel_ok = true;
        a.monitor.cycle_style();
        a.monitor.cycle_style();
        assert_eq!(a.monitor.style, super::super::monitor::PreviewStyle::Sixel);
        let six = monitor_sixels(&a);
        assert_eq!(six.len(), 2, "two tiles fit 120x40");
        for (x, y, seq) in &six {
            assert!(*x < 120 - 24 && *y < 40, "({x},{y})");
            assert!(seq.starts_with("\x1bP") && seq.ends_with("\x1b\\"));
        }
        assert!(draw(&a).contains("(sixel)"));
        a.popup = Some(Popup::Help);
        assert!(monitor_sixels(&a).is_empty(), "no sixel over a popup");
    }

    #[test]
    fn deploy_lists_boards_and_acts_on_the_pick() {
        use super::super::app::Effect;
        use super::super::deploy::{BoardEntry, DeployEvent};
        use crate::project::BoardKind;
        let mut a = app(80, 24);
        let e = update(
            &mut a,
            Msg::Key(KeyEvent::new(KeyCode::Char('4'), KeyModifiers::NONE)),
        );
        assert_eq!(
            e,
            Some(Effect::ScanBoards),
            "the first visit looks for boards"
        );
        let boards = vec![
            BoardEntry {
                kind: BoardKind::Sim,
                port: None,
                label: "simulated board".into(),
                unavailable: None,
            },
            BoardEntry {
                kind: BoardKind::QemuRv32,
                port: None,
                label: "qemu rv32ec".into(),
                unavailable: None,
            },
            BoardEntry {
                kind: BoardKind::Ch32v003,
                port: None,
                label: "CH32V003 through a WCH-LinkE".into(),
                unavailable: Some("no debug probe found".into()),
            },
            BoardEntry {
                kind: BoardKind::Pi,
                port: Some("/dev/ttyUSB0".into()),
                label: "Raspberry Pi runner on /dev/ttyUSB0".into(),
                unavailable: None,
            },
        ];
        update(&mut a, Msg::Deploy(DeployEvent::Boards(boards)));
        // The CH32V003 without a probe: Enter explains instead of trying.
        key(&mut a, KeyCode::Down);
        key(&mut a, KeyCode::Down);
        let e = update(
            &mut a,
            Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
        );
        assert_eq!(e, None);
        assert!(matches!(a.popup, Some(Popup::Error { .. })));
        a.popup = None;
        // The Pi: an upload starts; its stages show as gauges.
        key(&mut a, KeyCode::Down);
        let e = update(
            &mut a,
            Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
        );
        assert!(matches!(e, Some(Effect::Deploy { .. })));
        update(
            &mut a,
            Msg::Deploy(DeployEvent::Stage {
                name: "upload",
                done: 942,
                total: 1884,
            }),
        );
        insta::assert_snapshot!("deploy_uploading_80x24", draw(&a));
        // A failed verify is reported as a failure, never as done.
        update(
            &mut a,
            Msg::Deploy(DeployEvent::Finished(Err(
                "the upload did not verify".into()
            ))),
        );
        assert!(matches!(a.popup, Some(Popup::Error { .. })));
        assert!(!draw(&a).contains("Done:"));
        a.popup = None;
        // The simulated board: Enter starts it and lands on the Monitor.
        key(&mut a, KeyCode::Down);
        let e = update(
            &mut a,
            Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
        );
        assert!(matches!(e, Some(Effect::Connect { .. })));
        assert_eq!(a.screen, Screen::Monitor);
    }

    /// Regression: a die still being drawn (8 of 32 rows) used to panic the half-block
    /// renderer, which takes square images.
    #[test]
    fn a_die_half_drawn_renders() {
        use crate::link::session::LinkEvent;
        let mut a = app(80, 24);
        a.color = true;
        a.screen = Screen::Monitor;
        update(
            &mut a,
            Msg::Link(LinkEvent::Rows(crate::link::proto::ImageRows {
                index: 0,
                label: 4,
                first_row: 0,
                rows: 8,
                width: 32,
                data: vec![200; 256],
            })),
        );
        assert!(draw(&a).contains("4 pips…"));
        a.monitor.cycle_style();
        assert!(draw(&a).contains("4 pips…"));
    }

    /// The Monitor with real dice: the shipped model run by the C engine, delivered as the
    /// link worker delivers them (HELLO, rows, whole images, traffic, a cut image).
    /// Issue #7, item 4: on a classifier board the Monitor sends a test digit at once,
    /// shows it with the board's class, scores and counter, lets the user draw a digit
    /// with the mouse and sends that; at 80x24 and 120x40.
    #[test]
    fn monitor_of_a_classifier_board() {
        use super::super::app::Effect;
        use super::super::monitor::DigitSet;
        use crate::link::proto::{BoardId, Classified, Hello};
        use crate::link::session::{LinkCmd, LinkEvent};
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
            let p = Project::from_template(template::find("bitnet-mnist").unwrap());
            let mut a = App::new(p, Some(PathBuf::from("projects/mnist.ron")), (w, h));
            a.color = false;
            a.monitor.digits = Some(Ok(DigitSet {
                inputs: vec![seven],
                labels: vec![7],
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

    #[test]
    fn monitor_with_streamed_dice() {
        use crate::link::proto::{BoardId, Hello};
        use crate::link::session::{Image, LinkEvent};
        let mut engine = crate::engine::Engine::load(crate::deploy::DEFAULT_DIE_BLOB).unwrap();
        for (w, h) in [(80, 24), (120, 40)] {
            let mut a = app(w, h);
            let effect = update(
                &mut a,
                Msg::Key(KeyEvent::new(KeyCode::Char('5'), KeyModifiers::NONE)),
            );
            assert!(
                matches!(effect, Some(super::super::app::Effect::Connect { .. })),
                "connects on first view"
            );
            update(
                &mut a,
                Msg::Link(LinkEvent::Connected {
                    port: "/dev/pts/7".into(),
                }),
            );
            let hello = Hello {
                protocol: 1,
                board: BoardId::Sim,
                firmware: 0x0100,
                model_hash: 0x4e89_3e4c,
                max_frame: 32,
                arena_bytes: 544,
                image_h: 32,
                image_w: 32,
                latent: 2,
                classes: 6,
            };
            let effect = update(&mut a, Msg::Link(LinkEvent::Hello(hello)));
            assert!(
                matches!(
                    effect,
                    Some(super::super::app::Effect::Link(
                        crate::link::session::LinkCmd::Generate { count: 6, .. }
                    ))
                ),
                "the first HELLO rolls six dice"
            );
            for (i, pips) in [3u8, 6, 1].into_iter().enumerate() {
                let x = crate::engine::latent_input(5, i as u16, 32, pips, 2, 6);
                let pixels = engine.run(&x).unwrap();
                update(
                    &mut a,
                    Msg::Link(LinkEvent::Image(Image {
                        index: i as u16,
                        label: pips,
                        width: 32,
                        height: 32,
                        pixels,
                    })),
                );
            }
            update(
                &mut a,
                Msg::Link(LinkEvent::Incomplete { index: 3, rows: 16 }),
            );
            insta::assert_snapshot!(format!("monitor_live_{w}x{h}"), draw(&a));
            // 'r' rolls one die; 'v' switches the preview to ASCII.
            let effect = update(
                &mut a,
                Msg::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::NONE)),
            );
            assert!(matches!(
                effect,
                Some(super::super::app::Effect::Link(
                    crate::link::session::LinkCmd::Generate {
                        label: 0,
                        count: 1,
                        ..
                    }
                ))
            ));
            // The board goes away: the Monitor says so, and 'r' sends nothing.
            update(
                &mut a,
                Msg::Link(LinkEvent::Disconnected {
                    reason: "Input/output error".into(),
                }),
            );
            update(&mut a, Msg::Link(LinkEvent::Reconnecting { attempt: 2 }));
            let effect = update(
                &mut a,
                Msg::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::NONE)),
            );
            assert_eq!(effect, None);
            assert!(draw(&a).contains("reconnecting (try 2)"));
        }
    }

    /// Issue #7, item 3: the classifier's Train screen shows loss and accuracy per epoch
    /// and the test confusion matrix, at 80x24 and 120x40.
    #[test]
    fn train_screen_of_the_digit_classifier() {
        use crate::train::TrainEvent;
        for (w, h) in [(80, 24), (120, 40)] {
            let p = Project::from_template(template::find("bitnet-mnist").unwrap());
            let mut a = App::new(p, Some(PathBuf::from("projects/mnist.ron")), (w, h));
            a.color = false;
            key(&mut a, KeyCode::Char('2'));
            a.train.running = true;
            let mut confusion = vec![vec![0u32; 10]; 10];
            for (i, row) in confusion.iter_mut().enumerate() {
                row[i] = 950 + i as u32;
                row[(i + 3) % 10] = 30;
                row[(i + 7) % 10] = 4;
            }
            // A blocky "digit": a bar whose column follows the class.
            let digit = |c: usize| -> Vec<u8> {
                (0..256)
                    .map(|k| {
                        if k % 16 == 3 + c && k / 16 > 2 {
                            255
                        } else {
                            0
                        }
                    })
                    .collect()
            };
            let msgs = [
                TrainEvent::Started {
                    epochs: 30,
                    batches: 313,
                    history: vec![],
                },
                TrainEvent::Epoch {
                    loss: EpochLoss {
                        epoch: 1,
                        recon: 1.2,
                        accuracy: Some(0.61),
                        test_accuracy: Some(0.84),
                        ..EpochLoss::default()
                    },
                    seconds: 1.1,
                    samples: vec![],
                    confusion: vec![],
                },
                TrainEvent::Epoch {
                    loss: EpochLoss {
                        epoch: 2,
                        recon: 0.6,
                        accuracy: Some(0.83),
                        test_accuracy: Some(0.9312),
                        ..EpochLoss::default()
                    },
                    seconds: 1.0,
                    samples: (0..6).map(|c| (c as u8, digit(c))).collect(),
                    confusion,
                },
                TrainEvent::Batch {
                    epoch: 3,
                    batch: 100,
                    recon: 0.512,
                    kl: 0.0,
                },
            ];
            for m in msgs {
                update(&mut a, Msg::Train(m));
            }
            let screen = draw(&a);
            assert!(screen.contains("loss 0.512"), "{screen}");
            assert!(screen.contains("test 93.12%"), "{screen}");
            insta::assert_snapshot!(format!("train_classifier_{w}x{h}"), screen);
        }
    }

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

    #[test]
    fn help_overlay() {
        for (w, h) in [(80, 24), (120, 40)] {
            let mut a = app(w, h);
            key(&mut a, KeyCode::Char('?'));
            insta::assert_snapshot!(format!("help_{w}x{h}"), draw(&a));
        }
    }

    #[test]
    fn inline_validation_error() {
        let mut a = app(80, 24);
        // Select "fc width": name, latent, two encoder fields, then fc width.
        for _ in 0..5 {
            key(&mut a, KeyCode::Down);
        }
        key(&mut a, KeyCode::Char('k'));
        key(&mut a, KeyCode::Enter);
        key(&mut a, KeyCode::Backspace);
        key(&mut a, KeyCode::Char('0'));
        key(&mut a, KeyCode::Enter);
        assert!(a.editing.as_ref().unwrap().error.is_some());
        assert!(!a.dirty);
        insta::assert_snapshot!("form_error_80x24", draw(&a));
    }

    #[test]
    fn budget_follows_edits_and_plans() {
        let mut a = app(80, 24);
        let before = a.budget.flash.weight_bytes;
        // fc width: name, latent, two encoder fields, then fc width.
        for _ in 0..4 {
            key(&mut a, KeyCode::Down);
        }
        key(&mut a, KeyCode::Enter);
        key(&mut a, KeyCode::Backspace);
        for c in "16".chars() {
            key(&mut a, KeyCode::Char(c));
        }
        key(&mut a, KeyCode::Enter);
        assert_eq!(a.project.model.layers[0].width, 16);
        assert!(
            a.budget.flash.weight_bytes > before,
            "the budget did not follow the edit"
        );
        key(&mut a, KeyCode::Char('3'));
        key(&mut a, KeyCode::Char('p'));
        assert_eq!(a.budget.plan, crate::budget::Plan::Layer);
        assert!(!a.budget.fits);
        insta::assert_snapshot!("budget_over_80x24", draw(&a));
        key(&mut a, KeyCode::Char('t'));
        assert_eq!(a.project.target, "ch32v002");
        assert_eq!(a.budget.target, "ch32v002");
    }

    #[test]
    fn budget_of_the_largest_template() {
        let p = Project::from_template(template::find("streaming-sd").unwrap());
        let mut a = App::new(p, None, (80, 24));
        a.color = false;
        key(&mut a, KeyCode::Char('3'));
        insta::assert_snapshot!("budget_sd_80x24", draw(&a));
    }

    /// BitNetMCU's 12k model on the CH32V003: coded weights, shown as such; switching to
    /// the Pi packs them again.
    #[test]
    fn budget_of_the_coded_classifier() {
        let p = Project::from_template(template::find("bitnet-mnist").unwrap());
        let mut a = App::new(p, None, (80, 24));
        a.color = false;
        key(&mut a, KeyCode::Char('3'));
        assert!(a.budget.coded_weights);
        let screen = draw(&a);
        assert!(screen.contains("coded"), "{screen}");
        insta::assert_snapshot!("budget_bitnet_80x24", screen);
        while a.budget.target != "pi-zero-2w" {
            key(&mut a, KeyCode::Char('t'));
        }
        assert!(!a.budget.coded_weights);
        assert_eq!(a.budget.flash.weight_bytes, 12_608);
    }

    #[test]
    fn train_screen_with_progress_curves_and_samples() {
        use crate::train::{EpochLoss, TrainEvent};
        let mut a = app(80, 24);
        key(&mut a, KeyCode::Char('2'));
        let msgs = [
            TrainEvent::Started {
                epochs: 20,
                batches: 188,
                history: vec![],
            },
            TrainEvent::Epoch {
                loss: EpochLoss {
                    epoch: 1,
                    recon: 520.0,
                    kl: 7.5,
                    ..EpochLoss::default()
                },
                seconds: 9.0,
                samples: vec![],
                confusion: vec![],
            },
            TrainEvent::Epoch {
                loss: EpochLoss {
                    epoch: 2,
                    recon: 470.0,
                    kl: 8.1,
                    ..EpochLoss::default()
                },
                seconds: 9.4,
                samples: (1..=6u8)
                    .map(|p| (p, crate::data::die::sample(1, u64::from(p) - 1).pixels))
                    .collect(),
                confusion: vec![],
            },
            TrainEvent::Batch {
                epoch: 3,
                batch: 94,
                recon: 455.5,
                kl: 8.2,
            },
        ];
        a.train.running = true;
        for m in msgs {
            update(&mut a, Msg::Train(m));
        }
        assert_eq!(a.train.history.len(), 2);
        assert!((a.train.eta_seconds().unwrap() - 9.2 * 17.5).abs() < 0.1);
        insta::assert_snapshot!("train_running_80x24", draw(&a));
        a.size = (120, 40);
        insta::assert_snapshot!("train_running_120x40", draw(&a));
    }

    #[test]
    fn enter_on_train_starts_the_worker_once() {
        let mut a = app(80, 24);
        key(&mut a, KeyCode::Char('2'));
        let e = update(
            &mut a,
            Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
        );
        assert!(
            matches!(e, Some(super::super::app::Effect::Train { .. })),
            "{e:?}"
        );
        assert!(a.train.running);
        let again = update(
            &mut a,
            Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
        );
        assert!(
            again.is_none(),
            "a second Enter must not start a second worker"
        );
        // A damaged checkpoint asks before starting over.
        update(
            &mut a,
            Msg::Train(crate::train::TrainEvent::CheckpointProblem(
                "damaged".into(),
            )),
        );
        assert!(matches!(a.popup, Some(Popup::TrainFresh(_))));
        let e = update(
            &mut a,
            Msg::Key(KeyEvent::new(KeyCode::Char('y'), KeyModifiers::NONE)),
        );
        assert!(
            matches!(e, Some(super::super::app::Effect::Train { ref options, .. }) if options.fresh)
        );
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
