/* Lockup: a fault where none can be taken. trigger_lockup sets FAULTMASK (execution
 * priority -1, as inside HardFault) and reads unmapped memory: the BusFault cannot
 * escalate, the core locks up. Hardware halts with DHCSR.S_LOCKUP; QEMU, which does not
 * model lockup, aborts ("qemu: fatal: Lockup: can't escalate ..."). A tool must say
 * what happened instead of reporting a socket error. */
#include "lab.h"

volatile uint32_t sink;

__attribute__((noinline)) void trigger_lockup(void)
{
    __asm volatile("cpsid f" ::: "memory");
    sink = *(volatile uint32_t *)LAB_UNMAPPED_ADDR;
}

int main(void)
{
    trigger_lockup();
    lab_idle();
}
