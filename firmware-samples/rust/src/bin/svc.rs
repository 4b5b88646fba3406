//! Scenario 8: SVC calls with different immediates and arguments in R0-R3.
//!
//! main -> sys_write (`svc #0x11`, r0..r3 = 1, 0x2000_1000, 42, 0xCAFE) then
//! sys_sleep (`svc #0x42`, r0..r3 = 250, 0x55, 0x66, 0x77). `SVCall` is a naked handler that
//! picks the stack of the caller from EXC_RETURN bit 2 and hands the frame to
//! `svc_dispatch`, which reads the SVC number from the `svc` instruction (stacked PC - 2)
//! and the arguments from the stacked R0-R3, and writes the result into the stacked R0.
#![no_std]
#![no_main]

use core::hint::black_box;
use core::sync::atomic::{AtomicU32, Ordering};
use cortex_m_rt::entry;
use fwlab::*;

/// What the handler read from each call's stacked frame: [number, sum of r0-r3] per
/// call, so a debugger can check that it read the frame (not the live registers).
#[no_mangle]
static SVC_LOG: [AtomicU32; 4] = [const { AtomicU32::new(0) }; 4];
static SVC_COUNT: AtomicU32 = AtomicU32::new(0);

#[inline(never)]
#[no_mangle]
fn sys_write(fd: u32, buf: u32, len: u32, flags: u32) -> u32 {
    let r: u32;
    unsafe {
        core::arch::asm!("svc #0x11", inout("r0") fd => r, in("r1") buf, in("r2") len,
                         in("r3") flags, options(nostack))
    };
    black_box(r)
}

#[inline(never)]
#[no_mangle]
fn sys_sleep(ms: u32, a: u32, b: u32, c: u32) -> u32 {
    let r: u32;
    unsafe {
        core::arch::asm!("svc #0x42", inout("r0") ms => r, in("r1") a, in("r2") b,
                         in("r3") c, options(nostack))
    };
    black_box(r)
}

/// frame: the stacked R0, R1, R2, R3, R12, LR, PC, xPSR of the caller.
#[no_mangle]
unsafe extern "C" fn svc_dispatch(frame: *mut u32) {
    let pc = core::ptr::read_volatile(frame.add(6)) as usize;
    let number = core::ptr::read_volatile((pc - 2) as *const u16) as u32 & 0xff;
    let args = [0, 1, 2, 3].map(|i| core::ptr::read_volatile(frame.add(i)));
    let i = (SVC_COUNT.fetch_add(1, Ordering::Relaxed) & 1) as usize;
    SVC_LOG[2 * i].store(number, Ordering::Relaxed);
    SVC_LOG[2 * i + 1].store(args.iter().fold(0u32, |a, b| a.wrapping_add(*b)), Ordering::Relaxed);
    let result = match number {
        0x11 => args[2],               // write: bytes written
        0x42 => 0,                     // sleep: ok
        _ => u32::MAX,
    };
    core::ptr::write_volatile(frame, result);
}

#[unsafe(naked)]
#[no_mangle]
pub unsafe extern "C" fn SVCall() {
    core::arch::naked_asm!(
        "tst lr, #4",
        "ite eq",
        "mrseq r0, msp",
        "mrsne r0, psp",
        "b {dispatch}",
        dispatch = sym svc_dispatch,
    )
}

/// Reached after both calls returned: where a debugger reads SVC_LOG.
#[inline(never)]
#[no_mangle]
fn calls_done(result: u32) {
    black_box(result);
}

#[entry]
fn main() -> ! {
    let n = sys_write(1, 0x2000_1000, 42, 0xCAFE);
    calls_done(black_box(sys_sleep(250, 0x55, 0x66, 0x77).wrapping_add(n)));
    halt()
}
