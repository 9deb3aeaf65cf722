//! Any bytes as a shared `.ron` project file: parsing and validation return a project or
//! an error and never panic, and a project that loads prints as text that loads again.
use std::path::Path;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        match tinygen::templates::parse_project(text, Path::new("fuzz.ron")) {
            Ok(p) => {
                // A project that loads also prints and re-reads as the same project.
                let text = p.to_ron().expect("a valid project prints");
                let again = tinygen::templates::parse_project(&text, Path::new("again.ron"));
                assert!(again.is_ok(), "a valid project did not re-read: {again:?}");
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    });
}
