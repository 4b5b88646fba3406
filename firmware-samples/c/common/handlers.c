/* Fault handlers that park the core where a debugger can look. Each records which
 * fault it is and spins; none pushes anything, so a handler entered on an exhausted
 * stack does not fault again (QEMU would abort on the lockup). */
#include "lab.h"

volatile uint32_t lab_last_fault;

void HardFault_Handler(void)  { lab_last_fault = 3; for (;;) {} }
void MemManage_Handler(void)  { lab_last_fault = 4; for (;;) {} }
void BusFault_Handler(void)   { lab_last_fault = 5; for (;;) {} }
void UsageFault_Handler(void) { lab_last_fault = 6; for (;;) {} }
