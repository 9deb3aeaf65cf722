/* main() of the microcontroller boards: the model comes from the generated header, the
 * arena is a static buffer of exactly the size the budget planned. */
#include "../common/tg_board.h"
#include "../common/tg_firmware.h"
#include "tg_model.h"

void board_init(void);

static uint8_t arena[TG_ARENA_BYTES] __attribute__((aligned(4)));

int main(void)
{
    board_init();
    tg_firmware_run(tg_model_blob, TG_MODEL_BYTES, arena, sizeof arena, 0);
    return 0;
}
