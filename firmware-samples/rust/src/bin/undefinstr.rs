//! Scenario 3a: UsageFault UNDEFINSTR. main -> decode_opcode -> `udf #0x2a`.
//! SHCSR.USGFAULTENA set, so the UsageFault handler itself is entered.
#![no_std]
#![no_main]

use core::hint::black_box;
use cortex_m_rt::entry;
use fwlab::*;

#[inline(never)]
#[no_mangle]
fn decode_opcode(x: u32) -> u32 {
    unsafe { core::arch::asm!("udf #0x2a", options(nomem, nostack)) };
    black_box(x).wrapping_mul(3)
}

#[entry]
fn main() -> ! {
    enable_fault_handlers(SHCSR_USGFAULTENA);
    black_box(decode_opcode(black_box(1)));
    halt()
}

#[no_mangle]
pub unsafe extern "C" fn UsageFault() -> ! {
    halt()
}
