/* Start-up for the RV32EC boards (CH32V003 and qemu virt): stack, .data copy, .bss clear,
 * stack painting (for the high-water mark), main. The firmware polls and enables no
 * interrupt, so it carries no vector table (152 bytes of flash saved): mtvec stays 0 and
 * an exception restarts the firmware from _start. */
    .section .init, "ax"
    .globl _start
_start:
    j reset

reset:
    .option push
    .option norelax
    la gp, __global_pointer$
    .option pop
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
