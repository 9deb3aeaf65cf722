/* C side of the golden-frame check: every frame in golden-frames.txt must come out of
 * tg_send byte for byte, and tg_rx must decode its wire bytes back to type + payload.
 * Also: garbage before a frame is skipped, a flipped bit is caught, and the engine's CRC
 * matches the check value. Run by `make -C firmware-stub test`. */
#include "../common/tg_proto.h"
#include "../engine/tg_engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t sent[8192];
static size_t sent_len;
static void put(uint8_t b)
{
    if (sent_len < sizeof sent) sent[sent_len++] = b;
}

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    if (strcmp(s, "-") == 0) return 0;
    while (s[0] && s[1] && n < cap) {
        unsigned v;
        if (sscanf(s, "%2x", &v) != 1) break;
        out[n++] = (uint8_t)v;
        s += 2;
    }
    return n;
}

static int failures;
#define CHECK(cond, ...)                                                                     \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                      \
            printf(__VA_ARGS__);                                                             \
            printf("\n");                                                                    \
            failures++;                                                                      \
        }                                                                                    \
    } while (0)

static int decode_cap(const uint8_t *wire, size_t n, uint8_t *out, int *status, uint16_t cap)
{
    static uint8_t buf[4096];
    tg_rx rx;
    size_t i;
    int got = 0;
    tg_rx_init(&rx, buf, cap);
    *status = 0;
    for (i = 0; i < n; i++) {
        int r = tg_rx_byte(&rx, wire[i]);
        if (r > 0) {
            memcpy(out, buf, (size_t)r);
            got = r;
        } else if (r < 0) {
            *status = r;
        }
    }
    return got;
}

static int decode_all(const uint8_t *wire, size_t n, uint8_t *out, int *status)
{
    return decode_cap(wire, n, out, status, 4096);
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "tests/golden-frames.txt";
    FILE *f = fopen(path, "r");
    char line[8192];
    int frames = 0, steps_checked = 0;
    if (!f) {
        printf("cannot open %s\n", path);
        return 2;
    }
    CHECK(tg_crc32(0, (const uint8_t *)"123456789", 9) == 0xCBF43926u, "crc check value");
    {
        /* A block whose code promises more bytes than come before the delimiter. */
        const uint8_t short_block[] = {0x08, 0x01, 0x02, 0x03, 0x04, 0x05, 0x00};
        uint8_t out[16];
        int status, n = decode_all(short_block, sizeof short_block, out, &status);
        CHECK(n == 0 && status == TG_RX_BAD_COBS, "short block: %d %d", n, status);
    }
    while (fgets(line, sizeof line, f)) {
        char name[64], kind_hex[8], payload_hex[4096], wire_hex[4096];
        static uint8_t payload[2048], wire[2048], decoded[2048];
        unsigned kind;
        size_t plen, wlen;
        int n, status;
        if (line[0] == '#' || line[0] == '\n') continue;
        if (sscanf(line, "%63s %7s %4095s %4095s", name, kind_hex, payload_hex, wire_hex) != 4) {
            CHECK(0, "malformed line: %s", line);
            continue;
        }
        sscanf(kind_hex, "%x", &kind);
        plen = unhex(payload_hex, payload, sizeof payload);
        wlen = unhex(wire_hex, wire, sizeof wire);
        if (strcmp(name, "step") == 0) {
            /* The firmware's STEP header, as the golden file has it. */
            static const uint8_t px[6] = {0, 64, 255, 0, 9, 200};
            uint8_t built[TG_STEP_HEADER + sizeof px];
            tg_step_header(built, 0x0102u, 6, 3, 8, 2, 3);
            memcpy(built + TG_STEP_HEADER, px, sizeof px);
            CHECK(kind == TG_MSG_STEP && plen == sizeof built && memcmp(built, payload, plen) == 0,
                  "step: the firmware's header differs from the golden frame");
            steps_checked++;
        }
        sent_len = 0;
        tg_send(put, (uint8_t)kind, payload, (uint16_t)plen);
        CHECK(sent_len == wlen && memcmp(sent, wire, wlen) == 0, "%s: encoder differs", name);
        n = decode_all(wire, wlen, decoded, &status);
        CHECK(n == (int)plen + 1 && decoded[0] == kind &&
                  memcmp(decoded + 1, payload, plen) == 0,
              "%s: decoder differs (%d)", name, n);
        /* Garbage (a cut frame ends at the next delimiter), then the frame: the receiver
         * reports the damaged one and takes the good one. */
        {
            static uint8_t noisy[2100];
            const uint8_t junk[] = {0x13, 0x37, 0x00, 0x99, 0x05, 0x00};
            memcpy(noisy, junk, sizeof junk);
            memcpy(noisy + sizeof junk, wire, wlen);
            n = decode_all(noisy, wlen + sizeof junk, decoded, &status);
            CHECK(n == (int)plen + 1, "%s: no resync after garbage", name);
        }
        /* A receiver one byte too small reports the frame as too long, and takes the
         * same frame once it has room. */
        {
            static uint8_t twice[4200];
            memcpy(twice, wire, wlen);
            memcpy(twice + wlen, wire, wlen);
            n = decode_cap(twice, wlen, decoded, &status, (uint16_t)(plen + 4u));
            CHECK(n == 0 && status == TG_RX_TOO_LONG, "%s: overflow not reported", name);
            n = decode_cap(twice, 2 * wlen, decoded, &status, (uint16_t)(plen + 5u));
            CHECK(n == (int)plen + 1, "%s: exact fit refused", name);
        }
        /* Cut before its last byte, the frame is damaged (COBS or CRC), then resyncs. */
        {
            static uint8_t cut[4200];
            memcpy(cut, wire, wlen - 2u);
            cut[wlen - 2u] = 0;
            memcpy(cut + wlen - 1u, wire, wlen);
            n = decode_all(cut, wlen - 1u, decoded, &status);
            CHECK(n == 0 && (status == TG_RX_BAD_COBS || status == TG_RX_BAD_CRC),
                  "%s: cut frame accepted", name);
            n = decode_all(cut, 2 * wlen - 1u, decoded, &status);
            CHECK(n == (int)plen + 1, "%s: no resync after a cut frame", name);
        }
        /* A flipped bit never passes. */
        if (wlen > 3) {
            wire[1] ^= 0x04;
            n = decode_all(wire, wlen, decoded, &status);
            CHECK(n == 0 && status < 0, "%s: corrupted frame accepted", name);
        }
        frames++;
    }
    fclose(f);
    CHECK(frames >= 10, "only %d golden frames", frames);
    CHECK(steps_checked == 1, "no golden STEP frame");
    printf("%d golden frames, %d failures\n", frames, failures);
    return failures ? 1 : 0;
}
