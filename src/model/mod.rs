//! The pure Cortex-M exception and fault model.
//!
//! Plain numbers in, typed results out: nothing here reads a target, a file or
//! a terminal, so every decoder can be tested with constants. Facts come from
//! the ARMv6-M/v7-M/v8-M Architecture Reference Manuals.

pub mod arch;
pub mod exception;
pub mod regs;
pub mod exc_return;
pub mod frame;
pub mod fault;
mod fault_bits;
mod fault_causes;
pub mod interrupts;
pub mod nvic;
pub mod svc;
pub mod v6m;
