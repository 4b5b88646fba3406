//! Logs over RTT (rtt-target: the `_SEGGER_RTT` control block, up channel 0 "Terminal"),
//! then faults: the runner shows the RTT lines, then the report (a BusFault, exit 12).
#![no_std]
#![no_main]

use core::hint::black_box;
use cortex_m_rt::entry;
use isrscope_run_lab as _;
use rtt_target::{rprintln, rtt_init_print};

const BAD_ADDR: usize = 0x6000_0000;

#[inline(never)]
fn read_register_block() -> u32 {
    // SAFETY: faults on purpose.
    unsafe { core::ptr::read_volatile(black_box(BAD_ADDR) as *const u32) }
}

#[entry]
fn main() -> ! {
    rtt_init_print!();
    let p = cortex_m::Peripherals::take().unwrap();
    // SAFETY: enabling the BusFault handler (SHCSR.BUSFAULTENA).
    unsafe { p.SCB.shcsr.modify(|v| v | (1 << 17)) };
    rprintln!("rtt: boot");
    for i in 1..=3 {
        rprintln!("rtt: sample {}", i);
    }
    // Some time for the runner to read the channel before the fault (it reads it again
    // at the stop anyway).
    for _ in 0..200_000 {
        cortex_m::asm::nop();
    }
    black_box(read_register_block());
    loop {}
}
