//! DWARF call frame information from `.debug_frame` and `.eh_frame`.
//!
//! FDEs are indexed once (sorted by start address) and found by binary search; only
//! the FDE that covers a PC is parsed and evaluated. probe-rs scans every FDE per
//! frame, which is what makes it slow on large images.

use gimli::{BaseAddresses, CfaRule, DebugFrame, EhFrame, RegisterRule, UnwindContext, UnwindSection};

use super::memory::Memory;
use super::regs::{LR, RegisterSet, SP};
use crate::debuginfo::{CodeMap, Image, Reader};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Which {
    DebugFrame,
    EhFrame,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    start: u32,
    end: u32,
    which: Which,
    offset: usize,
}

/// Why CFI could not unwind a frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CfiError {
    /// No FDE covers the address.
    NoInfo,
    /// The FDE exists but evaluation failed (what, in words).
    Failed(String),
    /// A saved register's slot could not be read.
    Unreadable(u32),
}

pub(crate) struct CfiIndex {
    entries: Vec<Entry>,
    debug_frame: Option<DebugFrame<Reader>>,
    eh_frame: Option<EhFrame<Reader>>,
    bases: BaseAddresses,
    ctx: Box<UnwindContext<usize>>,
    /// Problems met while indexing (malformed entries skipped).
    pub(crate) warnings: Vec<String>,
}

/// The caller's registers (SP = the frame's CFA).
pub(crate) struct CfiStep {
    pub(crate) caller: RegisterSet,
}

impl CfiIndex {
    pub(crate) fn new(image: &Image) -> Self {
        let le = gimli::RunTimeEndian::Little;
        let mut debug_frame = image.debug_section(".debug_frame").map(|b| {
            let mut s = DebugFrame::from(gimli::EndianReader::new(b, le));
            s.set_address_size(4);
            s
        });
        let mut eh_frame = image.debug_section(".eh_frame").map(|b| {
            let mut s = EhFrame::from(gimli::EndianReader::new(b, le));
            s.set_address_size(4);
            s
        });
        let mut bases = BaseAddresses::default();
        if let Some(s) = image.section(".eh_frame") {
            bases = bases.set_eh_frame(u64::from(s.address));
        }
        if let Some(s) = image.section(".text") {
            bases = bases.set_text(u64::from(s.address));
        }
        let mut warnings = Vec::new();
        let mut entries = Vec::new();
        if let Some(s) = &debug_frame {
            index_section(s, &bases, Which::DebugFrame, image.code_map(), &mut entries, &mut warnings);
        }
        if let Some(s) = &eh_frame {
            index_section(s, &bases, Which::EhFrame, image.code_map(), &mut entries, &mut warnings);
        }
        if entries.is_empty() {
            debug_frame = None;
            eh_frame = None;
        }
        // .debug_frame first among equals: it is what the compiler wrote for debuggers.
        entries.sort_by_key(|e| (e.start, e.which != Which::DebugFrame));
        CfiIndex { entries, debug_frame, eh_frame, bases, ctx: Box::new(UnwindContext::new()), warnings }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    fn find(&self, pc: u32) -> Option<Entry> {
        let idx = self.entries.partition_point(|e| e.start <= pc);
        // Overlapping FDEs can remain (identical-code folding): look back a little for
        // one that really covers `pc`.
        self.entries[..idx].iter().rev().take(4).find(|e| pc < e.end).copied()
    }

    /// Unwinds one frame: `regs` are the frame's registers at `lookup_pc` (the PC, or
    /// the return address - 1 for a caller, so that a call at the end of a function
    /// finds that function's row).
    pub(crate) fn step(&mut self, lookup_pc: u32, regs: &RegisterSet, mem: &mut Memory<'_>) -> Result<CfiStep, CfiError> {
        let entry = self.find(lookup_pc).ok_or(CfiError::NoInfo)?;
        let fail = |e: gimli::Error| CfiError::Failed(format!("CFI for {lookup_pc:#010x}: {e}"));
        let row = match entry.which {
            Which::DebugFrame => {
                let s = self.debug_frame.as_ref().ok_or(CfiError::NoInfo)?;
                let fde = s
                    .fde_from_offset(&self.bases, gimli::DebugFrameOffset(entry.offset), DebugFrame::cie_from_offset)
                    .map_err(fail)?;
                fde.unwind_info_for_address(s, &self.bases, &mut self.ctx, u64::from(lookup_pc)).map_err(fail)?.clone()
            }
            Which::EhFrame => {
                let s = self.eh_frame.as_ref().ok_or(CfiError::NoInfo)?;
                let fde = s
                    .fde_from_offset(&self.bases, gimli::EhFrameOffset(entry.offset), EhFrame::cie_from_offset)
                    .map_err(fail)?;
                fde.unwind_info_for_address(s, &self.bases, &mut self.ctx, u64::from(lookup_pc)).map_err(fail)?.clone()
            }
        };

        let cfa = match row.cfa() {
            CfaRule::RegisterAndOffset { register, offset } => {
                let base = regs.get(register.0 as usize).ok_or_else(|| {
                    CfiError::Failed(format!("the CFA is based on r{} whose value is unknown", register.0))
                })?;
                (i64::from(base) + offset) as u32
            }
            CfaRule::Expression(_) => {
                return Err(CfiError::Failed("CFA given by a DWARF expression (not supported)".into()));
            }
        };

        let mut caller = RegisterSet::default();
        // Defaults (AAPCS): r4-r11 and s16-s31 are callee-saved, the rest are not.
        for n in 4..=11 {
            caller.r[n] = regs.r[n];
        }
        caller.r[LR] = regs.r[LR];
        for n in 16..32 {
            caller.s[n] = regs.s[n];
        }
        caller.r[SP] = Some(cfa);

        let mut unreadable = None;
        let mut read = |mem: &mut Memory<'_>, off: i64| {
            let a = (i64::from(cfa) + off) as u32;
            let v = mem.read_u32(a);
            if v.is_none() {
                unreadable.get_or_insert(a);
            }
            v
        };
        for (reg, rule) in row.registers() {
            let n = reg.0 as usize;
            let value: Option<u32> = match rule {
                RegisterRule::Undefined => None,
                RegisterRule::SameValue => reg_value(regs, n),
                RegisterRule::Offset(o) => {
                    if (256..288).contains(&n) {
                        // A D register: two S registers, low word first.
                        let lo = read(mem, *o);
                        let hi = read(mem, *o + 4);
                        set_d(&mut caller, n - 256, lo, hi);
                        continue;
                    }
                    read(mem, *o)
                }
                RegisterRule::ValOffset(o) => Some((i64::from(cfa) + o) as u32),
                RegisterRule::Register(r) => reg_value(regs, r.0 as usize),
                RegisterRule::Constant(c) => Some(*c as u32),
                _ => None,
            };
            match n {
                0..=15 => caller.r[n] = value,
                64..=95 => caller.s[n - 64] = value,
                256..=287 => set_d(&mut caller, n - 256, value, None),
                _ => {}
            }
        }
        // The return address is the recovered LR; the caller's PC is that address.
        caller.r[15] = caller.r[LR];
        if let (None, Some(a)) = (caller.r[15], unreadable) {
            return Err(CfiError::Unreadable(a));
        }
        Ok(CfiStep { caller })
    }
}

fn reg_value(regs: &RegisterSet, n: usize) -> Option<u32> {
    match n {
        0..=15 => regs.r[n],
        64..=95 => regs.s[n - 64],
        _ => None,
    }
}

fn set_d(caller: &mut RegisterSet, d: usize, lo: Option<u32>, hi: Option<u32>) {
    if d < 16 {
        caller.s[2 * d] = lo;
        caller.s[2 * d + 1] = hi;
    }
}

fn index_section<S: UnwindSection<Reader>>(
    section: &S,
    bases: &BaseAddresses,
    which: Which,
    code: &CodeMap,
    out: &mut Vec<Entry>,
    warnings: &mut Vec<String>,
) where
    S::Offset: gimli::UnwindOffset<usize>,
{
    let mut iter = section.entries(bases);
    loop {
        match iter.next() {
            Ok(None) => break,
            Ok(Some(gimli::CieOrFde::Cie(_))) => {}
            Ok(Some(gimli::CieOrFde::Fde(partial))) => {
                let offset: usize = partial.offset();
                match partial.parse(S::cie_from_offset) {
                    Ok(fde) => {
                        let start = fde.initial_address() as u32;
                        let end = fde.end_address() as u32;
                        // FDEs of discarded code sit at 0 or a tombstone: only those
                        // that start in code are live (debuginfo::code).
                        if end > start && code.starts_code(start) {
                            out.push(Entry { start, end, which, offset });
                        }
                    }
                    Err(e) => warnings.push(format!("skipped a malformed FDE at offset {offset:#x}: {e}")),
                }
            }
            Err(e) => {
                warnings.push(format!("stopped reading CFI: {e}"));
                break;
            }
        }
    }
}
