/* tinygen serial protocol codec, shared by every board. */
#include "tg_proto.h"

#include "../engine/tg_engine.h"

/* COBS with the code byte chosen by looking ahead at most 254 bytes into the logical
 * stream type | payload | crc, which lives in three pieces; `at` reads across them. */
typedef struct {
    uint8_t type;
    const uint8_t *payload;
    uint16_t len;
    uint8_t crc[4];
} frame_src;

static uint8_t at(const frame_src *f, uint16_t i)
{
    if (i == 0) return f->type;
    if (i <= f->len) return f->payload[i - 1u];
    return f->crc[i - 1u - f->len];
}

void tg_step_header(uint8_t *p, uint16_t index, uint8_t label, uint8_t step, uint8_t steps,
                    uint8_t height, uint8_t width)
{
    p[0] = (uint8_t)index;
    p[1] = (uint8_t)(index >> 8);
    p[2] = label;
    p[3] = step;
    p[4] = steps;
    p[5] = height;
    p[6] = width;
}

void tg_send(tg_putc_fn put, uint8_t type, const uint8_t *payload, uint16_t len)
{
    frame_src f;
    uint32_t crc = tg_crc32(0, &type, 1);
    uint16_t total = (uint16_t)(len + 5u), i = 0;
    crc = tg_crc32(crc, payload, len);
    f.type = type;
    f.payload = payload;
    f.len = len;
    f.crc[0] = (uint8_t)crc;
    f.crc[1] = (uint8_t)(crc >> 8);
    f.crc[2] = (uint8_t)(crc >> 16);
    f.crc[3] = (uint8_t)(crc >> 24);
    for (;;) {
        /* A block: up to 254 non-zero bytes, then (implicitly) a zero or the end. */
        uint16_t run = 0, k;
        while (i + run < total && run < 254u && at(&f, (uint16_t)(i + run)) != 0) run++;
        put((uint8_t)(run + 1u));
        for (k = 0; k < run; k++) put(at(&f, (uint16_t)(i + k)));
        i = (uint16_t)(i + run);
        if (i >= total) break;
        if (run < 254u) i++; /* the zero this block stands for */
        else if (i >= total) break;
    }
    put(0);
}

void tg_rx_init(tg_rx *rx, uint8_t *buf, uint16_t cap)
{
    rx->buf = buf;
    rx->cap = cap;
    rx->len = 0;
    rx->left = 0;
    rx->zero = 0;
    rx->seen = 0;
    rx->overflow = 0;
}

/* COBS is decoded as the bytes arrive, straight into the buffer: a code byte says how
 * many data bytes follow (left) and whether a zero comes after them (written only once
 * the next block shows that more follows). */
int tg_rx_byte(tg_rx *rx, uint8_t byte)
{
    int n, bad;
    uint32_t crc;
    if (byte != 0) {
        rx->seen = 1;
        if (rx->left == 0) { /* a code byte */
            rx->left = (uint8_t)(byte - 1u);
            if (!rx->zero) {
                rx->zero = byte != 0xffu;
                return 0;
            }
            rx->zero = byte != 0xffu;
            byte = 0;
        } else {
            rx->left--;
        }
        if (rx->len < rx->cap) rx->buf[rx->len++] = byte;
        else rx->overflow = 1;
        return 0;
    }
    /* End of a frame: check it, and start over whatever happened. */
    if (!rx->seen) return 0; /* an empty frame: a delimiter sent to resync */
    n = rx->len;
    /* Too long; or a block cut short, or no room for a CRC. */
    bad = rx->overflow ? TG_RX_TOO_LONG : (rx->left || n < 5) ? TG_RX_BAD_COBS : 0;
    tg_rx_init(rx, rx->buf, rx->cap);
    if (bad) return bad;
    crc = tg_crc32(0, rx->buf, (uint32_t)n - 4u);
    if ((uint8_t)crc != rx->buf[n - 4] || (uint8_t)(crc >> 8) != rx->buf[n - 3] ||
        (uint8_t)(crc >> 16) != rx->buf[n - 2] || (uint8_t)(crc >> 24) != rx->buf[n - 1])
        return TG_RX_BAD_CRC;
    return n - 4;
}
