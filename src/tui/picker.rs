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
    /// The file name being typed (save mode).
    pub filename: String,
    pub error: Option<String>,
}

/// What a key did to the picker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PickerOutcome {
    Stay,
    Cancel,
    Chosen(PathBuf),
}

impl Picker {
    pub fn new(mode: PickerMode, dir: &Path, filename: &str) -> Picker {
        let mut p = Picker {
            mode,
            dir: dir.to_path_buf(),
            entries: vec![],
            selected: 0,
            filename: filename.to_string(),
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
        self.refresh();
    }

    pub fn up(&mut self) {
        self.selected = self.selected.saturating_sub(1);
    }

    pub fn down(&mut self) {
        if self.selected + 1 < self.entries.len() {
            self.selected += 1;
        }
    }

    pub fn type_char(&mut self, c: char) {
        if self.mode == PickerMode::Save && c != '/' && !c.is_control() {
            self.filename.push(c);
        }
    }

    pub fn backspace(&mut self) {
        if self.mode == PickerMode::Save && !self.filename.is_empty() {
            self.filename.pop();
        } else {
            self.enter("..");
        }
    }

    /// Enter: go into a folder, pick a file, or (save mode) take the typed name.
    pub fn activate(&mut self) -> PickerOutcome {
        let entry = self.entries.get(self.selected).cloned();
        match self.mode {
            PickerMode::Open => match entry {
                Some(e) if e.is_dir => {
                    self.enter(&e.name);
                    PickerOutcome::Stay
                }
                Some(e) => PickerOutcome::Chosen(self.dir.join(e.name)),
                None => PickerOutcome::Stay,
            },
            PickerMode::Save => {
                let name = self.filename.trim();
                if !name.is_empty() {
                    let name = if name.ends_with(".ron") {
                        name.to_string()
                    } else {
                        format!("{name}.ron")
                    };
                    return PickerOutcome::Chosen(self.dir.join(name));
                }
                match entry {
                    Some(e) if e.is_dir => self.enter(&e.name),
                    Some(e) => self.filename = e.name,
                    None => {}
                }
                PickerOutcome::Stay
            }
        }
    }

    /// Selects the entry at a row of the list (mouse), activating it on a second click.
    pub fn click(&mut self, index: usize) -> PickerOutcome {
        if index >= self.entries.len() {
            return PickerOutcome::Stay;
        }
        if self.selected == index {
            return self.activate();
        }
        self.selected = index;
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
        p.backspace();
        p.down();
        p.down();
        assert_eq!(p.activate(), PickerOutcome::Chosen(p.dir.join("a.ron")));
    }

    #[test]
    fn save_appends_the_extension() {
        let d = tree();
        let mut p = Picker::new(PickerMode::Save, d.path(), "");
        for c in "my die".chars() {
            p.type_char(c);
        }
        p.type_char('/');
        assert_eq!(
            p.activate(),
            PickerOutcome::Chosen(d.path().join("my die.ron"))
        );
    }

    #[test]
    fn unreadable_folder_is_an_error_not_a_panic() {
        let p = Picker::new(PickerMode::Open, Path::new("/definitely/not/here"), "");
        assert!(p.error.as_deref().unwrap().contains("cannot list"));
        assert_eq!(p.entries.len(), 1);
    }
}
