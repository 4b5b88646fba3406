//! Logs a line and runs forever: for `--timeout` (exit 124) and Ctrl-C (exit 130).
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use isrscope_run_lab as _;

#[inline(never)]
fn idle_loop() -> ! {
    loop {
        cortex_m::asm::nop();
    }
}

#[entry]
fn main() -> ! {
    hprintln!("running until stopped");
    idle_loop()
}
