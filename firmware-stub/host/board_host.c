/* The simulated board: the firmware loop built for the host, talking over the master side
 * of a pseudo-terminal. tinygen opens the slave side (/dev/pts/N) like any serial port.
 * Output is paced to the configured baud rate, so the link behaves like a real UART. */
#define _XOPEN_SOURCE 600
#define _DEFAULT_SOURCE
#include "../common/tg_board.h"
#include "../common/tg_firmware.h"
#include "../common/tg_proto.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static int fd = -1;
static uint32_t baud;
static uint8_t out[4096];
static size_t out_len;
static struct timespec boot, line_free; /* when the paced line is idle again */
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

void board_putc(uint8_t byte)
{
    if (out_len == sizeof out) board_flush();
    out[out_len++] = byte;
}

/* Waits up to 200 ms for room in the pty's buffer; 1 if there is room. */
static int wait_writable(void)
{
    struct pollfd p;
    p.fd = fd;
    p.events = POLLOUT;
    p.revents = 0;
    return poll(&p, 1, 200) > 0 && (p.revents & POLLOUT) && !(p.revents & (POLLHUP | POLLERR));
}

void board_flush(void)
{
    size_t off = 0;
    if (baud) {
        /* 10 bits per byte on an 8N1 line: wait until the previous bytes are "sent". */
        double t = now_s(), free_at = (double)line_free.tv_sec + (double)line_free.tv_nsec * 1e-9;
        double done;
        if (free_at > t) {
            double d = free_at - t;
            struct timespec s;
            s.tv_sec = (time_t)d;
            s.tv_nsec = (long)((d - (double)s.tv_sec) * 1e9);
            nanosleep(&s, NULL);
            t = free_at;
        }
        done = t + (double)out_len * 10.0 / (double)baud;
        line_free.tv_sec = (time_t)done;
        line_free.tv_nsec = (long)((done - (double)line_free.tv_sec) * 1e9);
    }
    while (off < out_len) {
        ssize_t n = write(fd, out + off, out_len - off);
        if (n > 0) {
            off += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno == EAGAIN && wait_writable()) {
            /* A listener that reads slowly (a loaded machine): the USB-serial adapter of a
             * real board would hold the bytes too, so wait for room rather than drop. */
            continue;
        } else {
            /* Nobody on the line (EIO), or no room for a while: the bytes are lost, as on
             * a real UART with no listener. */
            break;
        }
    }
    out_len = 0;
}

int board_getc(void)
{
    uint8_t c;
    ssize_t n = read(fd, &c, 1);
    return n == 1 ? c : -1;
}

void board_idle(void)
{
    struct pollfd p;
    p.fd = fd;
    p.events = POLLIN;
    p.revents = 0;
    if (poll(&p, 1, 20) <= 0 || !(p.revents & POLLIN)) {
        /* POLLHUP while no one has the port open returns at once: do not spin. */
        struct timespec s = {0, 5 * 1000 * 1000};
        if (p.revents & (POLLHUP | POLLERR)) nanosleep(&s, NULL);
    }
}

uint32_t board_cycles(void) { return 0; }

uint32_t board_micros(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint32_t)((t.tv_sec - boot.tv_sec) * 1000000L + (t.tv_nsec - boot.tv_nsec) / 1000L);
}

uint16_t board_stack_used(void) { return 0; }

/* The Pi runner reuses this file as its board: it sets its own id and message hook. */
uint8_t tg_host_board_id = TG_BOARD_SIM;
int (*tg_host_message_hook)(const uint8_t *frame, uint16_t len) = 0;

uint8_t board_id(void) { return tg_host_board_id; }

int board_message(const uint8_t *frame, uint16_t len)
{
    return tg_host_message_hook ? tg_host_message_hook(frame, len) : 0;
}

static int keep_going(void) { return !stop; }

/* Opens a pty; returns the master fd and writes the slave's path into `name`. */
int tg_sim_open_pty(char *name, size_t cap)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    const char *s;
    struct termios t;
    int sfd;
    if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0) return -1;
    s = ptsname(m);
    if (!s || strlen(s) + 1 > cap) return -1;
    strcpy(name, s);
    /* Raw mode on the line, so no byte is translated even before the host configures it.
     * Keep one slave fd open for that, then close it. */
    sfd = open(s, O_RDWR | O_NOCTTY);
    if (sfd >= 0) {
        if (tcgetattr(sfd, &t) == 0) {
            cfmakeraw(&t);
            tcsetattr(sfd, TCSANOW, &t);
        }
        close(sfd);
    }
    fcntl(m, F_SETFL, fcntl(m, F_GETFL) | O_NONBLOCK);
    return m;
}

/* Serves the firmware on `master` until SIGTERM/SIGINT. `arena` is the host's big arena. */
int tg_sim_run(int master, const uint8_t *blob, uint32_t len, uint32_t baud_rate)
{
    static uint8_t arena[64 * 1024];
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    fd = master;
    baud = baud_rate;
    clock_gettime(CLOCK_MONOTONIC, &boot);
    line_free = boot;
    tg_firmware_run(blob, len, arena, sizeof arena, keep_going);
    return 0;
}
