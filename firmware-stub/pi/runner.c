/* The tinygen runner for a Raspberry Pi (Linux, aarch64): the shared firmware loop on a
 * serial port, plus model upload. Usage:
 *
 *   tinygen-runner --port /dev/serial0 [--baud 115200] DIR
 *   tinygen-runner --pty DIR            (makes a pseudo-terminal and prints its path)
 *
 * DIR is the runner's own folder: the model lives in DIR/model.bin. An upload is written
 * to DIR/.upload.tmp, checked (size limit, CRC-32 of the whole), synced, and renamed over
 * model.bin; nothing the host sends is ever used as a file name. A link cut mid-upload
 * leaves the old model in place. The model file is mapped, not read: its pages (the
 * layers' weights) come from the file as the engine reaches them, layer by layer. */
#define _DEFAULT_SOURCE
#define _XOPEN_SOURCE 600
#include "../common/tg_firmware.h"
#include "../common/tg_proto.h"
#include "../engine/tg_engine.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#define MODEL_LIMIT (64u * 1024u * 1024u) /* bytes */

int tg_sim_open_pty(char *name, size_t cap);
int tg_sim_run(int master, const uint8_t *blob, uint32_t len, uint32_t baud);
extern uint8_t tg_host_board_id;
extern int (*tg_host_message_hook)(const uint8_t *frame, uint16_t len);

static char dir[512];
static const uint8_t *mapped;
static size_t mapped_len;

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

/* Maps DIR/model.bin (if any); the old mapping goes. */
static void map_model(void)
{
    char path[600];
    struct stat st;
    int fd;
    if (mapped) munmap((void *)mapped, mapped_len);
    mapped = NULL;
    mapped_len = 0;
    path_in(path, sizeof path, "model.bin");
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
        map_model();
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

int main(int argc, char **argv)
{
    const char *port = NULL;
    unsigned baud = 115200;
    int use_pty = 0, i, fd;
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc) port = argv[++i];
        else if (!strcmp(argv[i], "--baud") && i + 1 < argc) baud = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--pty")) use_pty = 1;
        else if (argv[i][0] != '-') snprintf(dir, sizeof dir, "%s", argv[i]);
        else {
            fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (!dir[0] || (!port && !use_pty)) {
        fprintf(stderr, "usage: tinygen-runner (--port DEV [--baud N] | --pty) DIR\n");
        return 2;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "cannot use %s: %s\n", dir, strerror(errno));
        return 1;
    }
    drop_upload(); /* a half upload from before a power cut */
    map_model();
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
    /* A real UART paces itself; a pty needs no pacing. */
    return tg_sim_run(fd, mapped, (uint32_t)mapped_len, 0);
}
