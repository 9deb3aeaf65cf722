//! `tinygen report` (issue #20, item 4) on a trained die project: the Markdown a person
//! reads, the JSON a leader gathers, and the pictures, all agreeing.

use crate::common::{run_in, small_die_project, text};

#[test]
fn report_of_a_trained_die_has_every_part_and_its_json_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let cli = |args: &[&str]| run_in(dir.path(), args);
    small_die_project(dir.path(), 2);
    assert!(cli(&["train", "d.ron"]).status.success());
    let out = cli(&["report", "d.ron", "--count", "12"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let r = dir.path().join("d.report");
    let md = std::fs::read_to_string(r.join("report.md")).unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(r.join("report.json")).unwrap()).unwrap();
    let hash = v["model_hash"].as_str().unwrap();
    assert_eq!(hash.len(), 8);
    assert!(md.contains(&format!("Model **{hash}**")), "{md}");
    assert!(text(&out.stdout).contains(hash));
    assert_eq!(v["epochs_trained"], 2);
    assert_eq!(v["template"], "cvae-die");
    assert_eq!(v["budget"]["fits"], true, "the tiled plan fits the chip");
    // Steps: budget and training done, in the JSON and the Markdown alike.
    assert_eq!(v["steps_done"], 2);
    assert!(md.contains("## Workshop steps: 2 of 6 done"), "{md}");
    assert!(
        md.contains("- [x] Train the model for all its epochs"),
        "{md}"
    );
    for part in [
        "## Budget",
        "flash ",
        "![training curves](curves.png)",
        "## Evaluation",
        "asked \\ read",
        "## Gallery",
        "![gallery](gallery.png)",
        "## Project file",
    ] {
        assert!(md.contains(part), "no '{part}' in:\n{md}");
    }
    let eval = v["evaluation"].as_str().unwrap();
    assert!(eval.contains("Pip accuracy") && md.contains(eval.trim_end()));
    // The pictures: two loss panels; six rows of four dice of 32x32 drawn 3x.
    let png = |name: &str| image::open(r.join(name)).unwrap().to_luma8();
    let curves = png("curves.png");
    assert_eq!(curves.height(), 2 * 126 + 6);
    assert!(curves.pixels().any(|p| p.0[0] == 255), "a curve is drawn");
    let gallery = png("gallery.png");
    assert!(gallery.width() > 4 * 96 && gallery.height() > 6 * 96);

    // A second report replaces the first whole, and --no-eval leaves the evaluation out.
    assert!(cli(&["report", "d.ron", "--no-eval"]).status.success());
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(r.join("report.json")).unwrap()).unwrap();
    assert!(v["evaluation"].is_null());
}
