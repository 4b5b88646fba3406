//! SEGGER RTT up channels, read by memory accesses on any [`Target`]: the control block
//! at the `_SEGGER_RTT` symbol ("SEGGER RTT" id, the channel counts, one descriptor of
//! six words per channel: name, buffer, size, write offset, read offset, flags). The
//! host reads from the read offset to the write offset and then moves the read offset
//! on: the one write RTT lets the host make. Bounded: at most 16 up channels, buffers
//! up to 1 MiB, as the control block says (a garbage block gives an error, no read).
//! Without the symbol (a stripped or renamed one), the block is searched for in the RAM
//! the ELF's writable sections occupy, where a static control block must be
//! ([`Rtt::scan_regions`], [`Rtt::scan`]).

use crate::debuginfo::Image;
use crate::target::{Result, Target, TargetError};

const ID: &[u8; 10] = b"SEGGER RTT";
const MAX_CHANNELS: u32 = 16;
const MAX_BUFFER: u32 = 1 << 20;
/// Control block header: the 16-byte id, MaxNumUpBuffers, MaxNumDownBuffers.
const HEADER: u32 = 24;
/// One channel descriptor: sName, pBuffer, SizeOfBuffer, WrOff, RdOff, Flags.
const DESCRIPTOR: u32 = 24;

/// One up channel (target to host).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Channel {
    pub index: u32,
    pub name: String,
    descriptor: u32,
    buffer: u32,
    size: u32,
}

/// The control block, once the firmware has set it up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rtt {
    pub address: u32,
    pub up: Vec<Channel>,
}

impl Rtt {
    /// Where the control block is: the `_SEGGER_RTT` symbol.
    pub fn address(image: &Image) -> Option<u32> {
        image.symbols().by_name("_SEGGER_RTT").map(|s| s.address)
    }

    /// Where a control block without its symbol can be: the ELF's allocated writable
    /// sections (`.data`, `.bss`, `.uninit`, ...), as (start, length), merged where they
    /// touch, at most 1 MiB in all.
    pub fn scan_regions(image: &Image) -> Vec<(u32, u32)> {
        let mut r: Vec<(u32, u32)> =
            image.sections().iter().filter(|s| s.alloc && s.writable && s.size >= HEADER).map(|s| (s.address, s.size)).collect();
        r.sort();
        let mut out: Vec<(u32, u32)> = Vec::new();
        let mut total = 0u32;
        for (a, n) in r {
            let n = n.min(MAX_BUFFER - total);
            if n == 0 {
                break;
            }
            total += n;
            match out.last_mut() {
                Some((b, m)) if b.wrapping_add(*m) == a => *m += n,
                _ => out.push((a, n)),
            }
        }
        out
    }

    /// Searches `regions` for the control block's id, in reads of 1 KiB (overlapping
    /// by the id's length); the address of the first one found.
    pub fn scan(target: &mut dyn Target, regions: &[(u32, u32)]) -> Result<Option<u32>> {
        const CHUNK: u32 = 1024;
        for &(start, len) in regions {
            let mut at = 0;
            while at < len {
                let n = (len - at).min(CHUNK + ID.len() as u32);
                let mut buf = vec![0u8; n as usize];
                target.read_memory(start + at, &mut buf)?;
                if let Some(i) = buf.windows(ID.len()).position(|w| w == ID) {
                    return Ok(Some(start + at + i as u32));
                }
                at += CHUNK;
            }
        }
        Ok(None)
    }

    /// Reads the control block at `address`. `Ok(None)` while the firmware has not
    /// written its id yet (it does so at its RTT init).
    pub fn attach(target: &mut dyn Target, address: u32) -> Result<Option<Rtt>> {
        let mut head = [0u8; HEADER as usize];
        target.read_memory(address, &mut head)?;
        if &head[..10] != ID {
            return Ok(None);
        }
        let up = u32::from_le_bytes([head[16], head[17], head[18], head[19]]);
        if up == 0 || up > MAX_CHANNELS {
            return Err(TargetError::Other(format!("RTT control block at {address:#010x}: {up} up channels (corrupt?)")));
        }
        let mut desc = vec![0u8; (up * DESCRIPTOR) as usize];
        target.read_memory(address + HEADER, &mut desc)?;
        let mut channels = Vec::new();
        for (i, d) in desc.chunks_exact(DESCRIPTOR as usize).enumerate() {
            let w = |k: usize| u32::from_le_bytes([d[4 * k], d[4 * k + 1], d[4 * k + 2], d[4 * k + 3]]);
            let (name_ptr, buffer, size) = (w(0), w(1), w(2));
            if buffer == 0 || size == 0 {
                continue; // a channel the firmware does not use
            }
            if size > MAX_BUFFER {
                return Err(TargetError::Other(format!("RTT up channel {i}: a buffer of {size} bytes (corrupt?)")));
            }
            let mut name = vec![0u8; 32];
            let name = match name_ptr {
                0 => String::new(),
                p => match target.read_memory(p, &mut name) {
                    Ok(()) => String::from_utf8_lossy(&name[..name.iter().position(|&c| c == 0).unwrap_or(32)]).into_owned(),
                    Err(_) => String::new(),
                },
            };
            let descriptor = address + HEADER + i as u32 * DESCRIPTOR;
            channels.push(Channel { index: i as u32, name, descriptor, buffer, size });
        }
        Ok(Some(Rtt { address, up: channels }))
    }

    /// What each up channel holds that the host has not read: (channel, bytes). Moves
    /// each channel's read offset past what was read.
    pub fn poll(&self, target: &mut dyn Target) -> Result<Vec<(u32, Vec<u8>)>> {
        let mut out = Vec::new();
        for c in &self.up {
            let mut offs = [0u8; 8];
            target.read_memory(c.descriptor + 12, &mut offs)?;
            let wr = u32::from_le_bytes([offs[0], offs[1], offs[2], offs[3]]);
            let rd = u32::from_le_bytes([offs[4], offs[5], offs[6], offs[7]]);
            if wr == rd {
                continue;
            }
            if wr >= c.size || rd >= c.size {
                return Err(TargetError::Other(format!("RTT up channel {}: offsets {wr}/{rd} outside its {} bytes (corrupt?)", c.index, c.size)));
            }
            let mut data = Vec::new();
            if wr > rd {
                data.resize((wr - rd) as usize, 0);
                target.read_memory(c.buffer + rd, &mut data)?;
            } else {
                // Wrapped: the end of the buffer, then its start.
                let mut tail = vec![0u8; (c.size - rd) as usize];
                target.read_memory(c.buffer + rd, &mut tail)?;
                let mut head = vec![0u8; wr as usize];
                target.read_memory(c.buffer, &mut head)?;
                data = tail;
                data.extend(head);
            }
            target.write_memory(c.descriptor + 16, &wr.to_le_bytes())?;
            out.push((c.index, data));
        }
        Ok(out)
    }
}
