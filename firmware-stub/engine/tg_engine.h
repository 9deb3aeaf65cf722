/* tinygen integer inference engine: one file for every board.
 *
 * A model is a blob (docs/model-format.md): a header, one 16-byte descriptor per layer,
 * the sigmoid table, then packed weights and int32 biases. The engine reads it in place
 * (from flash on a microcontroller) and needs no heap: the caller hands it an arena.
 * Weights multiply by shift-and-add only, so RV32EC without a multiplier runs it as is.
 * A chain of convolutions runs depth-first, one output row at a time, and each finished
 * row of the last layer goes to the caller's emit function at once. */
#ifndef TG_ENGINE_H
#define TG_ENGINE_H

#include <stdint.h>

#define TG_BLOB_MAGIC 0x314D4754u /* "TGM1" */
#define TG_BLOB_HEADER_BYTES 20u
#define TG_DESCRIPTOR_BYTES 16u
#define TG_MAX_LAYERS 16u

enum tg_kind { TG_DENSE = 0, TG_CONV3 = 1, TG_CONV3_DOWN = 2, TG_UPCONV3 = 3 };
enum tg_bits { TG_BINARY = 1, TG_TWO = 2, TG_TERNARY = 3, TG_FOUR = 4, TG_EIGHT = 8 };
#define TG_LAYER_RELU 1u
#define TG_LAYER_BIAS 2u
/* ShiftNorm (dense only): the output shift is chosen per run from the largest accumulator,
 * the smallest that fits it into 8 bits (0..255 after ReLU, -128..127 without). */
#define TG_LAYER_NORM 4u
/* Coded weights (dense 4-bit only): a prefix-code bit stream read through the model's
 * code table instead of packed nibbles (docs/model-format.md). */
#define TG_LAYER_CODED 8u
#define TG_MODEL_SIGMOID 1u
/* The model input is unsigned 8-bit (pixels) rather than signed. */
#define TG_MODEL_U8_INPUT 2u
/* The model has coded layers: the 64-byte code table follows the descriptors (and the
 * sigmoid table). Entry [next 6 bits of the stream]: low nibble the weight, high nibble
 * the length of its code (1..6 bits). */
#define TG_MODEL_CODED 4u
#define TG_CODE_PEEK 6u

/* What a model does (blob byte 14). Blobs written before the kind was stored hold 0 there;
 * they are read as the two kinds that existed then (the die generator with 6 labels, or a
 * classifier). */
enum tg_model_kind {
    TG_KIND_LEGACY = 0,
    TG_KIND_GENERATOR = 1,  /* input: latent draws, then a one-hot of `classes` labels */
    TG_KIND_CLASSIFIER = 2, /* input: 8-bit pixels; output: `classes` scores */
    TG_KIND_DIFFUSION = 3   /* input: a latent map, denoised over several steps */
};
/* The labels of a legacy generator blob (the die's pip counts). */
#define TG_LEGACY_CLASSES 6u

enum tg_status {
    TG_OK = 0,
    TG_E_MAGIC = -1,      /* not a tinygen model */
    TG_E_LENGTH = -2,     /* blob shorter than its header says */
    TG_E_HASH = -3,       /* CRC over the blob does not match */
    TG_E_SHAPE = -4,      /* layer shapes do not chain, or offsets point outside */
    TG_E_ARENA = -5,      /* arena smaller than the model needs */
    TG_E_UNSUPPORTED = -6 /* a layer kind or bit width this engine does not run */
};

typedef struct {
    const uint8_t *blob;
    uint32_t len;
    uint32_t hash; /* CRC-32 of bytes 12.. of the blob: the model hash */
    uint8_t n_layers;
    uint8_t flags;
    uint8_t kind;    /* TG_KIND_*, never TG_KIND_LEGACY once opened */
    uint8_t classes; /* a generator's labels (the one-hot ending its input); a classifier's
                      * scores */
    uint8_t chain;   /* first layer of the streamed convolution chain (n_layers if none) */
    uint16_t in_c;
    uint8_t in_h, in_w;
    uint32_t arena_bytes; /* what tg_run needs */
#ifdef TG_DIFFUSION
    uint32_t resident; /* bytes of the blob in memory: len, or a streamed model's head */
#endif
} tg_model;

typedef struct {
    uint8_t kind, bits, flags;
    int8_t shift;
    uint16_t in_c, out_c;
    uint8_t in_h, in_w, out_h, out_w;
    const uint32_t *weights;
    const int32_t *bias;   /* 0 when the layer has none */
    const uint8_t *codes;  /* the code table of a coded layer, else 0 */
    const uint8_t *end;    /* the blob's last whole word: a coded stream is never read past
                            * it (not set in TG_TRUSTED_BLOB builds, which do not check) */
#ifdef TG_DIFFUSION
    uint32_t w_off, b_off; /* where the weights and biases are in the blob (b_off 0: none);
                            * weights and bias are NULL when they are not in memory */
#endif
} tg_layer;

/* Called once per finished output row: `len` bytes (grey pixels for an image model, or
 * the output vector of a classifier as one row). */
typedef void (*tg_emit_fn)(void *ctx, uint16_t row, const uint8_t *data, uint16_t len);

uint32_t tg_crc32(uint32_t crc, const uint8_t *p, uint32_t n);

/* The engine's random numbers (xorshift32; the state must not be 0). */
static inline uint32_t tg_xorshift(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* The weight in the low bits of `word`, `bits` wide (binary: 1 is +1, 0 is -1; the others
 * two's complement, ternary in 2 bits). */
static inline int32_t tg_weight_at(uint32_t word, uint8_t bits)
{
    switch (bits) {
    case TG_BINARY: return (word & 1u) ? 1 : -1;
    case TG_TWO:
    case TG_TERNARY: return ((int32_t)(word << 30)) >> 30;
    case TG_FOUR: return ((int32_t)(word << 28)) >> 28;
    default: return (int8_t)(word & 0xffu);
    }
}
/* Checks a blob (magic, length, CRC, shapes) and works out its arena size. The blob must
 * stay valid and 4-byte aligned while the model is used. */
int tg_model_open(tg_model *m, const uint8_t *blob, uint32_t len);
#ifdef TG_DIFFUSION
/* The same for a model whose weights stay in a file (a streamed diffusion model): `head`
 * holds its first `have` bytes (at least the header, descriptors and tables) and `crc` is
 * the CRC-32 of bytes 12.. of the whole blob, which the caller worked out as it read it. */
int tg_model_open_head(tg_model *m, const uint8_t *head, uint32_t have, uint32_t crc);
#endif
void tg_layer_get(const tg_model *m, uint8_t i, tg_layer *out);
/* Runs the model once on `input` (in_c*in_h*in_w signed 8-bit values). */
int tg_run(const tg_model *m, const int8_t *input, uint8_t *arena, uint32_t arena_len,
           tg_emit_fn emit, void *ctx);
/* After tg_run of a classifier (a model ending in a dense layer), the arena begins with
 * that layer's int32 accumulators: the class is the first largest of them. */
uint16_t tg_argmax(const tg_model *m, const uint8_t *arena);
/* The model input of a generator: `latent` normal draws (seed, index) scaled by
 * temperature/64, then the label as a one-hot of `classes` at 1.0 (32 steps). */
void tg_latent(uint32_t seed, uint16_t index, uint8_t temperature, uint8_t label,
               uint8_t latent, uint8_t classes, int8_t *input);

#endif
