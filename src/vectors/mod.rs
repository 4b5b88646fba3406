//! Vector-table correctness: `isrscope vectors`.
//!
//! Two halves, one report. [`analyze`] checks the ELF's table alone (where it is, how
//! long, the initial SP, every handler's Thumb bit and target, reserved entries, the
//! default handler's share, VTOR alignment). [`live::read`] gathers what the chip holds
//! (VTOR and the table there in one read, the NVIC, the masks, the loadable sections
//! compared with flash) into a plain [`live::LiveData`], and [`analyze`] explains it
//! against the ELF. Only `live::read` and `flash` touch a target; everything else is
//! pure and tested with plain numbers.
//!
//! Code map: [`codemap`] (symbols and code ranges of the image, the default handler),
//! [`statics`] (ELF-only checks), [`livecheck`] (comparison with the target's state), [`rtos`] (RTOS priority rules),
//! [`live`] and [`flash`] (reading the target), [`svd`] (IRQ names and count from a CMSIS
//! SVD file), [`text`] (the human rendering).

pub mod codemap;
pub mod flash;
pub mod live;
pub mod livecheck;
pub mod rtos;
pub mod statics;
pub mod svd;
pub mod text;

use serde::Serialize;

use crate::debuginfo::{Image, VectorTableSource};
use crate::report::{Finding, Severity};

pub use codemap::CodeMap;

/// Version of the JSON contract of docs/vectors.md; bumped on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

/// Finding codes, stable: tests and scripts match on them (docs/vectors.md lists them).
pub mod code {
    pub const TABLE_NOT_FOUND: &str = "vector-table-not-found";
    pub const TABLE_SIZE_INFERRED: &str = "vector-table-size-inferred";
    pub const TABLE_SHORT: &str = "vector-table-short";
    pub const INITIAL_SP_OUTSIDE_RAM: &str = "initial-sp-outside-ram";
    pub const INITIAL_SP_MISALIGNED: &str = "initial-sp-misaligned";
    pub const MISSING_THUMB_BIT: &str = "vector-missing-thumb-bit";
    pub const NOT_FUNCTION_START: &str = "vector-not-function-start";
    pub const OUTSIDE_CODE: &str = "vector-outside-code";
    pub const ZERO_HANDLER: &str = "vector-zero-handler";
    pub const RESERVED_NONZERO: &str = "reserved-vector-nonzero";
    pub const DEFAULT_HANDLER_ENTRIES: &str = "default-handler-entries";
    pub const NO_SYMBOLS: &str = "no-symbols";
    pub const VTOR_MISALIGNED: &str = "vtor-misaligned";
    pub const TABLE_MISMATCH: &str = "vector-table-mismatch";
    pub const VTOR_BOOT_ALIAS: &str = "vtor-boot-alias";
    pub const TABLE_RELOCATED: &str = "vector-table-relocated";
    pub const FLASH_MISMATCH: &str = "flash-mismatch";
    pub const FLASH_UNREADABLE: &str = "flash-unreadable";
    pub const IRQ_ENABLED_DEFAULT: &str = "irq-enabled-default-handler";
    pub const IRQ_ENABLED_BAD_VECTOR: &str = "irq-enabled-bad-vector";
    pub const IRQ_PENDING_BLOCKED: &str = "irq-pending-blocked";
    pub const IRQ_PENDING_DISABLED: &str = "irq-pending-disabled";
    pub const LIVE_UNREADABLE: &str = "live-state-unreadable";
    pub const RTOS_PRIORITY: &str = "rtos-priority";
}

/// What the caller knows beyond the ELF.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// IRQ names and count from an SVD file.
    pub svd: Option<svd::DeviceIrqs>,
}

/// How an entry stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Word 0.
    InitialSp,
    /// A handler at the start of a function, with the Thumb bit.
    Ok,
    /// The default handler (the exception or IRQ is not handled).
    DefaultHandler,
    /// Zero in a reserved slot, as it should be.
    Reserved,
    /// Zero for an exception or IRQ: no handler (taking it fetches address 0).
    Unused,
    /// The NXP LPC checksum in word 7.
    Checksum,
    /// Something is wrong: see `problems`.
    Bad,
}

/// One word of the table.
#[derive(Clone, Debug, Serialize)]
pub struct Entry {
    pub index: u16,
    /// "Reset", "SysTick", an IRQ name from the SVD or the handler's symbol, or "IRQ12".
    pub name: String,
    /// Where the name came from: "core", "svd", "symbol" or "number".
    pub name_source: &'static str,
    pub raw: u32,
    /// The handler address (Thumb bit cleared); `None` for word 0 and zero entries.
    pub target: Option<u32>,
    /// The symbol at `target`, "func+0x4" inside a function.
    pub symbol: Option<String>,
    pub status: Status,
    /// Finding codes of what is wrong with this entry.
    pub problems: Vec<&'static str>,
}

/// Where the ELF's table is and how it was found.
#[derive(Clone, Debug, Serialize)]
pub struct TableInfo {
    pub address: u32,
    /// "section .isr_vector", "symbol g_pfnVectors", "reset vector".
    pub found_by: String,
    pub words: usize,
    /// The size came from a section or sized symbol (true) or not (false).
    pub size_known: bool,
    /// Where the number of entries came from: "section", "symbol", "svd" (16 + the
    /// SVD's IRQ count, when the ELF does not give the size) or "inferred" (read while
    /// the words looked like vectors).
    pub size_source: &'static str,
    /// VTOR alignment this table needs: its size rounded up to a power of two, >= 128.
    pub required_alignment: u32,
    pub default_handler: Option<Handler>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Handler {
    pub address: u32,
    pub symbol: String,
}

/// The whole result: rendered as text by [`text::render`], as JSON by serde.
#[derive(Clone, Debug, Serialize)]
pub struct VectorReport {
    pub schema: u32,
    pub elf: Option<String>,
    pub table: Option<TableInfo>,
    pub entries: Vec<Entry>,
    pub live: Option<livecheck::LiveSummary>,
    pub findings: Vec<Finding>,
}

impl VectorReport {
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// The distinct codes of findings at `severity` or worse, sorted.
    pub fn codes_at_least(&self, severity: Severity) -> Vec<&str> {
        let rank = |s: Severity| match s {
            Severity::Error => 2,
            Severity::Warning => 1,
            Severity::Info => 0,
        };
        let mut v: Vec<&str> =
            self.findings.iter().filter(|f| rank(f.severity) >= rank(severity)).map(|f| f.code.as_str()).collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

/// Checks `image`'s vector table, and the target's state when `live` is given.
pub fn analyze(image: &Image, opts: &Options, live: Option<&live::LiveData>) -> VectorReport {
    let mut report = VectorReport {
        schema: SCHEMA_VERSION,
        elf: image.path().map(|p| p.display().to_string()),
        table: None,
        entries: Vec::new(),
        live: None,
        findings: Vec::new(),
    };
    let Some(table) = image.vector_table() else {
        report.findings.push(Finding::new(
            code::TABLE_NOT_FOUND,
            Severity::Error,
            "no vector table in the ELF: no .isr_vector/.vector_table/.vectors section, no g_pfnVectors/__isr_vector/__Vectors/__vector_table/__RESET_VECTOR symbol, and no flash segment whose word 1 is the entry point",
        ));
        return report;
    };
    let size_known = !matches!(table.source, VectorTableSource::ResetVector)
        && match &table.source {
            VectorTableSource::Section(_) => true,
            VectorTableSource::Symbol(name) => image.symbols().by_name(name).is_some_and(|s| s.size >= 8),
            VectorTableSource::ResetVector => false,
        };
    // The ELF does not say how long the table is but the SVD says how many IRQs the
    // chip has: the table is 16 + that many entries, not what happened to look like one.
    let svd_sized = match &opts.svd {
        Some(svd) if !size_known => image.vector_table_with_len(16 + usize::from(svd.count)),
        _ => None,
    };
    let table = svd_sized.as_ref().unwrap_or(table);
    let size_source = match (&table.source, size_known, svd_sized.is_some()) {
        (_, _, true) => "svd",
        (VectorTableSource::Section(_), true, _) => "section",
        (_, true, _) => "symbol",
        _ => "inferred",
    };
    let map = CodeMap::new(image, &table.words);
    let found_by = match &table.source {
        VectorTableSource::Section(n) => format!("section {n}"),
        VectorTableSource::Symbol(n) => format!("symbol {n}"),
        VectorTableSource::ResetVector => "reset vector (flash segment whose word 1 is the entry point)".into(),
    };
    report.table = Some(TableInfo {
        address: table.address,
        found_by,
        words: table.words.len(),
        size_known,
        size_source,
        required_alignment: required_alignment(table.words.len()),
        default_handler: map.default_handler().map(|(address, symbol)| Handler { address, symbol: symbol.to_string() }),
    });
    statics::check(&map, table, size_known, opts, &mut report);
    if let Some(live) = live {
        livecheck::check(&map, table, live, &mut report);
    }
    report
}

/// VTOR alignment for a table of `words` entries: its size in bytes rounded up to a
/// power of two, at least 128 (ARMv7-M B3.2.5; ARMv6-M/v8-M the same rule).
pub fn required_alignment(words: usize) -> u32 {
    let bytes = (words.max(1) * 4).next_power_of_two();
    (bytes as u32).max(128)
}

/// "IRQ3, IRQ5-IRQ9" style compression of sorted numbers with a prefix.
pub(crate) fn ranges(prefix: &str, numbers: &[u16]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < numbers.len() {
        let start = numbers[i];
        let mut end = start;
        while i + 1 < numbers.len() && numbers[i + 1] == end + 1 {
            i += 1;
            end = numbers[i];
        }
        out.push(if start == end { format!("{prefix}{start}") } else { format!("{prefix}{start}-{prefix}{end}") });
        i += 1;
    }
    out.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alignment_is_the_size_rounded_up_to_a_power_of_two_at_least_128() {
        assert_eq!(required_alignment(16), 128);
        assert_eq!(required_alignment(32), 128);
        assert_eq!(required_alignment(33), 256);
        assert_eq!(required_alignment(98), 512);
        assert_eq!(required_alignment(16 + 240), 1024);
        assert_eq!(required_alignment(0), 128);
    }

    #[test]
    fn ranges_compress_runs() {
        assert_eq!(ranges("IRQ", &[0, 1, 2, 5, 7, 8]), "IRQ0-IRQ2, IRQ5, IRQ7-IRQ8");
        assert_eq!(ranges("IRQ", &[]), "");
    }
}
