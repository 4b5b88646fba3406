//! Scenario 7: stack overflow. cortex-m-rt puts the initial MSP at the top of RAM
//! (0x2002_0000); `recurse` calls itself with a 64-byte local buffer until the stack runs
//! through .bss/.data and off the bottom of RAM (0x2000_0000; 0x1FFF_xxxx is unmapped on
//! netduinoplus2). The push below 0x2000_0000 is a BusFault (handler disabled -> escalates
//! to HardFault), and stacking that exception's frame fails too (STKERR): HardFault is
//! entered with the MSP just under the bottom of RAM. The oracle must break at the exact
//! entry of HardFault (a push there would lock the core; QEMU aborts on lockup).
#![no_std]
#![no_main]

use core::hint::black_box;
use cortex_m_rt::entry;
use fwlab::*;

#[inline(never)]
#[no_mangle]
fn recurse(depth: u32) -> u32 {
    let mut buf = [0u32; 16];
    buf[(depth & 15) as usize] = depth;
    let buf = black_box(buf);
    if black_box(depth) == u32::MAX {
        return 0;
    }
    recurse(depth + 1).wrapping_add(buf[(depth as usize + 1) & 15])
}

#[entry]
fn main() -> ! {
    black_box(recurse(black_box(0)));
    halt()
}

#[no_mangle]
pub unsafe extern "C" fn HardFault() -> ! {
    halt()
}
