//! The terminal UI: the only module that knows about ratatui and crossterm.
//!
//! One channel of [`Msg`] feeds the main loop: an input thread sends keys, mouse, resizes
//! and ticks; the workers (`workers`: training, the board link, deploys; and desktop
//! dialogs) send their own events. The loop drains what is pending, `update`s the state,
//! runs the [`Effect`]s it returns, and draws (`view::render`) at most every 16 ms.
//!
//! `app` is the state, `update` changes it, `view` draws it; each screen (`screens`) has
//! its own state, keys, rendering and tests.

pub mod app;
pub mod dialog;
pub mod files;
pub mod form;
pub mod layout;
pub mod msg;
pub mod picker;
pub mod popup;
pub mod screens;
pub mod theme;
pub mod update;
pub mod view;
pub mod workers;

#[cfg(test)]
pub mod testing;

use crate::project::Project;
use crate::train::Control;
use app::App;
use crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use msg::{Effect, Msg, TrainCtl};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use std::io::{self, IsTerminal, Stdout};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};
use update::update;

/// At most one frame per this interval.
const FRAME: Duration = Duration::from_millis(16);
/// How often the input thread sends a tick when nothing happens.
const TICK: Duration = Duration::from_millis(250);

/// Whether tinygen currently holds the terminal (raw mode, alternate screen).
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Puts the terminal back: raw mode off, main screen, mouse released, cursor shown.
/// Runs once however often it is called (the panic hook, then the guard's drop).
pub fn restore_terminal() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let _ = disable_raw_mode();
    let _ = execute!(
        io::stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// Owns the terminal's raw/alternate-screen state; dropping it restores the terminal,
/// and a panic restores it before the panic message is printed.
struct TerminalGuard {
    terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl TerminalGuard {
    fn enter() -> io::Result<TerminalGuard> {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_terminal();
            previous(info);
        }));
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        let mut stdout = io::stdout();
        if let Err(e) = execute!(stdout, EnterAlternateScreen, EnableMouseCapture) {
            restore_terminal();
            return Err(e);
        }
        let terminal =
            Terminal::new(CrosstermBackend::new(stdout)).inspect_err(|_| restore_terminal())?;
        Ok(TerminalGuard { terminal })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Reads terminal events and sends them, with a tick when idle. Ends when the app is gone.
fn spawn_input(tx: Sender<Msg>) {
    std::thread::spawn(move || {
        loop {
            let msg = match event::poll(TICK) {
                Ok(true) => match event::read() {
                    Ok(Event::Key(k)) => Msg::Key(k),
                    Ok(Event::Mouse(m)) => Msg::Mouse(m),
                    Ok(Event::Resize(w, h)) => Msg::Resize(w, h),
                    Ok(_) => continue,
                    Err(_) => return,
                },
                Ok(false) => Msg::Tick,
                Err(_) => return,
            };
            if tx.send(msg).is_err() {
                return;
            }
        }
    });
}

/// The workers the loop holds: the board link and the training run.
#[derive(Default)]
struct Workers {
    link: Option<workers::link::LinkWorker>,
    train: Option<Arc<Control>>,
    /// The training thread, waited for on the way out so a checkpoint save is never cut.
    train_thread: Option<std::thread::JoinHandle<()>>,
    /// Set to stop the running deploy.
    deploy: Option<Arc<std::sync::atomic::AtomicBool>>,
}

fn run_effect(app: &mut App, effect: Effect, tx: &Sender<Msg>, w: &mut Workers) {
    let link = &mut w.link;
    match effect {
        Effect::Connect { project, path } => {
            // Dropping the old worker stops its board first.
            *link = None;
            *link = Some(workers::link::LinkWorker::start(*project, path, tx.clone()));
        }
        Effect::Link(cmd) => {
            if let Some(l) = link {
                l.send(cmd);
            }
        }
        Effect::ScanBoards => workers::deploy::scan(tx.clone()),
        Effect::Deploy {
            board,
            project,
            path,
        } => {
            // The board's port may be the one the Monitor holds: let it go first.
            *link = None;
            app.monitor.started = false;
            w.deploy = Some(workers::deploy::start(board, *project, path, tx.clone()));
        }
        Effect::CancelDeploy => {
            if let Some(c) = &w.deploy {
                c.store(true, Ordering::Relaxed);
            }
        }
        Effect::Train { project, options } => {
            let (control, thread) = workers::train::spawn(*project, options, tx.clone());
            w.train = Some(control);
            w.train_thread = Some(thread);
        }
        Effect::TrainControl(ctl) => {
            if let Some(c) = &w.train {
                match ctl {
                    TrainCtl::Pause(p) => c.pause.store(p, Ordering::Relaxed),
                    TrainCtl::Stop => {
                        c.cancel.store(true, Ordering::Relaxed);
                        c.pause.store(false, Ordering::Relaxed);
                    }
                }
            }
        }
        Effect::Dialog {
            kind,
            request,
            start_dir,
            file_name,
        } => dialog::spawn(kind, request, start_dir, file_name, tx.clone(), Msg::Dialog),
    }
}

/// Writes the Monitor's images over the cells just drawn (ratatui draws text only), after
/// removing the last frame's where the protocol keeps them (kitty). Returns whether any
/// were drawn.
fn paint_images(app: &App, drawn_before: bool) -> io::Result<bool> {
    use std::io::Write;
    let images = screens::monitor::monitor_graphics(app);
    let mut out = io::stdout().lock();
    if drawn_before && let Some(p) = app.monitor.graphics {
        out.write_all(p.clear().as_bytes())?;
    }
    if images.is_empty() {
        out.flush()?;
        return Ok(false);
    }
    for (x, y, seq) in images {
        crossterm::queue!(out, crossterm::cursor::MoveTo(x, y))?;
        out.write_all(seq.as_bytes())?;
    }
    out.flush()?;
    Ok(true)
}

/// Set by SIGTERM or SIGHUP: the event loop leaves as on q.
static TERMINATE: AtomicBool = AtomicBool::new(false);

/// How long to wait for the terminal's answer to the graphics query: every terminal
/// answers at once; a multiplexer that keeps the question leaves the wait to time out.
const GRAPHICS_WAIT: Duration = Duration::from_millis(400);

/// Runs the workbench until the user quits.
pub fn run(project: Project, path: Option<PathBuf>) -> anyhow::Result<()> {
    if !io::stdout().is_terminal() || !io::stdin().is_terminal() {
        anyhow::bail!(
            "the workbench needs an interactive terminal; in scripts use the subcommands \
             (see 'tinygen --help')"
        );
    }
    // SIGTERM and SIGHUP (a closed window, `kill`) leave like q: the terminal restored, a
    // training run stopped at its last checkpoint, nothing half-saved (#19, item 7). In
    // raw mode Ctrl-C is a key, not SIGINT.
    let _ = ctrlc::set_handler(|| TERMINATE.store(true, Ordering::Relaxed));
    let mut guard = TerminalGuard::enter()?;
    // Asked before the input thread starts reading, so the answers are not taken for keys.
    let graphics_replies = crate::graphics::ask_terminal(GRAPHICS_WAIT);
    let size = guard.terminal.size()?;
    let mut app = App::new(project, path, (size.width, size.height));
    app.desktop = dialog::desktop_available();
    app.records_progress = true;
    app.color = crate::util::use_color(true);
    app.cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    screens::train::on_open(&mut app);
    let (tx, rx): (Sender<Msg>, Receiver<Msg>) = mpsc::channel();
    spawn_input(tx.clone());
    // What the project needs and this machine lacks, said before it bites (#20); checked
    // beside the first frames (the tools' --version take a moment).
    let needs = crate::templates::of(&app.project).needs();
    let setup = tx.clone();
    std::thread::spawn(move || {
        let report = crate::doctor::examine(&crate::doctor::sys::Sys::from_env());
        let _ = setup.send(Msg::Setup(report.missing_for(needs)));
    });
    let mut w = Workers::default();
    // The terminal's own graphics where it answers that it has them; 'v' on the Monitor
    // switches.
    app.monitor.graphics = crate::graphics::choose(graphics_replies, &|k| std::env::var(k).ok());
    if app.monitor.graphics.is_some() {
        app.monitor.style = screens::monitor::state::PreviewStyle::Graphics;
    }
    let mut images_drawn = false;
    let debug_panic = std::env::var_os("TINYGEN_DEBUG_PANIC").is_some();

    guard
        .terminal
        .draw(|f| view::render(&app, f, Instant::now()))?;
    if debug_panic {
        panic!("TINYGEN_DEBUG_PANIC is set: panicking after the first frame, as asked");
    }
    let mut last_draw = Instant::now();
    let mut needs_draw = false;
    loop {
        let wait = if needs_draw {
            FRAME.saturating_sub(last_draw.elapsed())
        } else {
            Duration::from_secs(1)
        };
        match rx.recv_timeout(wait) {
            Ok(msg) => {
                needs_draw = true;
                if let Some(effect) = update(&mut app, msg) {
                    run_effect(&mut app, effect, &tx, &mut w);
                }
                // Drain whatever else is pending before drawing: latest state wins.
                while let Ok(msg) = rx.try_recv() {
                    if let Some(effect) = update(&mut app, msg) {
                        run_effect(&mut app, effect, &tx, &mut w);
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if app.should_quit || TERMINATE.load(Ordering::Relaxed) {
            break;
        }
        if needs_draw && last_draw.elapsed() >= FRAME {
            guard
                .terminal
                .draw(|f| view::render(&app, f, Instant::now()))?;
            images_drawn = paint_images(&app, images_drawn)?;
            last_draw = Instant::now();
            needs_draw = false;
        }
    }
    drop(w);
    drop(guard);
    Ok(())
}

impl Drop for Workers {
    /// On every way out, an error too: the training run is stopped and waited for.
    fn drop(&mut self) {
        stop_training(self);
    }
}

/// A training still running keeps its last checkpoint: it is told to stop, and waited for
/// (it stops between batches, or finishes the save it is in) so the process never exits
/// in the middle of a checkpoint write.
fn stop_training(w: &mut Workers) {
    if let Some(c) = &w.train {
        c.cancel.store(true, Ordering::Relaxed);
    }
    if let Some(t) = w.train_thread.take() {
        let until = Instant::now() + Duration::from_secs(30);
        while !t.is_finished() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
        if t.is_finished() {
            let _ = t.join();
        }
    }
}
