//! Scenario 4: MemManage from an MPU no-access region.
//!
//! The MPU is enabled with PRIVDEFENA (default map as background) and region 0 covering
//! the 256-byte static `GUARD` with AP = 0b000 (no access, also for privileged code) and
//! XN. main -> read_guard -> load from GUARD[3]: CFSR = DACCVIOL | MMARVALID,
//! MMFAR = &GUARD[3]. SHCSR.MEMFAULTENA set, so the MemManage handler
//! (`MemoryManagement` in cortex-m-rt) is entered.
#![no_std]
#![no_main]

use core::hint::black_box;
use cortex_m_rt::entry;
use fwlab::*;

#[repr(C, align(256))]
struct Guard([u32; 64]);

#[no_mangle]
static mut GUARD: Guard = Guard([0; 64]);

fn mpu_protect(base: usize) {
    reg_write(MPU_RNR, 0);
    reg_write(MPU_RBAR, base as u32); // VALID = 0: region number from RNR
    // XN (28) | AP = 000 (26:24) | SIZE = 7 -> 2^(7+1) = 256 bytes (5:1) | ENABLE (0)
    reg_write(MPU_RASR, (1 << 28) | (7 << 1) | 1);
    reg_write(MPU_CTRL, (1 << 2) | 1); // PRIVDEFENA | ENABLE
    barrier();
}

#[inline(never)]
#[no_mangle]
fn read_guard(p: *const u32) -> u32 {
    black_box(unsafe { core::ptr::read_volatile(p) }).wrapping_add(1)
}

#[entry]
fn main() -> ! {
    enable_fault_handlers(SHCSR_MEMFAULTENA);
    let base = core::ptr::addr_of!(GUARD) as usize;
    mpu_protect(base);
    black_box(read_guard(black_box((base + 12) as *const u32)));
    halt()
}

#[no_mangle]
pub unsafe extern "C" fn MemoryManagement() -> ! {
    halt()
}
