//! Loading an ELF: header checks, sections, segments, symbols, DWARF section bytes.
//!
//! Everything cheap is extracted once at load time into owned tables; DWARF stays in the
//! mapping and is parsed only when an address is looked up (see `symbolize`).

use std::cell::OnceCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use object::elf;
use object::read::elf::{ElfFile32, ProgramHeader as _};
use object::{LittleEndian, Object, ObjectSection, ObjectSymbol, SectionKind, SymbolKind as ObjSymbolKind};
use serde::Serialize;

use super::bytes::{Backing, Reader, SharedBytes};
use super::code::CodeMap;
use super::layout::{self, MemoryRegion, StackRegion, VectorTable};
use super::symbols::{Symbol, SymbolKind, SymbolTable};

/// Why an ELF could not be loaded. Missing debug info is not an error (see
/// [`Image::warnings`]).
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} is not an ELF file (no \\x7fELF magic)")]
    NotElf { what: String },
    #[error("{what} is a 64-bit ELF; Cortex-M firmware is 32-bit (ELFCLASS32)")]
    Not32Bit { what: String },
    #[error("{what} is big-endian; isrscope supports little-endian Cortex-M images")]
    BigEndian { what: String },
    #[error("{what} is for machine {machine} ({name}), not ARM (EM_ARM = 40)")]
    WrongArchitecture { what: String, machine: u16, name: &'static str },
    #[error("{what} is truncated: {detail}")]
    Truncated { what: String, detail: String },
    #[error("{what} is a malformed ELF: {detail}")]
    Malformed { what: String, detail: String },
}

/// One ELF section.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Section {
    pub name: String,
    /// Run (virtual) address.
    pub address: u32,
    /// Load (physical) address, from the segment that holds the section; equals
    /// `address` unless the section is copied at startup (e.g. `.data`).
    pub load_address: u32,
    pub size: u32,
    /// Occupies memory at run time (SHF_ALLOC).
    pub alloc: bool,
    pub executable: bool,
    pub writable: bool,
    /// Has no file contents (SHT_NOBITS, e.g. `.bss`).
    pub nobits: bool,
    #[serde(skip)]
    pub(crate) file_range: Option<(u64, u64)>,
}

impl Section {
    pub fn contains(&self, address: u32) -> bool {
        address >= self.address && (address - self.address) < self.size
    }
}

/// One PT_LOAD program header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Segment {
    /// Run address (p_vaddr).
    pub run_address: u32,
    /// Load address (p_paddr): where the bytes sit in flash.
    pub load_address: u32,
    pub file_size: u32,
    pub mem_size: u32,
    pub readable: bool,
    pub writable: bool,
    pub executable: bool,
}

/// A loaded firmware image: the ELF's layout and lazily parsed debug info.
pub struct Image {
    pub(crate) path: Option<PathBuf>,
    pub(crate) backing: Arc<Backing>,
    pub(crate) entry: u32,
    pub(crate) sections: Vec<Section>,
    pub(crate) segments: Vec<Segment>,
    pub(crate) symbols: SymbolTable,
    pub(crate) regions: Vec<MemoryRegion>,
    /// Where code is (executable sections, and which DWARF ranges start in it): see `code`.
    pub(crate) code: CodeMap,
    pub(crate) stack: Option<StackRegion>,
    pub(crate) vector_table: Option<VectorTable>,
    pub(crate) build_id: Option<Vec<u8>>,
    pub(crate) warnings: Vec<String>,
    pub(crate) debug_sections: HashMap<String, SharedBytes>,
    pub(crate) dwarf: OnceCell<Option<addr2line::Context<Reader>>>,
    pub(crate) has_debug_info: bool,
    /// Scoped subprogram names per unit (by .debug_info offset), built on first use.
    pub(crate) scoped_names: std::cell::RefCell<HashMap<usize, HashMap<usize, String>>>,
}

impl std::fmt::Debug for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Image")
            .field("path", &self.path)
            .field("sections", &self.sections.len())
            .field("symbols", &self.symbols.len())
            .field("vector_table", &self.vector_table)
            .finish_non_exhaustive()
    }
}

impl Image {
    /// Maps `path` and loads it.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ImageError> {
        let path = path.as_ref();
        let io = |source| ImageError::Io { path: path.to_path_buf(), source };
        let file = std::fs::File::open(path).map_err(io)?;
        // SAFETY: the mapping is read-only; if another process truncates the file while
        // it is mapped, reads fault (SIGBUS), which is the accepted risk of every
        // mmap-based ELF reader (addr2line, gdb do the same).
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
        Self::load(Backing::Mapped(map), Some(path.to_path_buf()))
    }

    /// Loads an ELF held in memory (tests, core dumps that embed the image).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, ImageError> {
        Self::load(Backing::Owned(bytes), None)
    }

    fn load(backing: Backing, path: Option<PathBuf>) -> Result<Self, ImageError> {
        let what = path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "the image".to_string());
        let backing = Arc::new(backing);
        check_header(&backing, &what)?;
        let data: &[u8] = &backing;
        let file = ElfFile32::<LittleEndian>::parse(data).map_err(|e| classify(&what, data, e))?;

        let segments = read_segments(&file);
        let sections = read_sections(&file, &segments);
        let symbols = SymbolTable::new(read_symbols(&file));
        let mut warnings = Vec::new();

        let mut debug_sections = HashMap::new();
        for s in file.sections() {
            let Ok(name) = s.name() else { continue };
            let name = if let Some(rest) = name.strip_prefix(".zdebug_") {
                format!(".debug_{rest}")
            } else {
                name.to_string()
            };
            if !(name.starts_with(".debug_") || name == ".eh_frame" || name == ".eh_frame_hdr") {
                continue;
            }
            match s.uncompressed_data() {
                Ok(std::borrow::Cow::Borrowed(slice)) => {
                    // A window into the mapping when the slice lies in it (it may not: an
                    // empty or NOBITS section is a static empty slice).
                    let start = (slice.as_ptr() as usize).wrapping_sub(data.as_ptr() as usize);
                    let bytes = if start.checked_add(slice.len()).is_some_and(|end| end <= data.len()) {
                        SharedBytes::window(backing.clone(), start..start + slice.len())
                    } else {
                        SharedBytes::owned(slice.to_vec())
                    };
                    debug_sections.insert(name, bytes);
                }
                Ok(std::borrow::Cow::Owned(v)) => {
                    debug_sections.insert(name, SharedBytes::owned(v));
                }
                Err(e) => warnings.push(format!("section {name} cannot be read ({e}); ignored")),
            }
        }
        let has_debug_info = debug_sections.contains_key(".debug_info");
        if !has_debug_info {
            warnings.push(
                "no .debug_info: source locations and inline frames are unavailable; names come from the symbol table"
                    .to_string(),
            );
        }
        if !debug_sections.contains_key(".debug_frame") && !debug_sections.contains_key(".eh_frame") {
            warnings.push(
                "no .debug_frame or .eh_frame: unwinding falls back to heuristics (build with -g)".to_string(),
            );
        }
        let build_id = file.build_id().ok().flatten().map(<[u8]>::to_vec);
        let entry = file.entry() as u32;

        let mut image = Image {
            path,
            backing: backing.clone(),
            entry,
            sections,
            segments,
            symbols,
            regions: Vec::new(),
            code: CodeMap::default(),
            stack: None,
            vector_table: None,
            build_id,
            warnings,
            debug_sections,
            dwarf: OnceCell::new(),
            has_debug_info,
            scoped_names: Default::default(),
        };
        image.regions = layout::memory_regions(&image);
        let exec = image.sections.iter().filter(|s| s.alloc && s.executable).map(|s| (s.address, s.address.saturating_add(s.size)));
        let flash = image.regions.iter().filter(|r| r.kind == layout::RegionKind::Flash).map(|r| (r.start, r.end));
        let objects = image.symbols.iter().filter(|s| s.kind == SymbolKind::Object && s.defined && s.size > 0);
        let objects = objects.map(|s| (s.address, s.address.saturating_add(s.size))).collect();
        image.code = CodeMap::new(exec.collect(), objects, flash.collect());
        image.stack = layout::stack_region(&image);
        layout::add_stack_ram(&mut image);
        image.vector_table = layout::find_vector_table(&image);
        if image.vector_table.is_none() {
            image.warnings.push("no vector table found (no .isr_vector/.vector_table/.vectors section or known symbol)".into());
        }
        Ok(image)
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
    /// The ELF entry point (usually the reset handler), Thumb bit cleared.
    pub fn entry(&self) -> u32 {
        self.entry & !1
    }
    pub fn sections(&self) -> &[Section] {
        &self.sections
    }
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }
    pub fn symbols(&self) -> &SymbolTable {
        &self.symbols
    }
    /// Is `address` in code the image holds (`debuginfo::code`)? The unwinder asks this
    /// of PCs and call sites; the DWARF and CFI indexes ask the stricter
    /// `CodeMap::starts_code` of each range's first address.
    pub fn is_code(&self, address: u32) -> bool {
        self.code.is_code(address)
    }
    pub fn code_map(&self) -> &CodeMap {
        &self.code
    }
    /// Flash and RAM regions derived from the segments and linker symbols.
    pub fn memory_regions(&self) -> &[MemoryRegion] {
        &self.regions
    }
    /// The main stack's region, from linker symbols, when the image defines them.
    pub fn stack_region(&self) -> Option<&StackRegion> {
        self.stack.as_ref()
    }
    pub fn vector_table(&self) -> Option<&VectorTable> {
        self.vector_table.as_ref()
    }
    /// The vector table read again with exactly `words` entries (from 16 + an SVD's IRQ
    /// count when the image does not give the size); fewer where the file ends.
    pub fn vector_table_with_len(&self, words: usize) -> Option<VectorTable> {
        super::layout::vector_table_with_len(self, words)
    }
    /// The GNU build-id note, if the linker emitted one.
    pub fn build_id(&self) -> Option<&[u8]> {
        self.build_id.as_deref()
    }
    /// Problems that do not prevent use (missing debug info, unreadable sections).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
    pub fn has_debug_info(&self) -> bool {
        self.has_debug_info
    }
    /// The raw bytes of a debug section (`.debug_frame`, `.eh_frame`, ...), decompressed.
    pub fn debug_section(&self, name: &str) -> Option<SharedBytes> {
        self.debug_sections.get(name).cloned()
    }

    /// Bytes the file holds for `[address, address + len)` at run time: contents of an
    /// allocated section with file data (code, read-only data, the vector table).
    /// `None` for `.bss`, RAM contents that startup code changes, or unknown memory.
    pub fn read_static(&self, address: u32, len: usize) -> Option<&[u8]> {
        let s = self.sections.iter().find(|s| {
            s.alloc && !s.nobits && !s.writable && s.contains(address)
                && (address - s.address) as u64 + len as u64 <= s.size as u64
        })?;
        let (off, _) = s.file_range?;
        let start = off as usize + (address - s.address) as usize;
        self.backing.get(start..start + len)
    }

    /// Reads a little-endian word from the file's static contents (see [`Self::read_static`]).
    pub fn read_static_u32(&self, address: u32) -> Option<u32> {
        self.read_static(address, 4).map(|b| u32::from_le_bytes(b.try_into().unwrap()))
    }

    /// Like [`Self::read_static`] but also accepts a section's load address (the
    /// initial contents of `.data` in flash).
    pub(crate) fn file_bytes_at_load_address(&self, address: u32, len: usize) -> Option<&[u8]> {
        let s = self.sections.iter().find(|s| {
            s.alloc && !s.nobits && address >= s.load_address
                && (address - s.load_address) as u64 + len as u64 <= s.size as u64
        })?;
        let (off, _) = s.file_range?;
        let start = off as usize + (address - s.load_address) as usize;
        self.backing.get(start..start + len)
    }
}

/// e_machine of 32-bit ARM.
const EM_ARM: u16 = 40;

fn check_header(data: &[u8], what: &str) -> Result<(), ImageError> {
    let what = what.to_string();
    if data.len() < 4 || &data[..4] != b"\x7fELF" {
        return Err(ImageError::NotElf { what });
    }
    if data.len() < 52 {
        return Err(ImageError::Truncated {
            what,
            detail: format!("{} bytes, shorter than the 52-byte ELF32 header", data.len()),
        });
    }
    match data[4] {
        1 => {}
        2 => return Err(ImageError::Not32Bit { what }),
        c => return Err(ImageError::Malformed { what, detail: format!("unknown ELF class {c}") }),
    }
    match data[5] {
        1 => {}
        2 => return Err(ImageError::BigEndian { what }),
        d => return Err(ImageError::Malformed { what, detail: format!("unknown data encoding {d}") }),
    }
    let machine = u16::from_le_bytes([data[18], data[19]]);
    if machine != EM_ARM {
        let name = match machine {
            3 => "x86",
            62 => "x86-64",
            183 => "AArch64",
            243 => "RISC-V",
            94 => "Xtensa",
            83 => "AVR",
            8 => "MIPS",
            _ => "unknown",
        };
        return Err(ImageError::WrongArchitecture { what, machine, name });
    }
    Ok(())
}

/// `object` reports truncation as generic parse errors; tell the user which it was.
fn classify(what: &str, data: &[u8], e: object::Error) -> ImageError {
    let shoff = u32::from_le_bytes(data[32..36].try_into().unwrap()) as usize;
    let phoff = u32::from_le_bytes(data[28..32].try_into().unwrap()) as usize;
    let shnum = u16::from_le_bytes([data[48], data[49]]) as usize;
    let phnum = u16::from_le_bytes([data[44], data[45]]) as usize;
    if shoff + shnum * 40 > data.len() || phoff + phnum * 32 > data.len() {
        ImageError::Truncated {
            what: what.to_string(),
            detail: format!("{} bytes, but the headers extend beyond the end ({e})", data.len()),
        }
    } else {
        ImageError::Malformed { what: what.to_string(), detail: e.to_string() }
    }
}

fn read_segments(file: &ElfFile32<LittleEndian>) -> Vec<Segment> {
    let e = LittleEndian;
    file.elf_program_headers()
        .iter()
        .filter(|p| p.p_type(e) == elf::PT_LOAD)
        .map(|p| {
            let flags = p.p_flags(e);
            Segment {
                run_address: p.p_vaddr(e),
                load_address: p.p_paddr(e),
                file_size: p.p_filesz(e),
                mem_size: p.p_memsz(e),
                readable: flags.contains(elf::PF_R),
                writable: flags.contains(elf::PF_W),
                executable: flags.contains(elf::PF_X),
            }
        })
        .collect()
}

fn read_sections(file: &ElfFile32<LittleEndian>, segments: &[Segment]) -> Vec<Section> {
    let mut out = Vec::new();
    for s in file.sections() {
        let Ok(name) = s.name() else { continue };
        if name.is_empty() {
            continue;
        }
        let object::SectionFlags::Elf { sh_flags, .. } = s.flags() else { continue };
        let alloc = sh_flags.contains(elf::SHF_ALLOC);
        let address = s.address() as u32;
        let size = s.size() as u32;
        let nobits = s.kind() == SectionKind::UninitializedData
            || s.kind() == SectionKind::UninitializedTls;
        // The load address: the section's offset inside the segment that runs it.
        let load_address = segments
            .iter()
            .find(|g| alloc && address >= g.run_address && address - g.run_address < g.mem_size.max(1))
            .map(|g| g.load_address.wrapping_add(address - g.run_address))
            .unwrap_or(address);
        out.push(Section {
            name: name.to_string(),
            address,
            load_address,
            size,
            alloc,
            executable: sh_flags.contains(elf::SHF_EXECINSTR),
            writable: sh_flags.contains(elf::SHF_WRITE),
            nobits,
            file_range: s.file_range(),
        });
    }
    out
}

fn read_symbols(file: &ElfFile32<LittleEndian>) -> Vec<Symbol> {
    let mut out = Vec::new();
    for sym in file.symbols() {
        let Ok(name) = sym.name() else { continue };
        // ARM mapping symbols ($t, $a, $d) mark code/data spans, not functions.
        if name.is_empty() || name.starts_with('$') {
            continue;
        }
        let raw = sym.address() as u32;
        let kind = match sym.kind() {
            ObjSymbolKind::Text => SymbolKind::Function,
            ObjSymbolKind::Data => SymbolKind::Object,
            ObjSymbolKind::Section | ObjSymbolKind::File => continue,
            _ => SymbolKind::Other,
        };
        let thumb = kind == SymbolKind::Function && raw & 1 == 1;
        let address = if kind == SymbolKind::Function { raw & !1 } else { raw };
        out.push(Symbol {
            demangled: super::symbolize::demangle(name),
            name: name.to_string(),
            address,
            size: sym.size() as u32,
            kind,
            thumb,
            global: sym.is_global(),
            defined: !sym.is_undefined(),
            absolute: sym.section() == object::SymbolSection::Absolute,
        });
    }
    out
}
