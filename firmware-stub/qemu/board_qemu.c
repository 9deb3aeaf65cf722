/* qemu `virt` as an RV32EC board: the 16550 UART at 0x10000000, minstret as the counter
 * (exact under -icount shift=0). */
#include "../common/tg_board.h"
#include "../common/tg_proto.h"

#define UART ((volatile uint8_t *)0x10000000u)
#define UART_RBR 0
#define UART_THR 0
#define UART_LSR 5
#define LSR_DR 0x01u
#define LSR_THRE 0x20u

void board_init(void) {}

void board_putc(uint8_t byte)
{
    while (!(UART[UART_LSR] & LSR_THRE)) {
    }
    UART[UART_THR] = byte;
}

void board_flush(void) {}

int board_getc(void) { return (UART[UART_LSR] & LSR_DR) ? UART[UART_RBR] : -1; }

void board_idle(void) {}

uint32_t board_cycles(void)
{
    uint32_t v;
    __asm__ volatile("csrr %0, minstret" : "=r"(v));
    return v;
}

uint32_t board_micros(void) { return 0; }

uint8_t board_id(void) { return TG_BOARD_QEMU_RV32; }

/* No board-specific messages. */
int board_message(const uint8_t *frame, uint16_t len)
{
    (void)frame;
    (void)len;
    return 0;
}
