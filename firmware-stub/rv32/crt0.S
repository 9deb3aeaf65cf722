/* Start-up for the RV32EC boards (CH32V003 and qemu virt): a jump over the vector table,
 * then stack, .data copy, .bss clear, stack painting (for the high-water mark), main. */
    .section .init, "ax"
    .globl _start
_start:
    j reset
    .align 2
    /* Vector table (the CH32V003's 38 entries; this firmware polls, so every interrupt
     * lands in one handler that just returns). */
    .rept 38
    .word default_handler
    .endr

reset:
    la sp, _stack_top
    la a0, _data_lma
    la a1, _data_start
    la a2, _data_end
1:  bgeu a1, a2, 2f
    lw t0, 0(a0)
    sw t0, 0(a1)
    addi a0, a0, 4
    addi a1, a1, 4
    j 1b
2:  la a1, _bss_start
    la a2, _bss_end
3:  bgeu a1, a2, 4f
    sw zero, 0(a1)
    addi a1, a1, 4
    j 3b
    /* Paint the stack, up to a few words below sp, with 0xAA bytes. */
4:  la a1, _stack_bottom
    addi a2, sp, -16
    li t0, 0xAAAAAAAA
5:  bgeu a1, a2, 6f
    sw t0, 0(a1)
    addi a1, a1, 4
    j 5b
6:  call main
7:  j 7b

    .globl default_handler
default_handler:
    mret
