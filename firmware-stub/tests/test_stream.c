/* The weight providers (engine/tg_stream.c) against the engine's own in-memory run, under
 * ASan and UBSan: argv[1] is a diffusion model file (tests/diffusion.bin) and argv[2] a
 * scratch folder. Every provider, at the default chunk and at chunks small enough that
 * every layer takes several fetches, must draw the same image and the same previews as
 * tg_diffusion_open on the whole blob, for a few seeds and labels. A file cut short after
 * opening fails the draw with TG_E_LENGTH, and a damaged file is refused at open (the CRC
 * is checked as the file is read through). Run by `make -C firmware-stub test`. */
#define _XOPEN_SOURCE 600
#include "../engine/tg_stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures;

#define CHECK(cond, ...)                                                                 \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            failures++;                                                                  \
            fprintf(stderr, "test_stream: " __VA_ARGS__);                                \
            fputc('\n', stderr);                                                         \
        }                                                                                \
    } while (0)

static void on_step(void *ctx, uint8_t step, const uint8_t *pixels, uint32_t len)
{
    uint32_t *crc = ctx;
    *crc = tg_crc32(*crc, &step, 1);
    *crc = tg_crc32(*crc, pixels, len);
}

/* The CRC of one draw's previews and image; 0 with *status set when it failed. */
static uint32_t draw(const tg_diffusion *d, uint32_t seed, uint8_t label, int *status)
{
    uint32_t crc = 0;
    uint8_t *arena = malloc(d->arena_bytes), *px = malloc(tg_diffusion_image_len(d));
    *status = tg_diffuse(d, seed, seed % 5u, label, 0, 1, on_step, &crc, px, arena, d->arena_bytes);
    if (*status == TG_OK) crc = tg_crc32(crc, px, tg_diffusion_image_len(d));
    free(arena);
    free(px);
    return *status == TG_OK ? crc : 0;
}

static uint8_t *slurp(const char *path, uint32_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *b;
    long n;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    b = malloc((size_t)n);
    if (fread(b, 1, (size_t)n, f) != (size_t)n) n = 0;
    fclose(f);
    *len = (uint32_t)n;
    return b;
}

static void spill(const char *path, const uint8_t *b, uint32_t len)
{
    FILE *f = fopen(path, "wb");
    fwrite(b, 1, len, f);
    fclose(f);
}

int main(int argc, char **argv)
{
    static const uint32_t chunks[] = {0, 4096, 200, 1};
    uint32_t len, want[3], c, k;
    uint8_t *blob;
    tg_diffusion ram;
    char cut[512];
    int kind, status, draws = 0;
    if (argc != 3 || !(blob = slurp(argv[1], &len))) {
        fprintf(stderr, "usage: test_stream MODEL SCRATCH_DIR\n");
        return 2;
    }
    CHECK(tg_diffusion_open(&ram, blob, len) == TG_OK, "%s does not open", argv[1]);
    for (k = 0; k < 3; k++) {
        want[k] = draw(&ram, 11u + 7u * k, (uint8_t)(1u + k % ram.m.classes), &status);
        CHECK(status == TG_OK, "the in-memory draw fails");
    }
    for (kind = 0; kind < TG_PROVIDERS; kind++) {
        for (c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
            tg_stream s;
            tg_diffusion d;
            int r = tg_stream_open(&s, argv[1], kind, chunks[c], &d);
            CHECK(r == TG_OK, "%s (chunk %u) does not open: %d", tg_provider_name(kind), chunks[c], r);
            if (r) continue;
            CHECK(kind == TG_PROVIDE_RAM || d.src == &s.w, "%s is not streamed", tg_provider_name(kind));
            for (k = 0; k < 3; k++) {
                uint32_t got = draw(&d, 11u + 7u * k, (uint8_t)(1u + k % d.m.classes), &status);
                CHECK(got == want[k], "%s (chunk %u) draws %08x, not %08x", tg_provider_name(kind),
                      chunks[c], got, want[k]);
                draws++;
            }
            CHECK(kind == TG_PROVIDE_RAM || s.w.bytes > 0, "%s counts no weight bytes", tg_provider_name(kind));
            tg_stream_close(&s, &d);
        }
    }
    /* A file cut short once opened: the draw fails, nothing is read past it. */
    snprintf(cut, sizeof cut, "%s/cut.bin", argv[2]);
    for (kind = TG_PROVIDE_READ; kind <= TG_PROVIDE_PREFETCH; kind++) {
        tg_stream s;
        tg_diffusion d;
        spill(cut, blob, len);
        CHECK(tg_stream_open(&s, cut, kind, 200, &d) == TG_OK, "the copy does not open");
        CHECK(truncate(cut, len / 2) == 0, "cannot cut the copy");
        draw(&d, 1, 1, &status);
        CHECK(status == TG_E_LENGTH, "%s draws from a cut file (%d)", tg_provider_name(kind), status);
        tg_stream_close(&s, &d);
    }
    /* Damaged or short files are refused at open, by every provider. */
    for (kind = 0; kind < TG_PROVIDERS; kind++) {
        tg_stream s;
        tg_diffusion d;
        blob[len - 5] ^= 0x40;
        spill(cut, blob, len);
        blob[len - 5] ^= 0x40;
        CHECK(tg_stream_open(&s, cut, kind, 0, &d) == TG_E_HASH, "%s opens a damaged file",
              tg_provider_name(kind));
        spill(cut, blob, len - 4);
        CHECK(tg_stream_open(&s, cut, kind, 0, &d) != TG_OK, "%s opens a short file",
              tg_provider_name(kind));
    }
    {
        tg_stream s;
        tg_diffusion d;
        CHECK(tg_stream_open(&s, "/nonexistent/model.bin", TG_PROVIDE_READ, 0, &d) == TG_E_LENGTH,
              "a missing file opens");
    }
    unlink(cut);
    printf("%d draws through %d providers, %d failures\n", draws, TG_PROVIDERS, failures);
    free(blob);
    return failures != 0;
}
