//! A Rust HardFault handler that calls helpers, the last of them `-> !`, as real
//! handlers do (log the frame, then park or reset).
//!
//! main -> app (`-> !`) -> load_config -> load from 0x6000_0000 with BusFault disabled:
//! HardFault (FORCED). cortex-m-rt's trampoline enters the user's `HardFault`, which
//! cortex-m-rt places last in `.text` (section `.HardFault.user`); it calls
//! `save_frame(ef)` and then `park(pc)`, a `-> !` helper, as its last instruction, so the
//! return address for that call is the end of `.text`.
#![no_std]
#![no_main]

use core::hint::black_box;
use core::ptr::{addr_of_mut, write_volatile};
use cortex_m_rt::{entry, exception, ExceptionFrame};
use fwrel::*;

/// What the handler records of the fault (PC, LR), as a crash log in RAM would.
static mut FAULT_LOG: [u32; 2] = [0; 2];

#[inline(never)]
fn load_config(addr: usize) -> u32 {
    reg_read(addr).wrapping_add(driver::drv_gain())
}

#[inline(never)]
fn app(addr: usize) -> ! {
    loop {
        black_box(load_config(addr));
    }
}

#[entry]
fn main() -> ! {
    app(black_box(BAD_ADDR))
}

#[inline(never)]
fn save_frame(ef: &ExceptionFrame) {
    let log = addr_of_mut!(FAULT_LOG) as *mut u32;
    unsafe {
        write_volatile(log, ef.pc());
        write_volatile(log.add(1), ef.lr());
    }
}

/// `#[no_mangle]`: the lab breaks here by name.
#[inline(never)]
#[no_mangle]
fn park(pc: u32) -> ! {
    loop {
        black_box(pc);
        cortex_m::asm::nop();
    }
}

#[exception]
unsafe fn HardFault(ef: &ExceptionFrame) -> ! {
    save_frame(ef);
    park(ef.pc())
}
