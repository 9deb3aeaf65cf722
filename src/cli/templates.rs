//! `tinygen templates`: the built-in templates.

use super::error::CliError;

pub fn run() -> Result<(), CliError> {
    let mut s = String::new();
    for t in crate::templates::all() {
        let d = t.def();
        let title = match d.maturity {
            crate::project::Maturity::BudgetOnly => {
                format!("{} (budget only: its training is not built yet)", d.title)
            }
            crate::project::Maturity::Hosted => {
                format!(
                    "{} (runs on the simulated board and a Raspberry Pi; too large for a \
                     microcontroller)",
                    d.title
                )
            }
            _ => d.title.to_string(),
        };
        s += &format!("{:<14} {title}\n{:<14} {}\n\n", d.name, "", d.summary);
    }
    s += "Start one with: tinygen new --template NAME my-project.ron\n";
    super::common::print(&s)
}
