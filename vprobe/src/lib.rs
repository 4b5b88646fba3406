//! The virtual debug probe: an ARM debug port modelled in software in front of QEMU's
//! Cortex-M core, so that real, unmodified debug tools drive the lab's core as they
//! drive a board. Lab equipment, not part of the `isrscope` binary.
//!
//! Layers, bottom up:
//! - [`core`]: the ARMv7-M debug view of the core (DHCSR/DCRSR/DCRDR/DEMCR/DFSR, AIRCR
//!   resets, FPB, DWT, ITM, the ROM table and component IDs, STM32 DBGMCU), modelled on
//!   top of QEMU's gdbstub (all-stop: an access while the core runs pauses QEMU, does it
//!   and resumes it). Everything else is QEMU's memory.
//! - [`dap`]: the ADIv5 debug port (DPIDR, CTRL/STAT power-up handshake and sticky
//!   errors, SELECT, RDBUFF, ABORT) and one AHB-AP (CSW, TAR, DRW, BD0-BD3, CFG, BASE,
//!   IDR) over `core`.
//! - [`swd`]: the SW-DP wire protocol, bit by bit: line reset, requests, turnarounds,
//!   acknowledges, data and parity, posted AP reads.
//! - [`bmp`]: the Black Magic Probe remote protocol over TCP (the front door probe-rs'
//!   own BMP driver connects to), raw SWD sequences (`!So`/`!Si`) into `swd`.
//! - [`jtag`]: a JTAG-DP (TAP, IR, 35-bit DPACC/APACC scans) behind OpenOCD's
//!   `remote_bitbang` adapter, pin by pin.
//! - [`pyocd`]: pyOCD's remote probe protocol (JSON lines over TCP), DP and AP
//!   register access for pyOCD's own ARM stack.
//! - [`stats`]: what each client cost (DP/AP accesses, memory bytes, round trips).

pub mod bmp;
pub mod core;
pub mod dap;
pub mod jtag;
pub mod pyocd;
pub mod stats;
pub mod swd;
