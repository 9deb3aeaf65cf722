/* tinygen weight providers, for hosted Linux builds (the Pi runner and its benchmark): a
 * diffusion model file whose weights are read as the runner reaches them, so that peak
 * memory stays near one chunk of weights plus the activations, whatever the model's size.
 *
 *   ram       reads the whole file into memory (load-all: today's behaviour);
 *   read      one chunk buffer, filled by pread before each chunk;
 *   prefetch  two chunk buffers: a reader thread fills the next chunk while the engine
 *             computes on this one (the default);
 *   mmap      the file mapped, each chunk dropped with MADV_DONTNEED once used (a mapped
 *             file counts in resident memory once touched).
 *
 * Every provider gives the same image: only where the bytes come from differs. The head
 * (header, descriptors, tables) and the biases stay in memory. The file's CRC is checked as
 * it is opened, by reading it through once. */
#ifndef TG_STREAM_H
#define TG_STREAM_H

#include "tg_diffusion.h"

#include <pthread.h>
#include <stddef.h>

enum tg_provider { TG_PROVIDE_RAM = 0, TG_PROVIDE_READ = 1, TG_PROVIDE_PREFETCH = 2, TG_PROVIDE_MMAP = 3 };
#define TG_PROVIDERS 4

/* The largest model file a stream opens (4 GiB less a little: offsets are 32-bit). */
#define TG_STREAM_FILE_MAX 0xFFFFF000u

typedef struct {
    tg_weights w; /* first: the engine's view */
    int kind;
    int fd;
    uint32_t len;     /* the file's bytes */
    uint8_t *head;    /* header, descriptors and tables (or the whole file for ram) */
    uint32_t cap;     /* bytes of a chunk buffer */
    uint8_t *buf[2];  /* read: buf[0]; prefetch: front and back */
    int front;
    const uint8_t *map; /* mmap */
    uint32_t last_off, last_len; /* mmap: the range to drop at the next fetch */
    /* prefetch: the back buffer's range and state (0 empty, 1 wanted, 2 ready, 3 failed) */
    uint32_t back_off, back_len;
    int back_state, quit, thread_up;
    uint32_t misses; /* fetches the reader had not read ahead */
    pthread_t reader;
    pthread_mutex_t lock;
    pthread_cond_t cond;
} tg_stream;

/* "ram", "read", "prefetch" or "mmap" to a TG_PROVIDE_*, or -1. */
int tg_provider_parse(const char *name);
const char *tg_provider_name(int kind);

/* Opens the diffusion model at `path` with provider `kind` into `d` (chunk: bytes of rows
 * per fetch, 0 for TG_CHUNK_BYTES). A TG_* status; on success tg_stream_close(s, d) undoes
 * it. A file that cannot be read is TG_E_LENGTH, with errno set. */
int tg_stream_open(tg_stream *s, const char *path, int kind, uint32_t chunk, tg_diffusion *d);
void tg_stream_close(tg_stream *s, tg_diffusion *d);
/* Drops the file's pages from the page cache (a cold-cache run). */
void tg_stream_drop_cache(const tg_stream *s);

/* This process's memory from /proc/self/status, in KiB: peak resident (VmHWM), resident
 * anonymous and resident file-backed memory. 0 when it cannot be read. */
void tg_proc_memory(uint32_t *peak_kb, uint32_t *anon_kb, uint32_t *file_kb);

#endif
