/* lab.h: register addresses and helpers shared by the C lab firmware.
 * Plain volatile accesses, no CMSIS headers, so every sample is self-contained. */
#ifndef LAB_H
#define LAB_H
#include <stdint.h>

#define REG32(a) (*(volatile uint32_t *)(a))
#define REG8(a)  (*(volatile uint8_t *)(a))

#define SCB_ICSR   REG32(0xE000ED04u)
#define SCB_VTOR   REG32(0xE000ED08u)
#define SCB_AIRCR  REG32(0xE000ED0Cu)
#define SCB_CCR    REG32(0xE000ED14u)
#define SCB_SHPR2  REG32(0xE000ED1Cu)
#define SCB_SHPR3  REG32(0xE000ED20u)
#define SCB_SHCSR  REG32(0xE000ED24u)
#define SCB_CPACR  REG32(0xE000ED88u)
#define FPU_FPCCR  REG32(0xE000EF34u)

#define SHCSR_MEMFAULTENA (1u << 16)
#define SHCSR_BUSFAULTENA (1u << 17)
#define SHCSR_USGFAULTENA (1u << 18)
#define CCR_UNALIGN_TRP   (1u << 3)
#define CCR_DIV_0_TRP     (1u << 4)

#define SYST_CSR   REG32(0xE000E010u)
#define SYST_RVR   REG32(0xE000E014u)
#define SYST_CVR   REG32(0xE000E018u)

#define NVIC_ISER(n) REG32(0xE000E100u + 4u * (n))
#define NVIC_ISPR(n) REG32(0xE000E200u + 4u * (n))
#define NVIC_IPR(n)  REG8(0xE000E400u + (n))

#define MPU_CTRL   REG32(0xE000ED94u)
#define MPU_RNR    REG32(0xE000ED98u)
#define MPU_RBAR   REG32(0xE000ED9Cu)
#define MPU_RASR   REG32(0xE000EDA0u)

/* An address with nothing behind it: reads give a precise BusFault. 0x60000000 (the
 * STM32 FSMC bank, empty on netduinoplus2 and mps2-an385/an505); mps2-an500 has RAM
 * there, so its build passes another. */
#ifndef LAB_UNMAPPED_ADDR
#define LAB_UNMAPPED_ADDR 0x60000000u
#endif

static inline void lab_dsb_isb(void) { __asm volatile("dsb\n isb" ::: "memory"); }
static inline void lab_enable_irqs(void) { __asm volatile("cpsie i" ::: "memory"); }

/* Parks the core forever: where a scenario ends when nothing faulted. */
void lab_idle(void) __attribute__((noreturn));

#endif
