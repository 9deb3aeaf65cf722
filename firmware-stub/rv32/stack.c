/* Stack high-water mark for the RV32EC boards: the start-up code paints the stack with
 * 0xAA; the deepest byte no longer painted tells how far the stack has grown. */
#include "../common/tg_board.h"

extern uint8_t _stack_bottom[], _stack_top[];

uint16_t board_stack_used(void)
{
    const uint8_t *p = _stack_bottom;
    while (p < _stack_top && *p == 0xAAu) p++;
    return (uint16_t)(_stack_top - p);
}
