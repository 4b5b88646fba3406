/* Scenario 11 (static half): a firmware that runs normally but is built with one
 * vector-table defect chosen by -D flags to the startup file (see build.sh):
 *   vec-nothumb     DebugMon entry without the Thumb bit
 *   vec-midfunc     UsageFault entry pointing 4 bytes into UsageFault_Handler
 *   vec-sp-misaligned  initial SP = _estack - 4 (not 8-byte aligned)
 * main reaches vectors_ready, where a live check can halt it. */
#include "lab.h"

volatile uint32_t sink;

__attribute__((noinline)) void vectors_ready(void)
{
    sink++;
}

int main(void)
{
    vectors_ready();
    lab_idle();
}
