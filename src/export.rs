//! The model blob and the C header. The blob (docs/model-format.md) is what every board
//! runs: the firmware embeds it through the header, the simulated board and the Pi runner
//! load it from a file. Both are written from the ModelSpec alone.

use crate::model::sigmoid_table;
use crate::project::WeightBits;
use crate::spec::{LayerSpec, ModelSpec};
use crate::template::LayerKind;
use std::fmt::Write as _;
use std::path::PathBuf;

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
    #[error("could not write {path}: {reason}")]
    Write { path: PathBuf, reason: String },
}

/// CRC-32 (IEEE, as zlib); the model hash and the protocol's frame check.
pub fn crc32(bytes: &[u8]) -> u32 {
    crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(bytes)
}

fn kind_code(k: LayerKind) -> u8 {
    match k {
        LayerKind::Dense => 0,
        LayerKind::Conv3x3 => 1,
        LayerKind::Conv3x3Down => 2,
        LayerKind::UpConv3x3 => 3,
    }
}

pub fn bits_code(b: WeightBits) -> u8 {
    match b {
        WeightBits::Binary => 1,
        WeightBits::Two => 2,
        WeightBits::Ternary => 3,
        WeightBits::Four => 4,
        WeightBits::Eight => 8,
    }
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
fn weight_rows(l: &LayerSpec, values: &[i8]) -> Vec<Vec<i8>> {
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

/// A prefix code for 4-bit weights (keyed by their two's-complement nibble), no code
/// longer than `CODE_PEEK` bits: length-limited Huffman (package-merge), canonical.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightCode {
    /// Code length of each nibble; 0 for a value that never occurs.
    pub lengths: [u8; 16],
    /// Each code bit-reversed: the stream is read LSB first, the code's first bit first.
    pub bits: [u32; 16],
}

impl WeightCode {
    /// The code for weights seen `counts[nibble]` times.
    pub fn new(counts: &[u64; 16]) -> WeightCode {
        let used: Vec<usize> = (0..16).filter(|&s| counts[s] > 0).collect();
        let mut lengths = [0u8; 16];
        match used.len() {
            0 => {}
            1 => lengths[used[0]] = 1,
            _ => {
                // Package-merge: CODE_PEEK rounds of pairing the cheapest items; the first
                // 2n-2 items of the last list say how long each code is.
                let leaves: Vec<(u64, Vec<usize>)> = {
                    let mut v: Vec<_> = used.iter().map(|&s| (counts[s], vec![s])).collect();
                    v.sort();
                    v
                };
                let mut list = leaves.clone();
                for _ in 1..CODE_PEEK {
                    let packages = list
                        .chunks_exact(2)
                        .map(|p| (p[0].0 + p[1].0, [p[0].1.clone(), p[1].1.clone()].concat()));
                    let mut next = leaves.clone();
                    next.extend(packages);
                    next.sort();
                    list = next;
                }
                for (_, syms) in &list[..2 * used.len() - 2] {
                    for &s in syms {
                        lengths[s] += 1;
                    }
                }
            }
        }
        // Canonical codes: by length, then by value.
        let mut order: Vec<usize> = (0..16).filter(|&s| lengths[s] > 0).collect();
        order.sort_by_key(|&s| (lengths[s], s));
        let mut bits = [0u32; 16];
        let (mut code, mut len) = (0u32, 0u8);
        for s in order {
            code <<= lengths[s] - len;
            len = lengths[s];
            bits[s] = code.reverse_bits() >> (32 - u32::from(len));
            code += 1;
        }
        WeightCode { lengths, bits }
    }

    /// The decoder's table: for every value of the next `CODE_PEEK` stream bits, the weight
    /// (low nibble) and its code's length (high nibble). Patterns no code starts with
    /// (only when a single value occurs) read as that value's length-1 code.
    pub fn table(&self) -> [u8; 1 << CODE_PEEK] {
        let mut t = [0u8; 1 << CODE_PEEK];
        let fallback = (0..16).find(|&s| self.lengths[s] > 0).unwrap_or(0) as u8;
        for (i, e) in t.iter_mut().enumerate() {
            *e = 0x10 | fallback;
            for s in 0..16 {
                let l = u32::from(self.lengths[s]);
                if l > 0 && (i as u32) & ((1 << l) - 1) == self.bits[s] {
                    *e = (self.lengths[s] << 4) | s as u8;
                }
            }
        }
        t
    }

    /// Codes 4-bit weights into a stream, LSB first, padded to a 32-bit word.
    pub fn encode(&self, values: impl IntoIterator<Item = i8>) -> Vec<u8> {
        let mut out = Vec::new();
        let (mut acc, mut n) = (0u64, 0u32);
        for v in values {
            let s = (v as u8 & 15) as usize;
            acc |= u64::from(self.bits[s]) << n;
            n += u32::from(self.lengths[s]);
            while n >= 8 {
                out.push(acc as u8);
                acc >>= 8;
                n -= 8;
            }
        }
        if n > 0 {
            out.push(acc as u8);
        }
        while out.len() % 4 != 0 {
            out.push(0);
        }
        out
    }
}

/// The code of a spec's coded layers, from their trained weights (None: nothing coded).
pub fn weight_code(spec: &ModelSpec) -> Option<WeightCode> {
    let mut counts = [0u64; 16];
    let mut any = false;
    for (i, l) in spec.layers.iter().enumerate() {
        if let (true, Some(w)) = (spec.codes_layer(i), l.weights.as_ref()) {
            any = true;
            for &v in &w.values {
                counts[(v as u8 & 15) as usize] += 1;
            }
        }
    }
    any.then(|| WeightCode::new(&counts))
}

/// Flash bytes of layer `i`'s weights in the blob: coded with `code` (the model's, from
/// `weight_code`; exact, from the trained weights) or packed.
fn layer_weight_bytes(spec: &ModelSpec, code: Option<&WeightCode>, i: usize) -> u64 {
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
    b.extend_from_slice(&[0, 0]);
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
        d[0] = kind_code(l.kind);
        d[1] = bits_code(l.weight_bits);
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

/// The C header the firmware builds with: the blob as a const array plus per-layer
/// defines for reading and for sizing static buffers.
pub fn header(
    spec: &ModelSpec,
    blob: &[u8],
    project: &str,
    arena_bytes: u64,
    target: &str,
) -> String {
    let hash = blob_hash(blob).unwrap_or(0);
    let mut h = String::new();
    let _ = writeln!(
        h,
        "/* Generated by tinygen {} from '{project}' for {target}. Do not edit. */",
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(
        h,
        "#ifndef TG_MODEL_H\n#define TG_MODEL_H\n\n#include <stdint.h>\n"
    );
    let _ = writeln!(h, "#define TG_MODEL_HASH 0x{hash:08X}u");
    let _ = writeln!(h, "#define TG_MODEL_BYTES {}u", blob.len());
    let _ = writeln!(h, "#define TG_MODEL_LAYERS {}u", spec.layers.len());
    let _ = writeln!(h, "#define TG_ARENA_BYTES {arena_bytes}u");
    let _ = writeln!(
        h,
        "#define TG_INPUT_LEN {}u\n#define TG_LATENT {}u\n#define TG_CLASSES {}u",
        spec.input.elements(),
        if spec.sigmoid_output {
            spec.input.elements().saturating_sub(6)
        } else {
            0
        },
        // A generator's one-hot label; a classifier's scores.
        if spec.sigmoid_output {
            6
        } else {
            spec.layers.last().map_or(0, |l| l.output.elements())
        },
    );
    let last = spec.layers.last().map(|l| l.output);
    if let Some(o) = last {
        let _ = writeln!(
            h,
            "#define TG_OUTPUT_H {}u\n#define TG_OUTPUT_W {}u\n#define TG_OUTPUT_ROW_BYTES {}u",
            o.h,
            o.w,
            o.c * o.w
        );
    }
    let _ = writeln!(h);
    let code = weight_code(spec);
    for (i, l) in spec.layers.iter().enumerate() {
        let bytes = layer_weight_bytes(spec, code.as_ref(), i);
        let _ = writeln!(
            h,
            "/* layer {i} '{}': {:?} {} -> {}, {} weights at {} bits ({} bytes{}), shift {} */",
            l.name,
            l.kind,
            l.input,
            l.output,
            l.weight_count(),
            l.weight_bits,
            bytes,
            if spec.codes_layer(i) { ", coded" } else { "" },
            blob.get(HEADER_BYTES + i * DESCRIPTOR_BYTES + 3)
                .map_or(0, |&b| b as i8)
        );
        let _ = writeln!(
            h,
            "#define TG_L{i}_OUT_C {}u\n#define TG_L{i}_OUT_H {}u\n#define TG_L{i}_OUT_W {}u\n\
             #define TG_L{i}_BITS {}u\n#define TG_L{i}_WEIGHT_BYTES {}u",
            l.output.c,
            l.output.h,
            l.output.w,
            l.weight_bits.storage_bits(),
            bytes
        );
    }
    let _ = writeln!(
        h,
        "\nstatic const uint8_t tg_model_blob[TG_MODEL_BYTES] __attribute__((aligned(4))) = {{"
    );
    for chunk in blob.chunks(16) {
        let line: Vec<String> = chunk.iter().map(|v| format!("0x{v:02x}")).collect();
        let _ = writeln!(h, "    {},", line.join(", "));
    }
    let _ = writeln!(h, "}};\n\n#endif");
    h
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
        use crate::project::Project;
        let mut p = Project::from_template(crate::template::find("cvae-die").unwrap());
        // Small widths keep the golden file readable; every layer kind and width is here.
        p.model.layers[0].width = 2;
        p.model.layers[1].width = 2;
        p.model.layers[2].width = 2;
        let m = crate::model::cvae::Cvae::new(&p, 5, &burn::prelude::Device::flex());
        let spec = m.export_spec(&p).unwrap();
        let b = blob(&spec, "golden").unwrap();
        let arena = crate::engine::Engine::load(&b).unwrap().arena_bytes();
        insta::assert_snapshot!(header(&spec, &b, "golden", u64::from(arena), "ch32v003"));
    }

    /// Golden file: the header of a seeded BitNet classifier (unsigned input, ShiftNorm on
    /// every layer, no biases, mixed weight widths).
    #[test]
    fn classifier_header_golden() {
        use crate::project::{Project, WeightBits};
        let mut p = Project::from_template(crate::template::find("bitnet-mnist").unwrap());
        // fc1 (4 wide, ternary) and out (10, 4-bit): keep the first and the last layer.
        p.model.layers.drain(1..3);
        p.model.layers[0].width = 4;
        p.model.layers[0].bits = WeightBits::Ternary;
        let m = crate::model::bitnet::BitMlp::new(&p, 5, &burn::prelude::Device::flex());
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
        let mut rng = crate::data::Rng::new(9);
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
        use crate::project::Project;
        let mut p = Project::from_template(crate::template::find("bitnet-mnist").unwrap());
        p.model.layers.drain(1..3);
        p.model.layers[0].width = 3;
        let m = crate::model::bitnet::BitMlp::new(&p, 7, &burn::prelude::Device::flex());
        let mut spec = m.export_spec(&p).unwrap();
        assert!(!spec.coded_weights, "too small to pay for the decoder");
        spec.coded_weights = true;
        let b = blob(&spec, "golden").unwrap();
        assert_eq!(b[13], FLAG_U8_INPUT | FLAG_CODED);
        let arena = crate::engine::Engine::load(&b).unwrap().arena_bytes();
        insta::assert_snapshot!(header(&spec, &b, "golden", u64::from(arena), "ch32v003"));
    }

    #[test]
    fn crc_is_the_zlib_one() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }
}
