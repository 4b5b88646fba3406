//! Scenario 11 (control): the same firmware as vec-nothumb / vec-midfunc with a correct
//! vector table (what cortex-m-rt generates). It reaches `vectors_ready`.
#![no_std]
#![no_main]

#[path = "../vectors_common.rs"]
mod vectors_common;

#[cortex_m_rt::entry]
fn main() -> ! {
    vectors_common::run()
}
