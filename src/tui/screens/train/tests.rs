//! The Train screen: snapshots at both sizes and what each report changes.

use super::*;
use crate::train::EpochLoss;
use crate::tui::msg::Msg;
use crate::tui::testing::{app, draw, key};
use crate::tui::update::update;
use crossterm::event::KeyModifiers;
use std::path::PathBuf;

/// Issue #7, item 3: the classifier's Train screen shows loss and accuracy per epoch
/// and the test confusion matrix, at 80x24 and 120x40.
#[test]
fn train_screen_of_the_digit_classifier() {
    use crate::train::TrainEvent;
    for (w, h) in [(80, 24), (120, 40)] {
        let p = crate::templates::default_project("bitnet-mnist").unwrap();
        let mut a = App::new(p, Some(PathBuf::from("projects/mnist.ron")), (w, h));
        a.color = false;
        key(&mut a, KeyCode::Char('2'));
        a.train.running = true;
        let mut confusion = vec![vec![0u32; 10]; 10];
        for (i, row) in confusion.iter_mut().enumerate() {
            row[i] = 950 + i as u32;
            row[(i + 3) % 10] = 30;
            row[(i + 7) % 10] = 4;
        }
        // A blocky "digit": a bar whose column follows the class.
        let digit = |c: usize| -> Vec<u8> {
            (0..256)
                .map(|k| {
                    if k % 16 == 3 + c && k / 16 > 2 {
                        255
                    } else {
                        0
                    }
                })
                .collect()
        };
        let msgs = [
            TrainEvent::Started {
                epochs: 30,
                batches: 313,
                history: vec![],
            },
            TrainEvent::Epoch {
                loss: EpochLoss {
                    epoch: 1,
                    losses: vec![("cross-entropy".into(), 1.2)],
                    accuracy: Some(0.61),
                    test_accuracy: Some(0.84),
                },
                seconds: 1.1,
                samples: vec![],
                confusion: vec![],
                scores: vec![],
                strip: Vec::new(),
            },
            TrainEvent::Epoch {
                loss: EpochLoss {
                    epoch: 2,
                    losses: vec![("cross-entropy".into(), 0.6)],
                    accuracy: Some(0.83),
                    test_accuracy: Some(0.9312),
                },
                seconds: 1.0,
                samples: (0..6).map(|c| (c as u8, digit(c))).collect(),
                confusion,
                scores: vec![],
                strip: Vec::new(),
            },
            TrainEvent::Batch {
                epoch: 3,
                batch: 100,
                losses: vec![("cross-entropy".into(), 0.512)],
            },
        ];
        for m in msgs {
            update(&mut a, Msg::Train(m));
        }
        let screen = draw(&a);
        assert!(screen.contains("loss 0.512"), "{screen}");
        assert!(screen.contains("test 93.12%"), "{screen}");
        insta::assert_snapshot!(format!("train_classifier_{w}x{h}"), screen);
    }
}

#[test]
fn confusion_rows_add_up_to_about_100() {
    let row = [1_120u32, 1, 2, 3, 0, 4, 1, 2, 2, 0];
    let total: u32 = row.iter().sum();
    let cells: Vec<String> = row.iter().map(|v| percent_cell(*v, total)).collect();
    let sum: u32 = cells
        .iter()
        .filter_map(|c| c.trim().parse::<u32>().ok())
        .sum();
    assert_eq!(sum, 99, "{cells:?}");
    assert_eq!(cells.iter().filter(|c| c.trim() == "<1").count(), 7);
}

/// Issue #18, item 4, then #16: the template list says that Streaming SD has no board
/// runtime yet; its Train screen invites training, and shows the die forming step by step.
#[test]
fn a_host_only_template_trains_and_shows_its_die_forming() {
    use crate::train::TrainEvent;
    let p = crate::templates::default_project("streaming-sd").unwrap();
    let mut a = App::new(p, None, (80, 24));
    a.color = false;
    assert!(draw(&a).contains("Streaming SD ·sim"), "{}", draw(&a));
    a.size = (120, 40);
    assert!(draw(&a).contains("Streaming SD (sim, Pi)"), "{}", draw(&a));
    key(&mut a, KeyCode::Char('2'));
    assert!(
        draw(&a).contains("Enter: train Streaming SD"),
        "{}",
        draw(&a)
    );
    let die = crate::data::die::sample(1, 5).pixels;
    let strip: Vec<Vec<u8>> = (0..8).map(|_| die.clone()).collect();
    on_event(
        &mut a,
        TrainEvent::Epoch {
            loss: EpochLoss {
                epoch: 1,
                losses: vec![("recon".into(), 300.0), ("kl".into(), 900.0)],
                ..EpochLoss::default()
            },
            seconds: 1.0,
            samples: vec![(6, die.clone())],
            confusion: Vec::new(),
            scores: Vec::new(),
            strip,
        },
    );
    // The denoiser's epoch has no reconstruction loss: its curve keeps its last value
    // (the VAE's curve said "NaN" when it ended).
    on_event(
        &mut a,
        TrainEvent::Epoch {
            loss: EpochLoss {
                epoch: 2,
                losses: vec![("flow".into(), 0.7)],
                ..EpochLoss::default()
            },
            seconds: 1.0,
            samples: vec![(6, die.clone())],
            confusion: Vec::new(),
            scores: Vec::new(),
            strip: (0..8).map(|_| die.clone()).collect(),
        },
    );
    for size in [(80, 24), (120, 40)] {
        a.size = size;
        let screen = draw(&a);
        assert!(
            screen.contains("6 pips, forming over 8 steps"),
            "{size:?}\n{screen}"
        );
        assert!(
            screen.contains("VAE reconstruction 300.00"),
            "{size:?}\n{screen}"
        );
        assert!(!screen.contains("NaN"), "{size:?}\n{screen}");
    }
}

#[test]
fn train_screen_with_progress_curves_and_samples() {
    use crate::train::{EpochLoss, TrainEvent};
    let mut a = app(80, 24);
    key(&mut a, KeyCode::Char('2'));
    let msgs = [
        TrainEvent::Started {
            epochs: 20,
            batches: 188,
            history: vec![],
        },
        TrainEvent::Epoch {
            loss: EpochLoss {
                epoch: 1,
                losses: vec![("recon".into(), 520.0), ("kl".into(), 7.5)],
                ..EpochLoss::default()
            },
            seconds: 9.0,
            samples: vec![],
            confusion: vec![],
            scores: vec![],
            strip: Vec::new(),
        },
        TrainEvent::Epoch {
            loss: EpochLoss {
                epoch: 2,
                losses: vec![("recon".into(), 470.0), ("kl".into(), 8.1)],
                ..EpochLoss::default()
            },
            seconds: 9.4,
            samples: (1..=6u8)
                .map(|p| (p, crate::data::die::sample(1, u64::from(p) - 1).pixels))
                .collect(),
            confusion: vec![],
            scores: vec![("read".into(), 0.975), ("counted".into(), 0.6833)],
            strip: Vec::new(),
        },
        TrainEvent::Batch {
            epoch: 3,
            batch: 94,
            losses: vec![("recon".into(), 455.5), ("kl".into(), 8.2)],
        },
    ];
    a.train.running = true;
    for m in msgs {
        update(&mut a, Msg::Train(m));
    }
    assert_eq!(a.train.history.len(), 2);
    assert!((a.train.eta_seconds().unwrap() - 9.2 * 17.5).abs() < 0.1);
    insta::assert_snapshot!("train_running_80x24", draw(&a));
    a.size = (120, 40);
    insta::assert_snapshot!("train_running_120x40", draw(&a));
}

/// #18, item 8: a trained project opened at 0%, and Epoch 0/0 showed before the
/// worker's first report.
#[test]
fn a_trained_project_opens_where_its_checkpoint_got_to() {
    use crate::checkpoint::{State, fingerprint, write_state};
    let dir = tempfile::tempdir().unwrap();
    let mut a = app(80, 24);
    a.path = Some(dir.path().join("die.ron"));
    let ck = checkpoint_dir(&a);
    std::fs::create_dir_all(&ck).unwrap();
    let epoch = |e: u32| EpochLoss {
        epoch: e,
        losses: vec![("recon".into(), 500.0 - e as f32), ("kl".into(), 7.0)],
        ..EpochLoss::default()
    };
    let history: Vec<EpochLoss> = (1..=4).map(epoch).collect();
    write_state(&ck, &State::new(fingerprint(&a.project, ""), history)).unwrap();
    on_open(&mut a);
    assert_eq!(a.train.history.len(), 4);
    key(&mut a, KeyCode::Char('2'));
    let screen = draw(&a);
    let of = a.project.training.epochs;
    assert!(
        screen.contains(&format!("Trained 4 of {of} epochs")),
        "{screen}"
    );
    assert!(!screen.contains(" 0%"), "{screen}");

    // Another project's (or other settings') checkpoint is not shown as this one's.
    let mut other = a.project.clone();
    other.name = "someone else".into();
    write_state(&ck, &State::new(fingerprint(&other, ""), vec![epoch(1)])).unwrap();
    on_open(&mut a);
    assert!(a.train.history.is_empty());

    // Running, before the first report: no "Epoch 0/0".
    a.train.running = true;
    let screen = draw(&a);
    assert!(screen.contains("Starting: reading the data"), "{screen}");
    assert!(!screen.contains("Epoch 0/0"), "{screen}");
}

/// #18, item 8: resuming a finished checkpoint said "Finished" over an empty grid.
#[test]
fn resuming_a_finished_run_says_there_was_nothing_to_do() {
    let mut a = app(80, 24);
    a.train.running = true;
    let history: Vec<EpochLoss> = (1..=3)
        .map(|e| EpochLoss {
            epoch: e,
            ..EpochLoss::default()
        })
        .collect();
    for m in [
        TrainEvent::Started {
            epochs: 3,
            batches: 10,
            history,
        },
        TrainEvent::Finished { epochs: 3 },
    ] {
        update(&mut a, Msg::Train(m));
    }
    let m = a.train.message.clone().unwrap();
    assert!(m.contains("Already trained all 3 epochs") && m.contains("f trains afresh"));
}

/// #18, item 8: no ETA in epoch 1.
#[test]
fn the_first_epoch_has_an_eta_from_its_batches() {
    let mut a = app(80, 24);
    a.train.running = true;
    update(
        &mut a,
        Msg::Train(TrainEvent::Started {
            epochs: 10,
            batches: 100,
            history: vec![],
        }),
    );
    a.train.epoch_started = Some(std::time::Instant::now() - std::time::Duration::from_secs(5));
    assert_eq!(a.train.eta_seconds(), None, "no batch yet");
    update(
        &mut a,
        Msg::Train(TrainEvent::Batch {
            epoch: 1,
            batch: 25,
            losses: vec![],
        }),
    );
    // 5 s for a quarter of an epoch: 20 s an epoch, 9.75 epochs to go.
    let eta = a.train.eta_seconds().unwrap();
    assert!((eta - 195.0).abs() < 5.0, "{eta}");
}

#[test]
fn enter_on_train_starts_the_worker_once() {
    let mut a = app(80, 24);
    key(&mut a, KeyCode::Char('2'));
    let e = update(
        &mut a,
        Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    assert!(
        matches!(e, Some(crate::tui::msg::Effect::Train { .. })),
        "{e:?}"
    );
    assert!(a.train.running);
    let again = update(
        &mut a,
        Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    assert!(
        again.is_none(),
        "a second Enter must not start a second worker"
    );
    // A damaged checkpoint asks before starting over.
    update(
        &mut a,
        Msg::Train(crate::train::TrainEvent::CheckpointProblem(
            "damaged".into(),
        )),
    );
    assert!(matches!(
        a.popup,
        Some(crate::tui::app::Popup::TrainFresh(_))
    ));
    let e = update(
        &mut a,
        Msg::Key(KeyEvent::new(KeyCode::Char('y'), KeyModifiers::NONE)),
    );
    assert!(matches!(e, Some(crate::tui::msg::Effect::Train { ref options, .. }) if options.fresh));
}

/// Bug (found at 80x24): the die's three scores ("read 97.0% · counted 77.0% · T=1
/// 65.0%") were cut at the charts' column, so the T=1 score never showed. They wrap onto
/// a second line, an item never split.
#[test]
fn the_dies_three_scores_all_show_at_80x24() {
    use crate::train::TrainEvent;
    for size in [(80, 24), (120, 40)] {
        let mut a = app(size.0, size.1);
        key(&mut a, KeyCode::Char('2'));
        a.train.running = true;
        let epoch = TrainEvent::Epoch {
            loss: EpochLoss {
                epoch: 1,
                losses: vec![("recon".into(), 476.0), ("kl".into(), 3.9)],
                ..EpochLoss::default()
            },
            seconds: 5.0,
            samples: (1..=6u8)
                .map(|p| (p, crate::data::die::sample(1, u64::from(p) - 1).pixels))
                .collect(),
            confusion: vec![],
            scores: vec![
                ("read".into(), 0.97),
                ("counted".into(), 0.77),
                ("T=1".into(), 0.65),
            ],
            strip: Vec::new(),
        };
        update(&mut a, Msg::Train(epoch));
        let screen = draw(&a);
        for s in ["read 97.0%", "counted 77.0%", "T=1 65.0%"] {
            assert!(screen.contains(s), "{size:?}: {s}\n{screen}");
        }
    }
}

#[test]
fn pack_keeps_items_whole_and_lines_within_the_width() {
    let items: Vec<String> = ["read 97.0%", "counted 77.0%", "T=1 65.0%"]
        .map(String::from)
        .to_vec();
    assert_eq!(
        pack(&items, 26),
        ["read 97.0% · counted 77.0%", "T=1 65.0%"]
    );
    assert_eq!(pack(&items, 80), ["read 97.0% · counted 77.0% · T=1 65.0%"]);
    assert_eq!(
        pack(&items, 5),
        ["read 97.0%", "counted 77.0%", "T=1 65.0%"]
    );
    assert!(pack(&[], 10).is_empty());
}
