//! The C diffusion runner (`firmware-stub/engine/tg_diffusion.c`) behind a safe wrapper:
//! the denoiser and decoder passes, and the integer sampler a hosted board runs.

use super::{EngineError, RawModel, aligned_words, status};
use std::ffi::c_void;

#[repr(C)]
struct RawDiffusion {
    m: RawModel,
    unet: u8,
    steps: u8,
    skip_to: u8,
    skip_from: u8,
    latent: u8,
    guidance: u8,
    guided_above: u8,
    denorm: *const u8,
    map_max: u32,
    acc_max: u32,
    arena_bytes: u32,
    /// A streamed model's weight provider (never set here: the blob is in memory).
    src: *mut c_void,
    chunk: u32,
    bias: [*const i32; 16],
    bias_store: *mut i32,
}

type StepFn = extern "C" fn(ctx: *mut c_void, step: u8, pixels: *const u8, len: u32);

unsafe extern "C" {
    fn tg_diffusion_open(d: *mut RawDiffusion, blob: *const u8, len: u32) -> i32;
    fn tg_diffusion_input_len(d: *const RawDiffusion) -> u32;
    fn tg_diffusion_latent_len(d: *const RawDiffusion) -> u32;
    fn tg_diffusion_image_len(d: *const RawDiffusion) -> u32;
    fn tg_unet_pass(
        d: *const RawDiffusion,
        input: *const i8,
        v: *mut i8,
        arena: *mut u8,
        arena_len: u32,
    ) -> i32;
    fn tg_decode_pass(
        d: *const RawDiffusion,
        z: *const i8,
        pixels: *mut u8,
        arena: *mut u8,
        arena_len: u32,
    ) -> i32;
    fn tg_diffusion_noise(seed: u32, index: u32, n: u32, out: *mut i16);
    #[cfg(test)]
    fn tg_diffusion_struct_bytes(which: u32) -> u32;
    #[allow(clippy::too_many_arguments)]
    fn tg_diffuse(
        d: *const RawDiffusion,
        seed: u32,
        index: u32,
        label: u8,
        steps: u8,
        every: u8,
        preview: Option<StepFn>,
        ctx: *mut c_void,
        pixels: *mut u8,
        arena: *mut u8,
        arena_len: u32,
    ) -> i32;
}

/// A diffusion model blob, opened by the C runner.
pub struct Diffusion {
    words: Vec<u32>,
    raw: Box<RawDiffusion>,
    /// In 64-bit words, so the arena is 8-byte aligned as the runner asks.
    arena: Vec<u64>,
}

// The raw model only points into `words`, which this owns and never shares.
unsafe impl Send for Diffusion {}

extern "C" fn collect_step(ctx: *mut c_void, _step: u8, pixels: *const u8, len: u32) {
    // SAFETY: `ctx` is the `Vec<Vec<u8>>` handed to `tg_diffuse` below, alive for the
    // call, and the runner hands over `len` readable bytes.
    let out = unsafe { &mut *(ctx as *mut Vec<Vec<u8>>) };
    out.push(unsafe { std::slice::from_raw_parts(pixels, len as usize) }.to_vec());
}

impl Diffusion {
    pub fn load(blob: &[u8]) -> Result<Diffusion, EngineError> {
        let words = aligned_words(blob);
        let len = u32::try_from(blob.len()).map_err(|_| EngineError::Length)?;
        // SAFETY: an all-zero RawDiffusion is a valid value of its plain fields and null
        // pointers; the runner fills it in.
        let mut raw: Box<RawDiffusion> = Box::new(unsafe { std::mem::zeroed() });
        // SAFETY: `words` holds `len` bytes and lives as long as `raw`.
        status(unsafe { tg_diffusion_open(&mut *raw, words.as_ptr().cast(), len) })?;
        let arena = vec![0u64; (raw.arena_bytes as usize).div_ceil(8)];
        Ok(Diffusion { words, raw, arena })
    }

    pub fn hash(&self) -> u32 {
        self.raw.m.hash
    }

    /// The model's default step count.
    /// Classifier-free guidance: the scale in 1/16 and the time (1/32) it applies above.
    pub fn guidance(&self) -> (u8, u8) {
        (self.raw.guidance, self.raw.guided_above)
    }

    pub fn steps(&self) -> u8 {
        self.raw.steps
    }

    pub fn classes(&self) -> u8 {
        self.raw.m.classes
    }

    /// Bytes of working memory a run takes.
    pub fn arena_bytes(&self) -> u32 {
        self.raw.arena_bytes
    }

    fn lens(&self) -> (usize, usize, usize) {
        // SAFETY: `raw` was opened by `tg_diffusion_open`.
        unsafe {
            (
                tg_diffusion_input_len(&*self.raw) as usize,
                tg_diffusion_latent_len(&*self.raw) as usize,
                tg_diffusion_image_len(&*self.raw) as usize,
            )
        }
    }

    fn arena(&mut self) -> (*mut u8, u32) {
        let _ = &self.words;
        (
            self.arena.as_mut_ptr().cast(),
            (self.arena.len() * 8) as u32,
        )
    }

    /// One denoiser pass: its input to velocities in 1/16.
    pub fn unet(&mut self, input: &[i8]) -> Result<Vec<i8>, EngineError> {
        let (n_in, n_lat, _) = self.lens();
        if input.len() != n_in {
            return Err(EngineError::Input {
                expected: n_in,
                found: input.len(),
            });
        }
        let mut v = vec![0i8; n_lat];
        let (arena, len) = self.arena();
        // SAFETY: the lengths are the runner's, and the arena is as large as it asked for.
        status(unsafe { tg_unet_pass(&*self.raw, input.as_ptr(), v.as_mut_ptr(), arena, len) })?;
        Ok(v)
    }

    /// One decoder pass: a latent in 1/32 to grey pixels.
    pub fn decode(&mut self, z: &[i8]) -> Result<Vec<u8>, EngineError> {
        let (_, n_lat, n_img) = self.lens();
        if z.len() != n_lat {
            return Err(EngineError::Input {
                expected: n_lat,
                found: z.len(),
            });
        }
        let mut px = vec![0u8; n_img];
        let (arena, len) = self.arena();
        // SAFETY: as in `unet`.
        status(unsafe { tg_decode_pass(&*self.raw, z.as_ptr(), px.as_mut_ptr(), arena, len) })?;
        Ok(px)
    }

    /// Image `index` of `seed` for class `label` in `steps` steps (0: the model's), and
    /// with `previews` each step's decoded x0.
    pub fn sample(
        &mut self,
        seed: u32,
        index: u32,
        label: u8,
        steps: u8,
        previews: bool,
    ) -> Result<(Vec<u8>, Vec<Vec<u8>>), EngineError> {
        let (_, _, n_img) = self.lens();
        let mut px = vec![0u8; n_img];
        let mut shots: Vec<Vec<u8>> = Vec::new();
        let (arena, len) = self.arena();
        let preview: Option<StepFn> = previews.then_some(collect_step as StepFn);
        // SAFETY: as in `unet`; `shots` outlives the call that fills it.
        status(unsafe {
            tg_diffuse(
                &*self.raw,
                seed,
                index,
                label,
                steps,
                1,
                preview,
                (&mut shots as *mut Vec<Vec<u8>>).cast(),
                px.as_mut_ptr(),
                arena,
                len,
            )
        })?;
        Ok((px, shots))
    }
}

/// The runner's noise for image `index` of `seed`: `n` values in 1/512.
pub fn noise(seed: u32, index: u32, n: usize) -> Vec<i16> {
    let mut out = vec![0i16; n];
    // SAFETY: `out` has room for `n` values.
    unsafe { tg_diffusion_noise(seed, index, n as u32, out.as_mut_ptr()) };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (issue #17): the C structs grew fields for streamed weights while this
    /// mirror did not, and the engine wrote past the Rust allocation (a heap corruption
    /// seen as `free(): invalid next size`). The mirror must be exactly the C size.
    #[test]
    fn the_struct_mirrors_are_the_c_sizes() {
        // SAFETY: a pure function of its argument.
        let (model, diffusion) =
            unsafe { (tg_diffusion_struct_bytes(0), tg_diffusion_struct_bytes(1)) };
        assert_eq!(std::mem::size_of::<RawModel>(), model as usize);
        assert_eq!(std::mem::size_of::<RawDiffusion>(), diffusion as usize);
    }
}
