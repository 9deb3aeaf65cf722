/* The firmware loop every board runs: say HELLO, then serve GENERATE and friends. */
#ifndef TG_FIRMWARE_H
#define TG_FIRMWARE_H

#include <stdint.h>

/* 1.1: GENERATE takes a first index (a run asked again after a cut).
 * 1.2: HELLO gives the default steps and the arena in 32 bits; hosted builds serve
 * diffusion models, whose GENERATE takes steps and a preview cadence and sends STEP.
 * 1.3: a hosted board's diffusion STATS may add its memory and the weight bytes read. */
#define TG_FIRMWARE_VERSION 0x0103u /* 1.3 */
/* Image rows sent per IMAGE frame: the same on every board, so their streams match. */
#define TG_ROWS_PER_FRAME 8u
/* The longest frame a board accepts (type + payload, before COBS); the Pi runner takes
 * upload chunks and builds with a larger one. */
#ifndef TG_RX_MAX
#define TG_RX_MAX 32u
#endif

/* Swaps in another model blob (after an upload) and announces it with a HELLO. */
void tg_firmware_load(const uint8_t *blob, uint32_t len);
/* Sends one frame (for board code answering its own messages). */
void tg_firmware_send(uint8_t type, const uint8_t *payload, uint16_t len);

#ifdef TG_DIFFUSION
#include "../engine/tg_diffusion.h"
/* Serves a diffusion model the board opened itself (the Pi runner's streamed weights) at
 * the next tg_firmware_load(NULL, 0) or tg_firmware_run(NULL, 0, ...); NULL: none. It must
 * stay open while it is served. */
void tg_firmware_serve(const tg_diffusion *d);
/* Set by a board that can measure itself: its peak, anonymous and file-backed resident
 * memory in KiB, for the STATS of a diffusion image (firmware 1.3). */
extern void (*tg_memory_hook)(uint32_t *peak_kb, uint32_t *anon_kb, uint32_t *file_kb);
#endif

/* Runs forever on a board; on the host it returns when `keep_going` says so. */
void tg_firmware_run(const uint8_t *blob, uint32_t len, uint8_t *arena, uint32_t arena_len,
                     int (*keep_going)(void));

#endif
