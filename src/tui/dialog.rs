//! Desktop file dialogs through `rfd`, run off the UI thread so that they can never hang
//! the workbench. Without a desktop session the app goes straight to the in-terminal picker.

use std::path::PathBuf;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

/// How long the workbench waits for a desktop dialog before it stops waiting and offers
/// the in-terminal picker instead.
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// A dialog that answers faster than this without a path did not really open (no portal).
pub const NO_PORTAL_THRESHOLD: Duration = Duration::from_millis(800);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogKind {
    Open,
    Save,
}

/// What a desktop dialog answered.
#[derive(Debug, Clone, PartialEq)]
pub struct DialogAnswer {
    pub kind: DialogKind,
    /// The id the app gave the request, so that a late answer can be ignored.
    pub request: u64,
    pub path: Option<PathBuf>,
    pub elapsed: Duration,
}

/// Whether a desktop file dialog can be shown at all: a display and a session bus.
pub fn desktop_available() -> bool {
    let set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
    (set("DISPLAY") || set("WAYLAND_DISPLAY")) && set("DBUS_SESSION_BUS_ADDRESS")
}

/// Opens a desktop dialog on its own thread; the answer arrives as a message.
pub fn spawn<M: Send + 'static>(
    kind: DialogKind,
    request: u64,
    start_dir: PathBuf,
    file_name: String,
    tx: Sender<M>,
    wrap: fn(DialogAnswer) -> M,
) {
    std::thread::spawn(move || {
        let started = Instant::now();
        let dialog = rfd::FileDialog::new()
            .set_title("tinygen project")
            .add_filter("tinygen project", &["ron"])
            .set_directory(&start_dir);
        let path = match kind {
            DialogKind::Open => dialog.pick_file(),
            DialogKind::Save => dialog.set_file_name(&file_name).save_file(),
        };
        let _ = tx.send(wrap(DialogAnswer {
            kind,
            request,
            path,
            elapsed: started.elapsed(),
        }));
    });
}
