//! What the vector checks need to know about the image: which addresses are code, which
//! start a function (or a code label), what is RAM, and which handler is the default one.
//!
//! A private adapter over [`Image`]: the symbol table indexes functions only, but
//! hand-written handlers are often untyped labels (`DebugMonitor:` in assembly), and a
//! handler address usually carries several aliases (cortex-m-rt and CMSIS startup files
//! alias every unhandled vector to the default handler), so all of them are kept here.

use std::collections::{BTreeMap, HashMap};

use crate::debuginfo::{Image, RegionKind, Symbol, SymbolKind};

use super::code;

/// Names startup files give the catch-all handler (CMSIS/ST, cortex-m-rt, TI, Atmel, NXP).
const DEFAULT_NAMES: &[&str] = &[
    "Default_Handler",
    "DefaultHandler",
    "DefaultHandler_",
    "Dummy_Handler",
    "IntDefaultHandler",
    "Default_IRQHandler",
    "default_handler",
    "defaultHandler",
];

/// A handler word, looked up in the image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Classified {
    pub target: u32,
    pub symbol: Option<String>,
    /// Finding codes: missing Thumb bit, outside code, not a function start.
    pub problems: Vec<&'static str>,
    pub is_default: bool,
}

pub struct CodeMap<'a> {
    image: &'a Image,
    /// Defined functions and code labels by (even) address.
    starts: BTreeMap<u32, Vec<&'a Symbol>>,
    default: Option<(u32, String)>,
}

impl<'a> CodeMap<'a> {
    /// `words` is the ELF's table (for finding a default handler without a known name).
    pub fn new(image: &'a Image, words: &[u32]) -> Self {
        let mut starts: BTreeMap<u32, Vec<&Symbol>> = BTreeMap::new();
        for s in image.symbols().iter() {
            if !s.defined || s.absolute {
                continue;
            }
            let code_label = s.kind == SymbolKind::Other && Self::in_exec_section(image, s.address);
            if s.kind == SymbolKind::Function || code_label {
                starts.entry(s.address & !1).or_default().push(s);
            }
        }
        let mut map = CodeMap { image, starts, default: None };
        map.default = map.find_default(words);
        map
    }

    pub fn image(&self) -> &'a Image {
        self.image
    }

    /// The symbol table has something to say about function starts.
    pub fn has_symbols(&self) -> bool {
        !self.starts.is_empty()
    }

    pub fn default_handler(&self) -> Option<(u32, &str)> {
        self.default.as_ref().map(|(a, n)| (*a, n.as_str()))
    }

    fn in_exec_section(image: &Image, address: u32) -> bool {
        image.sections().iter().any(|s| s.alloc && s.executable && s.contains(address))
    }

    /// Inside code: an executable section, or an executable segment for images without
    /// section headers.
    pub fn is_code(&self, address: u32) -> bool {
        Self::in_exec_section(self.image, address)
            || self.image.segments().iter().any(|g| {
                g.executable && address >= g.run_address && address - g.run_address < g.mem_size
            })
    }

    /// RAM per the image, or the architectural SRAM area (0x2000_0000..0x4000_0000).
    pub fn is_ram(&self, address: u32) -> bool {
        self.image.memory_regions().iter().any(|r| r.kind == RegionKind::Ram && r.contains(address))
            || self.image.sections().iter().any(|s| s.alloc && s.writable && s.contains(address))
            || (0x2000_0000..0x4000_0000).contains(&address)
    }

    /// A data object or label that holds `address` (e.g. the RAM copy `ram_vectors`).
    pub fn object_at(&self, address: u32) -> Option<&'a Symbol> {
        self.image
            .symbols()
            .iter()
            .filter(|s| s.defined && !s.absolute && s.kind == SymbolKind::Object)
            .find(|s| s.contains(address))
            .or_else(|| {
                self.image.symbols().iter().find(|s| s.defined && !s.absolute && s.address == address && s.kind != SymbolKind::Function)
            })
    }

    /// The best name among the symbols starting at `address`: one that names the
    /// exception (`hint`) if any, else a global function, else the first.
    pub fn name_at(&self, address: u32, hint: Option<&str>) -> Option<String> {
        let syms = self.starts.get(&(address & !1))?;
        let pick = hint
            .and_then(|h| syms.iter().find(|s| s.demangled == h || s.name.starts_with(h)))
            .or_else(|| syms.iter().find(|s| s.kind == SymbolKind::Function && s.global))
            .or_else(|| syms.iter().find(|s| s.kind == SymbolKind::Function))
            .or_else(|| syms.first())?;
        Some(pick.demangled.clone())
    }

    /// Looks up a non-zero handler word.
    pub fn classify(&self, word: u32, hint: Option<&str>) -> Classified {
        let target = word & !1;
        let mut problems = Vec::new();
        let is_default = self.default.as_ref().is_some_and(|(a, _)| *a == target);
        let start = self.starts.contains_key(&target);
        let symbol = if is_default {
            self.default.as_ref().map(|(_, n)| n.clone())
        } else if start {
            self.name_at(target, hint)
        } else {
            self.image
                .symbols()
                .function_at(target)
                .map(|f| format!("{}+{:#x}", f.demangled, target - f.address))
        };
        if word & 1 == 0 {
            problems.push(code::MISSING_THUMB_BIT);
        }
        if !self.is_code(target) {
            problems.push(code::OUTSIDE_CODE);
        } else if !start && self.has_symbols() {
            problems.push(code::NOT_FUNCTION_START);
        }
        Classified { target, symbol, problems, is_default }
    }

    /// The default handler: a known name, else the address most IRQ entries share.
    fn find_default(&self, words: &[u32]) -> Option<(u32, String)> {
        for name in DEFAULT_NAMES {
            if let Some(s) = self.image.symbols().by_name(name).filter(|s| s.kind == SymbolKind::Function) {
                return Some((s.address & !1, s.demangled.clone()));
            }
        }
        let mut counts: HashMap<u32, usize> = HashMap::new();
        for &w in words.iter().skip(2).filter(|&&w| w != 0) {
            *counts.entry(w & !1).or_default() += 1;
        }
        let (&address, &n) = counts.iter().max_by_key(|(a, n)| (**n, std::cmp::Reverse(**a)))?;
        (n >= 4).then(|| {
            let name = self.name_at(address, None).unwrap_or_else(|| format!("{address:#010x}"));
            (address, name)
        })
    }
}
