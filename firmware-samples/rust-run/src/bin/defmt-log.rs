//! Logs with defmt over RTT (defmt-rtt): frames the runner decodes against the ELF's
//! `.defmt` table (defmt-decoder), with their level, timestamp and file:line; `trace!`
//! is filtered out at build time (DEFMT_LOG=debug). Then a BusFault: the report, exit 12.
#![no_std]
#![no_main]

use core::hint::black_box;
use cortex_m_rt::entry;
use defmt_rtt as _;
use isrscope_run_lab as _;

const BAD_ADDR: usize = 0x6000_0000;

static mut TICKS: u32 = 0;

defmt::timestamp!("{=u32}", {
    // SAFETY: single-threaded lab firmware.
    unsafe {
        TICKS += 1;
        TICKS
    }
});

#[inline(never)]
fn read_adc() -> u32 {
    // SAFETY: faults on purpose.
    unsafe { core::ptr::read_volatile(black_box(BAD_ADDR) as *const u32) }
}

#[entry]
fn main() -> ! {
    let p = cortex_m::Peripherals::take().unwrap();
    // SAFETY: enabling the BusFault handler (SHCSR.BUSFAULTENA).
    unsafe { p.SCB.shcsr.modify(|v| v | (1 << 17)) };
    defmt::trace!("not built in: below DEFMT_LOG");
    defmt::debug!("clock at {=u32} Hz", 168_000_000);
    defmt::info!("adc: {} channels", 4u8);
    defmt::warn!("adc: calibration skipped");
    defmt::error!("adc: reading channel {=u8}", 2);
    black_box(read_adc());
    loop {}
}
