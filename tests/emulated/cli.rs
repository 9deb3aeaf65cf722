//! The command line on emulated boards: `budget --verify` and `monitor --board qemu-rv32`.

use crate::common::{repo, run, text};

/// `budget --verify` puts the budget's predictions beside the real firmware's: the
/// CH32V003 ELF's sizes and qemu's instruction count, for the shipped die model.
#[test]
fn budget_verify_measures_the_shipped_die_on_rv32ec() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("die.ron");
    std::fs::copy(repo("projects/die.ron"), &project).unwrap();
    let out = run(&["budget", project.to_str().unwrap(), "--verify"]);
    let t = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{t}{}", text(&out.stderr));
    assert!(t.contains("Predicted vs measured on ch32v003"), "{t}");
    let row = |name: &str| -> Vec<u64> {
        let line = t
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no '{name}' row: {t}"));
        line[name.len()..]
            .split_whitespace()
            .take(2)
            .map(|v| v.parse().unwrap_or_else(|_| panic!("'{line}'")))
            .collect()
    };
    let flash = row("flash bytes");
    assert!(flash[1] > 4_000 && flash[1] <= 16_384, "{flash:?}");
    let instructions = row("instructions per image");
    assert!(
        instructions[1] > 1_000_000 && instructions[1] <= 3_200_000,
        "the die's goal is at most 3.2M instructions: {instructions:?}"
    );
    // The measurement agrees with the calibrated prediction within 12%: the products of
    // the no-multiplier engine cost one step per signed digit of each weight, so the
    // count moves with the trained weights (the calibration points are 7% low to 10%
    // high; the default model of #15's stop 32 measures 10.1% under the prediction).
    let d = instructions[1] as f64 / instructions[0] as f64;
    assert!((0.88..1.12).contains(&d), "{instructions:?}");
    let sram = row("SRAM bytes");
    assert!(sram[1] <= 2_048, "{sram:?}");
}

/// The headless Monitor on the RV32EC firmware: dice arrive whole, and qemu counts each
/// image's instructions.
#[test]
fn monitor_on_the_qemu_board() {
    let out = run(&[
        "monitor",
        "--board",
        "qemu-rv32",
        "--count",
        "2",
        "--label",
        "5",
        "--timeout",
        "60",
    ]);
    let t = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{t}{}", text(&out.stderr));
    assert!(t.contains("qemu rv32ec board on /dev/pts/"), "{t}");
    assert_eq!(t.matches(": 5 pips").count(), 2, "{t}");
    assert!(t.contains("board counter per image:"), "{t}");
}

/// Issue #20: `tinygen doctor` on this machine, after `scripts/setup`: every check the
/// simulated and qemu boards need passes (run as root, the serial permission too), and
/// the JSON says so for a leader to collect.
#[test]
fn doctor_on_this_machine_passes_the_sim_and_qemu_checks() {
    let out = run(&["doctor", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    assert_eq!(out.status.code(), Some(0), "{v:#}");
    for g in v["groups"].as_array().unwrap() {
        if g["group"] == "sim" || g["group"] == "qemu" {
            assert_eq!(g["ready"], true, "{g}: {v:#}");
        }
    }
    let uid = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix("Uid:")
                .map(|r| r.split_whitespace().next().unwrap().to_string())
        })
        .unwrap();
    if uid == "0" {
        let d = v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "dialout")
            .unwrap();
        assert_eq!(d["status"], "pass", "{d}");
    }
}
