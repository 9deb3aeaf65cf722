//! The Streaming SD template as project files see it: its names, default project and
//! layer rules (a UNet on the latent, then the VAE decoder).

use crate::project::rules::{EncoderRule, LayerRule, Layout, Maturity, TemplateDef, Width};
use crate::spec::LayerKind;

const LAYERS: &[LayerRule] = &[
    LayerRule {
        name: "unet_in",
        kind: LayerKind::Conv3x3,
        width: Width::Range(1, 512),
    },
    LayerRule {
        name: "unet_down",
        kind: LayerKind::Conv3x3Down,
        width: Width::Range(1, 512),
    },
    LayerRule {
        name: "unet_mid",
        kind: LayerKind::Conv3x3,
        width: Width::Range(1, 512),
    },
    LayerRule {
        name: "unet_up",
        kind: LayerKind::UpConv3x3,
        width: Width::Range(1, 512),
    },
    LayerRule {
        name: "unet_out",
        kind: LayerKind::Conv3x3,
        width: Width::Latent,
    },
    LayerRule {
        name: "vae_in",
        kind: LayerKind::Conv3x3,
        width: Width::Range(1, 512),
    },
    LayerRule {
        name: "vae_up1",
        kind: LayerKind::UpConv3x3,
        width: Width::Range(1, 512),
    },
    LayerRule {
        name: "vae_up2",
        kind: LayerKind::UpConv3x3,
        width: Width::Range(1, 512),
    },
    LayerRule {
        name: "vae_out",
        kind: LayerKind::Conv3x3,
        width: Width::Fixed(1),
    },
];

pub static DEF: TemplateDef = TemplateDef {
    name: "streaming-sd",
    title: "Streaming SD",
    summary: "A tiny latent-diffusion model whose int8 runtime streams weights layer \
              by layer, in the spirit of OnnxStream; sized for a Pi Zero 2 W.",
    source: include_str!("../../../templates/streaming-sd.ron"),
    latent: Some((1, 16)),
    steps: Some((1, 1000)),
    // Two stride-2 stages take 32x32 to the 8x8 latent the UNet works on.
    encoder: Some(EncoderRule {
        stages: (2, 2),
        width: (1, 256),
    }),
    layout: Layout::Fixed(LAYERS),
    maturity: Maturity::HostOnly,
};
