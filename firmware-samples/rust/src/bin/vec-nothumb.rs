//! Scenario 11 (static): the flash vector table's DebugMonitor entry (exception 12) holds
//! the address of the handler `debugmon_handler` WITHOUT the Thumb bit.
//!
//! cortex-m-rt builds the table from symbols, and a reference to a Thumb function symbol
//! always gets bit 0 from the linker (R_ARM_ABS32). So `DebugMonitor`, the symbol the
//! table refers to, is a plain code label (no `.thumb_func`, no `%function` type) placed at
//! the entry of the function `debugmon_handler`: the linker stores the even address. The
//! firmware runs normally (DebugMonitor is never taken) and reaches `vectors_ready`.
#![no_std]
#![no_main]

#[path = "../vectors_common.rs"]
mod vectors_common;

core::arch::global_asm!(
    ".section .text.debugmon_handler,\"ax\",%progbits",
    ".p2align 2",
    ".global debugmon_handler",
    ".type debugmon_handler, %function",
    ".thumb_func",
    "debugmon_handler:",
    ".global DebugMonitor",
    "DebugMonitor:",
    "    b debugmon_handler",
    ".size debugmon_handler, . - debugmon_handler",
);

#[cortex_m_rt::entry]
fn main() -> ! {
    vectors_common::run()
}
