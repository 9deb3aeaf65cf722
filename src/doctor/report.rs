//! The doctor's report: checks, their groups and statuses, and how a person or a leader's
//! script reads them.

use serde::Serialize;

/// What a check unlocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Group {
    Sim,
    Digits,
    Qemu,
    Ch32v003,
    Pi,
}

impl Group {
    pub const ALL: [Group; 5] = [
        Group::Sim,
        Group::Digits,
        Group::Qemu,
        Group::Ch32v003,
        Group::Pi,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Group::Sim => "The simulated board (every template, no hardware)",
            Group::Digits => "The BitNet MNIST template's digits",
            Group::Qemu => "The qemu boards (the CH32V003 firmware and the Pi runner, emulated)",
            Group::Ch32v003 => "A real CH32V003 through a WCH-LinkE",
            Group::Pi => "A Raspberry Pi running tinygen-runner",
        }
    }
}

/// A check's outcome. `Absent` is hardware that is not plugged in: not a fault, but the
/// group it unlocks is not ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Absent,
}

/// One check: what it looked at, what it found, and the command that fixes a failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub id: &'static str,
    pub name: &'static str,
    pub unlocks: Vec<Group>,
    pub status: Status,
    pub found: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    pub(super) fn new(id: &'static str, name: &'static str, unlocks: &[Group]) -> Check {
        Check {
            id,
            name,
            unlocks: unlocks.to_vec(),
            status: Status::Pass,
            found: String::new(),
            fix: None,
        }
    }

    pub(super) fn pass(mut self, found: impl Into<String>) -> Check {
        self.status = Status::Pass;
        self.found = found.into();
        self.fix = None;
        self
    }

    pub(super) fn fail(mut self, found: impl Into<String>, fix: impl Into<String>) -> Check {
        self.status = Status::Fail;
        self.found = found.into();
        self.fix = Some(fix.into());
        self
    }

    pub(super) fn absent(mut self, found: impl Into<String>, fix: impl Into<String>) -> Check {
        self.status = Status::Absent;
        self.found = found.into();
        self.fix = Some(fix.into());
        self
    }
}

/// Whether each group is ready, for the JSON.
#[derive(Debug, Clone, Serialize)]
pub struct GroupState {
    pub group: Group,
    pub title: &'static str,
    pub ready: bool,
}

/// Everything the doctor found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub tinygen: &'static str,
    pub host: String,
    pub user: String,
    pub groups: Vec<GroupState>,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn new(host: String, user: String, checks: Vec<Check>) -> Report {
        let groups = Group::ALL
            .iter()
            .map(|&group| GroupState {
                group,
                title: group.title(),
                ready: checks
                    .iter()
                    .filter(|c| c.unlocks.contains(&group))
                    .all(|c| c.status == Status::Pass),
            })
            .collect();
        Report {
            tinygen: env!("CARGO_PKG_VERSION"),
            host,
            user,
            groups,
            checks,
        }
    }

    pub fn ready(&self, group: Group) -> bool {
        self.groups.iter().any(|g| g.group == group && g.ready)
    }

    /// The checks that fail, once each.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.status == Status::Fail)
    }

    /// The failed checks of the simulated board and of the groups in `needs`, once each:
    /// what the workbench shows when it opens, so a missing piece is said before it bites.
    pub fn missing_for(&self, needs: &[Group]) -> Vec<Check> {
        // The workbench is running, so what builds it (Rust, a C compiler) was there.
        self.failures()
            .filter(|c| !matches!(c.id, "rust" | "cc"))
            .filter(|c| {
                c.unlocks
                    .iter()
                    .any(|g| *g == Group::Sim || needs.contains(g))
            })
            .cloned()
            .collect()
    }

    /// The report as a person reads it: each group, ready or not, its checks, and under
    /// each failure its fix. A check that unlocks two groups is shown under both.
    pub fn text(&self) -> String {
        let mut s = format!(
            "tinygen {} doctor on {} (user {})\n",
            self.tinygen, self.host, self.user
        );
        for g in &self.groups {
            let mine: Vec<&Check> = self
                .checks
                .iter()
                .filter(|c| c.unlocks.contains(&g.group))
                .collect();
            let fails = mine.iter().filter(|c| c.status == Status::Fail).count();
            let state = if g.ready {
                "ready".to_string()
            } else if fails > 0 {
                format!("{fails} to fix")
            } else {
                "waiting for hardware".to_string()
            };
            s += &format!("\n{}: {state}\n", g.title);
            for c in mine {
                let mark = match c.status {
                    Status::Pass => "ok  ",
                    Status::Fail => "FAIL",
                    Status::Absent => "--  ",
                };
                s += &format!("  {mark}  {:<24} {}\n", c.name, c.found);
                if let Some(fix) = &c.fix {
                    s += &format!("        {:<24} fix: {fix}\n", "");
                }
            }
        }
        let fails = self.failures().count();
        s += &if fails == 0 {
            "\nNothing to fix.\n".to_string()
        } else {
            format!(
                "\n{fails} check{} to fix; each says the command that fixes it.\n",
                if fails == 1 { "" } else { "s" }
            )
        };
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(statuses: &[(Status, &[Group])]) -> Report {
        let checks = statuses
            .iter()
            .enumerate()
            .map(|(i, (s, g))| {
                let c = Check::new(["a", "b", "c", "d"][i], "check", g);
                match s {
                    Status::Pass => c.pass("fine"),
                    Status::Fail => c.fail("broken", "fix it"),
                    Status::Absent => c.absent("not plugged in", "plug it in"),
                }
            })
            .collect();
        Report::new("box".into(), "ada".into(), checks)
    }

    #[test]
    fn a_group_is_ready_when_all_its_checks_pass() {
        let r = report(&[
            (Status::Pass, &[Group::Sim]),
            (Status::Fail, &[Group::Qemu, Group::Pi]),
            (Status::Absent, &[Group::Ch32v003]),
        ]);
        assert!(r.ready(Group::Sim));
        assert!(!r.ready(Group::Qemu) && !r.ready(Group::Pi));
        assert!(
            !r.ready(Group::Ch32v003),
            "no probe: not ready, but no failure"
        );
        assert!(
            r.ready(Group::Digits),
            "a group with no checks has nothing missing"
        );
        assert_eq!(r.failures().count(), 1);
    }

    #[test]
    fn the_text_shows_a_shared_check_under_each_group_with_its_fix() {
        let r = report(&[
            (Status::Pass, &[Group::Sim]),
            (Status::Fail, &[Group::Qemu, Group::Pi]),
        ]);
        let t = r.text();
        assert_eq!(t.matches("FAIL").count(), 2, "{t}");
        assert_eq!(t.matches("fix: fix it").count(), 2, "{t}");
        assert!(t.contains("The simulated board (every template, no hardware): ready"));
        assert!(t.contains("1 check to fix"), "{t}");
    }

    #[test]
    fn the_first_run_panel_takes_what_the_project_needs() {
        let r = report(&[
            (Status::Fail, &[Group::Sim]),
            (Status::Fail, &[Group::Digits]),
            (Status::Fail, &[Group::Qemu]),
            (Status::Absent, &[Group::Ch32v003]),
        ]);
        let ids = |v: Vec<Check>| v.iter().map(|c| c.id).collect::<Vec<_>>();
        assert_eq!(ids(r.missing_for(&[])), ["a"]);
        assert_eq!(ids(r.missing_for(&[Group::Digits])), ["a", "b"]);
    }

    #[test]
    fn the_json_names_groups_and_statuses_in_lower_case() {
        let r = report(&[(Status::Fail, &[Group::Ch32v003])]);
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["checks"][0]["status"], "fail");
        assert_eq!(v["checks"][0]["unlocks"][0], "ch32v003");
        assert_eq!(v["checks"][0]["fix"], "fix it");
        assert_eq!(v["groups"][0]["group"], "sim");
        assert_eq!(v["user"], "ada");
    }
}
