/* Scenario 5: a fault inside an interrupt handler that preempted thread code.
 * main spins in idle_work, which raises TIM2's interrupt (IRQ28) through NVIC ISPR as a
 * timer would; TIM2_IRQHandler -> filter_sample reads unmapped memory; the BusFault
 * handler (enabled) preempts TIM2: two exception levels, both on the MSP
 * (EXC_RETURN 0xFFFFFFF1 for the BusFault, 0xFFFFFFF9 under TIM2).
 * (QEMU's netduinoplus2 gives SysTick no clock, so an NVIC interrupt stands in.) */
#include "lab.h"

#define TIM2_IRQN 28u

volatile uint32_t ticks;
volatile uint32_t sink;

__attribute__((noinline)) uint32_t filter_sample(volatile uint32_t *src)
{
    return *src * 3u + 1u;
}

void TIM2_IRQHandler(void)
{
    ticks++;
    sink = filter_sample((volatile uint32_t *)(LAB_UNMAPPED_ADDR + 0x40));
}

__attribute__((noinline, noreturn)) void idle_work(void)
{
    for (;;) {
        sink++;
        if (sink == 100) NVIC_ISPR(TIM2_IRQN / 32) = 1u << (TIM2_IRQN % 32);
    }
}

int main(void)
{
    SCB_SHCSR |= SHCSR_BUSFAULTENA;
    NVIC_IPR(TIM2_IRQN) = 0x80;
    NVIC_ISER(TIM2_IRQN / 32) = 1u << (TIM2_IRQN % 32);
    lab_dsb_isb();
    idle_work();
}
