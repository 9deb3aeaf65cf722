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
        // The layer holding the most weights.
        if let Some(l) = b.layers.iter().max_by_key(|l| l.weight_bytes) {
            let i = b.layers.iter().position(|x| x.name == l.name).unwrap_or(0);
            advice.push(format!(
                "Flash is over by {}. '{}' holds {} of weights at {} bits.",
                bytes(flash_over as u64),
                l.name,
                bytes(l.weight_bytes),
                p.model.layers[i].bits
            ));
            advice.push(flash_fix(p, spec_of, target, b, i));
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
        let mut plan_fits = false;
        if other < this {
            plan_fits = compute(&spec_on(p, spec_of, target), target, other_plan).fits;
            msg += &format!(
                "; the {} plan needs {}{} (press p, or --plan {})",
                other_plan.name(),
                bytes(other),
                if plan_fits { " and fits" } else { "" },
                other_plan.name()
            );
        }
        advice.push(msg + ".");
        if flash_over <= 0
            && !plan_fits
            && let Some(hint) = narrower(p, spec_of, target, b)
        {
            advice.push(hint);
        }
    }
    advice
}

/// The budget of a variant of the project, if the variant is a valid project.
fn variant(
    p: &Project,
    spec_of: SpecOf,
    target: &Target,
    plan: Plan,
    change: impl FnOnce(&mut crate::project::RawProject),
) -> Option<(Project, Budget)> {
    let mut raw = p.to_raw();
    change(&mut raw);
    let q = raw.validate(&[p.template]).ok()?;
    let nb = compute(&spec_on(&q, spec_of, target), target, plan);
    Some((q, nb))
}

/// A change that makes an over-flash model fit, the least of them first: a lower bit
/// width for the biggest layer `i`, then for every layer, then a narrower layer `i`; or
/// that none of them does (#18, item 11: the advice named changes that still did not fit).
fn flash_fix(p: &Project, spec_of: SpecOf, target: &Target, b: &Budget, i: usize) -> String {
    let name = &p.model.layers[i].name;
    let bits = p.model.layers[i].bits;
    let lower: Vec<WeightBits> = WeightBits::ALL
        .iter()
        .rev()
        .copied()
        .filter(|x| x.storage_bits() < bits.storage_bits())
        .collect();
    let fits = |nb: &Budget| nb.flash_over_bytes() <= 0 && nb.sram_over_bytes() <= 0;
    for &to in &lower {
        let set = |r: &mut crate::project::RawProject| {
            r.model.layers[i].bits = crate::project::raw::Bits(to.as_f64())
        };
        if let Some((_, nb)) = variant(p, spec_of, target, b.plan, set).filter(|(_, nb)| fits(nb)) {
            return format!(
                "At {} '{name}' holds {} and the model fits: flash {} of {}.",
                bits_words(to),
                bytes(nb.layers[i].weight_bytes),
                bytes(nb.flash.total_bytes),
                limit(&nb)
            );
        }
    }
    for &to in &lower {
        let set = |r: &mut crate::project::RawProject| {
            for l in &mut r.model.layers {
                l.bits = crate::project::raw::Bits(to.as_f64());
            }
        };
        if let Some((_, nb)) = variant(p, spec_of, target, b.plan, set).filter(|(_, nb)| fits(nb)) {
            return format!(
                "With every layer at {} the model fits: flash {} of {}.",
                bits_words(to),
                bytes(nb.flash.total_bytes),
                limit(&nb)
            );
        }
    }
    let w = p.model.layers[i].width;
    let mut to = w / 2;
    while to >= 1 {
        let set = |r: &mut crate::project::RawProject| r.model.layers[i].width = i64::from(to);
        match variant(p, spec_of, target, b.plan, set) {
            Some((_, nb)) if fits(&nb) => {
                return format!(
                    "Narrowing '{name}' from {w} to {to} makes it fit: flash {} of {}.",
                    bytes(nb.flash.total_bytes),
                    limit(&nb)
                );
            }
            Some(_) => to /= 2,
            None => break,
        }
    }
    format!(
        "No simple change fits: not a lower bit width for '{name}' or for every layer, nor \
         a narrower '{name}'. Take fewer or narrower layers, or a target with more flash \
         (t on the Budget screen, --target pi-zero-2w on the command line)."
    )
}

/// "1 bit", "1.58 bits", "4 bits".
fn bits_words(b: WeightBits) -> String {
    if b == WeightBits::Binary {
        "1 bit".into()
    } else {
        format!("{b} bits")
    }
}

fn limit(b: &Budget) -> String {
    b.flash.limit_bytes.map_or("no limit".into(), bytes)
}

/// Narrows the layer that sets the SRAM peak (or the one feeding it), halving its width
/// until the model fits; says so when no width does.
fn narrower(p: &Project, spec_of: SpecOf, target: &Target, b: &Budget) -> Option<String> {
    let peak = p.model.layers.iter().position(|l| l.name == b.peak_layer)?;
    let rules = p.template.width_rules(p.model.layers.len());
    let mut tried = Vec::new();
    for i in [peak, peak.saturating_sub(1)] {
        let w = p.model.layers[i].width;
        if w < 2 || !matches!(rules.get(i), Some(Width::Range(..))) || tried.contains(&i) {
            continue;
        }
        tried.push(i);
        let name = &p.model.layers[i].name;
        let mut to = w / 2;
        while to >= 1 {
            let set = |r: &mut crate::project::RawProject| r.model.layers[i].width = i64::from(to);
            let Some((_, nb)) = variant(p, spec_of, target, b.plan, set) else {
                break;
            };
            if nb.sram_over_bytes() <= 0 && nb.flash_over_bytes() <= 0 {
                return Some(format!(
                    "Narrowing '{name}' from {w} to {to} channels makes it fit: SRAM {}.",
                    bytes(nb.sram.total_bytes)
                ));
            }
            to /= 2;
        }
    }
    let names: Vec<String> = tried
        .iter()
        .map(|&i| format!("'{}'", p.model.layers[i].name))
        .collect();
    (!names.is_empty()).then(|| {
        format!(
            "No narrower {} fits on its own; change the plan or take fewer channels in \
             several layers.",
            names.join(" or ")
        )
    })
}
