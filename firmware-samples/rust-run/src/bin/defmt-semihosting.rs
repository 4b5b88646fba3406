//! Logs with defmt over semihosting (defmt-semihosting: frames written to the host's
//! stdout with SYS_WRITE), then exits with success: the runner decodes the frames from
//! the firmware's stdout (no RTT control block in this ELF) and exits 0.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use cortex_m_semihosting::debug;
use defmt_semihosting as _;
use isrscope_run_lab as _;

#[entry]
fn main() -> ! {
    defmt::info!("over semihosting: {=u32} frames", 2);
    defmt::warn!("and a warning");
    debug::exit(debug::EXIT_SUCCESS);
    loop {}
}
