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

int tg_cobs_decode(uint8_t *buf, uint16_t len)
{
    uint16_t r = 0, w = 0;
    while (r < len) {
        uint8_t code = buf[r++], k;
        if (code == 0 || r + code - 1u > len) return -1;
        for (k = 1; k < code; k++) buf[w++] = buf[r++];
        if (code < 0xffu && r < len) buf[w++] = 0;
    }
    return w;
}

void tg_rx_init(tg_rx *rx, uint8_t *buf, uint16_t cap)
{
    rx->buf = buf;
    rx->cap = cap;
    rx->len = 0;
    rx->overflow = 0;
}

int tg_rx_byte(tg_rx *rx, uint8_t byte)
{
    int n;
    uint32_t crc;
    if (byte != 0) {
        if (rx->len < rx->cap) rx->buf[rx->len++] = byte;
        else rx->overflow = 1;
        return 0;
    }
    /* End of a frame: decode, check, and start over whatever happened. */
    if (rx->overflow) {
        rx->len = 0;
        rx->overflow = 0;
        return TG_RX_TOO_LONG;
    }
    if (rx->len == 0) return 0; /* an empty frame: a delimiter sent to resync */
    n = tg_cobs_decode(rx->buf, rx->len);
    rx->len = 0;
    if (n < 5) return TG_RX_BAD_COBS;
    crc = tg_crc32(0, rx->buf, (uint32_t)n - 4u);
    if ((uint8_t)crc != rx->buf[n - 4] || (uint8_t)(crc >> 8) != rx->buf[n - 3] ||
        (uint8_t)(crc >> 16) != rx->buf[n - 2] || (uint8_t)(crc >> 24) != rx->buf[n - 1])
        return TG_RX_BAD_CRC;
    return n - 4;
}
