//! The settings form: which fields a project has, how each is shown, and how an edit is
//! applied. An edit goes through the same validation as a loaded file, so an invalid value
//! is reported inline and never reaches the project.

use crate::project::{BoardKind, DataKind, Project, RawProject};
use crate::quant::WeightBits;
use crate::target;

/// One editable field of the project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldId {
    Name,
    Latent,
    Steps,
    Encoder(usize),
    LayerWidth(usize),
    LayerBits(usize),
    DatasetKind,
    DatasetSeed,
    DatasetSize,
    DatasetPath,
    Epochs,
    BatchSize,
    LearningRate,
    TrainSeed,
    Target,
    BoardKind,
    Port,
    Baud,
    Checkpoints,
    Export,
}

/// The fields this project shows, in order; they depend on the template.
pub fn fields(p: &Project) -> Vec<FieldId> {
    let def = p.template;
    let mut f = vec![FieldId::Name];
    if def.latent.is_some() {
        f.push(FieldId::Latent);
    }
    if def.steps.is_some() {
        f.push(FieldId::Steps);
    }
    f.extend((0..p.model.encoder.len()).map(FieldId::Encoder));
    for i in 0..p.model.layers.len() {
        f.push(FieldId::LayerWidth(i));
        f.push(FieldId::LayerBits(i));
    }
    if def.datasets.len() > 1 {
        f.push(FieldId::DatasetKind);
    }
    f.extend([
        FieldId::DatasetSeed,
        FieldId::DatasetSize,
        FieldId::DatasetPath,
        FieldId::Epochs,
        FieldId::BatchSize,
        FieldId::LearningRate,
        FieldId::TrainSeed,
        FieldId::Target,
        FieldId::BoardKind,
        FieldId::Port,
        FieldId::Baud,
        FieldId::Checkpoints,
        FieldId::Export,
    ]);
    f
}

/// The section a field belongs to and its label within it.
pub fn label(id: FieldId, p: &Project) -> (&'static str, String) {
    let layer = |i: usize| {
        p.model
            .layers
            .get(i)
            .map_or_else(|| format!("#{i}"), |l| l.name.clone())
    };
    match id {
        FieldId::Name => ("Project", "name".into()),
        FieldId::Latent => ("Model", "latent".into()),
        FieldId::Steps => ("Model", "denoise steps".into()),
        FieldId::Encoder(i) => ("Model", format!("encoder {} ch", i + 1)),
        FieldId::LayerWidth(i) => ("Layers", format!("{} width", layer(i))),
        FieldId::LayerBits(i) => ("Layers", format!("{} bits", layer(i))),
        FieldId::DatasetKind => ("Dataset", "kind".into()),
        FieldId::DatasetSeed => ("Dataset", "seed".into()),
        FieldId::DatasetSize => ("Dataset", "size".into()),
        FieldId::DatasetPath => ("Dataset", "data folder".into()),
        FieldId::Epochs => ("Training", "epochs".into()),
        FieldId::BatchSize => ("Training", "batch size".into()),
        FieldId::LearningRate => ("Training", "learning rate".into()),
        FieldId::TrainSeed => ("Training", "seed".into()),
        FieldId::Target => ("Target", "chip".into()),
        FieldId::BoardKind => ("Board", "kind".into()),
        FieldId::Port => ("Board", "port".into()),
        FieldId::Baud => ("Board", "baud".into()),
        FieldId::Checkpoints => ("Artifacts", "checkpoints".into()),
        FieldId::Export => ("Artifacts", "export".into()),
    }
}

/// The field's path in the project file, to match validation issues to fields.
pub fn path(id: FieldId) -> String {
    match id {
        FieldId::Name => "name".into(),
        FieldId::Latent => "model.latent".into(),
        FieldId::Steps => "model.steps".into(),
        FieldId::Encoder(i) => format!("model.encoder[{i}]"),
        FieldId::LayerWidth(i) => format!("model.layers[{i}].width"),
        FieldId::LayerBits(i) => format!("model.layers[{i}].bits"),
        FieldId::DatasetKind => "dataset.kind".into(),
        FieldId::DatasetSeed => "dataset.seed".into(),
        FieldId::DatasetSize => "dataset.size".into(),
        FieldId::DatasetPath => "dataset.path".into(),
        FieldId::Epochs => "training.epochs".into(),
        FieldId::BatchSize => "training.batch_size".into(),
        FieldId::LearningRate => "training.learning_rate".into(),
        FieldId::TrainSeed => "training.seed".into(),
        FieldId::Target => "target".into(),
        FieldId::BoardKind => "board.kind".into(),
        FieldId::Port => "board.port".into(),
        FieldId::Baud => "board.baud".into(),
        FieldId::Checkpoints => "artifacts.checkpoints".into(),
        FieldId::Export => "artifacts.export".into(),
    }
}

/// The field's current value as text.
pub fn value(id: FieldId, p: &Project) -> String {
    value_in(id, p, &p.to_raw())
}

/// Like [`value`], from a raw form of `p` the caller made once (rendering shows many fields
/// per frame and converts the project only once).
pub fn value_in(id: FieldId, p: &Project, r: &RawProject) -> String {
    match id {
        FieldId::Name => r.name.clone(),
        FieldId::Latent => r.model.latent.to_string(),
        FieldId::Steps => r.model.steps.to_string(),
        FieldId::Encoder(i) => r.model.encoder.get(i).map_or(String::new(), i64::to_string),
        FieldId::LayerWidth(i) => p
            .model
            .layers
            .get(i)
            .map_or(String::new(), |l| l.width.to_string()),
        FieldId::LayerBits(i) => p
            .model
            .layers
            .get(i)
            .map_or(String::new(), |l| l.bits.to_string()),
        FieldId::DatasetKind => p.data_kind().name().to_string(),
        FieldId::DatasetSeed => r.dataset.seed.to_string(),
        FieldId::DatasetSize => r.dataset.size.to_string(),
        FieldId::DatasetPath => r.dataset.path.clone().unwrap_or_default(),
        FieldId::Epochs => r.training.epochs.to_string(),
        FieldId::BatchSize => r.training.batch_size.to_string(),
        FieldId::LearningRate => r.training.learning_rate.to_string(),
        FieldId::TrainSeed => r.training.seed.to_string(),
        FieldId::Target => r.target.clone(),
        FieldId::BoardKind => r.board.kind.clone(),
        FieldId::Port => r.board.port.clone().unwrap_or_default(),
        FieldId::Baud => r.board.baud.to_string(),
        FieldId::Checkpoints => r.artifacts.checkpoints.clone(),
        FieldId::Export => r.artifacts.export.clone(),
    }
}

/// What an empty optional field shows.
pub fn placeholder(id: FieldId) -> Option<&'static str> {
    match id {
        FieldId::DatasetPath => Some("(built-in data)"),
        FieldId::Port => Some("(auto)"),
        _ => None,
    }
}

/// The values a choice field cycles through; `None` for free text.
pub fn choices(id: FieldId) -> Option<Vec<String>> {
    match id {
        FieldId::LayerBits(_) => Some(WeightBits::ALL.iter().map(|b| b.to_string()).collect()),
        FieldId::Target => Some(target::ids().into_iter().map(String::from).collect()),
        FieldId::BoardKind => Some(BoardKind::names().into_iter().map(String::from).collect()),
        FieldId::DatasetKind => Some(DataKind::ALL.iter().map(|k| k.name().into()).collect()),
        _ => None,
    }
}

fn int(text: &str) -> Result<i64, String> {
    let t = text.trim().replace('_', "");
    t.parse::<i64>()
        .map_err(|_| format!("'{}' is not a whole number", text.trim()))
}

/// Writes `text` into the raw project. Fails only when the text cannot be read as the
/// field's type; range and name checks are left to validation.
pub fn apply(id: FieldId, raw: &mut RawProject, text: &str) -> Result<(), String> {
    let opt = |t: &str| {
        let t = t.trim();
        (!t.is_empty()).then(|| t.to_string())
    };
    match id {
        FieldId::Name => raw.name = text.to_string(),
        FieldId::Latent => raw.model.latent = int(text)?,
        FieldId::Steps => raw.model.steps = int(text)?,
        FieldId::Encoder(i) => {
            if let Some(w) = raw.model.encoder.get_mut(i) {
                *w = int(text)?;
            }
        }
        FieldId::LayerWidth(i) => {
            if let Some(l) = raw.model.layers.get_mut(i) {
                l.width = int(text)?;
            }
        }
        FieldId::LayerBits(i) => {
            let v: f64 = text
                .trim()
                .parse()
                .map_err(|_| format!("'{}' is not a number of bits", text.trim()))?;
            if let Some(l) = raw.model.layers.get_mut(i) {
                l.bits = crate::project::raw::Bits(v);
            }
        }
        FieldId::DatasetKind => raw.dataset.kind = opt(text),
        FieldId::DatasetSeed => raw.dataset.seed = int(text)?,
        FieldId::DatasetSize => raw.dataset.size = int(text)?,
        FieldId::DatasetPath => raw.dataset.path = opt(text),
        FieldId::Epochs => raw.training.epochs = int(text)?,
        FieldId::BatchSize => raw.training.batch_size = int(text)?,
        FieldId::LearningRate => {
            raw.training.learning_rate = text
                .trim()
                .parse()
                .map_err(|_| format!("'{}' is not a number", text.trim()))?;
        }
        FieldId::TrainSeed => raw.training.seed = int(text)?,
        FieldId::Target => raw.target = text.trim().to_string(),
        FieldId::BoardKind => raw.board.kind = text.trim().to_string(),
        FieldId::Port => raw.board.port = opt(text),
        FieldId::Baud => raw.board.baud = int(text)?,
        FieldId::Checkpoints => raw.artifacts.checkpoints = text.trim().to_string(),
        FieldId::Export => raw.artifacts.export = text.trim().to_string(),
    }
    Ok(())
}

/// Applies an edit and validates the whole project. On failure the message names what is
/// wrong with this field (or, if the edit broke another rule, that rule).
pub fn edit(p: &Project, id: FieldId, text: &str) -> Result<Project, String> {
    let mut raw = p.to_raw();
    apply(id, &mut raw, text)?;
    if id == FieldId::DatasetKind && text.trim() == p.template.datasets[0].name() {
        // The template's default is what a file without the field means.
        raw.dataset.kind = None;
    }
    raw.validate(&[p.template]).map_err(|issues| {
        let here = path(id);
        issues
            .iter()
            .find(|i| i.field == here)
            .or(issues.first())
            .map_or_else(|| "invalid value".to_string(), |i| i.message.clone())
    })
}

/// The next (or previous) value of a choice field.
pub fn cycle(id: FieldId, p: &Project, forward: bool) -> Option<String> {
    let options = choices(id)?;
    let current = value(id, p);
    let i = options.iter().position(|o| *o == current).unwrap_or(0);
    let n = options.len();
    let next = if forward {
        (i + 1) % n
    } else {
        (i + n - 1) % n
    };
    Some(options[next].clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn die() -> Project {
        crate::templates::default_project("cvae-die").unwrap()
    }

    #[test]
    fn every_field_round_trips_its_own_value() {
        for t in crate::templates::all() {
            let p = Project::from_template(t.def());
            for id in fields(&p) {
                let v = value(id, &p);
                assert_eq!(edit(&p, id, &v).as_ref(), Ok(&p), "{id:?} = {v:?}");
            }
        }
    }

    #[test]
    fn invalid_values_are_refused_with_a_reason() {
        let p = die();
        assert_eq!(
            edit(&p, FieldId::LayerWidth(0), "abc"),
            Err("'abc' is not a whole number".into())
        );
        let e = edit(&p, FieldId::LayerBits(0), "3").unwrap_err();
        assert!(e.contains("bits '3' is not supported"), "{e}");
        let e = edit(&p, FieldId::Target, "ch32v03").unwrap_err();
        assert!(e.contains("did you mean 'ch32v003'"), "{e}");
        let e = edit(&p, FieldId::Export, "../x").unwrap_err();
        assert!(e.contains("leaves the project's folder"), "{e}");
    }

    #[test]
    fn valid_edits_change_only_that_field() {
        let p = die();
        let q = edit(&p, FieldId::LayerWidth(1), "12").unwrap();
        assert_eq!(q.model.layers[1].width, 12);
        assert_eq!(q.model.layers[0], p.model.layers[0]);
        let q = edit(&p, FieldId::Port, "  ").unwrap();
        assert_eq!(q.board.port, None);
    }

    #[test]
    fn choices_cycle_both_ways() {
        let p = die();
        assert_eq!(
            cycle(FieldId::Target, &p, true).as_deref(),
            Some("ch32v002")
        );
        assert_eq!(cycle(FieldId::Target, &p, false).as_deref(), Some("host"));
        assert_eq!(cycle(FieldId::LayerBits(2), &p, true).as_deref(), Some("8"));
        assert_eq!(cycle(FieldId::LayerBits(0), &p, true).as_deref(), Some("1"));
        assert_eq!(cycle(FieldId::Name, &p, true), None);
    }

    /// Streaming SD's dataset is a choice in the form; picking digits gives the model its
    /// ten classes, and picking dice again leaves the file as the template wrote it.
    #[test]
    fn streaming_sds_dataset_kind_cycles_between_dice_and_digits() {
        let p = crate::templates::default_project("streaming-sd").unwrap();
        assert!(fields(&p).contains(&FieldId::DatasetKind));
        assert!(!fields(&die()).contains(&FieldId::DatasetKind));
        let next = cycle(FieldId::DatasetKind, &p, true).unwrap();
        let q = edit(&p, FieldId::DatasetKind, &next).unwrap();
        assert_eq!(q.data_kind(), DataKind::Digits);
        assert_eq!(crate::templates::spec(&q).classes, 10);
        assert_eq!(edit(&q, FieldId::DatasetKind, "dice").unwrap(), p);
    }
}
