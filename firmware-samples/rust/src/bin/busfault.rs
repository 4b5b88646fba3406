//! Scenario 1: precise BusFault, three calls deep, one inlined function in the chain.
//!
//! main -> level1 -> level2 -> level3 -> read_sensor (#[inline(always)], inlined into
//! level3) -> load from 0x6000_0000 (unmapped) -> BusFault (enabled in SHCSR), CFSR =
//! PRECISERR | BFARVALID, BFAR = 0x6000_0000.
#![no_std]
#![no_main]

use core::hint::black_box;
use cortex_m_rt::entry;
use fwlab::*;

#[inline(always)]
fn read_sensor(addr: usize) -> u32 {
    unsafe { core::ptr::read_volatile(addr as *const u32) }
}

#[inline(never)]
#[no_mangle]
fn level3(addr: usize) -> u32 {
    let v = read_sensor(addr);
    black_box(v).wrapping_add(3)
}

#[inline(never)]
#[no_mangle]
fn level2(addr: usize) -> u32 {
    black_box(level3(addr)).wrapping_add(2)
}

#[inline(never)]
#[no_mangle]
fn level1(addr: usize) -> u32 {
    black_box(level2(addr)).wrapping_add(1)
}

#[entry]
fn main() -> ! {
    enable_fault_handlers(SHCSR_BUSFAULTENA);
    black_box(level1(black_box(BAD_ADDR)));
    halt()
}

#[no_mangle]
pub unsafe extern "C" fn BusFault() -> ! {
    halt()
}
