/* A CMSIS-style startup for the non-STM32 lab boards (Cortex-M0/M3/M7/M33): the table
 * in .isr_vector, 32 generic device interrupts IRQ0_Handler..IRQ31_Handler, weak
 * aliases of Default_Handler. ARMv6-M has no MemManage/BusFault/UsageFault vectors. */
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
void SecureFault_Handler(void) WEAK_ALIAS;
void SVC_Handler(void) WEAK_ALIAS;
void DebugMon_Handler(void) WEAK_ALIAS;
void PendSV_Handler(void) WEAK_ALIAS;
void SysTick_Handler(void) WEAK_ALIAS;
#define IRQS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) \
    X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23) X(24) X(25) X(26) X(27)   \
    X(28) X(29) X(30) X(31)
#define DECLARE(n) void IRQ##n##_Handler(void) WEAK_ALIAS;
IRQS(DECLARE)

#if defined(__ARM_ARCH_6M__)
#define FAULT_VECTORS 0, 0, 0, 0
#elif defined(__ARM_ARCH_8M_MAIN__)
#define FAULT_VECTORS MemManage_Handler, BusFault_Handler, UsageFault_Handler, SecureFault_Handler
#else
#define FAULT_VECTORS MemManage_Handler, BusFault_Handler, UsageFault_Handler, 0
#endif

__attribute__((section(".isr_vector"), used))
void (*const __isr_vector[])(void) = {
    (void (*)(void))(&_estack),
    Reset_Handler,
    NMI_Handler,
    HardFault_Handler,
    FAULT_VECTORS,
    0, 0, 0,
    SVC_Handler,
#if defined(__ARM_ARCH_6M__)
    0,
#else
    DebugMon_Handler,
#endif
    0,
    PendSV_Handler,
    SysTick_Handler,
#define ENTRY(n) IRQ##n##_Handler,
    IRQS(ENTRY)
};

void Reset_Handler(void)
{
    uint32_t *src = &_sidata;
    for (uint32_t *dst = &_sdata; dst < &_edata;) *dst++ = *src++;
    for (uint32_t *dst = &_sbss; dst < &_ebss;) *dst++ = 0;
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
