/* Scenario 4: a MemManage fault. The MPU makes a 32-byte guard block in RAM
 * no-access (AP=000, XN); read_guard reads it. MemManage is enabled, so
 * MemManage_Handler is entered with CFSR = DACCVIOL | MMARVALID, MMFAR = the address. */
#include "lab.h"

uint32_t guard_block[8] __attribute__((aligned(32)));
volatile uint32_t sink;

__attribute__((noinline)) uint32_t read_guard(unsigned i)
{
    return ((volatile uint32_t *)guard_block)[i];
}

__attribute__((noinline)) void mpu_protect_guard(void)
{
    MPU_RNR = 0;
    MPU_RBAR = (uint32_t)guard_block;
    /* ENABLE | SIZE=4 (2^(4+1) = 32 bytes) | AP=000 (no access) | XN */
    MPU_RASR = (1u << 0) | (4u << 1) | (0u << 24) | (1u << 28);
    MPU_CTRL = (1u << 0) | (1u << 2); /* ENABLE | PRIVDEFENA */
    lab_dsb_isb();
}

int main(void)
{
    SCB_SHCSR |= SHCSR_MEMFAULTENA;
    mpu_protect_guard();
    sink = read_guard(2);
    lab_idle();
}
