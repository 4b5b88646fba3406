//! Target memory through a block cache.
//!
//! Unwinding reads many nearby words (saved registers, exception frames, stack scans).
//! Over SWD or GDB each request is a round trip, so reads go through 256-byte aligned
//! chunks fetched whole, and chunks that failed are remembered so a bad address costs
//! one request. Code bytes come from the ELF when it holds them.

use std::collections::HashMap;

use crate::debuginfo::Image;
use crate::target::Target;

const CHUNK: u32 = 256;

/// The Cortex-M default memory map's Device and System regions (peripherals, the
/// PPB): never read more than asked there.
fn is_device(address: u32) -> bool {
    matches!(address, 0x4000_0000..=0x5FFF_FFFF | 0xA000_0000..=0xFFFF_FFFF)
}

pub(crate) struct Memory<'t> {
    target: &'t mut dyn Target,
    chunks: HashMap<u32, Option<Box<[u8; CHUNK as usize]>>>,
    /// Requests sent to the target, for tests and diagnostics.
    pub(crate) requests: usize,
}

impl<'t> Memory<'t> {
    pub(crate) fn new(target: &'t mut dyn Target) -> Self {
        Self { target, chunks: HashMap::new(), requests: 0 }
    }

    /// Reads `buf.len()` bytes at `address`; `None` if any byte is unreadable.
    pub(crate) fn read(&mut self, address: u32, buf: &mut [u8]) -> Option<()> {
        let end = address.checked_add(buf.len() as u32)?;
        if is_device(address) || is_device(end - 1) {
            // Reads of peripherals and system registers can have side effects (clearing
            // status flags, DHCSR's sticky bits): read exactly what was asked, uncached.
            self.requests += 1;
            return self.target.read_memory(address, buf).ok();
        }
        let mut a = address;
        while a < end {
            let base = a & !(CHUNK - 1);
            let off = (a - base) as usize;
            let n = ((CHUNK - (a - base)) as usize).min((end - a) as usize);
            let dst = &mut buf[(a - address) as usize..][..n];
            match self.chunk(base) {
                Some(c) => dst.copy_from_slice(&c[off..off + n]),
                None => {
                    // The chunk straddles unreadable memory: try the exact span alone.
                    self.requests += 1;
                    self.target.read_memory(a, dst).ok()?;
                }
            }
            a += n as u32;
        }
        Some(())
    }

    fn chunk(&mut self, base: u32) -> Option<&[u8; CHUNK as usize]> {
        if !self.chunks.contains_key(&base) {
            let mut b = Box::new([0u8; CHUNK as usize]);
            self.requests += 1;
            let ok = self.target.read_memory(base, &mut b[..]).is_ok();
            self.chunks.insert(base, ok.then_some(b));
        }
        self.chunks.get(&base).and_then(|c| c.as_deref())
    }

    pub(crate) fn read_u32(&mut self, address: u32) -> Option<u32> {
        let mut b = [0u8; 4];
        self.read(address, &mut b)?;
        Some(u32::from_le_bytes(b))
    }

    /// Prefetches `[start, end)` in one request where the link allows (e.g. a whole
    /// stack region before a scan). Failures are ignored: chunk reads follow.
    pub(crate) fn prefetch(&mut self, start: u32, end: u32) {
        if is_device(start) || is_device(end.saturating_sub(1)) {
            return;
        }
        let start = start & !(CHUNK - 1);
        let end = end.saturating_add(CHUNK - 1) & !(CHUNK - 1);
        if end <= start || end - start > 256 * 1024 {
            return;
        }
        if (start..end).step_by(CHUNK as usize).all(|b| self.chunks.contains_key(&b)) {
            return;
        }
        let mut buf = vec![0u8; (end - start) as usize];
        self.requests += 1;
        if self.target.read_memory(start, &mut buf).is_ok() {
            for (i, c) in buf.chunks_exact(CHUNK as usize).enumerate() {
                let b: Box<[u8; CHUNK as usize]> = Box::new(c.try_into().unwrap());
                self.chunks.insert(start + i as u32 * CHUNK, Some(b));
            }
        }
    }

    /// A 16-bit code halfword: from the ELF if it has it, else from the target.
    pub(crate) fn code_u16(&mut self, image: &Image, address: u32) -> Option<u16> {
        if let Some(b) = image.read_static(address, 2) {
            return Some(u16::from_le_bytes([b[0], b[1]]));
        }
        let mut b = [0u8; 2];
        self.read(address, &mut b)?;
        Some(u16::from_le_bytes(b))
    }
}
