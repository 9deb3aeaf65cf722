//! `tinygen doctor` against a machine described by files (`TINYGEN_DOCTOR_ROOT`): a user
//! who is not in dialout, one added but not logged in again, brltty holding a port's
//! place, and a WCH-LinkE in DAP mode.

use crate::common::{text, tinygen};
use std::path::Path;

fn write(root: &Path, path: &str, body: &str) {
    let p = root.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

/// A machine where `ada` (uid 1000) is logged in with only her own group.
fn machine(dialout_members: &str) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    write(r, "etc/hostname", "workshop-07\n");
    write(
        r,
        "etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\nada:x:1000:1000:Ada:/home/ada:/bin/bash\n",
    );
    write(
        r,
        "etc/group",
        &format!("root:x:0:\ndialout:x:20:{dialout_members}\nada:x:1000:\n"),
    );
    write(
        r,
        "proc/self/status",
        "Name:\ttinygen\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\nGroups:\t1000\n",
    );
    write(r, "proc/812/comm", "brltty\n");
    write(r, "proc/sys/kernel/osrelease", "6.1.0-28-amd64\n");
    for (f, v) in [
        ("idVendor", "1a86"),
        ("idProduct", "8012"),
        ("busnum", "1"),
        ("devnum", "9"),
    ] {
        write(
            r,
            &format!("sys/bus/usb/devices/1-3/{f}"),
            &format!("{v}\n"),
        );
    }
    root
}

fn doctor_json(root: &Path) -> (Option<i32>, serde_json::Value) {
    let out = tinygen()
        .args(["doctor", "--json"])
        .env("TINYGEN_DOCTOR_ROOT", root)
        .output()
        .unwrap();
    let v = serde_json::from_str(&text(&out.stdout))
        .unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)));
    (out.status.code(), v)
}

fn check<'a>(v: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id}: {v}"))
}

/// Issue #20: a user who is not in dialout gets the dialout check failed, with its fix.
#[test]
fn doctor_fails_dialout_for_a_user_not_in_it_with_the_usermod_fix() {
    let root = machine("");
    let (code, v) = doctor_json(root.path());
    assert_eq!(v["host"], "workshop-07");
    assert_eq!(v["user"], "ada");
    let d = check(&v, "dialout");
    assert_eq!(d["status"], "fail", "{d}");
    assert_eq!(
        d["fix"], "sudo usermod -aG dialout ada, then log out and in again",
        "{d}"
    );
    let pi = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["group"] == "pi")
        .unwrap();
    assert_eq!(pi["ready"], false, "a Pi's serial port would not open");
    // brltty is running; the LinkE is in DAP mode.
    assert_eq!(check(&v, "brltty")["status"], "fail");
    let l = check(&v, "wch-linke");
    assert_eq!(l["status"], "fail");
    assert!(l["fix"].as_str().unwrap().contains("ModeS"), "{l}");
    // This fake machine has no /dev/ptmx, so the simulated board is not ready: exit 1.
    assert_eq!(check(&v, "pty")["status"], "fail");
    assert_eq!(code, Some(1));
}

/// Issue #20: added to dialout, but the login is older than that: log out and in again.
#[test]
fn doctor_says_log_in_again_when_dialout_was_added_after_login() {
    let root = machine("ada");
    let (_, v) = doctor_json(root.path());
    let d = check(&v, "dialout");
    assert_eq!(d["status"], "fail");
    assert!(
        d["found"]
            .as_str()
            .unwrap()
            .contains("was added to dialout"),
        "{d}"
    );
    assert!(
        d["fix"]
            .as_str()
            .unwrap()
            .starts_with("log out and in again"),
        "{d}"
    );
}

/// The text report says the same, grouped, with each fix under its failure.
#[test]
fn doctor_text_groups_checks_and_prints_fixes() {
    let root = machine("");
    let out = tinygen()
        .arg("doctor")
        .env("TINYGEN_DOCTOR_ROOT", root.path())
        .output()
        .unwrap();
    let t = text(&out.stdout);
    assert!(
        t.contains("A Raspberry Pi running tinygen-runner: 2 to fix"),
        "{t}"
    );
    assert!(t.contains("fix: sudo usermod -aG dialout ada"), "{t}");
    assert!(t.contains("fix: sudo apt-get remove brltty"), "{t}");
    assert!(
        text(&out.stderr).contains("the simulated board is not ready"),
        "{}",
        text(&out.stderr)
    );
}
