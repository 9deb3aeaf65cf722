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
//!
//! [`compute`] is a pure function of a spec and a target; [`advice`] adds what would fit,
//! trying variants of the project; [`report`] writes the text `tinygen budget` prints.

pub mod advice;
pub mod compute;
pub mod plan;
pub mod report;

pub use advice::for_project;
pub use compute::*;
pub use plan::{ArenaPlan, DENSE_CHUNK, accumulator_bytes, plan_layer, plan_tiled};
pub use report::{bar, bytes, bytes_short, count, report};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::Project;
    use crate::quant::WeightBits;
    use crate::spec::LayerSpec;
    use crate::spec::{LayerKind, Shape};
    use crate::target::Target;
    use crate::templates::spec;
    use proptest::prelude::*;

    fn project(name: &str) -> Project {
        crate::templates::default_project(name).unwrap()
    }

    fn ch32() -> &'static Target {
        crate::target::find("ch32v003").unwrap()
    }

    #[test]
    fn bitnetmcu_reference_model() {
        // BitNetMCU's 12k model: the template's, with a first layer of 64 instead of 76.
        let mut p = project("bitnet-mnist");
        p.model.layers[0].width = 64;
        let b = for_project(&p, &spec, ch32(), Plan::Layer);
        // On the CH32V003 its 4-bit weights are coded: 3.06 bits each (estimated), each
        // layer's stream padded to a word.
        assert!(b.coded_weights);
        assert_eq!(b.flash.weight_bytes, 6_268 + 1_568 + 1_568 + 248);
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
        let b = for_project(&p, &spec, pi, Plan::Layer);
        assert!(!b.coded_weights);
        assert_eq!(b.flash.weight_bytes, 12_608);
        // The die's one small dense layer is not worth the decoder.
        let b = for_project(&project("cvae-die"), &spec, ch32(), Plan::Layer);
        assert!(!b.coded_weights);
    }

    #[test]
    fn die_decoder_by_hand() {
        let b = for_project(&project("cvae-die"), &spec, ch32(), Plan::Layer);
        // Activations: 10 -> 128 -> 512 -> 2048 -> 1024; the last layer sets the peak: its
        // 8x16x16 input, its 1024-pixel output and 32 int32 accumulators for a row.
        assert_eq!(b.arena.layer_bytes, 2048 + 1024 + 128);
        assert_eq!(b.arena.layer_peak, "out");
        // Streaming: the 8x4x4 map whole (128) + up2's 2 input rows of 8x8 (2*8*8 = 128)
        // + out's 2 input rows of 8x16 (2*8*16 = 256) + one 32-pixel output row, and 32
        // int32 accumulators for a row.
        assert_eq!(b.arena.tiled_bytes, 128 + 128 + 256 + 32 + 128);
        assert!(b.arena.tiled_streams);
        // Weights: fc 1,024 at 8 bits (1,024 B), up1 8 * 72 B, up2 8 * 36 B, out 72 B.
        assert_eq!(b.flash.weight_bytes, 1024 + 576 + 288 + 72);
        // Biases (4 B per channel) + 16 B per layer + the 256 B sigmoid table.
        assert_eq!(b.flash.const_bytes, (128 + 8 + 8 + 1) * 4 + 4 * 16 + 256);
        assert!(!b.fits, "3,200 B of arena cannot fit 2 KB");
        assert!(
            b.advice[0].contains("the tiled plan needs 672 B"),
            "{:?}",
            b.advice
        );
        let t = for_project(&project("cvae-die"), &spec, ch32(), Plan::Tiled);
        assert!(t.fits, "{:?}", t.advice);
        assert_eq!(t.sram.total_bytes, 352 + 624 + 672);
    }

    #[test]
    fn diffusion_repeats_the_unet_and_streams_only_the_decoder() {
        let p = project("streaming-sd");
        let pi = crate::target::find("pi-zero-2w").unwrap();
        let b = for_project(&p, &spec, pi, Plan::Tiled);
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
        let b = for_project(&p, &spec, ch32(), Plan::Tiled);
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
        let b = for_project(&p, &spec, ch32(), Plan::Layer);
        assert!(!b.fits);
        assert!(
            b.advice[0].contains("'fc1' holds 65,536 B of weights at 8 bits."),
            "{:?}",
            b.advice
        );
        // #18, item 11: "at 4 bits … flash totals 40,696 B" still did not fit. The advice
        // names a change that fits, and that change does fit.
        assert!(
            b.advice[1].contains("the model fits") || b.advice[1].contains("makes it fit"),
            "{:?}",
            b.advice
        );
        let mut q = p.clone();
        let bits_in = |rest: &str| {
            let v: f64 = rest.split(' ').next().unwrap().parse().unwrap();
            WeightBits::from_f64(v).unwrap()
        };
        if let Some(rest) = b.advice[1].strip_prefix("At ") {
            q.model.layers[0].bits = bits_in(rest);
        } else if let Some(rest) = b.advice[1].strip_prefix("With every layer at ") {
            for l in &mut q.model.layers {
                l.bits = bits_in(rest);
            }
        } else if b.advice[1].starts_with("Narrowing") {
            let to: u32 = b.advice[1]
                .split(" to ")
                .nth(1)
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            q.model.layers[0].width = to;
        }
        assert!(
            for_project(&q, &spec, ch32(), Plan::Layer).fits,
            "{:?}",
            b.advice
        );
    }

    /// #18, item 11: when nothing simple fits, the advice says so instead of naming a
    /// change that does not.
    #[test]
    fn flash_advice_says_when_no_simple_change_fits() {
        let b = for_project(&project("streaming-sd"), &spec, ch32(), Plan::Tiled);
        assert!(!b.fits);
        assert!(
            b.advice
                .iter()
                .any(|a| a.starts_with("No simple change fits")),
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
