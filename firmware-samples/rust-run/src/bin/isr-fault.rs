//! Logs a few lines, then SysTick's handler reads unmapped memory: a BusFault in an ISR.
//! The runner prints the lines, then the report (BusFault over SysTick), exit 12.
#![no_std]
#![no_main]

use core::hint::black_box;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::{entry, exception};
use cortex_m_semihosting::hprintln;
use isrscope_run_lab as _;

/// Unmapped on netduinoplus2: a load raises a precise BusFault.
const BAD_ADDR: usize = 0x6000_0000;

#[inline(never)]
fn read_sensor() -> u32 {
    // SAFETY: faults on purpose.
    unsafe { core::ptr::read_volatile(black_box(BAD_ADDR) as *const u32) }
}

#[exception]
fn SysTick() {
    black_box(read_sensor());
}

#[entry]
fn main() -> ! {
    let mut p = cortex_m::Peripherals::take().unwrap();
    // SAFETY: enabling the BusFault handler (SHCSR.BUSFAULTENA).
    unsafe { p.SCB.shcsr.modify(|v| v | (1 << 17)) };
    hprintln!("sampling starts");
    hprintln!("tick every 10000 cycles");
    p.SYST.set_clock_source(SystClkSource::Core);
    p.SYST.set_reload(10_000);
    p.SYST.clear_current();
    p.SYST.enable_interrupt();
    p.SYST.enable_counter();
    loop {
        cortex_m::asm::nop();
    }
}
