//! Fallbacks for code without CFI, always labelled as such in the output:
//! Thumb prologue analysis, scanning the stack for return addresses that follow a
//! BL/BLX, and finding recursion in an overflowed stack.

use std::collections::HashMap;

use super::memory::Memory;
use super::pc::{FramePc, PcKind};
use super::regs::{LR, PC, RegisterSet, SP};
use crate::debuginfo::Image;
use crate::model::exc_return::looks_like_exc_return;

/// `address` (Thumb bit ignored) is code the image holds (`Image::is_code`).
pub(crate) fn in_code(image: &Image, address: u32) -> bool {
    image.is_code(address)
}

/// `ret` (with the Thumb bit) is a plausible return address: odd, in code, and the
/// instruction before it is a BL (32-bit) or BLX register (16-bit).
pub(crate) fn follows_call(image: &Image, mem: &mut Memory<'_>, ret: u32) -> bool {
    if ret & 1 == 0 || !in_code(image, ret) {
        return false;
    }
    let a = ret & !1;
    // BLX Rm: 0100 0111 1mmm m000.
    if let Some(h) = mem.code_u16(image, a.wrapping_sub(2)) {
        if h & 0xFF87 == 0x4780 {
            return true;
        }
    }
    // BL <imm>: 11110 S imm10, 11 J1 1 J2 imm11.
    match (mem.code_u16(image, a.wrapping_sub(4)), mem.code_u16(image, a.wrapping_sub(2))) {
        (Some(h1), Some(h2)) => h1 & 0xF800 == 0xF000 && h2 & 0xD000 == 0xD000,
        _ => false,
    }
}

/// What a function's prologue did before `pc`.
struct Prologue {
    /// Bytes the prologue moved SP down by.
    frame_size: u32,
    /// Saved core registers: (register, offset from the entry SP, negative).
    saved: Vec<(usize, i64)>,
    lr_saved: bool,
}

/// Decodes the common Thumb prologue instructions from `start` to `pc`: PUSH (T1/T2),
/// STR LR pre-indexed, SUB SP (T1/T2/T3), VPUSH. Stops at anything else that is not a
/// plain data-processing instruction, since SP arithmetic past it cannot be tracked.
fn analyze_prologue(image: &Image, mem: &mut Memory<'_>, start: u32, pc: u32) -> Option<Prologue> {
    let mut p = Prologue { frame_size: 0, saved: Vec::new(), lr_saved: false };
    let mut a = start;
    let mut n = 0;
    while a < pc && n < 24 {
        n += 1;
        let h1 = mem.code_u16(image, a)?;
        let wide = matches!(h1 >> 11, 0b11101..=0b11111);
        let h2 = if wide { mem.code_u16(image, a + 2)? } else { 0 };
        if h1 & 0xFE00 == 0xB400 {
            // PUSH {list, (lr)}: the lowest register at the lowest address.
            let mut regs: Vec<usize> = (0..8).filter(|i| h1 & (1 << i) != 0).collect();
            if h1 & 0x100 != 0 {
                regs.push(LR);
            }
            push_regs(&mut p, &regs);
        } else if h1 == 0xE92D {
            let regs: Vec<usize> = (0..15).filter(|i| h2 & (1 << i) != 0).collect();
            push_regs(&mut p, &regs);
        } else if h1 == 0xF84D && h2 & 0x0FFF == 0x0D04 {
            // STR Rt, [SP, #-4]!
            push_regs(&mut p, &[(h2 >> 12) as usize]);
        } else if h1 & 0xFF80 == 0xB080 {
            p.frame_size += u32::from(h1 & 0x7F) * 4;
        } else if h1 & 0xFBFF == 0xF1AD && h2 & 0x8F00 == 0x0D00 && h1 & 0x0400 == 0 && h2 & 0x7000 == 0 {
            // SUB.W SP, SP, #imm8 (no rotation)
            p.frame_size += u32::from(h2 & 0xFF);
        } else if h1 & 0xFBFF == 0xF2AD && h2 & 0x8F00 == 0x0D00 {
            // SUBW SP, SP, #imm12
            let imm = (u32::from(h1 >> 10) & 1) << 11 | (u32::from(h2 >> 12) & 7) << 8 | u32::from(h2 & 0xFF);
            p.frame_size += imm;
        } else if h1 & 0xFFBF == 0xED2D && (h2 & 0x0E00) == 0x0A00 {
            // VPUSH {s/d list}: imm8 words.
            p.frame_size += u32::from(h2 & 0xFF) * 4;
        } else if wide || is_branch16(h1) {
            // Anything else 32-bit, or a branch: stop tracking.
            break;
        }
        a = a.wrapping_add(if wide { 4 } else { 2 });
    }
    Some(p)
}

fn is_branch16(h: u16) -> bool {
    h & 0xF000 == 0xD000 || h & 0xF800 == 0xE000 || h & 0xFF00 == 0x4700 || h & 0xF500 == 0xB100
}

fn push_regs(p: &mut Prologue, regs: &[usize]) {
    let base = p.frame_size + 4 * regs.len() as u32;
    for (i, &r) in regs.iter().enumerate() {
        // Offset from the entry SP: the highest register is at entry SP - 4.
        p.saved.push((r, -(i64::from(base) - 4 * i as i64)));
        if r == LR {
            p.lr_saved = true;
        }
    }
    p.frame_size = base;
}

/// A caller found by a heuristic, and what it was based on.
pub(crate) struct Guess {
    pub(crate) caller: RegisterSet,
    pub(crate) how: String,
}

/// Unwinds a frame without CFI. Its code is looked up at `at.lookup()` (the call site
/// for a return address); `lr_live` is true when the PC came from the core or an
/// exception frame (the innermost frame, an interrupted context), so LR may still hold
/// the return address.
pub(crate) fn guess_caller(
    image: &Image,
    mem: &mut Memory<'_>,
    regs: &RegisterSet,
    at: FramePc,
    lr_live: bool,
    stack_top: Option<u32>,
) -> Option<Guess> {
    let pc = at.pc;
    let sp = regs.sp()?;
    let keep_callee_saved = |caller: &mut RegisterSet| {
        for n in 4..=11 {
            caller.r[n] = regs.r[n];
        }
    };
    if lr_live && !in_code(image, at.lookup()) {
        // A jump to a bad address (bad function pointer): nothing was pushed and LR
        // holds the return address of the call.
        let lr = regs.lr()?;
        let mut caller = RegisterSet::default();
        keep_callee_saved(&mut caller);
        caller.r[SP] = Some(sp);
        caller.r[LR] = Some(lr);
        caller.r[PC] = Some(lr);
        return Some(Guess { caller, how: format!("PC {pc:#010x} is outside code: assumed a call through a bad pointer, return address from LR") });
    }
    if let Some(func) = image.symbols().function_at(at.lookup()) {
        let start = func.address;
        if let Some(p) = analyze_prologue(image, mem, start, pc) {
            let cfa = sp.wrapping_add(p.frame_size);
            let mut caller = RegisterSet::default();
            keep_callee_saved(&mut caller);
            caller.r[SP] = Some(cfa);
            for &(r, off) in &p.saved {
                caller.r[r] = mem.read_u32((i64::from(cfa) + off) as u32);
            }
            let how = if p.lr_saved {
                format!("prologue analysis of {} (frame {} bytes, LR saved)", func.demangled, p.frame_size)
            } else if lr_live {
                caller.r[LR] = regs.lr();
                format!("prologue analysis of {} (frame {} bytes, LR not saved: leaf or entry)", func.demangled, p.frame_size)
            } else {
                // A caller frame whose LR was never saved: it cannot be recovered.
                return scan(image, mem, regs, stack_top);
            };
            caller.r[PC] = caller.r[LR];
            if caller.r[PC].is_some() {
                return Some(Guess { caller, how });
            }
        }
    }
    scan(image, mem, regs, stack_top)
}

/// Scans the stack upward from SP for the first word that is an EXC_RETURN or a
/// return address following a BL/BLX.
fn scan(image: &Image, mem: &mut Memory<'_>, regs: &RegisterSet, stack_top: Option<u32>) -> Option<Guess> {
    let sp = regs.sp()?;
    let limit = stack_top.unwrap_or(sp.saturating_add(1024)).min(sp.saturating_add(2048));
    let mut a = sp;
    while a < limit {
        let w = mem.read_u32(a)?;
        if (looks_like_exc_return(w) && w >> 24 == 0xFF) || follows_call(image, mem, w) {
            let mut caller = RegisterSet::default();
            caller.r[SP] = Some(a.wrapping_add(4));
            caller.r[LR] = Some(w);
            caller.r[PC] = Some(w);
            return Some(Guess {
                caller,
                how: format!("stack scan: return address {w:#010x} found at {a:#010x} ({} bytes above SP)", a - sp),
            });
        }
        let Some(next) = a.checked_add(4) else { break };
        a = next;
    }
    None
}

/// Return addresses found on `[start, end)` (readable parts only), by function.
pub(crate) fn return_addresses(image: &Image, mem: &mut Memory<'_>, start: u32, end: u32) -> Vec<(u32, u32)> {
    mem.prefetch(start, end);
    let mut out = Vec::new();
    let mut a = start & !3;
    while a < end {
        if let Some(w) = mem.read_u32(a) {
            if follows_call(image, mem, w) {
                out.push((a, w));
            }
        }
        let Some(next) = a.checked_add(4) else { break };
        a = next;
    }
    out
}

/// The first window of the recursion scan, just above the lowest SP (one request of
/// QEMU's gdbstub, which answers at most 0x800 bytes per `m`).
pub(crate) const RECURSION_FIRST_WINDOW: u32 = 2 * 1024;
/// The most the recursion scan reads: enough for a hundred or more frames of a typical
/// recursion, where the whole stack would cost 64 requests for 128 KiB of RAM on QEMU
/// (and half a second on a 4 MHz SWD link).
pub(crate) const RECURSION_MAX_SCAN: u32 = 8 * 1024;

/// Finds the recursion of an overflowed stack from `[start, end)` economically: scans
/// a first window just above `start` (the lowest SP), and doubles what is scanned only
/// while no recursion is found yet or the highest return address of the window still
/// belongs to the repeating cycle, up to [`RECURSION_MAX_SCAN`]. When the limit stops a
/// recursion that still goes on, the count is a lower bound (`at_least`).
pub(crate) fn scan_recursion(image: &Image, mem: &mut Memory<'_>, start: u32, end: u32) -> Option<super::output::Recursion> {
    let mut addrs = Vec::new();
    let mut hi = start;
    let mut window = RECURSION_FIRST_WINDOW;
    loop {
        let lo = hi;
        hi = lo.saturating_add(window).min(end);
        addrs.extend(return_addresses(image, mem, lo, hi));
        let found = recursion(image, &addrs, 3);
        let scanned = hi - start;
        let continues = match (&found, addrs.last()) {
            (None, _) => true,
            (Some(r), Some(&(_, ra))) => {
                let f = image.symbolize(FramePc::new(ra, PcKind::AfterCall).lookup()).function().unwrap_or("??").to_string();
                f == r.function || r.cycle.contains(&f)
            }
            (Some(_), None) => false,
        };
        if hi >= end || !continues || scanned >= RECURSION_MAX_SCAN {
            return found.map(|mut r| {
                r.at_least = continues && hi < end;
                r.scanned_bytes = scanned;
                r
            });
        }
        // Double what has been scanned, never past the limit.
        window = scanned.min(RECURSION_MAX_SCAN - scanned);
    }
}

/// Groups return addresses by the function they return into and finds the one that
/// repeats most. With `min` or more occurrences it is reported as recursion.
pub(crate) fn recursion(image: &Image, addrs: &[(u32, u32)], min: usize) -> Option<super::output::Recursion> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    let names: Vec<String> = addrs
        .iter()
        .map(|&(_, ra)| image.symbolize(FramePc::new(ra, PcKind::AfterCall).lookup()).function().unwrap_or("??").to_string())
        .collect();
    for n in &names {
        *counts.entry(n.clone()).or_default() += 1;
    }
    let mut histogram: Vec<(String, usize)> = counts.into_iter().collect();
    histogram.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let (top, count) = histogram.first().cloned()?;
    if count < min {
        return None;
    }
    // The cycle: the functions between two consecutive occurrences of `top`.
    let positions: Vec<usize> = names.iter().enumerate().filter(|(_, n)| **n == top).map(|(i, _)| i).collect();
    let cycle = match positions.as_slice() {
        [a, b, ..] => names[*a + 1..*b].to_vec(),
        _ => Vec::new(),
    };
    Some(super::output::Recursion { function: top, count, at_least: false, scanned_bytes: 0, cycle, histogram, heuristic: true })
}
