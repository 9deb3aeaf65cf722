/* The engine against corrupted model blobs, under AddressSanitizer and UBSan (issue #19,
 * item 8). Starting from a real blob (argv[1]: the shipped die, and two BitNet digit
 * classifiers of one training epoch as `tinygen export` writes them for a host and for
 * the CH32V003: tests/classifier.bin with packed weights, tests/classifier-coded.bin with
 * prefix-coded ones), it flips
 * every bit of the header and layer descriptors, a sample of the other bytes, and cuts the
 * blob at every length of its first part; after each change it puts the CRC right again,
 * so that the shape and offset checks, not the checksum, must catch the damage. Every
 * blob tg_model_open accepts is then run into an arena of exactly arena_bytes (a heap
 * block, so that ASan sees any byte written past it), for each label. A diffusion blob
 * (tests/diffusion.bin, a tiny model of the streaming-sd template) goes through
 * tg_diffusion_open and two sampler steps with previews instead, its diffusion block
 * flipped bit by bit like the header. The test passes
 * when nothing crashes and no sanitizer speaks. Run by `make -C firmware-stub test`. */
#include "../engine/tg_diffusion.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rows_seen;

static void emit(void *ctx, uint16_t row, const uint8_t *data, uint16_t len)
{
    uint32_t *sum = ctx;
    uint16_t i;
    for (i = 0; i < len; i++) *sum += data[i];
    (void)row;
    rows_seen++;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Re-signs a blob of `len` bytes: the CRC over bytes 12.. of its stated length, when that
 * length is one the blob can hold. */
static void resign(uint8_t *b, uint32_t len)
{
    uint32_t total;
    if (len < 12) return;
    total = get32(b + 4);
    if (total >= 12 && total <= len) put32(b + 8, tg_crc32(0, b + 12, total - 12u));
}

static unsigned opened, refused;

static void step_seen(void *ctx, uint8_t step, const uint8_t *pixels, uint32_t len)
{
    uint32_t *sum = ctx, i;
    for (i = 0; i < len; i++) *sum += pixels[i];
    (void)step;
    rows_seen++;
}

/* A diffusion blob that tg_model_open took: opened by the runner and sampled. */
static void try_diffusion(const uint8_t *copy, uint32_t len, const tg_model *m)
{
    tg_diffusion d;
    uint8_t label;
    if (tg_diffusion_open(&d, copy, len) != TG_OK) {
        refused++;
        return;
    }
    for (label = 1; label <= m->classes && label <= 2; label++) {
        uint8_t *arena = malloc(d.arena_bytes ? d.arena_bytes : 1);
        uint8_t *pixels = malloc(tg_diffusion_image_len(&d));
        uint32_t sum = 0;
        (void)tg_diffuse(&d, 7, label, label, 2, 1, step_seen, &sum, pixels, arena, d.arena_bytes);
        free(pixels);
        free(arena);
    }
}

/* Opens a copy of the blob in a block of its own size (aligned), runs what opens. */
static void try_blob(const uint8_t *src, uint32_t len)
{
    uint32_t words = (len + 3u) / 4u;
    uint32_t *copy = malloc((size_t)(words ? words : 1) * 4u);
    tg_model m;
    uint8_t label;
    memcpy(copy, src, len);
    if (tg_model_open(&m, (const uint8_t *)copy, len) != TG_OK) {
        refused++;
        free(copy);
        return;
    }
    opened++;
    if (m.kind == TG_KIND_DIFFUSION) {
        try_diffusion((const uint8_t *)copy, len, &m);
        free(copy);
        return;
    }
    for (label = 1; label <= (m.classes ? m.classes : 1); label++) {
        uint32_t in_len = (uint32_t)m.in_c * m.in_h * m.in_w, sum = 0;
        int8_t *input = malloc(in_len ? in_len : 1);
        uint8_t *arena = malloc(m.arena_bytes ? m.arena_bytes : 1);
        uint32_t i;
        for (i = 0; i < in_len; i++) input[i] = (int8_t)(i * 37u + label);
        if (m.kind == TG_KIND_GENERATOR && in_len >= m.classes)
            tg_latent(7, label, 64, label, (uint8_t)(in_len - m.classes), m.classes, input);
        (void)tg_run(&m, input, arena, m.arena_bytes, emit, &sum);
        if (m.kind == TG_KIND_CLASSIFIER) (void)tg_argmax(&m, arena); /* as the firmware does */
        free(arena);
        free(input);
        if (m.classes > 16) break; /* a damaged class count: one label is enough */
    }
    free(copy);
}

int main(int argc, char **argv)
{
    FILE *f;
    uint8_t *blob, *work;
    long n;
    uint32_t len, head, i;
    tg_model m;
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODEL.bin\n", argv[0]);
        return 2;
    }
    f = fopen(argv[1], "rb");
    if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 2;
    }
    len = (uint32_t)n;
    blob = malloc(len);
    work = malloc(len);
    if (fread(blob, 1, len, f) != len) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 2;
    }
    fclose(f);
    {
        uint32_t words = (len + 3u) / 4u;
        uint32_t *aligned = malloc((size_t)words * 4u);
        memcpy(aligned, blob, len);
        if (tg_model_open(&m, (const uint8_t *)aligned, len) != TG_OK) {
            printf("FAIL: %s does not open as it is\n", argv[1]);
            return 1;
        }
        free(aligned);
    }
    try_blob(blob, len);
    /* The header and the layer descriptors. */
    head = TG_BLOB_HEADER_BYTES + (uint32_t)m.n_layers * TG_DESCRIPTOR_BYTES;
    if (m.kind == TG_KIND_DIFFUSION) /* then the sigmoid table and the diffusion block */
        head += 256u + TG_DIFFUSION_BLOCK_BYTES + 8u * blob[head + 256u + 4u];
    if (head > len) head = len;
    for (i = 0; i < len; i += i < head ? 1u : 97u) {
        uint8_t bit;
        for (bit = 0; bit < 8; bit++) {
            if (i >= head && bit % 4) continue; /* two bits of a sampled weight byte */
            memcpy(work, blob, len);
            work[i] ^= (uint8_t)(1u << bit);
            if (i < 8 || i >= 12) resign(work, len);
            try_blob(work, len);
        }
        /* Extremes of each descriptor byte: 0 and 255. */
        if (i < head) {
            memcpy(work, blob, len);
            work[i] = 0;
            resign(work, len);
            try_blob(work, len);
            work[i] = 0xff;
            resign(work, len);
            try_blob(work, len);
        }
    }
    /* Values no bit flip reaches (found in review): the widest layer a descriptor holds,
     * and weight or bias offsets near 2^32, which wrapped 32-bit bounds checks. */
    for (i = 0; i < m.n_layers; i++) {
        uint8_t *d = work + TG_BLOB_HEADER_BYTES + i * TG_DESCRIPTOR_BYTES;
        unsigned v;
        for (v = 0; v < 4; v++) {
            memcpy(work, blob, len);
            if (v == 0) d[4] = d[5] = 0xff;           /* 65,535 output channels */
            if (v == 1) put32(d + 8, 0xfffffffcu);    /* weights just below 4 GB */
            if (v == 2) put32(d + 12, 0xfffffffcu);   /* biases just below 4 GB */
            if (v == 3) d[6] = d[7] = 0xff, d[4] = d[5] = 0x7f; /* 255x255 maps */
            resign(work, len);
            try_blob(work, len);
        }
    }
    /* Every value of the model header's fields: layer count, flags, kind, classes and the
     * input shape (bytes 12 to 19). */
    for (i = 12; i < 20 && i < len; i++) {
        unsigned v;
        for (v = 0; v < 256; v++) {
            memcpy(work, blob, len);
            work[i] = (uint8_t)v;
            resign(work, len);
            try_blob(work, len);
        }
    }
    /* Cut short at every length up to the end of the descriptors, then every 61 bytes,
     * the stated length kept (the blob says more than it has) or made to match. */
    for (i = 0; i < len; i += i < head ? 1u : 61u) {
        memcpy(work, blob, len);
        try_blob(work, i);
        if (i >= 12) {
            put32(work + 4, i);
            resign(work, i);
            try_blob(work, i);
        }
    }
    printf("%u damaged blobs refused, %u opened and run without a fault (%u rows)\n", refused,
           opened, rows_seen);
    free(blob);
    free(work);
    return 0;
}
