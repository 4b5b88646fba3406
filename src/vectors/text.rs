//! The human rendering of a [`VectorReport`]: the table (runs of IRQs that share the
//! default handler folded into one line), the live comparison, the findings.

use std::fmt::Write;

use crate::report::Severity;

use super::flash::FlashMode;
use super::{Entry, Status, VectorReport};

fn status_word(e: &Entry) -> String {
    match e.status {
        Status::InitialSp => "initial SP".into(),
        Status::Ok => "ok".into(),
        Status::DefaultHandler => "default handler".into(),
        Status::Reserved => "reserved".into(),
        Status::Unused => "unused (0)".into(),
        Status::Checksum => "checksum".into(),
        Status::Bad => format!("BAD: {}", e.problems.join(", ")),
    }
}

fn paint(color: bool, code: &str, s: &str) -> String {
    if color { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_string() }
}

pub fn render(report: &VectorReport, color: bool) -> String {
    let mut out = String::new();
    let o = &mut out;
    let errors = report.findings.iter().filter(|f| f.severity == Severity::Error).count();
    let warnings = report.findings.iter().filter(|f| f.severity == Severity::Warning).count();
    let headline = if errors > 0 {
        paint(color, "1;31", &format!("Vector table: {errors} error(s), {warnings} warning(s)"))
    } else if warnings > 0 {
        paint(color, "33", &format!("Vector table: no errors, {warnings} warning(s)"))
    } else {
        paint(color, "1", "Vector table: no errors")
    };
    let _ = writeln!(o, "{headline}\n");
    if let Some(elf) = &report.elf {
        let _ = writeln!(o, "ELF:      {elf}");
    }
    if let Some(t) = &report.table {
        let _ = writeln!(
            o,
            "Table:    {:#010x}, {} entries ({} bytes{}), found by {}; VTOR alignment needed: {}",
            t.address,
            t.words,
            t.words * 4,
            match t.size_source {
                "svd" => ", size from the SVD",
                "inferred" => ", size inferred",
                _ => "",
            },
            t.found_by,
            t.required_alignment
        );
        if let Some(d) = &t.default_handler {
            let _ = writeln!(o, "Default:  {} at {:#010x}", d.symbol, d.address);
        }
    }
    if !report.entries.is_empty() {
        let _ = writeln!(o, "\n{:>5}  {:<22} {:<10}  {:<10}  {:<32} status", "index", "name", "raw", "target", "symbol");
        let mut i = 0;
        let entries = &report.entries;
        while i < entries.len() {
            let e = &entries[i];
            // Fold a run of 3+ IRQs that all go to the default handler.
            let mut j = i;
            while j + 1 < entries.len()
                && e.index >= 16
                && e.status == Status::DefaultHandler
                && entries[j + 1].status == Status::DefaultHandler
                && entries[j + 1].raw == e.raw
            {
                j += 1;
            }
            if j - i >= 2 {
                let name = format!("IRQ{}..IRQ{}", e.index - 16, entries[j].index - 16);
                let _ = writeln!(
                    o,
                    "{:>5}  {:<22} {:#010x}  {:<10}  {:<32} default handler ({} entries)",
                    format!("{}-{}", e.index, entries[j].index),
                    name,
                    e.raw,
                    e.target.map(|t| format!("{t:#010x}")).unwrap_or_default(),
                    e.symbol.as_deref().unwrap_or(""),
                    j - i + 1
                );
                i = j + 1;
                continue;
            }
            let status = status_word(e);
            let status = if e.status == Status::Bad { paint(color, "1;31", &status) } else { status };
            let _ = writeln!(
                o,
                "{:>5}  {:<22} {:#010x}  {:<10}  {:<32} {status}",
                e.index,
                e.name,
                e.raw,
                e.target.map(|t| format!("{t:#010x}")).unwrap_or_else(|| "-".into()),
                e.symbol.as_deref().unwrap_or("-"),
            );
            i += 1;
        }
    }
    if let Some(l) = &report.live {
        let _ = writeln!(o, "\nLive:     {}{}", l.target, l.core.as_deref().map(|c| format!(", {c}")).unwrap_or_default());
        if let Some(f) = &l.flash {
            let how = if f.mode == FlashMode::Sample { "sampled" } else { "full" };
            let bad = f.mismatched().count();
            // A section that could not be read was not compared: never call it a match.
            let unread = f.sections.iter().filter(|s| s.unreadable.is_some()).count();
            let _ = writeln!(
                o,
                "Flash:    {how} comparison, {} of {} bytes in {} section(s): {}",
                f.compared_bytes,
                f.total_bytes,
                f.sections.len(),
                match (bad, unread) {
                    (0, 0) => "matches the ELF".to_string(),
                    (0, u) => format!("{u} section(s) could not be read (see the findings)"),
                    (b, 0) => format!("{b} section(s) differ"),
                    (b, u) => format!("{b} section(s) differ, {u} could not be read"),
                }
            );
        }
        if let Some(v) = &l.verdict {
            let _ = writeln!(o, "VTOR:     {}", v.strip_prefix("VTOR = ").unwrap_or(v));
        }
        for d in &l.differences {
            let _ = writeln!(
                o,
                "  differs: {:>3} {:<18} ELF {:#010x} {:<24} target {:#010x} {}{}",
                d.index,
                d.name,
                d.elf,
                d.elf_symbol.as_deref().unwrap_or("-"),
                d.live,
                d.live_symbol.as_deref().unwrap_or("-"),
                if d.live_problems.is_empty() { String::new() } else { format!("  BAD: {}", d.live_problems.join(", ")) }
            );
        }
        if let Some(m) = &l.masks {
            let _ = writeln!(o, "Masks:    PRIMASK {} FAULTMASK {} BASEPRI {:#04x}", m.primask as u8, m.faultmask as u8, m.basepri);
        }
        // IRQ states need both the NVIC and the SCB (live.rs names the failed reads).
        let irqs_unknown = l.unreadable.iter().any(|u| u.starts_with("NVIC") || u.starts_with("SCB"));
        if l.irqs.is_empty() && irqs_unknown {
            let _ = writeln!(o, "IRQs:     unknown (the NVIC or SCB could not be read; see the findings)");
        } else if l.irqs.is_empty() {
            let _ = writeln!(o, "IRQs:     none enabled, pending or active");
        }
        for q in &l.irqs {
            let mut flags = Vec::new();
            if q.enabled {
                flags.push("enabled");
            }
            if q.pending {
                flags.push("pending");
            }
            if q.active == Some(true) {
                flags.push("active");
            }
            let _ = writeln!(
                o,
                "  IRQ{:<3} {:<20} {:<24} priority {:#04x} -> {}{}",
                q.irq,
                q.name,
                flags.join(", "),
                q.priority,
                q.handler.as_deref().unwrap_or("0"),
                if q.vector_ok { "" } else { "  (not a handler of its own)" }
            );
        }
    }
    if !report.findings.is_empty() {
        let _ = writeln!(o, "\nFindings");
        for f in &report.findings {
            let tag = match f.severity {
                Severity::Error => paint(color, "1;31", "error  "),
                Severity::Warning => paint(color, "33", "warning"),
                Severity::Info => paint(color, "2", "info   "),
            };
            let _ = writeln!(o, "  {tag} [{}] {}", f.code, f.message);
        }
    }
    out
}
