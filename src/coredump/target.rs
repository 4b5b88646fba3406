//! [`CoreDumpTarget`]: a dump behind the [`Target`] trait, so `report::collect` and the
//! unwinder run on it exactly as on a live core.
//!
//! Not live: memory and registers come from the dump; running, stepping, breakpoints
//! and writes are refused with [`TargetError::Unsupported`]. A read of memory the dump
//! lacks fails with [`TargetError::MemoryUnreadable`], and is remembered (unless the
//! live target refused it too at capture) so the report can say what was missing.

use std::time::Duration;

use super::memory::Span;
use super::CoreDump;
use crate::target::{BreakpointKind, Capabilities, CoreState, Registers, Result, StopReason, Target, TargetError};

pub struct CoreDumpTarget {
    dump: CoreDump,
    registers: Registers,
    caps: Capabilities,
    stop: StopReason,
    missing: Vec<Span>,
}

impl CoreDumpTarget {
    /// `name` is how the dump is called in the description (its file name).
    pub fn new(dump: CoreDump, name: &str) -> Self {
        let registers = dump.registers();
        let mut description = format!("core dump {name} ({}", dump.format);
        if let Some(at) = &dump.meta.captured_at {
            description.push_str(&format!(", captured {at}"));
        }
        if let Some(t) = &dump.meta.target {
            description.push_str(&format!(" from {t}"));
        }
        description.push(')');
        let caps = Capabilities {
            vector_catch: false,
            breakpoints: Some(0),
            registers: registers.iter().map(|(k, _)| k.to_string()).collect(),
            max_read: usize::MAX,
            live: false,
            description,
        };
        let stop = dump.meta.stop.as_ref().map(StopReason::from).unwrap_or(StopReason::Requested);
        CoreDumpTarget { dump, registers, caps, stop, missing: Vec::new() }
    }

    pub fn dump(&self) -> &CoreDump {
        &self.dump
    }

    /// Why the core was halted when it was captured, if the dump says.
    pub fn saved_stop(&self) -> Option<StopReason> {
        self.dump.meta.stop.as_ref().map(StopReason::from)
    }

    /// Reads so far that asked for memory the dump does not hold (and that the live
    /// target did not refuse at capture), merged into spans.
    pub fn missing(&self) -> Vec<Span> {
        let mut spans = self.missing.clone();
        spans.sort_by_key(|s| s.start);
        let mut out: Vec<Span> = Vec::new();
        for s in spans {
            match out.last_mut() {
                Some(last) if u64::from(s.start) <= last.end() => {
                    last.len = (s.end().max(last.end()) - u64::from(last.start)).min(u64::from(u32::MAX)) as u32;
                }
                _ => out.push(s),
            }
        }
        out
    }

    fn not_captured(&mut self, address: u32, len: usize) -> TargetError {
        let refused_live = self.dump.meta.unreadable.iter().any(|s| s.covers(address, len));
        let message = if refused_live {
            "the target could not read it either when the dump was taken".to_string()
        } else {
            // Only the part the dump lacks counts as missing.
            let have = self.dump.memory.readable_prefix(address, len);
            let start = address.wrapping_add(have as u32);
            let len = (len - have).min(u32::MAX as usize) as u32;
            if len > 0 {
                self.missing.push(Span { start, len });
            }
            "not in the core dump".to_string()
        };
        TargetError::MemoryUnreadable { address, len, message }
    }
}

fn refuse(what: &str) -> TargetError {
    TargetError::Unsupported(format!("{what} (a core dump is not a live target)"))
}

impl Target for CoreDumpTarget {
    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    fn read_memory(&mut self, address: u32, buf: &mut [u8]) -> Result<()> {
        match self.dump.memory.get(address, buf.len()) {
            Some(bytes) => {
                buf.copy_from_slice(bytes);
                Ok(())
            }
            None if buf.is_empty() => Ok(()),
            None => Err(self.not_captured(address, buf.len())),
        }
    }

    fn read_memory_partial(&mut self, address: u32, buf: &mut [u8]) -> Result<usize> {
        let n = self.dump.memory.readable_prefix(address, buf.len());
        if let Some(bytes) = self.dump.memory.get(address, n) {
            buf[..n].copy_from_slice(bytes);
        }
        if n < buf.len() {
            let _ = self.not_captured(address.wrapping_add(n as u32), buf.len() - n);
        }
        Ok(n)
    }

    fn write_memory(&mut self, _: u32, _: &[u8]) -> Result<()> {
        Err(refuse("writing memory"))
    }

    fn read_registers(&mut self) -> Result<Registers> {
        Ok(self.registers.clone())
    }

    fn write_register(&mut self, _: &str, _: u32) -> Result<()> {
        Err(refuse("writing a register"))
    }

    /// The core is halted already, for good.
    fn halt(&mut self, _: Duration) -> Result<StopReason> {
        Ok(self.stop.clone())
    }

    fn resume(&mut self) -> Result<()> {
        Err(refuse("resuming the core"))
    }

    fn step(&mut self) -> Result<StopReason> {
        Err(refuse("single-stepping"))
    }

    fn state(&mut self) -> Result<CoreState> {
        if self.dump.meta.locked_up {
            return Ok(CoreState::LockedUp);
        }
        Ok(CoreState::Halted { reason: self.stop.clone() })
    }

    fn wait_for_stop(&mut self, _: Duration) -> Result<Option<StopReason>> {
        Ok(Some(self.stop.clone()))
    }

    fn set_breakpoint(&mut self, _: u32, _: BreakpointKind) -> Result<()> {
        Err(refuse("setting a breakpoint"))
    }

    fn clear_breakpoint(&mut self, _: u32) -> Result<()> {
        Err(refuse("clearing a breakpoint"))
    }

    fn breakpoints(&self) -> Vec<u32> {
        Vec::new()
    }

    fn detach(&mut self, _: bool) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coredump::{DumpFormat, MemoryImage, Metadata};

    fn target() -> CoreDumpTarget {
        let mut meta = Metadata::default();
        meta.registers.insert("pc".into(), 0x0800_0100);
        meta.unreadable.push(Span { start: 0x6000_0000, len: 0x100 });
        let memory = MemoryImage::from_pieces([(0x2000_0000, vec![5; 0x100])]);
        CoreDumpTarget::new(CoreDump { format: DumpFormat::Isrscope, memory, meta, warnings: vec![] }, "t.core")
    }

    #[test]
    fn reads_come_from_the_dump_and_gaps_are_clear_errors() {
        let mut t = target();
        assert!(!t.capabilities().live);
        let mut b = [0u8; 8];
        t.read_memory(0x2000_00f8, &mut b).unwrap();
        assert_eq!(b, [5; 8]);
        let e = t.read_memory(0x2000_00fc, &mut b).unwrap_err();
        assert!(matches!(e, TargetError::MemoryUnreadable { address: 0x2000_00fc, len: 8, .. }), "{e}");
        assert!(e.to_string().contains("not in the core dump"));
        assert_eq!(t.missing(), vec![Span { start: 0x2000_0100, len: 4 }]);
        // What the live target refused too is not "missing".
        assert!(t.read_memory(0x6000_0008, &mut b).is_err());
        assert_eq!(t.missing().len(), 1);
        let mut big = [0u8; 0x40];
        assert_eq!(t.read_memory_partial(0x2000_00e0, &mut big).unwrap(), 0x20);
        assert_eq!(t.missing(), vec![Span { start: 0x2000_0100, len: 0x20 }]);
    }

    #[test]
    fn a_dump_cannot_run() {
        let mut t = target();
        assert!(matches!(t.resume(), Err(TargetError::Unsupported(_))));
        assert!(t.set_breakpoint(0x0800_0000, BreakpointKind::Hardware).is_err());
        assert!(matches!(t.state().unwrap(), CoreState::Halted { .. }));
        assert_eq!(t.read_register("pc").unwrap(), 0x0800_0100);
    }
}
