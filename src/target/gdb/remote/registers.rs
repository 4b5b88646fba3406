//! Registers over RSP: the `g` reply mapped through the target description, `p`/`P`
//! for single ones, and the trait's names (`s0`..`s31` are halves of 64-bit `dN`).

use super::{GdbTarget, refused};
use crate::target::gdb::packet::{error_code, from_hex, to_hex};
use crate::target::{Result, TargetError, reg};

impl GdbTarget {
    /// Names of the registers this target has, in the trait's spelling: 64-bit `dN`
    /// registers are offered as their halves `s(2N)`, `s(2N+1)`. A VFP annex the
    /// handshake deferred is listed by what GDB's standard VFP feature holds (S0-S31 and
    /// FPSCR, as every Cortex-M FPU has); reading it replaces these with its own list.
    pub(super) fn register_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for r in &self.tdesc.registers {
            match split_double(&r.name, r.bitsize) {
                Some(n) => names.extend([reg::s(2 * n), reg::s(2 * n + 1)]),
                None if r.bitsize <= 32 => names.push(r.name.clone()),
                None => {}
            }
        }
        if self.tdesc.deferred.iter().any(|href| href.contains("vfp")) {
            for name in (0..32).map(reg::s).chain([reg::FPSCR.to_string()]) {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        names
    }

    /// Stores a raw register value under its trait name(s). Unavailable values
    /// (`xx..`) leave the register absent.
    pub(super) fn store_register(&mut self, name: &str, bitsize: u32, raw: &[u8]) {
        let Some(bytes) = from_hex(raw) else { return };
        let word = |b: &[u8]| b.iter().rev().fold(0u32, |v, x| (v << 8) | u32::from(*x));
        if let Some(n) = split_double(name, bitsize) {
            if bytes.len() == 8 {
                self.regs.insert(reg::s(2 * n), word(&bytes[..4]));
                self.regs.insert(reg::s(2 * n + 1), word(&bytes[4..]));
            }
        } else if bitsize <= 32 && bytes.len() <= 4 {
            self.regs.insert(name, word(&bytes));
        }
    }

    pub(super) fn read_g(&mut self) -> Result<()> {
        if self.have_g {
            return Ok(());
        }
        let doing = "reading the registers (g)";
        let reply = self.request("g", doing)?;
        if let Some(code) = error_code(&reply) {
            return Err(TargetError::Refused {
                doing: doing.into(),
                message: refused(&code, &[]),
            });
        }
        if reply.is_empty()
            || reply.len() % 2 != 0
            || !reply.iter().all(|b| b.is_ascii_hexdigit() || *b == b'x')
        {
            return Err(self.malformed(doing, &reply));
        }
        let layout: Vec<(String, u32, usize)> = self
            .tdesc
            .g_layout()
            .into_iter()
            .map(|(r, off)| (r.name.clone(), r.bitsize, off))
            .collect();
        for (name, bitsize, offset) in layout {
            let (start, end) = (offset * 2, offset * 2 + (bitsize as usize).div_ceil(8) * 2);
            if end > reply.len() {
                break; // the rest is not in the g packet: read by p
            }
            self.store_register(&name, bitsize, &reply[start..end]);
        }
        self.have_g = true;
        Ok(())
    }

    /// Reads one register by its number with `p`.
    pub(super) fn read_p(&mut self, name: &str, regnum: u32, bitsize: u32) -> Result<()> {
        let doing = format!("reading register {name} (p{regnum:x})");
        let reply = self.request(&format!("p{regnum:x}"), &doing)?;
        if let Some(code) = error_code(&reply) {
            return Err(TargetError::Refused {
                doing,
                message: refused(&code, &[]),
            });
        }
        if reply.is_empty() {
            return Err(TargetError::Unsupported(format!(
                "reading register {name} with p"
            )));
        }
        if reply.len() != (bitsize as usize).div_ceil(8) * 2 {
            return Err(self.malformed(&doing, &reply));
        }
        self.store_register(name, bitsize, &reply);
        Ok(())
    }

    /// The description entry for a trait register name (`s5` lives in `d2`). An FP
    /// register not in the annexes read so far reads the deferred ones (that is what
    /// they hold) first.
    pub(super) fn locate(&mut self, name: &str) -> Result<Option<(String, u32, u32)>> {
        if let Some(found) = self.described(name) {
            return Ok(Some(found));
        }
        if self.tdesc.deferred.is_empty() || !is_fp_register(name) {
            return Ok(None);
        }
        self.complete_description(&|href| !is_fp_annex(href))?;
        Ok(self.described(name))
    }

    fn described(&self, name: &str) -> Option<(String, u32, u32)> {
        if let Some(r) = self.tdesc.find(name) {
            return Some((r.name.clone(), r.regnum, r.bitsize));
        }
        let n: usize = name.strip_prefix('s')?.parse().ok()?;
        let d = self
            .tdesc
            .find(&format!("d{}", n / 2))
            .filter(|d| d.bitsize == 64)?;
        Some((d.name.clone(), d.regnum, d.bitsize))
    }

    /// Reads the annexes the handshake deferred, but those `keep` defers still; the
    /// register list grows with them.
    pub(super) fn complete_description(&mut self, keep: &dyn Fn(&str) -> bool) -> Result<()> {
        if !self.tdesc.deferred.iter().any(|d| !keep(d)) {
            return Ok(());
        }
        let mut tdesc = std::mem::take(&mut self.tdesc);
        let done = tdesc.complete(&mut |annex| self.xfer_features(annex), keep);
        self.tdesc = tdesc;
        done?;
        self.caps.registers = self.register_names();
        Ok(())
    }

    /// Whether the register's value arrives in a `g` reply (by offset, as GDB decides).
    pub(super) fn in_g(&self, regnum: u32) -> bool {
        // Only known after one g; before it, assume the core registers (up to xpsr) are.
        if !self.have_g {
            return self
                .tdesc
                .find(reg::XPSR)
                .is_some_and(|x| regnum <= x.regnum);
        }
        false
    }

    /// Reads `names` with as few requests as possible: one `g` when two or more of them
    /// come in it, `p` for the others.
    pub(super) fn fetch_registers(&mut self, names: &[&str], skip_refused: bool) -> Result<()> {
        let mut missing: Vec<(String, String, u32, u32)> = Vec::new();
        for n in names {
            if self.regs.get(n).is_some() {
                continue;
            }
            let (raw, num, bits) = self
                .locate(n)?
                .ok_or_else(|| TargetError::NoSuchRegister(n.to_string()))?;
            missing.push((n.to_string(), raw, num, bits));
        }
        if missing.is_empty() {
            return Ok(());
        }
        if missing
            .iter()
            .filter(|(_, _, num, _)| self.in_g(*num))
            .count()
            >= 2
        {
            self.read_g()?;
        }
        for (name, raw, num, bits) in missing {
            if self.regs.get(&name).is_none() {
                let mut read = self.read_p(&raw, num, bits);
                // A server without `p` (pyOCD's gdbserver answers it empty) still has
                // the register in its `g` reply, as gdb reads it.
                if matches!(read, Err(TargetError::Unsupported(_))) && !self.have_g {
                    self.read_g()?;
                    if self.regs.get(&name).is_some() {
                        read = Ok(());
                    }
                }
                match read {
                    // A register the server describes but will not read is left
                    // out (absent, never zero) when reading the whole set.
                    Err(TargetError::Refused { .. } | TargetError::Unsupported(_))
                        if skip_refused => {}
                    other => other?,
                }
            }
        }
        Ok(())
    }

    pub(super) fn write_raw_register(
        &mut self,
        raw: &str,
        regnum: u32,
        bytes: &[u8],
    ) -> Result<()> {
        let doing = format!("writing register {raw} (P{regnum:x})");
        let reply = self.request(&format!("P{regnum:x}={}", to_hex(bytes)), &doing)?;
        match reply.as_slice() {
            b"OK" => Ok(()),
            b"" => Err(TargetError::Unsupported(format!(
                "writing register {raw} with P"
            ))),
            r => match error_code(r) {
                Some(code) => Err(TargetError::Refused {
                    doing,
                    message: refused(&code, &[]),
                }),
                None => Err(self.malformed(&doing, r)),
            },
        }
    }
}

/// A register of the FP bank (or MVE's), in the trait's or a description's spelling.
fn is_fp_register(name: &str) -> bool {
    let numbered = |prefix: char| {
        name.strip_prefix(prefix)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    name == reg::FPSCR || name == "vpr" || numbered('s') || numbered('d') || numbered('q')
}

/// An annex that holds FP (or vector) registers: read for [`is_fp_register`] names,
/// leaving other deferred annexes (QEMU's system registers) unread.
pub(super) fn is_fp_annex(href: &str) -> bool {
    ["vfp", "neon", "mve"].iter().any(|f| href.contains(f))
}

/// `dN` with 64 bits: the number N.
pub(super) fn split_double(name: &str, bitsize: u32) -> Option<usize> {
    if bitsize != 64 {
        return None;
    }
    name.strip_prefix('d')?.parse().ok().filter(|n| *n < 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fp_register_names_are_told_from_others() {
        for n in ["s0", "s31", "d15", "fpscr", "q3", "vpr"] {
            assert!(is_fp_register(n), "{n}");
        }
        for n in ["sp", "msp", "psp_s", "s", "d1x", "control"] {
            assert!(!is_fp_register(n), "{n}");
        }
    }

    #[test]
    pub(super) fn only_64_bit_d_registers_split() {
        assert_eq!(split_double("d3", 64), Some(3));
        assert_eq!(split_double("d3", 32), None);
        assert_eq!(split_double("data", 64), None);
    }
}
