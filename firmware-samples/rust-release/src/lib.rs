//! Shared code of the isrscope firmware lab's release-built family (see ../scenarios.toml).
//!
//! Built as real projects build firmware (`opt-level = "s"`/`"z"`, `lto = "fat"`,
//! `codegen-units = 1`, `debug = 2`, `--gc-sections`) for parts whose code starts at
//! 0x00000000. The `driver` module stands for a vendor HAL with a C API: its
//! `#[no_mangle]` functions survive LTO as exported symbols and the linker drops the ones
//! nobody calls, leaving their line programs in `.debug_line` at address 0 (GNU ld) or at
//! a tombstone (ld.lld), as compiler_builtins' unused routines are.
#![no_std]

use core::ptr::{read_volatile, write_volatile};

/// Unmapped on QEMU's mps2-an385 and microbit: a load raises a precise bus error.
pub const BAD_ADDR: usize = 0x6000_0000;

pub const SHCSR: usize = 0xE000_ED24;
pub const SHCSR_BUSFAULTENA: u32 = 1 << 17;
pub const NVIC_ISER: usize = 0xE000_E100;
pub const NVIC_ISPR: usize = 0xE000_E200;
/// The device interrupt the samples pend by software: TIMER0 on both machines.
pub const IRQ_TIMER0: usize = 8;
pub const NUM_IRQS: usize = 32;

#[inline(always)]
pub fn reg_read(addr: usize) -> u32 {
    unsafe { read_volatile(addr as *const u32) }
}

#[inline(always)]
pub fn reg_write(addr: usize, value: u32) {
    unsafe { write_volatile(addr as *mut u32, value) }
}

/// Enable the BusFault handler (ARMv7-M); without it a bus error escalates to HardFault.
#[inline(never)]
pub fn enable_busfault() {
    reg_write(SHCSR, reg_read(SHCSR) | SHCSR_BUSFAULTENA);
    cortex_m::asm::dsb();
    cortex_m::asm::isb();
}

/// Enable a device interrupt and pend it by software.
#[inline(never)]
pub fn pend_irq(irq: usize) {
    reg_write(NVIC_ISER + 4 * (irq / 32), 1 << (irq % 32));
    reg_write(NVIC_ISPR + 4 * (irq / 32), 1 << (irq % 32));
    cortex_m::asm::dsb();
    cortex_m::asm::isb();
}

/// Idle forever without touching the stack.
#[inline(always)]
pub fn halt() -> ! {
    loop {
        cortex_m::asm::nop();
    }
}

/// A vendor-HAL-like C API: a few functions are used, most are not (the linker drops
/// those, and their debug info stays behind).
pub mod driver {
    use core::sync::atomic::{AtomicU32, Ordering};

    static GAIN: AtomicU32 = AtomicU32::new(3);

    #[no_mangle]
    pub extern "C" fn drv_gain() -> u32 {
        GAIN.load(Ordering::Relaxed)
    }

    #[no_mangle]
    pub extern "C" fn drv_scale(raw: u32) -> f32 {
        // Soft-float on these cores: pulls compiler_builtins' float routines into .text.
        raw as f32 / drv_gain() as f32
    }

    #[no_mangle]
    pub extern "C" fn drv_unused_calibrate(a: u32, b: u32) -> u32 {
        let mut x = a;
        for i in 0..b {
            x = x.rotate_left(i).wrapping_mul(0x9E37_79B9) ^ GAIN.load(Ordering::Relaxed);
        }
        x
    }

    #[no_mangle]
    pub extern "C" fn drv_unused_filter(samples: *const u32, n: usize) -> u32 {
        let mut acc = 0u32;
        for i in 0..n {
            acc = acc.wrapping_add(unsafe { samples.add(i).read_volatile() } >> 2);
        }
        acc
    }

    #[no_mangle]
    pub extern "C" fn drv_unused_ratio(a: f32, b: f32) -> f32 {
        (a * 1.5 + b) / (a - b * 0.25)
    }

    /// A register-by-register bring-up sequence, as vendor HALs write them: about 1 KiB
    /// of code, so its dead line program spans the whole application at address 0.
    #[no_mangle]
    pub extern "C" fn drv_unused_bringup(regs: *mut u32) {
        macro_rules! w {
            ($($i:literal)*) => { $( unsafe { regs.add($i).write_volatile(($i as u32).wrapping_mul(0x0101_0101) ^ 0x5A) }; )* };
        }
        w!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31
           32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63
           64 65 66 67 68 69 70 71 72 73 74 75 76 77 78 79 80 81 82 83 84 85 86 87 88 89 90 91 92 93 94 95);
    }

    #[no_mangle]
    pub extern "C" fn drv_unused_reset(regs: *mut u32) {
        for i in 0..16 {
            unsafe { regs.add(i).write_volatile(0) };
        }
    }
}

/// Device interrupt vectors (what a PAC would provide): TIMER0 has its own symbol
/// (weakly `DefaultHandler`, see build.rs), the rest go to `DefaultHandler`.
pub union Vector {
    pub handler: unsafe extern "C" fn(),
}

extern "C" {
    fn DefaultHandler();
    fn TIMER0();
}

#[link_section = ".vector_table.interrupts"]
#[no_mangle]
#[used]
pub static __INTERRUPTS: [Vector; NUM_IRQS] = {
    let mut v = [const { Vector { handler: DefaultHandler } }; NUM_IRQS];
    v[IRQ_TIMER0] = Vector { handler: TIMER0 };
    v
};

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    halt()
}
