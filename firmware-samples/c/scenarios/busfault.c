/* Scenario 1: a precise BusFault. main -> level1 -> level2 -> level3 -> sensor_read
 * (inlined into level3) reads a register through a pointer to unmapped memory.
 * The BusFault handler is enabled, so BusFault_Handler is entered directly with
 * CFSR = PRECISERR | BFARVALID and BFAR = the bad address. */
#include "lab.h"

static volatile uint32_t *const sensor = (volatile uint32_t *)LAB_UNMAPPED_ADDR;
volatile uint32_t sink;

static inline __attribute__((always_inline)) uint32_t sensor_read(unsigned channel)
{
    return sensor[channel];
}

__attribute__((noinline)) uint32_t level3(unsigned channel)
{
    uint32_t v = sensor_read(channel);
    sink = v;
    return v + 1;
}

__attribute__((noinline)) uint32_t level2(unsigned channel)
{
    uint32_t v = level3(channel + 1);
    sink = v;
    return v + 2;
}

__attribute__((noinline)) uint32_t level1(unsigned channel)
{
    uint32_t v = level2(channel + 1);
    sink = v;
    return v + 3;
}

int main(void)
{
#ifndef LAB_BUSFAULT_DISABLED
    SCB_SHCSR |= SHCSR_BUSFAULTENA;
    lab_dsb_isb();
#endif
    sink = level1(0);
    lab_idle();
}
