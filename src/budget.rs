//! The per-layer flash, SRAM, MAC and cycle budget of a [`ModelSpec`] against a target,
//! with an arena planner for two execution plans:
//!
//! - **layer**: layer by layer. Each layer's input and output are live together; a
//!   two-ended arena (input at one end, output at the other, swapping each layer) needs
//!   exactly the largest `input + output` of any layer.
//! - **tiled**: depth-first row streaming for convolutional decoders. From the first
//!   convolution on, each layer keeps only the rows of its input its 3x3 window needs, and
//!   the last layer's rows leave the chip as soon as they are done, so a 32x32 image never
//!   exists in SRAM at once. Where streaming would need more than the layer plan, the layer
//!   plan is used.
//!
//! The firmware's code, static data and stack ([`MCU_FIRMWARE`]) are calibrated against
//! the real CH32V003 ELF and its measured stack; `tinygen budget --verify` re-measures them.

use crate::project::{Project, WeightBits};
use crate::spec::{LayerSpec, ModelSpec, Shape};
use crate::target::Target;
use crate::template::{LayerKind, Width};
use serde::Serialize;

/// Execution plan for the activation arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    Layer,
    Tiled,
}

impl Plan {
    pub fn name(self) -> &'static str {
        match self {
            Plan::Layer => "layer",
            Plan::Tiled => "tiled",
        }
    }
}

/// What the firmware needs besides the model.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Firmware {
    /// Startup, UART, protocol and the dense kernels.
    pub code_bytes: u64,
    /// The convolution-chain kernels, linked only when a model has convolutions.
    pub conv_code_bytes: u64,
    /// The decoder of coded weights (less the packed-weight loops it replaces when every
    /// layer is coded).
    pub coded_code_bytes: u64,
    /// `.data` + `.bss` of the firmware without the activation arena.
    pub static_bytes: u64,
    /// Stack, including the int32 accumulators of one output pixel.
    pub stack_bytes: u64,
}

/// Calibrated on CH32V003 builds (`tinygen budget PROJECT --verify`). Dense-only models
/// build small (`TG_SMALL`: link-time optimisation, only their own weight widths, no
/// convolution code, code-only error frames, a table-free CRC, no unrolled weight loops):
/// the 12k 4-bit BitNet classifier is 15,640 B of flash less its 12,692 B blob, 2,948 B of
/// code. The default die model is 9,940 B less its 1,884 B blob, 8,056 B of code, so the
/// convolution chain (and the faster, larger build that comes with it) adds about 5.1 KB.
/// Coded weights: the same classifier coded is 14,304 B less its 11,304 B blob, 3,000 B
/// of code: the decoder takes the place of the packed-weight loops, 52 B more.
/// 892 B of static SRAM less the 544 B arena is 348 B (link buffers, model state); the
/// deepest stack measured under qemu is 548 B. Rounded up for headroom.
pub const MCU_FIRMWARE: Firmware = Firmware {
    code_bytes: 2980,
    conv_code_bytes: 5212,
    coded_code_bytes: 64,
    static_bytes: 352,
    stack_bytes: 576,
};

/// Resident memory of the Pi runner process besides the model (estimate).
pub const HOSTED_RUNTIME_BYTES: u64 = 1 << 20;
/// Header of the model blob on hosted targets.
pub const BLOB_HEADER_BYTES: u64 = 64;

/// Instructions per multiply-accumulate, by weight precision. Without a multiplier the
/// engine uses shift-and-add: about 4 per binary weight and 17 per 4-bit weight, as
/// BitNetMCU measures; the other precisions are interpolated.
pub fn instructions_per_mac(bits: WeightBits, multiplier: bool) -> f64 {
    match (multiplier, bits) {
        (false, WeightBits::Binary) => 4.0,
        (false, WeightBits::Ternary) => 6.0,
        (false, WeightBits::Two) => 9.0,
        (false, WeightBits::Four) => 17.0,
        (false, WeightBits::Eight) => 33.0,
        (true, WeightBits::Binary) => 4.0,
        (true, _) => 5.0,
    }
}

/// Instructions per weight of a dense layer, for each non-zero input: the engine runs dense
/// layers input by input, skips zero inputs, and turns each weight into a lookup in a
/// small table of the input's products (a loop of about 12 instructions a weight on
/// RV32EC; the dense-only microcontroller build has no unrolled paths, to save flash).
/// Calibrated in qemu on the BitNet 12k classifiers built for the CH32V003 (4-bit:
/// 134,278 instructions per inference, 2-bit: 119,130, ternary: 122,371; mean of the
/// first 10 test digits).
pub fn dense_instructions_per_weight(bits: WeightBits) -> f64 {
    match bits {
        WeightBits::Four => 10.5,
        WeightBits::Two | WeightBits::Ternary => 9.5,
        WeightBits::Eight => 40.0,
        WeightBits::Binary => 10.5,
    }
}

/// Instructions per coded weight (`firmware-stub` `add_coded`): every weight is decoded,
/// even those of zero inputs (about 11 instructions: the stream cannot be skipped
/// without decoding it), and a weight of a non-zero input takes about 6 more to add its
/// product. Calibrated in qemu on the coded 12k BitNet classifier: 348,562 instructions
/// per inference (mean of the first 10 test digits).
pub const CODED_INSTR_PER_WEIGHT: f64 = 10.7;
pub const CODED_INSTR_PER_ACTIVE_WEIGHT: f64 = 6.0;

/// Share of a dense layer's inputs taken as non-zero (ReLU outputs and dark pixels are
/// zero about half the time).
pub const DENSE_INPUT_DENSITY: f64 = 0.5;

/// Instructions per output element (requantize, clamp, store) and per layer (setup).
pub const INSTR_PER_OUTPUT: u64 = 12;
pub const INSTR_PER_LAYER: u64 = 200;

/// Cycles per instruction: the CH32V003 runs from flash with wait states (BitNetMCU's code
/// needs about 1.5 cycles per instruction there).
pub fn cycles_per_instruction(t: &Target) -> f64 {
    if t.hosted { 1.0 } else { 1.5 }
}

/// One layer's line of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerBudget {
    pub name: String,
    pub op: &'static str,
    pub input: Shape,
    pub output: Shape,
    pub params: u64,
    pub weight_bits: f64,
    pub weight_bytes: u64,
    pub const_bytes: u64,
    pub input_bytes: u64,
    pub output_bytes: u64,
    /// Activation bytes live in the arena while this layer runs, under the chosen plan.
    pub live_bytes: u64,
    pub runs: u64,
    pub macs: u64,
    pub instructions: u64,
    pub cycles: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlashUsage {
    pub code_bytes: u64,
    pub weight_bytes: u64,
    pub const_bytes: u64,
    pub total_bytes: u64,
    /// `None`: no limit (the model is a file on a hosted target).
    pub limit_bytes: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SramUsage {
    pub static_bytes: u64,
    pub stack_bytes: u64,
    pub arena_bytes: u64,
    /// Hosted targets stream weights: the buffer holds the largest layer.
    pub weight_buffer_bytes: u64,
    pub total_bytes: u64,
    pub limit_bytes: Option<u64>,
}

/// The arena sizes of both plans, side by side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArenaPlans {
    pub layer_bytes: u64,
    pub layer_peak: String,
    pub tiled_bytes: u64,
    pub tiled_peak: String,
    /// Whether the tiled plan really streams rows (false: it fell back to layer by layer).
    pub tiled_streams: bool,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Budget {
    pub target: String,
    pub target_title: String,
    pub plan: Plan,
    pub layers: Vec<LayerBudget>,
    pub flash: FlashUsage,
    pub sram: SramUsage,
    pub arena: ArenaPlans,
    /// The layer that sets the peak SRAM under the chosen plan.
    pub peak_layer: String,
    pub params: u64,
    pub macs: u64,
    pub instructions: u64,
    pub cycles: u64,
    /// What one run produces: "image" (generators) or "inference" (classifiers).
    pub run: &'static str,
    /// Milliseconds per image or inference at the target's clock, when it has one.
    pub ms_per_run: Option<f64>,
    pub fits: bool,
    pub advice: Vec<String>,
    /// Which figures are estimates rather than measurements.
    pub estimates: String,
    /// The 4-bit dense weights are stored prefix-coded (their bytes are estimates until
    /// trained).
    pub coded_weights: bool,
}

impl Budget {
    pub fn flash_over_bytes(&self) -> i64 {
        over(self.flash.total_bytes, self.flash.limit_bytes)
    }

    pub fn sram_over_bytes(&self) -> i64 {
        over(self.sram.total_bytes, self.sram.limit_bytes)
    }
}

fn over(used: u64, limit: Option<u64>) -> i64 {
    limit.map_or(i64::MIN, |l| used as i64 - l as i64)
}

fn op_name(k: LayerKind) -> &'static str {
    match k {
        LayerKind::Dense => "dense",
        LayerKind::Conv3x3 => "conv3",
        LayerKind::Conv3x3Down => "conv3/2",
        LayerKind::UpConv3x3 => "up+conv3",
    }
}

// ---------------------------------------------------------------------------------------
// The arena planner
// ---------------------------------------------------------------------------------------

/// Bytes live during each layer, the peak, and the layer that sets it.
#[derive(Debug, Clone, PartialEq)]
pub struct ArenaPlan {
    pub live: Vec<u64>,
    pub peak: u64,
    pub peak_layer: usize,
    pub streams: bool,
}

fn peak_of(live: Vec<u64>, streams: bool) -> ArenaPlan {
    let (peak_layer, peak) =
        live.iter().enumerate().fold(
            (0, 0),
            |best, (i, &v)| if v > best.1 { (i, v) } else { best },
        );
    ArenaPlan {
        live,
        peak,
        peak_layer,
        streams,
    }
}

/// Outputs a dense layer accumulates at once in the engine (`TG_DENSE_CHUNK`).
pub const DENSE_CHUNK: u64 = 32;

/// The engine's int32 accumulators: one per output of a convolution row, or one per
/// output of a dense chunk. They live in the arena beside the activations.
pub fn accumulator_bytes(layers: &[LayerSpec]) -> u64 {
    4 * layers
        .iter()
        .map(|l| match l.kind {
            LayerKind::Dense => l.output.elements().min(DENSE_CHUNK),
            _ => u64::from(l.output.w),
        })
        .max()
        .unwrap_or(0)
}

/// Layer by layer: input and output of each layer live together.
pub fn plan_layer(layers: &[LayerSpec]) -> ArenaPlan {
    let acc = accumulator_bytes(layers);
    peak_of(
        layers
            .iter()
            .map(|l| l.input.bytes() + l.output.bytes() + acc)
            .collect(),
        false,
    )
}

/// Input rows a layer must hold to produce `t` output rows.
fn window_rows(kind: LayerKind, t: u32) -> u32 {
    match kind {
        LayerKind::Dense => u32::MAX,
        LayerKind::Conv3x3 => t + 2,
        // Nearest upsampling: t output rows touch ceil(t/2) + 1 input rows.
        LayerKind::UpConv3x3 => t.div_ceil(2) + 1,
        LayerKind::Conv3x3Down => 2 * t + 1,
    }
}

/// Depth-first row streaming from layer `start` on, `tile_rows` output rows at a time.
/// Layers before `start` run layer by layer; the input of `start` is held whole. Falls
/// back to the layer plan when streaming is impossible (a dense layer inside the chain)
/// or would need more memory.
pub fn plan_tiled(layers: &[LayerSpec], start: usize, tile_rows: u32) -> ArenaPlan {
    let by_layer = plan_layer(layers);
    let Some(first) = (start..layers.len()).find(|&i| layers[i].kind != LayerKind::Dense) else {
        return by_layer;
    };
    if layers[first..].iter().any(|l| l.kind == LayerKind::Dense) {
        return by_layer;
    }
    let t = tile_rows.max(1);
    // The chain's input stays whole; each later layer holds a window of its input; the
    // last layer's finished rows wait in one row buffer until they are sent.
    let held = layers[first].input.bytes();
    let windows: Vec<u64> = layers[first + 1..]
        .iter()
        .map(|l| l.input.row_bytes(window_rows(l.kind, t)))
        .collect();
    let out_rows = layers[layers.len() - 1].output.row_bytes(t);
    let streaming = held + windows.iter().sum::<u64>() + out_rows + accumulator_bytes(layers);
    let mut live: Vec<u64> = by_layer.live[..first].to_vec();
    live.extend(std::iter::repeat_n(streaming, layers.len() - first));
    let plan = peak_of(live, true);
    if plan.peak > by_layer.peak {
        return by_layer;
    }
    // Within the streamed chain, name the layer holding the largest piece.
    let mut peak_layer = plan.peak_layer;
    if peak_layer >= first {
        let mut pieces = vec![(first, held)];
        pieces.extend(windows.iter().enumerate().map(|(k, &b)| (first + 1 + k, b)));
        pieces.push((layers.len() - 1, out_rows));
        peak_layer = pieces
            .iter()
            .fold(
                (first, 0),
                |best, &(i, b)| if b > best.1 { (i, b) } else { best },
            )
            .0;
    }
    ArenaPlan { peak_layer, ..plan }
}

// ---------------------------------------------------------------------------------------
// The report
// ---------------------------------------------------------------------------------------

/// The budget of a spec on a target under a plan (no advice).
pub fn compute(spec: &ModelSpec, target: &Target, plan: Plan) -> Budget {
    let layers = &spec.layers;
    let stream_from = spec.repeat.map_or(0, |(_, first)| first);
    let by_layer = plan_layer(layers);
    let tiled = plan_tiled(layers, stream_from, 1);
    let chosen = match plan {
        Plan::Layer => &by_layer,
        Plan::Tiled => &tiled,
    };
    let ipm = |b: WeightBits| instructions_per_mac(b, target.multiplier);
    let cpi = cycles_per_instruction(target);
    let rows: Vec<LayerBudget> = layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let runs = spec.runs(i);
            let per_mac = if spec.codes_layer(i) {
                CODED_INSTR_PER_WEIGHT + CODED_INSTR_PER_ACTIVE_WEIGHT * DENSE_INPUT_DENSITY
            } else if l.kind == LayerKind::Dense && !target.multiplier {
                dense_instructions_per_weight(l.weight_bits) * DENSE_INPUT_DENSITY
            } else {
                ipm(l.weight_bits)
            };
            let per_run = (l.macs() as f64 * per_mac).round() as u64
                + l.output.elements() * INSTR_PER_OUTPUT
                + INSTR_PER_LAYER;
            let instructions = per_run * runs;
            LayerBudget {
                name: l.name.clone(),
                op: op_name(l.kind),
                input: l.input,
                output: l.output,
                params: l.params(),
                weight_bits: l.weight_bits.as_f64(),
                weight_bytes: spec.weight_bytes(i),
                const_bytes: l.const_bytes(),
                input_bytes: l.input.bytes(),
                output_bytes: l.output.bytes(),
                live_bytes: chosen.live[i],
                runs,
                macs: l.macs() * runs,
                instructions,
                cycles: (instructions as f64 * cpi).round() as u64,
            }
        })
        .collect();

    let weight_bytes: u64 = rows.iter().map(|r| r.weight_bytes).sum();
    let lut = if spec.sigmoid_output {
        crate::spec::SIGMOID_LUT_BYTES
    } else {
        0
    };
    let code_table = if spec.coded_weights {
        crate::spec::CODE_TABLE_BYTES
    } else {
        0
    };
    let const_bytes: u64 = rows.iter().map(|r| r.const_bytes).sum::<u64>() + lut + code_table;
    let limit = |v: u64| (v > 0).then_some(v);
    let (flash, sram) = if target.hosted {
        let largest = rows.iter().map(|r| r.weight_bytes).max().unwrap_or(0);
        (
            FlashUsage {
                code_bytes: BLOB_HEADER_BYTES,
                weight_bytes,
                const_bytes,
                total_bytes: BLOB_HEADER_BYTES + weight_bytes + const_bytes,
                limit_bytes: limit(target.flash_bytes),
            },
            SramUsage {
                static_bytes: HOSTED_RUNTIME_BYTES,
                stack_bytes: 0,
                arena_bytes: chosen.peak,
                weight_buffer_bytes: largest,
                total_bytes: HOSTED_RUNTIME_BYTES + chosen.peak + largest,
                limit_bytes: limit(target.sram_bytes),
            },
        )
    } else {
        let fw = MCU_FIRMWARE;
        let code = fw.code_bytes
            + if layers.iter().any(|l| l.kind != LayerKind::Dense) {
                fw.conv_code_bytes
            } else {
                0
            }
            + if spec.coded_weights {
                fw.coded_code_bytes
            } else {
                0
            };
        (
            FlashUsage {
                code_bytes: code,
                weight_bytes,
                const_bytes,
                total_bytes: code + weight_bytes + const_bytes,
                limit_bytes: limit(target.flash_bytes),
            },
            SramUsage {
                static_bytes: fw.static_bytes,
                stack_bytes: fw.stack_bytes,
                arena_bytes: chosen.peak,
                weight_buffer_bytes: 0,
                total_bytes: fw.static_bytes + fw.stack_bytes + chosen.peak,
                limit_bytes: limit(target.sram_bytes),
            },
        )
    };
    let fits = flash.limit_bytes.is_none_or(|l| flash.total_bytes <= l)
        && sram.limit_bytes.is_none_or(|l| sram.total_bytes <= l);
    let instructions: u64 = rows.iter().map(|r| r.instructions).sum();
    let cycles: u64 = rows.iter().map(|r| r.cycles).sum();
    let name = |i: usize| layers.get(i).map_or_else(String::new, |l| l.name.clone());
    Budget {
        coded_weights: spec.coded_weights,
        target: target.id.clone(),
        target_title: target.title.clone(),
        plan,
        params: spec.params(),
        macs: rows.iter().map(|r| r.macs).sum(),
        instructions,
        cycles,
        run: run_noun(spec.sigmoid_output),
        ms_per_run: (target.clock_hz > 0).then(|| cycles as f64 * 1e3 / target.clock_hz as f64),
        peak_layer: name(chosen.peak_layer),
        arena: ArenaPlans {
            layer_bytes: by_layer.peak,
            layer_peak: name(by_layer.peak_layer),
            tiled_bytes: tiled.peak,
            tiled_peak: name(tiled.peak_layer),
            tiled_streams: tiled.streams,
        },
        layers: rows,
        flash,
        sram,
        fits,
        advice: vec![],
        estimates: if target.hosted {
            "the runner's resident memory is an estimate".into()
        } else {
            "code, static data and stack are calibrated on the CH32V003 build of the default die; 'tinygen budget --verify' measures this model".into()
        },
    }
}

/// Formats a count with thousands separators, e.g. `25,216`.
pub fn count(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes for a gauge: exact up to a mebibyte, then in MB.
pub fn bytes_short(v: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    if v >= 1 << 20 {
        let mb = v as f64 / MIB;
        if mb >= 100.0 {
            format!("{mb:.0} MB")
        } else {
            format!("{mb:.1} MB")
        }
    } else {
        bytes(v)
    }
}

/// Formats bytes with thousands separators, e.g. `12,608 B`.
pub fn bytes(v: u64) -> String {
    format!("{} B", count(v))
}

/// A project's spec as `target` would store it (the target may not be the project's own).
fn spec_on(p: &Project, target: &Target) -> ModelSpec {
    ModelSpec::from_project(p).for_target(Some(target))
}

/// The budget of a project on a target, with advice on what would fit.
pub fn for_project(p: &Project, target: &Target, plan: Plan) -> Budget {
    let mut b = compute(&spec_on(p, target), target, plan);
    b.advice = advise(p, target, &b);
    b
}

fn advise(p: &Project, target: &Target, b: &Budget) -> Vec<String> {
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
                let nb = compute(&spec_on(&q, target), target, b.plan);
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
        if let Some(hint) = narrower(p, target, b) {
            advice.push(hint);
        }
    }
    advice
}

/// Tries halving the width of the layer that sets the SRAM peak (or the one feeding it).
fn narrower(p: &Project, target: &Target, b: &Budget) -> Option<String> {
    let peak = p.model.layers.iter().position(|l| l.name == b.peak_layer)?;
    let rules = p.template.def().width_rules(p.model.layers.len());
    for i in [peak, peak.saturating_sub(1)] {
        let w = p.model.layers[i].width;
        if w < 2 || !matches!(rules.get(i), Some(Width::Range(..))) {
            continue;
        }
        let mut raw = p.to_raw();
        raw.model.layers[i].width = i64::from(w / 2);
        let Ok(q) = raw.validate() else { continue };
        let nb = compute(&spec_on(&q, target), target, b.plan);
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

/// A text bar of `width` cells for `used` of `limit`.
pub fn bar(used: u64, limit: u64, width: usize) -> String {
    let filled = if limit == 0 {
        0
    } else {
        ((used as f64 / limit as f64) * width as f64)
            .ceil()
            .min(width as f64) as usize
    };
    format!("{}{}", "█".repeat(filled), "░".repeat(width - filled))
}

/// What a run is called for this model: an image, or an inference.
pub fn run_noun(spec_sigmoid: bool) -> &'static str {
    if spec_sigmoid { "image" } else { "inference" }
}

/// The plain-text report `tinygen budget` prints.
pub fn report(b: &Budget, project_name: &str) -> String {
    let noun = b.run;
    let mut s = format!(
        "Budget of '{project_name}' on {} ({}), plan: {}\n\n",
        b.target,
        b.target_title,
        b.plan.name()
    );
    s += &format!(
        "{:<10} {:<8} {:>8} {:>8} {:>7} {:>4} {:>8} {:>7} {:>9} {:>10}\n",
        "layer", "op", "in", "out", "params", "bits", "weights", "live", "MACs", "cycles"
    );
    for l in &b.layers {
        let runs = if l.runs > 1 {
            format!(" x{}", l.runs)
        } else {
            String::new()
        };
        s += &format!(
            "{:<10} {:<8} {:>8} {:>8} {:>7} {:>4} {:>8} {:>7} {:>9} {:>10}{runs}\n",
            l.name,
            l.op,
            l.input.to_string(),
            l.output.to_string(),
            count(l.params),
            WeightBits::from_f64(l.weight_bits).map_or(String::new(), |w| w.to_string()),
            count(l.weight_bytes),
            count(l.live_bytes),
            count(l.macs),
            count(l.cycles),
        );
    }
    s += &format!(
        "{:<10} {:<8} {:>8} {:>8} {:>7} {:>4} {:>8} {:>7} {:>9} {:>10}\n\n",
        "total",
        "",
        "",
        "",
        count(b.params),
        "",
        count(b.flash.weight_bytes),
        count(b.sram.arena_bytes),
        count(b.macs),
        count(b.cycles)
    );
    let f = &b.flash;
    let m = &b.sram;
    let fw = if b.sram.weight_buffer_bytes > 0 {
        "file"
    } else {
        "flash"
    };
    match f.limit_bytes {
        Some(l) => {
            s += &format!(
                "{fw:<6} {:>11} of {:>11}  {}  code {} (est.) + weights {}{} + constants {}\n",
                bytes(f.total_bytes),
                bytes(l),
                bar(f.total_bytes, l, 20),
                count(f.code_bytes),
                count(f.weight_bytes),
                if b.coded_weights {
                    " (coded, est.)"
                } else {
                    ""
                },
                count(f.const_bytes)
            )
        }
        None => {
            s += &format!(
                "{fw:<6} {:>11}  weights {} + constants {} + header {}\n",
                bytes(f.total_bytes),
                count(f.weight_bytes),
                count(f.const_bytes),
                count(f.code_bytes)
            )
        }
    }
    let parts = if m.weight_buffer_bytes > 0 {
        format!(
            "runtime {} (est.) + arena {} + streamed weights {}",
            count(m.static_bytes),
            count(m.arena_bytes),
            count(m.weight_buffer_bytes)
        )
    } else {
        format!(
            "static {} + stack {} (est.) + arena {}",
            count(m.static_bytes),
            count(m.stack_bytes),
            count(m.arena_bytes)
        )
    };
    let ram = if m.weight_buffer_bytes > 0 {
        "RAM"
    } else {
        "SRAM"
    };
    match m.limit_bytes {
        Some(l) => {
            s += &format!(
                "{ram:<6} {:>11} of {:>11}  {}  {parts}; '{}' sets the peak\n",
                bytes(m.total_bytes),
                bytes(l),
                bar(m.total_bytes, l, 20),
                b.peak_layer
            )
        }
        None => s += &format!("{ram:<6} {:>11}  {parts}\n", bytes(m.total_bytes)),
    }
    let streams = if b.arena.tiled_streams {
        "streams rows"
    } else {
        "nothing to stream"
    };
    s += &format!(
        "arena  layer by layer {} ('{}') · tiled {} ('{}', {streams})\n",
        bytes(b.arena.layer_bytes),
        b.arena.layer_peak,
        bytes(b.arena.tiled_bytes),
        b.arena.tiled_peak
    );
    s += &format!(
        "speed  {} instructions, {} cycles per {noun}",
        count(b.instructions),
        count(b.cycles)
    );
    if let Some(ms) = b.ms_per_run {
        s += &format!(" = {ms:.2} ms ({:.0} per second)", 1000.0 / ms.max(1e-9));
    }
    s += " (estimate)\n\n";
    for a in &b.advice {
        s += a;
        s += "\n";
    }
    s += &format!("note: {}\n", b.estimates);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template;
    use proptest::prelude::*;

    fn project(name: &str) -> Project {
        Project::from_template(template::find(name).unwrap())
    }

    fn ch32() -> &'static Target {
        crate::target::find("ch32v003").unwrap()
    }

    #[test]
    fn bitnetmcu_reference_model() {
        let p = project("bitnet-mnist");
        let b = for_project(&p, ch32(), Plan::Layer);
        // On the CH32V003 its 4-bit weights are coded: 3.55 bits each (estimated), each
        // layer's stream padded to a word.
        assert!(b.coded_weights);
        assert_eq!(b.flash.weight_bytes, 7_272 + 1_820 + 1_820 + 284);
        assert_eq!(
            b.flash.const_bytes,
            4 * crate::spec::DESCRIPTOR_BYTES + crate::spec::CODE_TABLE_BYTES
        );
        assert_eq!(b.params, 25_216);
        assert_eq!(b.macs, 25_216);
        // Dense layers only: the largest input + output, 256 + 64, and 32 accumulators.
        assert_eq!(b.arena.layer_bytes, 320 + 128);
        assert_eq!(b.peak_layer, "fc1");
        // Every coded weight is decoded (10.7 instructions), and one of a non-zero input
        // (half of them) costs 6 more.
        let per_layer = |w: f64| (w * (10.7 + 6.0 * 0.5)).round() as u64;
        let expected = per_layer(16_384.0)
            + 2 * per_layer(4_096.0)
            + per_layer(640.0)
            + (64 * 3 + 10) * INSTR_PER_OUTPUT
            + 4 * INSTR_PER_LAYER;
        assert_eq!(b.instructions, expected);
        assert!(!b.arena.tiled_streams, "an MLP has nothing to stream");

        // Packed on the Pi (the file is not short of room): 4 bits a weight, faster.
        let pi = crate::target::find("pi-zero-2w").unwrap();
        let b = for_project(&p, pi, Plan::Layer);
        assert!(!b.coded_weights);
        assert_eq!(b.flash.weight_bytes, 12_608);
        // The die's one small dense layer is not worth the decoder.
        let b = for_project(&project("cvae-die"), ch32(), Plan::Layer);
        assert!(!b.coded_weights);
    }

    #[test]
    fn die_decoder_by_hand() {
        let b = for_project(&project("cvae-die"), ch32(), Plan::Layer);
        // Activations: 10 -> 128 -> 512 -> 1024 -> 1024; the last layer sets the peak.
        assert_eq!(b.arena.layer_bytes, 2048 + 128);
        assert_eq!(b.arena.layer_peak, "out");
        // Streaming: the 8x4x4 map whole (128) + up2's 2 input rows of 8x8 (2*8*8 = 128)
        // + out's 2 input rows of 4x16 (2*4*16 = 128) + one 32-pixel output row, and 32
        // int32 accumulators for a row.
        assert_eq!(b.arena.tiled_bytes, 128 + 128 + 128 + 32 + 128);
        assert!(b.arena.tiled_streams);
        // Weights: fc 1,024 at 4 bits, unpadded (512 B), up1 8 * 36 B, up2 4 * 36 B, out 36 B.
        assert_eq!(b.flash.weight_bytes, 512 + 288 + 144 + 36);
        // Biases (4 B per channel) + 16 B per layer + the 256 B sigmoid table.
        assert_eq!(b.flash.const_bytes, (128 + 8 + 4 + 1) * 4 + 4 * 16 + 256);
        assert!(!b.fits, "2,048 B of arena cannot fit 2 KB with the stack");
        assert!(
            b.advice[0].contains("the tiled plan needs 544 B"),
            "{:?}",
            b.advice
        );
        let t = for_project(&project("cvae-die"), ch32(), Plan::Tiled);
        assert!(t.fits, "{:?}", t.advice);
        assert_eq!(t.sram.total_bytes, 352 + 576 + 544);
    }

    #[test]
    fn diffusion_repeats_the_unet_and_streams_only_the_decoder() {
        let p = project("streaming-sd");
        let pi = crate::target::find("pi-zero-2w").unwrap();
        let b = for_project(&p, pi, Plan::Tiled);
        assert_eq!(b.layers[0].runs, 8);
        assert_eq!(b.layers[5].runs, 1);
        assert!(b.fits);
        assert!(b.arena.tiled_bytes < b.arena.layer_bytes);
        assert!(
            b.advice[0].starts_with("Streaming weights layer by layer"),
            "{:?}",
            b.advice
        );
        // On a CH32V003 it is far too big; the report says by how much.
        let b = for_project(&p, ch32(), Plan::Tiled);
        assert!(!b.fits);
        assert!(
            b.advice[0].starts_with("Flash is over by"),
            "{:?}",
            b.advice
        );
    }

    #[test]
    fn flash_advice_names_a_lower_precision() {
        let mut p = project("bitnet-mnist");
        p.model.layers[0].width = 256;
        p.model.layers[0].bits = WeightBits::Eight;
        let b = for_project(&p, ch32(), Plan::Layer);
        assert!(!b.fits);
        assert!(
            b.advice[0].contains("'fc1' holds 65,536 B of weights at 8 bits; at 4 bits"),
            "{:?}",
            b.advice
        );
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(bytes(12_608), "12,608 B");
        assert_eq!(bytes_short(12_608), "12,608 B");
        assert_eq!(bytes_short(1_089_312), "1.0 MB");
        assert_eq!(bytes_short(512 << 20), "512 MB");
        assert_eq!(count(100), "100");
        assert_eq!(count(1_000_000), "1,000,000");
    }

    fn arb_layer() -> impl Strategy<Value = (u8, u32)> {
        (0u8..4, 1u32..64)
    }

    /// A random chain: optional dense layers to a 4x4 map, then random conv layers.
    fn chain(dense: Vec<u32>, convs: Vec<(u8, u32)>) -> Vec<LayerSpec> {
        let mut layers = Vec::new();
        let mut prev = Shape::vector(16);
        let mk = |kind, input, output| LayerSpec {
            name: "l".to_string(),
            kind,
            input,
            output,
            weight_bits: WeightBits::Four,
            bias: false,
            weights: None,
        };
        for w in dense {
            let out = Shape::vector(w);
            layers.push(mk(LayerKind::Dense, prev, out));
            prev = out;
        }
        if !convs.is_empty() {
            let out = Shape::map(4, 4, 4);
            layers.push(mk(LayerKind::Dense, prev, out));
            prev = out;
        }
        for (k, c) in convs {
            let (kind, h) = match k {
                0 => (LayerKind::Conv3x3, prev.h),
                1 if prev.h < 64 => (LayerKind::UpConv3x3, prev.h * 2),
                2 if prev.h >= 2 => (LayerKind::Conv3x3Down, prev.h / 2),
                _ => (LayerKind::Conv3x3, prev.h),
            };
            let out = Shape::map(c, h, h);
            layers.push(mk(kind, prev, out));
            prev = out;
        }
        layers
    }

    proptest! {
        #[test]
        fn planner_bounds(dense in prop::collection::vec(1u32..300, 0..3),
                          convs in prop::collection::vec(arb_layer(), 0..6),
                          start in 0usize..4) {
            let layers = chain(dense, convs);
            prop_assume!(!layers.is_empty());
            let lp = plan_layer(&layers);
            let largest = layers.iter().map(|l| l.input.bytes() + l.output.bytes()).max().unwrap()
                + accumulator_bytes(&layers);
            let all: u64 = layers[0].input.bytes()
                + layers.iter().map(|l| l.output.bytes()).sum::<u64>()
                + accumulator_bytes(&layers);
            prop_assert!(lp.peak >= largest);
            prop_assert!(lp.peak <= all);
            for rows in [1u32, 2, 4] {
                let tp = plan_tiled(&layers, start, rows);
                prop_assert!(tp.peak <= lp.peak, "tiled {} > layer {}", tp.peak, lp.peak);
                prop_assert_eq!(tp.live.len(), layers.len());
            }
        }
    }
}
