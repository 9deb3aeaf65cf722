//! The Deploy screen: every board tinygen can find, and the model put on the one picked
//! (build, flash and verify a CH32V003, upload to a Pi; the work is the deploy seam's,
//! run by `tui::workers::deploy`). Local boards load the model as they start, so picking
//! one lands on the Monitor.

pub mod state;

use super::super::app::App;
use super::super::layout::Screen;
use super::super::msg::{DeployEvent, Effect};
use super::super::theme::Theme;
use crate::project::BoardKind;
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

/// The Deploy screen's keys.
pub fn on_key(app: &mut App, key: KeyEvent) -> Option<Effect> {
    let n = app.deploy.boards.len();
    match key.code {
        KeyCode::Down | KeyCode::Char('j') if n > 0 => app.deploy.sel = (app.deploy.sel + 1) % n,
        KeyCode::Up | KeyCode::Char('k') if n > 0 => app.deploy.sel = (app.deploy.sel + n - 1) % n,
        KeyCode::Char('r') => return Some(Effect::ScanBoards),
        KeyCode::Esc if app.deploy.running => {
            app.info("Cancelling the deploy…");
            return Some(Effect::CancelDeploy);
        }
        KeyCode::Enter => {
            let board = app.deploy.selected()?.clone();
            if app.deploy.running {
                app.info("A deploy is running; wait for it to finish.");
                return None;
            }
            if let Some(why) = &board.unavailable {
                app.error(
                    "Cannot deploy there",
                    format!(
                        "{}: {why}.\n{}",
                        board.label,
                        crate::hints::PROBE_SETUP.join("\n")
                    ),
                );
                return None;
            }
            if app.project.board.kind != board.kind {
                app.project.board.kind = board.kind;
                app.dirty = true;
            }
            match board.kind {
                BoardKind::Sim | BoardKind::QemuRv32 => {
                    // These load the model as they start: start them and watch.
                    app.screen = Screen::Monitor;
                    return super::monitor::connect(app);
                }
                BoardKind::Ch32v003 | BoardKind::Pi => {
                    if board.kind == BoardKind::Pi {
                        app.project.board.port = board.port.clone();
                    }
                    app.deploy.running = true;
                    app.deploy.stages.clear();
                    app.deploy.log.clear();
                    app.deploy.result = None;
                    return Some(Effect::Deploy {
                        board,
                        project: Box::new(app.project.clone()),
                        path: app.path.clone(),
                    });
                }
            }
        }
        _ => {}
    }
    None
}

/// The project's own Pi port joins the scanned boards when the scan did not list it:
/// serialport never lists a pseudo-terminal (a runner under qemu) or a symlink such as
/// `/dev/serial0`, and the user typed it into the project for a reason. It is picked.
fn with_project_port(app: &mut App, boards: &mut Vec<super::super::msg::BoardEntry>) {
    let b = &app.project.board;
    let Some(port) = b.port.clone().filter(|_| b.kind == BoardKind::Pi) else {
        return;
    };
    let at = match boards
        .iter()
        .position(|e| e.kind == BoardKind::Pi && e.port.as_deref() == Some(&port))
    {
        Some(i) => i,
        None => {
            boards.push(super::super::msg::BoardEntry {
                kind: BoardKind::Pi,
                port: Some(port.clone()),
                label: format!("Raspberry Pi runner on {port} · the project's port"),
                unavailable: None,
            });
            boards.len() - 1
        }
    };
    if app.deploy.boards.is_empty() {
        app.deploy.sel = at; // the first list: start on it
    }
}

/// A report of the deploy worker.
pub fn on_event(app: &mut App, event: DeployEvent) -> Option<Effect> {
    let finished = matches!(event, DeployEvent::Finished(_));
    let event = match event {
        DeployEvent::Boards(mut boards) => {
            with_project_port(app, &mut boards);
            DeployEvent::Boards(boards)
        }
        e => e,
    };
    app.deploy.on_event(event);
    if finished {
        match app.deploy.result.clone() {
            Some(Ok(msg)) => {
                app.info(format!("Deployed: {msg}."));
                // A board with a serial port to watch: land on the Monitor.
                if app.project.board.port.is_some() {
                    app.screen = Screen::Monitor;
                    return super::monitor::connect(app);
                }
            }
            Some(Err(msg)) => app.error("Deploy failed", msg),
            None => {}
        }
    }
    None
}

/// Draws the Deploy screen.
pub fn render(app: &App, t: Theme, f: &mut Frame, area: Rect) {
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
        "↑↓ pick · Enter build, flash and verify (sim/qemu: start and watch) · r rescan · Esc cancel",
        t.dim(),
    ));
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(t.block("Deploy", true)),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::Popup;
    use crate::tui::msg::Msg;
    use crate::tui::testing::{app, draw, key};
    use crate::tui::update::update;
    use crossterm::event::KeyModifiers;

    #[test]
    fn deploy_lists_boards_and_acts_on_the_pick() {
        use crate::project::BoardKind;
        use crate::tui::msg::Effect;
        use crate::tui::msg::{BoardEntry, DeployEvent};
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

    /// Issue #17: a Pi runner on a pseudo-terminal (or `/dev/serial0`), typed into the
    /// project, was not offered: serialport does not list it. It is now, picked, and Enter
    /// uploads to it.
    #[test]
    fn the_projects_own_pi_port_is_offered_and_picked() {
        use crate::project::BoardKind;
        use crate::tui::msg::{BoardEntry, DeployEvent, Effect};
        let mut a = app(80, 24);
        a.project.board.kind = BoardKind::Pi;
        a.project.board.port = Some("/dev/pts/7".into());
        key(&mut a, KeyCode::Char('4'));
        let sim = BoardEntry {
            kind: BoardKind::Sim,
            port: None,
            label: "simulated board".into(),
            unavailable: None,
        };
        update(&mut a, Msg::Deploy(DeployEvent::Boards(vec![sim.clone()])));
        assert_eq!(a.deploy.boards.len(), 2);
        assert_eq!(a.deploy.sel, 1);
        assert!(draw(&a).contains("Raspberry Pi runner on /dev/pts/7 · the project's port"));
        match update(
            &mut a,
            Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
        ) {
            Some(Effect::Deploy { board, .. }) => {
                assert_eq!(board.port.as_deref(), Some("/dev/pts/7"))
            }
            other => panic!("{other:?}"),
        }
        // A rescan lists it once, and keeps the user's pick.
        a.deploy.running = false;
        a.deploy.sel = 0;
        update(&mut a, Msg::Deploy(DeployEvent::Boards(vec![sim])));
        assert_eq!((a.deploy.boards.len(), a.deploy.sel), (2, 0));
    }

    /// Issue #18, item 7: Esc cancels a running deploy.
    #[test]
    fn esc_cancels_a_running_deploy() {
        let mut a = app(80, 24);
        key(&mut a, KeyCode::Char('4'));
        a.deploy.running = true;
        let e = update(
            &mut a,
            Msg::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)),
        );
        assert_eq!(e, Some(Effect::CancelDeploy));
    }
}
