/* STM32Cube-style startup for the STM32F407VG: the vector table g_pfnVectors in
 * .isr_vector, Reset_Handler copying .data and zeroing .bss, and every handler a weak
 * alias of Default_Handler, as in ST's startup_stm32f407xx.s. Scenarios override the
 * handlers they need by defining them. */
#include <stdint.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
extern int main(void);

void Reset_Handler(void);
void Default_Handler(void);

#define WEAK_ALIAS __attribute__((weak, alias("Default_Handler")))
void NMI_Handler(void) WEAK_ALIAS;
void HardFault_Handler(void) WEAK_ALIAS;
void MemManage_Handler(void) WEAK_ALIAS;
void BusFault_Handler(void) WEAK_ALIAS;
void UsageFault_Handler(void) WEAK_ALIAS;
void SVC_Handler(void) WEAK_ALIAS;
void DebugMon_Handler(void) WEAK_ALIAS;
void PendSV_Handler(void) WEAK_ALIAS;
void SysTick_Handler(void) WEAK_ALIAS;

#define IRQ(name) void name(void) WEAK_ALIAS;
#include "stm32f407_irqs.h"
#undef IRQ

/* Scenarios that break the table on purpose override entries with -DLAB_... (build.sh). */
#ifndef LAB_INITIAL_SP
#define LAB_INITIAL_SP ((void (*)(void))(&_estack))
#endif
#ifndef LAB_USAGEFAULT_VECTOR
#define LAB_USAGEFAULT_VECTOR UsageFault_Handler
#endif
/* vec-nothumb: a linker-defined data symbol at Default_Handler's address, so the entry
 * gets the address without the Thumb bit a function pointer would carry. */
extern char lab_nothumb_vector[];
#ifndef LAB_DEBUGMON_VECTOR
#define LAB_DEBUGMON_VECTOR DebugMon_Handler
#endif

__attribute__((section(".isr_vector"), used))
void (*const g_pfnVectors[])(void) = {
    LAB_INITIAL_SP,
    Reset_Handler,
    NMI_Handler,
    HardFault_Handler,
    MemManage_Handler,
    BusFault_Handler,
    LAB_USAGEFAULT_VECTOR,
    0, 0, 0, 0,
    SVC_Handler,
    LAB_DEBUGMON_VECTOR,
    0,
    PendSV_Handler,
    SysTick_Handler,
#define IRQ(name) name,
#include "stm32f407_irqs.h"
#undef IRQ
};

void Reset_Handler(void)
{
    uint32_t *src = &_sidata;
    for (uint32_t *dst = &_sdata; dst < &_edata;) *dst++ = *src++;
    for (uint32_t *dst = &_sbss; dst < &_ebss;) *dst++ = 0;
    /* SystemInit's job in ST's code: give the FPU to the code (CP10/CP11 full access). */
    *(volatile uint32_t *)0xE000ED88u |= (0xFu << 20);
    __asm volatile("dsb\n isb");
    main();
    for (;;) {}
}

void Default_Handler(void)
{
    for (;;) {}
}

void lab_idle(void)
{
    for (;;) { __asm volatile("wfi"); }
}
