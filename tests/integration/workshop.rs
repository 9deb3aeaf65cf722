//! The workshop file beside a project and "skip to here" (issue #20, item 2): a
//! participant loads the leader's reference checkpoint and the training step ticks.

use crate::common::{
    run_in, small_die_project, steps_done as done, text, trained_reference, write_workshop,
};

#[test]
fn skip_loads_the_reference_checkpoint_and_keeps_the_participants_own() {
    let (leader, reference) = trained_reference();
    let me = tempfile::tempdir().unwrap();
    small_die_project(me.path(), 1);
    write_workshop(
        me.path(),
        &reference,
        &[
            r#"Step(id: "budget", title: "Fits", check: BudgetFits)"#,
            r#"Step(id: "train", title: "One epoch", check: Trained(epochs: 1), hint: "tinygen train d.ron")"#,
            r#"Step(id: "export", title: "Exported", check: Exported)"#,
        ],
    );
    let out = run_in(me.path(), &["steps", "check", "d.ron"]);
    let t = text(&out.stdout);
    assert!(t.starts_with("Dice: 1 of 3 steps done"), "{t}");
    assert!(t.contains("next: tinygen train d.ron"), "{t}");
    assert!(
        t.contains("d.workshop.ron"),
        "the file beside the project is used: {t}"
    );

    let out = run_in(me.path(), &["steps", "skip", "d.ron"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(done(me.path()), ["budget", "train"]);
    // The model is the leader's, byte for byte.
    let hash = |dir: &std::path::Path| {
        let out = run_in(dir, &["report", "d.ron", "--no-eval"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let v: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("d.report/report.json")).unwrap(),
        )
        .unwrap();
        v["model_hash"].as_str().unwrap().to_string()
    };
    assert_eq!(hash(me.path()), hash(leader.path()));
    // A second skip keeps the checkpoint it replaces.
    let out = run_in(me.path(), &["steps", "skip", "d.ron"]);
    assert!(
        text(&out.stdout).contains("Your own checkpoint is kept in"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        me.path()
            .join("build/d/checkpoints.before-skip-1/state.ron")
            .is_file()
    );

    // A reference trained for another model is refused, and nothing changes.
    let ron = std::fs::read_to_string(me.path().join("d.ron")).unwrap();
    let wider = ron.replacen("width: 8,", "width: 12,", 1);
    assert_ne!(wider, ron);
    std::fs::write(me.path().join("d.ron"), wider).unwrap();
    let out = run_in(me.path(), &["steps", "skip", "d.ron"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("does not fit this project's model"),
        "{}",
        text(&out.stderr)
    );
    assert!(!me.path().join("build/d/checkpoints.before-skip-2").exists());
}

/// A workshop file that cannot be read says so, and what to do, instead of using the
/// built-in steps behind the user's back.
#[test]
fn a_broken_workshop_file_is_an_error_that_names_it() {
    let dir = tempfile::tempdir().unwrap();
    small_die_project(dir.path(), 1);
    std::fs::write(
        dir.path().join("d.workshop.ron"),
        "Workshop(title: \"x\", steps: [",
    )
    .unwrap();
    let out = run_in(dir.path(), &["steps", "check", "d.ron"]);
    assert_eq!(out.status.code(), Some(2));
    let e = text(&out.stderr);
    assert!(
        e.contains("d.workshop.ron")
            && e.contains("delete it to use the template's built-in steps"),
        "{e}"
    );
}
