/* The tinygen runner for a Raspberry Pi (Linux, aarch64): the shared firmware loop on a
 * serial port, plus model upload. Usage:
 *
 *   tinygen-runner [--provider P] [--chunk BYTES] --port /dev/serial0 [--baud 115200] DIR
 *   tinygen-runner [--provider P] --pty DIR   (makes a pseudo-terminal and prints its path)
 *   tinygen-runner [--provider P] [--chunk BYTES] --draw MODEL|none [--seed N] [--label L]
 *                  [--steps N] [--cold]
 *
 * A diffusion model's weights are streamed from its file by provider P (ram, read,
 * prefetch or mmap: engine/tg_stream.h; prefetch by default), so the runner's memory stays
 * near one chunk of weights plus the activations; its STATS carry the runner's peak memory
 * and the weight bytes each image read. --draw runs one image of MODEL and prints one line
 * of figures (the memory benchmark's instrument, bench/stream/run.sh); `--draw none` prints
 * the same binary's memory with no model, the baseline. --cold drops the file from the page
 * cache after it is opened.
 *
 * DIR is the runner's own folder: the model lives in DIR/model.bin. An upload is written
 * to DIR/.upload.tmp, checked (size limit, CRC-32 of the whole), synced, and renamed over
 * model.bin; nothing the host sends is ever used as a file name. A link cut mid-upload
 * leaves the old model in place. Other models' files are mapped, not read. */
#define _DEFAULT_SOURCE
#define _XOPEN_SOURCE 600
#include "../common/tg_firmware.h"
#include "../common/tg_proto.h"
#include "../engine/tg_engine.h"
#include "../engine/tg_stream.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MODEL_LIMIT (64u * 1024u * 1024u) /* bytes */

int tg_sim_open_pty(char *name, size_t cap);
int tg_sim_run(int master, const uint8_t *blob, uint32_t len, uint32_t baud);
extern uint8_t tg_host_board_id;
extern int (*tg_host_message_hook)(const uint8_t *frame, uint16_t len);

static char dir[512];
static const uint8_t *mapped;
static size_t mapped_len;
static int provider = TG_PROVIDE_PREFETCH;
static uint32_t chunk; /* 0: TG_CHUNK_BYTES */
static tg_stream stream;
static tg_diffusion streamed;
static int streaming;

/* The upload in progress. */
static int up_fd = -1;
static uint32_t up_total, up_crc, up_next, up_running;

static void path_in(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static void ack(uint8_t what, uint32_t next)
{
    uint8_t p[5] = {what, (uint8_t)next, (uint8_t)(next >> 8), (uint8_t)(next >> 16),
                    (uint8_t)(next >> 24)};
    tg_firmware_send(TG_MSG_ACK, p, sizeof p);
}

static void fail(uint8_t code, const char *text)
{
    uint8_t p[80];
    size_t n = strlen(text);
    if (n > sizeof p - 1) n = sizeof p - 1;
    p[0] = code;
    memcpy(p + 1, text, n);
    tg_firmware_send(TG_MSG_ERROR, p, (uint16_t)(n + 1));
}

static void drop_upload(void)
{
    char tmp[600];
    if (up_fd >= 0) close(up_fd);
    up_fd = -1;
    path_in(tmp, sizeof tmp, ".upload.tmp");
    unlink(tmp);
}

/* Is the file at `path` a diffusion model (header byte 14)? */
static int is_diffusion(const char *path)
{
    uint8_t h[TG_BLOB_HEADER_BYTES];
    int fd = open(path, O_RDONLY), yes = 0;
    if (fd < 0) return 0;
    yes = read(fd, h, sizeof h) == (ssize_t)sizeof h && h[14] == TG_KIND_DIFFUSION;
    close(fd);
    return yes;
}

/* Opens DIR/model.bin (if any); the old model goes. A diffusion model is streamed by the
 * chosen provider; any other (or one the stream refuses, which the firmware then reports)
 * is mapped. */
static void load_model(void)
{
    char path[600];
    struct stat st;
    int fd;
    tg_firmware_serve(NULL);
    if (streaming) tg_stream_close(&stream, &streamed);
    streaming = 0;
    if (mapped) munmap((void *)mapped, mapped_len);
    mapped = NULL;
    mapped_len = 0;
    path_in(path, sizeof path, "model.bin");
    if (provider != TG_PROVIDE_RAM && is_diffusion(path) &&
        tg_stream_open(&stream, path, provider, chunk, &streamed) == TG_OK) {
        streaming = 1;
        tg_firmware_serve(&streamed);
        return;
    }
    fd = open(path, O_RDONLY);
    if (fd < 0) return;
    if (fstat(fd, &st) == 0 && st.st_size > 0 && (size_t)st.st_size <= MODEL_LIMIT) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p != MAP_FAILED) {
            mapped = p; /* page-aligned, so 4-byte aligned for the engine */
            mapped_len = (size_t)st.st_size;
        }
    }
    close(fd);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static int on_message(const uint8_t *f, uint16_t len)
{
    char tmp[600], final_path[600];
    switch (f[0]) {
    case TG_MSG_UPLOAD_BEGIN:
        if (len != 9) return fail(TG_ERR_BAD_ARGS, "UPLOAD_BEGIN takes 8 bytes"), 1;
        drop_upload();
        up_total = rd32(f + 1);
        up_crc = rd32(f + 5);
        if (up_total == 0 || up_total > MODEL_LIMIT)
            return fail(TG_ERR_UPLOAD, "model too large for this runner"), 1;
        path_in(tmp, sizeof tmp, ".upload.tmp");
        up_fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (up_fd < 0) return fail(TG_ERR_STORAGE, strerror(errno)), 1;
        up_next = 0;
        up_running = 0;
        ack(TG_MSG_UPLOAD_BEGIN, 0);
        return 1;
    case TG_MSG_UPLOAD_CHUNK: {
        uint32_t off, n;
        if (len < 5 || up_fd < 0) return fail(TG_ERR_UPLOAD, "no upload in progress"), 1;
        off = rd32(f + 1);
        n = (uint32_t)len - 5u;
        /* A chunk again (its ACK was lost) or ahead of a lost one: say where we are. */
        if (off != up_next || up_next + n > up_total) {
            ack(TG_MSG_UPLOAD_CHUNK, up_next);
            return 1;
        }
        if (write(up_fd, f + 5, n) != (ssize_t)n) {
            drop_upload();
            return fail(TG_ERR_STORAGE, "could not write the model file"), 1;
        }
        up_running = tg_crc32(up_running, f + 5, n);
        up_next += n;
        ack(TG_MSG_UPLOAD_CHUNK, up_next);
        return 1;
    }
    case TG_MSG_UPLOAD_END: {
        int dfd;
        if (up_fd < 0) return fail(TG_ERR_UPLOAD, "no upload in progress"), 1;
        if (up_next != up_total || up_running != up_crc) {
            drop_upload();
            return fail(TG_ERR_UPLOAD, "upload verify failed: size or CRC differs; kept the old model"), 1;
        }
        if (fsync(up_fd) != 0) {
            drop_upload();
            return fail(TG_ERR_STORAGE, "could not sync the model file"), 1;
        }
        close(up_fd);
        up_fd = -1;
        path_in(tmp, sizeof tmp, ".upload.tmp");
        path_in(final_path, sizeof final_path, "model.bin");
        if (rename(tmp, final_path) != 0) {
            unlink(tmp);
            return fail(TG_ERR_STORAGE, "could not replace the model file"), 1;
        }
        dfd = open(dir, O_RDONLY);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
        ack(TG_MSG_UPLOAD_END, up_total);
        load_model();
        tg_firmware_load(mapped, (uint32_t)mapped_len);
        return 1;
    }
    default: return 0;
    }
}

static int open_port(const char *path, unsigned baud)
{
    struct termios t;
    speed_t speed = baud == 9600 ? B9600 : baud == 57600 ? B57600 : baud == 230400 ? B230400
                  : baud == 460800 ? B460800 : baud == 921600 ? B921600 : B115200;
    int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) return -1;
    if (tcgetattr(fd, &t) == 0) {
        cfmakeraw(&t);
        cfsetispeed(&t, speed);
        cfsetospeed(&t, speed);
        tcsetattr(fd, TCSANOW, &t);
    }
    return fd;
}

static uint32_t micros_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint32_t)((uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u);
}

/* --draw: one image of `path` through the provider, and one line of figures. */
static int draw(const char *path, uint32_t seed, unsigned label, unsigned steps, int cold)
{
    uint32_t peak, anon, file, t0, t1, crc;
    uint8_t *arena, *pixels;
    int r;
    if (!strcmp(path, "none")) {
        tg_proc_memory(&peak, &anon, &file);
        printf("provider=none weights=0 micros=0 crc=0 peak_kb=%u anon_kb=%u file_kb=%u read=0 misses=0\n",
               peak, anon, file);
        return 0;
    }
    r = tg_stream_open(&stream, path, provider, chunk, &streamed);
    if (r != TG_OK) {
        fprintf(stderr, "cannot open the diffusion model %s (engine status %d%s%s)\n", path, r,
                r == TG_E_LENGTH ? ": " : "", r == TG_E_LENGTH ? strerror(errno) : "");
        return 1;
    }
    if (!label || label > streamed.m.classes) {
        fprintf(stderr, "--label must be 1..%u for this model\n", streamed.m.classes);
        return 2;
    }
    if (cold) tg_stream_drop_cache(&stream);
    arena = (uint8_t *)malloc(streamed.arena_bytes);
    pixels = (uint8_t *)malloc(tg_diffusion_image_len(&streamed));
    if (!arena || !pixels) {
        fprintf(stderr, "out of memory for the model's %u-byte arena\n", streamed.arena_bytes);
        return 1;
    }
    t0 = micros_now();
    r = tg_diffuse(&streamed, seed, 0, (uint8_t)label, (uint8_t)steps, 0, NULL, NULL, pixels,
                   arena, streamed.arena_bytes);
    t1 = micros_now();
    if (r != TG_OK) {
        fprintf(stderr, "the draw failed (engine status %d): the model file changed or cannot be read\n", r);
        return 1;
    }
    crc = tg_crc32(0, pixels, tg_diffusion_image_len(&streamed));
    tg_proc_memory(&peak, &anon, &file);
    printf("provider=%s weights=%u micros=%u crc=%08x peak_kb=%u anon_kb=%u file_kb=%u read=%llu misses=%u\n",
           tg_provider_name(provider), stream.len, t1 - t0, crc, peak, anon, file,
           (unsigned long long)stream.w.bytes, stream.misses);
    return 0;
}

int main(int argc, char **argv)
{
    const char *port = NULL, *model = NULL;
    unsigned baud = 115200, label = 1, steps = 0;
    uint32_t seed = 1;
    int use_pty = 0, cold = 0, i, fd;
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--provider") && i + 1 < argc) {
            provider = tg_provider_parse(argv[++i]);
            if (provider < 0) {
                fprintf(stderr, "unknown provider %s: use ram, read, prefetch or mmap\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--chunk") && i + 1 < argc) chunk = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--draw") && i + 1 < argc) model = argv[++i];
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) seed = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--label") && i + 1 < argc) label = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--cold")) cold = 1;
        else if (!strcmp(argv[i], "--port") && i + 1 < argc) port = argv[++i];
        else if (!strcmp(argv[i], "--baud") && i + 1 < argc) baud = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--pty")) use_pty = 1;
        else if (argv[i][0] != '-') snprintf(dir, sizeof dir, "%s", argv[i]);
        else {
            fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (model) return draw(model, seed, label, steps > 255u ? 255u : steps, cold);
    if (!dir[0] || (!port && !use_pty)) {
        fprintf(stderr, "usage: tinygen-runner [--provider ram|read|prefetch|mmap] [--chunk BYTES]\n"
                        "         (--port DEV [--baud N] | --pty) DIR\n"
                        "       tinygen-runner [--provider P] --draw MODEL|none [--seed N] [--label L] [--steps N] [--cold]\n");
        return 2;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "cannot use %s: %s\n", dir, strerror(errno));
        return 1;
    }
    drop_upload(); /* a half upload from before a power cut */
    load_model();
    if (use_pty) {
        char name[128];
        fd = tg_sim_open_pty(name, sizeof name);
        if (fd < 0) {
            perror("pty");
            return 1;
        }
        printf("tinygen-sim: serial on %s\n", name);
        fflush(stdout);
    } else {
        fd = open_port(port, baud);
        if (fd < 0) {
            fprintf(stderr, "cannot open %s: %s\n", port, strerror(errno));
            return 1;
        }
    }
    tg_host_board_id = TG_BOARD_PI;
    tg_host_message_hook = on_message;
    tg_memory_hook = tg_proc_memory;
    /* A real UART paces itself; a pty needs no pacing. */
    return tg_sim_run(fd, streaming ? NULL : mapped, (uint32_t)mapped_len, 0);
}
