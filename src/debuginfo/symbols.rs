//! The ELF symbol table, sorted for address lookups.

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SymbolKind {
    Function,
    Object,
    /// Linker-defined addresses (`_estack`, `_ebss`) and untyped labels.
    Other,
}

/// One symbol. Function addresses have the Thumb bit cleared (see `thumb`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Symbol {
    /// The name as in the file (mangled).
    pub name: String,
    /// The demangled name (equal to `name` for C).
    pub demangled: String,
    pub address: u32,
    pub size: u32,
    pub kind: SymbolKind,
    /// The symbol's value had bit 0 set: a Thumb function.
    pub thumb: bool,
    pub global: bool,
    pub defined: bool,
    /// SHN_ABS: a linker-script constant such as `_estack = 0x20020000`.
    pub absolute: bool,
}

impl Symbol {
    pub fn contains(&self, address: u32) -> bool {
        address >= self.address && (address - self.address) < self.size.max(1)
    }
}

/// Symbols sorted by address, with the functions indexed separately for lookups.
#[derive(Clone, Debug, Default)]
pub struct SymbolTable {
    all: Vec<Symbol>,
    /// Indices into `all` of defined functions, sorted by address.
    functions: Vec<usize>,
}

impl SymbolTable {
    pub fn new(mut all: Vec<Symbol>) -> Self {
        // Globals first among equals so aliases resolve to the public name.
        all.sort_by(|a, b| a.address.cmp(&b.address).then(b.global.cmp(&a.global)).then(a.name.cmp(&b.name)));
        let functions = all
            .iter()
            .enumerate()
            .filter(|(_, s)| s.kind == SymbolKind::Function && s.defined)
            .map(|(i, _)| i)
            .collect();
        Self { all, functions }
    }

    pub fn len(&self) -> usize {
        self.all.len()
    }
    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = &Symbol> {
        self.all.iter()
    }
    pub fn functions(&self) -> impl Iterator<Item = &Symbol> {
        self.functions.iter().map(|&i| &self.all[i])
    }

    /// The first symbol with this (raw or demangled) name.
    pub fn by_name(&self, name: &str) -> Option<&Symbol> {
        self.all.iter().find(|s| s.defined && s.name == name)
            .or_else(|| self.all.iter().find(|s| s.defined && s.demangled == name))
    }

    /// The function whose `[address, address + size)` holds `address`; a zero-sized
    /// function (hand-written assembly without `.size`) matches up to the next function.
    pub fn function_at(&self, address: u32) -> Option<&Symbol> {
        let address = address & !1;
        let idx = self.functions.partition_point(|&i| self.all[i].address <= address);
        let nearest = self.all[*self.functions[..idx].last()?].address;
        // Several functions can start at the same address (aliases): prefer a sized one
        // that holds the address, else a zero-sized one, which is trusted up to the next
        // function's start (the partition point guarantees that).
        let first = self.functions[..idx].partition_point(|&i| self.all[i].address < nearest);
        // In table order: globals first among aliases.
        let same = self.functions[first..idx].iter().map(|&i| &self.all[i]);
        let mut zero_sized = None;
        for s in same {
            if s.size > 0 && s.contains(address) {
                return Some(s);
            }
            if s.size == 0 && zero_sized.is_none() {
                zero_sized = Some(s);
            }
        }
        zero_sized
    }
}
