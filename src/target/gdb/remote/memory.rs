//! Memory over RSP: `m` reads split at the server's packet size, `X` (when the server
//! takes it) or `M` writes, and the cache of what was read while halted.

use super::{GdbTarget, refused};
use crate::target::gdb::packet::{self, error_code, from_hex, to_hex};
use crate::target::{Result, TargetError};

impl GdbTarget {
    pub(super) fn read_block(&mut self, address: u32, buf: &mut [u8]) -> Result<()> {
        let max = self.caps.max_read.max(4);
        let mut done = 0;
        while done < buf.len() {
            let here = address.wrapping_add(done as u32);
            let len = (buf.len() - done).min(max);
            let doing = format!("reading memory at {here:#010x} (m, {len} bytes)");
            let reply = self.request(&format!("m{here:x},{len:x}"), &doing)?;
            if let Some(code) = error_code(&reply) {
                return Err(TargetError::MemoryUnreadable {
                    address: here,
                    len,
                    message: format!("the server answered {code}{}", unmapped_hint(&code)),
                });
            }
            match from_hex(&reply) {
                Some(bytes) if bytes.len() == len => buf[done..done + len].copy_from_slice(&bytes),
                Some(bytes) if !bytes.is_empty() && bytes.len() < len => {
                    // A short read: the end of readable memory. The rest fails as a whole.
                    return Err(TargetError::MemoryUnreadable {
                        address: here.wrapping_add(bytes.len() as u32),
                        len: len - bytes.len(),
                        message: "the server returned fewer bytes than asked".into(),
                    });
                }
                _ => return Err(self.malformed(&doing, &reply)),
            }
            done += len;
        }
        Ok(())
    }

    pub(super) fn cached(&self, address: u32, len: usize) -> Option<&[u8]> {
        self.memory.iter().find_map(|(start, bytes)| {
            let off = address.checked_sub(*start)? as usize;
            bytes.get(off..off.checked_add(len)?)
        })
    }

    pub(super) fn write_block(&mut self, address: u32, data: &[u8]) -> Result<()> {
        // QEMU drops packets of 4096 characters or more: stay well under PacketSize.
        let overhead = 128;
        let max = (self.features.packet_size.saturating_sub(overhead) / 2).max(16);
        if self.features.binary_write.is_none() {
            let reply = self.request(&format!("X{address:x},0:"), "probing binary writes (X)")?;
            self.features.binary_write = Some(reply == b"OK");
        }
        let binary = self.features.binary_write == Some(true);
        let mut done = 0;
        while done < data.len() {
            let here = address.wrapping_add(done as u32);
            let chunk = &data[done..data.len().min(done + max)];
            let doing = format!("writing memory at {here:#010x} ({} bytes)", chunk.len());
            let mut payload = if binary {
                format!("X{here:x},{:x}:", chunk.len())
            } else {
                format!("M{here:x},{:x}:", chunk.len())
            }
            .into_bytes();
            if binary {
                payload.extend(packet::escape_binary(chunk));
            } else {
                payload.extend(to_hex(chunk).into_bytes());
            }
            let reply = self.conn.request(&payload, &doing)?;
            match reply.as_slice() {
                b"OK" => {}
                r => match error_code(r) {
                    Some(code) => {
                        return Err(TargetError::Refused {
                            doing,
                            message: refused(&code, &[]) + unmapped_hint(&code),
                        });
                    }
                    None => return Err(self.malformed(&doing, r)),
                },
            }
            done += chunk.len();
        }
        Ok(())
    }
}

fn unmapped_hint(code: &str) -> &'static str {
    // QEMU answers E14 (EFAULT) for addresses with nothing mapped.
    if code == "E14" {
        " (no memory mapped there)"
    } else {
        ""
    }
}
