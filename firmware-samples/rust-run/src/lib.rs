//! What the runner samples share: the panic handler (the message over semihosting, then
//! `udf`, as panic-probe ends a panic: a UsageFault the runner reports).
#![no_std]

#[cfg(feature = "semihosting-panic")]
use core::panic::PanicInfo;
#[cfg(feature = "semihosting-panic")]
use cortex_m_semihosting::hprintln;

#[cfg(feature = "semihosting-panic")]
#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    hprintln!("panicked: {}", info);
    // SAFETY: undefined on purpose: the fault is how the runner learns of the panic.
    unsafe { core::arch::asm!("udf #0", options(noreturn)) }
}
