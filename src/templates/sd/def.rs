//! The Streaming SD template as project files see it: its names, default project and
//! layer rules (a UNet on the latent, then the VAE decoder).

use crate::project::rules::{
    DataKind, EncoderRule, LayerRule, Layout, Maturity, TemplateDef, Width,
};
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
        // Its output and unet_in's are added (the UNet's skip).
        width: Width::Same(0),
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
    // The model blob holds the default step count in a byte.
    steps: Some((1, 255)),
    // Two stride-2 stages take 32x32 to the 8x8 latent the UNet works on.
    encoder: Some(EncoderRule {
        stages: (2, 2),
        width: (1, 256),
    }),
    layout: Layout::Fixed(LAYERS),
    maturity: Maturity::Hosted,
    datasets: &[DataKind::Dice, DataKind::Digits],
};

#[cfg(test)]
mod tests {
    use crate::project::Project;

    /// A UNet whose skip would add maps of different widths is refused where the file
    /// says it, not left to fail inside training.
    #[test]
    fn the_unets_skip_needs_matching_widths() {
        let p = Project::from_template(&super::DEF);
        let text = p.to_ron().unwrap();
        let at = text.find("\"unet_up\"").expect("the layer is in the file");
        let (head, tail) = text.split_at(at);
        let bad = format!("{head}{}", tail.replacen("32", "16", 1));
        let e = crate::templates::parse_project(&bad, std::path::Path::new("sd.ron"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("'unet_up' must be as wide as 'unet_in' (32): the skip adds"),
            "{e}"
        );
    }
}
