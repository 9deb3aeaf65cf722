//! The budget of a spec on a target: the report's types, the firmware and instruction
//! models calibrated on the CH32V003, and [`compute`].

use super::plan::{plan_layer, plan_tiled};
use crate::quant::WeightBits;
use crate::spec::{LayerKind, ModelSpec, Shape};
use crate::target::Target;
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
    /// More stack for the convolution chain (its row recursion and the sub-pixel kernel).
    pub conv_stack_bytes: u64,
}

/// Calibrated on CH32V003 builds (`tinygen budget PROJECT --verify`). Dense-only models
/// build small (`TG_SMALL`: link-time optimisation, only their own weight widths, no
/// convolution code, code-only error frames, a table-free CRC, no unrolled weight loops):
/// the 12k 4-bit BitNet classifier is 15,640 B of flash less its 12,692 B blob, 2,948 B of
/// code. The default die model is 10,516 B less its 1,884 B blob, 8,632 B of code, so the
/// convolution chain (and the faster, larger build that comes with it) adds about 5.6 KB.
/// Coded weights: the same classifier coded is 14,304 B less its 11,304 B blob, 3,000 B
/// of code: the decoder takes the place of the packed-weight loops, 52 B more.
/// 892 B of static SRAM less the 544 B arena is 348 B (link buffers, model state); the
/// deepest stack measured under qemu is 616 B (the die). Rounded up for headroom.
pub const MCU_FIRMWARE: Firmware = Firmware {
    code_bytes: 2980,
    conv_code_bytes: 5672,
    coded_code_bytes: 64,
    static_bytes: 352,
    stack_bytes: 576,
    conv_stack_bytes: 48,
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

/// Share of an upsampling convolution's nominal instructions the engine spends: on a
/// nearest-upsampled map, kernel rows and columns that read the same source pixel have
/// their weights summed first, so an output takes 4 products instead of 9 (wider ones, as
/// the summed weights have more signed digits). Calibrated in qemu (`tinygen budget
/// --verify`) on two die decoders: fc 8, up 8, 8 with 8-bit fc and up1 (2,832,893
/// instructions per image; predicted 9% high) and fc 8, up 8, 4 at 4 bits (1,706,228;
/// predicted 7% low). The same shape as the first, trained on steady renders for 18
/// epochs (the default since issue #15's stop 32), measures 2,826,934: predicted 11% high.
pub const UPCONV_SHARE: f64 = 0.5;

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
            } else if l.kind == LayerKind::UpConv3x3 && !target.multiplier {
                ipm(l.weight_bits) * UPCONV_SHARE
            } else {
                ipm(l.weight_bits)
            };
            let per_run = (l.macs() as f64 * per_mac).round() as u64
                + l.output.elements() * INSTR_PER_OUTPUT
                + INSTR_PER_LAYER;
            let instructions = per_run * runs;
            LayerBudget {
                name: l.name.clone(),
                op: l.kind.op_name(),
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
        let conv = layers.iter().any(|l| l.kind != LayerKind::Dense);
        let stack = fw.stack_bytes + if conv { fw.conv_stack_bytes } else { 0 };
        let code = fw.code_bytes
            + if conv { fw.conv_code_bytes } else { 0 }
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
                stack_bytes: stack,
                arena_bytes: chosen.peak,
                weight_buffer_bytes: 0,
                total_bytes: fw.static_bytes + stack + chosen.peak,
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
        run: spec.kind.run_noun(),
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
