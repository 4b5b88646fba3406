//! Unit-test double: a target that is only memory (a list of readable blocks), for the
//! library's own unit tests of code that reads memory through the trait. Integration
//! tests use real QEMU (tests/) or the scripted fake GDB server.

use std::time::Duration;

use super::{BreakpointKind, Capabilities, CoreState, Registers, Result, StopReason, Target, TargetError};

/// Memory from a list of (address, bytes); anything else is unreadable. Every read
/// request is recorded as (address, length), so tests can count the link's cost.
#[derive(Default)]
pub struct Memory {
    pub blocks: Vec<(u32, Vec<u8>)>,
    pub reads: Vec<(u32, usize)>,
    caps: Capabilities,
}

impl Memory {
    pub fn new(blocks: Vec<(u32, Vec<u8>)>) -> Memory {
        Memory { blocks, ..Memory::default() }
    }
}

impl Target for Memory {
    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }
    fn read_memory(&mut self, address: u32, buf: &mut [u8]) -> Result<()> {
        self.reads.push((address, buf.len()));
        for (start, bytes) in &self.blocks {
            let off = address.wrapping_sub(*start) as usize;
            if address >= *start && off + buf.len() <= bytes.len() {
                buf.copy_from_slice(&bytes[off..off + buf.len()]);
                return Ok(());
            }
        }
        Err(TargetError::MemoryUnreadable { address, len: buf.len(), message: "test".into() })
    }
    fn write_memory(&mut self, _: u32, _: &[u8]) -> Result<()> {
        unimplemented!("a memory-only test target")
    }
    fn read_registers(&mut self) -> Result<Registers> {
        unimplemented!("a memory-only test target")
    }
    fn write_register(&mut self, _: &str, _: u32) -> Result<()> {
        unimplemented!("a memory-only test target")
    }
    fn halt(&mut self, _: Duration) -> Result<StopReason> {
        unimplemented!("a memory-only test target")
    }
    fn resume(&mut self) -> Result<()> {
        unimplemented!("a memory-only test target")
    }
    fn step(&mut self) -> Result<StopReason> {
        unimplemented!("a memory-only test target")
    }
    fn state(&mut self) -> Result<CoreState> {
        unimplemented!("a memory-only test target")
    }
    fn wait_for_stop(&mut self, _: Duration) -> Result<Option<StopReason>> {
        unimplemented!("a memory-only test target")
    }
    fn set_breakpoint(&mut self, _: u32, _: BreakpointKind) -> Result<()> {
        unimplemented!("a memory-only test target")
    }
    fn clear_breakpoint(&mut self, _: u32) -> Result<()> {
        unimplemented!("a memory-only test target")
    }
    fn breakpoints(&self) -> Vec<u32> {
        Vec::new()
    }
    fn detach(&mut self, _: bool) -> Result<()> {
        Ok(())
    }
}
