//! The workbench's state and its one `update` function. State changes only here; rendering
//! (`ui.rs`) reads it. Side effects that need the event loop (spawning a desktop dialog)
//! come back as an [`Effect`].

use super::deploy::{DeployEvent, DeployView};
use super::dialog::{self, DialogAnswer, DialogKind};
use super::form::{self, FieldId};
use super::monitor::MonitorView;
use super::picker::{Picker, PickerMode, PickerOutcome};
use crate::budget::{self, Budget, Plan};
use crate::link::session::{LinkCmd, LinkEvent};
use crate::project::{self, BoardKind, Project};
use crate::template;
use crate::train::{Control, EpochLoss, TrainEvent, TrainOptions};
use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Position, Rect};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How long a status message stays in the status bar.
const STATUS_TTL: Duration = Duration::from_secs(6);

/// The five screens, in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Project,
    Train,
    Budget,
    Deploy,
    Monitor,
}

impl Screen {
    pub const ALL: [Screen; 5] = [
        Screen::Project,
        Screen::Train,
        Screen::Budget,
        Screen::Deploy,
        Screen::Monitor,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Screen::Project => "Project",
            Screen::Train => "Train",
            Screen::Budget => "Budget",
            Screen::Deploy => "Deploy",
            Screen::Monitor => "Monitor",
        }
    }

    fn index(self) -> usize {
        Screen::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }
}

/// Which pane of the Project screen has the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Templates,
    Form,
}

/// Everything the main loop feeds to [`update`].
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    Tick,
    Dialog(DialogAnswer),
    Train(TrainEvent),
    Link(LinkEvent),
    /// The link worker could not start the board (no model, a missing tool, ...).
    LinkFailed(String),
    Deploy(DeployEvent),
}

/// Work the event loop must start on the app's behalf.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Dialog {
        kind: DialogKind,
        request: u64,
        start_dir: PathBuf,
        file_name: String,
    },
    Train {
        project: Box<Project>,
        options: TrainOptions,
    },
    /// Start (or restart) the project's board and its link.
    Connect {
        project: Box<Project>,
        path: Option<PathBuf>,
    },
    /// Send a command to the board.
    Link(LinkCmd),
    /// List the boards (serial ports, debug probes, local boards).
    ScanBoards,
    /// Put the model on a board: build, flash, verify.
    Deploy {
        board: super::deploy::BoardEntry,
        project: Box<Project>,
        path: Option<PathBuf>,
    },
}

/// What the Train screen shows: the worker's reports, as they arrive.
#[derive(Debug, Clone, Default)]
pub struct TrainView {
    pub running: bool,
    pub paused: bool,
    pub epochs: u32,
    pub batches: u32,
    pub epoch: u32,
    pub batch: u32,
    pub history: Vec<EpochLoss>,
    /// Seconds each epoch of this run took, for the ETA.
    pub epoch_seconds: Vec<f32>,
    pub last_batch: Option<(f32, f32)>,
    /// `(pip count, pixels)` from the latest epoch; for a classifier, `(predicted digit,
    /// 16x16 pixels)` of test digits.
    pub samples: Vec<(u8, Vec<u8>)>,
    /// A classifier's test-set confusion matrix from the latest epoch.
    pub confusion: Vec<Vec<u32>>,
    pub checkpoints: Option<PathBuf>,
    /// How the last run ended, or why it could not start.
    pub message: Option<String>,
    pub control: Option<Arc<Control>>,
}

impl TrainView {
    /// Seconds left, from the mean epoch time of this run.
    pub fn eta_seconds(&self) -> Option<f32> {
        if self.epoch_seconds.is_empty() || !self.running {
            return None;
        }
        let per_epoch = self.epoch_seconds.iter().sum::<f32>() / self.epoch_seconds.len() as f32;
        let done_in_epoch = if self.batches > 0 {
            self.batch as f32 / self.batches as f32
        } else {
            0.0
        };
        let left = self.epochs.saturating_sub(self.epoch) as f32 + (1.0 - done_in_epoch);
        Some(per_epoch * left.max(0.0))
    }
}

/// What to do once the user agrees to drop unsaved changes.
#[derive(Debug, Clone, PartialEq)]
pub enum AfterDiscard {
    Quit,
    NewFromTemplate(usize),
    Open,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Popup {
    Help,
    Error {
        title: String,
        text: String,
    },
    Discard(AfterDiscard),
    Overwrite(PathBuf),
    Picker(Picker),
    /// The checkpoint cannot be resumed: offer to start fresh.
    TrainFresh(String),
}

/// A form edit in progress.
#[derive(Debug, Clone, PartialEq)]
pub struct Editing {
    pub field: FieldId,
    pub buffer: String,
    /// Why the last attempt to apply the buffer was refused.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub text: String,
    pub is_error: bool,
    pub at: Instant,
}

/// A desktop dialog the app is waiting for.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingDialog {
    pub kind: DialogKind,
    pub request: u64,
    pub since: Instant,
}

/// The whole state of the workbench.
#[derive(Debug, Clone)]
pub struct App {
    pub project: Project,
    /// Where the project lives; `None` until it is first saved.
    pub path: Option<PathBuf>,
    pub dirty: bool,
    pub screen: Screen,
    pub focus: Focus,
    pub template_sel: usize,
    pub field_sel: usize,
    pub editing: Option<Editing>,
    pub popup: Option<Popup>,
    pub status: Option<Status>,
    pub pending: Option<PendingDialog>,
    pub next_request: u64,
    /// Whether desktop dialogs can be tried (a display and a session bus).
    pub desktop: bool,
    pub color: bool,
    pub size: (u16, u16),
    /// The folder file pickers start in.
    pub cwd: PathBuf,
    pub train: TrainView,
    pub monitor: MonitorView,
    pub deploy: DeployView,
    /// The execution plan the Budget screen shows.
    pub plan: Plan,
    /// The budget of `project` under `plan`, recomputed whenever either changes.
    pub budget: Budget,
    budget_of: (Project, Plan),
    /// What to carry on with once a save asked for at the unsaved-changes prompt lands.
    pub after_save: Option<AfterDiscard>,
    pub should_quit: bool,
}

impl App {
    pub fn new(project: Project, path: Option<PathBuf>, size: (u16, u16)) -> App {
        let template_sel = template::all()
            .iter()
            .position(|t| t.id == project.template)
            .unwrap_or(0);
        let plan = Plan::Tiled;
        let budget = budget::for_project(&project, project.target_profile(), plan);
        App {
            train: TrainView::default(),
            monitor: MonitorView::with_baud(project.board.baud),
            deploy: DeployView::default(),
            budget,
            budget_of: (project.clone(), plan),
            plan,
            project,
            path,
            dirty: false,
            screen: Screen::Project,
            focus: Focus::Form,
            template_sel,
            field_sel: 0,
            editing: None,
            popup: None,
            status: None,
            pending: None,
            next_request: 1,
            desktop: false,
            color: true,
            size,
            cwd: PathBuf::from("."),
            after_save: None,
            should_quit: false,
        }
    }

    /// Recomputes the budget if the project or the plan changed since the last time.
    fn refresh_budget(&mut self) {
        if self.budget_of.0 != self.project || self.budget_of.1 != self.plan {
            self.budget =
                budget::for_project(&self.project, self.project.target_profile(), self.plan);
            self.budget_of = (self.project.clone(), self.plan);
        }
    }

    pub fn fields(&self) -> Vec<FieldId> {
        form::fields(&self.project)
    }

    pub fn selected_field(&self) -> Option<FieldId> {
        self.fields().get(self.field_sel).copied()
    }

    fn info(&mut self, text: impl Into<String>) {
        self.status = Some(Status {
            text: text.into(),
            is_error: false,
            at: Instant::now(),
        });
    }

    fn error(&mut self, title: &str, text: impl Into<String>) {
        self.popup = Some(Popup::Error {
            title: title.to_string(),
            text: text.into(),
        });
    }

    /// The project's display name with its file, for the status bar.
    pub fn title(&self) -> String {
        let file = self.path.as_ref().and_then(|p| p.file_name()).map_or_else(
            || "unsaved".to_string(),
            |f| f.to_string_lossy().into_owned(),
        );
        format!(
            "{}{} · {file}",
            self.project.name,
            if self.dirty { "*" } else { "" }
        )
    }

    fn start_dir(&self) -> PathBuf {
        self.path
            .as_ref()
            .and_then(|p| p.parent())
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| self.cwd.clone(), Path::to_path_buf)
    }

    fn suggested_file_name(&self) -> String {
        let stem: String = self
            .project
            .name
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || c == '-' {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        format!("{}.ron", stem.trim_matches('-'))
    }

    fn set_project(&mut self, project: Project, path: Option<PathBuf>) {
        self.template_sel = template::all()
            .iter()
            .position(|t| t.id == project.template)
            .unwrap_or(0);
        self.project = project;
        self.path = path;
        self.dirty = false;
        self.field_sel = 0;
        self.editing = None;
    }
}

// ---------------------------------------------------------------------------------------
// Layout shared by rendering and mouse hit-testing
// ---------------------------------------------------------------------------------------

/// Where things are on screen for a terminal of a given size.
#[derive(Debug, Clone)]
pub struct Areas {
    pub tabs: Rect,
    pub body: Rect,
    pub status: Rect,
    /// The clickable extent of each tab label.
    pub tab_hits: Vec<(Rect, Screen)>,
    pub templates: Rect,
    pub form: Rect,
}

/// The text of one tab, as drawn.
pub fn tab_label(s: Screen) -> String {
    format!(" {} {} ", s.index() + 1, s.title())
}

pub const BRAND: &str = " tinygen ";

pub fn areas(area: Rect) -> Areas {
    let tabs = Rect {
        height: 1.min(area.height),
        ..area
    };
    let status = Rect {
        y: area.y + area.height.saturating_sub(1),
        height: 1.min(area.height),
        ..area
    };
    let body = Rect {
        y: area.y + 1,
        height: area.height.saturating_sub(2),
        ..area
    };
    let mut x = area.x + BRAND.len() as u16 + 1;
    let mut tab_hits = Vec::new();
    for s in Screen::ALL {
        let w = tab_label(s).chars().count() as u16;
        tab_hits.push((
            Rect {
                x,
                y: tabs.y,
                width: w,
                height: 1,
            }
            .intersection(tabs),
            s,
        ));
        x += w + 1;
    }
    let left = if body.width >= 100 { 30 } else { 26 }.min(body.width / 2);
    let templates = Rect {
        width: left,
        ..body
    };
    let form = Rect {
        x: body.x + left,
        width: body.width - left,
        ..body
    };
    Areas {
        tabs,
        body,
        status,
        tab_hits,
        templates,
        form,
    }
}

/// Rows of the form that fit, and the first one shown, keeping the selection visible.
pub fn form_window(form_area: Rect, selected: usize) -> (usize, usize) {
    // Borders (2) and the two hint/error lines at the bottom.
    let rows = form_area.height.saturating_sub(4).max(1) as usize;
    let offset = (selected + 1).saturating_sub(rows);
    (rows, offset)
}

/// The popup rectangle for the in-terminal picker, centred.
pub fn picker_area(area: Rect) -> Rect {
    centered(area, 64, 18)
}

pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// Rows of the picker list that fit, and the first one shown.
pub fn picker_window(popup: Rect, selected: usize) -> (usize, usize) {
    // Border (2), folder line, filename line, hint line.
    let rows = popup.height.saturating_sub(5).max(1) as usize;
    (rows, (selected + 1).saturating_sub(rows))
}

// ---------------------------------------------------------------------------------------
// update
// ---------------------------------------------------------------------------------------

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
                open_terminal_picker(app, kind);
                app.info("The desktop dialog did not answer; using the in-terminal picker.");
            }
            None
        }
        Msg::Dialog(answer) => {
            on_dialog(app, answer);
            None
        }
        Msg::Train(event) => {
            on_train(app, event);
            None
        }
        Msg::Link(event) => on_link(app, event),
        Msg::Deploy(event) => on_deploy(app, event),
        Msg::LinkFailed(reason) => {
            app.monitor.log(reason.clone());
            app.monitor.state = super::monitor::LinkState::Failed(reason);
            None
        }
        Msg::Key(key) if key.kind != KeyEventKind::Release => on_key(app, key),
        Msg::Key(_) => None,
        Msg::Mouse(m) => on_mouse(app, m),
    }
}

fn on_train(app: &mut App, event: TrainEvent) {
    let t = &mut app.train;
    match event {
        TrainEvent::Started {
            epochs,
            batches,
            history,
        } => {
            t.epochs = epochs;
            t.batches = batches;
            t.epoch = history.len() as u32 + 1;
            t.batch = 0;
            t.history = history;
            t.message = None;
        }
        TrainEvent::Batch {
            epoch,
            batch,
            recon,
            kl,
        } => {
            t.epoch = epoch;
            t.batch = batch;
            t.last_batch = Some((recon, kl));
        }
        TrainEvent::Epoch {
            loss,
            seconds,
            samples,
            confusion,
        } => {
            t.history.push(loss);
            t.epoch_seconds.push(seconds);
            t.samples = samples;
            t.confusion = confusion;
        }
        TrainEvent::Checkpoint(path) => t.checkpoints = Some(path),
        TrainEvent::Paused(p) => t.paused = p,
        TrainEvent::Finished { epochs } => {
            t.running = false;
            t.control = None;
            t.message = Some(format!("Finished {epochs} epochs."));
            app.info("Training finished.");
        }
        TrainEvent::Cancelled { epoch } => {
            t.running = false;
            t.control = None;
            t.message = Some(format!(
                "Stopped during epoch {epoch}; the last checkpoint is kept."
            ));
        }
        TrainEvent::CheckpointProblem(reason) => {
            t.running = false;
            t.control = None;
            app.popup = Some(Popup::TrainFresh(reason));
        }
        TrainEvent::Failed(reason) => {
            t.running = false;
            t.control = None;
            t.message = Some(reason.clone());
            app.error("Training stopped", reason);
        }
    }
}

/// Where this project's checkpoints go: beside the project file, or in the working folder
/// for a project not saved yet.
fn checkpoint_dir(app: &App) -> PathBuf {
    match &app.path {
        Some(path) => app
            .project
            .resolve(path, &app.project.artifacts.checkpoints),
        None => app.cwd.join(&app.project.artifacts.checkpoints),
    }
}

fn start_training(app: &mut App, fresh: bool) -> Option<Effect> {
    if app.train.running {
        return None;
    }
    if app.project.template == template::TemplateId::StreamingSd {
        app.train.message = Some(format!(
            "Training the '{}' template is not built yet; 'cvae-die' and 'bitnet-mnist' train.",
            app.project.template
        ));
        return None;
    }
    let options = TrainOptions {
        checkpoints: checkpoint_dir(app),
        fresh,
        epochs: None,
        data: app.project.dataset.path.as_ref().map(|d| match &app.path {
            Some(f) => app.project.resolve(f, d),
            None => d.clone(),
        }),
    };
    app.train = TrainView {
        running: true,
        checkpoints: Some(options.checkpoints.clone()),
        ..TrainView::default()
    };
    Some(Effect::Train {
        project: Box::new(app.project.clone()),
        options,
    })
}

fn on_train_key(app: &mut App, key: KeyEvent) -> Option<Effect> {
    match key.code {
        KeyCode::Enter => return start_training(app, false),
        KeyCode::Char('f') => return start_training(app, true),
        KeyCode::Char(' ') => {
            if let Some(c) = &app.train.control {
                let paused = !c.pause.load(Ordering::Relaxed);
                c.pause.store(paused, Ordering::Relaxed);
                app.train.paused = paused;
            }
        }
        KeyCode::Char('c') | KeyCode::Esc => {
            if let Some(c) = &app.train.control {
                c.cancel.store(true, Ordering::Relaxed);
                c.pause.store(false, Ordering::Relaxed);
            }
        }
        _ => {}
    }
    None
}

fn on_dialog(app: &mut App, answer: DialogAnswer) {
    // A late answer to a request the user gave up on is ignored.
    if app.pending.as_ref().map(|p| p.request) != Some(answer.request) {
        return;
    }
    app.pending = None;
    match answer.path {
        Some(path) => match answer.kind {
            DialogKind::Open => open_path(app, &path),
            DialogKind::Save => {
                // A save-as never needs an effect of its own; a quit after it needs none.
                let _ = save_to(app, path);
            }
        },
        None if answer.elapsed < dialog::NO_PORTAL_THRESHOLD => {
            // It answered at once: there is no portal behind it.
            open_terminal_picker(app, answer.kind);
        }
        None => {
            app.after_save = None;
            app.info("Cancelled.");
        }
    }
}

fn open_terminal_picker(app: &mut App, kind: DialogKind) {
    let (mode, name) = match kind {
        DialogKind::Open => (PickerMode::Open, String::new()),
        DialogKind::Save => (PickerMode::Save, app.suggested_file_name()),
    };
    app.popup = Some(Popup::Picker(Picker::new(mode, &app.start_dir(), &name)));
}

/// Starts an open or save: a desktop dialog when there is a desktop, else the picker.
fn begin_file_dialog(app: &mut App, kind: DialogKind) -> Option<Effect> {
    if !app.desktop {
        open_terminal_picker(app, kind);
        return None;
    }
    let request = app.next_request;
    app.next_request += 1;
    app.pending = Some(PendingDialog {
        kind,
        request,
        since: Instant::now(),
    });
    Some(Effect::Dialog {
        kind,
        request,
        start_dir: app.start_dir(),
        file_name: app.suggested_file_name(),
    })
}

fn open_path(app: &mut App, path: &Path) {
    match project::load(path) {
        Ok(p) => {
            app.set_project(p, Some(path.to_path_buf()));
            app.info(format!("Opened {}", path.display()));
        }
        Err(e) => app.error("Cannot open this project", e.to_string()),
    }
}

fn save_to(app: &mut App, path: PathBuf) -> Option<Effect> {
    match project::save(&app.project, &path) {
        Ok(()) => {
            app.info(format!("Saved {}", path.display()));
            app.path = Some(path);
            app.dirty = false;
            app.after_save
                .take()
                .and_then(|then| after_discard(app, then))
        }
        Err(e) => {
            app.after_save = None;
            app.error("Not saved", e.to_string());
            None
        }
    }
}

fn save(app: &mut App) -> Option<Effect> {
    match app.path.clone() {
        Some(path) => save_to(app, path),
        None => begin_file_dialog(app, DialogKind::Save),
    }
}

fn quit(app: &mut App) {
    if let Some(c) = &app.train.control {
        // The worker keeps its last checkpoint; tell it to stop.
        c.cancel.store(true, Ordering::Relaxed);
    }
    if app.dirty {
        app.popup = Some(Popup::Discard(AfterDiscard::Quit));
    } else {
        app.should_quit = true;
    }
}

fn after_discard(app: &mut App, then: AfterDiscard) -> Option<Effect> {
    app.dirty = false;
    match then {
        AfterDiscard::Quit => {
            app.should_quit = true;
            None
        }
        AfterDiscard::NewFromTemplate(i) => {
            new_from_template(app, i);
            None
        }
        AfterDiscard::Open => begin_file_dialog(app, DialogKind::Open),
    }
}

fn new_from_template(app: &mut App, i: usize) {
    if let Some(def) = template::all().get(i) {
        app.set_project(Project::from_template(def), None);
        app.focus = Focus::Form;
        app.info(format!(
            "New project from '{}'. Press s to save it.",
            def.name
        ));
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
            open_terminal_picker(app, p.kind);
        }
        return None;
    }
    if app.editing.is_some() {
        on_edit_key(app, key);
        return None;
    }
    if is_ctrl(&key, 's') {
        return save(app);
    }
    match key.code {
        KeyCode::Char('?') | KeyCode::F(1) => app.popup = Some(Popup::Help),
        KeyCode::Char('q') => quit(app),
        KeyCode::Char(c @ '1'..='5') => {
            return show_screen(app, Screen::ALL[(c as u8 - b'1') as usize]);
        }
        KeyCode::Tab => return show_screen(app, Screen::ALL[(app.screen.index() + 1) % 5]),
        KeyCode::BackTab => return show_screen(app, Screen::ALL[(app.screen.index() + 4) % 5]),
        KeyCode::Char('o') => {
            if app.dirty {
                app.popup = Some(Popup::Discard(AfterDiscard::Open));
            } else {
                return begin_file_dialog(app, DialogKind::Open);
            }
        }
        KeyCode::Char('s') => return save(app),
        KeyCode::Char('S') => return begin_file_dialog(app, DialogKind::Save),
        KeyCode::Char('n') => {
            app.screen = Screen::Project;
            app.focus = Focus::Templates;
        }
        _ if app.screen == Screen::Project => on_project_key(app, key),
        _ if app.screen == Screen::Budget => on_budget_key(app, key),
        _ if app.screen == Screen::Train => return on_train_key(app, key),
        _ if app.screen == Screen::Monitor => return on_monitor_key(app, key),
        _ if app.screen == Screen::Deploy => return on_deploy_key(app, key),
        _ => {}
    }
    None
}

/// Switches screen; the Monitor connects to the board the first time it is shown.
pub fn show_screen(app: &mut App, screen: Screen) -> Option<Effect> {
    app.screen = screen;
    if screen == Screen::Monitor && !app.monitor.started {
        return connect(app);
    }
    if screen == Screen::Deploy && !app.deploy.scanned {
        app.deploy.scanned = true;
        return Some(Effect::ScanBoards);
    }
    None
}

fn on_deploy_key(app: &mut App, key: KeyEvent) -> Option<Effect> {
    let n = app.deploy.boards.len();
    match key.code {
        KeyCode::Down | KeyCode::Char('j') if n > 0 => app.deploy.sel = (app.deploy.sel + 1) % n,
        KeyCode::Up | KeyCode::Char('k') if n > 0 => app.deploy.sel = (app.deploy.sel + n - 1) % n,
        KeyCode::Char('r') => return Some(Effect::ScanBoards),
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
                        crate::deploy::probe::SETUP_HINTS.join("\n")
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
                    return connect(app);
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

fn on_deploy(app: &mut App, event: DeployEvent) -> Option<Effect> {
    let finished = matches!(event, DeployEvent::Finished(_));
    app.deploy.on_event(event);
    if finished {
        match app.deploy.result.clone() {
            Some(Ok(msg)) => {
                app.info(format!("Deployed: {msg}."));
                // A board with a serial port to watch: land on the Monitor.
                if app.project.board.port.is_some() {
                    app.screen = Screen::Monitor;
                    return connect(app);
                }
            }
            Some(Err(msg)) => app.error("Deploy failed", msg),
            None => {}
        }
    }
    None
}

fn connect(app: &mut App) -> Option<Effect> {
    app.monitor.started = true;
    app.monitor.baud = app.project.board.baud;
    app.monitor.hello = None;
    app.monitor.other_model = None;
    app.monitor.state = super::monitor::LinkState::Starting(format!(
        "starting the {} board",
        app.project.board.kind
    ));
    Some(Effect::Connect {
        project: Box::new(app.project.clone()),
        path: app.path.clone(),
    })
}

fn on_link(app: &mut App, event: LinkEvent) -> Option<Effect> {
    let first_hello = matches!(event, LinkEvent::Hello(_))
        && app.monitor.gallery.is_empty()
        && app.monitor.drawing.is_none();
    app.monitor.on_event(event, Instant::now());
    // A newcomer sees dice at once: the first HELLO rolls six (a classifier gets its
    // first test digit).
    if first_hello && app.monitor.can_generate() {
        return Some(Effect::Link(app.monitor.roll(6)));
    }
    if first_hello && app.monitor.can_classify() && app.monitor.classified.is_none() {
        return app.monitor.classify_next_digit().map(Effect::Link);
    }
    None
}

/// Keys of the Monitor on a classifier board.
fn on_classifier_key(app: &mut App, key: KeyEvent) -> Option<Effect> {
    let live = app.monitor.can_classify();
    match key.code {
        KeyCode::Char('n') | KeyCode::Char('r') | KeyCode::Char(' ') if live => {
            return app.monitor.classify_next_digit().map(Effect::Link);
        }
        KeyCode::Enter | KeyCode::Char('s') if live => {
            return Some(Effect::Link(app.monitor.classify_canvas()));
        }
        KeyCode::Char('e') => app.monitor.clear_canvas(),
        KeyCode::Char('n') | KeyCode::Char('r') | KeyCode::Char(' ') | KeyCode::Enter => {
            app.info("No board to ask; 'c' connects.");
        }
        _ => return on_monitor_key_common(app, key),
    }
    None
}

fn on_monitor_key(app: &mut App, key: KeyEvent) -> Option<Effect> {
    if app.monitor.is_classifier() {
        return on_classifier_key(app, key);
    }
    match key.code {
        KeyCode::Char('r') | KeyCode::Char(' ') => {
            if app.monitor.can_generate() {
                return Some(Effect::Link(app.monitor.roll(1)));
            }
            app.info("No board to roll on; 'c' connects.");
        }
        KeyCode::Char('g') if app.monitor.can_generate() => {
            return Some(Effect::Link(app.monitor.roll(6)));
        }
        _ => return on_monitor_key_common(app, key),
    }
    None
}

/// Monitor keys for every kind of board.
fn on_monitor_key_common(app: &mut App, key: KeyEvent) -> Option<Effect> {
    match key.code {
        KeyCode::Char('x') => return Some(Effect::Link(LinkCmd::Stop)),
        KeyCode::Char('c') => return connect(app),
        KeyCode::Char('v') => {
            app.monitor.cycle_style();
            let name = app.monitor.style.name();
            app.info(format!("Previews drawn as {name}."));
        }
        KeyCode::Char('p') => save_gallery(app),
        _ => {}
    }
    None
}

/// Saves the gallery as a PNG next to the project (or in the working folder).
fn save_gallery(app: &mut App) {
    let Some((px, w, h)) = app.monitor.gallery_png() else {
        app.info("No dice yet to save.");
        return;
    };
    let dir = app.start_dir();
    let path = (1..1000)
        .map(|n| dir.join(format!("dice-{n:03}.png")))
        .find(|p| !p.exists())
        .unwrap_or_else(|| dir.join("dice.png"));
    match crate::preview::write_png(&path, &px, w, h) {
        Ok(()) => app.info(format!(
            "Saved {} dice to {}",
            app.monitor.gallery.len(),
            path.display()
        )),
        Err(e) => app.error(
            "Could not save the dice",
            format!("{}: {e}", path.display()),
        ),
    }
}

fn on_budget_key(app: &mut App, key: KeyEvent) {
    match key.code {
        KeyCode::Char('p') => {
            app.plan = match app.plan {
                Plan::Layer => Plan::Tiled,
                Plan::Tiled => Plan::Layer,
            };
        }
        KeyCode::Char('t') | KeyCode::Right => cycle_field(app, FieldId::Target, true),
        KeyCode::Char('T') | KeyCode::Left => cycle_field(app, FieldId::Target, false),
        _ => {}
    }
}

fn on_project_key(app: &mut App, key: KeyEvent) {
    let n_fields = app.fields().len();
    match app.focus {
        Focus::Templates => match key.code {
            KeyCode::Up | KeyCode::Char('k') => {
                app.template_sel = app.template_sel.saturating_sub(1)
            }
            KeyCode::Down | KeyCode::Char('j') => {
                app.template_sel = (app.template_sel + 1).min(template::all().len() - 1)
            }
            KeyCode::Enter => choose_template(app, app.template_sel),
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

fn choose_template(app: &mut App, i: usize) {
    if app.dirty {
        app.popup = Some(Popup::Discard(AfterDiscard::NewFromTemplate(i)));
    } else {
        new_from_template(app, i);
    }
}

fn begin_edit(app: &mut App) {
    let Some(field) = app.selected_field() else {
        return;
    };
    if form::choices(field).is_some() {
        cycle_choice(app, true);
        return;
    }
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

fn cycle_field(app: &mut App, field: FieldId, forward: bool) {
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

fn on_edit_key(app: &mut App, key: KeyEvent) {
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

fn on_popup_key(app: &mut App, key: KeyEvent) -> Option<Effect> {
    let popup = app.popup.take()?;
    match popup {
        Popup::Help | Popup::Error { .. } => {
            // Any key closes them, but only Esc/Enter/q/? are swallowed quietly.
        }
        Popup::Discard(then) => match key.code {
            KeyCode::Char('y') | KeyCode::Char('d') => return after_discard(app, then),
            KeyCode::Char('s') => {
                // Carry on with what was asked once the save lands, wherever it goes.
                app.after_save = Some(then);
                return save(app);
            }
            KeyCode::Esc | KeyCode::Char('n') => {}
            _ => app.popup = Some(Popup::Discard(then)),
        },
        Popup::TrainFresh(reason) => match key.code {
            KeyCode::Char('y') => return start_training(app, true),
            KeyCode::Esc | KeyCode::Char('n') => app.train.message = Some(reason),
            _ => app.popup = Some(Popup::TrainFresh(reason)),
        },
        Popup::Overwrite(path) => match key.code {
            KeyCode::Char('y') => return save_to(app, path),
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
                KeyCode::Backspace | KeyCode::Left => {
                    picker.backspace();
                    PickerOutcome::Stay
                }
                KeyCode::Char(c) => {
                    if picker.mode == PickerMode::Open {
                        match c {
                            'k' => picker.up(),
                            'j' => picker.down(),
                            _ => {}
                        }
                    } else {
                        picker.type_char(c);
                    }
                    PickerOutcome::Stay
                }
                _ => PickerOutcome::Stay,
            };
            finish_picker(app, picker, outcome);
        }
    }
    None
}

fn finish_picker(app: &mut App, picker: Picker, outcome: PickerOutcome) {
    match outcome {
        PickerOutcome::Stay => app.popup = Some(Popup::Picker(picker)),
        PickerOutcome::Cancel => {
            app.after_save = None;
            app.info("Cancelled.");
        }
        PickerOutcome::Chosen(path) => match picker.mode {
            PickerMode::Open => open_path(app, &path),
            PickerMode::Save => {
                if path.exists() && app.path.as_ref() != Some(&path) {
                    app.popup = Some(Popup::Overwrite(path));
                } else {
                    let _ = save_to(app, path);
                }
            }
        },
    }
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
            && let Some(pixels) = super::ui::canvas_pixels_at(full, at)
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
                on_project_key(app, key);
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
                finish_picker(app, picker, outcome);
            }
            return None;
        }
        Some(Popup::Help) | Some(Popup::Error { .. }) => {
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
    if app.screen != Screen::Project {
        return None;
    }
    if a.templates.contains(at) {
        app.focus = Focus::Templates;
        let row = at.y.saturating_sub(a.templates.y + 1) as usize;
        if at.y > a.templates.y && row < template::all().len() {
            if app.template_sel == row {
                choose_template(app, row);
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
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(app: &mut App, code: KeyCode) -> Option<Effect> {
        update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
    }

    fn untitled_dirty(dir: &Path) -> App {
        let mut app = App::new(Project::from_template(&template::all()[0]), None, (80, 24));
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
        let saved = project::load(&dir.path().join("cvae-die.ron")).unwrap();
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
        let mut app = App::new(Project::from_template(&template::all()[0]), None, (80, 24));
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
        let mut app = App::new(Project::from_template(&template::all()[0]), None, (80, 24));
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
        let mut app = App::new(Project::from_template(&template::all()[0]), None, (80, 24));
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
        let mut app = App::new(Project::from_template(&template::all()[0]), None, (80, 24));
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
