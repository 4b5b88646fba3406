//! A fault in an interrupt whose handler the compiler inlined and tail-called.
//!
//! main pends TIMER0 and idles. TIMER0 (the vector's target) inlines `next_sample` and
//! ends with a tail call (`b.w`) to `filter_sample`, which loads from 0x6000_0000: a
//! precise BusFault (handler enabled). TIMER0 has no frame of its own by then: the
//! architecture's chain is BusFault <- filter_sample <- (IRQ 8) <- idle_loop <- main.
#![no_std]
#![no_main]

use core::hint::black_box;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use cortex_m_rt::entry;
use fwrel::*;

static SAMPLE_ADDR: AtomicUsize = AtomicUsize::new(BAD_ADDR);
static COUNT: AtomicU32 = AtomicU32::new(0);
static LAST: AtomicU32 = AtomicU32::new(0);

#[inline(never)]
fn filter_sample(addr: usize, n: u32) {
    LAST.store(reg_read(addr).wrapping_mul(3).wrapping_add(n), Ordering::Relaxed);
}

#[inline(always)]
fn next_sample() -> (usize, u32) {
    (SAMPLE_ADDR.load(Ordering::Relaxed), COUNT.fetch_add(1, Ordering::Relaxed))
}

#[no_mangle]
pub extern "C" fn TIMER0() {
    let (addr, n) = next_sample();
    filter_sample(addr, n)
}

#[inline(never)]
fn idle_loop() -> ! {
    loop {
        black_box(driver::drv_gain());
        cortex_m::asm::nop();
    }
}

#[entry]
fn main() -> ! {
    enable_busfault();
    pend_irq(IRQ_TIMER0);
    idle_loop()
}
