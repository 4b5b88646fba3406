//! Taking a dump from a halted live target: every core register, the system register
//! blocks, the RAM regions, and every byte the report's analysis reads.
//!
//! The analysis is run once at capture through a recording wrapper, and everything it
//! read (stack, exception frames, FPCCR, code it fetched from the target) goes into the
//! dump with the RAM: so `analyze` on the dump reads exactly what `inspect` read live
//! and gives the same report. Reads the live target refused are recorded too, so the
//! same reads fail the same way on the dump. Code around each PC of the backtrace is
//! copied too (gdb wants the instruction at every frame's PC), and the SP gdb needs is
//! worked out ([`Metadata::gdb_sp`]).
//!
//! No I/O but the target's and no terminal: progress goes to a callback.

use crate::debuginfo::Image;
use crate::model::regs::{SCB_BLOCK_START, dcb, fpu, mpu, nvic, scb, scs};
use crate::report::{self, CollectOptions, Report};
use crate::target::{
    BreakpointKind, CatchKind, Capabilities, CoreState, Registers, Result, StopReason, Target, TargetError,
};

use super::memory::Span;
use super::meta::{ElfIdentity, FORMAT_VERSION, Metadata, RegionKind, RegionRecord, SavedStop, now_rfc3339};
use super::{CoreDump, DumpFormat, MemoryImage};

/// Bytes per read while copying RAM (progress granularity; backends split further).
const CHUNK: u32 = 16 * 1024;

/// A span of memory to capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegionRequest {
    pub name: String,
    pub kind: RegionKind,
    pub start: u32,
    pub len: u32,
}

/// What to capture and what is known about the stop.
#[derive(Clone, Debug, Default)]
pub struct CaptureOptions {
    /// Memory regions to copy whole (RAM from the ELF, or the user's).
    pub regions: Vec<RegionRequest>,
    /// Why the core is halted, the report's preface, lockup (from the wait).
    pub collect: CollectOptions,
    /// The firmware's identity, stored for the mismatch check at analysis.
    pub elf: Option<ElfIdentity>,
}

/// The RAM regions of the ELF's memory map.
pub fn ram_regions(image: &Image) -> Vec<RegionRequest> {
    image
        .memory_regions()
        .iter()
        .filter(|r| r.kind == crate::debuginfo::RegionKind::Ram && r.end > r.start)
        .map(|r| RegionRequest { name: "ram".into(), kind: RegionKind::Ram, start: r.start, len: r.end - r.start })
        .collect()
}

/// The system register blocks worth keeping (SCB, NVIC, MPU, FPU, DCB...), sized by
/// ICTR's implemented interrupt lines when known.
pub fn system_blocks(ictr: Option<u32>) -> Vec<RegionRequest> {
    let lines = ictr.map(|v| 32 * ((v & scs::ICTR_INTLINESNUM_MASK) + 1)).unwrap_or(32).min(496);
    let words = lines.div_ceil(32) * 4;
    let block = |name: &str, start: u32, len: u32| RegionRequest { name: name.into(), kind: RegionKind::System, start, len };
    vec![
        block("ictr-actlr", scs::ICTR, 8),
        // RVR, CVR, CALIB; not CSR: reading it clears COUNTFLAG, which firmware may poll.
        block("systick", 0xE000_E014, 12),
        block("nvic-iser", nvic::ISER, words),
        block("nvic-ispr", nvic::ISPR, words),
        block("nvic-iabr", nvic::IABR, words),
        block("nvic-ipr", nvic::IPR, lines),
        block("scb", SCB_BLOCK_START, 0x40),
        block("cpacr", scb::CPACR, 4),
        block("mpu", mpu::TYPE, 0x14),
        block("sfsr-sfar", scb::SFSR, 8),
        block("dcb", dcb::DHCSR, 0x10),
        block("fpu", fpu::FPCCR, 0x18),
    ]
}

/// The system registers named in the metadata (see [`Metadata::system_registers`]).
const SYSTEM_REGISTERS: [(&str, u32); 28] = [
    ("ictr", scs::ICTR),
    ("actlr", scs::ACTLR),
    ("cpuid", scb::CPUID),
    ("icsr", scb::ICSR),
    ("vtor", scb::VTOR),
    ("aircr", scb::AIRCR),
    ("scr", scb::SCR),
    ("ccr", scb::CCR),
    ("shpr1", scb::SHPR1),
    ("shpr2", scb::SHPR2),
    ("shpr3", scb::SHPR3),
    ("shcsr", scb::SHCSR),
    ("cfsr", scb::CFSR),
    ("hfsr", scb::HFSR),
    ("dfsr", scb::DFSR),
    ("mmfar", scb::MMFAR),
    ("bfar", scb::BFAR),
    ("afsr", scb::AFSR),
    ("cpacr", scb::CPACR),
    ("mpu_type", mpu::TYPE),
    ("mpu_ctrl", mpu::CTRL),
    ("sfsr", scb::SFSR),
    ("sfar", scb::SFAR),
    ("dhcsr", dcb::DHCSR),
    ("demcr", dcb::DEMCR),
    ("fpccr", fpu::FPCCR),
    ("fpcar", fpu::FPCAR),
    ("mvfr0", fpu::MVFR0),
];

/// Captures the halted core behind `target`. Returns the dump and the report the
/// analysis made of it at capture (the one `analyze` reproduces). `progress` is told
/// (bytes done, bytes total) while RAM is copied.
pub fn capture(
    target: &mut dyn Target,
    image: Option<&Image>,
    opts: &CaptureOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(CoreDump, Report)> {
    let registers = target.read_registers()?;
    let mut pieces: Vec<(u32, Vec<u8>)> = Vec::new();
    let mut unreadable: Vec<Span> = Vec::new();
    let mut regions = Vec::new();

    let total: u64 = opts.regions.iter().map(|r| u64::from(r.len)).sum();
    let mut done = 0u64;
    for r in &opts.regions {
        let missing = copy_span(target, r.start, r.len, CHUNK, &mut pieces, &mut |n| {
            done += n;
            progress(done, total);
        })?;
        unreadable.extend(&missing);
        regions.push(RegionRecord { name: r.name.clone(), kind: r.kind, start: r.start, len: r.len, missing });
    }

    let ictr = read_word(target, scs::ICTR)?;
    for b in system_blocks(ictr) {
        let missing = copy_words(target, b.start, b.len, &mut pieces)?;
        unreadable.extend(&missing);
        regions.push(RegionRecord { name: b.name, kind: b.kind, start: b.start, len: b.len, missing });
    }

    // The analysis, recorded: its reads go into the dump.
    let report = {
        let mut rec = Recorder { inner: target, pieces: Vec::new(), refused: Vec::new() };
        let report = report::collect(&mut rec, image, &opts.collect)?;
        pieces.append(&mut rec.pieces);
        unreadable.append(&mut rec.refused);
        report
    };

    // Code around every PC of the backtrace, as the target holds it: gdb needs to
    // read the instruction at each frame's PC (it takes an unreadable PC for a stub).
    let mut code_chunks: Vec<u32> = code_addresses(&report, &registers).map(|a| a & !(CODE_CHUNK - 1)).collect();
    code_chunks.sort_unstable();
    code_chunks.dedup();
    for base in code_chunks {
        if base >= 0xE000_0000 || memory_covers(&pieces, base, CODE_CHUNK) {
            continue;
        }
        let missing = copy_span(target, base, CODE_CHUNK, CODE_CHUNK, &mut pieces, &mut |_| {})?;
        unreadable.extend(&missing);
        regions.push(RegionRecord { name: "code".into(), kind: RegionKind::Code, start: base, len: CODE_CHUNK, missing });
    }
    let gdb_sp = gdb_sp(&report, &registers, image);

    let memory = MemoryImage::from_pieces(pieces);
    let word = |addr: u32| memory.get(addr, 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let system_registers = SYSTEM_REGISTERS.iter().filter_map(|&(name, addr)| Some((name.to_string(), word(addr)?))).collect();
    let cpuid = word(scb::CPUID);
    unreadable.sort_by_key(|s| (s.start, s.len));
    unreadable.dedup();
    let meta = Metadata {
        format: FORMAT_VERSION,
        tool: format!("isrscope {}", env!("CARGO_PKG_VERSION")),
        captured_at: Some(now_rfc3339()),
        target: Some(target.capabilities().description.clone()),
        cpuid,
        stop: opts.collect.stop.as_ref().map(SavedStop::from),
        preface: opts.collect.preface.clone(),
        locked_up: opts.collect.locked_up,
        elf: opts.elf.clone(),
        registers: registers.iter().map(|(k, v)| (k.to_string(), v)).collect(),
        system_registers,
        regions,
        gdb_sp,
        unreadable,
    };
    Ok((CoreDump { format: DumpFormat::Isrscope, memory, meta, warnings: Vec::new() }, report))
}

/// Code is captured in aligned blocks of this size around each PC.
const CODE_CHUNK: u32 = 256;

/// PCs and return addresses the report shows (Thumb bit cleared, EXC_RETURNs skipped),
/// with 4 bytes past each (a return address can sit at the very end of a function).
fn code_addresses<'a>(report: &'a Report, registers: &'a Registers) -> impl Iterator<Item = u32> + 'a {
    let frames = report.backtrace.iter().filter_map(|e| e.pc);
    let stacked = report.exception_frames.iter().flat_map(|f| [f.pc, f.lr]);
    let live = [crate::target::reg::PC, crate::target::reg::LR].into_iter().filter_map(|r| registers.get(r));
    frames
        .chain(stacked)
        .chain(live)
        .filter(|a| *a < 0xF000_0000)
        .flat_map(|a| [a & !1, (a & !1).saturating_add(4)])
}

fn memory_covers(pieces: &[(u32, Vec<u8>)], start: u32, len: u32) -> bool {
    pieces.iter().any(|(a, d)| *a <= start && u64::from(*a) + d.len() as u64 >= u64::from(start) + u64::from(len))
}

/// See [`Metadata::gdb_sp`]: PSP when the core is at the first instruction of the
/// active handler (nothing pushed on MSP yet) and that handler interrupted a PSP
/// context with the EXC_RETURN still in LR.
fn gdb_sp(report: &Report, registers: &Registers, image: Option<&Image>) -> Option<u32> {
    let frame = report.exception_frames.first()?;
    let pc = registers.get(crate::target::reg::PC)?;
    let entry = image?.vector_table()?.handler(usize::from(frame.exception.0))?;
    let at_entry = pc & !1 == entry && frame.exc_return.is_some() && registers.get(crate::target::reg::LR) == frame.exc_return;
    (at_entry && frame.stack == "psp").then(|| registers.get(crate::target::reg::PSP)).flatten()
}

fn read_word(target: &mut dyn Target, address: u32) -> Result<Option<u32>> {
    let mut b = [0u8; 4];
    match target.read_memory(address, &mut b) {
        Ok(()) => Ok(Some(u32::from_le_bytes(b))),
        Err(TargetError::MemoryUnreadable { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Copies `[start, start + len)` in `chunk`-sized reads; an unreadable chunk keeps its
/// readable beginning. Returns the spans that could not be read.
fn copy_span(
    target: &mut dyn Target,
    start: u32,
    len: u32,
    chunk: u32,
    pieces: &mut Vec<(u32, Vec<u8>)>,
    progress: &mut dyn FnMut(u64),
) -> Result<Vec<Span>> {
    let mut missing = Vec::new();
    let end = u64::from(start) + u64::from(len);
    let mut a = u64::from(start);
    while a < end {
        let n = (end - a).min(u64::from(chunk)) as usize;
        let mut buf = vec![0u8; n];
        let addr = a as u32;
        let got = match target.read_memory(addr, &mut buf) {
            Ok(()) => n,
            Err(TargetError::MemoryUnreadable { .. }) => target.read_memory_partial(addr, &mut buf)?,
            Err(e) => return Err(e),
        };
        buf.truncate(got);
        if got > 0 {
            pieces.push((addr, buf));
        }
        if got < n {
            push_span(&mut missing, addr.wrapping_add(got as u32), (n - got) as u32);
        }
        progress(n as u64);
        a += n as u64;
    }
    Ok(missing)
}

/// Copies a register block: whole, or word by word when part of it is unreadable
/// (reserved or unimplemented registers).
fn copy_words(target: &mut dyn Target, start: u32, len: u32, pieces: &mut Vec<(u32, Vec<u8>)>) -> Result<Vec<Span>> {
    let mut buf = vec![0u8; len as usize];
    match target.read_memory(start, &mut buf) {
        Ok(()) => {
            pieces.push((start, buf));
            return Ok(Vec::new());
        }
        Err(TargetError::MemoryUnreadable { .. }) => {}
        Err(e) => return Err(e),
    }
    let mut missing = Vec::new();
    for a in (start..start + len).step_by(4) {
        match read_word(target, a)? {
            Some(w) => pieces.push((a, w.to_le_bytes().to_vec())),
            None => push_span(&mut missing, a, 4),
        }
    }
    Ok(missing)
}

fn push_span(spans: &mut Vec<Span>, start: u32, len: u32) {
    match spans.last_mut() {
        Some(last) if last.end() == u64::from(start) => last.len += len,
        _ => spans.push(Span { start, len }),
    }
}

/// A target that remembers every read: what succeeded (bytes) and what was refused.
struct Recorder<'t> {
    inner: &'t mut dyn Target,
    pieces: Vec<(u32, Vec<u8>)>,
    refused: Vec<Span>,
}

impl Target for Recorder<'_> {
    fn capabilities(&self) -> &Capabilities {
        self.inner.capabilities()
    }
    fn read_memory(&mut self, address: u32, buf: &mut [u8]) -> Result<()> {
        match self.inner.read_memory(address, buf) {
            Ok(()) => {
                self.pieces.push((address, buf.to_vec()));
                Ok(())
            }
            Err(e @ TargetError::MemoryUnreadable { .. }) => {
                self.refused.push(Span { start: address, len: buf.len().min(u32::MAX as usize) as u32 });
                Err(e)
            }
            Err(e) => Err(e),
        }
    }
    fn read_memory_partial(&mut self, address: u32, buf: &mut [u8]) -> Result<usize> {
        let n = self.inner.read_memory_partial(address, buf)?;
        if n > 0 {
            self.pieces.push((address, buf[..n].to_vec()));
        }
        if n < buf.len() {
            self.refused.push(Span { start: address.wrapping_add(n as u32), len: (buf.len() - n).min(u32::MAX as usize) as u32 });
        }
        Ok(n)
    }
    fn write_memory(&mut self, _: u32, _: &[u8]) -> Result<()> {
        Err(TargetError::Unsupported("writing during capture".into()))
    }
    fn read_registers(&mut self) -> Result<Registers> {
        self.inner.read_registers()
    }
    fn read_register_set(&mut self, names: &[&str]) -> Result<Registers> {
        self.inner.read_register_set(names)
    }
    fn write_register(&mut self, _: &str, _: u32) -> Result<()> {
        Err(TargetError::Unsupported("writing during capture".into()))
    }
    fn halt(&mut self, timeout: std::time::Duration) -> Result<StopReason> {
        self.inner.halt(timeout)
    }
    fn resume(&mut self) -> Result<()> {
        Err(TargetError::Unsupported("resuming during capture".into()))
    }
    fn step(&mut self) -> Result<StopReason> {
        Err(TargetError::Unsupported("stepping during capture".into()))
    }
    fn state(&mut self) -> Result<CoreState> {
        self.inner.state()
    }
    fn wait_for_stop(&mut self, timeout: std::time::Duration) -> Result<Option<StopReason>> {
        self.inner.wait_for_stop(timeout)
    }
    fn set_breakpoint(&mut self, _: u32, _: BreakpointKind) -> Result<()> {
        Err(TargetError::Unsupported("breakpoints during capture".into()))
    }
    fn clear_breakpoint(&mut self, _: u32) -> Result<()> {
        Err(TargetError::Unsupported("breakpoints during capture".into()))
    }
    fn breakpoints(&self) -> Vec<u32> {
        self.inner.breakpoints()
    }
    fn set_vector_catch(&mut self, _: &[CatchKind]) -> Result<()> {
        Err(TargetError::Unsupported("vector catch during capture".into()))
    }
    fn detach(&mut self, _: bool) -> Result<()> {
        Ok(())
    }
}
