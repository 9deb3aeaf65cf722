/* tinygen weight providers: see tg_stream.h. */
#define _DEFAULT_SOURCE
#define _XOPEN_SOURCE 600
#include "tg_stream.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const names[TG_PROVIDERS] = {"ram", "read", "prefetch", "mmap"};

int tg_provider_parse(const char *name)
{
    int k;
    for (k = 0; k < TG_PROVIDERS; k++)
        if (!strcmp(name, names[k])) return k;
    return -1;
}

const char *tg_provider_name(int kind)
{
    return kind >= 0 && kind < TG_PROVIDERS ? names[kind] : "?";
}

static uint32_t rd32le(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Reads exactly len bytes at off; 0 on success. */
static int pread_all(int fd, uint8_t *buf, uint32_t len, uint32_t off)
{
    while (len) {
        ssize_t n = pread(fd, buf, len, (off_t)off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (n == 0) errno = EIO; /* the file is shorter than its header says */
            return -1;
        }
        buf += n;
        len -= (uint32_t)n;
        off += (uint32_t)n;
    }
    return 0;
}

static int in_file(const tg_stream *s, uint32_t off, uint32_t len)
{
    return len <= s->cap && off <= s->len && len <= s->len - off;
}

static const uint8_t *fetch_read(tg_weights *w, uint32_t off, uint32_t len, uint32_t noff,
                                 uint32_t nlen)
{
    tg_stream *s = (tg_stream *)(void *)w;
    (void)noff;
    (void)nlen;
    if (!in_file(s, off, len) || pread_all(s->fd, s->buf[0], len, off)) return NULL;
    return s->buf[0];
}

static const uint8_t *fetch_mmap(tg_weights *w, uint32_t off, uint32_t len, uint32_t noff,
                                 uint32_t nlen)
{
    tg_stream *s = (tg_stream *)(void *)w;
    long page = sysconf(_SC_PAGESIZE);
    (void)noff;
    (void)nlen;
    if (s->last_len) {
        /* The pages of the chunk just used go; one shared with this chunk comes back from
         * the page cache when it is touched. */
        uintptr_t a = (uintptr_t)(s->map + s->last_off) & ~(uintptr_t)(page - 1);
        uintptr_t b = (uintptr_t)(s->map + s->last_off + s->last_len);
        madvise((void *)a, (size_t)(b - a), MADV_DONTNEED);
    }
    if (!in_file(s, off, len)) return NULL;
    s->last_off = off;
    s->last_len = len;
    return s->map + off;
}

/* prefetch: the reader thread fills the back buffer with the range asked for. */
static void *reader(void *arg)
{
    tg_stream *s = (tg_stream *)arg;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        uint32_t off, len;
        uint8_t *dst;
        int ok;
        while (s->back_state != 1 && !s->quit) pthread_cond_wait(&s->cond, &s->lock);
        if (s->quit) break;
        off = s->back_off;
        len = s->back_len;
        dst = s->buf[1 - s->front];
        pthread_mutex_unlock(&s->lock);
        ok = pread_all(s->fd, dst, len, off) == 0;
        pthread_mutex_lock(&s->lock);
        s->back_state = ok ? 2 : 3;
        pthread_cond_broadcast(&s->cond);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static const uint8_t *fetch_prefetch(tg_weights *w, uint32_t off, uint32_t len, uint32_t noff,
                                     uint32_t nlen)
{
    tg_stream *s = (tg_stream *)(void *)w;
    int ok;
    if (!in_file(s, off, len)) return NULL;
    pthread_mutex_lock(&s->lock);
    /* The reader is never mid-read of the back buffer past here. */
    while (s->back_state == 1) pthread_cond_wait(&s->cond, &s->lock);
    if (s->back_state == 2 && s->back_off == off && s->back_len == len) {
        s->front = 1 - s->front;
        ok = 1;
    } else {
        /* Not read ahead (the first fetch, or a pass the runner did not announce). */
        s->misses++;
        pthread_mutex_unlock(&s->lock);
        ok = pread_all(s->fd, s->buf[s->front], len, off) == 0;
        pthread_mutex_lock(&s->lock);
    }
    s->back_state = 0;
    if (ok && nlen && in_file(s, noff, nlen)) {
        s->back_off = noff;
        s->back_len = nlen;
        s->back_state = 1;
        pthread_cond_broadcast(&s->cond);
    }
    pthread_mutex_unlock(&s->lock);
    return ok ? s->buf[s->front] : NULL;
}

static void release(tg_stream *s)
{
    if (s->thread_up) {
        pthread_mutex_lock(&s->lock);
        s->quit = 1;
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->reader, NULL);
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->cond);
        s->thread_up = 0;
    }
    if (s->map) munmap((void *)s->map, s->len);
    s->map = NULL;
    free(s->buf[0]);
    free(s->buf[1]);
    s->buf[0] = s->buf[1] = NULL;
    free(s->head);
    s->head = NULL;
    if (s->fd >= 0) close(s->fd);
    s->fd = -1;
}

/* The bytes before the first weights or biases: the head. */
static int head_bytes(int fd, uint32_t len, uint32_t *out)
{
    uint8_t h[TG_BLOB_HEADER_BYTES], d[TG_DESCRIPTOR_BYTES];
    uint32_t i, n, first = len;
    if (len < TG_BLOB_HEADER_BYTES || pread_all(fd, h, sizeof h, 0)) return TG_E_MAGIC;
    if (rd32le(h) != TG_BLOB_MAGIC) return TG_E_MAGIC;
    if (rd32le(h + 4) != len) return TG_E_LENGTH; /* a file is one whole blob */
    n = h[12];
    if (!n || n > TG_MAX_LAYERS || TG_BLOB_HEADER_BYTES + n * TG_DESCRIPTOR_BYTES > len)
        return TG_E_SHAPE;
    for (i = 0; i < n; i++) {
        uint32_t w, b;
        if (pread_all(fd, d, sizeof d, TG_BLOB_HEADER_BYTES + i * TG_DESCRIPTOR_BYTES)) return TG_E_LENGTH;
        w = rd32le(d + 8);
        b = rd32le(d + 12);
        if (w && w < first) first = w;
        if (b && b < first) first = b;
    }
    *out = first;
    return TG_OK;
}

int tg_stream_open(tg_stream *s, const char *path, int kind, uint32_t chunk, tg_diffusion *d)
{
    struct stat st;
    uint32_t have = 0, crc = 0, off;
    tg_model m;
    int r;
    memset(s, 0, sizeof *s);
    s->fd = -1;
    s->kind = kind;
    if (kind < 0 || kind >= TG_PROVIDERS) return TG_E_UNSUPPORTED;
    s->fd = open(path, O_RDONLY);
    if (s->fd < 0) return TG_E_LENGTH;
    if (fstat(s->fd, &st) != 0 || st.st_size <= 0 || (uint64_t)st.st_size > TG_STREAM_FILE_MAX) {
        release(s);
        errno = EFBIG;
        return TG_E_LENGTH;
    }
    s->len = (uint32_t)st.st_size;
    if (kind == TG_PROVIDE_RAM) {
        /* Load-all: the engine checks the CRC of the copy. */
        s->head = (uint8_t *)malloc(s->len);
        if (!s->head) r = TG_E_ARENA;
        else if (pread_all(s->fd, s->head, s->len, 0)) r = TG_E_LENGTH;
        else r = tg_diffusion_open(d, s->head, s->len);
        if (r) release(s);
        return r;
    }
    if ((r = head_bytes(s->fd, s->len, &have)) != TG_OK) {
        release(s);
        return r;
    }
    /* The CRC of bytes 12.. of the file, read through once in chunks. */
    s->cap = TG_CHUNK_BYTES;
    s->buf[0] = (uint8_t *)malloc(s->cap);
    s->head = (uint8_t *)malloc(have);
    if (!s->buf[0] || !s->head) {
        release(s);
        return TG_E_ARENA;
    }
    for (off = 12; off < s->len; off += s->cap) {
        uint32_t n = s->len - off < s->cap ? s->len - off : s->cap;
        if (pread_all(s->fd, s->buf[0], n, off)) {
            release(s);
            return TG_E_LENGTH;
        }
        crc = tg_crc32(crc, s->buf[0], n);
    }
    if (pread_all(s->fd, s->head, have, 0)) {
        release(s);
        return TG_E_LENGTH;
    }
    if ((r = tg_model_open_head(&m, s->head, have, crc)) != TG_OK ||
        (m.kind != TG_KIND_DIFFUSION && (r = TG_E_UNSUPPORTED))) {
        release(s);
        return r;
    }
    /* The chunk buffers: as large as the largest fetch. */
    free(s->buf[0]);
    s->cap = tg_diffusion_fetch_bytes(&m, chunk);
    s->buf[0] = NULL;
    if (kind != TG_PROVIDE_MMAP) {
        s->buf[0] = (uint8_t *)malloc(s->cap);
        if (kind == TG_PROVIDE_PREFETCH) s->buf[1] = (uint8_t *)malloc(s->cap);
        if (!s->buf[0] || (kind == TG_PROVIDE_PREFETCH && !s->buf[1])) {
            release(s);
            return TG_E_ARENA;
        }
    }
    switch (kind) {
    case TG_PROVIDE_READ: s->w.fetch = fetch_read; break;
    case TG_PROVIDE_MMAP:
        s->map = (const uint8_t *)mmap(NULL, s->len, PROT_READ, MAP_SHARED, s->fd, 0);
        if (s->map == (const uint8_t *)MAP_FAILED) {
            s->map = NULL;
            release(s);
            return TG_E_ARENA;
        }
        s->w.fetch = fetch_mmap;
        break;
    default:
        s->w.fetch = fetch_prefetch;
        if (pthread_mutex_init(&s->lock, NULL) || pthread_cond_init(&s->cond, NULL) ||
            pthread_create(&s->reader, NULL, reader, s)) {
            release(s);
            return TG_E_ARENA;
        }
        s->thread_up = 1;
        break;
    }
    if ((r = tg_diffusion_open_streamed(d, s->head, have, crc, &s->w, chunk)) != TG_OK) release(s);
    s->misses = 0; /* the biases' fetches at open were not read ahead */
    return r;
}

void tg_stream_close(tg_stream *s, tg_diffusion *d)
{
    tg_diffusion_close(d);
    release(s);
}

void tg_stream_drop_cache(const tg_stream *s)
{
    if (s->fd >= 0) posix_fadvise(s->fd, 0, 0, POSIX_FADV_DONTNEED);
}

void tg_proc_memory(uint32_t *peak_kb, uint32_t *anon_kb, uint32_t *file_kb)
{
    char line[128];
    FILE *f = fopen("/proc/self/status", "r");
    *peak_kb = *anon_kb = *file_kb = 0;
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        unsigned long v;
        if (sscanf(line, "VmHWM: %lu", &v) == 1) *peak_kb = (uint32_t)v;
        else if (sscanf(line, "RssAnon: %lu", &v) == 1) *anon_kb = (uint32_t)v;
        else if (sscanf(line, "RssFile: %lu", &v) == 1) *file_kb = (uint32_t)v;
    }
    fclose(f);
}
