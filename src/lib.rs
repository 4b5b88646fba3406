//! isrscope: Cortex-M interrupt and fault inspection.
//!
//! Layers, from the bottom up (see docs/ARCHITECTURE.md):
//! - [`model`]: the pure Cortex-M exception and fault model. Numbers in, typed results out; no I/O.
//! - [`target`]: the object-safe [`target::Target`] trait and its backends (GDB remote, QEMU launcher).
//! - [`debuginfo`]: the ELF image and DWARF symbolization.
//! - [`unwind`]: call-stack unwinding through every exception level.
//! - [`coredump`]: post-mortem core dumps (isrscope's ELF core, probe-rs coredumps) behind the target trait.
//! - [`vectors`]: vector-table correctness, from the ELF and live on the chip.
//! - [`report`]: the fault report built from all of the above, rendered as text or JSON.
//! - [`cli`]: the command line (thin glue over the layers above).

pub mod cli;
pub mod coredump;
pub mod debuginfo;
pub mod logs;
pub mod model;
pub mod report;
pub mod rtos;
pub mod rtt;
pub mod target;
pub mod tui;
pub mod unwind;
pub mod vectors;
