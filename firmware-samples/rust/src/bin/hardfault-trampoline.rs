//! Scenario 10: a cortex-m-rt `#[exception] unsafe fn HardFault(ef: &ExceptionFrame)`.
//!
//! main -> load_calibration -> load from 0x6000_0000 (BusFault disabled) -> HardFault,
//! HFSR = FORCED, CFSR = PRECISERR | BFARVALID. The vector entry is cortex-m-rt's assembly
//! trampoline (symbol `HardFault`, no debug info, no CFI): it puts the exception frame's
//! address in r0 and branches to the user's function (exported as `_HardFault`), which
//! calls `record_fault(ef)` (#[inline(never)]): a second stop point, for unwinding from
//! inside the user's handler.
//!
//! Observed with cortex-m-rt 0.7.7: the trampoline is `mov r0, lr; movs r1, #4;
//! tst r0, r1; bne 1f; mrs r0, MSP; b.w _HardFault; 1: mrs r0, PSP; b.w _HardFault`. It
//! clobbers r0, r1 and the flags (r0/r1 of the faulting code survive only in the stacked
//! frame); LR still holds EXC_RETURN when `_HardFault` starts. `_HardFault` pushes {r7, lr}
//! and calls `record_fault`, so from there on LR is an ordinary return address and
//! EXC_RETURN lives only in `_HardFault`'s stack frame.
#![no_std]
#![no_main]

use core::hint::black_box;
use core::sync::atomic::{AtomicU32, Ordering};
use cortex_m_rt::{entry, exception, ExceptionFrame};
use fwlab::*;

static LAST_PC: AtomicU32 = AtomicU32::new(0);

#[inline(never)]
#[no_mangle]
fn record_fault(ef: &ExceptionFrame) {
    LAST_PC.store(ef.pc(), Ordering::Relaxed);
}

#[inline(never)]
#[no_mangle]
fn load_calibration(addr: usize) -> u32 {
    black_box(unsafe { core::ptr::read_volatile(addr as *const u32) }).wrapping_add(1)
}

#[entry]
fn main() -> ! {
    black_box(load_calibration(black_box(BAD_ADDR)));
    halt()
}

#[exception]
unsafe fn HardFault(ef: &ExceptionFrame) -> ! {
    record_fault(ef);
    halt()
}
