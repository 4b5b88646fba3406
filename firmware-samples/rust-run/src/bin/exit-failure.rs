//! A test that fails: one line, then a semihosting exit with failure: exit code 1.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use isrscope_run_lab as _;

#[entry]
fn main() -> ! {
    hprintln!("self-test: checksum mismatch");
    debug::exit(debug::EXIT_FAILURE);
    loop {}
}
