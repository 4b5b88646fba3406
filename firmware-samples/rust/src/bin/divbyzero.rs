//! Scenario 3c: UsageFault DIVBYZERO. CCR.DIV_0_TRP set; main -> average -> `udiv` by 0.
//! (Rust's `/` checks for zero and panics, so the division is an explicit `udiv`.)
//! SHCSR.USGFAULTENA set.
#![no_std]
#![no_main]

use core::hint::black_box;
use cortex_m_rt::entry;
use fwlab::*;

#[inline(never)]
#[no_mangle]
fn average(sum: u32, count: u32) -> u32 {
    let q: u32;
    unsafe {
        core::arch::asm!("udiv {q}, {n}, {d}", q = out(reg) q, n = in(reg) sum, d = in(reg) count,
                         options(pure, nomem, nostack))
    };
    black_box(q).wrapping_add(1)
}

#[entry]
fn main() -> ! {
    reg_set(CCR, CCR_DIV_0_TRP);
    enable_fault_handlers(SHCSR_USGFAULTENA);
    black_box(average(black_box(100), black_box(0)));
    halt()
}

#[no_mangle]
pub unsafe extern "C" fn UsageFault() -> ! {
    halt()
}
