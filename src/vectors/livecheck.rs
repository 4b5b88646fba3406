//! The target's state explained against the ELF: where VTOR points and how the table
//! there differs, whether flash holds this ELF, and which enabled or pending IRQs
//! would end badly. Pure: it takes [`LiveData`] as read.

use serde::Serialize;

use crate::debuginfo::{RegionKind, VectorTable};
use crate::model::arch::{CpuId, Profile};
use crate::model::exception::ExceptionNumber;
use crate::model::interrupts::{self, BlockReason, InterruptInput};
use crate::model::nvic::Masks;
use crate::report::{Finding, Severity};

use super::codemap::CodeMap;
use super::flash::FlashCheck;
use super::live::LiveData;
use super::statics::{describe, severity_of};
use super::{Entry, Status, VectorReport, code, required_alignment};

/// What VTOR points at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Placement {
    /// The ELF's own table, at its link address.
    ElfTable,
    /// VTOR = 0 while the ELF's table is elsewhere: the boot alias at address 0
    /// (STM32: flash 0x08000000, system memory or SRAM, by the BOOT pins).
    BootAlias,
    /// A copy in RAM (`symbol`: the object that holds it, when the ELF names it).
    RamCopy { symbol: Option<String> },
    /// Somewhere else: another image's table (a bootloader's), or garbage.
    Elsewhere { symbol: Option<String> },
}

/// One word where the table at VTOR differs from the ELF's.
#[derive(Clone, Debug, Serialize)]
pub struct Difference {
    pub index: u16,
    pub name: String,
    pub elf: u32,
    pub live: u32,
    pub elf_symbol: Option<String>,
    pub live_symbol: Option<String>,
    /// Finding codes of what is wrong with the live word.
    pub live_problems: Vec<&'static str>,
}

/// An IRQ the NVIC has enabled, pending or active.
#[derive(Clone, Debug, Serialize)]
pub struct LiveIrq {
    pub irq: u16,
    pub name: String,
    pub enabled: bool,
    pub pending: bool,
    pub active: Option<bool>,
    pub priority: u8,
    /// The handler the live table gives it.
    pub handler: Option<String>,
    pub vector_ok: bool,
}

/// The live half of the report.
#[derive(Clone, Debug, Serialize)]
pub struct LiveSummary {
    pub target: String,
    /// From CPUID, e.g. "Cortex-M4 r0p1 (ARMv7-M)".
    pub core: Option<String>,
    pub vtor: Option<u32>,
    pub placement: Option<Placement>,
    /// In words: what VTOR points at and how it compares.
    pub verdict: Option<String>,
    pub differences: Vec<Difference>,
    pub masks: Option<Masks>,
    pub irqs: Vec<LiveIrq>,
    pub flash: Option<FlashCheck>,
    /// Reads that failed.
    pub unreadable: Vec<String>,
}

pub fn check(map: &CodeMap, table: &VectorTable, live: &LiveData, report: &mut VectorReport) {
    let mut summary = LiveSummary {
        target: live.description.clone(),
        core: live.scb.map(|s| CpuId::decode(s.cpuid).to_string()),
        vtor: live.scb.map(|s| s.vtor),
        placement: None,
        verdict: None,
        differences: Vec::new(),
        masks: live.masks,
        irqs: Vec::new(),
        flash: live.flash.clone(),
        unreadable: live.unreadable.clone(),
    };
    let findings = &mut report.findings;
    if !live.unreadable.is_empty() {
        findings.push(Finding::new(
            code::LIVE_UNREADABLE,
            Severity::Warning,
            format!("part of the target's state could not be read: {}", live.unreadable.join("; ")),
        ));
    }
    // Flash first: when it holds another build, everything else is read against the wrong ELF.
    if let Some(flash) = &live.flash {
        check_flash(flash, findings);
    }
    if let (Some(scb), Some(words)) = (live.scb, live.table.as_deref()) {
        check_table(map, table, &report.entries, scb.vtor, words, &mut summary, findings);
    } else if let (Some(scb), Some(e)) = (live.scb, &live.table_error) {
        let verdict = format!("VTOR = {:#010x}: the table there cannot be read ({e}): the next exception fetches its vector from unreadable memory and locks up the core", scb.vtor);
        findings.push(Finding::new(code::TABLE_MISMATCH, Severity::Error, verdict.clone()));
        summary.verdict = Some(verdict);
    }
    check_irqs(map, table, &report.entries, live, &mut summary, findings);
    super::rtos::check(map, live, &summary.irqs, findings);
    report.live = Some(summary);
}

fn check_table(
    map: &CodeMap,
    table: &VectorTable,
    entries: &[Entry],
    vtor: u32,
    words: &[u32],
    summary: &mut LiveSummary,
    findings: &mut Vec<Finding>,
) {
    let placement = if vtor == table.address {
        Placement::ElfTable
    } else if vtor == 0 {
        Placement::BootAlias
    } else if map.is_ram(vtor) {
        Placement::RamCopy { symbol: map.object_at(vtor).map(|s| s.demangled.clone()) }
    } else {
        Placement::Elsewhere { symbol: map.object_at(vtor).map(|s| s.demangled.clone()) }
    };
    let name_of = |i: usize| entries.get(i).map_or_else(|| ExceptionNumber(i as u16).name(), |e| e.name.clone());
    let mut diffs = Vec::new();
    for (i, (&elf, &got)) in table.words.iter().zip(words).enumerate() {
        if elf == got {
            continue;
        }
        let (live_symbol, live_problems) = if i == 0 || got == 0 {
            (None, Vec::new())
        } else {
            let c = map.classify(got, None);
            (c.symbol, c.problems)
        };
        diffs.push(Difference {
            index: i as u16,
            name: name_of(i),
            elf,
            live: got,
            elf_symbol: entries.get(i).and_then(|e| e.symbol.clone()),
            live_symbol,
            live_problems,
        });
    }
    let elf_at = format!("the ELF's table at {:#010x}", table.address);
    let (verdict, severity) = match (&placement, diffs.is_empty()) {
        (Placement::ElfTable, true) => (format!("VTOR = {vtor:#010x}: {elf_at}, identical"), None),
        (Placement::BootAlias, true) => (
            format!("VTOR = 0: the boot alias at address 0 maps {elf_at} (identical), as STM32 parts map flash at 0 when booting from it"),
            Some((code::VTOR_BOOT_ALIAS, Severity::Info)),
        ),
        (Placement::RamCopy { symbol }, true) => (
            format!("VTOR = {vtor:#010x}: a RAM copy{} identical to {elf_at}", named(symbol)),
            Some((code::TABLE_RELOCATED, Severity::Info)),
        ),
        (Placement::Elsewhere { symbol }, true) => (
            format!("VTOR = {vtor:#010x}{}: identical to {elf_at} (an alias of it)", named(symbol)),
            Some((code::TABLE_RELOCATED, Severity::Info)),
        ),
        (Placement::ElfTable, false) if map.is_ram(vtor) => (
            format!("VTOR = {vtor:#010x}: {elf_at}, which lives in RAM and was changed at run time"),
            Some((code::TABLE_MISMATCH, Severity::Warning)),
        ),
        (Placement::ElfTable, false) => (
            format!("VTOR = {vtor:#010x}: {elf_at}, but the target holds different words there: the flash holds another build (stale flash, or the wrong ELF)"),
            Some((code::TABLE_MISMATCH, Severity::Error)),
        ),
        (Placement::BootAlias, false) => {
            let flash_start = map.image().memory_regions().iter().filter(|r| r.kind == RegionKind::Flash).map(|r| r.start).min();
            let why = if flash_start == Some(table.address) {
                "the boot alias at 0 does not show this ELF: stale flash, or the chip boots from system memory or SRAM (BOOT pins)"
            } else {
                "the table in use is the one at address 0, not the ELF's (linked elsewhere): the application never set VTOR (SystemInit, VECT_TAB_OFFSET), or a bootloader's table is active"
            };
            (format!("VTOR = 0 while {elf_at}: {why}"), Some((code::TABLE_MISMATCH, Severity::Error)))
        }
        (Placement::RamCopy { symbol }, false) => (
            format!("VTOR = {vtor:#010x}: a RAM copy{} of {elf_at}, patched at run time", named(symbol)),
            Some((code::TABLE_MISMATCH, Severity::Warning)),
        ),
        (Placement::Elsewhere { symbol }, false) => (
            format!("VTOR = {vtor:#010x}{}: not the ELF's table and not RAM: VTOR points somewhere unexpected (another image's table?)", named(symbol)),
            Some((code::TABLE_MISMATCH, Severity::Error)),
        ),
    };
    if let Some((code, severity)) = severity {
        let mut msg = verdict.clone();
        if !diffs.is_empty() {
            let list: Vec<String> = diffs.iter().take(8).map(describe_difference).collect();
            msg.push_str(&format!("; {} of {} entries differ: {}", diffs.len(), table.words.len(), list.join("; ")));
            if diffs.len() > 8 {
                msg.push_str("; ...");
            }
        }
        findings.push(Finding::new(code, severity, msg));
    }
    // What is wrong with a word that only the live table has.
    for d in &diffs {
        for &p in &d.live_problems {
            let e = Entry {
                index: d.index,
                name: d.name.clone(),
                name_source: "core",
                raw: d.live,
                target: Some(d.live & !1),
                symbol: d.live_symbol.clone(),
                status: Status::Bad,
                problems: vec![p],
            };
            findings.push(Finding::new(p, severity_of(p), describe(&e, p, &format!("the live table at VTOR {vtor:#010x}: "))));
        }
    }
    let align = required_alignment(table.words.len());
    if vtor % align != 0 {
        findings.push(Finding::new(
            code::VTOR_MISALIGNED,
            Severity::Error,
            format!(
                "VTOR = {vtor:#010x} is not {align}-byte aligned (a {}-entry table): the core ignores the low bits and fetches vectors from {:#010x}",
                table.words.len(),
                vtor & !(align - 1)
            ),
        ));
    }
    summary.placement = Some(placement);
    summary.verdict = Some(verdict);
    summary.differences = diffs;
}

fn named(symbol: &Option<String>) -> String {
    symbol.as_deref().map(|s| format!(" ({s})")).unwrap_or_default()
}

fn describe_difference(d: &Difference) -> String {
    let sym = |s: &Option<String>| s.as_deref().map(|s| format!(" {s}")).unwrap_or_default();
    format!(
        "{} (entry {}): ELF {:#010x}{} -> target {:#010x}{}",
        d.name,
        d.index,
        d.elf,
        sym(&d.elf_symbol),
        d.live,
        sym(&d.live_symbol)
    )
}

fn check_flash(flash: &FlashCheck, findings: &mut Vec<Finding>) {
    let how = match flash.mode {
        super::flash::FlashMode::Sample => "sampled",
        _ => "compared in full",
    };
    let bad: Vec<String> = flash
        .mismatched()
        .map(|s| {
            format!(
                "{} differs at {:#010x} ({} of {} compared bytes; CRC-32 ELF {:#010x}, target {:#010x})",
                s.name,
                s.first_difference.unwrap_or(s.load_address),
                s.differing_bytes,
                s.compared,
                s.crc_elf,
                s.crc_target
            )
        })
        .collect();
    if !bad.is_empty() {
        findings.push(Finding::new(
            code::FLASH_MISMATCH,
            Severity::Error,
            format!(
                "the ELF does not match what is flashed ({how}, {} of {} bytes): {}. Symbols, backtraces and this table's checks describe another build: flash this ELF or give the one that was flashed",
                flash.compared_bytes,
                flash.total_bytes,
                bad.join("; ")
            ),
        ));
    }
    let unreadable: Vec<String> =
        flash.sections.iter().filter_map(|s| s.unreadable.as_ref().map(|u| format!("{}: {u}", s.name))).collect();
    if !unreadable.is_empty() {
        findings.push(Finding::new(
            code::FLASH_UNREADABLE,
            Severity::Warning,
            format!("part of the ELF's flash contents could not be read back: {}", unreadable.join("; ")),
        ));
    }
}

fn check_irqs(
    map: &CodeMap,
    table: &VectorTable,
    entries: &[Entry],
    live: &LiveData,
    summary: &mut LiveSummary,
    findings: &mut Vec<Finding>,
) {
    let (Some(nvic), Some(scb)) = (&live.nvic, live.scb) else { return };
    let words = live.table.as_deref().unwrap_or(&table.words);
    let profile = live.profile().unwrap_or(Profile::V7M);
    let analysis = interrupts::analyze(&InterruptInput {
        profile,
        icsr: scb.icsr,
        prigroup: ((scb.aircr >> 8) & 7) as u8,
        shpr: scb.shpr,
        shcsr: profile.has_configurable_faults().then_some(scb.shcsr),
        masks: live.masks.unwrap_or_default(),
        nvic: nvic.clone(),
        irq_count: live.irq_count,
        ipsr: live.ipsr,
    });
    for s in analysis.irqs.iter().filter(|s| s.enabled || s.pending || s.active == Some(true)) {
        let index = 16 + usize::from(s.irq);
        let name = entries.get(index).map_or_else(|| format!("IRQ{}", s.irq), |e| e.name.clone());
        let word = words.get(index).copied().unwrap_or(0);
        let c = (word != 0).then(|| map.classify(word, None));
        let handler = c.as_ref().and_then(|c| c.symbol.clone());
        let vector_ok = c.as_ref().is_some_and(|c| c.problems.is_empty() && !c.is_default);
        if s.enabled {
            let irq_n = format!("IRQ{}", s.irq);
            let at = if name == irq_n {
                format!("{name} (entry {index}) is enabled in the NVIC")
            } else {
                format!("{name} ({irq_n}, entry {index}) is enabled in the NVIC")
            };
            match &c {
                None => findings.push(Finding::new(
                    code::IRQ_ENABLED_BAD_VECTOR,
                    Severity::Error,
                    format!("{at} but its vector is 0: taking it fetches code from address 0"),
                )),
                Some(c) if !c.problems.is_empty() => findings.push(Finding::new(
                    code::IRQ_ENABLED_BAD_VECTOR,
                    Severity::Error,
                    format!("{at} but its vector {word:#010x}{} is not a valid handler ({})", named(&c.symbol), c.problems.join(", ")),
                )),
                Some(c) if c.is_default => findings.push(Finding::new(
                    code::IRQ_ENABLED_DEFAULT,
                    Severity::Error,
                    format!(
                        "{at} but its vector goes to the default handler{}: when it fires the firmware ends there (define its handler, or leave it disabled)",
                        named(&c.symbol)
                    ),
                )),
                _ => {}
            }
        }
        summary.irqs.push(LiveIrq {
            irq: s.irq,
            name,
            enabled: s.enabled,
            pending: s.pending,
            active: s.active,
            priority: s.priority,
            handler,
            vector_ok,
        });
    }
    for p in analysis.pending.iter().filter(|p| p.exception.irq().is_some()) {
        let name = entries.get(usize::from(p.exception.0)).map_or_else(|| p.exception.name(), |e| e.name.clone());
        let masked = p.blocked_by.iter().any(|b| matches!(b, BlockReason::PriMask | BlockReason::FaultMask | BlockReason::BasePri { .. }));
        let disabled = p.blocked_by.contains(&BlockReason::Disabled);
        let why: Vec<String> = p.blocked_by.iter().map(ToString::to_string).collect();
        if disabled {
            findings.push(Finding::new(
                code::IRQ_PENDING_DISABLED,
                Severity::Info,
                format!("{name} is pending but disabled: it is taken only once enabled"),
            ));
        } else if !why.is_empty() {
            findings.push(Finding::new(
                code::IRQ_PENDING_BLOCKED,
                if masked { Severity::Warning } else { Severity::Info },
                format!("{name} (priority {}) is pending and enabled but cannot be taken: {}", p.priority, why.join("; ")),
            ));
        }
    }
}

