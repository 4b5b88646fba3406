//! An SVC handler that faults: HardFault inside SVCall.
//!
//! main -> sys_exit, a naked `-> !` system-call stub (as RTOS ports write them) whose
//! only and last instruction is `svc #1`, so the stacked PC of the SVCall frame is the
//! first byte after `sys_exit`: another function. The SVCall handler
//! reads the status of a "device" at 0x6000_0000; BusFault is disabled, so the bus error
//! escalates to HardFault (FORCED) on top of SVCall.
#![no_std]
#![no_main]

use core::arch::naked_asm;
use core::hint::black_box;
use core::sync::atomic::{AtomicU32, Ordering};
use cortex_m_rt::{entry, exception, ExceptionFrame};
use fwrel::*;

static EXIT_STATUS: AtomicU32 = AtomicU32::new(0);

#[unsafe(naked)]
extern "C" fn sys_exit(_code: u32) -> ! {
    naked_asm!("svc #1")
}

#[inline(never)]
fn device_status(addr: usize) -> u32 {
    reg_read(addr)
}

#[exception]
fn SVCall() {
    EXIT_STATUS.store(device_status(black_box(BAD_ADDR)), Ordering::Relaxed);
}

#[entry]
fn main() -> ! {
    black_box(driver::drv_gain());
    sys_exit(black_box(3))
}

#[exception]
unsafe fn HardFault(_ef: &ExceptionFrame) -> ! {
    halt()
}
