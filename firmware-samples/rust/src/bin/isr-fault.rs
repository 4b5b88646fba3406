//! Scenario 5: a fault inside an interrupt handler that preempted thread code.
//!
//! Thread mode starts SysTick and spins in `thread_loop`; SysTick (priority 0x80) fires
//! and calls `systick_poll` -> `read_status` -> load from 0x6000_0000 -> BusFault
//! (enabled, priority 0, so it preempts SysTick): two exception levels on the MSP,
//! BusFault <- SysTick <- thread_loop. CFSR = PRECISERR | BFARVALID.
#![no_std]
#![no_main]

use core::hint::black_box;
use core::sync::atomic::{AtomicU32, Ordering};
use cortex_m_rt::entry;
use fwlab::*;

static TICKS: AtomicU32 = AtomicU32::new(0);

#[inline(never)]
#[no_mangle]
fn read_status(addr: usize) -> u32 {
    black_box(unsafe { core::ptr::read_volatile(addr as *const u32) }).wrapping_add(1)
}

#[inline(never)]
#[no_mangle]
fn systick_poll() -> u32 {
    TICKS.fetch_add(1, Ordering::Relaxed);
    black_box(read_status(black_box(BAD_ADDR))).wrapping_add(1)
}

#[no_mangle]
pub unsafe extern "C" fn SysTick() {
    black_box(systick_poll());
}

/// Starts SysTick and spins: SysTick can only interrupt code inside this function.
#[inline(never)]
#[no_mangle]
fn thread_loop() -> ! {
    reg_write(SYST_RVR, 10_000);
    reg_write(SYST_CVR, 0);
    reg_write(SYST_CSR, 0b111); // CLKSOURCE = core | TICKINT | ENABLE
    // A bare instruction, no inlined helpers: wherever SysTick lands, the interrupted
    // frame is thread_loop itself, so every debugger sees the same backtrace.
    loop {
        unsafe { core::arch::asm!("nop") };
    }
}

#[entry]
fn main() -> ! {
    enable_fault_handlers(SHCSR_BUSFAULTENA);
    set_system_priority(15, 0x80); // SysTick less urgent than BusFault (0)
    thread_loop()
}

#[no_mangle]
pub unsafe extern "C" fn BusFault() -> ! {
    halt()
}
