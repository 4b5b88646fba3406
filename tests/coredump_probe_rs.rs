//! probe-rs coredumps as input: fixtures written by probe-rs' own `CoreDump::store`
//! (probe-rs 0.32, a dev-dependency) from the state of a lab scenario, then read by
//! `isrscope analyze`.
//!
//! - A full dump (registers, RAM, system blocks) gives the report of isrscope's own core
//!   of the same stop, all but the description and the stop reason (probe-rs keeps none).
//! - A RAM-only dump (what probe-rs users usually have) still gives the backtrace, and
//!   the report says what it could not read (the fault registers, the missing memory).
//! - A dump of another architecture is refused with a clear message.

mod common;

use std::path::Path;
use std::process::Command;

use common::manifest::{self, is_subsequence};
use common::probe_rs_dump::store_probe_rs;
use isrscope::coredump::{CoreDump, DumpFormat};
use probe_rs::CoreType;
use serde_json::Value;

fn isrscope() -> Command {
    Command::new(env!("CARGO_BIN_EXE_isrscope"))
}

/// `isrscope capture --qemu` at the scenario's fault, read back.
fn capture(s: &manifest::Scenario, core: &Path) -> Result<CoreDump, String> {
    let out = isrscope()
        .args(["capture", "--qemu", &s.machine, "--timeout", "20", "--elf"])
        .arg(s.elf_path())
        .arg("-o")
        .arg(core)
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(format!("capture: {}", String::from_utf8_lossy(&out.stderr)));
    }
    CoreDump::open(core).map_err(|e| e.to_string())
}

fn analyze(core: &Path, elf: &Path) -> (Option<i32>, Value, String) {
    let out = isrscope().args(["analyze", "--format", "json", "--elf"]).arg(elf).arg(core).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stderr}"));
    (out.status.code(), json, stderr)
}

#[test]
fn probe_rs_coredumps_analyse_like_isrscope_cores() {
    let s = manifest::load().into_iter().find(|s| s.name == "c-busfault").unwrap();
    let elf = s.elf_path();
    let dir = tempfile::tempdir().unwrap();
    let core = dir.path().join("bf.core");
    let ours = capture(&s, &core).unwrap();

    // Everything: the same report as from isrscope's core.
    let full = dir.path().join("full.probe-rs");
    store_probe_rs(&ours, &full, CoreType::Armv7em, |_| true);
    let parsed = CoreDump::open(&full).unwrap();
    assert_eq!(parsed.format, DumpFormat::ProbeRs);
    assert_eq!(parsed.meta.registers, ours.meta.registers, "every register survives the probe-rs numbering");
    assert_eq!(parsed.memory, ours.memory);
    let (code_a, mut a, _) = analyze(&core, &elf);
    let (code_b, mut b, _) = analyze(&full, &elf);
    assert_eq!(code_a, code_b);
    assert_eq!(b["target"]["description"].as_str().map(|d| d.contains("probe-rs coredump")), Some(true), "{}", b["target"]);
    for r in [&mut a, &mut b] {
        let t = r["target"].as_object_mut().unwrap();
        t.remove("description");
        t.remove("stop");
    }
    assert_eq!(a, b);

    // RAM only, as `probe-rs run` saves it: the backtrace, and what could not be read.
    let ram = dir.path().join("ram.probe-rs");
    store_probe_rs(&ours, &ram, CoreType::Armv7em, |a| (0x2000_0000..0x4000_0000).contains(&a));
    let (_, r, _) = analyze(&ram, &elf);
    assert_eq!(r["exception"]["name"], "BusFault", "from the registers alone");
    let names: Vec<String> = r["backtrace"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| if e["kind"] == "exception" { "<exception>".into() } else { e["function"].as_str().unwrap_or("??").to_string() })
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let wanted: Vec<&str> = s.backtrace.iter().map(String::as_str).collect();
    assert!(is_subsequence(&wanted, &names), "{names:?} lacks {wanted:?}");
    let codes: Vec<&str> = r["findings"].as_array().unwrap().iter().filter_map(|f| f["code"].as_str()).collect();
    assert!(codes.contains(&"scb-unreadable"), "{codes:?}");
    let missing = r["findings"].as_array().unwrap().iter().find(|f| f["code"] == "dump-missing-memory").expect("dump-missing-memory");
    assert!(missing["message"].as_str().unwrap().contains("0xe000ed00"), "{missing}");

    // Another architecture: refused, clearly.
    let riscv = dir.path().join("riscv.probe-rs");
    store_probe_rs(&ours, &riscv, CoreType::Riscv, |_| false);
    let out = isrscope().args(["analyze"]).arg(&riscv).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains("not a Cortex-M core dump") && err.contains("riscv"), "{err}");
}

/// The release-built, flash-at-0 samples (issue 14) through probe-rs' writer: the report
/// from the probe-rs dump equals the one from isrscope's core, and every frame's
/// file:line is the live line table's (gdb names discarded code on these).
#[test]
fn release_built_samples_analyse_the_same_from_probe_rs_dumps() {
    let dir = tempfile::tempdir().unwrap();
    let scenarios = manifest::load();
    let cases = [("c-gc-busfault", CoreType::Armv7m), ("rust-rel-svc-hardfault", CoreType::Armv7m), ("rust-rel-m0-noreturn", CoreType::Armv6m)];
    let failures = common::run_all(&cases, 3, |(name, core_type)| {
        let s = scenarios.iter().find(|s| s.name == *name).ok_or(format!("no scenario {name}"))?;
        let elf = s.elf_path();
        let core = dir.path().join(format!("{name}.core"));
        let ours = capture(s, &core).map_err(|e| format!("{name}: {e}"))?;
        let pr = dir.path().join(format!("{name}.probe-rs"));
        store_probe_rs(&ours, &pr, *core_type, |_| true);
        let (code_a, mut a, _) = analyze(&core, &elf);
        let (code_b, mut b, _) = analyze(&pr, &elf);
        for r in [&mut a, &mut b] {
            let t = r["target"].as_object_mut().unwrap();
            t.remove("description");
            t.remove("stop");
        }
        if code_a != code_b || a != b {
            return Err(format!("{name}: the probe-rs dump analyses differently:\n{a:#}\n{b:#}"));
        }
        common::dwarf::check_report_lines(&elf, &b).map_err(|e| format!("{name}: {e}"))?;
        let names: Vec<String> = b["backtrace"].as_array().unwrap().iter()
            .map(|e| if e["kind"] == "exception" { "<exception>".into() } else { e["function"].as_str().unwrap_or("??").replace("::<", "<") })
            .collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let wanted: Vec<&str> = s.backtrace.iter().map(String::as_str).collect();
        if !is_subsequence(&wanted, &names) {
            return Err(format!("{name}: {names:?} lacks {wanted:?}"));
        }
        Ok(())
    });
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
