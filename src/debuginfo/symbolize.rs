//! Address to source: function, file, line, column and the inline chain.
//!
//! DWARF is parsed on the first lookup only (addr2line parses units and functions
//! lazily), so loading a large ELF costs nothing until an address is symbolized.
//! Without DWARF for an address, the symbol table names the function.

use std::borrow::Cow;
use std::collections::HashMap;

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

fn is_scoped_language(lang: gimli::DwLang) -> bool {
    matches!(
        lang,
        gimli::DW_LANG_Rust
            | gimli::DW_LANG_C_plus_plus
            | gimli::DW_LANG_C_plus_plus_03
            | gimli::DW_LANG_C_plus_plus_11
            | gimli::DW_LANG_C_plus_plus_14
            | gimli::DW_LANG_C_plus_plus_17
            | gimli::DW_LANG_C_plus_plus_20
    )
}

/// One pass over a unit: every named subprogram's scoped name, by DIE offset.
fn scoped_names(unit: gimli::UnitRef<'_, Reader>) -> HashMap<usize, String> {
    let mut out = HashMap::new();
    let mut cursor = unit.entries();
    let mut scopes: Vec<(isize, String)> = Vec::new();
    let mut links = Vec::new();
    while let Ok(Some(e)) = cursor.next_dfs() {
        let depth = e.depth();
        while scopes.last().is_some_and(|(d, _)| *d >= depth) {
            scopes.pop();
        }
        let tag = e.tag();
        if matches!(tag, gimli::DW_TAG_subprogram | gimli::DW_TAG_inlined_subroutine)
            && e.attr_value(gimli::DW_AT_name).is_none()
        {
            // Concrete instances name themselves through their origin or declaration.
            let origin = e.attr_value(gimli::DW_AT_abstract_origin).or_else(|| e.attr_value(gimli::DW_AT_specification));
            if let Some(gimli::AttributeValue::UnitRef(o)) = origin {
                links.push((e.offset().0, o.0));
            }
            continue;
        }
        let scope = matches!(
            tag,
            gimli::DW_TAG_namespace
                | gimli::DW_TAG_structure_type
                | gimli::DW_TAG_class_type
                | gimli::DW_TAG_union_type
                | gimli::DW_TAG_enumeration_type
        );
        if !scope && tag != gimli::DW_TAG_subprogram {
            continue;
        }
        let Some(name) = e
            .attr_value(gimli::DW_AT_name)
            .and_then(|v| unit.attr_string(v).ok())
            .and_then(|r| gimli::Reader::to_string_lossy(&r).ok().map(|c| c.into_owned()))
        else {
            continue;
        };
        if scope {
            scopes.push((depth, name));
        } else {
            let mut q: Vec<&str> = scopes.iter().map(|(_, n)| n.as_str()).collect();
            q.push(&name);
            out.insert(e.offset().0, q.join("::"));
        }
    }
    // Origins can be declarations that are themselves specifications: resolve twice.
    for _ in 0..2 {
        for (from, to) in &links {
            if let Some(n) = out.get(to).cloned() {
                out.entry(*from).or_insert(n);
            }
        }
    }
    out
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
                // DWARF of code the linker discarded (at 0 or a tombstone) takes no part
                // in lookups: only ranges that start in code are live (debuginfo::code).
                let code = self.code.clone();
                addr2line::Context::from_dwarf_with_live_code(dwarf, move |a| {
                    u32::try_from(a).is_ok_and(|a| code.starts_code(a))
                })
                .ok()
            })
            .as_ref()
    }

    fn dwarf_frames(&self, address: u32) -> Vec<SourceFrame> {
        let mut frames = Vec::new();
        let Some(ctx) = self.dwarf() else { return frames };
        let Ok(mut iter) = ctx.find_frames(u64::from(address)).skip_all_loads() else { return frames };
        let mut dies = Vec::new();
        while let Ok(Some(f)) = iter.next() {
            dies.push(f.dw_die_offset.zip(f.function.as_ref().and_then(|n| n.language)));
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
        // gdb names Rust and C++ functions by their DIE's scopes (crate::module::fn,
        // generics as in DW_AT_name), which also covers `#[no_mangle]`/`export_name`
        // functions whose linkage name is bare: do the same so both tools agree.
        for (frame, die) in frames.iter_mut().zip(dies) {
            let Some((die, _)) = die.filter(|(_, l)| is_scoped_language(*l)) else { continue };
            if let Some(q) = self.scoped_name(ctx, address, die) {
                if frame.raw_name.is_none() {
                    frame.raw_name = frame.function.clone().filter(|f| *f != q);
                }
                frame.function = Some(q);
            }
        }
        frames
    }

    /// `scope::scope::name` of the subprogram DIE `die` in the unit holding `address`.
    fn scoped_name(
        &self,
        ctx: &addr2line::Context<Reader>,
        address: u32,
        die: gimli::UnitOffset<usize>,
    ) -> Option<String> {
        let unit = ctx.find_dwarf_and_unit(u64::from(address)).skip_all_loads()?;
        let key = unit.unit.header.offset().0;
        let mut cache = self.scoped_names.borrow_mut();
        let names = cache.entry(key).or_insert_with(|| scoped_names(unit));
        names.get(&die.0).cloned()
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
        // start, if the next byte belongs to another DWARF function, that one is right.
        if sym.is_some_and(|s| s.address == address) {
            let next = self.dwarf_frames(address + 1);
            let name = |f: &[SourceFrame]| f.last().and_then(|f| f.function.clone());
            if name(&next) != name(&frames) {
                frames = next;
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
