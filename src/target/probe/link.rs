//! The few core operations [`ProbeTarget`](super::ProbeTarget) needs from probe-rs, as
//! a trait: a probe-rs [`Core`] implements it for real, and the tests implement it
//! with a simulated core that keeps probe-rs' quirks (DFSR read once, the PC moved
//! past a BKPT when stepping off a breakpoint), so the target's control logic
//! (stepping off breakpoints, vector catch, lockup, detach) is tested without a probe.

use std::time::Duration;

use probe_rs::{
    Core, CoreStatus, Error, MemoryInterface, RegisterId, VectorCatchCondition,
};

/// One core, borrowed for a few operations.
pub trait CoreAccess {
    /// Running, halted with the reason, locked up, sleeping. As probe-rs does it: a
    /// halt reason is read from DFSR and DFSR cleared.
    fn status(&mut self) -> Result<CoreStatus, Error>;
    fn halt(&mut self, timeout: Duration) -> Result<(), Error>;
    /// One instruction; steps off a breakpoint the core halted at.
    fn step(&mut self) -> Result<(), Error>;
    fn reset_and_halt(&mut self, timeout: Duration) -> Result<(), Error>;
    /// A core register by DCRSR number (probe-rs' `RegisterId`).
    fn read_reg(&mut self, id: u16) -> Result<u32, Error>;
    fn write_reg(&mut self, id: u16, value: u32) -> Result<(), Error>;
    fn read_8(&mut self, address: u32, buf: &mut [u8]) -> Result<(), Error>;
    fn read_32(&mut self, address: u32, buf: &mut [u32]) -> Result<(), Error>;
    /// Any length and alignment, flushed.
    fn write(&mut self, address: u32, data: &[u8]) -> Result<(), Error>;
    fn read_word(&mut self, address: u32) -> Result<u32, Error>;
    /// One word, flushed (debug registers: DHCSR, DEMCR).
    fn write_word(&mut self, address: u32, value: u32) -> Result<(), Error>;
    fn set_hw_breakpoint(&mut self, address: u32) -> Result<(), Error>;
    fn clear_hw_breakpoint(&mut self, address: u32) -> Result<(), Error>;
    fn vector_catch(&mut self, condition: VectorCatchCondition, enable: bool) -> Result<(), Error>;
}

/// Where cores come from.
pub trait Link {
    fn core(&mut self) -> Result<&mut dyn CoreAccess, Error>;
}

/// Core 0 of a probe-rs [`Session`](probe_rs::Session), attached once for the session's life.
///
/// The session is leaked, never dropped: probe-rs' generic shutdown sequence (run when
/// a `Session` drops) writes DHCSR and DEMCR to 0, which resumes a core the user asked
/// to keep halted and undoes the DEMCR isrscope restored on detach. The USB link closes
/// when the process exits. Leaking it also lets the one [`Core`] live as long: each
/// `Session::core` builds the core's memory interface anew, four AP register accesses
/// on the link (IDR, CSW and CFG read, CSW written): attaching per operation cost a
/// fault report about 60 round trips (docs/performance.md, section 1b).
pub struct SessionLink(pub Core<'static>);

impl Link for SessionLink {
    fn core(&mut self) -> Result<&mut dyn CoreAccess, Error> {
        Ok(&mut self.0)
    }
}

impl CoreAccess for Core<'_> {
    fn status(&mut self) -> Result<CoreStatus, Error> {
        Core::status(self)
    }
    fn halt(&mut self, timeout: Duration) -> Result<(), Error> {
        Core::halt(self, timeout).map(drop)
    }
    fn step(&mut self) -> Result<(), Error> {
        Core::step(self).map(drop)
    }
    fn reset_and_halt(&mut self, timeout: Duration) -> Result<(), Error> {
        Core::reset_and_halt(self, timeout).map(drop)
    }
    fn read_reg(&mut self, id: u16) -> Result<u32, Error> {
        self.read_core_reg::<u32>(RegisterId(id))
    }
    fn write_reg(&mut self, id: u16, value: u32) -> Result<(), Error> {
        self.write_core_reg(RegisterId(id), value)
    }
    fn read_8(&mut self, address: u32, buf: &mut [u8]) -> Result<(), Error> {
        MemoryInterface::read_8(self, u64::from(address), buf)
    }
    fn read_32(&mut self, address: u32, buf: &mut [u32]) -> Result<(), Error> {
        MemoryInterface::read_32(self, u64::from(address), buf)
    }
    fn write(&mut self, address: u32, data: &[u8]) -> Result<(), Error> {
        MemoryInterface::write(self, u64::from(address), data)?;
        self.flush()
    }
    fn read_word(&mut self, address: u32) -> Result<u32, Error> {
        self.read_word_32(u64::from(address))
    }
    fn write_word(&mut self, address: u32, value: u32) -> Result<(), Error> {
        self.write_word_32(u64::from(address), value)?;
        self.flush()
    }
    fn set_hw_breakpoint(&mut self, address: u32) -> Result<(), Error> {
        Core::set_hw_breakpoint(self, u64::from(address))
    }
    fn clear_hw_breakpoint(&mut self, address: u32) -> Result<(), Error> {
        Core::clear_hw_breakpoint(self, u64::from(address))
    }
    fn vector_catch(&mut self, condition: VectorCatchCondition, enable: bool) -> Result<(), Error> {
        if enable {
            self.enable_vector_catch(condition)
        } else {
            self.disable_vector_catch(condition)
        }
    }
}
