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
}

impl Args {
    pub fn run(self) -> Result<(), CliError> {
        let t = crate::templates::find(&self.template)
            .ok_or_else(|| super::common::unknown_template(&self.template))?;
        new_project(t.def(), &self.path, self.name, self.force)?;
        super::common::print(&format!(
            "Created '{}' from template '{}'.\nNext: 'tinygen {}' to open it, or 'tinygen show {}'.\n",
            self.path.display(),
            t.def().name,
            self.path.display(),
            self.path.display()
        ))
    }
}

/// Writes a new project from a template, refusing to replace a file unless asked.
pub fn new_project(
    def: &'static TemplateDef,
    path: &Path,
    name: Option<String>,
    force: bool,
) -> Result<Project, CliError> {
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
    p.own_artifacts(path);
    p.name = name.unwrap_or_else(|| {
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| def.title.to_string())
    });
    // The name goes through the same validation as a loaded file.
    let mut raw = p.to_raw();
    raw.name = p.name.clone();
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
