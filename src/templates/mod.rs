//! The built-in templates, one folder each, and the registry the rest of tinygen finds
//! them in. Adding a template is a new folder with a `def.rs` and an `impl Template`, and
//! one line in [`ALL`] (see `docs/architecture.md`).
//!
//! Project files are read here too: validating one needs the catalogue of templates, which
//! the file format itself does not know.

pub mod die;
pub mod mnist;
pub mod sd;

use crate::deploy::{Deployable, ModelError};
use crate::project::{self, Project, ProjectError, TemplateDef};
use crate::spec::ModelSpec;
use crate::template::Template;
use std::path::Path;
use std::sync::OnceLock;

/// Every built-in template, in display order. Register a new one here.
pub static ALL: &[&dyn Template] = &[&die::Die, &mnist::Mnist, &sd::StreamingSd];

/// All built-in templates, in display order.
pub fn all() -> &'static [&'static dyn Template] {
    ALL
}

/// The catalogue project files are validated against: every template's definition.
pub fn catalog() -> &'static [&'static TemplateDef] {
    static DEFS: OnceLock<Vec<&'static TemplateDef>> = OnceLock::new();
    DEFS.get_or_init(|| ALL.iter().map(|t| t.def()).collect())
}

/// The template with this name.
pub fn find(name: &str) -> Option<&'static dyn Template> {
    ALL.iter().copied().find(|t| t.def().name == name)
}

/// Every template name, for suggestions.
pub fn names() -> Vec<&'static str> {
    ALL.iter().map(|t| t.def().name).collect()
}

/// The template a project is made from.
pub fn of(p: &Project) -> &'static dyn Template {
    // A project's template comes from `catalog()`, so it is always registered.
    find(p.template.name).unwrap_or(ALL[0])
}

/// The deployable model a project describes (no weights), from its template.
pub fn spec(p: &Project) -> ModelSpec {
    of(p).spec(p)
}

/// The default project of the template called `name`.
pub fn default_project(name: &str) -> Option<Project> {
    find(name).map(|t| Project::from_template(t.def()))
}

/// Reads and validates a project file.
pub fn load_project(path: &Path) -> Result<Project, ProjectError> {
    project::load(path, catalog())
}

/// Parses and validates project text; `origin` names it in errors.
pub fn parse_project(text: &str, origin: &Path) -> Result<Project, ProjectError> {
    project::parse(text, origin, catalog())
}

/// The model a project deploys: its trained checkpoint if there is one, else the model
/// tinygen ships for it. `file` is the project file (a project without one uses the
/// current folder).
pub fn deployable(p: &Project, file: Option<&Path>) -> Result<Deployable, ModelError> {
    let t = of(p);
    let file_name = || file.map_or("PROJECT.ron".into(), |f| f.display().to_string());
    match p.template.maturity {
        crate::project::Maturity::BudgetOnly => {
            return Err(ModelError::NotBuilt {
                template: p.template.name.to_string(),
                file: file_name(),
            });
        }
        crate::project::Maturity::Hosted | crate::project::Maturity::Complete => {}
    }
    crate::deploy::model_for(
        t.spec(p),
        t.builtin_model(p),
        &p.checkpoint_dir(file),
        &p.name,
        file,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::LayerKind;

    #[test]
    fn names_are_unique_and_findable() {
        for t in all() {
            assert_eq!(find(t.def().name).unwrap().def(), t.def());
        }
        let mut n = names();
        n.dedup();
        assert_eq!(n.len(), ALL.len());
        assert!(find("cvae").is_none());
    }

    /// Every template's default project is valid and survives a save and a load.
    #[test]
    fn every_template_is_valid_and_round_trips() {
        for t in all() {
            let p = Project::from_template(t.def());
            assert_eq!(p.template, t.def());
            let text = p.to_ron().unwrap();
            let again = parse_project(&text, Path::new("x.ron")).unwrap();
            assert_eq!(p, again, "{}", t.def().name);
        }
    }

    #[test]
    fn shapes_chain_for_every_template() {
        for t in all() {
            let s = t.spec(&Project::from_template(t.def()));
            let mut prev = s.input;
            for l in &s.layers {
                assert_eq!(l.input, prev, "{} {}", t.def().name, l.name);
                prev = l.output;
            }
            // Each layer is the kind its template's rules name.
            if let project::rules::Layout::Fixed(rules) = t.def().layout {
                for (l, r) in s.layers.iter().zip(rules) {
                    assert_eq!((l.kind, l.name.as_str()), (r.kind, r.name));
                }
            } else {
                assert!(s.layers.iter().all(|l| l.kind == LayerKind::Dense));
            }
        }
    }
}
