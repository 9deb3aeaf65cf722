//! The BitNet classifier's deployable model, after BitNetMCU: 16x16 = 256 unsigned pixels
//! into bias-free BitLinear layers with ShiftNorm after each.

use crate::data::mnist::PIXELS;
use crate::project::Project;
use crate::spec::{LayerKind, LayerSpec, ModelKind, ModelSpec, Shape};

/// Digit classes.
pub const CLASSES: usize = 10;

/// The classifier a project describes, without weights, as stored on the project's target.
pub fn spec(p: &Project) -> ModelSpec {
    let m = &p.model;
    let input = Shape::vector(PIXELS as u32);
    let mut prev = input;
    let layers = m
        .layers
        .iter()
        .map(|l| {
            let out = Shape::vector(l.width);
            let s = LayerSpec {
                name: l.name.clone(),
                kind: LayerKind::Dense,
                input: prev,
                output: out,
                weight_bits: l.bits,
                bias: false,
                weights: None,
            };
            prev = out;
            s
        })
        .collect();
    ModelSpec {
        kind: ModelKind::Classifier,
        classes: CLASSES as u32,
        input,
        layers,
        repeat: None,
        skip: None,
        latent_denorm: Vec::new(),
        guidance: (0, 0),
        sigmoid_output: false,
        shift_norm: true,
        u8_input: true,
        coded_weights: false,
    }
    .for_target(crate::target::find(&p.target))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::WeightBits;
    use crate::spec::{LayerWeights, SpecError};

    /// BitNetMCU's 12k model: the template's, with its first layer at 64 instead of 76.
    fn default() -> Project {
        let mut p = Project::from_template(&super::super::def::DEF);
        assert_eq!(p.model.layers[0].width, 76);
        p.model.layers[0].width = 64;
        p
    }

    #[test]
    fn bitnetmcu_12k_model_is_100864_weight_bits() {
        let s = spec(&default());
        let dims: Vec<_> = s.layers.iter().map(|l| (l.input.c, l.output.c)).collect();
        assert_eq!(dims, [(256, 64), (64, 64), (64, 64), (64, 10)]);
        let bits: u64 = s.layers.iter().map(LayerSpec::weight_bits_packed).sum();
        assert_eq!(bits, 100_864);
        assert_eq!(bits / 8, 12_608);
    }

    #[test]
    fn binary_rows_pad_to_words() {
        let mut p = default();
        p.model.layers[3].bits = WeightBits::Binary;
        let s = spec(&p);
        // 640 binary weights = 20 words, whatever the row length.
        assert_eq!(s.layers[3].weight_bits_packed(), 10 * 64);
        p.model.layers[3].bits = WeightBits::Ternary;
        let s = spec(&p);
        assert_eq!(s.layers[3].weight_bits_packed(), 10 * 128);
    }

    #[test]
    fn weights_are_checked_against_the_spec() {
        let s = spec(&default());
        let good: Vec<LayerWeights> = s
            .layers
            .iter()
            .map(|l| LayerWeights {
                values: vec![-8; l.weight_count() as usize],
                scale: 0.1,
                bias: vec![],
            })
            .collect();
        assert!(s.clone().with_weights(good.clone()).is_ok());
        let mut short = good.clone();
        short[1].values.pop();
        assert!(matches!(
            s.clone().with_weights(short),
            Err(SpecError::WeightCount {
                expected: 4096,
                found: 4095,
                ..
            })
        ));
        let mut wide = good;
        wide[0].values[5] = 9;
        assert!(matches!(
            s.with_weights(wide),
            Err(SpecError::WeightRange { value: 9, .. })
        ));
    }
}
