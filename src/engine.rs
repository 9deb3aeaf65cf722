//! The device engine on the host: the C engine of `firmware-stub/engine`, compiled into
//! tinygen by `build.rs`, behind a safe wrapper. Previews, evaluation and the simulated
//! board all run this same code.

pub mod diffusion;

use std::ffi::c_void;

#[repr(C)]
struct RawModel {
    blob: *const u8,
    len: u32,
    hash: u32,
    n_layers: u8,
    flags: u8,
    kind: u8,
    classes: u8,
    chain: u8,
    in_c: u16,
    in_h: u8,
    in_w: u8,
    arena_bytes: u32,
    /// Bytes of the blob in memory (hosted builds: TG_DIFFUSION).
    resident: u32,
}

type EmitFn = extern "C" fn(ctx: *mut c_void, row: u16, data: *const u8, len: u16);

unsafe extern "C" {
    fn tg_crc32(crc: u32, p: *const u8, n: u32) -> u32;
    fn tg_model_open(m: *mut RawModel, blob: *const u8, len: u32) -> i32;
    fn tg_run(
        m: *const RawModel,
        input: *const i8,
        arena: *mut u8,
        arena_len: u32,
        emit: EmitFn,
        ctx: *mut c_void,
    ) -> i32;
    fn tg_argmax(m: *const RawModel, arena: *const u8) -> u16;
    fn tg_latent(
        seed: u32,
        index: u16,
        temperature: u8,
        label: u8,
        latent: u8,
        classes: u8,
        input: *mut i8,
    );
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EngineError {
    #[error("not a tinygen model (bad magic); export one with 'tinygen export PROJECT'")]
    Magic,
    #[error("the model file is cut short; export it again")]
    Length,
    #[error("the model file is damaged (its hash does not match); export it again")]
    Hash,
    #[error("the model's layer shapes do not chain; export it again with this tinygen")]
    Shape,
    #[error("the model needs a larger arena than the engine was given")]
    Arena,
    #[error("the model uses a layer kind or weight width this engine cannot run")]
    Unsupported,
    #[error("the input has {found} values; the model takes {expected}")]
    Input { expected: usize, found: usize },
    #[error("the engine failed with code {0}")]
    Other(i32),
}

fn status(code: i32) -> Result<(), EngineError> {
    match code {
        0 => Ok(()),
        -1 => Err(EngineError::Magic),
        -2 => Err(EngineError::Length),
        -3 => Err(EngineError::Hash),
        -4 => Err(EngineError::Shape),
        -5 => Err(EngineError::Arena),
        -6 => Err(EngineError::Unsupported),
        c => Err(EngineError::Other(c)),
    }
}

/// A loaded model blob, ready to run.
pub struct Engine {
    /// The blob, copied into words so the engine's 32-bit reads are aligned.
    words: Vec<u32>,
    raw: RawModel,
    arena: Vec<u8>,
}

// The raw model only points into `words`, which the engine owns and never shares.
unsafe impl Send for Engine {}

extern "C" fn collect_rows(ctx: *mut c_void, _row: u16, data: *const u8, len: u16) {
    // SAFETY: `ctx` is the `Vec<u8>` passed to `tg_run` below, alive for the call, and
    // the engine hands over `len` readable bytes.
    let out = unsafe { &mut *(ctx as *mut Vec<u8>) };
    let row = unsafe { std::slice::from_raw_parts(data, usize::from(len)) };
    out.extend_from_slice(row);
}

impl Engine {
    pub fn load(blob: &[u8]) -> Result<Engine, EngineError> {
        let words = aligned_words(blob);
        let mut raw = RawModel {
            blob: std::ptr::null(),
            len: 0,
            hash: 0,
            n_layers: 0,
            flags: 0,
            kind: 0,
            classes: 0,
            chain: 0,
            in_c: 0,
            in_h: 0,
            in_w: 0,
            arena_bytes: 0,
            resident: 0,
        };
        let len = u32::try_from(blob.len()).map_err(|_| EngineError::Length)?;
        // SAFETY: `words` holds `len` bytes and outlives `raw` (both live in `Engine`).
        status(unsafe { tg_model_open(&mut raw, words.as_ptr().cast(), len) })?;
        let arena = vec![0u8; raw.arena_bytes as usize];
        Ok(Engine { words, raw, arena })
    }

    /// The model hash (CRC-32 of the blob after its hash field).
    pub fn hash(&self) -> u32 {
        self.raw.hash
    }

    /// Bytes of activation memory one run needs.
    pub fn arena_bytes(&self) -> u32 {
        self.raw.arena_bytes
    }

    pub fn input_len(&self) -> usize {
        usize::from(self.raw.in_c) * usize::from(self.raw.in_h) * usize::from(self.raw.in_w)
    }

    /// What the model does, as its blob says (a blob from before the kind was stored is
    /// read as the die generator or a classifier, by the engine).
    pub fn kind(&self) -> Option<crate::spec::ModelKind> {
        crate::spec::ModelKind::from_code(self.raw.kind)
    }

    /// A generator's labels (the one-hot ending its input); a classifier's scores.
    pub fn classes(&self) -> usize {
        usize::from(self.raw.classes)
    }

    /// One run: the output rows, concatenated (an image, or a classifier's scores).
    pub fn run(&mut self, input: &[i8]) -> Result<Vec<u8>, EngineError> {
        if input.len() != self.input_len() {
            return Err(EngineError::Input {
                expected: self.input_len(),
                found: input.len(),
            });
        }
        let mut out: Vec<u8> = Vec::new();
        let _ = &self.words;
        // SAFETY: the model was opened on `words`, the arena is as large as it asked for,
        // the input has the model's length, and `out` outlives the call.
        status(unsafe {
            tg_run(
                &self.raw,
                input.as_ptr(),
                self.arena.as_mut_ptr(),
                self.arena.len() as u32,
                collect_rows,
                (&mut out as *mut Vec<u8>).cast(),
            )
        })?;
        Ok(out)
    }
}

impl Engine {
    /// One run of a classifier: the class (the first largest accumulator of the last
    /// layer, as the board answers) and the 8-bit scores.
    pub fn classify(&mut self, input: &[u8]) -> Result<(u8, Vec<i8>), EngineError> {
        let signed: Vec<i8> = input.iter().map(|&v| v as i8).collect();
        let scores = self.run(&signed)?;
        if self.kind() != Some(crate::spec::ModelKind::Classifier) {
            return Err(EngineError::Unsupported);
        }
        // SAFETY: the run above left the last layer's accumulators at the arena's start.
        let class = unsafe { tg_argmax(&self.raw, self.arena.as_ptr()) };
        Ok((class as u8, scores.into_iter().map(|v| v as i8).collect()))
    }
}

/// A blob copied into 32-bit words (little-endian), so the C side's word reads are
/// aligned whatever the source buffer was.
pub fn aligned_words(blob: &[u8]) -> Vec<u32> {
    blob.chunks(4)
        .map(|c| {
            let mut b = [0u8; 4];
            b[..c.len()].copy_from_slice(c);
            u32::from_le_bytes(b)
        })
        .collect()
}

/// A sampling temperature as the board takes it: in 1/64, 0 to 255.
pub fn temperature_steps(t: f32) -> u8 {
    (t * 64.0).round().clamp(0.0, 255.0) as u8
}

/// The generator input a board makes for `(seed, index)`: latent draws at
/// `temperature / 64`, then the one-hot label.
pub fn latent_input(
    seed: u32,
    index: u16,
    temperature: u8,
    label: u8,
    latent: u8,
    classes: u8,
) -> Vec<i8> {
    let mut v = vec![0i8; usize::from(latent) + usize::from(classes)];
    // SAFETY: `v` has room for `latent + classes` values, all the function writes.
    unsafe {
        tg_latent(
            seed,
            index,
            temperature,
            label,
            latent,
            classes,
            v.as_mut_ptr(),
        )
    };
    v
}

/// The C side's CRC-32, for checking it against the Rust one.
pub fn crc32_c(bytes: &[u8]) -> u32 {
    // SAFETY: reads exactly `bytes.len()` bytes.
    unsafe { tg_crc32(0, bytes.as_ptr(), bytes.len() as u32) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::int::{self, IntOutput};
    use crate::project::Project;
    use crate::quant::WeightBits;
    use crate::templates::die::model::Cvae;
    use crate::templates::{default_project, mnist::model::BitMlp};
    use burn::prelude::Device;

    fn die_spec(bits: Option<WeightBits>, seed: u64) -> crate::spec::ModelSpec {
        let mut p: Project = default_project("cvae-die").unwrap();
        if let Some(b) = bits {
            for l in &mut p.model.layers {
                l.bits = b;
            }
        }
        let m = Cvae::new(&p, seed, &Device::flex());
        m.export_spec(&p).unwrap()
    }

    /// Issue #19, item 8 (found by firmware-stub/tests/test_blob.c under ASan): a blob that
    /// said "classifier" but ended in a convolution opened, and a CLASSIFY then read its
    /// scores 4 KB past the arena.
    #[test]
    fn a_classifier_that_ends_in_a_convolution_is_refused() {
        let good = crate::templates::die::DEFAULT_BLOB.to_vec();
        assert!(Engine::load(&good).is_ok());
        let mut bad = good.clone();
        bad[14] = 2; // the kind: classifier
        let crc = crate::util::checksum::crc32(&bad[12..]);
        bad[8..12].copy_from_slice(&crc.to_le_bytes());
        assert!(
            matches!(Engine::load(&bad), Err(EngineError::Shape)),
            "a damaged classifier blob opened"
        );
    }

    /// Issue #19, item 8 (found in review): a classifier whose last dense layer has more
    /// than 32 outputs, without ShiftNorm, keeps only the last 32 accumulators, and
    /// CLASSIFY read the scores past them.
    #[test]
    fn a_classifier_with_more_scores_than_accumulators_is_refused() {
        let mut p = default_project("bitnet-mnist").unwrap();
        let blob = |p: &Project| {
            let mut spec = BitMlp::new(p, 5, &Device::flex()).export_spec(p).unwrap();
            spec.shift_norm = false;
            spec.coded_weights = false;
            crate::export::blob(&spec, "test").unwrap()
        };
        assert!(Engine::load(&blob(&p)).is_ok(), "10 scores fit");
        p.model.layers.last_mut().unwrap().width = 40;
        assert!(matches!(Engine::load(&blob(&p)), Err(EngineError::Shape)));
    }

    #[test]
    fn crc_agrees_with_rust() {
        for data in [&b""[..], b"123456789", &[0u8; 300], &[0xff; 7]] {
            assert_eq!(crc32_c(data), crate::util::checksum::crc32(data));
        }
    }

    #[test]
    fn latent_draws_are_deterministic_and_roughly_standard() {
        let a = latent_input(7, 3, 64, 2, 4, 6);
        assert_eq!(a, latent_input(7, 3, 64, 2, 4, 6));
        assert_eq!(&a[4..], &[0, 32, 0, 0, 0, 0]);
        let zs: Vec<f64> = (0..2000)
            .flat_map(|i| latent_input(1, i, 64, 1, 4, 6)[..4].to_vec())
            .map(|v| f64::from(v) / 32.0)
            .collect();
        let mean = zs.iter().sum::<f64>() / zs.len() as f64;
        let var = zs.iter().map(|z| (z - mean).powi(2)).sum::<f64>() / zs.len() as f64;
        assert!(mean.abs() < 0.05, "mean {mean}");
        assert!((var.sqrt() - 1.0).abs() < 0.05, "sd {}", var.sqrt());
        let cold = latent_input(1, 0, 0, 1, 4, 6);
        assert_eq!(&cold[..4], &[0, 0, 0, 0], "temperature 0 gives the mean");
    }

    /// The C engine and the burn integer model give identical bytes (issue #5, item 3).
    #[test]
    fn c_engine_is_bit_exact_with_the_burn_integer_model() {
        let device = Device::flex();
        for (bits, seed, coded) in [
            (None, 1, false),
            // The 4-bit dense layer coded, feeding the convolution chain.
            (None, 6, true),
            (Some(WeightBits::Binary), 2, false),
            (Some(WeightBits::Ternary), 3, false),
            (Some(WeightBits::Two), 4, false),
            (Some(WeightBits::Eight), 5, false),
        ] {
            let mut spec = if coded {
                // Coding applies to 4-bit layers: the template's fc is 8-bit.
                let mut p: Project = default_project("cvae-die").unwrap();
                p.model.layers[0].bits = WeightBits::Four;
                Cvae::new(&p, seed, &Device::flex())
                    .export_spec(&p)
                    .unwrap()
            } else {
                die_spec(bits, seed)
            };
            spec.coded_weights = coded;
            let blob = crate::export::blob(&spec, "test").unwrap();
            assert_eq!(blob[13] & crate::export::FLAG_CODED != 0, coded);
            let mut engine = Engine::load(&blob).unwrap();
            let latent = spec.input.elements() as u8 - 6;
            let inputs: Vec<Vec<i8>> = (0..12u16)
                .map(|i| latent_input(99, i, 64 + i as u8 * 8, (i % 6) as u8 + 1, latent, 6))
                .collect();
            let want = int::forward(&spec, &inputs, &device).unwrap();
            let mut distinct = std::collections::BTreeSet::new();
            for (x, w) in inputs.iter().zip(want) {
                let got = engine.run(x).unwrap();
                let IntOutput::Image(w) = w else {
                    panic!("an image model")
                };
                assert_eq!(got, w, "{bits:?}: input {x:?}");
                distinct.extend(got);
            }
            // A test on saturated outputs would prove little.
            assert!(
                distinct.len() > 20,
                "{bits:?}: only {} grey levels",
                distinct.len()
            );
        }
    }

    /// BitNet classifiers (ShiftNorm, unsigned pixels, every bit width, widths that do and
    /// do not fill whole words) answer the same class and scores in C as in burn.
    #[test]
    fn c_engine_classifies_exactly_like_the_burn_integer_model() {
        let device = Device::flex();
        let mut rng = crate::util::rng::Rng::new(5);
        let inputs: Vec<Vec<i8>> = (0..40)
            .map(|_| {
                (0..256)
                    .map(|_| {
                        let v = rng.unit();
                        if v < 0.6 {
                            0
                        } else {
                            (rng.unit() * 255.0) as u8 as i8
                        }
                    })
                    .collect()
            })
            .collect();
        for (bits, width, seed) in [
            (WeightBits::Four, 64, 1),
            (WeightBits::Four, 60, 2),
            (WeightBits::Binary, 64, 3),
            (WeightBits::Ternary, 48, 4),
            (WeightBits::Two, 32, 5),
            (WeightBits::Eight, 24, 6),
        ] {
            let mut p = default_project("bitnet-mnist").unwrap();
            for l in p.model.layers.iter_mut().take(3) {
                l.bits = bits;
                l.width = width;
            }
            let mut spec = BitMlp::new(&p, seed, &device).export_spec(&p).unwrap();
            let want = int::forward(&spec, &inputs, &device).unwrap();
            // Packed, and coded (every 4-bit layer, beside the others' packed weights).
            for coded in [false, true] {
                spec.coded_weights = coded;
                let blob = crate::export::blob(&spec, "test").unwrap();
                let mut engine = Engine::load(&blob).unwrap();
                let mut classes = std::collections::BTreeSet::new();
                for (x, w) in inputs.iter().zip(&want) {
                    let bytes: Vec<u8> = x.iter().map(|&v| v as u8).collect();
                    let got = engine.classify(&bytes).unwrap();
                    let IntOutput::Class { class, scores } = w else {
                        panic!("a classifier")
                    };
                    assert_eq!(
                        got,
                        (*class, scores.clone()),
                        "{bits:?} width {width} {coded}"
                    );
                    classes.insert(got.0);
                }
                assert!(classes.len() > 1, "{bits:?}: every input the same class");
            }
        }
    }

    /// Re-seals a blob edited in place (its hash covers bytes 12..).
    fn reseal(b: &mut [u8]) {
        let h = crate::util::checksum::crc32(&b[12..]);
        b[8..12].copy_from_slice(&h.to_le_bytes());
    }

    /// A coded blob from outside is checked: its code table, its layers (dense 4-bit
    /// only), and a stream cut short reads no further than the blob.
    #[test]
    fn damaged_coded_blobs_are_refused_or_read_safely() {
        use crate::export::{DESCRIPTOR_BYTES, HEADER_BYTES};
        let p = default_project("bitnet-mnist").unwrap();
        let spec = BitMlp::new(&p, 3, &Device::flex()).export_spec(&p).unwrap();
        assert!(spec.coded_weights, "the 12k model on the CH32V003 is coded");
        let blob = crate::export::blob(&spec, "test").unwrap();
        let table = HEADER_BYTES + spec.layers.len() * DESCRIPTOR_BYTES;
        for bad_entry in [0x05u8, 0x7f] {
            // A code of length 0 or 7 (longer than the 6 bits the decoder looks at).
            let mut bad = blob.clone();
            bad[table + 9] = bad_entry;
            reseal(&mut bad);
            assert_eq!(Engine::load(&bad).err(), Some(EngineError::Shape));
        }
        // A coded layer that is not 4-bit.
        let mut bad = blob.clone();
        bad[HEADER_BYTES + 1] = 2;
        reseal(&mut bad);
        assert_eq!(Engine::load(&bad).err(), Some(EngineError::Unsupported));
        // The last layer's stream moved to the blob's last word: it runs out at once and
        // reads zeros, never past the end.
        let mut bad = blob.clone();
        let last = HEADER_BYTES + (spec.layers.len() - 1) * DESCRIPTOR_BYTES;
        let end = (bad.len() - 4) as u32;
        bad[last + 8..last + 12].copy_from_slice(&end.to_le_bytes());
        reseal(&mut bad);
        let mut e = Engine::load(&bad).unwrap();
        assert!(e.classify(&[200; 256]).is_ok());
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(200))]
        /// Any byte of a coded classifier changed (and the blob resealed, as a hostile
        /// upload would be): the engine refuses it or runs it, never reading out of bounds
        /// (a crash here, or under the sanitizer of `make -C firmware-stub test`).
        #[test]
        fn a_resealed_coded_blob_with_any_byte_changed_is_refused_or_runs(
            at in 12usize..2000, value in 0u8..=255
        ) {
            let blob = small_coded_blob();
            let mut bad = blob.to_vec();
            let at = 12 + at % (bad.len() - 12);
            bad[at] = value;
            reseal(&mut bad);
            if let Ok(mut e) = Engine::load(&bad) {
                let _ = e.classify(&[255; 256]);
                let _ = e.classify(&[0; 256]);
            }
        }
    }

    /// Regression: a layer without the bias flag but with a bias offset had its "biases"
    /// read from wherever the offset pointed (a crash found by the test above).
    #[test]
    fn a_bias_offset_without_the_bias_flag_is_refused() {
        use crate::export::HEADER_BYTES;
        let mut bad = small_coded_blob().to_vec();
        let d = HEADER_BYTES + 12; // layer 0's bias offset
        bad[d..d + 4].copy_from_slice(&0x0100_0000u32.to_le_bytes());
        reseal(&mut bad);
        assert_eq!(Engine::load(&bad).err(), Some(EngineError::Shape));
    }

    /// Regression: a blob whose length field is odd had its coded stream read one byte
    /// past that length (in 16-bit units); a byte beyond the blob must never change an
    /// answer.
    #[test]
    fn a_coded_stream_never_reads_past_the_blobs_length() {
        use crate::export::{DESCRIPTOR_BYTES, HEADER_BYTES};
        let blob = small_coded_blob();
        let n = blob.len();
        let last = HEADER_BYTES + DESCRIPTOR_BYTES; // the second (last) layer
        let answers: Vec<_> = [0x00u8, 0xff]
            .iter()
            .map(|&beyond| {
                let mut b = blob.to_vec();
                b[last + 8..last + 12].copy_from_slice(&((n - 4) as u32).to_le_bytes());
                b[4..8].copy_from_slice(&((n - 1) as u32).to_le_bytes());
                b[n - 1] = beyond; // outside the blob's stated length
                let h = crate::util::checksum::crc32(&b[12..n - 1]);
                b[8..12].copy_from_slice(&h.to_le_bytes());
                let mut e = Engine::load(&b).unwrap();
                e.classify(&[200; 256]).unwrap()
            })
            .collect();
        assert_eq!(answers[0], answers[1]);
    }

    /// The header, descriptors and first weights of the die model (the convolution
    /// chain), each byte set to each of a few extreme values: refused or runs.
    #[test]
    fn a_die_blob_with_a_structural_byte_changed_is_refused_or_runs() {
        let blob = crate::export::blob(&die_spec(None, 1), "test").unwrap();
        for at in 12..200 {
            for value in [0u8, 1, 2, 0x7f, 0x80, 0xff] {
                let mut bad = blob.clone();
                bad[at] = value;
                reseal(&mut bad);
                if let Ok(mut e) = Engine::load(&bad) {
                    let _ = e.run(&latent_input(1, 0, 64, 3, 4, 6));
                }
            }
        }
    }

    /// A small coded classifier (256 -> 5 -> 10), made once.
    fn small_coded_blob() -> &'static [u8] {
        static BLOB: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
        BLOB.get_or_init(|| {
            let mut p = default_project("bitnet-mnist").unwrap();
            p.model.layers.drain(1..3);
            p.model.layers[0].width = 5;
            let mut spec = BitMlp::new(&p, 11, &Device::flex())
                .export_spec(&p)
                .unwrap();
            spec.coded_weights = true;
            crate::export::blob(&spec, "fuzz").unwrap()
        })
    }

    #[test]
    fn damaged_blobs_are_refused() {
        let spec = die_spec(None, 1);
        let blob = crate::export::blob(&spec, "test").unwrap();
        let mut bad = blob.clone();
        bad[0] = b'X';
        assert_eq!(Engine::load(&bad).err(), Some(EngineError::Magic));
        let mut bad = blob.clone();
        let last = bad.len() - 5;
        bad[last] ^= 1;
        assert_eq!(Engine::load(&bad).err(), Some(EngineError::Hash));
        assert_eq!(
            Engine::load(&blob[..blob.len() - 4]).err(),
            Some(EngineError::Length)
        );
        assert_eq!(Engine::load(&blob[..3]).err(), Some(EngineError::Magic));
    }
}
