/* Scenario 11 (live half): the firmware copies its vector table to RAM, patches the
 * SysTick entry to Patched_SysTick_Handler and points VTOR at the copy, as a
 * bootloader or an RTOS port does. Halted at vectors_ready, the table at VTOR
 * differs from the ELF's .isr_vector in exactly that entry. */
#include "lab.h"

#define VECTOR_COUNT (16 + 82)
extern void (*const g_pfnVectors[VECTOR_COUNT])(void);

/* VTOR alignment: 98 entries * 4 = 392 bytes, rounded up to a power of two = 512. */
uint32_t ram_vectors[VECTOR_COUNT] __attribute__((aligned(512)));
volatile uint32_t sink;

void Patched_SysTick_Handler(void)
{
    sink += 2;
}

__attribute__((noinline)) void vectors_ready(void)
{
    sink++;
}

int main(void)
{
    for (unsigned i = 0; i < VECTOR_COUNT; i++) ram_vectors[i] = (uint32_t)g_pfnVectors[i];
    ram_vectors[15] = (uint32_t)Patched_SysTick_Handler;
    lab_dsb_isb();
    SCB_VTOR = (uint32_t)ram_vectors;
    lab_dsb_isb();
    vectors_ready();
    lab_idle();
}
