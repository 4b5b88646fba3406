/* Scenario 8: supervisor calls. main issues SVC #1 with arguments 0x11, 0x22, 0x33,
 * 0x44 in R0-R3, then SVC #2 with 0xA, 0xB, 0xC, 0xD. SVC_Handler finds the stacked
 * frame (MSP or PSP from EXC_RETURN bit 2) and svc_dispatch reads the SVC number from
 * the instruction before the stacked PC and the arguments from the stacked R0-R3. */
#include "lab.h"

volatile uint32_t svc_log[8];
volatile uint32_t svc_count;

__attribute__((used)) void svc_dispatch(uint32_t *frame)
{
    uint16_t insn = *(const uint16_t *)(frame[6] - 2u);
    uint32_t i = svc_count++ & 1u;
    svc_log[4 * i + 0] = insn & 0xFFu;
    svc_log[4 * i + 1] = frame[0] + frame[1] + frame[2] + frame[3];
    frame[0] = insn & 0xFFu; /* the call's return value */
}

__attribute__((naked)) void SVC_Handler(void)
{
    __asm volatile(
        "tst lr, #4\n"
        "ite eq\n"
        "mrseq r0, msp\n"
        "mrsne r0, psp\n"
        "b svc_dispatch\n");
}

#define SVC_CALL(num, a, b, c, d) ({                                        \
    register uint32_t r0 __asm("r0") = (a);                                 \
    register uint32_t r1 __asm("r1") = (b);                                 \
    register uint32_t r2 __asm("r2") = (c);                                 \
    register uint32_t r3 __asm("r3") = (d);                                 \
    __asm volatile("svc %5" : "+r"(r0) : "r"(r1), "r"(r2), "r"(r3), "0"(r0), "I"(num) : "memory"); \
    r0; })

__attribute__((noinline)) uint32_t request_service(void)
{
    uint32_t a = SVC_CALL(1, 0x11, 0x22, 0x33, 0x44);
    uint32_t b = SVC_CALL(2, 0xA, 0xB, 0xC, 0xD);
    return a + b;
}

int main(void)
{
    svc_log[7] = request_service();
    lab_idle();
}
