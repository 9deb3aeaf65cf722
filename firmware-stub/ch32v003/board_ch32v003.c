/* CH32V003: the clock to 48 MHz (HSI 24 MHz x 2 through the PLL, one flash wait state),
 * USART1 at 115200 8N1 on PD5 (TX) / PD6 (RX), SysTick counting core cycles. Register
 * addresses and bits follow the CH32V003 reference manual (RCC, FLASH, GPIO, USART, STK). */
#include "../common/tg_board.h"
#include "../common/tg_proto.h"

#define REG(a) (*(volatile uint32_t *)(a))

#define RCC_CTLR REG(0x40021000u)
#define RCC_CFGR0 REG(0x40021004u)
#define RCC_APB2PCENR REG(0x40021018u)
#define FLASH_ACTLR REG(0x40022000u)
#define GPIOD_CFGLR REG(0x40011400u)
#define USART1_STATR REG(0x40013800u)
#define USART1_DATAR REG(0x40013804u)
#define USART1_BRR REG(0x40013808u)
#define USART1_CTLR1 REG(0x4001380Cu)
#define STK_CTLR REG(0xE000F000u)
#define STK_CNT REG(0xE000F008u)

#define RCC_PLLON (1u << 24)
#define RCC_PLLRDY (1u << 25)
#define RCC_SW_PLL 2u
#define RCC_SWS_MASK (3u << 2)
#define RCC_SWS_PLL (2u << 2)
#define APB2_AFIO (1u << 0)
#define APB2_IOPD (1u << 5)
#define APB2_USART1 (1u << 14)
#define USART_TXE (1u << 7)
#define USART_RXNE (1u << 5)
#define USART_UE (1u << 13)
#define USART_TE (1u << 3)
#define USART_RE (1u << 2)

#define HCLK_HZ 48000000u
#define BAUD 115200u

void board_init(void)
{
    /* 48 MHz: one wait state first, then the PLL (source HSI, x2), then switch. */
    FLASH_ACTLR = (FLASH_ACTLR & ~3u) | 1u;
    RCC_CFGR0 &= ~((1u << 16) | (0xfu << 4)); /* PLL from HSI, AHB not divided */
    RCC_CTLR |= RCC_PLLON;
    while (!(RCC_CTLR & RCC_PLLRDY)) {
    }
    RCC_CFGR0 = (RCC_CFGR0 & ~3u) | RCC_SW_PLL;
    while ((RCC_CFGR0 & RCC_SWS_MASK) != RCC_SWS_PLL) {
    }

    RCC_APB2PCENR |= APB2_AFIO | APB2_IOPD | APB2_USART1;
    /* PD5: alternate-function push-pull output, 10 MHz (0x9); PD6: floating input (0x4). */
    GPIOD_CFGLR = (GPIOD_CFGLR & ~(0xffu << 20)) | (0x9u << 20) | (0x4u << 24);
    USART1_BRR = (HCLK_HZ + BAUD / 2u) / BAUD; /* 417: 4-bit fraction included */
    USART1_CTLR1 = USART_UE | USART_TE | USART_RE;

    STK_CNT = 0;
    STK_CTLR = (1u << 2) | 1u; /* count HCLK, enabled */
}

void board_putc(uint8_t byte)
{
    while (!(USART1_STATR & USART_TXE)) {
    }
    USART1_DATAR = byte;
}

void board_flush(void) {}

int board_getc(void) { return (USART1_STATR & USART_RXNE) ? (int)(USART1_DATAR & 0xffu) : -1; }

void board_idle(void) {}

uint32_t board_cycles(void) { return STK_CNT; }

/* 48 cycles a microsecond, without a divide instruction: close enough for a log. */
/* Cycles / 48, without a divide (libgcc's would cost 260 bytes of flash): x / 16, then
 * / 3 by shifts and adds with one correction step (Hacker's Delight, divu3). */
uint32_t board_micros(void)
{
    uint32_t x = STK_CNT >> 4, q, r;
    q = (x >> 2) + (x >> 4);
    q += q >> 4;
    q += q >> 8;
    q += q >> 16;
    r = x - (q + (q << 1));
    return q + ((r + 5u + (r << 2)) >> 4);
}

uint8_t board_id(void) { return TG_BOARD_CH32V003; }

/* No board-specific messages. */
int board_message(const uint8_t *frame, uint16_t len)
{
    (void)frame;
    (void)len;
    return 0;
}
