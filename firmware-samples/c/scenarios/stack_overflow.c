/* Scenario 7: a stack overflow. recurse() eats 64 bytes a level until the main
 * stack (top of RAM, growing down over .bss and .data) runs off the bottom of RAM at
 * 0x20000000. The push that crosses it faults, and stacking the exception frame below
 * RAM fails too: STKERR. gdb cannot unwind from here; isrscope must still explain it. */
#include "lab.h"

volatile uint32_t depth;
const volatile uint32_t limit = 0xFFFFFFFFu; /* never reached: keeps the recursion unbounded at run time (in flash, out of reach of the overflow) */

__attribute__((noinline)) uint32_t recurse(uint32_t n)
{
    volatile uint32_t scratch[12];
    scratch[0] = n;
    depth = n;
    if (n == limit) return n;
    return recurse(n + 1) + scratch[0];
}

int main(void)
{
    SCB_SHCSR |= SHCSR_BUSFAULTENA;
    lab_dsb_isb();
    depth = recurse(0);
    lab_idle();
}
