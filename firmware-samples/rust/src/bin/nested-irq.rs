//! Scenario 9: nested interrupts at two priorities.
//!
//! EXTI0 (IRQ6, priority 0xC0) and EXTI1 (IRQ7, priority 0x40) are enabled; main pends
//! EXTI0 through NVIC ISPR. EXTI0's handler calls `outer_isr_work`, which pends EXTI1;
//! EXTI1 preempts at once and calls `inner_isr_work` (#[inline(never)]): the breakpoint.
//! Stack there: inner_isr_work <- EXTI1 <- <exception> <- outer_isr_work <- EXTI0 <-
//! <exception> <- main (thread mode, MSP; the pend in main takes effect at once, before
//! `idle_loop` is reached).
#![no_std]
#![no_main]

use core::hint::black_box;
use core::sync::atomic::{AtomicU32, Ordering};
use cortex_m_rt::entry;
use fwlab::*;

static INNER_RUNS: AtomicU32 = AtomicU32::new(0);
static OUTER_RUNS: AtomicU32 = AtomicU32::new(0);

#[inline(never)]
#[no_mangle]
fn inner_isr_work(x: u32) -> u32 {
    INNER_RUNS.fetch_add(1, Ordering::Relaxed);
    black_box(x).wrapping_mul(3)
}

#[inline(never)]
#[no_mangle]
fn outer_isr_work() -> u32 {
    OUTER_RUNS.fetch_add(1, Ordering::Relaxed);
    nvic_pend(IRQ_EXTI1); // preempted right here by the more urgent EXTI1
    black_box(OUTER_RUNS.load(Ordering::Relaxed))
}

#[no_mangle]
pub unsafe extern "C" fn EXTI0() {
    black_box(outer_isr_work());
}

#[no_mangle]
pub unsafe extern "C" fn EXTI1() {
    black_box(inner_isr_work(black_box(7)));
}

#[inline(never)]
#[no_mangle]
fn idle_loop() -> ! {
    loop {
        cortex_m::asm::nop();
    }
}

#[entry]
fn main() -> ! {
    nvic_set_priority(IRQ_EXTI0, 0xC0);
    nvic_set_priority(IRQ_EXTI1, 0x40);
    nvic_enable(IRQ_EXTI0);
    nvic_enable(IRQ_EXTI1);
    nvic_pend(IRQ_EXTI0);
    idle_loop()
}
