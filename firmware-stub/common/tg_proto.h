/* tinygen serial protocol (docs/protocol.md): frames are type | payload | CRC-32 (LE),
 * COBS-encoded and ended by a zero byte. The receiver resynchronises at every zero. */
#ifndef TG_PROTO_H
#define TG_PROTO_H

#include <stdint.h>

#define TG_PROTO_VERSION 1u

/* host -> board */
#define TG_MSG_HELLO_REQ 0x01u
#define TG_MSG_GENERATE 0x02u
#define TG_MSG_STOP 0x03u
#define TG_MSG_UPLOAD_BEGIN 0x05u /* total u32, crc32 u32 */
#define TG_MSG_UPLOAD_CHUNK 0x06u /* offset u32, bytes */
#define TG_MSG_UPLOAD_END 0x07u
#define TG_MSG_CLASSIFY 0x08u /* tag u16, input bytes */
/* board -> host */
#define TG_MSG_HELLO 0x81u
#define TG_MSG_IMAGE 0x82u
#define TG_MSG_STATS 0x83u
#define TG_MSG_LOG 0x84u
#define TG_MSG_ERROR 0x85u
#define TG_MSG_DONE 0x86u
#define TG_MSG_ACK 0x87u /* the message acknowledged u8, next offset u32 */
#define TG_MSG_RESULT 0x88u /* tag u16, class u8, n u8, cycles u32, micros u32, stack u16, n scores */
#define TG_MSG_STEP 0x89u   /* a diffusion step's preview: TG_STEP_HEADER bytes, then pixels */

/* The STEP header: index u16, label u8, step u8 (0-based), steps u8, height u8, width u8. */
#define TG_STEP_HEADER 7u
/* The longest payload a host takes (a body of 4096 bytes less type and CRC). */
#define TG_HOST_PAYLOAD_MAX 4091u

/* Error codes carried by ERROR frames. */
#define TG_ERR_BAD_FRAME 1u    /* CRC or COBS failure */
#define TG_ERR_UNKNOWN 2u      /* a message type this firmware does not know */
#define TG_ERR_BAD_ARGS 3u     /* a known message with a wrong payload */
#define TG_ERR_NO_MODEL 4u     /* the model blob did not open */
#define TG_ERR_TOO_LONG 5u     /* a frame longer than this board's receive buffer */
#define TG_ERR_UPLOAD 6u       /* an upload out of order, too large, or failing its check */
#define TG_ERR_STORAGE 7u      /* the board could not write the model file */

/* Boards, as HELLO names them. */
#define TG_BOARD_SIM 0u
#define TG_BOARD_QEMU_RV32 1u
#define TG_BOARD_CH32V003 2u
#define TG_BOARD_PI 3u

typedef void (*tg_putc_fn)(uint8_t byte);

/* Sends one frame: COBS(type | payload | crc) then 0x00. No buffer beyond the payload. */
void tg_send(tg_putc_fn put, uint8_t type, const uint8_t *payload, uint16_t len);

/* Frame receiver: feed bytes; when a whole, valid frame is in, tg_rx_byte returns its
 * length (type + payload, CRC stripped) and buf holds it. Returns 0 while collecting and
 * a negative TG_RX_* code for a damaged frame (already resynchronised). */
#define TG_RX_BAD_CRC (-1)
#define TG_RX_BAD_COBS (-2)
#define TG_RX_TOO_LONG (-3)
typedef struct {
    uint8_t *buf;
    uint16_t cap;
    uint16_t len;     /* decoded bytes so far */
    uint8_t left;     /* data bytes still to come in the current COBS block */
    uint8_t zero;     /* the current block stands for a trailing zero */
    uint8_t seen;     /* a byte of this frame has arrived */
    uint8_t overflow; /* the decoded frame outgrew the buffer */
} tg_rx;

/* Writes a STEP header into p (TG_STEP_HEADER bytes); the pixels follow it. */
void tg_step_header(uint8_t *p, uint16_t index, uint8_t label, uint8_t step, uint8_t steps,
                    uint8_t height, uint8_t width);

void tg_rx_init(tg_rx *rx, uint8_t *buf, uint16_t cap);
int tg_rx_byte(tg_rx *rx, uint8_t byte);

#endif
