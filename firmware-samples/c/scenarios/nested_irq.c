/* Scenario 9: nested interrupts at two priorities. main pends EXTI0 (IRQ6, priority
 * 0xA0); EXTI0_IRQHandler pends EXTI1 (IRQ7, priority 0x40, more urgent), which
 * preempts it at once; EXTI1_IRQHandler calls inner_work, the place to break in.
 * Stopped there: EXTI1 active over EXTI0 over thread mode. */
#include "lab.h"

volatile uint32_t events;

__attribute__((noinline)) void inner_work(uint32_t token)
{
    events += token;
}

void EXTI1_IRQHandler(void)
{
    inner_work(7);
}

void EXTI0_IRQHandler(void)
{
    NVIC_ISPR(0) = 1u << 7;
    lab_dsb_isb();
    events += 6;
}

int main(void)
{
    NVIC_IPR(6) = 0xA0;
    NVIC_IPR(7) = 0x40;
    NVIC_ISER(0) = (1u << 6) | (1u << 7);
    lab_dsb_isb();
    NVIC_ISPR(0) = 1u << 6;
    lab_dsb_isb();
    lab_idle();
}
