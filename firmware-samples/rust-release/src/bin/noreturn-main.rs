//! A `-> !` main whose last instruction is the call that faults.
//!
//! main -> run (`-> !`, inline(never)) -> read_sensor -> load from 0x6000_0000: a precise
//! BusFault (handler enabled) on ARMv7-M, a HardFault on ARMv6-M (built for the micro:bit
//! as m0-noreturn.elf, `opt-level = "z"`, ld.lld). `bl run` ends `main`, so the return
//! address stored for main's frame is the first byte of whatever function the linker put
//! next.
#![no_std]
#![no_main]

use core::hint::black_box;
use cortex_m_rt::entry;
use fwrel::*;

#[inline(never)]
fn read_sensor(addr: usize) -> u32 {
    reg_read(addr)
}

#[inline(never)]
fn run(addr: usize) -> ! {
    loop {
        let raw = read_sensor(addr);
        black_box(driver::drv_scale(raw));
    }
}

#[entry]
fn main() -> ! {
    #[cfg(not(armv6m))]
    enable_busfault();
    run(black_box(BAD_ADDR))
}
