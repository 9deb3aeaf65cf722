//! Writing the model blob of a trained spec: header, descriptors, tables, then each
//! layer's packed (or coded) weights and biases.

use super::code::{WeightCode, weight_code};
use super::format::*;
use crate::quant::{WeightBits, sigmoid_table};
use crate::spec::{LayerKind, LayerSpec, ModelSpec};
use crate::util::checksum::crc32;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("the model has no trained weights yet; run 'tinygen train {project}' first")]
    Untrained { project: String },
    #[error("layer '{layer}': {what} is {value}, more than the model format holds ({max})")]
    TooLarge {
        layer: String,
        what: &'static str,
        value: u64,
        max: u64,
    },
    #[error("the model has {0} layers; the engine runs at most {MAX_LAYERS}")]
    TooManyLayers(usize),
    #[error("the model has {0} classes; the model format holds at most 255")]
    TooManyClasses(u32),
    #[error(
        "the diffusion model's latent statistics are missing (a checkpoint from before they \
         were kept); train it again with 'tinygen train --fresh {project}'"
    )]
    NoLatentStats { project: String },
}

/// Packs rows of integer weights LSB-first, `bits` per weight, each row padded to 32 bits.
/// Binary weights store +1 as 1 and -1 as 0; the others are two's complement.
pub fn pack_rows(rows: &[&[i8]], bits: WeightBits) -> Vec<u8> {
    let b = bits.storage_bits() as usize;
    let mut out = Vec::new();
    for row in rows {
        let mut words = vec![0u32; (row.len() * b).div_ceil(32)];
        for (k, &v) in row.iter().enumerate() {
            let code = if bits == WeightBits::Binary {
                u32::from(v > 0)
            } else {
                (v as u32) & ((1u32 << b) - 1)
            };
            let bit = k * b;
            words[bit / 32] |= code << (bit % 32);
        }
        out.extend(words.iter().flat_map(|w| w.to_le_bytes()));
    }
    out
}

/// The weight rows as the engine reads them: a dense layer is one input-major row (all
/// outputs of input 0, then of input 1, ...), a convolution one row per output channel.
pub(crate) fn weight_rows(l: &LayerSpec, values: &[i8]) -> Vec<Vec<i8>> {
    let (rows, len) = (l.rows() as usize, l.row_len() as usize);
    match l.kind {
        LayerKind::Dense => vec![
            (0..len)
                .flat_map(|i| (0..rows).map(move |o| values[o * len + i]))
                .collect(),
        ],
        _ => values.chunks(len).map(<[i8]>::to_vec).collect(),
    }
}

/// Flash bytes of layer `i`'s weights in the blob: coded with `code` (the model's, from
/// `weight_code`; exact, from the trained weights) or packed.
pub(crate) fn layer_weight_bytes(spec: &ModelSpec, code: Option<&WeightCode>, i: usize) -> u64 {
    let l = &spec.layers[i];
    match (code, l.weights.as_ref()) {
        (Some(c), Some(w)) if spec.codes_layer(i) => {
            let rows = weight_rows(l, &w.values);
            c.encode(rows.into_iter().flatten()).len() as u64
        }
        _ => l.weight_bytes(),
    }
}

fn check(layer: &str, what: &'static str, value: u64, max: u64) -> Result<(), ExportError> {
    if value > max {
        return Err(ExportError::TooLarge {
            layer: layer.to_string(),
            what,
            value,
            max,
        });
    }
    Ok(())
}

/// The model blob of a trained spec.
pub fn blob(spec: &ModelSpec, project: &str) -> Result<Vec<u8>, ExportError> {
    let n = spec.layers.len();
    if n == 0 || n > MAX_LAYERS {
        return Err(ExportError::TooManyLayers(n));
    }
    let mut b = Vec::new();
    b.extend_from_slice(MAGIC);
    b.extend_from_slice(&[0; 8]); // length and hash, filled in at the end
    b.push(n as u8);
    let mut model_flags = 0;
    if spec.sigmoid_output {
        model_flags |= FLAG_SIGMOID;
    }
    if spec.u8_input {
        model_flags |= FLAG_U8_INPUT;
    }
    let code = weight_code(spec);
    if code.is_some() {
        model_flags |= FLAG_CODED;
    }
    b.push(model_flags);
    // What kind of model this is, and its classes (a generator's labels, a classifier's
    // scores): the firmware takes its label range and input layout from these.
    let classes =
        u8::try_from(spec.classes).map_err(|_| ExportError::TooManyClasses(spec.classes))?;
    b.extend_from_slice(&[spec.kind.code(), classes]);
    check("input", "channel count", u64::from(spec.input.c), 0xffff)?;
    check("input", "height", u64::from(spec.input.h), 255)?;
    check("input", "width", u64::from(spec.input.w), 255)?;
    b.extend_from_slice(&(spec.input.c as u16).to_le_bytes());
    b.push(spec.input.h as u8);
    b.push(spec.input.w as u8);
    let descriptors = b.len();
    b.resize(descriptors + n * DESCRIPTOR_BYTES, 0);
    if spec.sigmoid_output {
        b.extend_from_slice(&sigmoid_table());
    }
    if let Some(c) = &code {
        b.extend_from_slice(&c.table());
    }
    if let Some((steps, unet)) = spec.repeat {
        let latent = spec
            .layers
            .get(unet.wrapping_sub(1))
            .map_or(0, |l| l.output.c);
        // At least one decoder layer follows the denoiser's.
        check("denoiser", "layer count", unet as u64, n as u64 - 1)?;
        check("denoiser", "step count", steps.into(), 255)?;
        check("denoiser", "latent channels", latent.into(), 255)?;
        let (to, from) = spec.skip.map_or((255, 255), |(t, f)| (t as u8, f as u8));
        let mut block = [0u8; DIFFUSION_BLOCK_BYTES];
        let (scale, above) = spec.guidance;
        block[..7].copy_from_slice(&[
            unet as u8,
            steps as u8,
            to,
            from,
            latent as u8,
            scale,
            above,
        ]);
        b.extend_from_slice(&block);
        // Then each latent channel's deviation (1/4096) and mean (1/512), int32.
        if spec.latent_denorm.len() != latent as usize {
            return Err(ExportError::NoLatentStats {
                project: project.to_string(),
            });
        }
        for (dev, mean) in &spec.latent_denorm {
            b.extend_from_slice(&dev.to_le_bytes());
            b.extend_from_slice(&mean.to_le_bytes());
        }
    }
    for (i, l) in spec.layers.iter().enumerate() {
        let untrained = || ExportError::Untrained {
            project: project.to_string(),
        };
        let w = l.weights.as_ref().ok_or_else(untrained)?;
        let shift = spec.shift(i).ok_or_else(untrained)?;
        check(
            &l.name,
            "requantization shift",
            shift.unsigned_abs().into(),
            16,
        )?;
        check(&l.name, "channel count", u64::from(l.output.c), 0xffff)?;
        check(&l.name, "height", u64::from(l.output.h), 255)?;
        check(&l.name, "width", u64::from(l.output.w), 255)?;
        while b.len() % 4 != 0 {
            b.push(0);
        }
        let w_off = b.len() as u32;
        let rows = weight_rows(l, &w.values);
        let coded = code.as_ref().filter(|_| spec.codes_layer(i));
        match coded {
            Some(c) => b.extend(c.encode(rows.into_iter().flatten())),
            None => {
                let refs: Vec<&[i8]> = rows.iter().map(Vec::as_slice).collect();
                b.extend(pack_rows(&refs, l.weight_bits));
            }
        }
        let b_off = if l.bias {
            let off = b.len() as u32;
            b.extend(w.bias.iter().flat_map(|v| v.to_le_bytes()));
            off
        } else {
            0
        };
        let mut flags = 0;
        if spec.relu(i) {
            flags |= LAYER_RELU;
        }
        if l.bias {
            flags |= LAYER_BIAS;
        }
        if spec.shift_norm {
            flags |= LAYER_NORM;
        }
        if coded.is_some() {
            flags |= LAYER_CODED;
        }
        let d = &mut b[descriptors + i * DESCRIPTOR_BYTES..][..DESCRIPTOR_BYTES];
        d[0] = l.kind.blob_code();
        d[1] = l.weight_bits.blob_code();
        d[2] = flags;
        d[3] = shift as i8 as u8;
        d[4..6].copy_from_slice(&(l.output.c as u16).to_le_bytes());
        d[6] = l.output.h as u8;
        d[7] = l.output.w as u8;
        d[8..12].copy_from_slice(&w_off.to_le_bytes());
        d[12..16].copy_from_slice(&b_off.to_le_bytes());
    }
    while b.len() % 4 != 0 {
        b.push(0);
    }
    let len = b.len() as u32;
    b[4..8].copy_from_slice(&len.to_le_bytes());
    let hash = crc32(&b[12..]);
    b[8..12].copy_from_slice(&hash.to_le_bytes());
    Ok(b)
}

/// The hash a blob carries (CRC-32 of everything after the hash field).
pub fn blob_hash(blob: &[u8]) -> Option<u32> {
    (blob.len() >= HEADER_BYTES && &blob[..4] == MAGIC)
        .then(|| u32::from_le_bytes(blob[8..12].try_into().expect("4 bytes")))
}
