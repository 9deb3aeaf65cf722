//! The pip classifier that scores generated dice, as the anchor project did: a small float
//! CNN trained separately from the CVAE, on renders from its own seed. It ships as an asset
//! (`assets/pip-classifier.bpk`); `tinygen classifier train` reproduces it.

use crate::data::die::{self, PIPS as CLASSES};
use crate::nn::{grey_images, seeded_conv_down, uniform_param};
use crate::util::rng::Rng;
use burn::module::{Module, Param};
use burn::nn::conv::Conv2d;
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::store::ModuleRecord;
use burn::tensor::TensorData;
use burn::tensor::activation::{log_softmax, relu};

/// The dataset seed the shipped classifier was trained on; the CVAE's data uses others.
pub const TRAIN_SEED: u64 = 0xC1A5_5EED;
pub const TRAIN_SIZE: usize = 24_000;
pub const EPOCHS: u32 = 6;
const ASSET: &[u8] = include_bytes!("../../assets/pip-classifier.bpk");

#[derive(Module, Debug)]
pub struct PipClassifier {
    pub convs: Vec<Conv2d>,
    pub fc: Linear,
}

impl PipClassifier {
    pub fn new(seed: u64, device: &Device) -> PipClassifier {
        let mut rng = Rng::new(seed);
        let mut convs = Vec::new();
        let mut ch = 1;
        for w in [8usize, 16, 32] {
            convs.push(seeded_conv_down(ch, w, &mut rng, device));
            ch = w;
        }
        let mut fc = LinearConfig::new(32 * 4 * 4, CLASSES).init(device);
        fc.weight = uniform_param([512, CLASSES], (1.0f32 / 512.0).sqrt(), &mut rng, device);
        fc.bias = Some(Param::from_tensor(Tensor::zeros([CLASSES], device)));
        PipClassifier { convs, fc }
    }

    /// `[b, 1, 32, 32]` in `[0, 1]` → logits `[b, 6]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let mut x = x;
        for c in &self.convs {
            x = relu(c.forward(x)); // [b, 8, 16, 16] → [b, 16, 8, 8] → [b, 32, 4, 4]
        }
        self.fc.forward(x.flatten::<2>(1, 3)) // [b, 6]
    }

    /// The last convolution's 32 channels, each averaged over its 4x4 map: the features
    /// a Fréchet distance between sets of dice is measured in.
    pub fn features(&self, images: &[&[u8]], device: &Device) -> Vec<Vec<f64>> {
        let mut out = Vec::with_capacity(images.len());
        for chunk in images.chunks(256) {
            let mut x = grey_images(chunk, die::SIZE, device);
            for c in &self.convs {
                x = relu(c.forward(x));
            }
            let [n, k, _, _] = x.dims();
            let pooled = crate::nn::values(&x.mean_dim(3).mean_dim(2).reshape([n, k]));
            out.extend(
                pooled
                    .chunks(k)
                    .map(|r| r.iter().map(|&v| f64::from(v)).collect()),
            );
        }
        out
    }

    /// Pip counts (1..=6) for 32x32 images.
    pub fn classify(&self, images: &[&[u8]], device: &Device) -> Vec<u8> {
        let mut out = Vec::with_capacity(images.len());
        for chunk in images.chunks(256) {
            let logits = self.forward(grey_images(chunk, die::SIZE, device));
            // The index dtype varies by backend: convert, never guess.
            let ids = logits
                .argmax(1)
                .to_data()
                .try_to_vec_as::<i64>()
                .expect("argmax indices convert to i64");
            out.extend(ids.into_iter().map(|i| i as u8 + 1));
        }
        out
    }

    /// The shipped classifier.
    pub fn shipped(device: &Device) -> Result<PipClassifier, AssetError> {
        if ASSET.is_empty() {
            return Err(AssetError::Missing);
        }
        let record = ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(ASSET.to_vec()))
            .map_err(|e| AssetError::Damaged(e.to_string()))?;
        PipClassifier::new(0, device)
            .try_load_record(record)
            .map_err(|e| AssetError::Damaged(e.to_string()))
    }
}

/// The shipped classifier could not be used.
#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    #[error(
        "the pip classifier asset (assets/pip-classifier.bpk) is missing; rebuild it with \
         'tinygen classifier train --out assets/pip-classifier.bpk'"
    )]
    Missing,
    #[error(
        "the pip classifier asset (assets/pip-classifier.bpk) is damaged ({0}); rebuild it \
         with 'tinygen classifier train --out assets/pip-classifier.bpk'"
    )]
    Damaged(String),
}

/// Trains the classifier from scratch on `device` (the autodiff wrapper is added here);
/// `progress(epoch, loss)` after each epoch.
pub fn train(device: &Device, mut progress: impl FnMut(u32, f32)) -> PipClassifier {
    let device = device.clone().autodiff();
    let data = die::dataset(TRAIN_SEED, TRAIN_SIZE);
    let mut model = PipClassifier::new(TRAIN_SEED, &device);
    let mut optim = AdamConfig::new().init();
    let batch = 64;
    for epoch in 1..=EPOCHS {
        let mut rng = Rng::for_item(TRAIN_SEED, u64::from(epoch));
        let order = rng.permutation(data.len());
        let mut total = 0f32;
        for idx in order.chunks(batch) {
            let px: Vec<&[u8]> = idx.iter().map(|&i| data[i].pixels.as_slice()).collect();
            let mut target = vec![0f32; idx.len() * CLASSES];
            for (k, &i) in idx.iter().enumerate() {
                target[k * CLASSES + data[i].pips as usize - 1] = 1.0;
            }
            let target =
                Tensor::<2>::from_data(TensorData::new(target, [idx.len(), CLASSES]), &device);
            let logits = model.forward(grey_images(&px, die::SIZE, &device));
            let loss = (log_softmax(logits, 1) * target)
                .sum()
                .mul_scalar(-1.0 / idx.len() as f32);
            total += loss.clone().into_scalar::<f32>() * idx.len() as f32;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(2e-3, model, grads);
        }
        progress(epoch, total / data.len() as f32);
    }
    model.valid()
}

/// The share of `n` fresh renders (dataset `seed`) the classifier reads right.
pub fn accuracy_on_fresh(model: &PipClassifier, seed: u64, n: usize, device: &Device) -> f64 {
    let fresh = die::dataset(seed, n);
    let refs: Vec<&[u8]> = fresh.iter().map(|s| s.pixels.as_slice()).collect();
    let got = model.classify(&refs, device);
    let right = fresh
        .iter()
        .zip(&got)
        .filter(|(s, g)| s.pips == **g)
        .count();
    right as f64 / n.max(1) as f64
}

/// Why a classifier could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("cannot encode the classifier's weights: {0}")]
    Encode(String),
    #[error("cannot write '{}'", path.display())]
    Write {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// Saves a classifier as a burnpack file (the asset's format).
pub fn save(model: &PipClassifier, path: &std::path::Path) -> Result<(), SaveError> {
    let bytes = model
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| SaveError::Encode(e.to_string()))?;
    crate::util::fsutil::write_atomic(path, &bytes).map_err(|source| SaveError::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped classifier reads fresh renders, from seeds it never saw, almost perfectly.
    #[test]
    fn shipped_classifier_is_at_least_99_5_percent_on_fresh_renders() {
        let device = Device::flex();
        let model = PipClassifier::shipped(&device).expect("the shipped classifier loads");
        let acc = accuracy_on_fresh(&model, 0xF8E5_4000, 1200, &device);
        assert!(acc >= 0.995, "{:.2}% right", acc * 100.0);
    }
}
