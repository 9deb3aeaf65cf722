//! The BitNet MNIST template as project files see it: its names, default project and
//! layer rules (an MLP of 1 to 6 hidden layers and a 10-way output).

use crate::project::rules::{DataKind, Layout, Maturity, TemplateDef};

pub static DEF: TemplateDef = TemplateDef {
    name: "bitnet-mnist",
    title: "BitNet MNIST",
    summary: "Low-bit quantization-aware training of a 16x16 digit classifier, \
              in the style of BitNetMCU; runs multiply-free on a CH32V003.",
    source: include_str!("../../../templates/bitnet-mnist.ron"),
    latent: None,
    steps: None,
    encoder: None,
    layout: Layout::Mlp {
        hidden: (1, 6),
        hidden_width: (1, 1024),
        out: 10,
    },
    maturity: Maturity::Complete,
    datasets: &[DataKind::Digits],
};
