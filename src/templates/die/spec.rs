//! The die's deployable model: the CVAE decoder. z and the one-hot pip count → a dense
//! layer to a 4x4 map → three nearest-upsample-and-convolve stages → a 32x32 grey image.

use crate::project::Project;
use crate::spec::{LayerKind, LayerSpec, ModelKind, ModelSpec, Shape};

/// Number of classes (pip counts 1 to 6).
pub const CLASSES: usize = crate::data::die::PIPS;

/// The decoder a project describes, without weights, as stored on the project's target.
pub fn spec(p: &Project) -> ModelSpec {
    let m = &p.model;
    let layer = |i: usize, kind: LayerKind, input: Shape, output: Shape| LayerSpec {
        name: m.layers[i].name.clone(),
        kind,
        input,
        output,
        weight_bits: m.layers[i].bits,
        bias: true,
        weights: None,
    };
    let w = |i: usize| m.layers[i].width;
    let input = Shape::vector(m.latent + CLASSES as u32);
    let s0 = Shape::map(w(0), 4, 4);
    let s1 = Shape::map(w(1), 8, 8);
    let s2 = Shape::map(w(2), 16, 16);
    let s3 = Shape::map(w(3), 32, 32);
    ModelSpec {
        kind: ModelKind::Generator,
        classes: CLASSES as u32,
        input,
        layers: vec![
            layer(0, LayerKind::Dense, input, s0),
            layer(1, LayerKind::UpConv3x3, s0, s1),
            layer(2, LayerKind::UpConv3x3, s1, s2),
            layer(3, LayerKind::UpConv3x3, s2, s3),
        ],
        repeat: None,
        skip: None,
        latent_denorm: Vec::new(),
        guidance: (0, 0),
        sigmoid_output: true,
        shift_norm: false,
        u8_input: false,
        coded_weights: false,
    }
    .for_target(crate::target::find(&p.target))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_die_decoder() {
        let s = spec(&Project::from_template(&super::super::def::DEF));
        // fc: (2 + 6) -> 8x4x4 = 128 outputs of 8 weights at 8 bits, one unpadded stream.
        let fc = &s.layers[0];
        assert_eq!((fc.rows(), fc.row_len()), (128, 8));
        assert_eq!(fc.weight_bits_packed(), 1024 * 8);
        assert_eq!(fc.params(), 1024 + 128);
        assert_eq!(fc.macs(), 1024);
        // up1: 8 -> 8 channels at 8x8: rows of 72 weights at 8 bits = 576 bits (18 words).
        let up1 = &s.layers[1];
        assert_eq!(up1.weight_bytes(), 8 * 72);
        assert_eq!(up1.macs(), 8 * 8 * 8 * 72);
        assert_eq!(up1.const_bytes(), 16 + 8 * 4);
        // up2: 8 -> 8 channels at 16x16: rows of 72 weights at 4 bits = 288 bits (9 words).
        let up2 = &s.layers[2];
        assert_eq!(up2.weight_bytes(), 8 * 36);
        assert_eq!(up2.macs(), 16 * 16 * 8 * 72);
        // out: 8 -> 1 at 32x32, 8 bits: 72 weights = 576 bits.
        let out = &s.layers[3];
        assert_eq!(out.weight_bytes(), 72);
        assert_eq!(out.output.bytes(), 1024);
    }
}
