//! Helpers for the workbench's tests: an app at a terminal size, a key press, and the
//! screen drawn on ratatui's `TestBackend`.

use super::app::App;
use super::msg::Msg;
use super::update::update;
use crate::project::Project;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::path::PathBuf;

/// The default die project as `projects/die.ron`, without colour.
pub fn app(w: u16, h: u16) -> App {
    let _ = now();
    let p = Project::from_template(crate::templates::ALL[0].def());
    let mut a = App::new(p, Some(PathBuf::from("projects/die.ron")), (w, h));
    a.color = false;
    a
}

/// The screen as text, drawn at the app's size.
pub fn draw(app: &App) -> String {
    let (w, h) = app.size;
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| super::view::render(app, f, now())).unwrap();
    term.backend().to_string()
}

/// One key press, through `update`.
pub fn key(app: &mut App, code: KeyCode) {
    update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

/// The instant every test frame is drawn at: fixed, so that rates measured against it
/// do not depend on how fast the test runs (events stamped later count as just now).
pub fn now() -> std::time::Instant {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    *START.get_or_init(std::time::Instant::now)
}
