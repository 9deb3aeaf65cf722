//! The workbench's one `update`: every message goes through here, to the global keys,
//! the popups, or the screen that owns it. Work that needs the event loop (a worker, a
//! dialog, a command to the board, pausing training) comes back as an [`Effect`].

use super::app::{AfterDiscard, App, Focus, Popup, STATUS_TTL};
use super::dialog::{self, DialogKind};
use super::files;
use super::layout::{Screen, areas, picker_area, picker_window};
use super::msg::{Effect, Msg, TrainCtl};
use super::picker::PickerOutcome;
use super::screens;
use super::screens::monitor::state::LinkState;
use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Position, Rect};

/// Applies one message to the state. The budget follows every change of the project at
/// once, so the Budget screen is never stale.
pub fn update(app: &mut App, msg: Msg) -> Option<Effect> {
    let effect = update_state(app, msg);
    app.refresh_budget();
    effect
}

fn update_state(app: &mut App, msg: Msg) -> Option<Effect> {
    match msg {
        Msg::Resize(w, h) => {
            app.size = (w, h);
            None
        }
        Msg::Tick => {
            if app
                .status
                .as_ref()
                .is_some_and(|s| s.at.elapsed() > STATUS_TTL)
            {
                app.status = None;
            }
            if let Some(p) = &app.pending
                && p.since.elapsed() > dialog::TIMEOUT
            {
                let kind = p.kind;
                app.pending = None;
                files::open_terminal_picker(app, kind);
                app.info("The desktop dialog did not answer; using the in-terminal picker.");
            }
            None
        }
        Msg::Dialog(answer) => {
            files::on_dialog(app, answer);
            None
        }
        Msg::Train(event) => {
            screens::train::on_event(app, event);
            None
        }
        Msg::Link(event) => screens::monitor::on_event(app, event),
        Msg::Deploy(event) => screens::deploy::on_event(app, event),
        Msg::Setup(missing) => {
            // Shown unless the user is already in another popup (it waits for no one).
            if !missing.is_empty() && app.popup.is_none() {
                app.popup = Some(Popup::Setup(missing));
            }
            None
        }
        Msg::LinkFailed(reason) => {
            app.monitor.log(reason.clone());
            app.monitor.state = LinkState::Failed(reason);
            None
        }
        Msg::Key(key) if key.kind != KeyEventKind::Release => on_key(app, key),
        Msg::Key(_) => None,
        Msg::Mouse(m) => on_mouse(app, m),
    }
}

fn is_ctrl(key: &KeyEvent, c: char) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char(c)
}

fn on_key(app: &mut App, key: KeyEvent) -> Option<Effect> {
    if is_ctrl(&key, 'c') {
        // A second Ctrl-C at the unsaved-changes question quits anyway.
        if !app.dirty || matches!(app.popup, Some(Popup::Discard(AfterDiscard::Quit))) {
            app.should_quit = true;
        } else {
            app.popup = Some(Popup::Discard(AfterDiscard::Quit));
        }
        return None;
    }
    if app.popup.is_some() {
        return on_popup_key(app, key);
    }
    if app.pending.is_some() {
        if key.code == KeyCode::Esc
            && let Some(p) = app.pending.take()
        {
            files::open_terminal_picker(app, p.kind);
        }
        return None;
    }
    if app.editing.is_some() {
        screens::project::on_edit_key(app, key);
        return None;
    }
    if is_ctrl(&key, 's') {
        return files::save(app);
    }
    // A screen's own keys win over the global ones it shares a letter with (the digit
    // classifier's Monitor: n next digit, s send).
    if app.screen == Screen::Monitor && screens::monitor::claims(app, &key) {
        return screens::monitor::on_key(app, key);
    }
    match key.code {
        KeyCode::Char('?') | KeyCode::F(1) => app.popup = Some(Popup::Help),
        KeyCode::Char('w') => open_steps(app),
        KeyCode::Char('q') => return quit(app),
        KeyCode::Char(c @ '1'..='5') => {
            return show_screen(app, Screen::ALL[(c as u8 - b'1') as usize]);
        }
        KeyCode::Tab => return show_screen(app, Screen::ALL[(app.screen.index() + 1) % 5]),
        KeyCode::BackTab => return show_screen(app, Screen::ALL[(app.screen.index() + 4) % 5]),
        KeyCode::Char('o') => {
            if app.dirty {
                app.popup = Some(Popup::Discard(AfterDiscard::Open));
            } else {
                return files::begin_file_dialog(app, DialogKind::Open);
            }
        }
        KeyCode::Char('s') => return files::save(app),
        KeyCode::Char('S') => return files::begin_file_dialog(app, DialogKind::Save),
        KeyCode::Char('n') => {
            app.screen = Screen::Project;
            app.focus = Focus::Templates;
        }
        _ if app.screen == Screen::Project => screens::project::on_key(app, key),
        _ if app.screen == Screen::Budget => screens::budget::on_key(app, key),
        _ if app.screen == Screen::Train => return screens::train::on_key(app, key),
        _ if app.screen == Screen::Monitor => return screens::monitor::on_key(app, key),
        _ if app.screen == Screen::Deploy => return screens::deploy::on_key(app, key),
        _ => {}
    }
    None
}

/// Switches screen; the Monitor connects to the board the first time it is shown.
pub fn show_screen(app: &mut App, screen: Screen) -> Option<Effect> {
    app.screen = screen;
    if screen == Screen::Monitor && !app.monitor.started {
        return screens::monitor::connect(app);
    }
    if screen == Screen::Deploy && !app.deploy.scanned {
        app.deploy.scanned = true;
        return Some(Effect::ScanBoards);
    }
    None
}

/// `q`: quit, after asking about unsaved changes. A running training is stopped (it keeps
/// its last checkpoint).
fn quit(app: &mut App) -> Option<Effect> {
    if app.dirty {
        app.popup = Some(Popup::Discard(AfterDiscard::Quit));
    } else {
        app.should_quit = true;
    }
    app.train
        .running
        .then_some(Effect::TrainControl(TrainCtl::Stop))
}

/// "Skip to here": loads the workshop's reference checkpoint, then shows the steps again.
fn skip_steps(app: &mut App) {
    let Some(path) = app.path.clone() else {
        return;
    };
    let result = crate::workshop::load(&app.project, Some(&path))
        .map_err(|e| e.to_string())
        .and_then(|(w, _)| {
            let ws = crate::workshop::workshop_path(&path);
            crate::workshop::skip::skip(&w, &ws, &app.project, &path).map_err(|e| e.to_string())
        });
    match result {
        Ok(done) => {
            screens::train::on_open(app);
            open_steps(app);
            app.info(match done.kept {
                Some(k) => format!(
                    "Loaded the reference checkpoint; yours is kept in {}",
                    k.display()
                ),
                None => "Loaded the workshop's reference checkpoint.".into(),
            });
        }
        Err(e) => app.error("Skip to after training", e),
    }
}

/// The workshop checklist, checked now (issue #20).
fn open_steps(app: &mut App) {
    match crate::workshop::load(&app.project, app.path.as_deref()) {
        Ok((w, _)) => {
            let states = crate::workshop::evaluate(&w, &app.project, app.path.as_deref());
            app.popup = Some(Popup::Steps {
                can_skip: w.reference.is_some() && app.path.is_some() && !app.train.running,
                title: w.title,
                states,
            });
        }
        Err(e) => app.error("Workshop steps", e.to_string()),
    }
}

fn on_popup_key(app: &mut App, key: KeyEvent) -> Option<Effect> {
    let popup = app.popup.take()?;
    match popup {
        Popup::Steps { can_skip: true, .. } if key.code == KeyCode::Char('k') => skip_steps(app),
        Popup::Help | Popup::Error { .. } | Popup::Setup(_) | Popup::Steps { .. } => {
            // Any key closes them, but only Esc/Enter/q/? are swallowed quietly.
        }
        Popup::Discard(then) => match key.code {
            KeyCode::Char('y') | KeyCode::Char('d') => return files::after_discard(app, then),
            KeyCode::Char('s') => {
                // Carry on with what was asked once the save lands, wherever it goes.
                app.after_save = Some(then);
                return files::save(app);
            }
            KeyCode::Esc | KeyCode::Char('n') => {}
            _ => app.popup = Some(Popup::Discard(then)),
        },
        Popup::TrainFresh(reason) => match key.code {
            KeyCode::Char('y') => return screens::train::start_training(app, true),
            KeyCode::Esc | KeyCode::Char('n') => app.train.message = Some(reason),
            _ => app.popup = Some(Popup::TrainFresh(reason)),
        },
        Popup::Overwrite(path) => match key.code {
            KeyCode::Char('y') => return files::save_to(app, path),
            KeyCode::Esc | KeyCode::Char('n') => app.after_save = None,
            _ => app.popup = Some(Popup::Overwrite(path)),
        },
        Popup::Picker(mut picker) => {
            let outcome = match key.code {
                KeyCode::Esc => PickerOutcome::Cancel,
                KeyCode::Up => {
                    picker.up();
                    PickerOutcome::Stay
                }
                KeyCode::Down => {
                    picker.down();
                    PickerOutcome::Stay
                }
                KeyCode::Enter => picker.activate(),
                KeyCode::Backspace => {
                    picker.backspace();
                    PickerOutcome::Stay
                }
                KeyCode::Left => {
                    picker.parent();
                    PickerOutcome::Stay
                }
                KeyCode::Tab => {
                    picker.complete();
                    PickerOutcome::Stay
                }
                KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                    picker.clear();
                    PickerOutcome::Stay
                }
                KeyCode::Char(c) => {
                    if !key
                        .modifiers
                        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
                    {
                        picker.type_char(c);
                    }
                    PickerOutcome::Stay
                }
                _ => PickerOutcome::Stay,
            };
            files::finish_picker(app, picker, outcome);
        }
    }
    None
}

fn on_mouse(app: &mut App, m: MouseEvent) -> Option<Effect> {
    let full = Rect::new(0, 0, app.size.0, app.size.1);
    let at = Position::new(m.column, m.row);
    let a = areas(full);
    // Drawing a digit on the Monitor's canvas: left paints, right erases.
    if app.screen == Screen::Monitor && app.popup.is_none() && app.monitor.is_classifier() {
        let paint =
            match m.kind {
                MouseEventKind::Down(MouseButton::Left)
                | MouseEventKind::Drag(MouseButton::Left) => Some(true),
                MouseEventKind::Down(MouseButton::Right)
                | MouseEventKind::Drag(MouseButton::Right) => Some(false),
                _ => None,
            };
        if let Some(on) = paint
            && let Some(pixels) = screens::monitor::layout::canvas_pixels_at(full, at)
        {
            for (x, y) in pixels {
                app.monitor.paint(x, y, on);
            }
            return None;
        }
    }
    match m.kind {
        MouseEventKind::Down(MouseButton::Left) => {}
        MouseEventKind::ScrollUp | MouseEventKind::ScrollDown => {
            let down = m.kind == MouseEventKind::ScrollDown;
            let code = if down { KeyCode::Down } else { KeyCode::Up };
            let key = KeyEvent::new(code, KeyModifiers::NONE);
            if let Some(Popup::Picker(_)) = app.popup {
                return on_popup_key(app, key);
            }
            if app.popup.is_none() && app.editing.is_none() && app.screen == Screen::Project {
                app.focus = if a.templates.contains(at) {
                    Focus::Templates
                } else {
                    Focus::Form
                };
                screens::project::on_key(app, key);
            }
            return None;
        }
        _ => return None,
    }
    match &mut app.popup {
        Some(Popup::Picker(picker)) => {
            let area = picker_area(full);
            let (_, offset) = picker_window(area, picker.selected);
            // The list starts below the border and the folder line.
            let top = area.y + 2;
            if at.y >= top && area.contains(at) {
                let index = offset + (at.y - top) as usize;
                let mut picker = picker.clone();
                let outcome = picker.click(index);
                app.popup = None;
                files::finish_picker(app, picker, outcome);
            }
            return None;
        }
        Some(Popup::Help)
        | Some(Popup::Error { .. })
        | Some(Popup::Setup(_))
        | Some(Popup::Steps { .. }) => {
            app.popup = None;
            return None;
        }
        Some(_) => return None,
        None => {}
    }
    if let Some((_, s)) = a.tab_hits.iter().find(|(r, _)| r.contains(at)) {
        let s = *s;
        app.editing = None;
        return show_screen(app, s);
    }
    if a.status.contains(at) && at.x + 12 >= a.status.right() {
        app.popup = Some(Popup::Help);
        return None;
    }
    if app.screen == Screen::Project {
        screens::project::on_click(app, at, &a);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::Project;
    use crate::tui::dialog::DialogAnswer;
    use crate::tui::picker::PickerMode;
    use std::path::Path;
    use std::time::Duration;

    fn key(app: &mut App, code: KeyCode) -> Option<Effect> {
        update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
    }

    fn untitled_dirty(dir: &Path) -> App {
        let mut app = App::new(
            Project::from_template(crate::templates::ALL[0].def()),
            None,
            (80, 24),
        );
        app.cwd = dir.to_path_buf();
        key(&mut app, KeyCode::Down);
        key(&mut app, KeyCode::Enter);
        key(&mut app, KeyCode::Backspace);
        key(&mut app, KeyCode::Char('5'));
        key(&mut app, KeyCode::Enter);
        assert!(app.dirty);
        app
    }

    /// Regression: "save" at the quit prompt of an untitled project opened the picker,
    /// saved, and then forgot that the user had asked to quit.
    #[test]
    fn save_from_the_quit_prompt_quits_after_saving() {
        let dir = tempfile::tempdir().unwrap();
        let mut app = untitled_dirty(dir.path());
        key(&mut app, KeyCode::Char('q'));
        assert!(matches!(
            app.popup,
            Some(Popup::Discard(AfterDiscard::Quit))
        ));
        key(&mut app, KeyCode::Char('s'));
        assert!(matches!(app.popup, Some(Popup::Picker(_))));
        assert!(!app.should_quit);
        key(&mut app, KeyCode::Enter);
        assert!(app.should_quit);
        let saved = crate::templates::load_project(&dir.path().join("cvae-die.ron")).unwrap();
        assert_eq!(saved.model.latent, 5);
    }

    #[test]
    fn cancelling_the_save_keeps_the_app_open() {
        let dir = tempfile::tempdir().unwrap();
        let mut app = untitled_dirty(dir.path());
        key(&mut app, KeyCode::Char('q'));
        key(&mut app, KeyCode::Char('s'));
        key(&mut app, KeyCode::Esc);
        assert!(!app.should_quit && app.dirty && app.after_save.is_none());
    }

    #[test]
    fn a_desktop_dialog_is_an_effect_and_a_late_answer_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let mut app = App::new(
            Project::from_template(crate::templates::ALL[0].def()),
            None,
            (80, 24),
        );
        app.cwd = dir.path().to_path_buf();
        app.desktop = true;
        let Some(Effect::Dialog { kind, request, .. }) = key(&mut app, KeyCode::Char('o')) else {
            panic!("expected a dialog effect");
        };
        assert_eq!(kind, DialogKind::Open);
        // The user gives up waiting and takes the in-terminal picker.
        key(&mut app, KeyCode::Esc);
        assert!(matches!(app.popup, Some(Popup::Picker(_))));
        let late = DialogAnswer {
            kind,
            request,
            path: Some(dir.path().join("x.ron")),
            elapsed: Duration::from_secs(5),
        };
        update(&mut app, Msg::Dialog(late));
        assert!(
            matches!(app.popup, Some(Popup::Picker(_))),
            "late answer acted on"
        );
    }

    #[test]
    fn a_dialog_that_answers_at_once_falls_back_to_the_picker() {
        let mut app = App::new(
            Project::from_template(crate::templates::ALL[0].def()),
            None,
            (80, 24),
        );
        app.desktop = true;
        let Some(Effect::Dialog { kind, request, .. }) = key(&mut app, KeyCode::Char('S')) else {
            panic!("expected a dialog effect");
        };
        let answer = DialogAnswer {
            kind,
            request,
            path: None,
            elapsed: Duration::from_millis(3),
        };
        update(&mut app, Msg::Dialog(answer));
        assert!(matches!(app.popup, Some(Popup::Picker(ref p)) if p.mode == PickerMode::Save));
    }

    #[test]
    fn resize_moves_the_click_targets() {
        let mut app = App::new(
            Project::from_template(crate::templates::ALL[0].def()),
            None,
            (80, 24),
        );
        update(&mut app, Msg::Resize(120, 40));
        assert_eq!(app.size, (120, 40));
        // The templates pane is wider at 120 columns: column 28 is inside it now.
        let click = MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: 28,
            row: 3,
            modifiers: KeyModifiers::NONE,
        };
        update(&mut app, Msg::Mouse(click));
        assert_eq!((app.focus, app.template_sel), (Focus::Templates, 1));
    }

    #[test]
    fn clicking_tabs_switches_screens() {
        let mut app = App::new(
            Project::from_template(crate::templates::ALL[0].def()),
            None,
            (80, 24),
        );
        for (rect, screen) in areas(Rect::new(0, 0, 80, 24)).tab_hits {
            let click = MouseEvent {
                kind: MouseEventKind::Down(MouseButton::Left),
                column: rect.x + 1,
                row: rect.y,
                modifiers: KeyModifiers::NONE,
            };
            update(&mut app, Msg::Mouse(click));
            assert_eq!(app.screen, screen);
        }
    }
}
