/* The firmware loop shared by every board. It owns no hardware: bytes go through the
 * board_* functions (tg_board.h). */
#include "tg_firmware.h"

#include "../engine/tg_engine.h"
#include "tg_board.h"
#include "tg_proto.h"

#include <stddef.h>

#ifdef TG_DIFFUSION
/* Hosted builds (the simulated board, the Pi runner) also serve diffusion models: their
 * working memory is allocated to fit the model. */
#include "../engine/tg_diffusion.h"
#include <stdlib.h>
static tg_diffusion diff;
static uint8_t *diff_arena;
static uint8_t *diff_pixels;
static const tg_diffusion *served;
void (*tg_memory_hook)(uint32_t *peak_kb, uint32_t *anon_kb, uint32_t *file_kb);

void tg_firmware_serve(const tg_diffusion *d)
{
    served = d;
}
#endif

/* Bytes of one output row the transmit buffer holds; boards set it from the model header
 * (TG_OUTPUT_ROW_BYTES) so no SRAM is wasted. */
#ifndef TG_TX_ROW_BYTES
#define TG_TX_ROW_BYTES 64u
#endif
/* The longest generator input (latent + one-hot label) this firmware takes. */
#define TG_MAX_GEN_INPUT 32u
/* The largest IMAGE frame: 6 bytes of header and TG_ROWS_PER_FRAME rows. */
#define TX_MAX (6u + TG_ROWS_PER_FRAME * TG_TX_ROW_BYTES)

static tg_model model;
static int model_status;
#ifndef TG_NO_GENERATE
static uint8_t tx[TX_MAX];
#endif
static uint8_t rx_buf[TG_RX_MAX + 8u];

typedef struct {
    uint16_t index;
    uint8_t label;
    uint8_t rows; /* rows waiting in tx */
    uint8_t first;
    uint16_t row_bytes;
} image_out;

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)v);
    put16(p + 2, (uint16_t)(v >> 16));
}

static void send(uint8_t type, const uint8_t *payload, uint16_t len)
{
    tg_send(board_putc, type, payload, len);
    board_flush();
}

#ifdef TG_SMALL
/* An ERROR with its code only (the host words it): the texts cost ~200 bytes of flash. */
static void send_error(uint8_t code)
{
    send(TG_MSG_ERROR, &code, 1);
}
#define send_text(type, code, text) send_error(code)
#else
static void send_text(uint8_t type, uint8_t code, const char *text)
{
    uint8_t buf[64];
    uint16_t n = 0;
    if (type == TG_MSG_ERROR) buf[n++] = code;
    while (*text && n < sizeof buf) buf[n++] = (uint8_t)*text++;
    send(type, buf, n);
}
#endif

static void send_hello(void)
{
    /* 17 bytes, then (firmware 1.2) the default steps and the arena in 32 bits. */
    uint8_t p[22];
    uint32_t arena = model_status == TG_OK ? model.arena_bytes : 0u;
    tg_layer last;
    p[0] = TG_PROTO_VERSION;
    p[1] = board_id();
    put16(p + 2, TG_FIRMWARE_VERSION);
    put32(p + 4, model_status == TG_OK ? model.hash : 0);
    put16(p + 8, TG_RX_MAX);
    p[12] = p[13] = p[14] = p[15] = 0;
    p[16] = p[17] = 0;
#ifdef TG_DIFFUSION
    if (model_status == TG_OK && model.kind == TG_KIND_DIFFUSION) {
        arena = diff.arena_bytes;
        p[17] = diff.steps;
    }
#endif
    put16(p + 10, (uint16_t)(arena > 0xFFFFu ? 0xFFFFu : arena));
    put32(p + 18, arena);
    if (model_status == TG_OK) {
        tg_layer_get(&model, (uint8_t)(model.n_layers - 1u), &last);
        p[12] = last.out_h;
        p[13] = (uint8_t)(last.out_c * last.out_w);
        /* A generator's latent (its input less the one-hot label); its labels, or a
         * classifier's classes; and what kind of model it is. */
        p[14] = model.kind == TG_KIND_GENERATOR ? (uint8_t)(model.in_c - model.classes) : 0u;
#ifdef TG_DIFFUSION
        if (model.kind == TG_KIND_DIFFUSION) p[14] = diff.latent;
#endif
        p[15] = model.classes;
        p[16] = model.kind;
    }
    send(TG_MSG_HELLO, p, sizeof p);
}

#ifndef TG_NO_GENERATE
static void flush_rows(image_out *o)
{
    if (!o->rows) return;
    put16(tx, o->index);
    tx[2] = o->label;
    tx[3] = o->first;
    tx[4] = o->rows;
    tx[5] = (uint8_t)o->row_bytes;
    send(TG_MSG_IMAGE, tx, (uint16_t)(6u + o->rows * o->row_bytes));
    o->first = (uint8_t)(o->first + o->rows);
    o->rows = 0;
}

static void on_row(void *ctx, uint16_t row, const uint8_t *data, uint16_t len)
{
    image_out *o = (image_out *)ctx;
    uint8_t *dst;
    uint16_t k;
    (void)row;
    if (len > TG_TX_ROW_BYTES) len = TG_TX_ROW_BYTES;
    o->row_bytes = len;
    dst = tx + 6u + (uint16_t)o->rows * len;
    for (k = 0; k < len; k++) dst[k] = data[k];
    if (++o->rows == TG_ROWS_PER_FRAME) flush_rows(o);
}
#endif

#ifndef TG_NO_CLASSIFY
/* The scores of a classifier run, into the RESULT being built. */
static void on_scores(void *ctx, uint16_t row, const uint8_t *data, uint16_t len)
{
    uint8_t *dst = (uint8_t *)ctx;
    uint16_t k;
    (void)row;
    if (len > TG_TX_ROW_BYTES) len = TG_TX_ROW_BYTES;
    for (k = 0; k < len; k++) dst[k] = data[k];
}
#endif

#ifndef TG_NO_GENERATE
/* A label for "roll": 1..classes from the seed, by rejection (no divide): draws under the
 * smallest power of two that covers the classes. */
static uint8_t roll(uint32_t seed, uint16_t index, uint8_t classes)
{
    uint32_t s = seed ^ 0xA5A5A5A5u ^ ((uint32_t)index * 2654435761u);
    uint8_t v, mask = 1u;
    while (mask < classes - 1u) mask = (uint8_t)(mask << 1 | 1u);
    if (!s) s = 1;
    do {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        v = (uint8_t)(s & mask);
    } while (v >= classes);
    return (uint8_t)(v + 1u);
}
#endif

/* Is a STOP (or any new command) waiting? Bytes read here are fed to the receiver. */
static tg_rx rx;
static int pending = 0;

#ifndef TG_NO_GENERATE
static int poll_rx(void)
{
    int c;
    while ((c = board_getc()) >= 0) {
        int n = tg_rx_byte(&rx, (uint8_t)c);
        if (n > 0) {
            pending = n;
            return 1;
        }
    }
    return 0;
}

static void send_done(uint16_t sent)
{
    uint8_t d[2];
    put16(d, sent);
    send(TG_MSG_DONE, d, 2);
}

#ifdef TG_DIFFUSION
#define STATS_BYTES 32u
#else
#define STATS_BYTES 16u
#endif

/* `read`: the weight bytes a streamed image read (hosted builds). */
static void send_stats(uint16_t index, uint8_t label, uint32_t cycles, uint32_t micros,
                       uint32_t arena, uint64_t read)
{
    uint8_t s[STATS_BYTES];
    uint16_t n = 16u;
    put16(s, index);
    s[2] = label;
    s[3] = 0;
    put32(s + 4, cycles);
    put32(s + 8, micros);
    put16(s + 12, board_stack_used());
    put16(s + 14, (uint16_t)(arena > 0xFFFFu ? 0xFFFFu : arena));
#ifdef TG_DIFFUSION
    if (tg_memory_hook) {
        /* Firmware 1.3: peak, anonymous and file-backed resident KiB, weight bytes read. */
        uint32_t peak, anon, file;
        tg_memory_hook(&peak, &anon, &file);
        put32(s + 16, peak);
        put32(s + 20, anon);
        put32(s + 24, file);
        put32(s + 28, read > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)read);
        n = 32u;
    }
#else
    (void)read;
#endif
    send(TG_MSG_STATS, s, n);
}

/* After an image: is a STOP, or another command, waiting? (The command is served next.) */
static int interrupted(void)
{
    if (poll_rx() && rx_buf[0] == TG_MSG_STOP) {
        pending = 0;
        return 1;
    }
    return pending != 0;
}

#ifdef TG_DIFFUSION
/* A diffusion run's previews: the decoded estimate of every `every`-th step. */
typedef struct {
    uint16_t index;
    uint8_t label;
    uint8_t steps;
    uint8_t height, width; /* the image's, for the STEP header */
    /* Time spent sending previews, left out of the image's STATS. */
    uint32_t sending;
} step_out;

static uint8_t step_tx[TG_HOST_PAYLOAD_MAX];

static void on_step(void *ctx, uint8_t step, const uint8_t *pixels, uint32_t len)
{
    step_out *o = (step_out *)ctx;
    uint32_t k, t0 = board_micros();
    if (TG_STEP_HEADER + len > sizeof step_tx) return;
    tg_step_header(step_tx, o->index, o->label, step, o->steps, o->height, o->width);
    for (k = 0; k < len; k++) step_tx[TG_STEP_HEADER + k] = pixels[k];
    send(TG_MSG_STEP, step_tx, (uint16_t)(TG_STEP_HEADER + len));
    o->sending += board_micros() - t0;
}

/* GENERATE on a diffusion model: each image is sampled in `steps` steps from the noise of
 * (seed, index), with a STEP preview every `every` steps, then sent as IMAGE rows. The
 * temperature byte does not apply: the sampler starts from the full noise. */
static void diffuse(uint8_t label, uint16_t count, uint32_t seed, uint16_t first,
                    uint8_t steps, uint8_t every)
{
    uint32_t i, end = (uint32_t)first + count, px = tg_diffusion_image_len(&diff), r;
    uint16_t sent = 0;
    tg_layer last;
    tg_layer_get(&diff.m, (uint8_t)(diff.m.n_layers - 1u), &last);
    if (!steps) steps = diff.steps;
    if (end > 0x10000u) end = 0x10000u;
    for (i = first; i < end; i++) {
        image_out o;
        step_out so;
        uint32_t t0, c0, t1, c1;
        uint64_t read0;
        int status;
        o.index = (uint16_t)i;
        o.label = label ? label : roll(seed, (uint16_t)i, diff.m.classes);
        o.rows = 0;
        o.first = 0;
        o.row_bytes = 0;
        so.index = o.index;
        so.label = o.label;
        so.steps = steps;
        so.height = last.out_h;
        so.width = (uint8_t)(last.out_c * last.out_w);
        so.sending = 0;
        read0 = diff.src ? diff.src->bytes : 0u;
        t0 = board_micros();
        c0 = board_cycles();
        status = tg_diffuse(&diff, seed, i, o.label, steps, every, every ? on_step : NULL, &so,
                            diff_pixels, diff_arena, diff.arena_bytes);
        c1 = board_cycles();
        t1 = board_micros();
        if (status != TG_OK) {
            send_text(TG_MSG_ERROR, TG_ERR_NO_MODEL, "the diffusion model failed to run");
            break;
        }
        for (r = 0; r < last.out_h; r++)
            on_row(&o, (uint16_t)r, diff_pixels + r * (px / last.out_h),
                   (uint16_t)(px / last.out_h));
        flush_rows(&o);
        /* The sampling's own time: the previews' decoding, not their sending. */
        send_stats((uint16_t)i, o.label, c1 - c0, t1 - t0 - so.sending, diff.arena_bytes,
                   diff.src ? diff.src->bytes - read0 : 0u);
        sent = (uint16_t)(i + 1u - first);
        if (interrupted()) break;
    }
    send_done(sent);
}
#endif

static void generate(const uint8_t *p, uint16_t len, uint8_t *arena, uint32_t arena_len)
{
    int8_t input[TG_MAX_GEN_INPUT];
    uint16_t count, first = 0, sent = 0;
    uint32_t seed, i, end;
    uint8_t label, temperature;
    /* 10 bytes: a run asked again after a cut, from the first image still owed; 12: a
     * diffusion run's steps and preview cadence too. */
    if (len != 8 && len != 10 && len != 12) {
        send_text(TG_MSG_ERROR, TG_ERR_BAD_ARGS, "GENERATE takes 8, 10 or 12 bytes");
        return;
    }
    if (len >= 10) first = (uint16_t)(p[8] | (p[9] << 8));
    label = p[0];
    count = (uint16_t)(p[1] | (p[2] << 8));
    seed = (uint32_t)p[3] | ((uint32_t)p[4] << 8) | ((uint32_t)p[5] << 16) | ((uint32_t)p[6] << 24);
    temperature = p[7];
#ifdef TG_DIFFUSION
    if (model_status == TG_OK && model.kind == TG_KIND_DIFFUSION) {
        if (label > diff.m.classes) {
            send_text(TG_MSG_ERROR, TG_ERR_BAD_ARGS, "label must be 0 (roll) or a class of the model");
            return;
        }
        diffuse(label, count, seed, first, len == 12 ? p[10] : 0u, len == 12 ? p[11] : 0u);
        return;
    }
#endif
    if (model_status != TG_OK || model.kind != TG_KIND_GENERATOR ||
        model.in_c > TG_MAX_GEN_INPUT) {
        send_text(TG_MSG_ERROR, TG_ERR_NO_MODEL, "no image model on this board");
        return;
    }
    if (label > model.classes) {
        send_text(TG_MSG_ERROR, TG_ERR_BAD_ARGS, "label must be 0 (roll) or a class of the model");
        return;
    }
    /* `sent` counts images whose STATS went out: a STOP after image i means i + 1 were
     * sent, which DONE must say (it said i). Indices stop at the last a u16 holds. */
    end = (uint32_t)first + count;
    if (end > 0x10000u) end = 0x10000u;
    for (i = first; i < end; i++) {
        image_out o;
        uint32_t c0, t0, c1, t1;
        o.index = (uint16_t)i;
        o.label = label ? label : roll(seed, (uint16_t)i, model.classes);
        o.rows = 0;
        o.first = 0;
        o.row_bytes = 0;
        tg_latent(seed, (uint16_t)i, temperature, o.label, (uint8_t)(model.in_c - model.classes),
                  model.classes, input);
        t0 = board_micros();
        c0 = board_cycles();
        tg_run(&model, input, arena, arena_len, on_row, &o);
        c1 = board_cycles();
        t1 = board_micros();
        flush_rows(&o);
        send_stats((uint16_t)i, o.label, c1 - c0, t1 - t0, model.arena_bytes, 0u);
        sent = (uint16_t)(i + 1u - first);
        if (interrupted()) break;
    }
    send_done(sent);
}
#endif

#ifndef TG_NO_CLASSIFY
/* CLASSIFY: the input is read where it arrived, in the receive buffer. */
static void classify(const uint8_t *p, uint16_t len, uint8_t *arena, uint32_t arena_len)
{
    uint8_t s[14 + TG_TX_ROW_BYTES];
    uint32_t c0, t0, c1, t1;
    uint16_t k;
    tg_layer last;
    if (model_status != TG_OK || model.kind != TG_KIND_CLASSIFIER) {
        send_text(TG_MSG_ERROR, TG_ERR_NO_MODEL, "no classifier on this board");
        return;
    }
    if (len != 2u + (uint32_t)model.in_c * model.in_h * model.in_w) {
        send_text(TG_MSG_ERROR, TG_ERR_BAD_ARGS, "CLASSIFY input length");
        return;
    }
    tg_layer_get(&model, (uint8_t)(model.n_layers - 1u), &last);
    t0 = board_micros();
    c0 = board_cycles();
    tg_run(&model, (const int8_t *)(p + 2), arena, arena_len, on_scores, s + 14);
    c1 = board_cycles();
    t1 = board_micros();
    s[0] = p[0];
    s[1] = p[1];
    s[2] = (uint8_t)tg_argmax(&model, arena);
    s[3] = last.out_c > TG_TX_ROW_BYTES ? TG_TX_ROW_BYTES : (uint8_t)last.out_c;
    put32(s + 4, c1 - c0);
    put32(s + 8, t1 - t0);
    put16(s + 12, board_stack_used());
    k = (uint16_t)(14u + s[3]);
    send(TG_MSG_RESULT, s, k);
}
#endif

static uint32_t arena_cap;

void tg_firmware_send(uint8_t type, const uint8_t *payload, uint16_t len)
{
    send(type, payload, len);
}

static void open_model(const uint8_t *blob, uint32_t len)
{
    model_status = blob ? tg_model_open(&model, blob, len) : TG_E_MAGIC;
#ifdef TG_DIFFUSION
    free(diff_arena);
    free(diff_pixels);
    diff_arena = diff_pixels = NULL;
    if (!blob && served) {
        /* The board's own streamed model: opened and checked by the board. */
        model = served->m;
        model_status = TG_OK;
    }
    if (model_status == TG_OK && model.kind == TG_KIND_DIFFUSION) {
        if (blob) model_status = tg_diffusion_open(&diff, blob, len);
        else diff = *served;
        if (model_status == TG_OK) {
            /* malloc's alignment covers the engine's 8 bytes. */
            diff_arena = (uint8_t *)malloc(diff.arena_bytes);
            diff_pixels = (uint8_t *)malloc(tg_diffusion_image_len(&diff));
            if (!diff_arena || !diff_pixels) model_status = TG_E_ARENA;
        }
        return;
    }
#endif
    if (model_status == TG_OK && model.arena_bytes > arena_cap) model_status = TG_E_ARENA;
}

void tg_firmware_load(const uint8_t *blob, uint32_t len)
{
    open_model(blob, len);
    send_hello();
}

void tg_firmware_run(const uint8_t *blob, uint32_t len, uint8_t *arena, uint32_t arena_len,
                     int (*keep_going)(void))
{
    tg_rx_init(&rx, rx_buf, sizeof rx_buf);
    arena_cap = arena_len;
    open_model(blob, len);
    /* A lone delimiter first: ends whatever half frame the host holds from before a reset. */
    board_putc(0);
    send_hello();
    if (model_status != TG_OK) send_text(TG_MSG_ERROR, TG_ERR_NO_MODEL, "model blob rejected");
    while (!keep_going || keep_going()) {
        int n = pending;
        pending = 0;
        if (!n) {
            int c = board_getc();
            if (c < 0) {
                board_idle();
                continue;
            }
            n = tg_rx_byte(&rx, (uint8_t)c);
            if (n == 0) continue;
            if (n == TG_RX_TOO_LONG) {
                send_text(TG_MSG_ERROR, TG_ERR_TOO_LONG, "frame too long");
                continue;
            }
            if (n < 0) {
                send_text(TG_MSG_ERROR, TG_ERR_BAD_FRAME, "bad frame");
                continue;
            }
        }
        switch (rx_buf[0]) {
        case TG_MSG_HELLO_REQ: send_hello(); break;
#ifndef TG_NO_GENERATE
        case TG_MSG_GENERATE: generate(rx_buf + 1, (uint16_t)(n - 1), arena, arena_len); break;
#endif
#ifndef TG_NO_CLASSIFY
        case TG_MSG_CLASSIFY: classify(rx_buf + 1, (uint16_t)(n - 1), arena, arena_len); break;
#endif
        case TG_MSG_STOP: break;
        default:
            if (!board_message(rx_buf, (uint16_t)n))
                send_text(TG_MSG_ERROR, TG_ERR_UNKNOWN, "unknown message");
            break;
        }
    }
}
