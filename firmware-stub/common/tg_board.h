/* What each board provides to the shared firmware loop (board code lives in each board's
 * own folder: host/, qemu/, ch32v003/, pi/). */
#ifndef TG_BOARD_H
#define TG_BOARD_H

#include <stdint.h>

/* Sends one byte on the serial link (may block while the line is busy). */
void board_putc(uint8_t byte);
/* Pushes out anything buffered (a frame is complete). */
void board_flush(void);
/* The next received byte, or -1 when none is waiting. */
int board_getc(void);
/* Waits a little for input (sleep on the host, nothing on a microcontroller). */
void board_idle(void);
/* A free-running counter: retired instructions on qemu, core cycles on the CH32V003,
 * 0 where there is none. */
uint32_t board_cycles(void);
/* Microseconds since boot (0 where there is no clock). */
uint32_t board_micros(void);
/* Deepest stack use seen so far, in bytes (0 where it is not measured). */
uint16_t board_stack_used(void);
/* Which board this is (TG_BOARD_*). */
uint8_t board_id(void);
/* A message the shared loop does not know (type first): 1 if the board handled it. */
int board_message(const uint8_t *frame, uint16_t len);

#endif
