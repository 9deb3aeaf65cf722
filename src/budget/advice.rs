//! Advice for a budget: what is over and by how much, and a change that would fit, tried
//! on variants of the project (a lower bit width, a narrower layer, the other plan).

use super::compute::{Budget, Plan, compute};
use super::report::{bytes, bytes_short};
use crate::project::Project;
use crate::project::rules::Width;
use crate::quant::WeightBits;
use crate::spec::ModelSpec;
use crate::target::Target;

/// How a project becomes a spec: its template's `spec` (`crate::templates::spec`).
pub type SpecOf<'a> = &'a dyn Fn(&Project) -> ModelSpec;

/// A project's spec as `target` would store it (the target may not be the project's own).
fn spec_on(p: &Project, spec_of: SpecOf, target: &Target) -> ModelSpec {
    spec_of(p).for_target(Some(target))
}

/// The budget of a project on a target, with advice on what would fit. `spec_of` builds
/// a project's spec; the advice tries variants of the project through it.
pub fn for_project(p: &Project, spec_of: SpecOf, target: &Target, plan: Plan) -> Budget {
    let mut b = compute(&spec_on(p, spec_of, target), target, plan);
    b.advice = advise(p, spec_of, target, &b);
    b
}

fn advise(p: &Project, spec_of: SpecOf, target: &Target, b: &Budget) -> Vec<String> {
    let mut advice = Vec::new();
    let flash_over = b.flash_over_bytes();
    let sram_over = b.sram_over_bytes();
    if b.sram.weight_buffer_bytes > 0 {
        // The streaming runtime holds one layer's weights; loading them all would hold all.
        let streamed = b.sram.arena_bytes + b.sram.weight_buffer_bytes;
        let loaded = b.sram.arena_bytes + b.flash.weight_bytes;
        advice.push(format!(
            "Streaming weights layer by layer: model memory {} against {} when loading every \
             weight ({:.1}x less).",
            bytes(streamed),
            bytes(loaded),
            loaded as f64 / streamed.max(1) as f64
        ));
    }
    if b.fits {
        if let (Some(fl), Some(sl)) = (b.flash.limit_bytes, b.sram.limit_bytes) {
            advice.push(format!(
                "Fits: {} of flash and {} of SRAM to spare.",
                bytes(fl - b.flash.total_bytes),
                bytes(sl - b.sram.total_bytes)
            ));
        } else if let Some(sl) = b.sram.limit_bytes {
            advice.push(format!(
                "Fits: {} of RAM to spare.",
                bytes_short(sl - b.sram.total_bytes)
            ));
        } else {
            advice.push("Fits: the host has no limits.".into());
        }
        if b.coded_weights {
            advice.push(format!(
                "The 4-bit weights are stored coded (about {} bits each instead of 4): less \
                 flash, about 2.6 times the instructions.",
                crate::spec::CODED_BITS_PER_WEIGHT
            ));
        }
        return advice;
    }
    if flash_over > 0 {
        // The layer holding the most weights, one precision lower.
        if let Some((i, l)) = b
            .layers
            .iter()
            .enumerate()
            .max_by_key(|(_, l)| l.weight_bytes)
        {
            let bits = p.model.layers[i].bits;
            let lower = WeightBits::ALL
                .iter()
                .rev()
                .find(|x| x.storage_bits() < bits.storage_bits());
            let mut msg = format!(
                "Flash is over by {}. '{}' holds {} of weights at {} bits",
                bytes(flash_over as u64),
                l.name,
                bytes(l.weight_bytes),
                bits
            );
            if let Some(&lower) = lower {
                let mut q = p.clone();
                q.model.layers[i].bits = lower;
                let nb = compute(&spec_on(&q, spec_of, target), target, b.plan);
                msg += &format!(
                    "; at {lower} bits it holds {} and flash totals {}",
                    bytes(nb.layers[i].weight_bytes),
                    bytes(nb.flash.total_bytes)
                );
            }
            advice.push(msg + ".");
        }
    }
    if sram_over > 0 {
        let peak = &b.peak_layer;
        let (this, other, other_plan) = match b.plan {
            Plan::Layer => (b.arena.layer_bytes, b.arena.tiled_bytes, Plan::Tiled),
            Plan::Tiled => (b.arena.tiled_bytes, b.arena.layer_bytes, Plan::Layer),
        };
        let mut msg = format!(
            "SRAM is over by {}. '{peak}' sets the peak: the arena needs {}",
            bytes(sram_over as u64),
            bytes(this)
        );
        if other < this {
            msg += &format!(
                "; the {} plan needs {} (press p, or --plan {})",
                other_plan.name(),
                bytes(other),
                other_plan.name()
            );
        }
        advice.push(msg + ".");
        if let Some(hint) = narrower(p, spec_of, target, b) {
            advice.push(hint);
        }
    }
    advice
}

/// Tries halving the width of the layer that sets the SRAM peak (or the one feeding it).
fn narrower(p: &Project, spec_of: SpecOf, target: &Target, b: &Budget) -> Option<String> {
    let peak = p.model.layers.iter().position(|l| l.name == b.peak_layer)?;
    let rules = p.template.width_rules(p.model.layers.len());
    for i in [peak, peak.saturating_sub(1)] {
        let w = p.model.layers[i].width;
        if w < 2 || !matches!(rules.get(i), Some(Width::Range(..))) {
            continue;
        }
        let mut raw = p.to_raw();
        raw.model.layers[i].width = i64::from(w / 2);
        let Ok(q) = raw.validate(&[p.template]) else {
            continue;
        };
        let nb = compute(&spec_on(&q, spec_of, target), target, b.plan);
        return Some(format!(
            "Halving '{}' from {w} to {} channels gives {} of SRAM{}.",
            p.model.layers[i].name,
            w / 2,
            bytes(nb.sram.total_bytes),
            if nb.sram_over_bytes() <= 0 {
                ", which fits"
            } else {
                ""
            }
        ));
    }
    None
}
