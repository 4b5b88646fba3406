/* Scenario 3: UsageFaults, one per build (LAB_UF_* selects which), each with the
 * UsageFault handler enabled so UsageFault_Handler is entered directly.
 *   LAB_UF_UNDEFINSTR  an undefined instruction (UDF) in execute_undefined
 *   LAB_UF_INVSTATE    a call through a function pointer without the Thumb bit
 *   LAB_UF_DIVBYZERO   an integer division by zero with CCR.DIV_0_TRP set
 *   LAB_UF_UNALIGNED   a word load from an odd address with CCR.UNALIGN_TRP set */
#include "lab.h"

volatile uint32_t sink;
volatile int divisor; /* zero, from .bss */
uint8_t buffer[16] __attribute__((aligned(4)));

__attribute__((noinline)) void execute_undefined(void)
{
    __asm volatile(".short 0xde00" ::: "memory"); /* UDF #0 */
}

__attribute__((noinline)) void callback_target(void)
{
    sink = 0xC0FFEE;
}

__attribute__((noinline)) void call_through_pointer(void (*fn)(void))
{
    fn();
    sink++;
}

__attribute__((noinline)) int divide(int a, int b)
{
    return a / b;
}

__attribute__((noinline)) uint32_t load_word(const uint8_t *p)
{
    return *(const volatile uint32_t *)p;
}

int main(void)
{
    SCB_SHCSR |= SHCSR_USGFAULTENA;
#if defined(LAB_UF_DIVBYZERO)
    SCB_CCR |= CCR_DIV_0_TRP;
#elif defined(LAB_UF_UNALIGNED)
    SCB_CCR |= CCR_UNALIGN_TRP;
#endif
    lab_dsb_isb();
#if defined(LAB_UF_UNDEFINSTR)
    execute_undefined();
#elif defined(LAB_UF_INVSTATE)
    /* The pointer a corrupted callback table would hold: the address without bit 0. */
    call_through_pointer((void (*)(void))((uintptr_t)callback_target & ~(uintptr_t)1));
#elif defined(LAB_UF_DIVBYZERO)
    sink = (uint32_t)divide(100, divisor);
#elif defined(LAB_UF_UNALIGNED)
    sink = load_word(buffer + 1);
#else
#error "select a LAB_UF_* scenario"
#endif
    lab_idle();
}
