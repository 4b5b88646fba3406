//! A dump to a [`Report`]: the same `report::collect` as live, on a [`CoreDumpTarget`],
//! plus what only a dump can get wrong: the wrong firmware, memory it lacks.

use crate::debuginfo::Image;
use crate::report::{self, CollectOptions, Finding, Report, Severity};
use crate::target::TargetError;

use super::meta::ElfIdentity;
use super::{CoreDump, CoreDumpTarget, Span};

/// Analyses `dump` (called `name` in the report) with `image`, whose identity is
/// `elf` (for the mismatch check). Findings added to the live report's:
/// `elf-mismatch` (warning), `dump-missing-memory` (warning: reads the dump could not
/// answer, so parts of the report are missing), `dump-note` (info: the reader's remarks).
pub fn analyze(dump: CoreDump, name: &str, image: Option<&Image>, elf: Option<&ElfIdentity>) -> Result<Report, TargetError> {
    let mismatch = match (&dump.meta.elf, elf) {
        (Some(captured), Some(given)) => captured.mismatch(given),
        _ => None,
    };
    let opts = CollectOptions {
        stop: dump.meta.stop.as_ref().map(Into::into),
        locked_up: dump.meta.locked_up,
        preface: dump.meta.preface.clone(),
        // The same registers inspect's live report reads, so the JSON is the same.
        all_registers: false,
    };
    let warnings = dump.warnings.clone();
    let mut target = CoreDumpTarget::new(dump, name);
    let mut report = report::collect(&mut target, image, &opts)?;
    if let Some(why) = mismatch {
        report.findings.insert(
            0,
            Finding::new(
                "elf-mismatch",
                Severity::Warning,
                format!("the ELF does not match the firmware the dump was taken from ({why}): symbols, lines and the backtrace may be wrong"),
            ),
        );
    }
    let missing = target.missing();
    if !missing.is_empty() {
        report.findings.push(Finding::new("dump-missing-memory", Severity::Warning, describe_missing(&missing)));
    }
    for w in warnings {
        report.findings.push(Finding::new("dump-note", Severity::Info, w));
    }
    Ok(report)
}

fn describe_missing(spans: &[Span]) -> String {
    let shown: Vec<String> = spans
        .iter()
        .take(6)
        .map(|s| format!("{:#010x}..{:#010x}", s.start, s.end()))
        .collect();
    let more = spans.len().saturating_sub(shown.len());
    let total: u64 = spans.iter().map(|s| u64::from(s.len)).sum();
    format!(
        "the analysis needed memory the dump does not hold ({total} bytes: {}{}): what depends on it is missing from this report",
        shown.join(", "),
        if more > 0 { format!(" and {more} more") } else { String::new() }
    )
}
