//! Post-mortem: a crashed core frozen in a file, analysed anywhere through the same
//! [`Target`](crate::target::Target) trait as a live board.
//!
//! - [`CoreDump`]: registers, captured memory and metadata, whatever file they came from.
//! - [`elf`]: isrscope's own file, an ELF core (ET_CORE, EM_ARM) that gdb-multiarch opens
//!   too: PT_LOAD segments for memory, NT_PRSTATUS / NT_ARM_VFP / NT_GDB_TDESC for gdb,
//!   and an `ISRSCOPE` note with the full register set and the [`Metadata`] (JSON).
//!   The format is documented in docs/coredump.md.
//! - [`probe_rs`]: probe-rs `CoreDump` files (MessagePack), read as a second input format.
//! - [`capture`]: taking a dump from a halted live target.
//! - [`target`]: [`CoreDumpTarget`], the dump behind the `Target` trait (not live: reads
//!   come from the captured memory, everything else is refused clearly).
//!
//! Reading never panics on any input: a corrupt or truncated file is a
//! [`CoreDumpError`] saying what is wrong with it.

pub mod analyze;
pub mod capture;
pub mod elf;
pub mod memory;
pub mod meta;
pub mod probe_rs;
pub mod target;

use std::path::{Path, PathBuf};

pub use memory::{MemoryImage, Segment, Span};
pub use meta::{ElfIdentity, Metadata, RegionKind, RegionRecord, SavedStop};
pub use target::CoreDumpTarget;

use crate::target::Registers;

/// Why a file could not be read as a core dump.
#[derive(Debug, thiserror::Error)]
pub enum CoreDumpError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} is not a core dump: neither an ELF core file nor a probe-rs coredump (MessagePack)")]
    Unrecognized { what: String },
    #[error("{what} is truncated: {detail}")]
    Truncated { what: String, detail: String },
    #[error("{what} is a malformed core dump: {detail}")]
    Malformed { what: String, detail: String },
    #[error("{what} is not a Cortex-M core dump: {detail}")]
    Unsupported { what: String, detail: String },
}

/// Which kind of file a dump was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DumpFormat {
    /// An ELF core written by `isrscope capture` (has the `ISRSCOPE` note).
    Isrscope,
    /// An ARM ELF core from another tool: registers from NT_PRSTATUS/NT_ARM_VFP only.
    ForeignElf,
    /// A probe-rs `CoreDump` (MessagePack).
    ProbeRs,
}

impl std::fmt::Display for DumpFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DumpFormat::Isrscope => "isrscope ELF core",
            DumpFormat::ForeignElf => "ELF core",
            DumpFormat::ProbeRs => "probe-rs coredump",
        })
    }
}

/// A frozen core: its registers, the memory that was captured, and what is known
/// about where and when.
#[derive(Clone, Debug)]
pub struct CoreDump {
    pub format: DumpFormat,
    pub memory: MemoryImage,
    /// Registers, metadata, regions. For foreign files, what could be derived.
    pub meta: Metadata,
    /// Things the reader had to make do without (e.g. no ISRSCOPE note).
    pub warnings: Vec<String>,
}

impl CoreDump {
    /// Reads `path`: an ELF core (isrscope's or another ARM one) or a probe-rs coredump.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CoreDumpError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| CoreDumpError::Io { path: path.to_path_buf(), source })?;
        Self::parse(&bytes, &path.display().to_string())
    }

    /// Reads a dump held in memory; `what` names it in errors.
    pub fn parse(bytes: &[u8], what: &str) -> Result<Self, CoreDumpError> {
        if bytes.starts_with(b"\x7fELF") {
            return elf::read(bytes, what);
        }
        if bytes.len() < 4 && b"\x7fELF".starts_with(bytes) && !bytes.is_empty() {
            return Err(CoreDumpError::Truncated { what: what.into(), detail: format!("{} bytes, shorter than an ELF header", bytes.len()) });
        }
        if probe_rs::looks_like(bytes) {
            return probe_rs::read(bytes, what);
        }
        Err(CoreDumpError::Unrecognized { what: what.into() })
    }

    /// The registers as the `Target` trait hands them out.
    pub fn registers(&self) -> Registers {
        let mut r = Registers::new();
        for (k, v) in &self.meta.registers {
            r.insert(k.clone(), *v);
        }
        r
    }

    /// isrscope's ELF core file for this dump.
    pub fn to_elf(&self) -> Vec<u8> {
        elf::write(self)
    }

    /// Writes [`CoreDump::to_elf`] to `path` (through a temporary file, so a crash
    /// half way leaves no truncated dump behind).
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let bytes = self.to_elf();
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".partial");
        let tmp = PathBuf::from(tmp);
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, path)
    }
}
