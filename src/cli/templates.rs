//! `tinygen templates`: the built-in templates.

use super::error::CliError;

pub fn run() -> Result<(), CliError> {
    let mut s = String::new();
    for t in crate::templates::all() {
        let d = t.def();
        s += &format!("{:<14} {}\n{:<14} {}\n\n", d.name, d.title, "", d.summary);
    }
    s += "Start one with: tinygen new --template NAME my-project.ron\n";
    super::common::print(&s)
}
