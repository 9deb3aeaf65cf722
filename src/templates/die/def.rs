//! The die template as project files see it: its names, default project and layer rules.

use crate::project::rules::{
    DataKind, EncoderRule, LayerRule, Layout, Maturity, TemplateDef, Width,
};
use crate::spec::LayerKind;

const LAYERS: &[LayerRule] = &[
    LayerRule {
        name: "fc",
        kind: LayerKind::Dense,
        width: Width::Range(1, 64),
    },
    LayerRule {
        name: "up1",
        kind: LayerKind::UpConv3x3,
        width: Width::Range(1, 64),
    },
    LayerRule {
        name: "up2",
        kind: LayerKind::UpConv3x3,
        width: Width::Range(1, 64),
    },
    LayerRule {
        name: "out",
        kind: LayerKind::UpConv3x3,
        width: Width::Fixed(1),
    },
];

pub static DEF: TemplateDef = TemplateDef {
    name: "cvae-die",
    title: "CVAE die",
    summary: "A conditional VAE that draws a 32x32 die face showing 1 to 6 pips. \
              Its decoder is small enough for a CH32V003.",
    source: include_str!("../../../templates/cvae-die.ron"),
    latent: Some((1, 32)),
    steps: None,
    encoder: Some(EncoderRule {
        stages: (1, 4),
        width: (1, 128),
    }),
    layout: Layout::Fixed(LAYERS),
    maturity: Maturity::Complete,
    datasets: &[DataKind::Dice],
};
