//! The model blob and the C header. The blob (docs/model-format.md) is what every board
//! runs: the firmware embeds it through the header ([`header`]), the simulated board and
//! the Pi runner load it from a file. Both are written from the ModelSpec alone; 4-bit
//! dense weights may be stored prefix-coded ([`code`]).

pub mod code;
pub mod header;

pub use code::{WeightCode, weight_code};
pub use header::header;

use crate::quant::{WeightBits, sigmoid_table};
use crate::spec::{LayerKind, LayerSpec, ModelSpec};
use crate::util::checksum::crc32;

pub const MAGIC: &[u8; 4] = b"TGM1";
pub const HEADER_BYTES: usize = 20;
pub const DESCRIPTOR_BYTES: usize = 16;
pub const MAX_LAYERS: usize = 16;
/// Model flag: the last layer's output indexes the sigmoid table.
pub const FLAG_SIGMOID: u8 = 1;
/// Model flag: the input is unsigned 8-bit.
pub const FLAG_U8_INPUT: u8 = 2;
/// Model flag: some layers are coded; the code table follows the descriptors.
pub const FLAG_CODED: u8 = 4;
/// Layer flags.
pub const LAYER_RELU: u8 = 1;
pub const LAYER_BIAS: u8 = 2;
/// ShiftNorm: the device picks the requantization shift per run.
pub const LAYER_NORM: u8 = 4;
/// The layer's 4-bit weights are a prefix-code stream.
pub const LAYER_CODED: u8 = 8;
/// The decoder looks at this many bits at once: the longest code, and the code table has
/// 2^CODE_PEEK entries.
pub const CODE_PEEK: u32 = 6;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_is_lsb_first_with_rows_padded_to_words() {
        let rows: [&[i8]; 2] = [&[1, -1, 7, -8], &[-2]];
        let b = pack_rows(&rows, WeightBits::Four);
        // Row 0: nibbles 1, f, 7, 8 → 0x8 7 f 1 read from the top.
        assert_eq!(&b[..4], &0x0000_87f1u32.to_le_bytes());
        assert_eq!(&b[4..8], &0x0000_000eu32.to_le_bytes());
        let b = pack_rows(&[&[1, -1, 1][..]], WeightBits::Binary);
        assert_eq!(b, vec![0b101, 0, 0, 0]);
        let b = pack_rows(&[&[-1, 0, 1][..]], WeightBits::Ternary);
        assert_eq!(b, vec![0b01_00_11, 0, 0, 0]);
    }

    /// Golden file: the header (and so every byte of the blob in it) of a seeded die model.
    #[test]
    fn die_header_golden() {
        let mut p = crate::templates::default_project("cvae-die").unwrap();
        // Small widths keep the golden file readable; every layer kind and width is here.
        p.model.layers[0].width = 2;
        p.model.layers[1].width = 2;
        p.model.layers[2].width = 2;
        let m = crate::templates::die::model::Cvae::new(&p, 5, &burn::prelude::Device::flex());
        let spec = m.export_spec(&p).unwrap();
        let b = blob(&spec, "golden").unwrap();
        let arena = crate::engine::Engine::load(&b).unwrap().arena_bytes();
        insta::assert_snapshot!(header(&spec, &b, "golden", u64::from(arena), "ch32v003"));
    }

    /// Golden file: the header of a seeded BitNet classifier (unsigned input, ShiftNorm on
    /// every layer, no biases, mixed weight widths).
    #[test]
    fn classifier_header_golden() {
        let mut p = crate::templates::default_project("bitnet-mnist").unwrap();
        // fc1 (4 wide, ternary) and out (10, 4-bit): keep the first and the last layer.
        p.model.layers.drain(1..3);
        p.model.layers[0].width = 4;
        p.model.layers[0].bits = WeightBits::Ternary;
        let m = crate::templates::mnist::model::BitMlp::new(&p, 5, &burn::prelude::Device::flex());
        let spec = m.export_spec(&p).unwrap();
        let b = blob(&spec, "golden").unwrap();
        assert_eq!(b[13], FLAG_U8_INPUT);
        let arena = crate::engine::Engine::load(&b).unwrap().arena_bytes();
        insta::assert_snapshot!(header(&spec, &b, "golden", u64::from(arena), "ch32v003"));
    }

    /// Decodes `n` weights of a coded stream the way the C engine does.
    fn decode(table: &[u8; 64], stream: &[u8], n: usize) -> Vec<i8> {
        let mut bits = stream
            .iter()
            .flat_map(|b| (0..8).map(move |k| (b >> k) & 1));
        let mut window: Vec<u8> = bits.by_ref().take(6).collect();
        let mut out = Vec::new();
        for _ in 0..n {
            window.resize(6, 0);
            let peek = window
                .iter()
                .rev()
                .fold(0usize, |a, &b| a << 1 | usize::from(b));
            let e = table[peek];
            out.push(((e & 15) << 4) as i8 >> 4);
            let len = usize::from(e >> 4);
            window.drain(..len);
            window.extend(bits.by_ref().take(len));
        }
        out
    }

    #[test]
    fn weight_codes_are_complete_prefix_codes_of_at_most_six_bits() {
        // Skewed counts (a Fibonacci run) would make plain Huffman codes 15 bits long.
        let mut fib = [0u64; 16];
        let (mut a, mut b) = (1u64, 1u64);
        for c in &mut fib {
            *c = a;
            (a, b) = (b, a + b);
        }
        let normal = [
            2862, 2443, 1762, 1083, 607, 321, 164, 137, 330, 129, 231, 325, 643, 1052, 1790, 2505,
        ];
        let mut two = [0u64; 16];
        two[0] = 5;
        two[15] = 9;
        for counts in [fib, normal, two, [1; 16]] {
            let c = WeightCode::new(&counts);
            let kraft: f64 = c
                .lengths
                .iter()
                .filter(|&&l| l > 0)
                .map(|&l| 0.5f64.powi(i32::from(l)))
                .sum();
            assert!((kraft - 1.0).abs() < 1e-12, "complete: {:?}", c.lengths);
            assert!(c.lengths.iter().all(|&l| l <= 6), "{:?}", c.lengths);
            // Commoner values never get longer codes.
            for x in 0..16 {
                for y in 0..16 {
                    if counts[x] > counts[y] && counts[y] > 0 {
                        assert!(c.lengths[x] <= c.lengths[y], "{counts:?} {:?}", c.lengths);
                    }
                }
            }
        }
        // The weight counts of the trained 12k model code to 3.48 bits a weight.
        let c = WeightCode::new(&normal);
        let bits: u64 = (0..16).map(|s| normal[s] * u64::from(c.lengths[s])).sum();
        let n: u64 = normal.iter().sum();
        assert!((bits as f64 / n as f64) < 3.5, "{}", bits as f64 / n as f64);
    }

    #[test]
    fn coded_streams_decode_to_their_weights() {
        let mut rng = crate::util::rng::Rng::new(9);
        let weights: Vec<i8> = (0..999)
            .map(|_| ((rng.unit() - 0.5) * 6.0).round().clamp(-8.0, 7.0) as i8)
            .chain([-8, 7, 0])
            .collect();
        let mut counts = [0u64; 16];
        for &w in &weights {
            counts[(w as u8 & 15) as usize] += 1;
        }
        let c = WeightCode::new(&counts);
        let stream = c.encode(weights.iter().copied());
        assert_eq!(stream.len() % 4, 0);
        assert!(
            stream.len() < weights.len() / 2,
            "smaller than packed nibbles"
        );
        assert_eq!(decode(&c.table(), &stream, weights.len()), weights);
        // One value only: a 1-bit code, and every table entry reads it.
        let c = WeightCode::new(&{
            let mut k = [0u64; 16];
            k[3] = 40;
            k
        });
        let stream = c.encode([3i8; 40]);
        assert_eq!(stream.len(), 8);
        assert_eq!(decode(&c.table(), &stream, 40), vec![3i8; 40]);
        assert!(c.table().iter().all(|&e| e == 0x13));
    }

    /// Golden file: the header of a small classifier with coded weights (the code table
    /// after the descriptors, the coded layer flag, the stream in place of nibbles).
    #[test]
    fn coded_classifier_header_golden() {
        let mut p = crate::templates::default_project("bitnet-mnist").unwrap();
        p.model.layers.drain(1..3);
        p.model.layers[0].width = 3;
        let m = crate::templates::mnist::model::BitMlp::new(&p, 7, &burn::prelude::Device::flex());
        let mut spec = m.export_spec(&p).unwrap();
        assert!(!spec.coded_weights, "too small to pay for the decoder");
        spec.coded_weights = true;
        let b = blob(&spec, "golden").unwrap();
        assert_eq!(b[13], FLAG_U8_INPUT | FLAG_CODED);
        let arena = crate::engine::Engine::load(&b).unwrap().arena_bytes();
        insta::assert_snapshot!(header(&spec, &b, "golden", u64::from(arena), "ch32v003"));
    }
}
