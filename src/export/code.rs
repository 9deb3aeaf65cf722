//! Coded 4-bit weights: one length-limited prefix code per model (package-merge, at most
//! `CODE_PEEK` bits, canonical), decoded on the device by one table lookup per weight.

use super::format::CODE_PEEK;
use crate::spec::ModelSpec;

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
