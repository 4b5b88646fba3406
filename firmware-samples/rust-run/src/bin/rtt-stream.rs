//! Logs numbered lines over RTT, forever, in the mode that waits for the host when the
//! 1 KiB up buffer is full (BlockIfFull): nothing is lost, and more than the buffer holds
//! arrives only if the runner reads the channel while the firmware runs. With
//! `-- --timeout 1`: the lines, then exit 124.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use isrscope_run_lab as _;
use rtt_target::{rprintln, rtt_init_print, ChannelMode::BlockIfFull};

#[entry]
fn main() -> ! {
    rtt_init_print!(BlockIfFull, 1024);
    let mut n: u32 = 0;
    loop {
        rprintln!("tick {}", n);
        n = n.wrapping_add(1);
        for _ in 0..200_000 {
            cortex_m::asm::nop();
        }
    }
}
