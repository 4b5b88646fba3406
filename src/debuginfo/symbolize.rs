//! Address to source: function, file, line, column and the inline chain.
//!
//! DWARF is parsed on the first lookup only (addr2line parses units and functions
//! lazily), so loading a large ELF costs nothing until an address is symbolized.
//! Without DWARF for an address, the symbol table names the function.

use std::borrow::Cow;

use serde::Serialize;

use super::bytes::{Reader, SharedBytes};
use super::image::Image;

/// Where a name came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NameSource {
    Dwarf,
    SymbolTable,
    None,
}

/// One source-level frame at an address. For inlined code there are several per
/// address: the innermost inlined function first, the real (outlined) function last.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SourceFrame {
    /// Demangled function name.
    pub function: Option<String>,
    /// The name as stored (mangled), when it differs from `function`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_name: Option<String>,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub column: Option<u32>,
    /// This frame is code inlined into the next one.
    pub inlined: bool,
}

/// Everything known about one address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Symbolized {
    pub address: u32,
    /// Innermost first; never empty (a frame with no name when nothing is known).
    pub frames: Vec<SourceFrame>,
    pub source: NameSource,
    /// Offset from the start of the enclosing symbol-table function, when known.
    pub offset: Option<u32>,
}

impl Symbolized {
    /// The outermost (non-inlined) function's name.
    pub fn function(&self) -> Option<&str> {
        self.frames.last().and_then(|f| f.function.as_deref())
    }
}

/// Demangles a Rust (legacy or v0) or C++ name; other names are returned unchanged.
/// Rust hashes (`::h0123...`) are dropped.
pub fn demangle(name: &str) -> String {
    addr2line::demangle_auto(Cow::Borrowed(name), None).into_owned()
}

impl Image {
    fn dwarf(&self) -> Option<&addr2line::Context<Reader>> {
        self.dwarf
            .get_or_init(|| {
                if !self.has_debug_info {
                    return None;
                }
                let load = |id: gimli::SectionId| -> Result<Reader, gimli::Error> {
                    let bytes = self.debug_sections.get(id.name()).cloned().unwrap_or_else(SharedBytes::empty);
                    Ok(gimli::EndianReader::new(bytes, gimli::RunTimeEndian::Little))
                };
                let dwarf = gimli::Dwarf::load(load).ok()?;
                addr2line::Context::from_dwarf(dwarf).ok()
            })
            .as_ref()
    }

    fn dwarf_frames(&self, address: u32) -> Vec<SourceFrame> {
        let mut frames = Vec::new();
        let Some(ctx) = self.dwarf() else { return frames };
        let Ok(mut iter) = ctx.find_frames(u64::from(address)).skip_all_loads() else { return frames };
        while let Ok(Some(f)) = iter.next() {
            let (function, raw_name) = match &f.function {
                Some(n) => {
                    let raw = n.raw_name().map(|r| r.into_owned()).ok();
                    let dem = n.demangle().map(|d| d.into_owned()).ok();
                    let raw = raw.filter(|r| Some(r) != dem.as_ref());
                    (dem, raw)
                }
                None => (None, None),
            };
            let (file, line, column) = match &f.location {
                Some(l) => (l.file.map(str::to_string), l.line, l.column),
                None => (None, None, None),
            };
            frames.push(SourceFrame { function, raw_name, file, line, column, inlined: true });
        }
        frames
    }

    /// Symbolizes `address` (Thumb bit ignored). Never fails: what cannot be found is
    /// `None` in the result.
    pub fn symbolize(&self, address: u32) -> Symbolized {
        let address = address & !1;
        let sym = self.symbols.function_at(address);
        let offset = sym.map(|s| address - s.address);
        let mut frames = self.dwarf_frames(address);
        // gas records assembly functions' DW_AT_low_pc with the Thumb bit set, so their
        // first instruction falls into the previous function's range. At a symbol's
        // start, if DWARF disagrees with the symbol table, look one byte further.
        if let Some(s) = sym.filter(|s| s.address == address) {
            let outer = frames.last().and_then(|f| f.function.as_deref());
            if outer.is_some_and(|o| o != s.demangled && o != s.name) {
                let next = self.dwarf_frames(address + 1);
                if next.last().and_then(|f| f.function.as_deref()).is_some_and(|o| o == s.demangled || o == s.name) {
                    frames = next;
                } else {
                    frames.clear();
                }
            }
        }
        let source = if frames.iter().any(|f| f.function.is_some()) {
            NameSource::Dwarf
        } else if sym.is_some() {
            NameSource::SymbolTable
        } else {
            NameSource::None
        };
        if frames.is_empty() {
            frames.push(SourceFrame { function: None, raw_name: None, file: None, line: None, column: None, inlined: true });
        }
        let last = frames.last_mut().unwrap();
        last.inlined = false;
        if last.function.is_none() {
            if let Some(s) = sym {
                last.function = Some(s.demangled.clone());
                last.raw_name = (s.name != s.demangled).then(|| s.name.clone());
            }
        }
        Symbolized { address, frames, source, offset }
    }
}
