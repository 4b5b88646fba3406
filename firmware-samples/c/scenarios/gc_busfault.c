/* Scenario: C built as vendor projects build it (-O2 -ffunction-sections -fdata-sections
 * -Wl,--gc-sections) for a part whose code starts at 0x00000000 (MPS2 AN385), with a
 * driver library whose unused functions the linker drops.
 *
 * main -> poll_forever (noreturn, called as main's last instruction) -> read_status
 * -> drv_read (the driver library) loads from unmapped memory: a precise BusFault
 * (handler enabled). The driver library's compile unit holds the live drv_read and the
 * dead line programs of its unused functions, at address 0 over all of the code. */
#include "lab.h"
#include "driverlib.h"

unsigned lib_version(void); /* common/unused_lib.c */
volatile unsigned lib_seen;

static volatile uint32_t *const device = (volatile uint32_t *)LAB_UNMAPPED_ADDR;

__attribute__((noinline)) uint32_t read_status(unsigned channel)
{
    return drv_read(&device[channel]) + 1u;
}

__attribute__((noinline, noreturn)) void poll_forever(unsigned channel)
{
    for (;;) {
        drv_store(read_status(channel));
    }
}

int main(void)
{
    SCB_SHCSR |= SHCSR_BUSFAULTENA;
    lab_dsb_isb();
    drv_init();
    lib_seen = lib_version();
    poll_forever(drv_channel());
}
