//! Shared code of the isrscope firmware lab (Rust family).
//!
//! Every binary in `src/bin/` is one scenario of the lab (see ../scenarios.toml). This module
//! holds what they share: the System Control Block / NVIC / MPU register addresses, small
//! helpers to enable fault handlers and traps, the device interrupt vector table
//! (`__INTERRUPTS`, STM32F407: 82 vectors) and the panic handler.
#![no_std]

use core::ptr::{read_volatile, write_volatile};

/// An address that is unmapped on QEMU's netduinoplus2 (the FSMC bank 1 region: no memory
/// or device is modelled there), so a load from it raises a precise BusFault
/// (PRECISERR + BFARVALID, BFAR = this address).
pub const BAD_ADDR: usize = 0x6000_0000;

// System Control Block.
pub const ICSR: usize = 0xE000_ED04;
pub const VTOR: usize = 0xE000_ED08;
pub const CCR: usize = 0xE000_ED14;
pub const SHPR1: usize = 0xE000_ED18;
pub const SHPR3: usize = 0xE000_ED20;
pub const SHCSR: usize = 0xE000_ED24;
pub const CFSR: usize = 0xE000_ED28;
pub const HFSR: usize = 0xE000_ED2C;
pub const FPCCR: usize = 0xE000_EF34;

pub const CCR_UNALIGN_TRP: u32 = 1 << 3;
pub const CCR_DIV_0_TRP: u32 = 1 << 4;
pub const SHCSR_MEMFAULTENA: u32 = 1 << 16;
pub const SHCSR_BUSFAULTENA: u32 = 1 << 17;
pub const SHCSR_USGFAULTENA: u32 = 1 << 18;

// SysTick.
pub const SYST_CSR: usize = 0xE000_E010;
pub const SYST_RVR: usize = 0xE000_E014;
pub const SYST_CVR: usize = 0xE000_E018;

// NVIC.
pub const NVIC_ISER: usize = 0xE000_E100;
pub const NVIC_ISPR: usize = 0xE000_E200;
pub const NVIC_IPR: usize = 0xE000_E400;

// MPU.
pub const MPU_CTRL: usize = 0xE000_ED94;
pub const MPU_RNR: usize = 0xE000_ED98;
pub const MPU_RBAR: usize = 0xE000_ED9C;
pub const MPU_RASR: usize = 0xE000_EDA0;

/// Number of device interrupt vectors of the STM32F407 (IRQ0 WWDG .. IRQ81 FPU).
pub const NUM_IRQS: usize = 82;
/// Words in the whole vector table: initial SP, 15 system exceptions, the IRQs.
pub const VECTOR_WORDS: usize = 16 + NUM_IRQS;
/// STM32F407 interrupt numbers used by the samples.
pub const IRQ_EXTI0: usize = 6;
pub const IRQ_EXTI1: usize = 7;

#[inline(always)]
pub fn reg_read(addr: usize) -> u32 {
    unsafe { read_volatile(addr as *const u32) }
}

#[inline(always)]
pub fn reg_write(addr: usize, value: u32) {
    unsafe { write_volatile(addr as *mut u32, value) }
}

#[inline(always)]
pub fn reg_set(addr: usize, bits: u32) {
    reg_write(addr, reg_read(addr) | bits);
}

#[inline(always)]
pub fn barrier() {
    cortex_m::asm::dsb();
    cortex_m::asm::isb();
}

/// Enable the configurable fault handlers given as SHCSR *ENA bits; a fault whose handler
/// is not enabled escalates to HardFault (HFSR.FORCED).
pub fn enable_fault_handlers(bits: u32) {
    reg_set(SHCSR, bits);
    barrier();
}

/// Set a system handler priority (4 = MemManage ... 15 = SysTick) in SHPR1-3.
pub fn set_system_priority(exception: usize, prio: u8) {
    let addr = SHPR1 + (exception - 4);
    unsafe { write_volatile(addr as *mut u8, prio) };
    barrier();
}

/// NVIC: set the priority of an interrupt, enable it, or pend it by software (ISPR).
pub fn nvic_set_priority(irq: usize, prio: u8) {
    unsafe { write_volatile((NVIC_IPR + irq) as *mut u8, prio) };
}
pub fn nvic_enable(irq: usize) {
    reg_write(NVIC_ISER + 4 * (irq / 32), 1 << (irq % 32));
}
pub fn nvic_pend(irq: usize) {
    reg_write(NVIC_ISPR + 4 * (irq / 32), 1 << (irq % 32));
    barrier();
}

/// Idle forever, doing nothing that touches the stack (safe as a fault handler body).
#[inline(always)]
pub fn halt() -> ! {
    loop {
        cortex_m::asm::nop();
    }
}

/// The device interrupt vectors (what a PAC would provide with cortex-m-rt's `device`
/// feature). Only EXTI0 and EXTI1 have their own symbols (weakly aliased to
/// `DefaultHandler` in device.x, overridden by the `nested-irq` sample).
pub union Vector {
    pub handler: unsafe extern "C" fn(),
}

extern "C" {
    fn DefaultHandler();
    fn EXTI0();
    fn EXTI1();
}

#[link_section = ".vector_table.interrupts"]
#[no_mangle]
#[used]
pub static __INTERRUPTS: [Vector; NUM_IRQS] = {
    let mut v = [const { Vector { handler: DefaultHandler } }; NUM_IRQS];
    v[IRQ_EXTI0] = Vector { handler: EXTI0 };
    v[IRQ_EXTI1] = Vector { handler: EXTI1 };
    v
};

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    halt()
}
