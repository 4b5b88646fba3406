//! Scenario 11 (static): the flash vector table's UsageFault entry (exception 6) points
//! 4 bytes into the real UsageFault handler `uf_handler_body` (Thumb bit set), as a stale
//! or hand-patched table would.
//!
//! cortex-m-rt takes the entry from the symbol `UsageFault`; here it is an assembler
//! symbol equated to `uf_handler_body + 4` (+1 for the Thumb bit). build.sh strips that
//! symbol from the copied ELF (build/rust/vec-midfunc.elf), so, as in the C sample, no
//! symbol marks the entry's address. The firmware runs normally (UsageFault is never
//! taken) and reaches `vectors_ready`.
#![no_std]
#![no_main]

#[path = "../vectors_common.rs"]
mod vectors_common;

core::arch::global_asm!(
    ".section .text.uf_handler_body,\"ax\",%progbits",
    ".p2align 2",
    ".global uf_handler_body",
    ".type uf_handler_body, %function",
    ".thumb_func",
    "uf_handler_body:",
    "    nop",
    "    nop",
    "    nop",
    "    nop",
    "1:  b 1b",
    ".size uf_handler_body, . - uf_handler_body",
    // +5 = 4 bytes into the function, plus the Thumb bit.
    ".global UsageFault",
    ".set UsageFault, uf_handler_body + 5",
);

#[cortex_m_rt::entry]
fn main() -> ! {
    vectors_common::run()
}
