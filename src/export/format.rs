//! The model blob's layout constants (docs/model-format.md): its magic, header and
//! descriptor sizes, and the model and layer flag bits.

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
/// A diffusion model's block, after the tables: denoiser layers, default steps, the skip
/// `(to, from)` (255 when none), latent channels, then reserved zeros.
pub const DIFFUSION_BLOCK_BYTES: usize = 16;
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
