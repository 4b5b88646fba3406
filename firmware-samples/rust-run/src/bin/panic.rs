//! A panic: the handler prints the message over semihosting and executes `udf`, as
//! panic-probe does; UsageFault is not enabled, so it escalates to a HardFault (FORCED):
//! the runner shows the message, then the report, and exits 10.
#![no_std]
#![no_main]

use core::hint::black_box;
use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use isrscope_run_lab as _;

#[inline(never)]
fn check(value: u32) -> u32 {
    if value > 5 {
        panic!("sensor value {} out of range", value);
    }
    value
}

#[entry]
fn main() -> ! {
    hprintln!("starting");
    black_box(check(black_box(7)));
    loop {}
}
