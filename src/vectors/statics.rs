//! ELF-only checks: the table's entries, the initial SP, reserved slots, the default
//! handler's share, and whether VTOR could point at the table where it is placed.

use crate::debuginfo::{RegionKind, VectorTable};
use crate::model::exception::ExceptionNumber;
use crate::report::{Finding, Severity};

use super::codemap::CodeMap;
use super::{Entry, Options, Status, VectorReport, code, ranges, required_alignment};

/// Fills `report.entries` and the static findings.
pub fn check(map: &CodeMap, table: &VectorTable, size_known: bool, opts: &Options, report: &mut VectorReport) {
    let findings = &mut report.findings;
    if !size_known {
        let message = match &opts.svd {
            // analyze() sized the table from the SVD.
            Some(svd) => format!(
                "the table's size comes from the SVD: 16 + {} IRQs of {} = {} entries (no sized section or symbol in the ELF)",
                svd.count,
                svd.device,
                16 + usize::from(svd.count)
            ),
            None => format!(
                "the table's size is inferred: {} words read while they looked like vectors (no sized section or symbol); give --svd to know the chip's IRQ count",
                table.words.len()
            ),
        };
        findings.push(Finding::new(code::TABLE_SIZE_INFERRED, Severity::Info, message));
    }
    if let Some(svd) = &opts.svd {
        let want = 16 + usize::from(svd.count);
        if table.words.len() < want {
            findings.push(Finding::new(
                code::TABLE_SHORT,
                Severity::Warning,
                format!(
                    "the table has {} entries but {} has {} IRQs ({want} entries): an IRQ past the end fetches its vector from whatever follows the table",
                    table.words.len(),
                    svd.device,
                    svd.count
                ),
            ));
        }
    }
    if !map.has_symbols() {
        findings.push(Finding::new(
            code::NO_SYMBOLS,
            Severity::Info,
            "the ELF has no function symbols (stripped?): whether each handler is a function start cannot be checked",
        ));
    }
    check_initial_sp(map, table, findings);

    let entries: Vec<Entry> = table.words.iter().enumerate().map(|(i, &w)| entry(map, table, i as u16, w, opts)).collect();
    for e in &entries {
        for &p in &e.problems {
            findings.push(Finding::new(p, severity_of(p), describe(e, p, "")));
        }
    }
    default_share(map, &entries, findings);

    let align = required_alignment(table.words.len());
    if table.address % align != 0 {
        findings.push(Finding::new(
            code::VTOR_MISALIGNED,
            Severity::Error,
            format!(
                "the table at {:#010x} ({} entries) needs {align}-byte alignment for VTOR (its size rounded up to a power of two, at least 128): VTOR cannot point at it, the core would use {:#010x} instead (align the section to {align})",
                table.address,
                table.words.len(),
                table.address & !(align - 1)
            ),
        ));
    }
    report.entries = entries;
}

pub(crate) fn severity_of(problem: &str) -> Severity {
    match problem {
        code::RESERVED_NONZERO => Severity::Warning,
        _ => Severity::Error,
    }
}

/// One sentence per problem of an entry; `whose` says which table ("the live table's ").
pub(crate) fn describe(e: &Entry, problem: &str, whose: &str) -> String {
    let what = format!("{whose}{} (entry {}) = {:#010x}", e.name, e.index, e.raw);
    let points = e.symbol.as_deref().map(|s| format!(" ({s})")).unwrap_or_default();
    match problem {
        code::MISSING_THUMB_BIT => format!(
            "{what}: bit 0 (Thumb) is clear{points}; taking {} faults with INVSTATE (HardFault; lockup for NMI/HardFault)",
            e.name
        ),
        code::OUTSIDE_CODE => format!(
            "{what}: {:#010x} is not in an executable section of the ELF{points}",
            e.target.unwrap_or(e.raw)
        ),
        code::NOT_FUNCTION_START => format!(
            "{what}: points inside a function ({}), not at its start: a stale table or a patched entry; the handler would start mid-function",
            e.symbol.as_deref().unwrap_or("code that no symbol marks")
        ),
        code::ZERO_HANDLER => format!("{what}: no handler; taking {} fetches its code from address 0", e.name),
        code::RESERVED_NONZERO => format!("{what}: a reserved entry should be 0{points}"),
        other => format!("{what}: {other}"),
    }
}

fn check_initial_sp(map: &CodeMap, table: &VectorTable, findings: &mut Vec<Finding>) {
    let Some(sp) = table.initial_sp() else { return };
    let image = map.image();
    // SP is decremented before the first push: the top of RAM (exclusive end) is valid.
    let in_ram = image.memory_regions().iter().any(|r| r.kind == RegionKind::Ram && sp > r.start && sp <= r.end);
    if !in_ram {
        let rams: Vec<String> = image
            .memory_regions()
            .iter()
            .filter(|r| r.kind == RegionKind::Ram)
            .map(|r| format!("{:#010x}..{:#010x}", r.start, r.end))
            .collect();
        findings.push(Finding::new(
            code::INITIAL_SP_OUTSIDE_RAM,
            Severity::Error,
            format!(
                "the initial SP (word 0) {sp:#010x} is outside RAM ({}): the first push after reset faults",
                if rams.is_empty() { "the ELF describes no RAM".to_string() } else { rams.join(", ") }
            ),
        ));
    }
    if sp % 8 != 0 {
        findings.push(Finding::new(
            code::INITIAL_SP_MISALIGNED,
            Severity::Error,
            format!(
                "the initial SP (word 0) {sp:#010x} is not 8-byte aligned (AAPCS): 64-bit and FP code misbehaves, exception entry pads every frame; use {:#010x}",
                sp & !7
            ),
        ));
    }
}

fn entry(map: &CodeMap, table: &VectorTable, index: u16, word: u32, opts: &Options) -> Entry {
    let n = ExceptionNumber(index);
    let (name, name_source) = match (index, n.irq()) {
        (0, _) => ("InitialSP".to_string(), "core"),
        (_, None) => (n.name(), "core"),
        (_, Some(irq)) => match opts.svd.as_ref().and_then(|s| s.name(irq)) {
            Some(name) => (name.to_string(), "svd"),
            None => irq_name_from_symbol(map, word).map_or((n.name(), "number"), |s| (s, "symbol")),
        },
    };
    let mut e = Entry { index, name, name_source, raw: word, target: None, symbol: None, status: Status::Ok, problems: Vec::new() };
    if index == 0 {
        e.status = Status::InitialSp;
        return e;
    }
    let reserved = n.is_reserved();
    if word == 0 {
        e.status = if reserved || index == 7 { Status::Reserved } else { Status::Unused };
        if matches!(index, 1..=3) {
            e.status = Status::Bad;
            e.problems.push(code::ZERO_HANDLER);
        }
        return e;
    }
    if index == 7 && table.words.len() >= 8 && table.words[..8].iter().fold(0u32, |a, w| a.wrapping_add(*w)) == 0 {
        e.status = Status::Checksum;
        return e;
    }
    let hint = (n.irq().is_none()).then(|| e.name.clone());
    let c = map.classify(word, hint.as_deref());
    e.target = Some(c.target);
    e.symbol = c.symbol;
    e.problems = c.problems;
    if reserved {
        e.problems.insert(0, code::RESERVED_NONZERO);
    }
    e.status = if !e.problems.is_empty() {
        Status::Bad
    } else if c.is_default {
        Status::DefaultHandler
    } else {
        Status::Ok
    };
    e
}

/// "TIM2_IRQHandler" -> "TIM2"; the default handler names nothing.
fn irq_name_from_symbol(map: &CodeMap, word: u32) -> Option<String> {
    if word == 0 || map.default_handler().is_some_and(|(a, _)| a == word & !1) {
        return None;
    }
    let name = map.name_at(word & !1, None)?;
    let short = ["_IRQHandler", "_Handler", "IRQHandler", "_IRQ", "_isr"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .unwrap_or(&name);
    // Rust paths: keep the last segment.
    Some(short.rsplit("::").next().unwrap_or(short).to_string())
}

fn default_share(map: &CodeMap, entries: &[Entry], findings: &mut Vec<Finding>) {
    let Some((address, name)) = map.default_handler() else { return };
    let defaulted = |e: &&Entry| e.status == Status::DefaultHandler;
    let core: Vec<&str> = entries.iter().filter(|e| e.index < 16).filter(defaulted).map(|e| e.name.as_str()).collect();
    let irqs: Vec<u16> = entries.iter().filter(|e| e.index >= 16).filter(defaulted).map(|e| e.index - 16).collect();
    if core.is_empty() && irqs.is_empty() {
        return;
    }
    let total_irqs = entries.iter().filter(|e| e.index >= 16).count();
    let mut msg = format!("{name} ({address:#010x}) handles");
    if !core.is_empty() {
        msg.push_str(&format!(" {}", core.join(", ")));
    }
    if !irqs.is_empty() {
        if !core.is_empty() {
            msg.push_str(" and");
        }
        msg.push_str(&format!(" {} of {total_irqs} IRQs (unhandled: {})", irqs.len(), ranges("IRQ", &irqs)));
    }
    msg.push_str(": such an exception, once taken, ends in the default handler");
    findings.push(Finding::new(code::DEFAULT_HANDLER_ENTRIES, Severity::Info, msg));
}
