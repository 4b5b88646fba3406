//! `isrscope vectors` end to end over the lab: the real binary on every sample, ELF-only
//! and live under QEMU, compared with the manifest (`expect_findings`,
//! `expect_live_findings`).
//!
//! "Exactly its expected findings" means: the set of codes of severity warning or error
//! equals the manifest's list. Info findings (the default handler's share, the boot
//! alias, a matching RAM copy) are context and not compared. The exit code is 3 exactly
//! when an error finding exists.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use common::lab::Qemu;
use common::manifest::{self, Scenario};
use common::oracle::{self, Probe};
use serde_json::Value;

fn isrscope() -> Command {
    Command::new(env!("CARGO_BIN_EXE_isrscope"))
}

/// Runs `vectors` with `extra` arguments; returns (exit code, JSON report).
fn vectors(s: &Scenario, extra: &[&str]) -> Result<(i32, Value), String> {
    let out = isrscope()
        .args(["vectors", "--format", "json", "--elf"])
        .arg(s.elf_path())
        .args(extra)
        .output()
        .map_err(|e| e.to_string())?;
    let code = out.status.code().unwrap_or(-1);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(&stdout).map_err(|e| {
        format!("{}: exit {code}, not JSON ({e}):\n{stdout}\n{}", s.name, String::from_utf8_lossy(&out.stderr))
    })?;
    Ok((code, json))
}

/// Codes of findings at warning or error severity.
fn notable(r: &Value) -> BTreeSet<String> {
    r["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["severity"] != "info")
        .map(|f| f["code"].as_str().unwrap_or("?").to_string())
        .collect()
}

fn has_error(r: &Value) -> bool {
    r["findings"].as_array().into_iter().flatten().any(|f| f["severity"] == "error")
}

fn check_exact(s: &Scenario, code: i32, r: &Value, want: &BTreeSet<String>, what: &str) -> Result<(), String> {
    let got = notable(r);
    if &got != want {
        return Err(format!("{} ({what}): findings {got:?}, manifest says {want:?}\n{}", s.name, serde_json::to_string_pretty(&r["findings"]).unwrap()));
    }
    let want_code = if has_error(r) { 3 } else { 0 };
    if code != want_code {
        return Err(format!("{} ({what}): exit {code}, expected {want_code}", s.name));
    }
    Ok(())
}

fn lab(kind_vectors: bool) -> Vec<Scenario> {
    manifest::load().into_iter().filter(|s| (s.kind == "vectors") == kind_vectors).collect()
}

#[test]
fn each_broken_vector_sample_shows_exactly_its_expected_findings_from_the_elf() {
    let failures = common::run_all(&lab(true), 2, |s| {
        let (code, r) = vectors(s, &[])?;
        let want: BTreeSet<String> = s.expect_findings.iter().cloned().collect();
        check_exact(s, code, &r, &want, "ELF only")?;
        if r["table"]["words"] != 98 {
            return Err(format!("{}: table of {} words, the STM32F407 table has 98", s.name, r["table"]["words"]));
        }
        Ok(())
    });
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_good_elf_of_the_lab_has_no_error_or_warning() {
    let mut seen = BTreeSet::new();
    let good: Vec<Scenario> = manifest::load()
        .into_iter()
        .filter(|s| s.expect_findings.is_empty() && seen.insert(s.elf.clone()))
        .collect();
    assert!(good.len() > 30, "the lab has fault, svc and break samples for every core");
    let failures = common::run_all(&good, 2, |s| {
        let (code, r) = vectors(s, &[])?;
        check_exact(s, code, &r, &BTreeSet::new(), "ELF only")?;
        // The table is found and every handler the samples define is a plain "ok".
        let entries = r["entries"].as_array().cloned().unwrap_or_default();
        if entries.len() < 16 || entries.iter().any(|e| e["status"] == "bad") {
            return Err(format!("{}: entries {entries:?}", s.name));
        }
        Ok(())
    });
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn live_checks_under_qemu_show_exactly_the_expected_static_and_live_findings() {
    let failures = common::run_all(&lab(true), 2, |s| {
        let (code, r) = vectors(s, &["--qemu", &s.machine, "--break-at", &s.stop_at, "--timeout", "20"])?;
        let want: BTreeSet<String> = s.expect_findings.iter().chain(&s.expect_live_findings).cloned().collect();
        check_exact(s, code, &r, &want, "live")?;
        let live = &r["live"];
        if live["flash"]["mode"] != "full" || live["flash"]["sections"].as_array().is_none_or(|v| v.is_empty()) {
            return Err(format!("{}: flash not compared in full: {}", s.name, live["flash"]));
        }
        if live["flash"]["compared_bytes"] != live["flash"]["total_bytes"] {
            return Err(format!("{}: flash compared {} of {}", s.name, live["flash"]["compared_bytes"], live["flash"]["total_bytes"]));
        }
        Ok(())
    });
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The RAM-relocated tables patched at run time: VTOR and the patched word agree with
/// gdb-multiarch's view of the same stop, and the difference names the handlers.
#[test]
fn a_ram_copy_patched_at_run_time_is_explained_entry_by_entry() {
    for s in lab(true).iter().filter(|s| s.name.ends_with("vtor-ram")) {
        let (_, r) = vectors(s, &["--qemu", &s.machine, "--break-at", &s.stop_at]).unwrap();
        let live = &r["live"];
        let qemu = Qemu::start(&s.machine, &s.elf_path());
        let view = oracle::stop_at(&qemu, &s.elf_path(), Some(&s.stop_at), &[Probe::Word("vtor", "0xE000ED08")]);
        assert_eq!(live["vtor"].as_u64(), Some(u64::from(view.word("vtor"))), "{}: VTOR as gdb reads it", s.name);
        assert_eq!(live["placement"]["kind"], "ram-copy", "{}", s.name);
        let diffs = live["differences"].as_array().unwrap();
        assert_eq!(diffs.len(), 1, "{}: {diffs:?}", s.name);
        let d = &diffs[0];
        if s.family == "c" {
            assert_eq!(d["index"], 15);
            assert_eq!(d["name"], "SysTick");
            assert_eq!(d["elf_symbol"], "Default_Handler");
            assert_eq!(d["live_symbol"], "Patched_SysTick_Handler");
            assert_eq!(live["placement"]["symbol"], "ram_vectors");
        } else {
            assert_eq!(d["index"], 5);
            assert_eq!(d["name"], "BusFault");
            assert_eq!(d["live"].as_u64(), d["elf"].as_u64().map(|w| w & !1));
            assert_eq!(d["live_problems"], serde_json::json!(["vector-missing-thumb-bit"]));
            assert_eq!(live["placement"]["symbol"], "RAM_VECTORS");
        }
        let mismatch = r["findings"].as_array().unwrap().iter().find(|f| f["code"] == "vector-table-mismatch").unwrap();
        assert_eq!(mismatch["severity"], "warning", "a patched RAM copy is legitimate, its wrong words are the errors");
    }
}

/// Every other lab scenario, halted where the manifest stops it (in a fault handler, an
/// ISR, the SVC handler), has a consistent vector state: no error.
#[test]
fn live_checks_at_every_fault_and_isr_stop_report_no_error() {
    // rust-vtor-ram-invstate runs the vtor-ram firmware on into its fault: its RAM table
    // keeps the broken word, and the live check rightly reports it (tested above).
    let broken_live: BTreeSet<String> =
        lab(true).into_iter().filter(|s| !s.expect_live_findings.is_empty()).map(|s| s.elf).collect();
    let scenarios: Vec<Scenario> = lab(false).into_iter().filter(|s| !broken_live.contains(&s.elf)).collect();
    let failures = common::run_all(&scenarios, 2, |s| {
        let (code, r) = vectors(s, &["--qemu", &s.machine, "--break-at", &s.stop_at, "--timeout", "20"])?;
        if has_error(&r) || code != 0 {
            return Err(format!("{}: exit {code}\n{}", s.name, serde_json::to_string_pretty(&r["findings"]).unwrap()));
        }
        let flash_ok = r["live"]["flash"]["sections"].as_array().is_some_and(|v| v.iter().all(|s| s["first_difference"].is_null()));
        if !flash_ok {
            return Err(format!("{}: flash differs: {}", s.name, r["live"]["flash"]));
        }
        Ok(())
    });
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
