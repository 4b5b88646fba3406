//! The pure Cortex-M exception and fault model.
//!
//! Plain numbers in, typed results out: nothing here reads a target, a file or
//! a terminal, so every decoder can be tested with constants, and none panics
//! on any input. Facts come from the ARMv6-M/v7-M/v8-M Architecture Reference
//! Manuals (see also shared/reference/cortex-m-exceptions.md).
//!
//! Code map:
//! - [`regs`]: every address and field mask, once; [`regs::ScbBlock`] decodes the
//!   SCB fault block fetched in one read.
//! - [`control`]: CCR, SCR, FPCCR, DHCSR, DEMCR, MPU_CTRL as bitflags.
//! - [`arch`]: CPUID to core and profile, what a profile implies, FPU presence.
//! - [`exception`]: exception numbers and names.
//! - [`exc_return`]: EXC_RETURN and FNC_RETURN for v6-M, v7-M and v8-M.
//! - [`frame`]: stacked frames (basic, extended, padded, v8-M state context, lazy FP).
//! - [`fault`]: fault status bits with explanations, fault class, escalation.
//! - [`nvic`] and [`interrupts`]: ICSR, AIRCR grouping, NVIC tables, and what is
//!   running, preempted and pending.
//! - [`svc`]: SVC number and arguments.
//! - [`v6m`]: HardFaults on cores without fault status registers, from the instruction.

pub mod arch;
pub mod control;
pub mod exc_return;
pub mod exception;
pub mod fault;
mod fault_bits;
mod fault_causes;
mod fault_escalation;
pub mod frame;
pub mod interrupts;
pub mod nvic;
pub mod regs;
pub mod svc;
mod thumb_access;
pub mod v6m;
