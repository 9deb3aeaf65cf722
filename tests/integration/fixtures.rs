//! Every malformed project under tests/fixtures/bad gets a clear error, exit code 2, a
//! position where there is one, and never a panic.

use super::{repo, run, text};

/// (file, text the error must contain, line:col it must point at, if any)
const CASES: &[(&str, &str, Option<&str>)] = &[
    ("empty.ron", "the file is empty", None),
    ("truncated.ron", "ends too early", Some(":14:15:")),
    ("not-utf8.ron", "not UTF-8 text (byte 0xff)", Some(":5:18:")),
    (
        "wrong-type.ron",
        "expected a whole number here",
        Some(":24:23:"),
    ),
    (
        "unknown-field.ron",
        "unknown field 'colour' in the project",
        Some(":26:5:"),
    ),
    (
        "unknown-template.ron",
        "did you mean 'cvae-die'?",
        Some(":6:15:"),
    ),
    (
        "unknown-target.ron",
        "unknown target 'ch32v03'; did you mean 'ch32v003'?",
        Some(":25:13:"),
    ),
    (
        "negative-size.ron",
        "dataset size '-5' is out of range",
        Some(":23:30:"),
    ),
    (
        "absurd-width.ron",
        "width '1000000000000' is out of range",
        Some(":17:34:"),
    ),
    (
        "escaping-path.ron",
        "leaves the project's folder",
        Some(":27:59:"),
    ),
    (
        "absolute-path.ron",
        "'/tmp/checkpoints' is absolute",
        Some(":27:30:"),
    ),
    (
        "deep-nesting.ron",
        "nests deeper than any project can",
        Some(":1:"),
    ),
    (
        "bits-3.ron",
        "bits '3' is not supported; use 1, 1.58 (ternary), 2, 4 or 8",
        Some(":15:42:"),
    ),
    (
        "newer-version.ron",
        "written by a newer tinygen (project version 2)", // #19, item 6: with line:col
        Some(":4:14:"),
    ),
    (
        "missing-section.ron",
        "missing field 'training'",
        Some(":27:1:"),
    ),
    ("garbage.ron", "expected '(' here", Some(":1:1:")),
    // #19, item 6: a UTF-8 byte-order mark dropped line:col from validation errors.
    (
        "bom-unknown-target.ron",
        "unknown target 'ch32v03'",
        Some(":29:13:"),
    ),
    // #18, item 10: the parser's own words ("Expected struct `project` but found `hello`")
    // showed through.
    (
        "named-struct.ron",
        "found 'hello' where the project begins",
        Some(":1:"),
    ),
    (
        "missing-paren.ron",
        "expected a comma here, or a closing bracket",
        Some(":10:9:"),
    ),
    (
        "duplicate-field.ron",
        "field 'target' is given twice",
        Some(":26:5:"),
    ),
    (
        "nan-learning-rate.ron",
        "learning rate 'NaN' is out of range",
        Some(":24:59:"),
    ),
    (
        "wrong-layer-count.ron",
        "has 4 layers (fc, up1, up2, out); this file lists 3",
        Some(":13:17:"),
    ),
    (
        "zero-latent.ron",
        "latent size '0' is out of range",
        Some(":9:17:"),
    ),
    (
        "huge-number.ron",
        "this number is far too large",
        Some(":24:"),
    ),
];

#[test]
fn every_malformed_fixture_is_a_clear_error() {
    let dir = repo("tests/fixtures/bad");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            CASES.iter().any(|c| c.0 == name),
            "fixture {name} has no expectation in CASES"
        );
        seen += 1;
    }
    assert_eq!(seen, CASES.len());
    assert!(seen >= 12);
    for (file, needle, pos) in CASES {
        let path = dir.join(file);
        let before = std::fs::read(&path).unwrap();
        let out = run(&["show", path.to_str().unwrap()]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: {err}");
        assert!(err.starts_with("error: "), "{file}: {err}");
        assert!(err.contains(file), "{file} is not named: {err}");
        assert!(
            err.contains(needle),
            "{file}: expected '{needle}' in: {err}"
        );
        if let Some(pos) = pos {
            assert!(
                err.contains(&format!("{file}{pos}")),
                "{file}: expected {pos} in: {err}"
            );
        }
        assert!(!err.contains("panicked"), "{file}: {err}");
        assert!(out.stdout.is_empty(), "{file} printed to stdout");
        assert_eq!(std::fs::read(&path).unwrap(), before, "{file} was modified");
    }
}

#[test]
fn the_workbench_refuses_a_malformed_project_before_touching_the_terminal() {
    let path = repo("tests/fixtures/bad/unknown-target.ron");
    let out = run(&[path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("did you mean 'ch32v003'?"));
    assert!(
        !text(&out.stdout).contains("\x1b[?1049h"),
        "entered the alternate screen"
    );
}
