//! isrscope's core file: a 32-bit little-endian ELF core (ET_CORE, EM_ARM).
//!
//! Layout (docs/coredump.md): the ELF header, one PT_NOTE program header, one PT_LOAD
//! per captured memory segment (p_vaddr = p_paddr = address, p_filesz = p_memsz), then
//! the notes, then the memory. No section headers. The notes, in order:
//!
//! | name | type | contents |
//! |---|---|---|
//! | `CORE` | NT_PRSTATUS (1) | 148 bytes, Linux ARM `elf_prstatus`: r0-r15, xPSR as cpsr, orig_r0 at offset 72 |
//! | `LINUX` | NT_ARM_VFP (0x400) | d0-d31 (s0-s31 pairwise, d16-d31 zero) and FPSCR; only with an FPU |
//! | `GDB` | NT_GDB_TDESC (0xff000000) | gdb target description XML: m-profile (+ vfp), no m-system |
//! | `ISRSCOPE` | 0x49535201 | the [`Metadata`] as JSON (all registers, stop, regions, ELF identity) |
//!
//! gdb-multiarch 13 reads the first three (its bare-metal ARM core support) and unwinds
//! through exception frames with that description; with `org.gnu.gdb.arm.m-system`
//! present and no MSP/PSP values it would stop at the handler, so the system
//! registers live only in the ISRSCOPE note. Without them gdb reads every exception
//! frame at the SP it unwinds to: for a handler stopped at its entry after
//! interrupting a PSP context, NT_PRSTATUS therefore carries PSP as sp
//! ([`Metadata::gdb_sp`]); the true SP stays in the ISRSCOPE note.
//!
//! Reading goes through the `object` crate and checks every offset; any input gives a
//! dump or a [`CoreDumpError`], never a panic.

use std::collections::BTreeMap;

use object::LittleEndian as LE;
use object::elf::{self as E, FileHeader32, PT_LOAD, PT_NOTE};
use object::read::elf::{FileHeader, ProgramHeader};

use super::meta::{FORMAT_VERSION, Metadata};
use super::{CoreDump, CoreDumpError, DumpFormat, MemoryImage};
use crate::model::exception::ExceptionNumber;
use crate::target::reg;

/// Name and type of isrscope's own note.
pub const NOTE_NAME: &[u8] = b"ISRSCOPE";
/// "ISR" and a version byte: a type no tool dispatches on (BFD reads core notes by type,
/// whatever their name, so 1 would be taken for a second NT_PRSTATUS).
pub const NT_ISRSCOPE_METADATA: u32 = 0x4953_5201;
pub const NT_PRSTATUS: u32 = 1;
pub const NT_ARM_VFP: u32 = 0x400;
pub const NT_GDB_TDESC: u32 = 0xff00_0000;

/// Size of the ARM `elf_prstatus` gdb and BFD expect, and where `pr_reg` starts.
const PRSTATUS_SIZE: usize = 148;
const PRSTATUS_REG_OFFSET: usize = 72;
/// 32 doubleword registers and FPSCR.
const VFP_SIZE: usize = 32 * 8 + 4;

const EHDR_SIZE: usize = 52;
const CLASS32: u8 = E::ELFCLASS32.0;
const CLASS64: u8 = E::ELFCLASS64.0;
const DATA_LSB: u8 = E::ELFDATA2LSB.0;
const DATA_MSB: u8 = E::ELFDATA2MSB.0;
const PHDR_SIZE: usize = 32;

/// Encodes `dump` as an ELF core file.
pub fn write(dump: &CoreDump) -> Vec<u8> {
    let regs = &dump.meta.registers;
    let has_fp = regs.contains_key("s0");
    let mut notes = Vec::new();
    push_note(&mut notes, b"CORE", NT_PRSTATUS, &prstatus(regs, dump.meta.gdb_sp));
    if has_fp {
        push_note(&mut notes, b"LINUX", NT_ARM_VFP, &vfp(regs));
    }
    let mut tdesc = tdesc_xml(has_fp).into_bytes();
    tdesc.push(0);
    push_note(&mut notes, b"GDB", NT_GDB_TDESC, &tdesc);
    let mut meta = dump.meta.clone();
    meta.format = FORMAT_VERSION;
    let json = serde_json::to_vec(&meta).expect("metadata serializes");
    push_note(&mut notes, NOTE_NAME, NT_ISRSCOPE_METADATA, &json);

    let segments = dump.memory.segments();
    let phnum = 1 + segments.len();
    let notes_off = EHDR_SIZE + PHDR_SIZE * phnum;
    let mut data_off = align4(notes_off + notes.len());
    let mut out = Vec::with_capacity(data_off + dump.memory.len() as usize);

    // ELF header.
    out.extend_from_slice(b"\x7fELF");
    out.extend_from_slice(&[CLASS32, DATA_LSB, E::EV_CURRENT.0, E::ELFOSABI_NONE.0]);
    out.extend_from_slice(&[0; 8]);
    put16(&mut out, E::ET_CORE.0);
    put16(&mut out, E::EM_ARM.0);
    put32(&mut out, u32::from(E::EV_CURRENT.0));
    put32(&mut out, 0); // e_entry
    put32(&mut out, EHDR_SIZE as u32); // e_phoff
    put32(&mut out, 0); // e_shoff
    put32(&mut out, 0); // e_flags
    put16(&mut out, EHDR_SIZE as u16);
    put16(&mut out, PHDR_SIZE as u16);
    put16(&mut out, phnum.min(0xffff) as u16);
    put16(&mut out, 40); // e_shentsize
    put16(&mut out, 0); // e_shnum
    put16(&mut out, 0); // e_shstrndx

    // Program headers: the notes, then memory.
    phdr(&mut out, PT_NOTE.0, notes_off as u32, 0, notes.len() as u32, 0, 4);
    for s in segments {
        phdr(&mut out, PT_LOAD.0, data_off as u32, s.start, s.data.len() as u32, (E::PF_R | E::PF_W).0, 4);
        data_off = align4(data_off + s.data.len());
    }
    out.extend_from_slice(&notes);
    for s in segments {
        pad4(&mut out);
        out.extend_from_slice(&s.data);
    }
    out
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}
fn pad4(out: &mut Vec<u8>) {
    out.resize(align4(out.len()), 0);
}
fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}
fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn phdr(out: &mut Vec<u8>, p_type: u32, offset: u32, vaddr: u32, size: u32, flags: u32, align: u32) {
    for v in [p_type, offset, vaddr, vaddr, size, size, flags, align] {
        put32(out, v);
    }
}

fn push_note(out: &mut Vec<u8>, name: &[u8], n_type: u32, desc: &[u8]) {
    put32(out, name.len() as u32 + 1);
    put32(out, desc.len() as u32);
    put32(out, n_type);
    out.extend_from_slice(name);
    out.push(0);
    pad4(out);
    out.extend_from_slice(desc);
    pad4(out);
}

/// The signal gdb shows for the stop ("Program terminated with signal SIGBUS").
fn signal_for(xpsr: u32) -> u16 {
    match ExceptionNumber::from_xpsr(xpsr).0 {
        3 | 4 => 11, // HardFault, MemManage: SIGSEGV
        5 => 7,      // BusFault: SIGBUS
        6 => 4,      // UsageFault: SIGILL
        _ => 5,      // SIGTRAP
    }
}

fn prstatus(regs: &BTreeMap<String, u32>, gdb_sp: Option<u32>) -> Vec<u8> {
    let get = |n: &str| regs.get(n).copied().unwrap_or(0);
    let mut d = vec![0u8; PRSTATUS_SIZE];
    let xpsr = get(reg::XPSR);
    d[12..14].copy_from_slice(&signal_for(xpsr).to_le_bytes()); // pr_cursig
    d[24..28].copy_from_slice(&1u32.to_le_bytes()); // pr_pid
    let mut gpr: Vec<u32> = reg::GPR.iter().map(|n| get(n)).collect();
    gpr.extend([gdb_sp.unwrap_or(get(reg::SP)), get(reg::LR), get(reg::PC), xpsr, get("r0")]);
    for (i, v) in gpr.iter().enumerate() {
        let o = PRSTATUS_REG_OFFSET + 4 * i;
        d[o..o + 4].copy_from_slice(&v.to_le_bytes());
    }
    d
}

fn vfp(regs: &BTreeMap<String, u32>) -> Vec<u8> {
    let mut d = vec![0u8; VFP_SIZE];
    for i in 0..32 {
        let v = regs.get(&format!("s{i}")).copied().unwrap_or(0);
        d[4 * i..4 * i + 4].copy_from_slice(&v.to_le_bytes());
    }
    d[256..260].copy_from_slice(&regs.get(reg::FPSCR).copied().unwrap_or(0).to_le_bytes());
    d
}

/// gdb's description for the dump: the M-profile core registers (and the FPU's),
/// deliberately without `org.gnu.gdb.arm.m-system` (see the module docs).
pub fn tdesc_xml(has_fp: bool) -> String {
    let mut x = String::from(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n<target>\n<architecture>arm</architecture>\n<feature name=\"org.gnu.gdb.arm.m-profile\">\n",
    );
    for (i, name) in reg::GPR.iter().enumerate() {
        x.push_str(&format!("<reg name=\"{name}\" bitsize=\"32\" regnum=\"{i}\"/>\n"));
    }
    x.push_str("<reg name=\"sp\" bitsize=\"32\" type=\"data_ptr\"/>\n<reg name=\"lr\" bitsize=\"32\"/>\n<reg name=\"pc\" bitsize=\"32\" type=\"code_ptr\"/>\n<reg name=\"xpsr\" bitsize=\"32\" regnum=\"25\"/>\n</feature>\n");
    if has_fp {
        x.push_str("<feature name=\"org.gnu.gdb.arm.vfp\">\n");
        for i in 0..16 {
            let regnum = if i == 0 { " regnum=\"26\"" } else { "" };
            x.push_str(&format!("<reg name=\"d{i}\" bitsize=\"64\" type=\"ieee_double\"{regnum}/>\n"));
        }
        x.push_str("<reg name=\"fpscr\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n</feature>\n");
    }
    x.push_str("</target>\n");
    x
}

/// Decodes an ELF core file. `what` names it in errors.
pub fn read(data: &[u8], what: &str) -> Result<CoreDump, CoreDumpError> {
    let malformed = |detail: String| CoreDumpError::Malformed { what: what.into(), detail };
    let truncated = |detail: String| CoreDumpError::Truncated { what: what.into(), detail };
    let unsupported = |detail: String| CoreDumpError::Unsupported { what: what.into(), detail };
    if data.len() < EHDR_SIZE {
        return Err(truncated(format!("{} bytes, shorter than an ELF header (52)", data.len())));
    }
    match (data[4], data[5]) {
        (CLASS32, DATA_LSB) => {}
        (CLASS64, _) => return Err(unsupported("a 64-bit ELF file; Cortex-M cores are 32-bit".into())),
        (CLASS32, DATA_MSB) => return Err(unsupported("a big-endian ELF file".into())),
        (c, d) => return Err(malformed(format!("unknown ELF class {c} / data encoding {d}"))),
    }
    let header = FileHeader32::<LE>::parse(data).map_err(|e| malformed(format!("ELF header: {e}")))?;
    let endian = LE;
    let e_type = header.e_type.get(endian);
    if e_type != E::ET_CORE {
        let hint = if e_type == E::ET_EXEC { ": it looks like firmware; pass it with --elf and the dump as the argument" } else { "" };
        return Err(unsupported(format!("an ELF file of type {}, not a core file (ET_CORE = 4){hint}", e_type.0)));
    }
    let machine = header.e_machine.get(endian);
    if machine != E::EM_ARM {
        return Err(unsupported(format!("a core file for machine {}, not ARM (40)", machine.0)));
    }
    let phoff = u64::from(header.e_phoff.get(endian));
    let phnum = u64::from(header.e_phnum.get(endian));
    if phoff.saturating_add(phnum * PHDR_SIZE as u64) > data.len() as u64 {
        return Err(truncated(format!("{phnum} program headers at offset {phoff} run past the end of the file ({} bytes)", data.len())));
    }
    let phdrs = header.program_headers(endian, data).map_err(|e| malformed(format!("program headers: {e}")))?;

    let mut pieces = Vec::new();
    let mut prstatus = None;
    let mut vfp = None;
    let mut meta: Option<Metadata> = None;
    for (i, ph) in phdrs.iter().enumerate() {
        match ph.p_type(endian) {
            PT_LOAD => {
                let bytes = ph.data(endian, data).map_err(|_| {
                    truncated(format!(
                        "segment {i} ({:#010x}, {} bytes at file offset {}) runs past the end of the file ({} bytes)",
                        ph.p_vaddr(endian),
                        ph.p_filesz(endian),
                        ph.p_offset(endian),
                        data.len()
                    ))
                })?;
                pieces.push((ph.p_vaddr(endian), bytes.to_vec()));
            }
            PT_NOTE => {
                let notes = ph
                    .notes(endian, data)
                    .map_err(|_| truncated(format!("the note segment (program header {i}) runs past the end of the file")))?;
                let Some(mut notes) = notes else { continue };
                loop {
                    let note = match notes.next() {
                        Ok(Some(n)) => n,
                        Ok(None) => break,
                        Err(e) => return Err(malformed(format!("note segment: {e}"))),
                    };
                    match (note.name(), note.n_type(endian).0) {
                        (NOTE_NAME, NT_ISRSCOPE_METADATA) => {
                            let m = serde_json::from_slice(note.desc())
                                .map_err(|e| malformed(format!("the ISRSCOPE note is not valid metadata JSON: {e}")))?;
                            meta = Some(m);
                        }
                        (b"CORE", NT_PRSTATUS) if prstatus.is_none() => prstatus = Some(note.desc().to_vec()),
                        (b"LINUX", NT_ARM_VFP) if vfp.is_none() => vfp = Some(note.desc().to_vec()),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    let memory = MemoryImage::from_pieces(pieces);
    if let Some(meta) = meta {
        if meta.registers.is_empty() {
            return Err(malformed("the ISRSCOPE note holds no registers".into()));
        }
        return Ok(CoreDump { format: DumpFormat::Isrscope, memory, meta, warnings: Vec::new() });
    }
    // Another tool's ARM core: the registers gdb's notes carry.
    let Some(pr) = prstatus else {
        return Err(malformed("no ISRSCOPE note and no NT_PRSTATUS note: the core file holds no registers".into()));
    };
    if pr.len() < PRSTATUS_REG_OFFSET + 17 * 4 {
        return Err(truncated(format!("NT_PRSTATUS has {} bytes, too few for the ARM registers", pr.len())));
    }
    let word = |b: &[u8], o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
    let mut registers = BTreeMap::new();
    let names = reg::GPR.iter().copied().chain([reg::SP, reg::LR, reg::PC, reg::XPSR]);
    for (i, name) in names.enumerate() {
        registers.insert(name.to_string(), word(&pr, PRSTATUS_REG_OFFSET + 4 * i));
    }
    let mut warnings = vec![
        "no ISRSCOPE note (not written by isrscope capture): only r0-r15 and xPSR (and the FPU) are known, not MSP/PSP/CONTROL or the masks".to_string(),
    ];
    match vfp {
        Some(v) if v.len() >= VFP_SIZE => {
            for i in 0..32 {
                registers.insert(format!("s{i}"), word(&v, 4 * i));
            }
            registers.insert(reg::FPSCR.into(), word(&v, 256));
        }
        Some(v) => warnings.push(format!("NT_ARM_VFP has {} bytes, not {VFP_SIZE}: FPU registers ignored", v.len())),
        None => {}
    }
    let meta = Metadata { format: 0, registers, ..Metadata::default() };
    Ok(CoreDump { format: DumpFormat::ForeignElf, memory, meta, warnings })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CoreDump {
        let mut meta = Metadata { format: FORMAT_VERSION, tool: "isrscope test".into(), ..Metadata::default() };
        for (i, n) in reg::GPR.iter().enumerate() {
            meta.registers.insert(n.to_string(), i as u32);
        }
        for (n, v) in [("sp", 0x2001_ffc0), ("lr", 0xffff_fff9), ("pc", 0x0800_0220), ("xpsr", 0x0100_0005), ("msp", 0x2001_ffc0), ("s1", 0x3f80_0000), ("s0", 7), ("fpscr", 0x1234)] {
            meta.registers.insert(n.to_string(), v);
        }
        let memory = MemoryImage::from_pieces([(0x2000_0000, vec![0xaa; 0x31]), (0xe000_ed00, vec![1; 0x40])]);
        CoreDump { format: DumpFormat::Isrscope, memory, meta, warnings: Vec::new() }
    }

    #[test]
    fn the_elf_core_round_trips() {
        let dump = sample();
        let bytes = write(&dump);
        let back = read(&bytes, "t").unwrap();
        assert_eq!(back.format, DumpFormat::Isrscope);
        assert_eq!(back.memory, dump.memory);
        assert_eq!(back.meta, dump.meta);
    }

    #[test]
    fn gdb_notes_carry_the_arm_layout() {
        let bytes = write(&sample());
        // Without the ISRSCOPE note the reader falls back on NT_PRSTATUS and NT_ARM_VFP.
        let mut stripped = bytes.clone();
        let at = stripped.windows(8).position(|w| w == NOTE_NAME).unwrap();
        stripped[at + 7] = b'X';
        let back = read(&stripped, "t").unwrap();
        assert_eq!(back.format, DumpFormat::ForeignElf);
        let r = &back.meta.registers;
        assert_eq!(r["r7"], 7);
        assert_eq!(r["pc"], 0x0800_0220);
        assert_eq!(r["xpsr"], 0x0100_0005);
        assert_eq!((r["s0"], r["s1"], r["fpscr"]), (7, 0x3f80_0000, 0x1234));
        assert!(!r.contains_key("msp"));
        assert_eq!(prstatus(&sample().meta.registers, None)[12], 7, "BusFault shows as SIGBUS");
    }

    #[test]
    fn wrong_files_say_what_they_are() {
        let mut b = write(&sample());
        b[16] = 2; // ET_EXEC
        assert!(read(&b, "fw").unwrap_err().to_string().contains("looks like firmware"));
        let mut b = write(&sample());
        b[4] = 2;
        assert!(read(&b, "x").unwrap_err().to_string().contains("64-bit"));
        let b = write(&sample());
        let cut = &b[..b.len() - 10];
        let e = read(cut, "x").unwrap_err().to_string();
        assert!(e.contains("truncated") && e.contains("past the end"), "{e}");
    }
}
