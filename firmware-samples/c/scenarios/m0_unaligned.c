/* Cortex-M0 (ARMv6-M, microbit): an unaligned word load, which always faults on
 * ARMv6-M. There are no fault status registers: HardFault_Handler is entered and
 * only the faulting instruction and its registers can explain why. */
#include "lab.h"

uint8_t buffer[16] __attribute__((aligned(4)));
volatile uint32_t sink;

__attribute__((noinline)) uint32_t load_word(const uint8_t *p)
{
    return *(const volatile uint32_t *)p;
}

__attribute__((noinline)) uint32_t parse_header(const uint8_t *packet)
{
    uint32_t v = load_word(packet + 1);
    sink = v;
    return v;
}

int main(void)
{
    sink = parse_header(buffer);
    lab_idle();
}
