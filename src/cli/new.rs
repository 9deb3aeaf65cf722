//! `tinygen new`: a project file from a built-in template.

use super::error::CliError;
use crate::project::{self, Project, ProjectError, TemplateDef};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The template: cvae-die, bitnet-mnist or streaming-sd.
    #[arg(long, short)]
    pub template: String,
    /// Where to write the project, e.g. my-die.ron.
    pub path: PathBuf,
    /// The project's name [default: from the file name].
    #[arg(long)]
    pub name: Option<String>,
    /// Replace an existing file.
    #[arg(long)]
    pub force: bool,
    /// The template's quick preset: trains in about 90 seconds on two cores to a model
    /// that still passes the template's quality bar (for workshops).
    #[arg(long)]
    pub quick: bool,
    /// What the model trains on, where the template offers a choice: streaming-sd takes
    /// "dice" (the default) or "digits" (MNIST's).
    #[arg(long, value_name = "KIND")]
    pub dataset: Option<String>,
}

impl Args {
    pub fn run(self) -> Result<(), CliError> {
        let t = crate::templates::find(&self.template)
            .ok_or_else(|| super::common::unknown_template(&self.template))?;
        let quick = if self.quick {
            let mut probe = Project::from_template(t.def());
            Some(t.quick_preset(&mut probe).ok_or_else(|| {
                CliError::bad_input(anyhow::anyhow!(
                    "the '{}' template has no quick preset yet; leave out --quick",
                    t.def().name
                ))
            })?)
        } else {
            None
        };
        let options = Options {
            name: self.name,
            force: self.force,
            quick: self.quick,
            dataset: self.dataset,
        };
        new_project(t.def(), &self.path, options)?;
        super::common::print(&format!(
            "Created '{}' from template '{}'{}.\nNext: 'tinygen {}' to open it, or 'tinygen show {}'.\n",
            self.path.display(),
            t.def().name,
            quick
                .map(|q| format!(", quick preset: {q}"))
                .unwrap_or_default(),
            self.path.display(),
            self.path.display()
        ))
    }
}

/// How `tinygen new` changes the template's default project.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The project's name (default: from the file name).
    pub name: Option<String>,
    /// Replace an existing file.
    pub force: bool,
    /// The template's quick preset.
    pub quick: bool,
    /// `dataset.kind`.
    pub dataset: Option<String>,
}

/// Writes a new project from a template, refusing to replace a file unless asked.
pub fn new_project(
    def: &'static TemplateDef,
    path: &Path,
    o: Options,
) -> Result<Project, CliError> {
    let Options {
        name,
        force,
        quick,
        dataset,
    } = o;
    if path.extension().is_none_or(|e| e != "ron") {
        return Err(CliError::bad_input(anyhow::anyhow!(
            "'{}' does not end in .ron; project files are .ron files, e.g. 'my-die.ron'",
            path.display()
        )));
    }
    if path.exists() && !force {
        return Err(CliError::bad_input(anyhow::anyhow!(
            "'{}' already exists; pick another name or pass --force to replace it",
            path.display()
        )));
    }
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
        && !parent.is_dir()
    {
        return Err(CliError::bad_input(anyhow::anyhow!(
            "the folder '{}' does not exist; create it first",
            parent.display()
        )));
    }
    let mut p = Project::from_template(def);
    if quick {
        let t = crate::templates::find(def.name).expect("a built-in template's own name");
        t.quick_preset(&mut p);
    }
    p.own_artifacts(path);
    p.name = name.unwrap_or_else(|| {
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| def.title.to_string())
    });
    // The name and the dataset go through the same validation as a loaded file.
    let mut raw = p.to_raw();
    raw.name = p.name.clone();
    if dataset.is_some() {
        raw.dataset.kind = dataset;
    }
    let p = raw
        .validate(crate::templates::catalog())
        .map_err(|issues| {
            CliError::from(ProjectError::Invalid {
                path: path.to_path_buf(),
                issues,
            })
        })?;
    project::save(&p, path)?;
    Ok(p)
}
