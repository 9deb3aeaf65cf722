/* tinygen diffusion runner, for hosted builds (the simulated board, the Pi runner, the
 * workbench): a model blob of kind TG_KIND_DIFFUSION (docs/model-format.md) run layer by
 * layer on whole maps, with the denoiser's skip, its signed velocity output and the
 * integer Euler sampler. Arena offsets are 32-bit; the arena is the caller's.
 *
 * The arithmetic is that of src/templates/sd/int.rs, which the tests hold it to byte for
 * byte: the state is the normalised latent in 1/512 (int16), the denoiser's input the
 * state in 1/32 with a time plane and the class's one-hot plane, its output the velocity
 * in 1/16; the decoder takes state * deviation + mean per channel, in 1/32. A guided step
 * also runs the denoiser with no class and steers by v0 + (scale * (v - v0) + 8) / 16. */
#ifndef TG_DIFFUSION_H
#define TG_DIFFUSION_H

/* Hosted builds that link this file define TG_DIFFUSION for tg_engine.c too, so that
 * tg_model_open takes diffusion blobs (microcontroller builds refuse them). */
#ifndef TG_DIFFUSION
#error "build tg_engine.c and tg_diffusion.c with -DTG_DIFFUSION"
#endif
#include "tg_engine.h"

/* The diffusion block after the blob's tables: 16 bytes, then latent x (int32 deviation
 * in 1/4096, int32 mean in 1/512). */
#define TG_DIFFUSION_BLOCK_BYTES 16u
#define TG_NO_SKIP 255u
/* The most working memory a model may ask for (64 MiB): maps are small, weights are not
 * in the arena. */
#define TG_DIFFUSION_ARENA_MAX (64ull << 20)

/* Where a streamed model's weights come from (engine/tg_stream.c has the hosted ones):
 * bytes [off, off + len) of the model file, readable until the next fetch. `next_off` and
 * `next_len` say what the runner will ask for next, for a provider that reads ahead. NULL
 * when the bytes cannot be read. */
typedef struct tg_weights tg_weights;
struct tg_weights {
    const uint8_t *(*fetch)(tg_weights *w, uint32_t off, uint32_t len, uint32_t next_off,
                            uint32_t next_len);
    uint64_t bytes; /* weight bytes fetched so far */
};

/* Bytes of weight rows a streamed fetch asks for: whole output-channel rows, at least one. */
#define TG_CHUNK_BYTES (64u * 1024u)

typedef struct {
    tg_model m;
    uint8_t unet;      /* layers 0..unet-1 are the denoiser, the rest the decoder */
    uint8_t steps;     /* default step count */
    uint8_t skip_to;   /* the output of layer skip_from is added to that of skip_to */
    uint8_t skip_from; /* (TG_NO_SKIP: none) */
    uint8_t latent;    /* latent channels */
    uint8_t guidance;  /* classifier-free guidance scale in 1/16 (0 or 16: none) */
    uint8_t guided_above; /* steps whose time plane (1/32) is above this are guided */
    const uint8_t *denorm;
    uint32_t map_max;  /* largest map a layer reads or writes, in values */
    uint32_t acc_max;  /* largest output plane, in values */
    uint32_t arena_bytes;
    tg_weights *src;  /* NULL: the weights are in the blob */
    uint32_t chunk;   /* bytes of rows a fetch asks for */
    const int32_t *bias[TG_MAX_LAYERS]; /* each layer's, or NULL */
    int32_t *bias_store; /* a streamed model's biases, kept in memory */
} tg_diffusion;

/* Called after each step with the decoded estimate of the clean image (x0). */
typedef void (*tg_step_fn)(void *ctx, uint8_t step, const uint8_t *pixels, uint32_t len);

/* Opens and checks a diffusion blob; works out its arena. */
int tg_diffusion_open(tg_diffusion *d, const uint8_t *blob, uint32_t len);
/* Opens a model whose weights stay in its file: `head`, `have` and `crc` as for
 * tg_model_open_head, `src` the provider, `chunk` the bytes of rows per fetch. The
 * biases are fetched once and kept (the only allocation); tg_diffusion_close frees them.
 * A failed fetch is TG_E_LENGTH. */
int tg_diffusion_open_streamed(tg_diffusion *d, const uint8_t *head, uint32_t have, uint32_t crc,
                               tg_weights *src, uint32_t chunk);
void tg_diffusion_close(tg_diffusion *d);
/* The most bytes one fetch of an opened model's head asks for, at `chunk` (0: the
 * default): a chunk of weight rows, or a layer's biases. */
uint32_t tg_diffusion_fetch_bytes(const tg_model *m, uint32_t chunk);
/* sizeof(tg_model) (which 0) or sizeof(tg_diffusion) (1): the workbench checks its mirror
 * of these structs against them. */
uint32_t tg_diffusion_struct_bytes(uint32_t which);
/* Values in the input of one denoiser pass, and in a latent. */
uint32_t tg_diffusion_input_len(const tg_diffusion *d);
uint32_t tg_diffusion_latent_len(const tg_diffusion *d);
/* Pixels of an image. */
uint32_t tg_diffusion_image_len(const tg_diffusion *d);
/* The arena of the functions below must be 8-byte aligned and arena_bytes long. */
/* The functions below return TG_E_LENGTH when a streamed fetch fails. */
/* One denoiser pass: `input` (tg_diffusion_input_len values) to velocities in 1/16. */
int tg_unet_pass(const tg_diffusion *d, const int8_t *input, int8_t *v, uint8_t *arena,
                 uint32_t arena_len);
/* One decoder pass: a latent in 1/32 to grey pixels. */
int tg_decode_pass(const tg_diffusion *d, const int8_t *z, uint8_t *pixels, uint8_t *arena,
                   uint32_t arena_len);
/* The sampler's noise for image `index` of `seed`: `n` values in 1/512. */
void tg_diffusion_noise(uint32_t seed, uint32_t index, uint32_t n, int16_t *out);
/* Draws image `index` of `seed` for class `label` (1-based) in `steps` steps (0: the
 * model's default); `preview` (or NULL) sees the x0 of every `every`-th step from the
 * first (0 or 1: every step), decoded only for those. */
int tg_diffuse(const tg_diffusion *d, uint32_t seed, uint32_t index, uint8_t label,
               uint8_t steps, uint8_t every, tg_step_fn preview, void *ctx, uint8_t *pixels,
               uint8_t *arena, uint32_t arena_len);

#endif
