//! The workbench's state: the project being edited, the screen shown, what each screen
//! knows (`screens::*::state`), popups and the status line. State changes only in
//! `update`; rendering (`view`) reads it.

use super::dialog::DialogKind;
use super::form::{self, FieldId};
use super::layout::Screen;
use super::picker::Picker;
use super::screens::deploy::state::DeployView;
use super::screens::monitor::state::MonitorView;
use super::screens::train::state::TrainView;
use crate::budget::{self, Budget, Plan};
use crate::project::Project;
use crate::spec::ModelKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a status message stays in the status bar.
pub const STATUS_TTL: Duration = Duration::from_secs(6);

/// Which pane of the Project screen has the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Templates,
    Form,
}

/// What to do once the user agrees to drop unsaved changes.
#[derive(Debug, Clone, PartialEq)]
pub enum AfterDiscard {
    Quit,
    /// A template's index, and whether to start from its quick preset.
    NewFromTemplate(usize, bool),
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
    /// What the project needs and this machine lacks, when the workbench opens: the
    /// doctor's failed checks, each with its fix (issue #20).
    Setup(Vec<crate::doctor::Check>),
    /// The workshop checklist (`w`): each step, done or not, and what to do next.
    Steps {
        title: String,
        states: Vec<crate::workshop::StepState>,
        /// The workshop names a reference checkpoint and the project is saved: `k` skips
        /// past training.
        can_skip: bool,
    },
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
    /// Whether what the Monitor sees is written to the project's workshop progress file:
    /// on in the workbench (`tui::run`), off in its tests, whose projects are the
    /// repository's.
    pub records_progress: bool,
    pub color: bool,
    pub size: (u16, u16),
    /// The folder file pickers start in.
    pub cwd: PathBuf,
    pub train: TrainView,
    pub monitor: MonitorView,
    pub deploy: DeployView,
    /// What the project's model does (from its template's spec).
    pub model_kind: ModelKind,
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
        let template_sel = template_index(&project);
        let plan = Plan::Tiled;
        let budget = budget_of(&project, plan);
        App {
            model_kind: crate::templates::spec(&project).kind,
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
            records_progress: false,
            color: true,
            size,
            cwd: PathBuf::from("."),
            after_save: None,
            should_quit: false,
        }
    }

    /// Recomputes the budget (and the model's kind) if the project or the plan changed
    /// since the last time.
    pub fn refresh_budget(&mut self) {
        if self.budget_of.0 != self.project || self.budget_of.1 != self.plan {
            self.budget = budget_of(&self.project, self.plan);
            self.model_kind = crate::templates::spec(&self.project).kind;
            self.budget_of = (self.project.clone(), self.plan);
        }
    }

    pub fn fields(&self) -> Vec<FieldId> {
        form::fields(&self.project)
    }

    pub fn selected_field(&self) -> Option<FieldId> {
        self.fields().get(self.field_sel).copied()
    }

    pub fn info(&mut self, text: impl Into<String>) {
        self.status = Some(Status {
            text: text.into(),
            is_error: false,
            at: Instant::now(),
        });
    }

    pub fn error(&mut self, title: &str, text: impl Into<String>) {
        self.popup = Some(Popup::Error {
            title: title.to_string(),
            text: text.into(),
        });
    }

    /// The template of the project: what its screens show and what its training reports.
    pub fn template(&self) -> &'static dyn crate::template::Template {
        crate::templates::of(&self.project)
    }

    /// What the project's images are called, one and many ("die", "dice").
    pub fn image_words(&self) -> (&'static str, &'static str) {
        self.template().image_words(&self.project)
    }

    /// How a label shows beside an image ("3 pips", "digit 7").
    pub fn caption(&self, label: u8) -> String {
        self.template().caption(&self.project, label)
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

    pub fn start_dir(&self) -> PathBuf {
        self.path
            .as_ref()
            .and_then(|p| p.parent())
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| self.cwd.clone(), Path::to_path_buf)
    }

    pub fn suggested_file_name(&self) -> String {
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

    pub fn set_project(&mut self, project: Project, path: Option<PathBuf>) {
        self.template_sel = template_index(&project);
        self.project = project;
        self.path = path;
        self.dirty = false;
        self.field_sel = 0;
        self.editing = None;
    }
}

/// The budget of a project under a plan, on its own target.
fn budget_of(p: &Project, plan: Plan) -> Budget {
    budget::for_project(p, &crate::templates::spec, p.target_profile(), plan)
}

/// Where the project's template sits in the template list.
pub fn template_index(p: &Project) -> usize {
    crate::templates::all()
        .iter()
        .position(|t| t.def() == p.template)
        .unwrap_or(0)
}
