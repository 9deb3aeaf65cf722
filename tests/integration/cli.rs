//! The headless command line: new, show, templates, completions, help and exit codes.

use super::{repo, run, text, tinygen};

#[test]
fn new_then_show_round_trips_every_template() {
    let dir = tempfile::tempdir().unwrap();
    for t in ["cvae-die", "bitnet-mnist", "streaming-sd"] {
        let path = dir.path().join(format!("{t}.ron"));
        let p = path.to_str().unwrap();
        let out = run(&["new", "--template", t, p]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains("Created"));
        let show = run(&["show", p]);
        assert_eq!(show.status.code(), Some(0), "{}", text(&show.stderr));
        assert!(text(&show.stdout).contains(&format!("Template   {t}")));
        // The normalised form loads to the same project.
        let ron = run(&["show", "--ron", p]);
        let again = dir.path().join(format!("{t}-again.ron"));
        std::fs::write(&again, &ron.stdout).unwrap();
        let ron2 = run(&["show", "--ron", again.to_str().unwrap()]);
        assert_eq!(text(&ron.stdout), text(&ron2.stdout));
    }
}

#[test]
fn new_never_overwrites_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mine.ron");
    std::fs::write(&path, "precious").unwrap();
    let out = run(&["new", "-t", "cvae-die", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("already exists"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");
    let out = run(&["new", "-t", "cvae-die", "--force", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("version: 1")
    );
}

#[test]
fn bad_arguments_exit_2_with_a_hint() {
    let out = run(&["new", "--template", "cvae", "x.ron"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("did you mean 'cvae-die'?"),
        "{}",
        text(&out.stderr)
    );

    let out = run(&["new", "--template", "cvae-die", "x.txt"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("does not end in .ron"));

    let out = run(&["--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));

    let out = run(&["show", "/no/such/file.ron"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("'/no/such/file.ron' does not exist"));

    let out = run(&["/no/such/project.ron"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("tinygen new --template"));
}

#[test]
fn help_version_templates_and_completions() {
    let help = run(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    let h = text(&help.stdout);
    assert!(h.contains("Examples:") && h.contains("Exit codes:"), "{h}");
    let v = run(&["--version"]);
    assert_eq!(
        text(&v.stdout).trim(),
        format!("tinygen {}", env!("CARGO_PKG_VERSION"))
    );
    let t = text(&run(&["templates"]).stdout);
    for name in ["cvae-die", "bitnet-mnist", "streaming-sd"] {
        assert!(t.contains(name), "{t}");
    }
    for shell in ["bash", "zsh", "fish"] {
        let c = run(&["completions", shell]);
        assert_eq!(c.status.code(), Some(0));
        assert!(text(&c.stdout).contains("tinygen"));
    }
}

#[test]
fn shipped_example_projects_are_valid() {
    let mut n = 0;
    for e in std::fs::read_dir(repo("projects")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "ron") {
            let out = run(&["show", p.to_str().unwrap()]);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{}: {}",
                p.display(),
                text(&out.stderr)
            );
            n += 1;
        }
    }
    assert!(n >= 3, "one example project per template");
}

#[test]
fn the_workbench_needs_a_terminal() {
    let out = tinygen()
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("needs an interactive terminal"));
}

#[test]
fn budget_reports_and_exits_3_when_it_does_not_fit() {
    let die = repo("projects/die.ron");
    let out = run(&["budget", die.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    assert!(
        t.contains("Budget of 'Die on a CH32V003' on ch32v003"),
        "{t}"
    );
    assert!(t.contains("Fits:"), "{t}");

    // Layer by layer, a 32x32 decoder does not fit 2 KB; the advice names the way out.
    let out = run(&["budget", die.to_str().unwrap(), "--plan", "layer"]);
    assert_eq!(out.status.code(), Some(3));
    let t = text(&out.stdout);
    assert!(t.contains("SRAM is over by"), "{t}");
    assert!(t.contains("the tiled plan needs"), "{t}");
    assert!(text(&out.stderr).contains("does not fit ch32v003"));

    // The diffusion model is far too big for the MCU.
    let sd = repo("projects/sd.ron");
    let out = run(&["budget", sd.to_str().unwrap(), "--target", "ch32v003"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stdout).contains("Flash is over by"));

    let out = run(&["budget", sd.to_str().unwrap(), "--target", "pi-zero"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("did you mean 'pi-zero-2w'?"));
}

#[test]
fn budget_json_is_documented_shape() {
    let mnist = repo("projects/mnist.ron");
    let out = run(&[
        "budget",
        mnist.to_str().unwrap(),
        "--json",
        "--plan",
        "layer",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(v["target"], "ch32v003");
    assert_eq!(v["plan"], "layer");
    assert_eq!(v["fits"], true);
    // Coded 4-bit weights on the CH32V003: estimated at 3.06 bits each, each layer's
    // stream padded to a word: 7,444 + 1,864 + 1,568 + 248.
    assert_eq!(v["coded_weights"], true);
    assert_eq!(v["flash"]["weight_bytes"], 11_124);
    assert_eq!(v["flash"]["limit_bytes"], 16_384);
    assert_eq!(v["layers"].as_array().unwrap().len(), 4);
    assert_eq!(v["layers"][0]["name"], "fc1");
    assert_eq!(v["layers"][0]["input"]["c"], 256);
    assert_eq!(v["peak_layer"], "fc1");
    for key in [
        "sram",
        "arena",
        "params",
        "macs",
        "instructions",
        "cycles",
        "ms_per_run",
        "advice",
        "estimates",
    ] {
        assert!(v.get(key).is_some(), "missing '{key}'");
    }
}

#[test]
fn data_preview_prints_a_labelled_grid_and_writes_a_png() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("dice.png");
    let out = tinygen()
        .env("COLUMNS", "80")
        .args(["data", "preview", "cvae-die", "--count", "2", "--png"])
        .arg(&png)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    for label in ["1 pip ", "2 pips", "6 pips"] {
        assert!(t.contains(label), "{t}");
    }
    assert!(
        !t.contains("\x1b["),
        "no colour codes when not on a terminal"
    );
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
    // Deterministic: the same seed prints the same grid.
    let again = tinygen()
        .env("COLUMNS", "80")
        .args(["data", "preview", "cvae-die", "--count", "2"])
        .output()
        .unwrap();
    assert!(t.starts_with(&text(&again.stdout)[..200]));

    let out = run(&["data", "preview", "cvae-dice"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("did you mean 'cvae-die'?"));
    let out = run(&["data", "preview", "cvae-die", "--count", "0"]);
    assert_eq!(out.status.code(), Some(2));

    // A project file shows its own dataset: Streaming SD's digits.
    let digits = repo("projects/sd-digits.ron");
    let out = run(&["data", "preview", digits.to_str().unwrap(), "--count", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    assert!(t.contains("digit 1") && t.contains("digit 0"), "{t}");
}

/// Issue #18, item 4, then #16: a new Streaming SD project exports and runs the shipped
/// model on the simulated board, a microcontroller board refuses it by name, and the
/// template list says where it runs.
#[test]
fn a_hosted_template_says_what_works() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sd.ron");
    let p = path.to_str().unwrap();
    assert!(run(&["new", "-t", "streaming-sd", p]).status.success());
    let out = dir.path().join("out");
    let o = run(&["export", p, "-o", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("the built-in default"),
        "{}",
        text(&o.stdout)
    );
    let o = run(&[
        "monitor",
        p,
        "--count",
        "2",
        "--steps",
        "2",
        "--preview",
        "1",
    ]);
    let said = text(&o.stdout);
    assert!(o.status.success(), "{said}{}", text(&o.stderr));
    assert!(said.contains("Sampling by diffusion in 2 steps"), "{said}");
    assert!(
        said.contains("die 2:") && said.contains("step 2 of 2"),
        "{said}"
    );
    let o = run(&["monitor", p, "--board", "qemu-rv32", "--count", "1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr)
            .contains("a diffusion model runs on the simulated board and the Raspberry Pi runner"),
        "{}",
        text(&o.stderr)
    );
    let list = text(&run(&["templates"]).stdout);
    assert!(
        list.contains(
            "Streaming SD (runs on the simulated board and a Raspberry Pi; too large for a \
             microcontroller)"
        ),
        "{list}"
    );
    // --steps and --preview belong to diffusion models.
    let o = run(&["monitor", "--steps", "4"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("--steps and --preview are for diffusion models"));
}

/// Issue #18, item 3: after training `a.ron`, `tinygen train b.ron` (the same template)
/// resumed a's checkpoint and trained nothing. New projects now get their own folders.
#[test]
fn two_new_projects_of_one_template_train_apart() {
    let dir = tempfile::tempdir().unwrap();
    let mut logs = Vec::new();
    for name in ["a", "b"] {
        let path = dir.path().join(format!("{name}.ron"));
        let p = path.to_str().unwrap();
        assert!(run(&["new", "-t", "cvae-die", p]).status.success());
        let source = std::fs::read_to_string(&path).unwrap();
        assert!(
            source.contains(&format!("build/{name}/checkpoints")),
            "{source}"
        );
        let small = source
            .replace("size: 12000", "size: 32")
            .replace("batch_size: 64", "batch_size: 16");
        std::fs::write(&path, small).unwrap();
        let out = run(&["train", p, "--epochs", "1"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        logs.push(text(&out.stdout));
    }
    assert!(
        logs.iter()
            .all(|l| l.contains("epoch   1/1") && !l.contains("Resuming")),
        "{logs:?}"
    );
    assert!(dir.path().join("build/a/checkpoints/model.bpk").exists());
    assert!(dir.path().join("build/b/checkpoints/model.bpk").exists());
}

#[test]
fn train_then_eval_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.ron");
    let p = path.to_str().unwrap();
    assert!(run(&["new", "-t", "cvae-die", p]).status.success());
    let source = std::fs::read_to_string(&path).unwrap();
    let source = source
        .replace("size: 12000", "size: 32")
        .replace("batch_size: 64", "batch_size: 16");
    std::fs::write(&path, source).unwrap();

    let out = run(&["eval", p]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("train it first"),
        "{}",
        text(&out.stderr)
    );
    // Regression: --test (a classifier's test set) was silently ignored for a die model.
    let out = run(&["eval", p, "--test", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("leave --test out"),
        "{}",
        text(&out.stderr)
    );

    let out = run(&["train", p, "--epochs", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("epoch   1/1"),
        "{}",
        text(&out.stdout)
    );
    let ck = dir.path().join("build/tiny/checkpoints");
    for f in [
        "model.bpk",
        "optimizer.bin",
        "weights.ron",
        "state.ron",
        "samples.png",
    ] {
        assert!(ck.join(f).exists(), "{f} missing");
    }
    // A second run resumes and has nothing left to do at 1 epoch; 2 epochs resume from 1.
    let out = run(&["train", p, "--epochs", "2"]);
    assert!(
        text(&out.stdout).contains("Resuming after epoch 1 of 2."),
        "{}",
        text(&out.stdout)
    );

    let out = run(&["eval", p, "--temperature", "nan"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("is not a temperature"));

    let out = run(&["eval", p, "--count", "5", "--temperature", "0.5"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    assert!(
        t.contains("Pip accuracy:") && t.contains("asked \\ read"),
        "{t}"
    );

    // A damaged checkpoint is reported, not trusted, and not silently replaced.
    std::fs::write(ck.join("model.bpk"), b"garbage").unwrap();
    let out = run(&["train", p, "--epochs", "3"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--fresh"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read(ck.join("model.bpk")).unwrap(), b"garbage");
}

/// Bad input to the device commands: each a clear error with its exit code, no panic.
#[test]
fn device_commands_refuse_bad_input_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("g.bin");
    std::fs::write(&garbage, b"not a model").unwrap();
    let out = run(&["sim", garbage.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("not a usable model"),
        "{}",
        text(&out.stderr)
    );

    // A project without a checkpoint (and not the shipped die) has nothing to export.
    let mnist = dir.path().join("mnist.ron");
    std::fs::copy(repo("projects/mnist.ron"), &mnist).unwrap();
    let out = run(&["export", mnist.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("has no trained model yet") && err.contains("no checkpoint"),
        "{err}"
    );
    assert!(err.contains("tinygen train"), "{err}");

    let out = run(&[
        "monitor",
        "--port",
        "/dev/tinygen-no-such-port",
        "--timeout",
        "1",
    ]);
    // A port that is not there is a bad argument, said at once with the ports that are.
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("'/dev/tinygen-no-such-port' does not exist"),
        "{}",
        text(&out.stderr)
    );

    let out = run(&["flash", mnist.to_str().unwrap(), "--board", "pi"]);
    assert_eq!(out.status.code(), Some(2), "a Pi needs --port");
    let out = run(&["monitor", "--label", "9"]);
    assert_eq!(out.status.code(), Some(2), "pip counts are 0-6");
}

/// Issue #7: the BitNet template trains on the real digits scripts/setup fetched, and
/// `eval` scores it on a test set (here a folder of IDX files made from held-out digits),
/// through the burn integer model and the C engine alike; without a test set it says
/// where to get one.
#[test]
fn bitnet_trains_on_real_digits_and_evaluates_on_idx_files() {
    use tinygen::data::mnist;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("digits.ron");
    let p = path.to_str().unwrap();
    assert!(run(&["new", "-t", "bitnet-mnist", p]).status.success());
    let source = std::fs::read_to_string(&path)
        .unwrap()
        .replace("size: 60000", "size: 3000");
    std::fs::write(&path, source).unwrap();
    let out = run(&["train", p, "--epochs", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    assert!(t.contains("epoch   2/2") && t.contains("train "), "{t}");
    // Issue #14: the run says which digits it reads (the full set or the fallback).
    assert!(t.starts_with("Training on 3,000 digits of "), "{t}");

    // Held-out digits (beyond the 3,000 trained on) as a t10k set.
    let (mut d, _) = mnist::load(&Default::default(), mnist::Split::Train).unwrap();
    d.truncate(3500);
    let held = mnist::Digits {
        images: d.images[3000 * 784..].to_vec(),
        labels: d.labels[3000..].to_vec(),
    };
    let test_dir = dir.path().join("test");
    mnist::write_idx(&test_dir, "t10k", &held).unwrap();
    let out = run(&["eval", p, "--test", test_dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    assert!(t.contains("Accuracy on 500 digits"), "{t}");
    assert!(t.contains("500 of 500 answers identical"), "{t}");
    let pct: f64 = t
        .split("digits of ")
        .nth(1)
        .and_then(|r| r.split(": ").nth(1))
        .and_then(|r| r.split('%').next())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no accuracy in {t}"));
    assert!(
        pct > 70.0,
        "two epochs on 3,000 digits learn something: {pct}"
    );

    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = run(&["eval", p, "--test", empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let e = text(&out.stderr);
    assert!(
        e.contains("t10k-images-idx3-ubyte") && e.contains("--test"),
        "{e}"
    );
}

/// The headless Monitor on the simulated board, as a newcomer runs it: dice of the asked
/// pip count stream back whole, and the PNG holds them.
#[test]
fn monitor_streams_dice_from_the_simulated_board() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("dice.png");
    let out = run(&[
        "monitor",
        "--count",
        "3",
        "--label",
        "4",
        "--baud",
        "0",
        "--png",
        png.to_str().unwrap(),
        "--scale",
        "2",
    ]);
    let t = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{t}{}", text(&out.stderr));
    assert!(t.contains("Simulated board on /dev/pts/"), "{t}");
    assert!(t.contains("HELLO from simulated board"), "{t}");
    for i in 1..=3 {
        assert!(t.contains(&format!("die {i}: 4 pips")), "{t}");
    }
    assert!(t.contains("3 dice in"), "{t}");
    let img = image::open(&png).expect("a PNG of the dice").to_luma8();
    // Three 32x32 dice in a row at 2x, with 4-pixel gaps, each under a 14-pixel label
    // (issue #18, item 12: the PNG was 1:1 with no labels).
    assert_eq!(
        (img.width(), img.height()),
        (3 * 64 + 4 * 4, 14 + 64 + 2 * 4)
    );
    assert!(img.pixels().any(|p| p.0[0] > 200), "the dice are drawn");
    // The label "4" is drawn in the band above each die (label grey 200).
    assert!((4..18).any(|y| (4..68).any(|x| img.get_pixel(x, y).0[0] == 200)));
}

/// Regression (issue 13, item 7): a file that cannot be read printed its cause twice
/// ("(os error 2): No such file or directory (os error 2)"). Issue #18, item 10: a
/// missing file is bad input (exit 2), said once, with how to make one.
#[test]
fn an_unreadable_project_names_its_cause_once() {
    let out = run(&["show", "/no/such/project.ron"]);
    let e = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.contains("'/no/such/project.ron' does not exist"), "{e}");
    assert!(e.contains("tinygen new --template"), "{e}");
    // A folder where the file should be: the system's cause, once.
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["show", dir.path().to_str().unwrap()]);
    let e = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{e}");
    assert!(e.contains("cannot read"), "{e}");
    assert_eq!(e.matches("os error").count(), 1, "{e}");
}

/// Issue #18, item 10: `tinygen budegt good.ron` blamed 'good.ron'.
#[test]
fn a_mistyped_command_suggests_the_right_one() {
    let out = run(&["budegt", "good.ron"]);
    let e = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert!(e.contains("did you mean 'tinygen budget'?"), "{e}");
    let out = run(&["train", "--help"]);
    let help = text(&out.stdout);
    assert!(
        help.contains("<PROJECT>") && help.contains("The project file (.ron)"),
        "{help}"
    );
}

/// Issue #18, item 8: Ctrl-C in `tinygen train` left without a word. It stops between
/// batches, says which epoch the kept checkpoint holds, and exits 130.
#[test]
fn ctrl_c_in_train_says_where_the_checkpoint_is() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quick.ron");
    assert!(
        run(&["new", "-t", "cvae-die", path.to_str().unwrap()])
            .status
            .success()
    );
    let source = std::fs::read_to_string(&path)
        .unwrap()
        .replace("size: 12000", "size: 256");
    std::fs::write(&path, source).unwrap();
    let mut child = tinygen()
        .args(["train", path.to_str().unwrap(), "--epochs", "500"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.starts_with("epoch   1/500"), "{first}");
    // SAFETY: a signal to our own child, still running (it has 499 epochs to go).
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let out = child.wait_with_output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("; the last checkpoint is epoch"), "{err}");
    assert!(err.contains("the same command resumes from it"), "{err}");
    assert!(
        dir.path()
            .join("build/quick/checkpoints/state.ron")
            .exists()
    );
}

/// `budget --verify --target pi-zero-2w` set the Pi's prediction beside the CH32V003
/// firmware's measurement (+294% instructions): two machines compared as one.
#[test]
fn verify_measures_only_the_chip_it_builds_for() {
    let out = run(&[
        "budget",
        repo("projects/die.ron").to_str().unwrap(),
        "--target",
        "pi-zero-2w",
        "--verify",
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--verify measures the CH32V003 firmware"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "nothing half-printed");
}

/// Issue #19 (killed processes): a `tinygen monitor` killed by SIGKILL left its simulated
/// board running for ever, serving a pty no one could reach. The board now ends with its
/// parent.
#[test]
fn a_killed_monitor_takes_its_simulated_board_with_it() {
    use std::io::{BufRead, BufReader};
    let mut child = tinygen()
        .args(["monitor", "--count", "60000", "--baud", "115200"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.contains("Simulated board on"), "{first}");
    let pid = child.id();
    let children: Vec<i32> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|s| {
            s.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<i32>>()
        })
        .collect();
    assert_eq!(children.len(), 1, "one simulated board: {children:?}");
    let board = children[0];
    // SAFETY: a signal to our own child.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
    child.wait().unwrap();
    // Gone, or a zombie waiting for a parent that does not reap (a container's init).
    let alive = || {
        std::fs::read_to_string(format!("/proc/{board}/stat"))
            .map(|s| {
                !s.rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            })
            .unwrap_or(false)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while alive() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(!alive(), "the simulated board {board} outlived its monitor");
}

/// Issue #20, item 3: `tinygen new --quick` writes the template's quick preset, and says
/// so; a template without one is told, not given a silent default.
#[test]
fn new_quick_writes_the_quick_preset_or_says_there_is_none() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("q.ron");
    let out = run(&["new", "-t", "cvae-die", "--quick", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("quick preset: 9 epochs of 12,000 dice"));
    let bitnet = dir.path().join("b.ron");
    let out = run(&[
        "new",
        "-t",
        "bitnet-mnist",
        "--quick",
        bitnet.to_str().unwrap(),
    ]);
    assert!(text(&out.stdout).contains("quick preset: 10 epochs of the 60,000 digits"));
    assert!(
        std::fs::read_to_string(&bitnet)
            .unwrap()
            .contains("epochs: 10,")
    );
    let ron = std::fs::read_to_string(&p).unwrap();
    assert!(ron.contains("epochs: 9,"), "{ron}");
    let sd = dir.path().join("s.ron");
    let out = run(&["new", "-t", "streaming-sd", "--quick", sd.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("has no quick preset yet"));
    assert!(!sd.exists(), "nothing is written");
}

/// Issue #16: `tinygen new --dataset digits` makes a Streaming SD project on MNIST's
/// digits, ten classes in its budget; a template that has no such data says so and
/// writes nothing.
#[test]
fn new_dataset_digits_makes_a_ten_class_streaming_sd_project() {
    let dir = tempfile::tempdir().unwrap();
    let sd = dir.path().join("digits.ron");
    let out = run(&[
        "new",
        "-t",
        "streaming-sd",
        "--dataset",
        "digits",
        sd.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let ron = std::fs::read_to_string(&sd).unwrap();
    assert!(ron.contains("kind: Some(\"digits\")"), "{ron}");
    let budget = run(&["budget", sd.to_str().unwrap()]);
    assert_eq!(budget.status.code(), Some(0), "{}", text(&budget.stderr));
    assert!(
        text(&budget.stdout).contains("15x8x8"),
        "4 latent + time + 10 digits"
    );
    // No shipped model draws digits: the Monitor says to train first.
    let mon = run(&["monitor", sd.to_str().unwrap(), "--count", "1"]);
    assert_eq!(mon.status.code(), Some(1), "{}", text(&mon.stdout));
    assert!(
        text(&mon.stderr).contains("tinygen train"),
        "{}",
        text(&mon.stderr)
    );

    let die = dir.path().join("die.ron");
    let out = run(&[
        "new",
        "-t",
        "cvae-die",
        "--dataset",
        "digits",
        die.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("use 'dice'"),
        "{}",
        text(&out.stderr)
    );
    assert!(!die.exists(), "nothing is written");
}
