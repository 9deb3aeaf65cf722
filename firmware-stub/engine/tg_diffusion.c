/* tinygen diffusion runner: see tg_diffusion.h. Plain loops over whole maps; the maps of
 * the template's models are 8x8 to 32x32 and a pass is a few million multiply-adds. */
#include "tg_diffusion.h"

#include <stdlib.h>
#include <string.h>

static uint32_t rd32le(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint32_t plane(const tg_layer *l) { return (uint32_t)l->out_h * l->out_w; }
static uint32_t outs(const tg_layer *l) { return (uint32_t)l->out_c * plane(l); }
static uint32_t ins(const tg_layer *l) { return (uint32_t)l->in_c * l->in_h * l->in_w; }
static uint8_t sbits(uint8_t bits) { return bits == TG_TERNARY ? 2u : bits; }

/* floor(a / b) for b > 0. */
static int64_t fdiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

static uint32_t align4(uint32_t n) { return (n + 3u) & ~3u; }

/* The skip map's bytes: a map, or the preview's int16 latent (it is free between passes). */
static uint32_t skip_bytes(const tg_diffusion *d)
{
    uint32_t x0 = 2u * tg_diffusion_latent_len(d);
    return d->map_max > x0 ? d->map_max : x0;
}

/* The checks and the arena of an opened model (its head is in memory). */
static int setup(tg_diffusion *d)
{
    const uint8_t *blob = d->m.blob;
    uint32_t off, i;
    uint64_t need;
    tg_layer l, a, b;
    d->src = NULL;
    d->chunk = TG_CHUNK_BYTES;
    d->bias_store = NULL;
    if (d->m.kind != TG_KIND_DIFFUSION || !(d->m.flags & TG_MODEL_SIGMOID)) return TG_E_UNSUPPORTED;
    off = TG_BLOB_HEADER_BYTES + (uint32_t)d->m.n_layers * TG_DESCRIPTOR_BYTES + 256u;
    if (d->m.flags & TG_MODEL_CODED) return TG_E_UNSUPPORTED;
    if (off + TG_DIFFUSION_BLOCK_BYTES > d->m.resident) return TG_E_LENGTH;
    d->unet = blob[off];
    d->steps = blob[off + 1];
    d->skip_to = blob[off + 2];
    d->skip_from = blob[off + 3];
    d->latent = blob[off + 4];
    d->guidance = blob[off + 5];
    d->guided_above = blob[off + 6];
    d->denorm = blob + off + TG_DIFFUSION_BLOCK_BYTES;
    if (off + TG_DIFFUSION_BLOCK_BYTES + 8u * d->latent > d->m.resident) return TG_E_LENGTH;
    if (!d->unet || d->unet >= d->m.n_layers || !d->steps || !d->latent) return TG_E_SHAPE;
    d->map_max = 0;
    d->acc_max = 0;
    for (i = 0; i < d->m.n_layers; i++) {
        tg_layer_get(&d->m, (uint8_t)i, &l);
        if (l.kind == TG_DENSE || (l.flags & (TG_LAYER_NORM | TG_LAYER_CODED))) return TG_E_UNSUPPORTED;
        /* Passes end in a signed output, every other layer in ReLU. */
        if (((l.flags & TG_LAYER_RELU) != 0) == (i + 1u == d->unet || i + 1u == d->m.n_layers))
            return TG_E_SHAPE;
        if (ins(&l) > d->map_max) d->map_max = ins(&l);
        if (outs(&l) > d->map_max) d->map_max = outs(&l);
        if (plane(&l) > d->acc_max) d->acc_max = plane(&l);
        d->bias[i] = l.bias;
    }
    tg_layer_get(&d->m, (uint8_t)(d->unet - 1u), &l);
    /* The denoiser's output is the latent; its input the latent, the time, the classes. */
    if (l.out_c != d->latent || l.out_h != d->m.in_h || l.out_w != d->m.in_w) return TG_E_SHAPE;
    if (d->m.in_c != (uint32_t)d->latent + 1u + d->m.classes || !d->m.classes) return TG_E_SHAPE;
    tg_layer_get(&d->m, (uint8_t)(d->m.n_layers - 1u), &l);
    if (l.out_c != 1u) return TG_E_SHAPE;
    if (d->skip_to != TG_NO_SKIP || d->skip_from != TG_NO_SKIP) {
        if (d->skip_from >= d->skip_to || d->skip_to >= d->unet) return TG_E_SHAPE;
        tg_layer_get(&d->m, d->skip_to, &a);
        tg_layer_get(&d->m, d->skip_from, &b);
        if (a.out_c != b.out_c || a.out_h != b.out_h || a.out_w != b.out_w) return TG_E_SHAPE;
        if (!(a.flags & TG_LAYER_RELU) || !(b.flags & TG_LAYER_RELU)) return TG_E_SHAPE;
    }
    /* In 64 bits, and capped: a hostile shape must not wrap the sum or ask for gigabytes. */
    need = 2u * ((uint64_t)d->map_max + 4u) + (uint64_t)skip_bytes(d) + 4u + 8u * (uint64_t)d->acc_max +
           2u * (uint64_t)tg_diffusion_latent_len(d) + 4u + (uint64_t)tg_diffusion_input_len(d) +
           4u + 2u * ((uint64_t)tg_diffusion_latent_len(d) + 4u) +
           4u * (uint64_t)tg_diffusion_latent_len(d);
    if (need > TG_DIFFUSION_ARENA_MAX) return TG_E_ARENA;
    d->arena_bytes = (uint32_t)need;
    return TG_OK;
}

int tg_diffusion_open(tg_diffusion *d, const uint8_t *blob, uint32_t len)
{
    int r = tg_model_open(&d->m, blob, len);
    return r ? r : setup(d);
}

int tg_diffusion_open_streamed(tg_diffusion *d, const uint8_t *head, uint32_t have, uint32_t crc,
                               tg_weights *src, uint32_t chunk)
{
    uint32_t i, n = 0, at = 0;
    tg_layer l;
    int r = tg_model_open_head(&d->m, head, have, crc);
    if (r || (r = setup(d)) != TG_OK) return r;
    for (i = 0; i < d->m.n_layers; i++) {
        tg_layer_get(&d->m, (uint8_t)i, &l);
        if (l.b_off) n += l.out_c;
    }
    d->bias_store = (int32_t *)malloc(4u * (size_t)(n ? n : 1u));
    if (!d->bias_store) return TG_E_ARENA;
    for (i = 0; i < d->m.n_layers; i++) {
        const uint8_t *p;
        uint32_t k;
        tg_layer_get(&d->m, (uint8_t)i, &l);
        d->bias[i] = NULL;
        if (!l.b_off) continue;
        p = src->fetch(src, l.b_off, 4u * l.out_c, 0, 0);
        if (!p) {
            tg_diffusion_close(d);
            return TG_E_LENGTH;
        }
        for (k = 0; k < l.out_c; k++) d->bias_store[at + k] = (int32_t)rd32le(p + 4u * k);
        d->bias[i] = d->bias_store + at;
        at += l.out_c;
    }
    src->bytes = 0; /* count the images' reads only */
    d->src = src;
    d->chunk = chunk ? chunk : TG_CHUNK_BYTES;
    return TG_OK;
}

void tg_diffusion_close(tg_diffusion *d)
{
    free(d->bias_store);
    d->bias_store = NULL;
    d->src = NULL;
}

uint32_t tg_diffusion_struct_bytes(uint32_t which)
{
    return which == 0 ? (uint32_t)sizeof(tg_model) : (uint32_t)sizeof(tg_diffusion);
}

uint32_t tg_diffusion_input_len(const tg_diffusion *d)
{
    return (uint32_t)d->m.in_c * d->m.in_h * d->m.in_w;
}

uint32_t tg_diffusion_latent_len(const tg_diffusion *d)
{
    return (uint32_t)d->latent * d->m.in_h * d->m.in_w;
}

uint32_t tg_diffusion_image_len(const tg_diffusion *d)
{
    tg_layer l;
    tg_layer_get(&d->m, (uint8_t)(d->m.n_layers - 1u), &l);
    return plane(&l);
}

/* The arena's parts. Maps are a byte a value: a ReLU layer's output is 0..255, a pass's
 * output and input -128..127 (as int8), so no value is lost. */
typedef struct {
    uint8_t *a, *b, *skip;
    int64_t *acc;
    int32_t *vg; /* the velocity the step takes (guided or not) */
    int16_t *state;
    int8_t *x, *v, *v0;
} parts;

static int split(const tg_diffusion *d, uint8_t *arena, uint32_t len, parts *p)
{
    uint32_t off = 0;
    /* 64-bit accumulators first, so the arena must be 8-byte aligned. */
    if (!arena || len < d->arena_bytes || ((uintptr_t)arena & 7u)) return TG_E_ARENA;
    p->acc = (int64_t *)(void *)(arena + off);
    off += 8u * d->acc_max;
    p->vg = (int32_t *)(void *)(arena + off);
    off += 4u * tg_diffusion_latent_len(d);
    p->a = arena + off;
    off += align4(d->map_max);
    p->b = arena + off;
    off += align4(d->map_max);
    p->skip = arena + off;
    off += align4(skip_bytes(d));
    p->state = (int16_t *)(void *)(arena + off);
    off += align4(2u * tg_diffusion_latent_len(d));
    p->x = (int8_t *)(void *)(arena + off);
    off += align4(tg_diffusion_input_len(d));
    p->v = (int8_t *)(void *)(arena + off);
    off += align4(tg_diffusion_latent_len(d));
    p->v0 = (int8_t *)(void *)(arena + off);
    return TG_OK;
}

static int32_t weight(const uint32_t *row, uint32_t k, uint8_t bits)
{
    uint32_t bit = k * sbits(bits);
    return tg_weight_at(row[bit >> 5] >> (bit & 31u), bits);
}

/* Round half up by `shift` (negative: left), then clamp: 0..255 with ReLU, else -128..127. */
static int16_t requant(int64_t acc, int8_t shift, uint8_t relu)
{
    int64_t y = shift > 0 ? fdiv(acc + ((int64_t)1 << (shift - 1)), (int64_t)1 << shift)
                          : acc * ((int64_t)1 << (-shift));
    if (relu) return (int16_t)(y < 0 ? 0 : (y > 255 ? 255 : y));
    return (int16_t)(y < -128 ? -128 : (y > 127 ? 127 : y));
}

static uint32_t row_words(const tg_layer *l)
{
    return ((uint32_t)l->in_c * 9u * sbits(l->bits) + 31u) >> 5;
}

static uint32_t rows_in(uint32_t chunk, const tg_layer *l)
{
    uint32_t n = chunk / (4u * row_words(l));
    return n < 1u ? 1u : (n > l->out_c ? l->out_c : n);
}

/* Output channels per fetch of a streamed layer (all of them when nothing streams). */
static uint32_t rows_per_fetch(const tg_diffusion *d, const tg_layer *l)
{
    return d->src ? rows_in(d->chunk, l) : l->out_c;
}

uint32_t tg_diffusion_fetch_bytes(const tg_model *m, uint32_t chunk)
{
    uint32_t i, most = 0, n;
    tg_layer l;
    if (!chunk) chunk = TG_CHUNK_BYTES;
    for (i = 0; i < m->n_layers; i++) {
        tg_layer_get(m, (uint8_t)i, &l);
        n = 4u * row_words(&l) * rows_in(chunk, &l);
        if (n > most) most = n;
        if (4u * (uint32_t)l.out_c > most) most = 4u * l.out_c;
    }
    return most;
}

/* The bytes of rows o0.. of layer i's fetch. */
static void chunk_at(const tg_diffusion *d, uint8_t i, uint32_t o0, uint32_t *off, uint32_t *len)
{
    tg_layer l;
    uint32_t n, per;
    tg_layer_get(&d->m, i, &l);
    per = rows_per_fetch(d, &l);
    n = l.out_c - o0 < per ? l.out_c - o0 : per;
    *off = l.w_off + 4u * row_words(&l) * o0;
    *len = 4u * row_words(&l) * n;
}

/* acc += w * the input plane `src` under tap (ky, kx) of layer l, for maps of type T. */
#define TG_TAP(name, T)                                                                          \
    static void name(const tg_layer *l, const T *src, int32_t w, int32_t ky, int32_t kx,        \
                     int64_t *acc)                                                               \
    {                                                                                            \
        int32_t ih = l->in_h, iw = l->in_w, oh = l->out_h, ow = l->out_w, y, x;                  \
        for (y = 0; y < oh; y++) {                                                               \
            int32_t sy;                                                                          \
            if (l->kind == TG_UPCONV3) {                                                         \
                int32_t uy = y + ky - 1;                                                         \
                if (uy < 0 || uy >= 2 * ih) continue;                                            \
                sy = uy / 2;                                                                     \
            } else {                                                                             \
                sy = (l->kind == TG_CONV3_DOWN ? 2 * y : y) + ky - 1;                            \
                if (sy < 0 || sy >= ih) continue;                                                \
            }                                                                                    \
            for (x = 0; x < ow; x++) {                                                           \
                int32_t sx;                                                                      \
                if (l->kind == TG_UPCONV3) {                                                     \
                    int32_t ux = x + kx - 1;                                                     \
                    if (ux < 0 || ux >= 2 * iw) continue;                                        \
                    sx = ux / 2;                                                                 \
                } else {                                                                         \
                    sx = (l->kind == TG_CONV3_DOWN ? 2 * x : x) + kx - 1;                        \
                    if (sx < 0 || sx >= iw) continue;                                            \
                }                                                                                \
                acc[y * ow + x] += (int64_t)w * src[sy * iw + sx];                               \
            }                                                                                    \
        }                                                                                        \
    }
TG_TAP(tap_unsigned, uint8_t)
TG_TAP(tap_signed, int8_t)

/* One 3x3 layer (layer i of the pass first..end-1) on a whole map: stride 1, stride 2, or
 * after a nearest upsample x2. Its input is signed for a pass's first layer, else a ReLU's.
 * A streamed model's rows are fetched a chunk at a time, and each fetch names the next: the
 * layer's next chunk, else the next layer's first, else the pass's first layer again (a
 * sampler runs the same pass again). */
static int conv(const tg_diffusion *d, uint8_t i, uint8_t first, uint8_t end, const tg_layer *l,
                const uint8_t *in, uint8_t *out, int64_t *acc)
{
    uint32_t words = row_words(l), per = rows_per_fetch(d, l);
    uint32_t hw = plane(l), o, c, p, in_hw = (uint32_t)l->in_h * l->in_w;
    int32_t ky, kx;
    const uint32_t *rows = l->weights;
    for (o = 0; o < l->out_c; o++) {
        const uint32_t *row;
        int64_t b = d->bias[i] ? d->bias[i][o] : 0;
        if (d->src && o % per == 0) {
            uint32_t off, len, noff, nlen;
            const uint8_t *got;
            chunk_at(d, i, o, &off, &len);
            if (o + per < l->out_c) chunk_at(d, i, o + per, &noff, &nlen);
            else chunk_at(d, (uint8_t)(i + 1u < end ? i + 1u : first), 0, &noff, &nlen);
            got = d->src->fetch(d->src, off, len, noff, nlen);
            if (!got) return TG_E_LENGTH;
            d->src->bytes += len;
            rows = (const uint32_t *)(const void *)got;
        }
        row = rows + (o % per) * words; /* per is out_c when nothing streams */
        for (p = 0; p < hw; p++) acc[p] = b;
        for (c = 0; c < l->in_c; c++) {
            const uint8_t *src = in + c * in_hw;
            for (ky = 0; ky < 3; ky++) {
                for (kx = 0; kx < 3; kx++) {
                    int32_t w = weight(row, (c * 3u + (uint32_t)ky) * 3u + (uint32_t)kx, l->bits);
                    if (!w) continue;
                    if (i == first) tap_signed(l, (const int8_t *)(const void *)src, w, ky, kx, acc);
                    else tap_unsigned(l, src, w, ky, kx, acc);
                }
            }
        }
        for (p = 0; p < hw; p++)
            out[o * hw + p] = (uint8_t)requant(acc[p], l->shift, (l->flags & TG_LAYER_RELU) != 0);
    }
    return TG_OK;
}

/* Runs layers first..end-1 from the map in p->a; the map the last one wrote (NULL when a
 * fetch failed). */
static const uint8_t *layers(const tg_diffusion *d, uint8_t first, uint8_t end, parts *p)
{
    uint8_t *in = p->a, *out = p->b, *t;
    uint8_t i;
    tg_layer l;
    for (i = first; i < end; i++) {
        tg_layer_get(&d->m, i, &l);
        if (conv(d, i, first, end, &l, in, out, p->acc) != TG_OK) return NULL;
        if (i == d->skip_from) memcpy(p->skip, out, outs(&l));
        if (i == d->skip_to) {
            uint32_t k, n = outs(&l);
            for (k = 0; k < n; k++) {
                int32_t s = out[k] + p->skip[k];
                out[k] = (uint8_t)(s > 255 ? 255 : s);
            }
        }
        t = in;
        in = out;
        out = t;
    }
    return in;
}

static int unet(const tg_diffusion *d, const int8_t *input, int8_t *v, parts *p)
{
    uint32_t k, n = tg_diffusion_input_len(d);
    const uint8_t *out;
    for (k = 0; k < n; k++) p->a[k] = (uint8_t)input[k];
    out = layers(d, 0, d->unet, p);
    if (!out) return TG_E_LENGTH;
    n = tg_diffusion_latent_len(d);
    for (k = 0; k < n; k++) v[k] = (int8_t)out[k];
    return TG_OK;
}

static int decode(const tg_diffusion *d, const int8_t *z, uint8_t *pixels, parts *p)
{
    const uint8_t *table = d->m.blob + TG_BLOB_HEADER_BYTES + (uint32_t)d->m.n_layers * TG_DESCRIPTOR_BYTES;
    uint32_t k, n = tg_diffusion_latent_len(d);
    const uint8_t *out;
    for (k = 0; k < n; k++) p->a[k] = (uint8_t)z[k];
    out = layers(d, d->unet, d->m.n_layers, p);
    if (!out) return TG_E_LENGTH;
    n = tg_diffusion_image_len(d);
    for (k = 0; k < n; k++) pixels[k] = table[(uint8_t)((int8_t)out[k] + 128)];
    return TG_OK;
}

int tg_unet_pass(const tg_diffusion *d, const int8_t *input, int8_t *v, uint8_t *arena,
                 uint32_t arena_len)
{
    parts p;
    int r = split(d, arena, arena_len, &p);
    if (r) return r;
    return unet(d, input, v, &p);
}

int tg_decode_pass(const tg_diffusion *d, const int8_t *z, uint8_t *pixels, uint8_t *arena,
                   uint32_t arena_len)
{
    parts p;
    int r = split(d, arena, arena_len, &p);
    if (r) return r;
    return decode(d, z, pixels, &p);
}


void tg_diffusion_noise(uint32_t seed, uint32_t index, uint32_t n, int16_t *out)
{
    uint32_t s = seed ^ (index * 0x9E3779B9u) ^ 0x5D1FF005u, k;
    int j;
    if (!s) s = 1;
    for (j = 0; j < 4; j++) tg_xorshift(&s);
    for (k = 0; k < n; k++) {
        int32_t sum = 0;
        for (j = 0; j < 3; j++) {
            uint32_t v = tg_xorshift(&s);
            sum += (int32_t)(v & 0xffu) + (int32_t)((v >> 8) & 0xffu) +
                   (int32_t)((v >> 16) & 0xffu) + (int32_t)(v >> 24);
        }
        out[k] = (int16_t)(2 * (sum - 1530));
    }
}

static int16_t sat16(int64_t v) { return (int16_t)(v < -32768 ? -32768 : (v > 32767 ? 32767 : v)); }

/* The state in 1/512 rounded to the 1/32 input grid. */
static int8_t to_input(int64_t v)
{
    int64_t q = fdiv(v + 8, 16);
    return (int8_t)(q < -128 ? -128 : (q > 127 ? 127 : q));
}

/* t * v in 1/512 at time num/steps, for v in 1/16. */
static int64_t scaled(int32_t v, uint32_t num, uint32_t steps)
{
    return fdiv(2 * 32 * (int64_t)v * num + steps, 2 * (int64_t)steps);
}

/* The decoder's input for a state: state * deviation + mean per channel, in 1/32. */
static void denorm(const tg_diffusion *d, const int16_t *state, int8_t *z)
{
    uint32_t hw = (uint32_t)d->m.in_h * d->m.in_w, c, k;
    for (c = 0; c < d->latent; c++) {
        int64_t dev = (int32_t)rd32le(d->denorm + 8u * c);
        int64_t mean = (int32_t)rd32le(d->denorm + 8u * c + 4u);
        for (k = 0; k < hw; k++)
            z[c * hw + k] = to_input(fdiv(state[c * hw + k] * dev + 2048, 4096) + mean);
    }
}

int tg_diffuse(const tg_diffusion *d, uint32_t seed, uint32_t index, uint8_t label,
               uint8_t steps, uint8_t every, tg_step_fn preview, void *ctx, uint8_t *pixels,
               uint8_t *arena, uint32_t arena_len)
{
    parts p;
    uint32_t n = tg_diffusion_latent_len(d), hw = (uint32_t)d->m.in_h * d->m.in_w, k, i, c;
    uint8_t step;
    int r = split(d, arena, arena_len, &p);
    if (r) return r;
    if (!label || label > d->m.classes) return TG_E_SHAPE;
    if (!steps) steps = d->steps;
    tg_diffusion_noise(seed, index, n, p.state);
    for (step = 0; step < steps; step++) {
        int8_t t = (int8_t)((2u * 32u * (uint32_t)(steps - step) + steps) / (2u * steps));
        int guided = d->guidance != 0 && d->guidance != 16 && (uint32_t)t > d->guided_above;
        for (k = 0; k < n; k++) p.x[k] = to_input(p.state[k]);
        for (k = 0; k < hw; k++) p.x[n + k] = t;
        for (c = 1; c <= d->m.classes; c++)
            for (k = 0; k < hw; k++) p.x[n + c * hw + k] = (int8_t)(c == label ? 32 : 0);
        if ((r = unet(d, p.x, p.v, &p)) != TG_OK) return r;
        if (guided) {
            /* The same step with no class: every class plane 0. */
            for (k = n + hw; k < tg_diffusion_input_len(d); k++) p.x[k] = 0;
            if ((r = unet(d, p.x, p.v0, &p)) != TG_OK) return r;
            for (i = 0; i < n; i++)
                p.vg[i] = p.v0[i] + (int32_t)fdiv((int64_t)d->guidance * (p.v[i] - p.v0[i]) + 8, 16);
        } else {
            for (i = 0; i < n; i++) p.vg[i] = p.v[i];
        }
        if (preview && (every <= 1u || step % every == 0u)) {
            /* x0 = state - t v, decoded; p.x is free until the next step. */
            int16_t *x0 = (int16_t *)(void *)p.skip; /* free between passes */
            for (i = 0; i < n; i++) x0[i] = sat16(p.state[i] - scaled(p.vg[i], steps - step, steps));
            denorm(d, x0, p.x);
            if ((r = decode(d, p.x, pixels, &p)) != TG_OK) return r;
            preview(ctx, step, pixels, tg_diffusion_image_len(d));
        }
        for (i = 0; i < n; i++) p.state[i] = sat16(p.state[i] - scaled(p.vg[i], 1, steps));
    }
    denorm(d, p.state, p.x);
    return decode(d, p.x, pixels, &p);
}
