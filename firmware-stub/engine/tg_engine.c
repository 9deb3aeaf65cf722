/* tinygen integer inference engine. See tg_engine.h for the contract and
 * docs/model-format.md for the blob. C99, no heap, no multiply in the hot loops. */
#include "tg_engine.h"

#include <stddef.h>

/* Dense layers accumulate this many outputs at a time. */
#define TG_DENSE_CHUNK 32u

/* Little-endian reads of the blob. Its fields are naturally aligned (the blob is 4-byte
 * aligned, descriptors are 16 bytes), so a little-endian machine loads them directly. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
static uint16_t rd16(const uint8_t *p) { return *(const uint16_t *)(const void *)p; }
static uint32_t rd32(const uint8_t *p) { return *(const uint32_t *)(const void *)p; }
#else
static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}
#endif

#ifdef TG_SMALL
/* TG_SMALL (a microcontroller firmware short of flash) trades speed for bytes throughout.
 * CRC-32 (IEEE 802.3, reflected, as zlib) bit by bit: no table; about 50 instructions a
 * byte, which only the boot check of the blob and the frames pay. */
uint32_t tg_crc32(uint32_t crc, const uint8_t *p, uint32_t n)
{
    uint8_t k;
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (k = 0; k < 8u; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}
#else
/* CRC-32 (IEEE 802.3, reflected, as zlib), four bits at a time: a 64-byte table. */
static const uint32_t crc_nibble[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u,
    0x4DB26158u, 0x5005713Cu, 0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
    0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu};

uint32_t tg_crc32(uint32_t crc, const uint8_t *p, uint32_t n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        crc = (crc >> 4) ^ crc_nibble[crc & 15u];
        crc = (crc >> 4) ^ crc_nibble[crc & 15u];
    }
    return ~crc;
}
#endif

/* The weight widths this build runs, as a mask of 1 << TG_* (a firmware built for one
 * model sets it to that model's widths and leaves the other paths out). */
#ifndef TG_BITS
#define TG_BITS ((1u << TG_BINARY) | (1u << TG_TWO) | (1u << TG_TERNARY) | (1u << TG_FOUR) | (1u << TG_EIGHT))
#endif
#define TG_HAS(B) ((TG_BITS >> (B)) & 1u)
/* A firmware whose every layer is coded leaves the packed-weight loops out. */
#ifndef TG_ONLY_CODED
#define TG_ONLY_CODED 0
#endif

static uint8_t storage_bits(uint8_t bits)
{
    if (bits > 8u || !TG_HAS(bits)) return 0;
    return bits == TG_TERNARY ? 2u : bits;
}

#ifndef TG_NO_CONV
/* Input rows of its producer a chain layer needs to make one output row. */
static uint8_t window_rows(uint8_t kind)
{
    return kind == TG_UPCONV3 ? 2 : 3;
}
#endif

static uint32_t out_elems(const tg_layer *l) { return (uint32_t)l->out_c * l->out_h * l->out_w; }
static uint32_t in_elems(const tg_layer *l) { return (uint32_t)l->in_c * l->in_h * l->in_w; }

#if !defined(TG_TRUSTED_BLOB) || !defined(TG_NO_CONV)
/* Weight rows: a dense layer is one input-major stream (all outputs of input 0, then of
 * input 1, ...) padded once to a word; a convolution has one padded row per output
 * channel (in_c x 3 x 3). */
static uint32_t row_words(const tg_layer *l)
{
    uint32_t len = l->kind == TG_DENSE ? in_elems(l) * out_elems(l) : (uint32_t)l->in_c * 9u;
    return (len * storage_bits(l->bits) + 31u) >> 5;
}
#endif
#ifndef TG_TRUSTED_BLOB
/* Bytes of a layer's packed weights, in 64 bits (hostile shapes overflow 32). */
static uint64_t weight_bytes(const tg_layer *l)
{
    uint64_t len = l->kind == TG_DENSE ? (uint64_t)in_elems(l) * out_elems(l) : (uint64_t)l->in_c * 9u;
    uint64_t words = (len * storage_bits(l->bits) + 31u) >> 5;
    return (l->kind == TG_DENSE ? 1u : (uint64_t)l->out_c) * words * 4u;
}
#endif

void tg_layer_get(const tg_model *m, uint8_t i, tg_layer *l)
{
    const uint8_t *d = m->blob + TG_BLOB_HEADER_BYTES + (uint32_t)i * TG_DESCRIPTOR_BYTES;
    uint32_t w = rd32(d + 8), b = rd32(d + 12);
    l->kind = d[0];
    l->bits = d[1];
    l->flags = d[2];
    l->shift = (int8_t)d[3];
    l->out_c = rd16(d + 4);
    l->out_h = d[6];
    l->out_w = d[7];
#ifdef TG_DIFFUSION
    /* A streamed model's weights are not in memory: its runner fetches them by offset. */
    l->w_off = w;
    l->b_off = b;
    if (w >= m->resident || b >= m->resident) {
        l->weights = NULL;
        l->bias = NULL;
    } else
#endif
    {
        l->weights = (const uint32_t *)(const void *)(m->blob + w);
        l->bias = b ? (const int32_t *)(const void *)(m->blob + b) : NULL;
    }
    l->codes = NULL;
#ifndef TG_NO_CODED
    if (l->flags & TG_LAYER_CODED)
        l->codes = m->blob + TG_BLOB_HEADER_BYTES + (uint32_t)m->n_layers * TG_DESCRIPTOR_BYTES +
                   ((m->flags & TG_MODEL_SIGMOID) ? 256u : 0u);
#endif
#ifndef TG_TRUSTED_BLOB
    l->end = m->blob + (m->len & ~3u); /* whole words only: a stream is read 16 bits at a time */
#ifdef TG_DIFFUSION
    if (m->resident < m->len) l->end = m->blob + (m->resident & ~3u);
#endif
#endif
    if (i == 0) {
        l->in_c = m->in_c;
        l->in_h = m->in_h;
        l->in_w = m->in_w;
    } else {
        const uint8_t *p = d - TG_DESCRIPTOR_BYTES;
        l->in_c = rd16(p + 4);
        l->in_h = p[6];
        l->in_w = p[7];
    }
}

/* The arena: [int32 accumulators][dense ping][dense pong][one ring per chain layer]. */
typedef struct {
    uint32_t acc_len; /* accumulators */
    uint32_t ping, pong;
    uint32_t total;
    uint16_t ring[TG_MAX_LAYERS]; /* offset of each chain layer's ring (arena < 64 KB) */
    uint8_t rows[TG_MAX_LAYERS];  /* rows each ring holds */
} layout;

static int plan(const tg_model *m, layout *a)
{
    uint32_t acc = 0, ping = 0, pong = 0, off;
    uint8_t i;
    tg_layer l;
    for (i = 0; i < m->n_layers; i++) {
        tg_layer_get(m, i, &l);
        if (i < m->chain) {
            uint32_t n = out_elems(&l);
            uint32_t chunk =
                n < TG_DENSE_CHUNK || (l.flags & (TG_LAYER_NORM | TG_LAYER_CODED)) ? n : TG_DENSE_CHUNK;
            if (chunk > acc) acc = chunk;
            /* The last dense output lands in ping, the one before in pong, and so on. */
            if (((m->chain - 1u - i) & 1u) == 0) {
                if (n > ping) ping = n;
            } else if (n > pong) {
                pong = n;
            }
        } else if (l.out_w > acc) {
            acc = l.out_w;
        }
    }
    a->acc_len = acc;
    off = acc * 4u;
    a->ping = off;
    off += (ping + 3u) & ~3u;
    a->pong = off;
    off += (pong + 3u) & ~3u;
#ifndef TG_NO_CONV
    for (i = m->chain; i < m->n_layers; i++) {
        tg_layer_get(m, i, &l);
        if (i + 1u < m->n_layers) {
            tg_layer next;
            tg_layer_get(m, (uint8_t)(i + 1u), &next);
            a->rows[i] = window_rows(next.kind);
            if (a->rows[i] > l.out_h) a->rows[i] = l.out_h;
        } else {
            a->rows[i] = 1;
        }
        a->ring[i] = (uint16_t)off;
        off += (((uint32_t)a->rows[i] * l.out_c * l.out_w) + 3u) & ~3u;
    }
#endif
    a->total = off;
    return TG_OK;
}

/* The checks after the CRC: `have` bytes of the blob are in memory (all of it, but for a
 * streamed diffusion model's head), `total` is its length. */
static int open_checked(tg_model *m, const uint8_t *blob, uint32_t total, uint32_t have)
{
    uint32_t i, end;
    layout a;
    m->blob = blob;
    m->len = total;
#ifdef TG_DIFFUSION
    m->resident = have;
#endif
    m->hash = rd32(blob + 8);
    m->n_layers = blob[12];
    m->flags = blob[13];
    m->kind = blob[14];
    m->classes = blob[15];
    m->in_c = rd16(blob + 16);
    m->in_h = blob[18];
    m->in_w = blob[19];
    if (m->n_layers == 0 || m->n_layers > TG_MAX_LAYERS) return TG_E_SHAPE;
    end = TG_BLOB_HEADER_BYTES + (uint32_t)m->n_layers * TG_DESCRIPTOR_BYTES;
    if (m->flags & TG_MODEL_SIGMOID) end += 256u;
#ifndef TG_NO_CODED
    if (m->flags & TG_MODEL_CODED) end += 1u << TG_CODE_PEEK;
#endif
#ifdef TG_DIFFUSION
    if (m->kind == TG_KIND_DIFFUSION) {
        /* Its block (16 bytes, then 8 per latent channel) comes before any weights. */
        if (end + 16u > have) return TG_E_LENGTH;
        end += 16u + 8u * blob[end + 4u];
    }
#endif
    /* The header, descriptors and tables are in memory (`have` is `total` but for a
     * streamed model's head). */
    if (end > have) return TG_E_LENGTH;
#if !defined(TG_NO_CODED) && !defined(TG_TRUSTED_BLOB)
    if (m->flags & TG_MODEL_CODED) { /* every code 1..6 bits long */
        const uint8_t *c = blob + end - (1u << TG_CODE_PEEK);
        for (i = 0; i < (1u << TG_CODE_PEEK); i++)
            if (!(c[i] >> 4) || (c[i] >> 4) > TG_CODE_PEEK) return TG_E_SHAPE;
    }
#endif
    m->chain = m->n_layers;
    for (i = 0; i < m->n_layers; i++) {
        tg_layer l;
        uint32_t w_off = rd32(blob + TG_BLOB_HEADER_BYTES + i * TG_DESCRIPTOR_BYTES + 8);
        uint32_t b_off = rd32(blob + TG_BLOB_HEADER_BYTES + i * TG_DESCRIPTOR_BYTES + 12);
        tg_layer_get(m, (uint8_t)i, &l);
        if (!storage_bits(l.bits)) return TG_E_UNSUPPORTED;
#ifdef TG_NO_CODED
        if (l.flags & TG_LAYER_CODED) return TG_E_UNSUPPORTED; /* built without the decoder */
#endif
        if (TG_ONLY_CODED && !(l.flags & TG_LAYER_CODED)) return TG_E_UNSUPPORTED;
#ifndef TG_TRUSTED_BLOB
        /* A microcontroller build links its own blob, made by tinygen and checked by CRC
         * above, and leaves these shape checks out (TG_TRUSTED_BLOB); every blob that comes
         * from outside (the host, an upload to the Pi) is checked in full. */
        if (l.shift < -16 || l.shift > 30) return TG_E_UNSUPPORTED;
        if (l.kind > TG_UPCONV3) return TG_E_UNSUPPORTED;
        if (!l.out_c || !l.out_h || !l.out_w || !l.in_c || !l.in_h || !l.in_w) return TG_E_SHAPE;
        if ((w_off & 3u) || (b_off & 3u) || w_off < end) return TG_E_SHAPE;
        if (l.flags & TG_LAYER_CODED) {
            /* Dense 4-bit only; the stream's length is its codes' (read no further than
             * the blob's end). */
            if (l.kind != TG_DENSE || l.bits != TG_FOUR || !(m->flags & TG_MODEL_CODED))
                return TG_E_UNSUPPORTED;
            if (w_off >= total) return TG_E_LENGTH;
        } else if (w_off > total || weight_bytes(&l) > (uint64_t)(total - w_off)) {
            /* In 64 bits: offsets near 2^32 and huge shapes must not wrap past the check. */
            return TG_E_LENGTH;
        }
        if ((l.flags & TG_LAYER_BIAS) &&
            (b_off < end ||
             (uint64_t)b_off + 4u * (uint64_t)(l.kind == TG_DENSE ? out_elems(&l) : l.out_c) > total))
            return TG_E_LENGTH;
        /* Biases are read wherever an offset is given: one without the flag is a lie. */
        if (!(l.flags & TG_LAYER_BIAS) && b_off) return TG_E_SHAPE;
#else
        (void)w_off;
        (void)b_off;
#endif
        if (l.kind == TG_DENSE) {
            if (m->chain != m->n_layers) return TG_E_UNSUPPORTED; /* dense inside a chain */
        } else {
#ifdef TG_NO_CONV
            return TG_E_UNSUPPORTED; /* this build left the convolution code out */
#endif
            if (l.flags & TG_LAYER_NORM) return TG_E_UNSUPPORTED;
            if (m->chain == m->n_layers) m->chain = (uint8_t)i;
            /* A chain must start from a dense map; a diffusion model, run on whole maps by
             * tg_diffusion.c, starts with a convolution. */
#ifdef TG_DIFFUSION
            if (i == 0 && m->kind != TG_KIND_DIFFUSION) return TG_E_UNSUPPORTED;
#else
            if (i == 0) return TG_E_UNSUPPORTED;
#endif
            if (l.kind == TG_UPCONV3 &&
                (l.out_h != 2u * l.in_h || l.out_w != 2u * l.in_w))
                return TG_E_SHAPE;
            if (l.kind == TG_CONV3 && (l.out_h != l.in_h || l.out_w != l.in_w)) return TG_E_SHAPE;
            if (l.kind == TG_CONV3_DOWN &&
                (l.out_h != (l.in_h + 1u) / 2u || l.out_w != (l.in_w + 1u) / 2u))
                return TG_E_SHAPE;
        }
    }
    if (m->kind == TG_KIND_LEGACY) {
        tg_layer last;
        tg_layer_get(m, (uint8_t)(m->n_layers - 1u), &last);
        m->kind = (m->flags & TG_MODEL_SIGMOID) ? TG_KIND_GENERATOR : TG_KIND_CLASSIFIER;
        m->classes = m->kind == TG_KIND_GENERATOR ? (uint8_t)TG_LEGACY_CLASSES
                                                  : (uint8_t)(last.out_c > 255u ? 255u : last.out_c);
    }
    if (m->kind > TG_KIND_DIFFUSION) return TG_E_UNSUPPORTED;
    /* A generator's one-hot label ends its input. */
    if (m->kind == TG_KIND_GENERATOR && (!m->classes || m->classes > m->in_c)) return TG_E_SHAPE;
#ifdef TG_DIFFUSION
    if (m->kind == TG_KIND_DIFFUSION) {
        /* Not run by tg_run: tg_diffusion_open works out its arena (32-bit offsets). */
        m->arena_bytes = 0;
        return TG_OK;
    }
#endif
    plan(m, &a);
    if (a.total > 0xffffu) return TG_E_ARENA; /* ring offsets are 16-bit */
    if (m->kind == TG_KIND_CLASSIFIER) {
        /* tg_argmax reads every score from the accumulators, so the last layer must be
         * dense (a convolution's would be read past the arena: found by
         * tests/test_blob.c) and run as one chunk, not in chunks of 32 (more than 32
         * classes need a normed or coded last layer), or it would read stale values. */
        tg_layer last;
        tg_layer_get(m, (uint8_t)(m->n_layers - 1u), &last);
        if (m->chain != m->n_layers) return TG_E_SHAPE;
        if (out_elems(&last) > TG_DENSE_CHUNK && !(last.flags & (TG_LAYER_NORM | TG_LAYER_CODED)))
            return TG_E_SHAPE;
    }
    m->arena_bytes = a.total;
    return TG_OK;
}

int tg_model_open(tg_model *m, const uint8_t *blob, uint32_t len)
{
    uint32_t total;
    if (len < TG_BLOB_HEADER_BYTES || rd32(blob) != TG_BLOB_MAGIC) return TG_E_MAGIC;
    total = rd32(blob + 4);
    if (total > len || total < TG_BLOB_HEADER_BYTES) return TG_E_LENGTH;
    if (tg_crc32(0, blob + 12, total - 12u) != rd32(blob + 8)) return TG_E_HASH;
    return open_checked(m, blob, total, total);
}

#ifdef TG_DIFFUSION
int tg_model_open_head(tg_model *m, const uint8_t *head, uint32_t have, uint32_t crc)
{
    uint32_t total;
    if (have < TG_BLOB_HEADER_BYTES || rd32(head) != TG_BLOB_MAGIC) return TG_E_MAGIC;
    total = rd32(head + 4);
    if (total < have) return TG_E_LENGTH;
    if (crc != rd32(head + 8)) return TG_E_HASH;
    return open_checked(m, head, total, have);
}
#endif

/* ---- arithmetic ---------------------------------------------------------------------- */

/* Requantize: round half up by `shift` (negative shifts left), then clamp. */
static int32_t requant(int32_t acc, int8_t shift, uint8_t relu)
{
    int32_t y;
    if (shift > 0) {
        y = (acc + ((int32_t)1 << (shift - 1))) >> shift;
    } else if (shift < 0) {
        int32_t lim = (int32_t)0x7fffffff >> (-shift);
        if (acc > lim) acc = lim;
        if (acc < -lim) acc = -lim;
        y = (int32_t)((uint32_t)acc << (-shift));
    } else {
        y = acc;
    }
    if (relu) return y < 0 ? 0 : (y > 255 ? 255 : y);
    return y < -128 ? -128 : (y > 127 ? 127 : y);
}

/* a * w for a small signed w, by shifts and adds (canonical signed digits). */
static int32_t mul_small(int32_t a, int32_t w)
{
    int32_t r = 0;
    uint8_t neg = w < 0;
    uint32_t u = (uint32_t)(neg ? -w : w);
    while (u) {
        if (u & 1u) {
            if ((u & 3u) == 3u) { /* ...11: subtract here, carry one up */
                r -= a;
                u += 1u;
            } else {
                r += a;
                u -= 1u;
            }
        }
        a = (int32_t)((uint32_t)a << 1);
        u >>= 1;
    }
    return neg ? -r : r;
}

#ifndef TG_NO_CONV

/* acc[k*astep] += w * in[k*istep] for k < n (steps of 1 or 2): the weight is fixed, so its
 * shift-and-add form is chosen once and the loop body is a load, one or two shifts, and an
 * add; the loop runs on pointers, with no counter. */
static void axpy(int32_t *acc, uint32_t astep, const uint8_t *in, uint32_t istep, uint32_t n,
                 int32_t w)
{
    const uint8_t *end = in + (istep == 2u ? n << 1 : n);
#define AXPY(EXPR)                                                                           \
    do {                                                                                     \
        int32_t a = *in;                                                                     \
        *acc += (EXPR);                                                                      \
        in += istep;                                                                         \
        acc += astep;                                                                        \
    } while (in != end);                                                                     \
    return
    if (!n) return;
    switch (w) {
    case 0: return;
    case 1: AXPY(a);
    case -1: AXPY(-a);
    case 2: AXPY(a << 1);
    case -2: AXPY(-(a << 1));
    case 3: AXPY((a << 1) + a);
    case -3: AXPY(-((a << 1) + a));
    case 4: AXPY(a << 2);
    case -4: AXPY(-(a << 2));
    case 5: AXPY((a << 2) + a);
    case -5: AXPY(-((a << 2) + a));
    case 6: AXPY((a << 2) + (a << 1));
    case -6: AXPY(-((a << 2) + (a << 1)));
    case 7: AXPY((a << 3) - a);
    case -7: AXPY(a - (a << 3));
    case 8: AXPY(a << 3);
    case -8: AXPY(-(a << 3));
    default: break;
    }
#undef AXPY
    /* Wider weights (8-bit, or summed 4-bit ones): the canonical signed digits of w, two
     * to a pass, each pass adding or subtracting (a << s1) plus or minus (a << s2). The
     * digits are found as the passes go, so no list of them takes stack. */
    {
        uint32_t u = (uint32_t)(w < 0 ? -w : w);
        uint8_t sh = 0, neg = w < 0;
        while (u) {
            uint8_t s1, s2 = 0, mode;
            while (!(u & 1u)) u >>= 1, sh++;
            s1 = sh;
            mode = (uint8_t)((((u & 3u) == 3u) ^ neg) << 1);
            u = (u & 3u) == 3u ? u + 1u : u - 1u;
            if (u) {
                while (!(u & 1u)) u >>= 1, sh++;
                s2 = sh;
                mode |= (uint8_t)(((u & 3u) == 3u) ^ neg);
                u = (u & 3u) == 3u ? u + 1u : u - 1u;
            } else {
                mode |= 4u; /* one digit left */
            }
            {
                const uint8_t *q = in;
                int32_t *p = acc;
#define PASS(STMT)                                                                           \
    do {                                                                                     \
        int32_t a = *q;                                                                      \
        STMT;                                                                                \
        q += istep;                                                                          \
        p += astep;                                                                          \
    } while (q != end);                                                                      \
    break
                switch (mode) {
                case 0: PASS(*p += (a << s1) + (a << s2));
                case 1: PASS(*p += (a << s1) - (a << s2));
                case 2: PASS(*p -= (a << s1) - (a << s2));
                case 3: PASS(*p -= (a << s1) + (a << s2));
                case 4: PASS(*p += a << s1);
                default: PASS(*p -= a << s1);
                }
#undef PASS
            }
        }
    }
}
#endif

/* ---- dense layers ---------------------------------------------------------------------- */

/* The products of `a` with every 4-bit weight value, in two's-complement nibble order
 * (t[w & 15] = a * w), by repeated addition. */
static void table4(int32_t *t, int32_t a)
{
    int32_t p = 0;
    uint8_t k;
    t[0] = 0;
    for (k = 1; k < 8; k++) t[k] = (p += a);
    t[8] = -(p + a);
    for (k = 9; k < 16; k++) t[k] = t[k - 1] + a;
}

/* acc[0..8*words) += t[nibbles], eight 4-bit weights per word: the lookup offset is taken
 * straight from the word (shift, mask), so a weight costs a load, an add and a store. */
static void add4(int32_t *acc, const uint32_t *wp, uint32_t words, const int32_t *t)
{
    const uint8_t *tb = (const uint8_t *)t;
#define T4(SH) (*(const int32_t *)(const void *)(tb + (((SH) >= 2 ? w >> ((SH) - 2) : w << 2) & 60u)))
    for (; words; words--, acc += 8) {
        uint32_t w = *wp++;
        acc[0] += T4(0);
        acc[1] += T4(4);
        acc[2] += T4(8);
        acc[3] += T4(12);
        acc[4] += T4(16);
        acc[5] += T4(20);
        acc[6] += T4(24);
        acc[7] += T4(28);
    }
#undef T4
}

/* The same for 2-bit (and ternary) weights, sixteen per word. */
static void add2(int32_t *acc, const uint32_t *wp, uint32_t words, const int32_t *t)
{
    const uint8_t *tb = (const uint8_t *)t;
#define T2(SH) (*(const int32_t *)(const void *)(tb + (((SH) >= 2 ? w >> ((SH) - 2) : w << 2) & 12u)))
    for (; words; words--, acc += 16) {
        uint32_t w = *wp++;
        acc[0] += T2(0);
        acc[1] += T2(2);
        acc[2] += T2(4);
        acc[3] += T2(6);
        acc[4] += T2(8);
        acc[5] += T2(10);
        acc[6] += T2(12);
        acc[7] += T2(14);
        acc[8] += T2(16);
        acc[9] += T2(18);
        acc[10] += T2(20);
        acc[11] += T2(22);
        acc[12] += T2(24);
        acc[13] += T2(26);
        acc[14] += T2(28);
        acc[15] += T2(30);
    }
#undef T2
}

/* acc[0..n) += t[weight], the weights `sb` bits each from bit `bit` of *wp on (1, 2 or 4
 * bits: never straddling a word). Its own function, with few live values, so that even
 * RV32E keeps the loop in registers: about 12 instructions a weight. */
static void __attribute__((noinline)) add_lookup(int32_t *acc, const uint32_t *wp, uint32_t bit,
                                                 uint32_t n, uint32_t sb, const int32_t *t)
{
    uint32_t mask = (1u << sb) - 1u, word = *wp++ >> bit, left = 32u - bit;
    int32_t *end = acc + n;
    for (; acc != end; acc++) {
        if (!left) {
            word = *wp++;
            left = 32u;
        }
        *acc += t[word & mask];
        word >>= sb;
        left -= sb;
    }
}

#ifndef TG_NO_CODED
/* Where a coded layer's stream is read: 16 bits at a time into `buf`, which holds `n`. */
typedef struct {
    const uint16_t *p, *end; /* end: only where the blob comes from outside */
    uint32_t buf, n;
} code_in;

/* Tops `buf` up with the next 16 stream bits once fewer than a code's worth are left
 * (n < 6, so n + 16 stays within 32). A blob from outside is never read past its end. */
#ifdef TG_TRUSTED_BLOB
#define TG_FILL()                                                                            \
    if (n < TG_CODE_PEEK) {                                                                  \
        buf |= (uint32_t)*p++ << n;                                                          \
        n += 16u;                                                                            \
    }
#else
#define TG_FILL()                                                                            \
    if (n < TG_CODE_PEEK) {                                                                  \
        if (p < r->end) buf |= (uint32_t)*p++ << n;                                          \
        n += 16u;                                                                            \
    }
#endif

/* The next `count` (>= 1) weights of a coded stream: acc[k] += t[weight], or, for a zero
 * input (t = 0), only skipped. Each weight is one lookup of the next 6 bits in the code
 * table, which gives the weight and how many bits its code takes. */
static void __attribute__((noinline)) add_coded(int32_t *acc, uint32_t count, code_in *r,
                                                const uint8_t *codes, const int32_t *t)
{
    const uint16_t *p = r->p;
    uint32_t buf = r->buf, n = r->n, e;
    if (t) {
        int32_t *stop = acc + count;
        do {
            TG_FILL()
            e = codes[buf & ((1u << TG_CODE_PEEK) - 1u)];
            buf >>= e >> 4;
            n -= e >> 4;
            *acc += t[e & 15u];
        } while (++acc != stop);
    } else {
        do {
            TG_FILL()
            e = codes[buf & ((1u << TG_CODE_PEEK) - 1u)] >> 4;
            buf >>= e;
            n -= e;
        } while (--count);
    }
    r->p = p;
    r->buf = buf;
    r->n = n;
}
#undef TG_FILL
#endif

/* ShiftNorm: the smallest right shift that brings the largest output into 8 bits. */
static int8_t norm_shift(const int32_t *acc, uint32_t n, uint8_t relu)
{
    uint32_t m = 0, o;
    int8_t s = 0;
    for (o = 0; o < n; o++) {
        int32_t v = acc[o];
        uint32_t u = v < 0 ? (relu ? 0u : (uint32_t)-v) : (uint32_t)v;
        if (u > m) m = u;
    }
    while ((m >> s) > (relu ? 255u : 127u)) s++;
    return s;
}

/* One dense layer, input-major: for each non-zero input, the products with every weight
 * value are made once (a small table, by repeated addition) and each weight is then a
 * lookup. `sin` says the input is signed (the model input) rather than unsigned.
 * With `to_rows`, the output map is stored row-major ([y][c][x]) for the chain. */
static void __attribute__((noinline)) dense(const tg_layer *l, const uint8_t *in, uint8_t sin, int32_t *acc, uint8_t *out,
                  uint8_t to_rows)
{
    uint32_t n_in = in_elems(l), n_out = out_elems(l), o0;
    uint8_t sb = storage_bits(l->bits), relu = l->flags & TG_LAYER_RELU;
    uint8_t sh = sb == 1u ? 0u : sb == 2u ? 1u : sb == 4u ? 2u : 3u; /* log2(sb) */
    uint32_t row_bits = 0;
    /* A coded stream is read once, so a coded layer makes all its outputs at once. */
    uint32_t chunk = (l->flags & (TG_LAYER_NORM | TG_LAYER_CODED)) ? n_out : TG_DENSE_CHUNK;
#ifndef TG_NO_CODED
    code_in r;
    r.p = (const uint16_t *)(const void *)l->weights;
#ifndef TG_TRUSTED_BLOB
    r.end = (const uint16_t *)(const void *)l->end;
#endif
    r.buf = 0;
    r.n = 0;
#endif
    /* Bits from one input's weights to the next input's: n_out * sb, by addition. */
    for (o0 = 0; o0 < n_out; o0++) row_bits += sb;
    for (o0 = 0; o0 < n_out; o0 += chunk) {
        uint32_t n = n_out - o0 < chunk ? n_out - o0 : chunk, i, o;
        uint32_t bit = o0 * sb; /* where weight (input 0, output o0) starts */
        int8_t shift = l->shift;
        /* Whole words of 2- or 4-bit weights per input: the unrolled paths. */
#ifdef TG_SMALL
        const uint8_t fast = 0; /* the unrolled paths cost ~300 bytes of flash */
#else
        uint8_t fast = (sb == 4u || sb == 2u) && !(row_bits & 31u) && !(bit & 31u) &&
                       !(n & ((32u >> sh) - 1u));
#endif
        for (o = 0; o < n; o++) acc[o] = l->bias ? l->bias[o0 + o] : 0;
        for (i = 0; i < n_in; i++, bit += row_bits) {
            int32_t a = sin ? (int32_t)(int8_t)in[i] : (int32_t)in[i];
            const uint32_t *wp = l->weights + (bit >> 5);
            int32_t t[16];
            uint32_t word;
            uint8_t left;
#ifndef TG_NO_CODED
            if (TG_ONLY_CODED || l->codes) {
                if (a) table4(t, a);
                add_coded(acc, n, &r, l->codes, a ? t : NULL);
                continue;
            }
#endif
            if (!a) continue;
            if (TG_HAS(TG_FOUR) && sb == 4u) {
                table4(t, a);
                if (fast) {
                    add4(acc, wp, n >> 3, t);
                    continue;
                }
            } else if ((TG_HAS(TG_TWO) || TG_HAS(TG_TERNARY)) && sb == 2u) {
                t[0] = 0;
                t[1] = a;
                t[2] = -(a << 1);
                t[3] = -a;
                if (fast) {
                    add2(acc, wp, n >> 4, t);
                    continue;
                }
            } else if (TG_HAS(TG_BINARY) && sb == 1u) {
                t[0] = -a;
                t[1] = a;
            }
            if (!(TG_HAS(TG_EIGHT) && sb == 8u)) {
                add_lookup(acc, wp, bit & 31u, n, sb, t);
                continue;
            }
            /* 8-bit weights: shift-and-add products. Weights never straddle words: sb
             * divides 32 and every offset is a multiple. */
            word = *wp++ >> (bit & 31u);
            left = (uint8_t)((32u - (bit & 31u)) >> sh);
            for (o = 0; o < n; o++) {
                if (!left) {
                    word = *wp++;
                    left = (uint8_t)(32u >> sh);
                }
                acc[o] += mul_small(a, (int8_t)(word & 0xffu));
                word >>= sb;
                left--;
            }
        }
        if (l->flags & TG_LAYER_NORM) shift = norm_shift(acc, n, relu);
#ifndef TG_NO_CONV
        if (to_rows) {
            /* o = c*H*W + y*W + x goes to y*C*W + c*W + x. */
            uint32_t c = 0, y = 0, x = 0;
            for (o = 0; o < o0; o++) { /* skip to o0 (counters only) */
                if (++x == l->out_w) { x = 0; if (++y == l->out_h) { y = 0; c++; } }
            }
            for (o = 0; o < n; o++) {
                out[(y * l->out_c + c) * l->out_w + x] = (uint8_t)requant(acc[o], shift, relu);
                if (++x == l->out_w) { x = 0; if (++y == l->out_h) { y = 0; c++; } }
            }
            continue;
        }
#else
        (void)to_rows;
#endif
        for (o = 0; o < n; o++) out[o0 + o] = (uint8_t)requant(acc[o], shift, relu);
    }
}

uint16_t tg_argmax(const tg_model *m, const uint8_t *arena)
{
    tg_layer l;
    const int32_t *acc = (const int32_t *)(const void *)arena;
    uint16_t best = 0, o, n;
    tg_layer_get(m, (uint8_t)(m->n_layers - 1u), &l);
    n = (uint16_t)out_elems(&l);
    for (o = 1; o < n; o++)
        if (acc[o] > acc[best]) best = o;
    return best;
}

#ifndef TG_NO_CONV
/* ---- the convolution chain, depth-first -------------------------------------------------- */

typedef struct {
    const tg_model *m;
    const layout *a;
    uint8_t *arena;
    int32_t *acc;
    uint16_t made[TG_MAX_LAYERS]; /* rows of each chain layer made so far */
    tg_emit_fn emit;
    void *ctx;
} chain_run;

/* Storage of chain producer `j` (the dense output feeding the chain is held whole). */
static const uint8_t *row_of(const chain_run *r, uint8_t j, uint16_t y, const tg_layer *pl)
{
    uint32_t bytes = (uint32_t)pl->out_c * pl->out_w;
    if (j < r->m->chain) return r->arena + r->a->ping + (uint32_t)y * bytes;
    while (y >= r->a->rows[j]) y = (uint16_t)(y - r->a->rows[j]);
    return r->arena + r->a->ring[j] + (uint32_t)y * bytes;
}

static void make_row(chain_run *r, uint8_t j);

/* Makes rows of chain layer `j` until row `y` exists. */
static void ensure(chain_run *r, uint8_t j, uint16_t y)
{
    if (j < r->m->chain) return;
    while (r->made[j] <= y) make_row(r, j);
}

/* Makes the next row of chain layer `j`: first (recursively) the producer rows it reads,
 * then the row itself. The recursion holds only a few words per level; the big locals
 * live in compute_row, of which there is one frame at a time. */
static void __attribute__((noinline)) compute_row(chain_run *r, uint8_t j);

static void __attribute__((noinline)) make_row(chain_run *r, uint8_t j)
{
    uint8_t kind, in_h, up, stride, ky;
    int16_t last = -1;
    uint16_t y = r->made[j];
    const uint8_t *d = r->m->blob + TG_BLOB_HEADER_BYTES + (uint32_t)j * TG_DESCRIPTOR_BYTES;
    kind = d[0];
    in_h = d[6 - (int)TG_DESCRIPTOR_BYTES]; /* the producer's out_h */
    up = kind == TG_UPCONV3;
    stride = kind == TG_CONV3_DOWN ? 2 : 1;
    for (ky = 0; ky < 3; ky++) {
        int16_t vy = (int16_t)(stride * y + ky - 1);
        if (vy >= 0 && vy < (up ? 2 * in_h : in_h)) last = (int16_t)(up ? vy >> 1 : vy);
    }
    /* Only a chain layer needs making; the dense map before the chain is whole. */
    if (last >= 0 && (uint8_t)(j - 1u) >= r->m->chain)
        ensure(r, (uint8_t)(j - 1u), (uint16_t)last);
    compute_row(r, j);
}

/* One output row of a nearest x2 upsample followed by a 3x3 convolution, for input channel
 * `ci`: the sub-pixel form. On the upsampled map, two of the three kernel rows (and two of
 * the three columns) read the same source pixel, so their weights are summed first; each
 * output then takes 4 products instead of 9, with the same integer result. Output row
 * y = 2i + py reads source rows src[0] (kernel rows 0, or 0 and 1) and src[2] (rows 1 and
 * 2, or 2); column x = 2j + px likewise reads columns j - 1 and j, or j and j + 1. */
static void upconv_row(int32_t *acc, const uint8_t *const *src, uint8_t py, const int16_t *w,
                       uint8_t ci, uint8_t in_w)
{
    uint8_t s, kx;
    for (s = 0; s < 2; s++) {
        /* The kernel rows that land on this source row. */
        uint8_t k0 = s ? (uint8_t)(1u + py) : 0u, k1 = s ? 2u : py;
        const uint8_t *row = src[s ? 2 : 0];
        int32_t c[3];
        if (!row) continue;
        row += (uint32_t)ci * in_w;
        for (kx = 0; kx < 3; kx++) {
            uint8_t ky;
            c[kx] = 0;
            for (ky = k0; ky <= k1; ky++) c[kx] += w[ky * 3u + kx];
        }
        /* Even columns: source j - 1 by c0, j by c1 + c2; odd: j by c0 + c1, j + 1 by c2. */
        axpy(acc + 2, 2, row, 1, in_w - 1u, c[0]);
        axpy(acc, 2, row, 1, in_w, c[1] + c[2]);
        axpy(acc + 1, 2, row, 1, in_w, c[0] + c[1]);
        axpy(acc + 1, 2, row + 1, 1, in_w - 1u, c[2]);
    }
}

static void __attribute__((noinline)) compute_row(chain_run *r, uint8_t j)
{
    tg_layer l, pl;
    uint16_t y = r->made[j];
    uint8_t up, stride, co, ci, ky, kx, sb, vh, vw;
    const uint8_t *src[3];
    uint32_t word = 0, rw;
    uint8_t *out;
    const uint32_t *wp;
    int32_t *acc = r->acc;
    uint16_t x;

    tg_layer_get(r->m, j, &l);
    tg_layer_get(r->m, (uint8_t)(j - 1u), &pl);
    up = l.kind == TG_UPCONV3;
    stride = l.kind == TG_CONV3_DOWN ? 2 : 1;
    vh = (uint8_t)(up ? 2u * l.in_h : l.in_h); /* the (virtual) input the kernel slides on */
    vw = (uint8_t)(up ? 2u * l.in_w : l.in_w);
    for (ky = 0; ky < 3; ky++) {
        int16_t vy = (int16_t)(stride * y + ky - 1);
        src[ky] = (vy >= 0 && vy < vh)
                      ? row_of(r, (uint8_t)(j - 1u), (uint16_t)(up ? vy >> 1 : vy), &pl)
                      : NULL;
    }
    if (j + 1u == r->m->n_layers) {
        out = r->arena + r->a->ring[j];
    } else {
        uint16_t slot = y;
        while (slot >= r->a->rows[j]) slot = (uint16_t)(slot - r->a->rows[j]);
        out = r->arena + r->a->ring[j] + (uint32_t)slot * l.out_c * l.out_w;
    }
    sb = storage_bits(l.bits);
    rw = row_words(&l);
    for (co = 0; co < l.out_c; co++) {
        uint8_t left = 0;
        wp = l.weights + (uint32_t)co * rw;
        for (x = 0; x < l.out_w; x++) acc[x] = l.bias ? l.bias[co] : 0;
        for (ci = 0; ci < l.in_c; ci++) {
            int16_t w[9];
            for (kx = 0; kx < 9; kx++) {
                if (!left) {
                    word = *wp++;
                    left = (uint8_t)(32u / sb);
                }
                w[kx] = (int16_t)tg_weight_at(word, l.bits);
                word >>= sb;
                left--;
            }
            if (up) {
                upconv_row(acc, src, (uint8_t)(y & 1u), w, ci, l.in_w);
                continue;
            }
            for (ky = 0; ky < 3; ky++) {
                const uint8_t *in = src[ky] ? src[ky] + (uint32_t)ci * l.in_w : NULL;
                if (!in) continue;
                for (kx = 0; kx < 3; kx++) {
                    /* Output x reads column stride*x + kx - 1. */
                    int16_t x0 = 0, x1 = (int16_t)(l.out_w - 1);
                    if (!w[ky * 3 + kx]) continue;
                    while (x0 <= x1 && stride * x0 + kx - 1 < 0) x0++;
                    while (x1 >= x0 && stride * x1 + kx - 1 >= vw) x1--;
                    if (x1 >= x0)
                        axpy(acc + x0, 1, in + stride * x0 + kx - 1, stride,
                             (uint32_t)(x1 - x0 + 1), w[ky * 3 + kx]);
                }
            }
        }
        for (x = 0; x < l.out_w; x++)
            out[(uint32_t)co * l.out_w + x] =
                (uint8_t)requant(acc[x], l.shift, l.flags & TG_LAYER_RELU);
    }
    r->made[j]++;
    if (j + 1u == r->m->n_layers) {
        uint16_t n = (uint16_t)(l.out_c * l.out_w);
        if (r->m->flags & TG_MODEL_SIGMOID) {
            const uint8_t *lut = r->m->blob + TG_BLOB_HEADER_BYTES +
                                 (uint32_t)r->m->n_layers * TG_DESCRIPTOR_BYTES;
            for (x = 0; x < n; x++) out[x] = lut[(uint8_t)(out[x] ^ 0x80u)];
        }
        r->emit(r->ctx, y, out, n);
    }
}
#endif

int tg_run(const tg_model *m, const int8_t *input, uint8_t *arena, uint32_t arena_len,
           tg_emit_fn emit, void *ctx)
{
    layout a;
    uint8_t i;
    const uint8_t *in = (const uint8_t *)input;
    int32_t *acc = (int32_t *)(void *)arena;
#ifdef TG_DIFFUSION
    if (m->kind == TG_KIND_DIFFUSION) return TG_E_UNSUPPORTED; /* tg_diffuse runs it */
#endif
    if (arena_len < m->arena_bytes) return TG_E_ARENA;
    plan(m, &a);
    for (i = 0; i < m->chain; i++) {
        tg_layer l;
        uint8_t *out = arena + ((((m->chain - 1u - i) & 1u) == 0) ? a.ping : a.pong);
        tg_layer_get(m, i, &l);
        dense(&l, in, i == 0 && !(m->flags & TG_MODEL_U8_INPUT), acc, out, i + 1u == m->chain && m->chain < m->n_layers);
        in = out;
        if (i + 1u == m->n_layers) emit(ctx, 0, out, (uint16_t)out_elems(&l));
    }
#ifndef TG_NO_CONV
    if (m->chain < m->n_layers) {
        chain_run r;
        tg_layer last;
        uint16_t y;
        r.m = m;
        r.a = &a;
        r.arena = arena;
        r.acc = acc;
        r.emit = emit;
        r.ctx = ctx;
        for (i = 0; i < TG_MAX_LAYERS; i++) r.made[i] = 0;
        tg_layer_get(m, (uint8_t)(m->n_layers - 1u), &last);
        for (y = 0; y < last.out_h; y++) ensure(&r, (uint8_t)(m->n_layers - 1u), y);
    }
#endif
    return TG_OK;
}

#ifndef TG_NO_GENERATE
/* ---- the generator's input ----------------------------------------------------------- */


void tg_latent(uint32_t seed, uint16_t index, uint8_t temperature, uint8_t label,
               uint8_t latent, uint8_t classes, int8_t *input)
{
    uint32_t s = seed ^ ((uint32_t)index << 16) ^ 0x9E3779B9u ^ index;
    uint8_t k;
    if (!s) s = 1;
    for (k = 0; k < 4; k++) tg_xorshift(&s); /* mix weak seeds */
    for (k = 0; k < latent; k++) {
        /* Three bytes summed: Irwin-Hall, mean 382.5, sd 128 (one unit = 1/32 after >> 2,
         * so sd 1.0 at temperature 64). */
        uint32_t v = tg_xorshift(&s);
        int32_t sum = (int32_t)(v & 0xffu) + (int32_t)((v >> 8) & 0xffu) +
                      (int32_t)((v >> 16) & 0xffu) - 382;
        int32_t z = mul_small(sum, temperature) >> 8;
        input[k] = (int8_t)(z < -128 ? -128 : (z > 127 ? 127 : z));
    }
    for (k = 0; k < classes; k++) input[latent + k] = (int8_t)(k + 1u == label ? 32 : 0);
}
#endif
