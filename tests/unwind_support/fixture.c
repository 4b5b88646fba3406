/* A C fixture for symbolization: inlining, static functions, a vector table. */
#include <stdint.h>
extern uint32_t _estack;
volatile uint32_t counter;
int main(void);
void Reset_Handler(void) { main(); for (;;) {} }
void HardFault_Handler(void) { for (;;) { counter++; } }
static inline __attribute__((always_inline)) void poke(volatile uint32_t *p) { *p = 1; }
__attribute__((noinline)) void level3(int x) { poke((volatile uint32_t *)0x40000000 + x); counter++; }
__attribute__((noinline)) void level2(int x) { level3(x + 1); counter++; }
__attribute__((noinline)) void level1(int x) { level2(x * 2); counter++; }
int main(void) { level1(counter); for (;;) {} }
__attribute__((section(".isr_vector"), used)) void (*const g_pfnVectors[])(void) = {
  (void (*)(void))&_estack, Reset_Handler, HardFault_Handler, HardFault_Handler };
