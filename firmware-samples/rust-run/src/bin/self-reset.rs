//! Logs a line, then resets itself (SCB.AIRCR.SYSRESETREQ), as firmware with a fatal
//! error handler that reboots does: a reset the runner was not asked for. It stops at
//! the reset handler's entry and says so (exit 17); with `--allow-reset` the firmware
//! runs again (the line comes again, each boot), until `--timeout`.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use isrscope_run_lab as _;

#[entry]
fn main() -> ! {
    hprintln!("booting");
    cortex_m::peripheral::SCB::sys_reset()
}
