//! What the subcommands share: loading the project named on the command line, printing,
//! the image style and temperature arguments, and the unknown-template error.

use super::error::CliError;
use crate::project::Project;
use crate::util::use_color;
use std::io::{IsTerminal, Write};
use std::path::Path;

/// How to draw images in the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StyleArg {
    Ascii,
    Half,
    /// Sixel graphics (terminals such as foot, mlterm, WezTerm, Konsole, xterm -ti vt340).
    Sixel,
    /// The kitty graphics protocol (kitty, WezTerm, Konsole, Ghostty).
    Kitty,
    /// iTerm2's inline images (iTerm2, WezTerm).
    Iterm2,
}

impl StyleArg {
    /// The style asked for, or half-blocks on a colour terminal and ASCII elsewhere.
    pub fn or_default(style: Option<StyleArg>) -> crate::preview::Style {
        use crate::preview::Style;
        match style {
            Some(StyleArg::Ascii) => Style::Ascii,
            Some(StyleArg::Half) => Style::Half,
            Some(StyleArg::Sixel) => Style::Image(crate::graphics::Protocol::Sixel),
            Some(StyleArg::Kitty) => Style::Image(crate::graphics::Protocol::Kitty),
            Some(StyleArg::Iterm2) => Style::Image(crate::graphics::Protocol::Iterm2),
            None if use_color(std::io::stdout().is_terminal()) => Style::Half,
            None => Style::Ascii,
        }
    }
}

/// A sampling temperature: a finite number from 0 to 4.
pub fn parse_temperature(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(t) if t.is_finite() && (0.0..=4.0).contains(&t) => Ok(t),
        _ => Err(format!(
            "'{s}' is not a temperature; use a number from 0 to 4, e.g. 0.5"
        )),
    }
}

/// The unknown-template error of `new` and `data preview`.
pub fn unknown_template(name: &str) -> CliError {
    CliError::bad_input(anyhow::anyhow!(
        "unknown template '{name}'; {}",
        crate::util::suggest::hint(name, &crate::templates::names())
    ))
}

/// A project file, loaded and checked.
pub fn load(path: &Path) -> Result<Project, CliError> {
    Ok(crate::templates::load_project(path)?)
}

/// Writes text to stdout; a closed pipe is a failure like any other.
pub fn print(text: &str) -> Result<(), CliError> {
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(())
}
