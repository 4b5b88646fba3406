/* Fault handlers for the generic boards; as handlers.c, they spin without pushing. */
#include "lab.h"

volatile uint32_t lab_last_fault;

void HardFault_Handler(void) { lab_last_fault = 3; for (;;) {} }
#if !defined(__ARM_ARCH_6M__)
void MemManage_Handler(void)  { lab_last_fault = 4; for (;;) {} }
void BusFault_Handler(void)   { lab_last_fault = 5; for (;;) {} }
void UsageFault_Handler(void) { lab_last_fault = 6; for (;;) {} }
#endif
