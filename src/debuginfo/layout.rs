//! Memory layout facts derived from the image: flash and RAM regions, the stack's
//! bounds from linker symbols, and the vector table.

use serde::Serialize;

use super::image::Image;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RegionKind {
    /// Code and read-only data, as loaded (load addresses).
    Flash,
    /// Writable memory at run time.
    Ram,
}

/// A span of target memory the image describes. `end` is exclusive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MemoryRegion {
    pub kind: RegionKind,
    pub start: u32,
    pub end: u32,
    /// What told us: "segment", or the linker symbol that extended it.
    pub source: String,
}

impl MemoryRegion {
    pub fn contains(&self, address: u32) -> bool {
        address >= self.start && address < self.end
    }
}

/// The main stack as the linker script defines it. The stack grows down from `top`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StackRegion {
    /// Initial SP (exclusive upper bound).
    pub top: u32,
    pub top_symbol: String,
    /// Lowest address the stack may use, when the image says.
    pub bottom: Option<u32>,
    pub bottom_symbol: Option<String>,
}

impl StackRegion {
    /// Whether `sp` is inside `[bottom, top]` (`top` included: an empty stack).
    pub fn contains(&self, sp: u32) -> bool {
        sp <= self.top && self.bottom.is_none_or(|b| sp >= b)
    }
}

/// How the vector table was found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "kebab-case")]
pub enum VectorTableSource {
    Section(String),
    Symbol(String),
    /// No section or symbol: the table whose reset entry is the ELF entry point.
    ResetVector,
}

/// The vector table as stored in the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VectorTable {
    pub address: u32,
    pub source: VectorTableSource,
    /// Raw words: word 0 is the initial MSP, word n the handler of exception n.
    pub words: Vec<u32>,
}

impl VectorTable {
    pub fn initial_sp(&self) -> Option<u32> {
        self.words.first().copied()
    }
    /// The handler address of exception `n` with the Thumb bit cleared; `None` for a
    /// reserved (zero) entry or one past the table.
    pub fn handler(&self, n: usize) -> Option<u32> {
        if n == 0 {
            return None;
        }
        self.words.get(n).copied().filter(|&w| w != 0).map(|w| w & !1)
    }
}

const STACK_TOP_SYMBOLS: &[&str] = &["_estack", "_stack_start", "__StackTop", "__stack", "_stack_top"];
const STACK_BOTTOM_SYMBOLS: &[&str] = &["__StackLimit", "_sstack", "_stack_end", "__sheap", "_ebss", "__bss_end__"];
const VECTOR_SECTIONS: &[&str] = &[".isr_vector", ".vector_table", ".vectors"];
const VECTOR_SYMBOLS: &[&str] = &["g_pfnVectors", "__isr_vector", "__Vectors", "__vector_table"];
/// Cortex-M has at most 16 system vectors + 496 IRQs.
const MAX_VECTORS: usize = 512;

fn symbol_value(image: &Image, name: &str) -> Option<u32> {
    image.symbols.iter().find(|s| s.defined && s.name == name).map(|s| s.address)
}

pub(crate) fn memory_regions(image: &Image) -> Vec<MemoryRegion> {
    let mut out: Vec<MemoryRegion> = Vec::new();
    for seg in &image.segments {
        if seg.writable {
            if seg.mem_size > 0 {
                push_merged(&mut out, RegionKind::Ram, seg.run_address, seg.run_address.saturating_add(seg.mem_size));
            }
            if seg.file_size > 0 && seg.load_address != seg.run_address {
                push_merged(&mut out, RegionKind::Flash, seg.load_address, seg.load_address.saturating_add(seg.file_size));
            }
        } else if seg.mem_size > 0 {
            push_merged(&mut out, RegionKind::Flash, seg.load_address, seg.load_address.saturating_add(seg.mem_size));
        }
    }
    // Sections not covered by a segment (objects linked without program headers).
    for s in image.sections.iter().filter(|s| s.alloc && s.size > 0) {
        let kind = if s.writable { RegionKind::Ram } else { RegionKind::Flash };
        if !out.iter().any(|r| r.contains(s.address)) {
            push_merged(&mut out, kind, s.address, s.address.saturating_add(s.size));
        }
    }
    // The stack usually lies past .bss, up to the top of RAM: extend RAM to cover it.
    for name in STACK_TOP_SYMBOLS.iter().chain(STACK_BOTTOM_SYMBOLS) {
        let Some(v) = symbol_value(image, name) else { continue };
        if out.iter().any(|r| r.kind == RegionKind::Flash && r.contains(v)) || v == 0 {
            continue;
        }
        let near = out.iter_mut().filter(|r| r.kind == RegionKind::Ram).find(|r| {
            // Same RAM block: within 1 MiB of an existing RAM region.
            v.abs_diff(r.start) < 0x10_0000 || v.abs_diff(r.end) < 0x10_0000
        });
        if let Some(r) = near {
            if v > r.end {
                r.end = v;
                r.source = format!("{} (extended to {name})", r.source);
            } else if v < r.start {
                r.start = v;
                r.source = format!("{} (extended to {name})", r.source);
            }
        }
    }
    out.retain(|r| r.end > r.start);
    out.sort_by_key(|r| (r.start, r.end));
    out
}

fn push_merged(out: &mut Vec<MemoryRegion>, kind: RegionKind, start: u32, end: u32) {
    if let Some(r) = out.iter_mut().find(|r| r.kind == kind && start <= r.end && end >= r.start) {
        r.start = r.start.min(start);
        r.end = r.end.max(end);
        return;
    }
    out.push(MemoryRegion { kind, start, end, source: "segment".into() });
}

/// Images whose RAM holds no initialised data still have a stack: its region is RAM.
pub(crate) fn add_stack_ram(image: &mut Image) {
    let Some(stack) = &image.stack else { return };
    let (Some(bottom), top) = (stack.bottom, stack.top) else { return };
    let covered = image.regions.iter().any(|r| r.kind == RegionKind::Ram && r.start <= bottom && r.end >= top);
    if !covered {
        let source = format!("stack symbols {}..{}", stack.bottom_symbol.as_deref().unwrap_or("?"), stack.top_symbol);
        image.regions.push(MemoryRegion { kind: RegionKind::Ram, start: bottom, end: top, source });
        image.regions.sort_by_key(|r| (r.start, r.end));
    }
}

pub(crate) fn stack_region(image: &Image) -> Option<StackRegion> {
    let (top_symbol, top) = STACK_TOP_SYMBOLS
        .iter()
        .find_map(|n| symbol_value(image, n).map(|v| (n.to_string(), v)))
        .or_else(|| {
            // No symbol: the initial MSP from the vector table.
            let vt = find_vector_table(image)?;
            Some(("vector table word 0".to_string(), vt.words.first().copied()?))
        })?;
    let bottom = STACK_BOTTOM_SYMBOLS
        .iter()
        .find_map(|n| symbol_value(image, n).filter(|&v| v < top).map(|v| (n.to_string(), v)));
    Some(StackRegion {
        top,
        top_symbol,
        bottom: bottom.as_ref().map(|b| b.1),
        bottom_symbol: bottom.map(|b| b.0),
    })
}

pub(crate) fn find_vector_table(image: &Image) -> Option<VectorTable> {
    for name in VECTOR_SECTIONS {
        if let Some(s) = image.section(name).filter(|s| s.size >= 8 && !s.nobits) {
            return table_at(image, s.address, Some(s.size), VectorTableSource::Section(name.to_string()));
        }
    }
    for name in VECTOR_SYMBOLS {
        if let Some(sym) = image.symbols.iter().find(|s| s.defined && s.name == *name) {
            let size = (sym.size >= 8).then_some(sym.size);
            if let Some(t) = table_at(image, sym.address, size, VectorTableSource::Symbol(name.to_string())) {
                return Some(t);
            }
        }
    }
    if let Some(sym) = image.symbols.iter().find(|s| s.defined && s.name == "__RESET_VECTOR") {
        if let Some(t) = table_at(image, sym.address.wrapping_sub(4), None, VectorTableSource::Symbol("__RESET_VECTOR".into())) {
            return Some(t);
        }
    }
    // Implied: the start of a flash segment whose word 1 is the entry point.
    let entry = image.entry();
    if entry == 0 {
        return None;
    }
    for seg in image.segments.iter().filter(|s| !s.writable && s.file_size >= 8) {
        let addr = seg.run_address;
        if image.read_static_u32(addr.wrapping_add(4)).is_some_and(|w| w & !1 == entry) {
            return table_at(image, addr, None, VectorTableSource::ResetVector);
        }
    }
    None
}

/// The table found in `image`, read again with exactly `words` entries (e.g. 16 + the
/// chip's IRQ count from an SVD when the image does not say the size). Stops early at
/// the end of the file's contents, so a table cut short stays visibly short.
pub(crate) fn vector_table_with_len(image: &Image, words: usize) -> Option<VectorTable> {
    let found = image.vector_table()?;
    let read = |a: u32| image.read_static_u32(a).or_else(|| {
        image.file_bytes_at_load_address(a, 4).map(|b| u32::from_le_bytes(b.try_into().unwrap()))
    });
    let words = (0..words.min(MAX_VECTORS))
        .map_while(|i| read(found.address.wrapping_add(4 * i as u32)))
        .collect();
    Some(VectorTable { address: found.address, source: found.source.clone(), words })
}

/// Reads the table's words from the file. Without a known size, reads while the words
/// look like vectors (zero, or odd addresses in flash).
fn table_at(image: &Image, address: u32, size: Option<u32>, source: VectorTableSource) -> Option<VectorTable> {
    let read = |a: u32| image.read_static_u32(a).or_else(|| {
        image.file_bytes_at_load_address(a, 4).map(|b| u32::from_le_bytes(b.try_into().unwrap()))
    });
    let mut words = Vec::new();
    match size {
        Some(size) => {
            for i in 0..(size as usize / 4).min(MAX_VECTORS) {
                words.push(read(address.wrapping_add(4 * i as u32))?);
            }
        }
        None => {
            words.push(read(address)?);
            let in_flash = |w: u32| image.regions.iter().any(|r| r.kind == RegionKind::Flash && r.contains(w & !1))
                || image.sections.iter().any(|s| s.executable && s.contains(w & !1));
            for i in 1..MAX_VECTORS {
                let Some(w) = read(address.wrapping_add(4 * i as u32)) else { break };
                if !(w == 0 || (w & 1 == 1 && in_flash(w))) || (i < 2 && w == 0) {
                    break;
                }
                words.push(w);
            }
            // Trailing reserved entries belong to whatever follows.
            while words.len() > 2 && words.last() == Some(&0) {
                words.pop();
            }
        }
    }
    Some(VectorTable { address, source, words })
}
