//! The Train screen: start, pause and stop training (the worker is `tui::workers::train`),
//! the loss curves per epoch with progress and ETA, and what each epoch shows: a generator's
//! dice per class, a classifier's test confusion matrix and digits.

pub mod state;

use super::super::app::{App, Popup};
use super::super::msg::{Effect, TrainCtl};
use super::super::theme::{Theme, fmt_duration, halves, image_lines, truncate};
use crate::project::rules::Maturity;
use crate::spec::ModelKind;
use crate::train::{TrainEvent, TrainOptions};
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use state::TrainView;
use std::path::PathBuf;

/// A report of the training worker.
pub fn on_event(app: &mut App, event: TrainEvent) {
    let t = &mut app.train;
    match event {
        // Which files a run reads, in the status bar (#14: the fallback is said).
        TrainEvent::Data(source) => app.info(source),
        TrainEvent::Started {
            epochs,
            batches,
            history,
        } => {
            t.epochs = epochs;
            t.batches = batches;
            t.epoch = history.len() as u32 + 1;
            t.batch = 0;
            t.history = history;
            t.kept = None;
            t.message = None;
            t.epoch_started = Some(std::time::Instant::now());
        }
        TrainEvent::Batch {
            epoch,
            batch,
            losses,
        } => {
            t.epoch = epoch;
            t.batch = batch;
            t.last_batch = Some(losses);
        }
        TrainEvent::Epoch {
            loss,
            seconds,
            samples,
            confusion,
            scores,
            strip,
        } => {
            t.history.push(loss);
            t.epoch_seconds.push(seconds);
            t.samples = samples;
            t.confusion = confusion;
            t.scores = scores;
            t.strip = strip;
            t.epoch_started = Some(std::time::Instant::now());
        }
        TrainEvent::Checkpoint(path) => t.checkpoints = Some(path),
        TrainEvent::Kept(k) => t.kept = Some(k),
        TrainEvent::Paused(p) => t.paused = p,
        TrainEvent::Finished { epochs } => {
            t.running = false;
            if t.epoch_seconds.is_empty() {
                // Resumed a checkpoint that had all its epochs: nothing ran, so there are
                // no new samples to show (#18, item 8).
                t.message = Some(format!(
                    "Already trained all {epochs} epochs; nothing to do. f trains afresh; \
                     more epochs in the project train on."
                ));
                app.info("Nothing to train: every epoch is done.");
            } else {
                t.message = Some(match t.kept {
                    Some(k) if k.epoch != epochs => format!(
                        "Finished {epochs} epochs. Kept epoch {}, the best ({:.1}%), for export.",
                        k.epoch,
                        k.score * 100.0
                    ),
                    _ => format!("Finished {epochs} epochs."),
                });
                app.info("Training finished.");
            }
        }
        TrainEvent::Cancelled { epoch } => {
            t.running = false;
            t.message = Some(format!(
                "Stopped during epoch {epoch}; the last checkpoint is kept."
            ));
        }
        TrainEvent::CheckpointProblem(reason) => {
            t.running = false;
            app.popup = Some(Popup::TrainFresh(reason));
        }
        TrainEvent::Failed(reason) => {
            t.running = false;
            t.message = Some(reason.clone());
            app.error("Training stopped", reason);
        }
    }
}

/// Where this project's checkpoints go: beside the project file, or in the working folder
/// for a project not saved yet.
pub fn checkpoint_dir(app: &App) -> PathBuf {
    match &app.path {
        Some(path) => app
            .project
            .resolve(path, &app.project.artifacts.checkpoints),
        None => app.cwd.join(&app.project.artifacts.checkpoints),
    }
}

pub fn start_training(app: &mut App, fresh: bool) -> Option<Effect> {
    if app.train.running {
        return None;
    }
    if app.project.template.maturity == Maturity::BudgetOnly {
        app.train.message = Some(format!(
            "Training the '{}' template is not built yet; 'cvae-die' and 'bitnet-mnist' train.",
            app.project.template
        ));
        return None;
    }
    let options = TrainOptions {
        checkpoints: checkpoint_dir(app),
        fresh,
        epochs: None,
        data: app.project.data_places(app.path.as_deref()),
    };
    if app.path.is_none() {
        // An unsaved project has no folder of its own: say where its checkpoints go.
        app.info(format!(
            "Unsaved project: its checkpoints go to {}",
            options.checkpoints.display()
        ));
    }
    app.train = TrainView {
        running: true,
        checkpoints: Some(options.checkpoints.clone()),
        ..TrainView::default()
    };
    Some(Effect::Train {
        project: Box::new(app.project.clone()),
        options,
    })
}

/// The Train screen's keys.
pub fn on_key(app: &mut App, key: KeyEvent) -> Option<Effect> {
    match key.code {
        KeyCode::Enter => return start_training(app, false),
        KeyCode::Char('f') => return start_training(app, true),
        KeyCode::Char(' ') if app.train.running => {
            app.train.paused = !app.train.paused;
            return Some(Effect::TrainControl(TrainCtl::Pause(app.train.paused)));
        }
        KeyCode::Char('c') | KeyCode::Esc if app.train.running => {
            return Some(Effect::TrainControl(TrainCtl::Stop));
        }
        _ => {}
    }
    None
}

/// A confusion-matrix cell as a share of its row, rounded, never rounded up: a few digits
/// (under half a percent) show as "<1", so a row's cells add up to about 100 (issue #18,
/// item 5: they added up to 105 when every non-empty cell showed at least 1).
fn percent_cell(v: u32, total: u32) -> String {
    let pct = f64::from(v) * 100.0 / f64::from(total.max(1));
    if v == 0 {
        "  ·".to_string()
    } else if pct < 0.5 {
        " <1".to_string()
    } else {
        format!("{:>3.0}", pct.min(100.0))
    }
}

/// The Train screen of a project just opened: its checkpoint's history, unless a run is
/// under way (which keeps reporting).
pub fn on_open(app: &mut App) {
    if app.train.running {
        return;
    }
    let dir = checkpoint_dir(app);
    let names: Vec<&str> = app.template().losses().iter().map(|l| l.name).collect();
    let history = crate::checkpoint::saved_history(&app.project, &dir, &names);
    app.train = TrainView::opened(history, app.project.training.epochs, dir);
}

/// Draws the Train screen.
pub fn render(app: &App, t: Theme, f: &mut Frame, area: Rect) {
    use ratatui::widgets::{Axis, Chart, Dataset, Gauge, GraphType};
    let p = &app.project;
    let tr = &app.train;
    let classifier = app.model_kind == ModelKind::Classifier;
    let losses = app.template().losses();
    let budget_only = p.template.maturity == Maturity::BudgetOnly;
    let block = t.block("Train", true);
    let inner = block.inner(area);
    f.render_widget(block, area);
    if inner.height < 4 || inner.width < 20 {
        return;
    }
    // Status and progress.
    let status = if tr.running && tr.batches == 0 {
        // Before the worker's first report: it is reading data and the checkpoint.
        Line::styled("Starting: reading the data and any checkpoint…", t.accent())
    } else if tr.running {
        let mut s = format!(
            "Epoch {}/{} · batch {}/{}",
            tr.epoch, tr.epochs, tr.batch, tr.batches
        );
        if let Some(batch) = &tr.last_batch {
            for info in losses {
                if let Some((_, v)) = batch.iter().find(|(n, _)| n == info.name) {
                    s += &format!(" · {}", info.show(*v));
                }
            }
        }
        if let Some(eta) = tr.eta_seconds() {
            s += &format!(" · ETA {}", fmt_duration(eta));
        }
        if tr.paused {
            s += " · PAUSED";
        }
        Line::styled(s, t.accent())
    } else if let Some(m) = &tr.message {
        Line::styled(m.clone(), t.dim())
    } else if budget_only {
        Line::styled(
            format!(
                "Training {} is not built yet: its budget is on screen 3.",
                p.template.title
            ),
            t.dim(),
        )
    } else {
        let what = format!(
            "Enter: train {} for {} epochs (batch {}, learning rate {})",
            p.template.title, p.training.epochs, p.training.batch_size, p.training.learning_rate
        );
        // The resume note only where it fits whole.
        let more = "; resumes from the last checkpoint";
        let text = if what.chars().count() + more.len() <= inner.width as usize {
            what + more
        } else {
            what
        };
        Line::styled(text, t.dim())
    };
    f.render_widget(Paragraph::new(status), Rect { height: 1, ..inner });
    let done = tr.history.len() as f64
        + if tr.batches > 0 {
            tr.batch as f64 / tr.batches as f64
        } else {
            0.0
        };
    let ratio = if tr.epochs > 0 {
        (done / tr.epochs as f64).clamp(0.0, 1.0)
    } else {
        0.0
    };
    f.render_widget(
        Gauge::default()
            .gauge_style(t.accent())
            .ratio(if tr.running || !tr.history.is_empty() {
                ratio
            } else {
                0.0
            })
            .label(format!("{:.0}%", ratio * 100.0)),
        Rect {
            y: inner.y + 1,
            height: 1,
            ..inner
        },
    );
    let hint_y = inner.y + inner.height - 1;
    f.render_widget(
        Paragraph::new(Line::styled(
            truncate(
                if budget_only {
                    "3: the budget · 1: pick a template that trains"
                } else {
                    "Enter: train/resume · f: fresh · space: pause · c: stop"
                },
                inner.width as usize,
            ),
            t.dim(),
        )),
        Rect {
            y: hint_y,
            height: 1,
            ..inner
        },
    );
    let body = Rect {
        y: inner.y + 2,
        height: inner.height.saturating_sub(3),
        ..inner
    };
    if classifier {
        render_classifier(app, t, f, body);
        return;
    }
    let body = render_strip(app, t, f, body);

    // Samples on the right, three to a row: one image of each class (the die: 3 x 2).
    let side = tr
        .samples
        .first()
        .map_or(32, |(_, px)| px.len().isqrt().max(2));
    let big = body.width >= 3 * (side as u16 + 1) + 30 && body.height > 2 * (side as u16 / 2 + 1);
    let factor = if big { 1 } else { 2 };
    let tile_w = (side / factor) as u16 + 1;
    let tile_h = (side / factor / 2) as u16 + 1;
    let grid_w = (3 * tile_w).min(body.width.saturating_sub(24));
    let grid = Rect {
        x: body.x + body.width - grid_w,
        width: grid_w,
        ..body
    };
    let charts = Rect {
        width: body.width.saturating_sub(grid_w + 1),
        ..body
    };
    let mut shown: Vec<&(u8, Vec<u8>)> = Vec::new();
    for s in &tr.samples {
        if !shown.iter().any(|(l, _)| *l == s.0) {
            shown.push(s);
        }
    }
    shown.sort_by_key(|(l, _)| *l);
    if shown.is_empty() {
        f.render_widget(
            Paragraph::new(Line::styled(
                format!(
                    "Generated {} appear here after each epoch.",
                    app.image_words().1
                ),
                t.dim(),
            ))
            .wrap(Wrap { trim: true }),
            grid,
        );
    }
    for (k, (label, px)) in shown.iter().enumerate() {
        let cell = Rect {
            x: grid.x + (k % 3) as u16 * tile_w,
            y: grid.y + (k / 3) as u16 * tile_h,
            width: tile_w.min(grid.width),
            height: tile_h,
        }
        .intersection(grid);
        if cell.height == 0 {
            continue;
        }
        let mut lines = vec![Line::styled(app.caption(*label), t.dim())];
        lines.extend(image_lines(px, side, factor, t));
        f.render_widget(Paragraph::new(lines), cell);
    }
    // The judges' scores of the epoch's images: under the grid, or, when the grid fills
    // the height, on the last lines of the charts' column (two when one is too narrow).
    let mut charts = charts;
    if !tr.scores.is_empty() {
        let items: Vec<String> = tr
            .scores
            .iter()
            .map(|(name, v)| format!("{name} {:.1}%", v * 100.0))
            .collect();
        let rows = shown.len().div_ceil(3) as u16;
        let below = grid.y + rows * tile_h;
        let (lines, area) = if below < grid.y + grid.height {
            let lines = pack(&items, grid.width);
            let height = (lines.len() as u16).min(grid.y + grid.height - below);
            let area = Rect {
                y: below,
                height,
                ..grid
            };
            (lines, area)
        } else {
            let lines = pack(&items, charts.width);
            let height = (lines.len() as u16).min(2).min(charts.height);
            charts.height -= height;
            let area = Rect {
                y: charts.y + charts.height,
                height,
                ..charts
            };
            (lines, area)
        };
        let lines: Vec<Line> = lines
            .into_iter()
            .map(|l| Line::styled(l, t.dim()))
            .collect();
        f.render_widget(Paragraph::new(lines), area);
    }

    // Loss curves on the left, one chart each.
    if charts.width < 12 || charts.height < 4 {
        return;
    }
    let (half, lower) = halves(charts);
    let series = |name: &str| -> Vec<(f64, f64)> {
        // A task trained in stages has each loss in its own stage's epochs only.
        tr.history
            .iter()
            .map(|l| (f64::from(l.epoch), f64::from(l.loss(name))))
            .filter(|(_, y)| y.is_finite())
            .collect()
    };
    for ((rect, color), info) in [(half, Color::Cyan), (lower, Color::Magenta)]
        .into_iter()
        .zip(losses)
    {
        let (title, data) = (info.title, series(info.name));
        let (lo, hi) = data.iter().fold((f64::MAX, f64::MIN), |(a, b), (_, y)| {
            (a.min(*y), b.max(*y))
        });
        let (lo, hi) = if data.is_empty() {
            (0.0, 1.0)
        } else {
            (lo, hi.max(lo + 1e-3))
        };
        let last = data
            .last()
            .map_or(String::from("–"), |(_, y)| format!("{y:.2}"));
        let epochs = f64::from(tr.epochs.max(p.training.epochs).max(1));
        let ds = Dataset::default()
            .name(title)
            .marker(ratatui::symbols::Marker::Braille)
            .graph_type(GraphType::Line)
            .style(t.fg(color))
            .data(&data);
        let chart = Chart::new(vec![ds])
            .block(Block::new().title(Span::styled(format!("{title} {last}"), t.dim())))
            .x_axis(Axis::default().bounds([1.0, epochs]).style(t.dim()))
            .y_axis(
                Axis::default()
                    .bounds([lo, hi])
                    .labels(if hi - lo < 10.0 {
                        [format!("{lo:.1}"), format!("{hi:.1}")]
                    } else {
                        [format!("{lo:.0}"), format!("{hi:.0}")]
                    })
                    .style(t.dim()),
            )
            .legend_position(None);
        f.render_widget(chart, rect);
    }
}

/// A diffusion model's die forming over the sampler's steps, in a band across the bottom
/// of `body` when there is room; the rest of `body`.
fn render_strip(app: &App, t: Theme, f: &mut Frame, body: Rect) -> Rect {
    let strip = &app.train.strip;
    let Some(side) = strip.first().map(|px| px.len().isqrt().max(4)) else {
        return body;
    };
    let n = strip.len() as u16;
    // Half-size tiles where all the steps fit across, else quarter-size.
    let factor = if n * (side as u16 / 2 + 1) <= body.width {
        2
    } else {
        4
    };
    // Two pixel rows to a line, in half blocks or in ASCII.
    let rows = (side / factor).div_ceil(2) as u16;
    let band = rows + 1;
    let tile_w = (side / factor) as u16 + 1;
    if body.height < band + 10 || n * tile_w > body.width {
        return body;
    }
    let area = Rect {
        y: body.y + body.height - band,
        height: band,
        ..body
    };
    let kind = app.project.data_kind();
    let shown = crate::templates::sd::task::strip_class(kind);
    let label = app.caption(shown);
    let one = app.image_words().0;
    let caption =
        format!("{label}, forming over {n} steps (each step's estimate of the clean {one}):");
    f.render_widget(
        Paragraph::new(Line::styled(
            truncate(&caption, area.width as usize),
            t.dim(),
        )),
        Rect { height: 1, ..area },
    );
    for (k, px) in strip.iter().enumerate() {
        let cell = Rect {
            x: area.x + k as u16 * tile_w,
            y: area.y + 1,
            width: tile_w,
            height: rows,
        }
        .intersection(area);
        f.render_widget(Paragraph::new(image_lines(px, side, factor, t)), cell);
    }
    Rect {
        height: body.height - band,
        ..body
    }
}

/// The Train screen's body for a classifier: loss and accuracy curves on the left; the
/// test-set confusion matrix (percent of each true digit) and test digits with their
/// predicted class on the right.
fn render_classifier(app: &App, t: Theme, f: &mut Frame, body: Rect) {
    use ratatui::widgets::{Axis, Chart, Dataset, GraphType};
    let tr = &app.train;
    let matrix_w = 2 + 10 * 3 + 8;
    let side_w = (matrix_w as u16).min(body.width.saturating_sub(24));
    let side = Rect {
        x: body.x + body.width - side_w,
        width: side_w,
        ..body
    };
    let charts = Rect {
        width: body.width.saturating_sub(side_w + 1),
        ..body
    };
    // Confusion matrix.
    let mut lines = vec![Line::styled(
        "test confusion, % of each digit".to_string(),
        t.dim(),
    )];
    if tr.confusion.is_empty() {
        lines.push(Line::styled(
            "Appears after each epoch when a test set is found (t10k files in dataset.path or \
             $TINYGEN_MNIST)."
                .to_string(),
            t.dim(),
        ));
    } else {
        let mut head = String::from("  ");
        for c in 0..tr.confusion.len() {
            head += &format!("{c:>3}");
        }
        head += "    ok";
        lines.push(Line::styled(head, t.dim()));
        for (i, row) in tr.confusion.iter().enumerate() {
            let total = row.iter().sum::<u32>().max(1);
            let mut spans = vec![Span::styled(format!("{i} "), t.dim())];
            for (j, v) in row.iter().enumerate() {
                let pct = f64::from(*v) * 100.0 / f64::from(total);
                let cell = percent_cell(*v, total);
                let style = if i == j {
                    t.ok()
                } else if pct >= 1.0 {
                    t.error()
                } else {
                    t.dim()
                };
                spans.push(Span::styled(cell, style));
            }
            spans.push(Span::styled(
                format!(" {:>5.1}", f64::from(row[i]) * 100.0 / f64::from(total)),
                t.accent(),
            ));
            lines.push(Line::from(spans));
        }
    }
    let used = lines.len() as u16;
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), side);
    // Test digits with their predictions, below the matrix when there is room.
    let below = Rect {
        y: side.y + used + 1,
        height: side.height.saturating_sub(used + 1),
        ..side
    };
    if below.height >= 9 && !tr.samples.is_empty() {
        let per_row = (below.width / 18).max(1) as usize;
        for (k, (pred, px)) in tr.samples.iter().enumerate() {
            let cell = Rect {
                x: below.x + (k % per_row) as u16 * 18,
                y: below.y + (k / per_row) as u16 * 9,
                width: 18,
                height: 9,
            }
            .intersection(below);
            if cell.height < 9 {
                break;
            }
            let mut l = vec![Line::styled(format!("says {pred}"), t.dim())];
            l.extend(image_lines(px, 16, 1, t));
            f.render_widget(Paragraph::new(l), cell);
        }
    }
    if charts.width < 12 || charts.height < 4 {
        return;
    }
    let (half, lower) = halves(charts);
    let epochs = f64::from(tr.epochs.max(app.project.training.epochs).max(1));
    let name = app.template().losses().first().map_or("", |l| l.name);
    let loss: Vec<(f64, f64)> = tr
        .history
        .iter()
        .map(|l| (f64::from(l.epoch), f64::from(l.loss(name))))
        .collect();
    let train_acc: Vec<(f64, f64)> = tr
        .history
        .iter()
        .filter_map(|l| Some((f64::from(l.epoch), f64::from(l.accuracy?) * 100.0)))
        .collect();
    let test_acc: Vec<(f64, f64)> = tr
        .history
        .iter()
        .filter_map(|l| Some((f64::from(l.epoch), f64::from(l.test_accuracy?) * 100.0)))
        .collect();
    let hi = loss.iter().fold(1e-3f64, |m, (_, y)| m.max(*y));
    let last_loss = loss.last().map_or("–".into(), |(_, y)| format!("{y:.3}"));
    let chart = Chart::new(vec![
        Dataset::default()
            .marker(ratatui::symbols::Marker::Braille)
            .graph_type(GraphType::Line)
            .style(t.fg(Color::Cyan))
            .data(&loss),
    ])
    .block(Block::new().title(Span::styled(format!("loss {last_loss}"), t.dim())))
    .x_axis(Axis::default().bounds([1.0, epochs]).style(t.dim()))
    .y_axis(
        Axis::default()
            .bounds([0.0, hi])
            .labels(["0".to_string(), format!("{hi:.2}")])
            .style(t.dim()),
    )
    .legend_position(None);
    f.render_widget(chart, half);
    let lo = train_acc
        .iter()
        .chain(&test_acc)
        .fold(100.0f64, |m, (_, y)| m.min(*y))
        .min(90.0)
        .floor();
    let title = match (train_acc.last(), test_acc.last()) {
        (Some((_, a)), Some((_, b))) => format!("accuracy: train {a:.2}% · test {b:.2}%"),
        (Some((_, a)), None) => format!("accuracy: train {a:.2}% (no test set)"),
        _ => "accuracy".to_string(),
    };
    let chart = Chart::new(vec![
        Dataset::default()
            .marker(ratatui::symbols::Marker::Braille)
            .graph_type(GraphType::Line)
            .style(t.fg(Color::Magenta))
            .data(&train_acc),
        Dataset::default()
            .marker(ratatui::symbols::Marker::Braille)
            .graph_type(GraphType::Line)
            .style(t.fg(Color::Green))
            .data(&test_acc),
    ])
    .block(Block::new().title(Span::styled(title, t.dim())))
    .x_axis(Axis::default().bounds([1.0, epochs]).style(t.dim()))
    .y_axis(
        Axis::default()
            .bounds([lo, 100.0])
            .labels([format!("{lo:.0}%"), "100%".to_string()])
            .style(t.dim()),
    )
    .legend_position(None);
    f.render_widget(chart, lower);
}

/// `items` joined by " · " into lines of at most `width` columns, an item never split
/// (one wider than `width` gets a line of its own and is cut there).
fn pack(items: &[String], width: u16) -> Vec<String> {
    let width = usize::from(width);
    let mut lines: Vec<String> = Vec::new();
    for item in items {
        match lines.last_mut() {
            Some(last) if last.chars().count() + 3 + item.chars().count() <= width => {
                last.push_str(" · ");
                last.push_str(item);
            }
            _ => lines.push(item.clone()),
        }
    }
    lines
}

#[cfg(test)]
mod tests;
