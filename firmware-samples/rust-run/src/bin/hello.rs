//! Writes three lines through semihosting (stdout) and one to stderr, then exits with
//! success: `cargo run` prints them and exits 0.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, heprintln, hprintln};
use isrscope_run_lab as _;

#[entry]
fn main() -> ! {
    hprintln!("hello from the firmware");
    for i in 1..=2 {
        hprintln!("line {}", i);
    }
    heprintln!("a warning on stderr");
    debug::exit(debug::EXIT_SUCCESS);
    loop {}
}
