//! Scenario 3b: UsageFault INVSTATE: a call through a function pointer whose Thumb bit
//! (bit 0) is clear. main -> dispatch -> `blx` to the even address of `callback`: the
//! core leaves Thumb state and the first instruction at `callback` faults with
//! CFSR.INVSTATE; the stacked PC is `callback`'s address, the stacked LR points back into
//! `dispatch`. SHCSR.USGFAULTENA set.
#![no_std]
#![no_main]
// `callback` is placed on a 4-byte boundary: QEMU checks ARM-state PC alignment before the
// state, so a 2-mod-4 target would give UNALIGNED instead of INVSTATE there (a real
// Cortex-M4 reports INVSTATE either way).
#![feature(fn_align)]

use core::hint::black_box;
use cortex_m_rt::entry;
use fwlab::*;

#[inline(never)]
#[no_mangle]
#[rustc_align(4)]
extern "C" fn callback(x: u32) -> u32 {
    black_box(x).wrapping_add(1)
}

#[inline(never)]
#[no_mangle]
fn dispatch(target: usize, x: u32) -> u32 {
    let f: extern "C" fn(u32) -> u32 = unsafe { core::mem::transmute(target) };
    black_box(f(x)).wrapping_add(1)
}

#[entry]
fn main() -> ! {
    enable_fault_handlers(SHCSR_USGFAULTENA);
    // Strip the Thumb bit from the function's address, as a corrupted table entry or a
    // wrong cast would.
    let bad = (callback as extern "C" fn(u32) -> u32 as usize) & !1;
    black_box(dispatch(black_box(bad), 5));
    halt()
}

#[no_mangle]
pub unsafe extern "C" fn UsageFault() -> ! {
    halt()
}
