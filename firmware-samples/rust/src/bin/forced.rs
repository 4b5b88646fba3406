//! Scenario 2: HardFault escalated (FORCED) from a BusFault whose own handler is disabled.
//!
//! main -> fetch_config -> load from 0x6000_0000 (unmapped). SHCSR.BUSFAULTENA stays 0,
//! so the precise BusFault escalates: HardFault with HFSR = FORCED and
//! CFSR = PRECISERR | BFARVALID (BFAR = 0x6000_0000). HardFault is a plain function at the
//! vector entry (no cortex-m-rt trampoline), so LR still holds EXC_RETURN on entry.
#![no_std]
#![no_main]

use core::hint::black_box;
use cortex_m_rt::entry;
use fwlab::*;

#[inline(never)]
#[no_mangle]
fn fetch_config(addr: usize) -> u32 {
    let v = unsafe { core::ptr::read_volatile(addr as *const u32) };
    black_box(v).wrapping_add(7)
}

#[entry]
fn main() -> ! {
    // BusFault, MemManage and UsageFault handlers all stay disabled (reset state).
    black_box(fetch_config(black_box(BAD_ADDR)));
    halt()
}

#[no_mangle]
pub unsafe extern "C" fn HardFault() -> ! {
    halt()
}
