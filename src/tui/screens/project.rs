//! The Project screen: the template picker and the settings form. An edit goes through the
//! same validation as a loaded file (`tui::form`), so an invalid value is shown with its
//! reason and never reaches the project.

use super::super::app::{AfterDiscard, App, Editing, Focus, Popup};
use super::super::form::{self, FieldId};
use super::super::layout::{Areas, form_window};
use super::super::theme::{Theme, truncate};
use crate::project::{BoardKind, Maturity, Project};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

/// Draws the Project screen: the templates on the left, the settings form on the right.
pub fn render(app: &App, t: Theme, f: &mut Frame, left: Rect, right: Rect) {
    // Templates.
    let focused = app.focus == Focus::Templates;
    let block = t.block("Templates", focused);
    let inner = block.inner(left);
    f.render_widget(block, left);
    let mut lines: Vec<Line> = crate::templates::all()
        .iter()
        .map(|t| t.def())
        .enumerate()
        .map(|(i, def)| {
            let current = def == app.project.template;
            let mark = if current { "● " } else { "  " };
            // A template that only has a budget says so, in full where there is room.
            let width = inner.width as usize;
            let soon = match def.maturity {
                Maturity::BudgetOnly if mark.chars().count() + def.title.len() + 14 <= width => {
                    " (budget only)"
                }
                Maturity::BudgetOnly => " ·budget",
                Maturity::Hosted if mark.chars().count() + def.title.len() + 11 <= width => {
                    " (sim, Pi)"
                }
                Maturity::Hosted => " ·sim",
                _ => "",
            };
            let text = truncate(&format!("{mark}{}{soon}", def.title), width);
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
    if let Some(tpl) = crate::templates::all().get(app.template_sel) {
        let def = tpl.def();
        lines.push(Line::styled(def.summary, t.dim()));
        lines.push(Line::raw(""));
        lines.push(Line::styled("Enter: new project from it", t.accent()));
        if tpl.quick_preset(&mut Project::from_template(def)).is_some() {
            lines.push(Line::styled(
                "f: its quick preset (trains in about 90 s)",
                t.accent(),
            ));
        }
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
        (Some(ed), _) => match form::choices(ed.field) {
            Some(choices) => Line::styled(
                format!("one of {} · Enter: apply · Esc: cancel", choices.join(", ")),
                t.dim(),
            ),
            None => Line::styled("Enter: apply · Esc: cancel · Ctrl-U: clear", t.dim()),
        },
        (None, Some(id)) => Line::styled(field_hint(app, id), t.dim()),
        (None, None) => Line::raw(""),
    };
    f.render_widget(Paragraph::new(hint).wrap(Wrap { trim: true }), hint_area);
}

fn field_hint(app: &App, id: FieldId) -> String {
    match id {
        FieldId::Target => format!(
            "←/→ change · Enter: type it · {}",
            app.project.target_profile().title
        ),
        FieldId::BoardKind => format!(
            "←/→ change · Enter: type it · {}",
            board_summary(app.project.board.kind)
        ),
        FieldId::LayerBits(_) => {
            "←/→ or Enter: 1, 1.58 (ternary), 2, 4 or 8 bits per weight".into()
        }
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

/// The Project screen's keys, for the pane that has the focus.
pub fn on_key(app: &mut App, key: KeyEvent) {
    let n_fields = app.fields().len();
    match app.focus {
        Focus::Templates => match key.code {
            KeyCode::Up | KeyCode::Char('k') => {
                app.template_sel = app.template_sel.saturating_sub(1)
            }
            KeyCode::Down | KeyCode::Char('j') => {
                app.template_sel = (app.template_sel + 1).min(crate::templates::all().len() - 1)
            }
            KeyCode::Enter => choose_template(app, app.template_sel, false),
            KeyCode::Char('f') => choose_template(app, app.template_sel, true),
            KeyCode::Right | KeyCode::Char('e') | KeyCode::Char('l') => app.focus = Focus::Form,
            _ => {}
        },
        Focus::Form => match key.code {
            KeyCode::Up | KeyCode::Char('k') => app.field_sel = app.field_sel.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => {
                app.field_sel = (app.field_sel + 1).min(n_fields.saturating_sub(1))
            }
            KeyCode::PageUp => app.field_sel = app.field_sel.saturating_sub(8),
            KeyCode::PageDown => {
                app.field_sel = (app.field_sel + 8).min(n_fields.saturating_sub(1))
            }
            KeyCode::Home | KeyCode::Char('g') => app.field_sel = 0,
            KeyCode::End | KeyCode::Char('G') => app.field_sel = n_fields.saturating_sub(1),
            KeyCode::Char('t') => app.focus = Focus::Templates,
            KeyCode::Left | KeyCode::Char('h') => cycle_choice(app, false),
            KeyCode::Right | KeyCode::Char('l') => cycle_choice(app, true),
            KeyCode::Enter | KeyCode::Char('i') => begin_edit(app),
            _ => {}
        },
    }
}

pub fn choose_template(app: &mut App, i: usize, quick: bool) {
    if app.dirty {
        app.popup = Some(Popup::Discard(AfterDiscard::NewFromTemplate(i, quick)));
    } else {
        super::super::files::new_from_template(app, i, quick);
    }
}

/// A left click on the Project screen: pick a template (a second click starts a project
/// from it), select a field (a second click edits it).
pub fn on_click(app: &mut App, at: Position, a: &Areas) {
    if a.templates.contains(at) {
        app.focus = Focus::Templates;
        let row = at.y.saturating_sub(a.templates.y + 1) as usize;
        if at.y > a.templates.y && row < crate::templates::all().len() {
            if app.template_sel == row {
                choose_template(app, row, false);
            } else {
                app.template_sel = row;
            }
        }
    } else if a.form.contains(at) {
        app.focus = Focus::Form;
        let (rows, offset) = form_window(a.form, app.field_sel);
        let row = at.y.saturating_sub(a.form.y + 1) as usize;
        if at.y > a.form.y && row < rows {
            let index = offset + row;
            if index < app.fields().len() {
                if app.field_sel == index && app.editing.is_none() {
                    begin_edit(app);
                } else {
                    app.editing = None;
                    app.field_sel = index;
                }
            }
        }
    }
}

pub fn begin_edit(app: &mut App) {
    let Some(field) = app.selected_field() else {
        return;
    };
    // A choice field is edited like any other (type the value, Enter), with its choices
    // shown; ←→ step through them without an editor.
    app.editing = Some(Editing {
        field,
        buffer: form::value(field, &app.project),
        error: None,
    });
}

fn cycle_choice(app: &mut App, forward: bool) {
    if let Some(field) = app.selected_field() {
        cycle_field(app, field, forward);
    }
}

pub fn cycle_field(app: &mut App, field: FieldId, forward: bool) {
    let Some(next) = form::cycle(field, &app.project, forward) else {
        return;
    };
    apply_edit(app, field, &next);
}

/// Applies a value to a field; a refused value stays in the editor with its reason.
fn apply_edit(app: &mut App, field: FieldId, text: &str) -> bool {
    match form::edit(&app.project, field, text) {
        Ok(p) => {
            if p != app.project {
                app.project = p;
                app.dirty = true;
            }
            app.editing = None;
            true
        }
        Err(error) => {
            app.editing = Some(Editing {
                field,
                buffer: text.to_string(),
                error: Some(error),
            });
            false
        }
    }
}

/// Keys while a field is being edited.
pub fn on_edit_key(app: &mut App, key: KeyEvent) {
    let Some(ed) = app.editing.as_mut() else {
        return;
    };
    match key.code {
        KeyCode::Esc => app.editing = None,
        KeyCode::Enter => {
            let (field, buffer) = (ed.field, ed.buffer.clone());
            apply_edit(app, field, &buffer);
        }
        KeyCode::Backspace => {
            ed.buffer.pop();
        }
        KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => ed.buffer.clear(),
        KeyCode::Char(c) if !c.is_control() && ed.buffer.chars().count() < 200 => ed.buffer.push(c),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::testing::{app, draw, key};

    /// Issue #20: the quick preset was only on the command line (`tinygen new --quick`).
    /// `f` on a template starts from it; a template without one says so and keeps the
    /// project.
    #[test]
    fn f_starts_a_new_project_from_the_quick_preset() {
        // The preset, where a template has one, and whether it changes the default.
        let preset = |i: usize| {
            let t = crate::templates::all()[i];
            let mut p = Project::from_template(t.def());
            t.quick_preset(&mut p)
                .map(|_| p != Project::from_template(t.def()))
        };
        let n = crate::templates::all().len();
        // A preset that changes something, so that the test sees it applied.
        let with = (0..n)
            .find(|&i| preset(i) == Some(true))
            .expect("a template with a preset");
        let without = (0..n).find(|&i| preset(i).is_none()).expect("one without");

        let mut a = app(80, 24);
        a.focus = Focus::Templates;
        a.template_sel = with;
        assert!(draw(&a).contains("f: its quick preset"));
        key(&mut a, KeyCode::Char('f'));
        let t = crate::templates::all()[with];
        let mut expected = Project::from_template(t.def());
        t.quick_preset(&mut expected);
        assert_eq!(a.project, expected);
        assert!(a.popup.is_none());

        let before = a.project.clone();
        a.focus = Focus::Templates;
        a.template_sel = without;
        assert!(!draw(&a).contains("f: its quick preset"));
        key(&mut a, KeyCode::Char('f'));
        assert_eq!(a.project, before, "no preset: the project stays");
        assert!(matches!(a.popup, Some(Popup::Error { .. })));
    }

    /// Issue #18, item 1: Enter on a choice field used to cycle it silently (4→8), and a
    /// digit typed after it switched screens. Enter now opens the field's editor with its
    /// choices shown; what is typed goes into the field.
    #[test]
    fn enter_on_a_bits_field_edits_it_and_digits_stay_in_it() {
        let mut a = app(80, 24);
        a.focus = Focus::Form;
        let bits = a
            .fields()
            .iter()
            .position(|f| matches!(f, FieldId::LayerBits(_)))
            .expect("a bits field");
        a.field_sel = bits;
        let before = a.project.clone();
        key(&mut a, KeyCode::Enter);
        assert_eq!(a.project, before, "Enter alone changes nothing");
        assert!(a.editing.is_some());
        assert!(draw(&a).contains("one of 1, 1.58, 2, 4, 8"), "{}", draw(&a));
        key(&mut a, KeyCode::Backspace);
        key(&mut a, KeyCode::Char('3'));
        key(&mut a, KeyCode::Enter);
        assert_eq!(
            a.screen,
            crate::tui::layout::Screen::Project,
            "3 is typed, not a screen"
        );
        assert!(
            a.editing.as_ref().is_some_and(|e| e.error.is_some()),
            "3 bits is refused"
        );
        key(&mut a, KeyCode::Backspace);
        key(&mut a, KeyCode::Char('8'));
        key(&mut a, KeyCode::Enter);
        assert!(a.editing.is_none());
        assert_eq!(a.selected_field(), Some(a.fields()[bits]));
        assert!(draw(&a).contains("‹ 8 ›"), "{}", draw(&a));
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
}
