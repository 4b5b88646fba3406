/* Bench only (vprobe/tests/bench_doors.rs; not in the manifest): the forced HardFault
 * of busfault.c (built with LAB_BUSFAULT_DISABLED) after about LAB_DELAY_WRAPS tenths
 * of a second, timed by SysTick (QEMU's clock follows the host's, where a busy loop
 * would follow TCG's speed), so that a debugger attached to the running board is there
 * when the fault comes: the probe-rs command-line tool catches only faults that come
 * after it attaches. busfault.c is included as it is, so its line numbers stay the lab's. */
#define main busfault_main
#include "busfault.c"
#undef main

int main(void)
{
    /* The processor clock, the 24-bit maximum reload: a wrap every 16.8 M cycles,
     * 0.1 s at 168 MHz. COUNTFLAG (bit 16) is cleared by reading CSR. */
    SYST_RVR = 0xFFFFFFu;
    SYST_CVR = 0;
    SYST_CSR = 0x5u;
    for (unsigned wraps = 0; wraps < LAB_DELAY_WRAPS;) {
        if (SYST_CSR & (1u << 16)) {
            wraps++;
        }
    }
    SYST_CSR = 0;
    return busfault_main();
}
