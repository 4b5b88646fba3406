/* Scenario 6: a fault in thread mode on the PSP with live FP state. main moves thread
 * mode onto a task stack (CONTROL.SPSEL=1), as an RTOS does, then task_entry loads
 * S0-S15 with known values (1.0, 2.0 ... 16.0 and FPSCR unchanged) and reads unmapped
 * memory. CONTROL.FPCA=1 and FPCCR.LSPEN=1 (reset value), so the BusFault frame is the
 * extended one (EXC_RETURN 0xFFFFFFED) with lazy stacking pending (FPCCR.LSPACT=1,
 * FPCAR = frame + 0x20): the S0-S15 slots in memory are stale, the true values are
 * still in the FPU. */
#include "lab.h"

uint64_t task_stack[256]; /* 2 KiB, 8-byte aligned */
volatile uint32_t sink;
const float fp_pattern[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

__attribute__((noinline)) void task_fault(void)
{
    __asm volatile(
        "vldm %0, {s0-s15}\n"
        "ldr  r0, [%1]\n"
        : : "r"(fp_pattern), "r"(LAB_UNMAPPED_ADDR + 0x100)
        : "r0", "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10",
          "s11", "s12", "s13", "s14", "s15", "memory");
}

__attribute__((noinline)) void task_entry(void)
{
    task_fault();
    sink++;
}

int main(void)
{
    SCB_SHCSR |= SHCSR_BUSFAULTENA;
    uint32_t top = (uint32_t)&task_stack[256];
    __asm volatile(
        "msr psp, %0\n"
        "mrs r1, control\n"
        "orr r1, r1, #2\n"
        "msr control, r1\n"
        "isb\n"
        : : "r"(top) : "r1", "memory");
    task_entry();
    lab_idle();
}
