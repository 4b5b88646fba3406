//! Scenario 3d: UsageFault UNALIGNED. CCR.UNALIGN_TRP set; main -> parse_header -> a word
//! load (`ldr`) from an address that is 1 mod 4 in RAM. SHCSR.USGFAULTENA set.
#![no_std]
#![no_main]

use core::hint::black_box;
use cortex_m_rt::entry;
use fwlab::*;

static mut PACKET: [u32; 4] = [0x1122_3344, 0x5566_7788, 0, 0];

#[inline(never)]
#[no_mangle]
fn parse_header(p: usize) -> u32 {
    let v: u32;
    unsafe {
        core::arch::asm!("ldr {v}, [{p}]", v = out(reg) v, p = in(reg) p,
                         options(readonly, nostack))
    };
    black_box(v).wrapping_add(1)
}

#[entry]
fn main() -> ! {
    reg_set(CCR, CCR_UNALIGN_TRP);
    enable_fault_handlers(SHCSR_USGFAULTENA);
    let p = core::ptr::addr_of!(PACKET) as usize + 1;
    black_box(parse_header(black_box(p)));
    halt()
}

#[no_mangle]
pub unsafe extern "C" fn UsageFault() -> ! {
    halt()
}
