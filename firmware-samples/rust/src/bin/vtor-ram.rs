//! Scenario 11 (the part Rust can express): a RAM-relocated vector table whose copy
//! differs from the ELF's.
//!
//! cortex-m-rt generates the flash table (entries always have the Thumb bit, the initial
//! SP is forced to 8-byte alignment), so broken *flash* tables are C-only. Here main copies
//! the flash table (98 words at 0x0800_0000) into `RAM_VECTORS` (512-byte aligned), clears
//! the Thumb bit of the BusFault entry (exception 5) in the copy, and points VTOR at it.
//! It then calls `vectors_ready` (the live-check stop: VTOR = &RAM_VECTORS, whose word 5
//! differs from the ELF's table), and goes on to load from 0x6000_0000: the BusFault
//! (enabled) makes the core fetch the even handler address from the RAM table and execute
//! `BusFault` in the wrong state -> INVSTATE, which cannot preempt the active BusFault ->
//! HardFault (FORCED). At the HardFault entry: CFSR = PRECISERR | BFARVALID | INVSTATE,
//! HFSR = FORCED, two exception frames on the MSP (HardFault <- BusFault <- thread).
#![no_std]
#![no_main]

use core::hint::black_box;
use core::sync::atomic::{AtomicU32, Ordering};
use cortex_m_rt::entry;
use fwlab::*;

#[repr(C, align(512))]
struct Table([u32; VECTOR_WORDS]);

#[no_mangle]
static mut RAM_VECTORS: Table = Table([0; VECTOR_WORDS]);

extern "C" {
    static __vector_table: u32;
}

#[inline(never)]
#[no_mangle]
fn relocate_vectors() {
    unsafe {
        let src = core::ptr::addr_of!(__vector_table);
        let dst = core::ptr::addr_of_mut!(RAM_VECTORS) as *mut u32;
        for i in 0..VECTOR_WORDS {
            core::ptr::write_volatile(dst.add(i), core::ptr::read_volatile(src.add(i)));
        }
        // The "bug": exception 5 (BusFault) loses its Thumb bit in the copy.
        let e = dst.add(5);
        core::ptr::write_volatile(e, core::ptr::read_volatile(e) & !1);
        reg_write(VTOR, dst as u32);
    }
    barrier();
}

static READY: AtomicU32 = AtomicU32::new(0);

#[inline(never)]
#[no_mangle]
fn vectors_ready() {
    READY.fetch_add(1, Ordering::Relaxed);
}

#[inline(never)]
#[no_mangle]
fn probe_bus(addr: usize) -> u32 {
    black_box(unsafe { core::ptr::read_volatile(addr as *const u32) }).wrapping_add(1)
}

#[entry]
fn main() -> ! {
    relocate_vectors();
    vectors_ready();
    enable_fault_handlers(SHCSR_BUSFAULTENA | SHCSR_USGFAULTENA);
    black_box(probe_bus(black_box(BAD_ADDR)));
    halt()
}

#[no_mangle]
pub unsafe extern "C" fn BusFault() -> ! {
    halt()
}

#[no_mangle]
pub unsafe extern "C" fn HardFault() -> ! {
    halt()
}
