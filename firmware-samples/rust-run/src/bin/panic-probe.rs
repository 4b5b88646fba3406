//! A panic through the panic-probe crate itself (with `print-defmt`): the panic message
//! as a defmt error over RTT (defmt-rtt), then panic-probe's `udf` (it disables the
//! UsageFault first, so a HardFault, FORCED): the runner shows the decoded message, then
//! the report, and exits 10. Built without the lab's own panic handler
//! (`--no-default-features --features panic-probe`).
#![no_std]
#![no_main]

use core::hint::black_box;
use cortex_m_rt::entry;
use defmt_rtt as _;
use isrscope_run_lab as _;
use panic_probe as _;

defmt::timestamp!("{=u32}", 0);

#[inline(never)]
fn check(value: u32) -> u32 {
    if value > 5 {
        panic!("sensor value {} out of range", value);
    }
    value
}

#[entry]
fn main() -> ! {
    defmt::info!("starting");
    black_box(check(black_box(7)));
    loop {}
}
