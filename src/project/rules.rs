//! What a template says about the projects made from it: its names, its default project
//! file, and the rules its model parameters follow (latent and step ranges, the encoder,
//! the layout of its deployable layers). Each template folder (`src/templates/*/def.rs`)
//! fills one of these in; validation checks a project against its template's rules.
//!
//! This is data only. What a template *does* (its dataset, model, training and
//! evaluation) is the `Template` trait in `crate::template`, above the project file.

use crate::spec::LayerKind;
use std::fmt;

/// The allowed output width of one layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    /// Any width in `min..=max`.
    Range(u32, u32),
    /// Exactly this width (an image channel, the 10 classes).
    Fixed(u32),
    /// Must equal the project's latent size.
    Latent,
    /// Must equal the width of the layer at this index (a skip adds the two).
    Same(usize),
}

/// One layer a template expects, by name and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerRule {
    pub name: &'static str,
    pub kind: LayerKind,
    pub width: Width,
}

/// How a template's deployable layers are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// Limits on a train-time encoder: how many stages and how wide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncoderRule {
    pub stages: (usize, usize),
    pub width: (u32, u32),
}

/// What a template's model can train on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKind {
    /// Procedurally rendered dice; the label is the pip count, 1 to 6.
    Dice,
    /// MNIST's handwritten digits.
    Digits,
}

impl DataKind {
    pub const ALL: [DataKind; 2] = [DataKind::Dice, DataKind::Digits];

    /// The name in project files (`dataset.kind`).
    pub fn name(self) -> &'static str {
        match self {
            DataKind::Dice => "dice",
            DataKind::Digits => "digits",
        }
    }

    pub fn from_name(name: &str) -> Option<DataKind> {
        DataKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// How far a template is built, so front-ends can say what works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Maturity {
    /// Trains, evaluates, exports and runs on every board.
    Complete,
    /// Trains, evaluates, exports and runs on the boards with an operating system (the
    /// simulated board, the Raspberry Pi runner), not on microcontrollers.
    Hosted,
    /// Only its budget exists: training it is not built yet.
    BudgetOnly,
}

/// A built-in template as project files see it.
#[derive(Debug)]
pub struct TemplateDef {
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
    pub maturity: Maturity,
    /// What it trains on (`dataset.kind`); the first is the default.
    pub datasets: &'static [DataKind],
}

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

/// Two definitions are the same template when they have the same name (names are unique).
impl PartialEq for TemplateDef {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for TemplateDef {}

impl fmt::Display for TemplateDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// The templates a project file may name: the catalogue validation looks names up in.
pub type Catalog<'a> = &'a [&'static TemplateDef];

/// The template of this name in `catalog`.
pub fn find(catalog: Catalog, name: &str) -> Option<&'static TemplateDef> {
    catalog.iter().copied().find(|t| t.name == name)
}
