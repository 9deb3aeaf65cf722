//! The built-in templates: their embedded default projects (`templates/*.ron`) and the
//! rules their model parameters must follow. Later, each template also builds its dataset,
//! its burn model and its ModelSpec from a validated project.

use std::fmt;

/// Which built-in template a project is made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TemplateId {
    CvaeDie,
    BitnetMnist,
    StreamingSd,
}

/// The operation a deployable layer performs; this decides its shapes and costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerKind {
    /// Fully connected.
    Dense,
    /// 3x3 convolution, stride 1, same padding.
    Conv3x3,
    /// 3x3 convolution, stride 2: halves height and width.
    Conv3x3Down,
    /// Nearest-neighbour upsampling x2, then a 3x3 convolution.
    UpConv3x3,
}

/// The allowed output width of one layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    /// Any width in `min..=max`.
    Range(u32, u32),
    /// Exactly this width (an image channel, the 10 classes).
    Fixed(u32),
    /// Must equal the project's latent size.
    Latent,
}

/// One layer a template expects, by name and kind.
#[derive(Debug, Clone, Copy)]
pub struct LayerRule {
    pub name: &'static str,
    pub kind: LayerKind,
    pub width: Width,
}

/// How a template's deployable layers are laid out.
#[derive(Debug, Clone, Copy)]
pub enum Layout {
    /// Exactly these layers, in this order.
    Fixed(&'static [LayerRule]),
    /// A multilayer perceptron: `fc1..fcN` hidden dense layers, then `out`.
    Mlp {
        hidden: (usize, usize),
        hidden_width: (u32, u32),
        out: u32,
    },
}

/// A built-in template.
#[derive(Debug)]
pub struct TemplateDef {
    pub id: TemplateId,
    /// The name used in project files and on the command line.
    pub name: &'static str,
    pub title: &'static str,
    pub summary: &'static str,
    /// The default project, as shipped in `templates/`.
    pub source: &'static str,
    /// Allowed latent sizes, or `None` when the model has no latent.
    pub latent: Option<(u32, u32)>,
    /// Allowed denoising steps, for diffusion templates.
    pub steps: Option<(u32, u32)>,
    /// Allowed train-time encoder depth and channel range, when the template has one.
    pub encoder: Option<EncoderRule>,
    pub layout: Layout,
}

/// Limits on a train-time encoder: how many stages and how wide.
#[derive(Debug, Clone, Copy)]
pub struct EncoderRule {
    pub stages: (usize, usize),
    pub width: (u32, u32),
}

const DIE_LAYERS: &[LayerRule] = &[
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

const SD_LAYERS: &[LayerRule] = &[
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

static TEMPLATES: [TemplateDef; 3] = [
    TemplateDef {
        id: TemplateId::CvaeDie,
        name: "cvae-die",
        title: "CVAE die",
        summary: "A conditional VAE that draws a 32x32 die face showing 1 to 6 pips. \
                  Its decoder is small enough for a CH32V003.",
        source: include_str!("../templates/cvae-die.ron"),
        latent: Some((1, 32)),
        steps: None,
        encoder: Some(EncoderRule {
            stages: (1, 4),
            width: (1, 128),
        }),
        layout: Layout::Fixed(DIE_LAYERS),
    },
    TemplateDef {
        id: TemplateId::BitnetMnist,
        name: "bitnet-mnist",
        title: "BitNet MNIST",
        summary: "Low-bit quantization-aware training of a 16x16 digit classifier, \
                  in the style of BitNetMCU; runs multiply-free on a CH32V003.",
        source: include_str!("../templates/bitnet-mnist.ron"),
        latent: None,
        steps: None,
        encoder: None,
        layout: Layout::Mlp {
            hidden: (1, 6),
            hidden_width: (1, 1024),
            out: 10,
        },
    },
    TemplateDef {
        id: TemplateId::StreamingSd,
        name: "streaming-sd",
        title: "Streaming SD",
        summary: "A tiny latent-diffusion model whose int8 runtime streams weights layer \
                  by layer, in the spirit of OnnxStream; sized for a Pi Zero 2 W.",
        source: include_str!("../templates/streaming-sd.ron"),
        latent: Some((1, 16)),
        steps: Some((1, 1000)),
        encoder: Some(EncoderRule {
            stages: (1, 4),
            width: (1, 256),
        }),
        layout: Layout::Fixed(SD_LAYERS),
    },
];

impl TemplateDef {
    /// The width rule of each of `n` layers, in order.
    pub fn width_rules(&self, n: usize) -> Vec<Width> {
        match self.layout {
            Layout::Fixed(rules) => rules.iter().map(|r| r.width).collect(),
            Layout::Mlp {
                hidden_width, out, ..
            } => (0..n)
                .map(|i| {
                    if i + 1 == n {
                        Width::Fixed(out)
                    } else {
                        Width::Range(hidden_width.0, hidden_width.1)
                    }
                })
                .collect(),
        }
    }
}

/// All built-in templates, in display order.
pub fn all() -> &'static [TemplateDef] {
    &TEMPLATES
}

/// The template with this name.
pub fn find(name: &str) -> Option<&'static TemplateDef> {
    TEMPLATES.iter().find(|t| t.name == name)
}

/// Every template name, for suggestions.
pub fn names() -> Vec<&'static str> {
    TEMPLATES.iter().map(|t| t.name).collect()
}

impl TemplateId {
    pub fn def(self) -> &'static TemplateDef {
        // Every id has exactly one entry in TEMPLATES.
        TEMPLATES
            .iter()
            .find(|t| t.id == self)
            .unwrap_or(&TEMPLATES[0])
    }

    pub fn name(self) -> &'static str {
        self.def().name
    }
}

impl fmt::Display for TemplateId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_findable() {
        for t in all() {
            assert_eq!(find(t.name).unwrap().id, t.id);
            assert_eq!(t.id.def().name, t.name);
        }
        assert!(find("cvae").is_none());
    }
}
