//! The project's life in the workbench: a new project from a template, open, save and
//! save as, through a desktop dialog (on a worker thread) or the in-terminal picker.

use super::app::{AfterDiscard, App, Focus, PendingDialog, Popup};
use super::dialog::{self, DialogAnswer, DialogKind};
use super::msg::Effect;
use super::picker::{Picker, PickerMode, PickerOutcome};
use crate::project::{self, Project};
use std::path::{Path, PathBuf};
use std::time::Instant;

pub fn on_dialog(app: &mut App, answer: DialogAnswer) {
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

pub fn open_terminal_picker(app: &mut App, kind: DialogKind) {
    let (mode, name) = match kind {
        DialogKind::Open => (PickerMode::Open, String::new()),
        DialogKind::Save => (PickerMode::Save, app.suggested_file_name()),
    };
    app.popup = Some(Popup::Picker(Picker::new(mode, &app.start_dir(), &name)));
}

/// Starts an open or save: a desktop dialog when there is a desktop, else the picker.
pub fn begin_file_dialog(app: &mut App, kind: DialogKind) -> Option<Effect> {
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
    match crate::templates::load_project(path) {
        Ok(p) => {
            app.set_project(p, Some(path.to_path_buf()));
            super::screens::train::on_open(app);
            app.info(format!("Opened {}", path.display()));
        }
        Err(e) => app.error("Cannot open this project", crate::util::error_chain(&e)),
    }
}

pub fn save_to(app: &mut App, path: PathBuf) -> Option<Effect> {
    let trained_here = app
        .cwd
        .join(&app.project.artifacts.checkpoints)
        .join(crate::checkpoint::MODEL_FILE)
        .exists();
    if app.path.is_none() && !trained_here {
        // A new project's first save gives it artifact folders named after its file
        // (unless it was trained unsaved: then it keeps the folder its training is in).
        app.project.own_artifacts(&path);
    }
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
            app.error("Not saved", crate::util::error_chain(&e));
            None
        }
    }
}

pub fn save(app: &mut App) -> Option<Effect> {
    match app.path.clone() {
        Some(path) => save_to(app, path),
        None => begin_file_dialog(app, DialogKind::Save),
    }
}

pub fn after_discard(app: &mut App, then: AfterDiscard) -> Option<Effect> {
    app.dirty = false;
    match then {
        AfterDiscard::Quit => {
            app.should_quit = true;
            None
        }
        AfterDiscard::NewFromTemplate(i, quick) => {
            new_from_template(app, i, quick);
            None
        }
        AfterDiscard::Open => begin_file_dialog(app, DialogKind::Open),
    }
}

/// A new, unsaved project from template `i`; `quick` applies the template's quick preset
/// (as `tinygen new --quick`), or says that it has none and changes nothing.
pub fn new_from_template(app: &mut App, i: usize, quick: bool) {
    let Some(t) = crate::templates::all().get(i) else {
        return;
    };
    let def = t.def();
    let mut p = Project::from_template(def);
    let preset = if quick {
        match t.quick_preset(&mut p) {
            Some(what) => Some(what),
            None => {
                app.error(
                    "No quick preset",
                    format!(
                        "The '{}' template has no quick preset yet. Press Enter for its default project.",
                        def.name
                    ),
                );
                return;
            }
        }
    } else {
        None
    };
    app.set_project(p, None);
    super::screens::train::on_open(app);
    app.focus = Focus::Form;
    app.info(match preset {
        Some(what) => format!(
            "New project from '{}', quick preset ({what}). Press s to save it.",
            def.name
        ),
        None => format!("New project from '{}'. Press s to save it.", def.name),
    });
}

pub fn finish_picker(app: &mut App, picker: Picker, outcome: PickerOutcome) {
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
