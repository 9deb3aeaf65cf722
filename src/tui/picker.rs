//! The in-terminal file picker: the fallback when no desktop file dialog is available,
//! and always one key away. It lists folders and `.ron` files.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickerMode {
    Open,
    Save,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub is_dir: bool,
}

/// The picker's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Picker {
    pub mode: PickerMode,
    pub dir: PathBuf,
    pub entries: Vec<Entry>,
    pub selected: usize,
    /// What is typed: a name or a path (absolute, relative to `dir`, or `~/…`). In save
    /// mode it starts as the suggested file name; in open mode it is type-ahead.
    pub filename: String,
    /// Whether the last move was through the list (arrows, a click) rather than typing:
    /// Enter then acts on the highlighted entry instead of the typed name.
    pub browsing: bool,
    /// The name the save started with, offered again in each folder entered by path.
    pub suggested: String,
    pub error: Option<String>,
}

/// What a key did to the picker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PickerOutcome {
    Stay,
    Cancel,
    Chosen(PathBuf),
}

/// `~` and `~/…` as the home folder.
fn expand_home(text: &str) -> PathBuf {
    let home = || std::env::var_os("HOME").map(PathBuf::from);
    match text.strip_prefix('~') {
        Some("") => home().unwrap_or_else(|| PathBuf::from(text)),
        Some(rest) if rest.starts_with('/') => match home() {
            Some(h) => h.join(rest.trim_start_matches('/')),
            None => PathBuf::from(text),
        },
        _ => PathBuf::from(text),
    }
}

impl Picker {
    pub fn new(mode: PickerMode, dir: &Path, filename: &str) -> Picker {
        let mut p = Picker {
            mode,
            dir: dir.to_path_buf(),
            entries: vec![],
            selected: 0,
            filename: filename.to_string(),
            browsing: false,
            suggested: filename.to_string(),
            error: None,
        };
        p.refresh();
        p
    }

    /// Re-reads the folder. An unreadable folder shows its error instead of entries.
    pub fn refresh(&mut self) {
        self.error = None;
        let mut entries = vec![Entry {
            name: "..".into(),
            is_dir: true,
        }];
        match std::fs::read_dir(&self.dir) {
            Ok(rd) => {
                let mut found: Vec<Entry> = rd
                    .filter_map(Result::ok)
                    .filter_map(|e| {
                        let name = e.file_name().to_string_lossy().into_owned();
                        let is_dir = e.path().is_dir();
                        let visible = !name.starts_with('.') && (is_dir || name.ends_with(".ron"));
                        visible.then_some(Entry { name, is_dir })
                    })
                    .collect();
                found.sort_by(|a, b| b.is_dir.cmp(&a.is_dir).then(a.name.cmp(&b.name)));
                entries.extend(found);
            }
            Err(e) => self.error = Some(format!("cannot list '{}': {e}", self.dir.display())),
        }
        self.entries = entries;
        self.selected = self.selected.min(self.entries.len().saturating_sub(1));
    }

    /// Goes into a folder of the list ("..": the parent), or any folder by its path.
    fn enter(&mut self, name: &str) {
        self.dir = if name == ".." {
            match self
                .dir
                .canonicalize()
                .ok()
                .and_then(|d| d.parent().map(Path::to_path_buf))
            {
                Some(parent) => parent,
                None => return,
            }
        } else {
            self.dir.join(name)
        };
        self.selected = 0;
        self.browsing = false;
        self.refresh();
    }

    pub fn up(&mut self) {
        self.selected = self.selected.saturating_sub(1);
        self.browsing = true;
    }

    pub fn down(&mut self) {
        if self.selected + 1 < self.entries.len() {
            self.selected += 1;
        }
        self.browsing = true;
    }

    /// Up a folder (Left).
    pub fn parent(&mut self) {
        self.enter("..");
    }

    pub fn type_char(&mut self, c: char) {
        if c.is_control() {
            return;
        }
        self.filename.push(c);
        self.browsing = false;
        self.error = None;
        self.type_ahead();
    }

    pub fn backspace(&mut self) {
        self.filename.pop();
        self.browsing = false;
        self.error = None;
        self.type_ahead();
    }

    /// Ctrl-U: clears what is typed.
    pub fn clear(&mut self) {
        self.filename.clear();
        self.browsing = false;
        self.error = None;
    }

    /// Highlights the first entry whose name starts with the typed text (a plain name
    /// only; a path is not looked up in this folder).
    fn type_ahead(&mut self) {
        let typed = self.filename.to_lowercase();
        if typed.is_empty() || typed.contains('/') {
            return;
        }
        if let Some(i) = self
            .entries
            .iter()
            .position(|e| e.name != ".." && e.name.to_lowercase().starts_with(&typed))
        {
            self.selected = i;
        }
    }

    /// The folder a typed path names and the part after its last '/', e.g. "~/pro" gives
    /// ($HOME, "pro"); a plain name gives (`dir`, name).
    fn split_typed(&self) -> (PathBuf, String) {
        match self.filename.rfind('/') {
            Some(i) => {
                let folder = &self.filename[..=i];
                let base = expand_home(folder);
                (self.dir.join(base), self.filename[i + 1..].to_string())
            }
            None => (self.dir.clone(), self.filename.clone()),
        }
    }

    /// Tab: completes the typed name or path to the longest name the folder's entries
    /// share, with a '/' after a folder that is the only match.
    pub fn complete(&mut self) {
        let (folder, stem) = self.split_typed();
        let Ok(rd) = std::fs::read_dir(&folder) else {
            self.error = Some(format!("no folder '{}'", folder.display()));
            return;
        };
        let matches: Vec<(String, bool)> = rd
            .filter_map(Result::ok)
            .map(|e| {
                (
                    e.file_name().to_string_lossy().into_owned(),
                    e.path().is_dir(),
                )
            })
            .filter(|(n, d)| {
                n.starts_with(&stem)
                    && (stem.starts_with('.') || !n.starts_with('.'))
                    && (*d || n.ends_with(".ron"))
            })
            .collect();
        let Some((first, _)) = matches.first() else {
            self.error = Some(format!("nothing here starts with '{stem}'"));
            return;
        };
        let mut common = first.clone();
        for (n, _) in &matches[1..] {
            let shared = common
                .chars()
                .zip(n.chars())
                .take_while(|(a, b)| a == b)
                .count();
            common = common.chars().take(shared).collect();
        }
        let head_len = self.filename.len() - stem.len();
        self.filename.truncate(head_len);
        self.filename.push_str(&common);
        if matches.len() == 1 && matches[0].1 {
            self.filename.push('/');
        }
        self.browsing = false;
        self.error = None;
    }

    /// Enter: on a highlighted entry (after the arrows) go into the folder or take the
    /// file; otherwise act on what is typed: a folder opens, a file is chosen (save mode
    /// adds '.ron').
    pub fn activate(&mut self) -> PickerOutcome {
        let typed = self.filename.trim().to_string();
        if self.browsing || typed.is_empty() {
            return self.activate_entry();
        }
        let path = self.dir.join(expand_home(&typed));
        if path.is_dir() {
            self.dir = path;
            self.selected = 0;
            self.browsing = false;
            self.filename.clear();
            if self.mode == PickerMode::Save {
                self.filename = self.suggested.clone();
            }
            self.refresh();
            return PickerOutcome::Stay;
        }
        match self.mode {
            PickerMode::Open => {
                if path.is_file() {
                    PickerOutcome::Chosen(path)
                } else {
                    self.error = Some(format!("no file '{typed}' here"));
                    PickerOutcome::Stay
                }
            }
            PickerMode::Save => {
                if typed.ends_with('/') {
                    self.error = Some(format!("no folder '{typed}'"));
                    return PickerOutcome::Stay;
                }
                let path = if typed.ends_with(".ron") {
                    path
                } else {
                    path.with_file_name(format!(
                        "{}.ron",
                        path.file_name()
                            .map_or(String::new(), |n| n.to_string_lossy().into())
                    ))
                };
                match path.parent() {
                    Some(folder) if !folder.as_os_str().is_empty() && !folder.is_dir() => {
                        self.error =
                            Some(format!("no folder '{}'; create it first", folder.display()));
                        PickerOutcome::Stay
                    }
                    _ => PickerOutcome::Chosen(path),
                }
            }
        }
    }

    fn activate_entry(&mut self) -> PickerOutcome {
        match self.entries.get(self.selected).cloned() {
            Some(e) if e.is_dir => {
                self.enter(&e.name);
                PickerOutcome::Stay
            }
            Some(e) => match self.mode {
                PickerMode::Open => PickerOutcome::Chosen(self.dir.join(e.name)),
                // Saving over a file: its name goes into the field; Enter again saves
                // (and asks before replacing it).
                PickerMode::Save => {
                    self.filename = e.name;
                    self.browsing = false;
                    PickerOutcome::Stay
                }
            },
            None => PickerOutcome::Stay,
        }
    }

    /// Selects the entry at a row of the list (mouse), activating it on a second click.
    pub fn click(&mut self, index: usize) -> PickerOutcome {
        if index >= self.entries.len() {
            return PickerOutcome::Stay;
        }
        if self.selected == index && self.browsing {
            return self.activate_entry();
        }
        self.selected = index;
        self.browsing = true;
        PickerOutcome::Stay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("sub")).unwrap();
        std::fs::write(d.path().join("b.ron"), "").unwrap();
        std::fs::write(d.path().join("a.ron"), "").unwrap();
        std::fs::write(d.path().join("notes.txt"), "").unwrap();
        std::fs::write(d.path().join(".hidden.ron"), "").unwrap();
        d
    }

    #[test]
    fn lists_folders_first_then_ron_files() {
        let d = tree();
        let p = Picker::new(PickerMode::Open, d.path(), "");
        let names: Vec<_> = p.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["..", "sub", "a.ron", "b.ron"]);
    }

    #[test]
    fn open_walks_folders_and_picks_files() {
        let d = tree();
        let mut p = Picker::new(PickerMode::Open, d.path(), "");
        p.down();
        assert_eq!(p.activate(), PickerOutcome::Stay);
        assert!(p.dir.ends_with("sub"));
        p.parent();
        p.down();
        p.down();
        assert_eq!(p.activate(), PickerOutcome::Chosen(p.dir.join("a.ron")));
    }

    fn typed(p: &mut Picker, text: &str) {
        for c in text.chars() {
            p.type_char(c);
        }
    }

    #[test]
    fn save_appends_the_extension() {
        let d = tree();
        let mut p = Picker::new(PickerMode::Save, d.path(), "");
        typed(&mut p, "my die");
        assert_eq!(
            p.activate(),
            PickerOutcome::Chosen(d.path().join("my die.ron"))
        );
    }

    /// #18, item 2: "/home/me/die.ron" after Ctrl-U saved "cvae-die.ronuhomemedie.ron".
    #[test]
    fn save_takes_a_typed_path_absolute_relative_or_home() {
        let d = tree();
        let elsewhere = tempfile::tempdir().unwrap();
        let mut p = Picker::new(PickerMode::Save, d.path(), "cvae-die.ron");
        p.clear();
        let target = elsewhere.path().join("die.ron");
        typed(&mut p, target.to_str().unwrap());
        assert_eq!(p.activate(), PickerOutcome::Chosen(target));

        let mut p = Picker::new(PickerMode::Save, d.path(), "");
        typed(&mut p, "sub/mine");
        assert_eq!(
            p.activate(),
            PickerOutcome::Chosen(d.path().join("sub/mine.ron"))
        );

        // A folder that is not there is said, not created or saved into.
        let mut p = Picker::new(PickerMode::Save, d.path(), "");
        typed(&mut p, "nowhere/mine.ron");
        assert_eq!(p.activate(), PickerOutcome::Stay);
        assert!(p.error.as_deref().unwrap().contains("create it first"));

        let home = expand_home("~/x.ron");
        if let Some(h) = std::env::var_os("HOME") {
            assert_eq!(home, PathBuf::from(h).join("x.ron"));
        }
    }

    /// #18, item 2: Enter on a highlighted folder saved into the current one; Backspace on
    /// an empty name climbed to '/'.
    #[test]
    fn enter_on_a_folder_opens_it_and_backspace_only_edits() {
        let d = tree();
        let mut p = Picker::new(PickerMode::Save, d.path(), "die.ron");
        p.down(); // "sub", highlighted with the arrows
        assert_eq!(p.activate(), PickerOutcome::Stay);
        assert!(p.dir.ends_with("sub"), "{:?}", p.dir);
        assert_eq!(p.filename, "die.ron", "the name is kept");
        for _ in 0..20 {
            p.backspace();
        }
        assert!(p.dir.ends_with("sub"), "Backspace does not climb");
        assert_eq!(p.filename, "");
        // A typed folder name opens that folder too, and offers the name again.
        p.parent();
        p.clear();
        typed(&mut p, "sub");
        assert_eq!(p.activate(), PickerOutcome::Stay);
        assert!(p.dir.ends_with("sub"));
        assert_eq!(p.filename, "die.ron");
    }

    #[test]
    fn tab_completes_names_and_folders() {
        let d = tree();
        std::fs::write(d.path().join("sub/deep.ron"), "").unwrap();
        let mut p = Picker::new(PickerMode::Open, d.path(), "");
        typed(&mut p, "s");
        p.complete();
        assert_eq!(p.filename, "sub/");
        typed(&mut p, "d");
        p.complete();
        assert_eq!(p.filename, "sub/deep.ron");
        assert_eq!(
            p.activate(),
            PickerOutcome::Chosen(d.path().join("sub/deep.ron"))
        );
        // Two matches complete to what they share; none is said.
        std::fs::write(d.path().join("ab.ron"), "").unwrap();
        let mut p = Picker::new(PickerMode::Open, d.path(), "");
        typed(&mut p, "a");
        p.complete();
        assert_eq!(p.filename, "a");
        typed(&mut p, "zz");
        p.complete();
        assert!(p.error.as_deref().unwrap().contains("starts with 'azz'"));
    }

    #[test]
    fn typing_highlights_the_first_match() {
        let d = tree();
        let mut p = Picker::new(PickerMode::Open, d.path(), "");
        typed(&mut p, "b");
        assert_eq!(p.entries[p.selected].name, "b.ron");
        assert_eq!(p.activate(), PickerOutcome::Stay, "'b' alone is no file");
        typed(&mut p, ".ron");
        assert_eq!(p.activate(), PickerOutcome::Chosen(d.path().join("b.ron")));
    }

    #[test]
    fn unreadable_folder_is_an_error_not_a_panic() {
        let p = Picker::new(PickerMode::Open, Path::new("/definitely/not/here"), "");
        assert!(p.error.as_deref().unwrap().contains("cannot list"));
        assert_eq!(p.entries.len(), 1);
    }
}
