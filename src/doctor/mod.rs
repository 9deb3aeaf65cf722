//! `tinygen doctor` (issue #20): what this machine can do, checked the way a workshop
//! leader would check it, grouped by what each check unlocks (the simulated board, the
//! qemu boards, a real board's serial port, a CH32V003, a Pi), each failure with the one
//! command that fixes it. The same report goes out as JSON for a leader to collect.

pub mod checks;
pub mod report;
pub mod sys;

pub use report::{Check, Group, GroupState, Report, Status};

/// Runs every check on `sys`.
pub fn examine(sys: &sys::Sys) -> Report {
    let checks = checks::all(sys);
    let host = sys.read("/etc/hostname").trim().to_string();
    let user = checks::identity(sys).name;
    Report::new(
        if host.is_empty() {
            "this machine".into()
        } else {
            host
        },
        user,
        checks,
    )
}
