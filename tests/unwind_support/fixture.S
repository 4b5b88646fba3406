/* Hand-written Cortex-M4 firmware for the synthetic unwinder tests: every prologue
   and its CFI are explicit, so the tests can lay out stacks word by word. */
    .syntax unified
    .thumb
#ifdef FIXTURE_EH_FRAME
    /* The same CFI in .eh_frame (pc-relative, as compilers emit for unwinding tables). */
    .cfi_sections .eh_frame
#else
    .cfi_sections .debug_frame
#endif

    .section .isr_vector, "a"
    .global g_pfnVectors
g_pfnVectors:
    .word _estack
    .word Reset_Handler      /* 1 */
    .word nmi_handler        /* 2 */
    .word HardFaultTrampoline /* 3 */
    .word fault_handler      /* 4 MemManage */
    .word fault_handler      /* 5 BusFault */
    .word fault_handler      /* 6 UsageFault */
    .word 0, 0, 0, 0
    .word svc_handler        /* 11 */
    .word 0, 0
    .word pendsv_handler     /* 14 */
    .word systick_handler    /* 15 */
    .word irq0_handler       /* 16 */
    .size g_pfnVectors, . - g_pfnVectors

    .text
.macro FUNC name
    .global \name
    .type \name, %function
    .thumb_func
\name:
.endm

FUNC Reset_Handler
    .cfi_startproc
    .cfi_undefined lr
    bl thread_main
    b .
    .cfi_endproc
    .size Reset_Handler, . - Reset_Handler

/* thread_main: push {r4-r6, lr} then calls mid. */
FUNC thread_main
    .cfi_startproc
    push {r4, r5, r6, lr}
    .cfi_def_cfa_offset 16
    .cfi_offset r4, -16
    .cfi_offset r5, -12
    .cfi_offset r6, -8
    .cfi_offset lr, -4
    bl mid
    .global ra_main
ra_main:
    nop
    bl nocfi
    .global ra_main2
ra_main2:
    b .
    .cfi_endproc
    .size thread_main, . - thread_main

/* mid: push {r7, lr}; sub sp, #8 then calls leaf. */
FUNC mid
    .cfi_startproc
    push {r7, lr}
    .cfi_def_cfa_offset 8
    .cfi_offset r7, -8
    .cfi_offset lr, -4
    sub sp, #8
    .cfi_def_cfa_offset 16
    bl leaf
    .global ra_mid
ra_mid:
    add sp, #8
    pop {r7, pc}
    .cfi_endproc
    .size mid, . - mid

/* leaf: pushes nothing. */
FUNC leaf
    .cfi_startproc
    nop
    .global leaf_body
leaf_body:
    nop
    nop
    bx lr
    .cfi_endproc
    .size leaf, . - leaf

/* nocfi: no CFI at all (hand-written assembly): push {r4, lr}; bl leaf. */
FUNC nocfi
    push {r4, lr}
    sub sp, #8
    bl leaf
    .global ra_nocfi
ra_nocfi:
    add sp, #8
    pop {r4, pc}
    .size nocfi, . - nocfi

/* SysTick: push {r4, lr}; bl isr_work. */
FUNC systick_handler
    .cfi_startproc
    push {r4, lr}
    .cfi_def_cfa_offset 8
    .cfi_offset r4, -8
    .cfi_offset lr, -4
    bl isr_work
    .global ra_systick
ra_systick:
    pop {r4, pc}
    .cfi_endproc
    .size systick_handler, . - systick_handler

FUNC isr_work
    .cfi_startproc
    push {r3, lr}
    .cfi_def_cfa_offset 8
    .cfi_offset r3, -8
    .cfi_offset lr, -4
    nop
    .global isr_work_body
isr_work_body:
    nop
    pop {r3, pc}
    .cfi_endproc
    .size isr_work, . - isr_work

/* IRQ0: same shape as SysTick, calls isr_work. */
FUNC irq0_handler
    .cfi_startproc
    push {r4, lr}
    .cfi_def_cfa_offset 8
    .cfi_offset r4, -8
    .cfi_offset lr, -4
    bl isr_work
    .global ra_irq0
ra_irq0:
    pop {r4, pc}
    .cfi_endproc
    .size irq0_handler, . - irq0_handler

FUNC fault_handler
    .cfi_startproc
    b .
    .cfi_endproc
    .size fault_handler, . - fault_handler

FUNC nmi_handler
    .cfi_startproc
    b .
    .cfi_endproc
    .size nmi_handler, . - nmi_handler

FUNC svc_handler
    .cfi_startproc
    b .
    .cfi_endproc
    .size svc_handler, . - svc_handler

FUNC pendsv_handler
    .cfi_startproc
    b .
    .cfi_endproc
    .size pendsv_handler, . - pendsv_handler

/* cortex-m-rt's trampoline: LR still EXC_RETURN when it branches to HardFault. */
FUNC HardFaultTrampoline
    .cfi_startproc
    mov r0, lr
    movs r1, #4
    tst r0, r1
    bne 0f
    mrs r0, MSP
    b HardFault
0:  mrs r0, PSP
    b HardFault
    .cfi_endproc
    .size HardFaultTrampoline, . - HardFaultTrampoline

/* A `-> !` user HardFault: never saves LR, then calls a helper (LR overwritten). */
FUNC HardFault
    .cfi_startproc
    sub sp, #8
    .cfi_def_cfa_offset 8
    bl hf_helper
    .global ra_hardfault
ra_hardfault:
    b .
    .cfi_endproc
    .size HardFault, . - HardFault

FUNC hf_helper
    .cfi_startproc
    push {r7, lr}
    .cfi_def_cfa_offset 8
    .cfi_offset r7, -8
    .cfi_offset lr, -4
    .global hf_helper_body
hf_helper_body:
    nop
    pop {r7, pc}
    .cfi_endproc
    .size hf_helper, . - hf_helper

/* recurse: push {r4, lr}; sub sp, #16; bl recurse. */
FUNC recurse
    .cfi_startproc
    push {r4, lr}
    .cfi_def_cfa_offset 8
    .cfi_offset r4, -8
    .cfi_offset lr, -4
    sub sp, #16
    .cfi_def_cfa_offset 24
    bl recurse
    .global ra_recurse
ra_recurse:
    add sp, #16
    pop {r4, pc}
    .cfi_endproc
    .size recurse, . - recurse

/* Last in .text: a `-> !` function whose last instruction is a call (to hf_helper), so
   its return address is the end of .text: no code is there. 8 bytes from a 4-aligned
   start, and .text is aligned to 4: end_of_text is the section's end. */
    .balign 4
FUNC last_caller
    .cfi_startproc
    push {r7, lr}
    .cfi_def_cfa_offset 8
    .cfi_offset r7, -8
    .cfi_offset lr, -4
    nop
    bl hf_helper
    .global end_of_text
end_of_text:
    .cfi_endproc
    .size last_caller, . - last_caller
