//! The model blob and the C header. The blob (docs/model-format.md) is what every board
//! runs: the firmware embeds it through the header ([`header`]), the simulated board and
//! the Pi runner load it from a file. Both are written from the ModelSpec alone; 4-bit
//! dense weights may be stored prefix-coded ([`code`]).

pub mod blob;
pub mod code;
pub mod format;
pub mod header;

pub use blob::{ExportError, blob, blob_hash, pack_rows};
pub use code::{WeightCode, weight_code};
pub use format::*;
pub use header::header;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::WeightBits;

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
