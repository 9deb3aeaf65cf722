//! The Budget screen: every deployable layer's flash and SRAM against the target, live as
//! the project changes; `p` switches the plan, `t`/`T` the target.

use super::super::app::App;
use super::super::form::FieldId;
use super::super::theme::{Theme, truncate};
use crate::budget::{self, Plan};
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

fn usage_style(t: Theme, used: u64, limit: Option<u64>) -> Style {
    match limit {
        Some(l) if used > l => t.error(),
        Some(l) if used * 10 > l * 9 => t.fg(Color::Yellow),
        _ => t.ok(),
    }
}

/// Draws the Budget screen.
pub fn render(app: &App, t: Theme, f: &mut Frame, area: Rect) {
    let b = &app.budget;
    let block = t.block(
        &format!(
            "Budget · {} · plan {} · estimates (budget --verify measures)",
            b.target,
            b.plan.name()
        ),
        true,
    );
    let inner = block.inner(area);
    f.render_widget(block, area);
    let wide = inner.width >= 100;
    let base = b.sram.static_bytes + b.sram.stack_bytes + b.sram.weight_buffer_bytes;
    let mut lines = vec![Line::styled(
        truncate(&b.target_title, inner.width as usize),
        t.dim(),
    )];
    let head = if wide {
        format!(
            "{:<10} {:<8} {:>8} {:>8} {:>7} {:>4} {:>8} {:>7} {:<12} {:>10} {:>11}",
            "layer",
            "op",
            "in",
            "out",
            "params",
            "bits",
            "flash B",
            "live B",
            "SRAM",
            "MACs",
            "cycles"
        )
    } else {
        format!(
            "{:<9} {:<8} {:>8} {:>6} {:>4} {:>7} {:>6} {:<10} {:>10}",
            "layer", "op", "out", "params", "bits", "flash B", "live B", "SRAM", "cycles"
        )
    };
    lines.push(Line::styled(head, t.dim().add_modifier(Modifier::BOLD)));
    let heaviest = b.layers.iter().map(|l| l.weight_bytes).max().unwrap_or(0);
    for l in &b.layers {
        let bits = crate::quant::WeightBits::from_f64(l.weight_bits)
            .map_or(String::new(), |w| w.to_string());
        let live_total = base + l.live_bytes;
        let limit = b.sram.limit_bytes;
        let bar_w = if wide { 12 } else { 10 };
        let sram_bar = budget::bar(live_total, limit.unwrap_or(0), bar_w);
        let flash_style = if b.flash_over_bytes() > 0 && l.weight_bytes == heaviest {
            t.error()
        } else {
            Style::new()
        };
        let peak = if l.name == b.peak_layer {
            t.accent().add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        };
        let runs = if l.runs > 1 {
            format!(" x{}", l.runs)
        } else {
            String::new()
        };
        let mut spans = vec![Span::styled(format!("{:<9} ", truncate(&l.name, 9)), peak)];
        if wide {
            spans[0] = Span::styled(format!("{:<10} ", truncate(&l.name, 10)), peak);
            spans.push(Span::raw(format!(
                "{:<8} {:>8} {:>8} {:>7} {:>4} ",
                l.op,
                l.input.to_string(),
                l.output.to_string(),
                budget::count(l.params),
                bits
            )));
        } else {
            spans.push(Span::raw(format!(
                "{:<8} {:>8} {:>6} {:>4} ",
                l.op,
                l.output.to_string(),
                budget::count(l.params),
                bits
            )));
        }
        spans.push(Span::styled(
            format!(
                "{:>width$} ",
                budget::count(l.weight_bytes),
                width = if wide { 8 } else { 7 }
            ),
            flash_style,
        ));
        spans.push(Span::raw(format!(
            "{:>width$} ",
            budget::count(l.live_bytes),
            width = if wide { 7 } else { 6 }
        )));
        spans.push(Span::styled(
            format!("{sram_bar} "),
            usage_style(t, live_total, limit),
        ));
        if wide {
            spans.push(Span::raw(format!("{:>10} ", budget::count(l.macs))));
            spans.push(Span::raw(format!("{:>11}{runs}", budget::count(l.cycles))));
        } else {
            spans.push(Span::raw(format!("{:>10}", budget::count(l.cycles))));
        }
        lines.push(Line::from(spans));
    }
    let repeated: Vec<&str> = b
        .layers
        .iter()
        .filter(|l| l.runs > 1)
        .map(|l| l.name.as_str())
        .collect();
    match (repeated.first(), repeated.last()) {
        (Some(first), Some(last)) if !wide => lines.push(Line::styled(
            format!(
                "{first} … {last} run {} times per image (counted in cycles)",
                b.layers[0].runs
            ),
            t.dim(),
        )),
        _ => lines.push(Line::raw("")),
    }
    let gauge = |label: &str, used: u64, limit: Option<u64>, detail: String| {
        let (amount, bar) = match limit {
            Some(l) => (
                format!(
                    "{:>9} of {:>9}",
                    budget::bytes_short(used),
                    budget::bytes_short(l)
                ),
                budget::bar(used, l, 20),
            ),
            None => (
                format!("{:>9} (no limit)", budget::bytes_short(used)),
                String::new(),
            ),
        };
        Line::from(vec![
            Span::styled(
                format!("{label:<6}"),
                Style::new().add_modifier(Modifier::BOLD),
            ),
            Span::styled(format!("{amount} {bar} "), usage_style(t, used, limit)),
            Span::styled(detail, t.dim()),
        ])
    };
    let fl = &b.flash;
    let (flash_label, ram_label) = if b.sram.weight_buffer_bytes > 0 {
        ("File", "RAM")
    } else {
        ("Flash", "SRAM")
    };
    lines.push(gauge(
        flash_label,
        fl.total_bytes,
        fl.limit_bytes,
        if b.sram.weight_buffer_bytes > 0 {
            format!(
                "weights {} · header {}",
                budget::count(fl.weight_bytes),
                fl.code_bytes
            )
        } else {
            format!(
                "weights {} · code ~{}",
                budget::count(fl.weight_bytes),
                budget::count(fl.code_bytes)
            )
        },
    ));
    lines.push(gauge(
        ram_label,
        b.sram.total_bytes,
        b.sram.limit_bytes,
        format!(
            "arena {} · peak '{}'",
            budget::count(b.sram.arena_bytes),
            b.peak_layer
        ),
    ));
    lines.push(Line::styled(
        format!(
            "arena: layer by layer {} · tiled {}{}",
            budget::bytes(b.arena.layer_bytes),
            budget::bytes(b.arena.tiled_bytes),
            if b.arena.tiled_streams {
                " (streams rows)"
            } else {
                " (nothing to stream)"
            }
        ),
        t.dim(),
    ));
    let noun = b.run;
    let mut speed = format!(
        "{} instructions · {} cycles per {noun}",
        budget::count(b.instructions),
        budget::count(b.cycles)
    );
    if let Some(ms) = b.ms_per_run {
        speed += &format!(" · {ms:.1} ms");
    }
    lines.push(Line::styled(speed + " (est.)", t.dim()));
    for a in &b.advice {
        let style = if b.fits { t.ok() } else { t.error() };
        lines.push(Line::styled(a.clone(), style));
    }
    let rest = Rect {
        height: inner.height.saturating_sub(1),
        ..inner
    };
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), rest);
    let hint = Rect {
        y: inner.y + inner.height.saturating_sub(1),
        height: 1.min(inner.height),
        ..inner
    };
    f.render_widget(
        Paragraph::new(Line::styled(
            truncate(
                "p: plan · t/T: target · widths and bits: Project screen (1)",
                inner.width as usize,
            ),
            t.dim(),
        )),
        hint,
    );
}

/// The Budget screen's keys: the plan, and the target (a field of the project).
pub fn on_key(app: &mut App, key: KeyEvent) {
    match key.code {
        KeyCode::Char('p') => {
            app.plan = match app.plan {
                Plan::Layer => Plan::Tiled,
                Plan::Tiled => Plan::Layer,
            };
        }
        KeyCode::Char('t') | KeyCode::Right => {
            super::project::cycle_field(app, FieldId::Target, true)
        }
        KeyCode::Char('T') | KeyCode::Left => {
            super::project::cycle_field(app, FieldId::Target, false)
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::testing::{app, draw, key};
    use crossterm::event::KeyCode;

    #[test]
    fn budget_follows_edits_and_plans() {
        let mut a = app(80, 24);
        let before = a.budget.flash.weight_bytes;
        // fc width: name, latent, two encoder fields, then fc width.
        for _ in 0..4 {
            key(&mut a, KeyCode::Down);
        }
        key(&mut a, KeyCode::Enter);
        key(&mut a, KeyCode::Backspace);
        for c in "16".chars() {
            key(&mut a, KeyCode::Char(c));
        }
        key(&mut a, KeyCode::Enter);
        assert_eq!(a.project.model.layers[0].width, 16);
        assert!(
            a.budget.flash.weight_bytes > before,
            "the budget did not follow the edit"
        );
        key(&mut a, KeyCode::Char('3'));
        key(&mut a, KeyCode::Char('p'));
        assert_eq!(a.budget.plan, crate::budget::Plan::Layer);
        assert!(!a.budget.fits);
        insta::assert_snapshot!("budget_over_80x24", draw(&a));
        key(&mut a, KeyCode::Char('t'));
        assert_eq!(a.project.target, "ch32v002");
        assert_eq!(a.budget.target, "ch32v002");
    }

    #[test]
    fn budget_of_the_largest_template() {
        let p = crate::templates::default_project("streaming-sd").unwrap();
        let mut a = App::new(p, None, (80, 24));
        a.color = false;
        key(&mut a, KeyCode::Char('3'));
        insta::assert_snapshot!("budget_sd_80x24", draw(&a));
    }

    /// BitNetMCU's 12k model on the CH32V003: coded weights, shown as such; switching to
    /// the Pi packs them again.
    #[test]
    fn budget_of_the_coded_classifier() {
        let p = crate::templates::default_project("bitnet-mnist").unwrap();
        let mut a = App::new(p, None, (80, 24));
        a.color = false;
        key(&mut a, KeyCode::Char('3'));
        assert!(a.budget.coded_weights);
        let screen = draw(&a);
        assert!(screen.contains("coded"), "{screen}");
        insta::assert_snapshot!("budget_bitnet_80x24", screen);
        while a.budget.target != "pi-zero-2w" {
            key(&mut a, KeyCode::Char('t'));
        }
        assert!(!a.budget.coded_weights);
        // 29,056 weights at 4 bits, packed.
        assert_eq!(a.budget.flash.weight_bytes, 14_528);
    }
}
