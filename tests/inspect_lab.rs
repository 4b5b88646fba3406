//! `isrscope inspect` end to end: the real binary against every lab scenario under
//! QEMU, checked against the manifest and against gdb-multiarch's view of the same stop.

mod common;

use std::process::Command;

use common::lab::Qemu;
use common::manifest::{self, Scenario, is_subsequence};
use common::oracle;
use serde_json::Value;

fn isrscope() -> Command {
    Command::new(env!("CARGO_BIN_EXE_isrscope"))
}

/// Runs `inspect --qemu` on the scenario and returns (exit code, JSON report).
fn inspect(s: &Scenario) -> Result<(i32, Value), String> {
    let mut cmd = isrscope();
    cmd.args(["inspect", "--qemu", &s.machine, "--format", "json", "--timeout", "20", "--elf"]).arg(s.elf_path());
    if s.kind != "fault" {
        cmd.args(["--break-at", &s.stop_at, "--no-catch"]);
    }
    let out = cmd.output().map_err(|e| e.to_string())?;
    let code = out.status.code().unwrap_or(-1);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json: Value = serde_json::from_str(&stdout).map_err(|e| {
        format!("{}: exit {code}, not JSON ({e}):\n{stdout}\n{}", s.name, String::from_utf8_lossy(&out.stderr))
    })?;
    Ok((code, json))
}

/// Rust generics print as `f::<u32>` (rustc-demangle) or `f<u32>` (DWARF, gdb): compare
/// them in one spelling.
fn normalize(name: &str) -> String {
    name.replace("::<", "<")
}

/// The backtrace in the manifest's notation: function names, "<exception>" at entries.
fn names(report: &Value) -> Vec<String> {
    report["backtrace"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| match e["kind"].as_str() {
            Some("exception") => "<exception>".to_string(),
            _ => normalize(e["function"].as_str().unwrap_or("??")),
        })
        .collect()
}

fn expected_exit(exception: &str, hardfault_forced: bool) -> i32 {
    match exception {
        "HardFault" => 10,
        "MemManage" => 11,
        "BusFault" => 12,
        "UsageFault" => 13,
        "SecureFault" => 14,
        _ if hardfault_forced => 10,
        _ => 0,
    }
}

fn check(s: &Scenario) -> Result<(), String> {
    let (code, r) = inspect(s)?;
    let fail = |msg: String| Err(format!("{}: {msg}\n{}", s.name, serde_json::to_string_pretty(&r).unwrap()));
    let exc = r["exception"]["name"].as_str().unwrap_or("thread");
    let expected = s.inspect_exception.as_deref().or(s.exception.as_deref());
    if Some(exc) != expected {
        return fail(format!("exception {exc}, manifest says {expected:?}"));
    }
    let want_exit = expected_exit(exc, false);
    if code != want_exit {
        return fail(format!("exit code {code}, expected {want_exit}"));
    }
    let causes: Vec<&str> =
        r["fault"]["causes"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    for bit in s.cfsr.iter().chain(&s.hfsr) {
        if s.kind == "fault" && s.inspect_exception.is_none() && !causes.contains(&bit.as_str()) {
            return fail(format!("cause {bit} missing from {causes:?}"));
        }
    }
    if let (Some(bfar), Some(got)) = (s.bfar, r["fault"]["bfar"].as_u64()) {
        if got != u64::from(bfar) {
            return fail(format!("bfar {got:#x}, expected {bfar:#x}"));
        }
    }
    let overflow = s.cfsr.iter().any(|b| b == "STKERR" || b == "MSTKERR");
    if overflow {
        let findings: Vec<&str> =
            r["findings"].as_array().into_iter().flatten().filter_map(|f| f["code"].as_str()).collect();
        if !findings.contains(&"stack-overflow") {
            return fail(format!("no stack-overflow finding in {findings:?}"));
        }
    }
    if s.inspect_exception.is_some() {
        // isrscope stops earlier than gdb's break point (see the manifest's notes).
        return Ok(());
    }
    let got = names(&r);
    let got_refs: Vec<&str> = got.iter().map(String::as_str).collect();
    let wanted: Vec<&str> = s.backtrace.iter().map(String::as_str).collect();
    if !is_subsequence(&wanted, &got_refs) || got_refs.first() != wanted.first() {
        return fail(format!("backtrace {got:?} does not hold {wanted:?}"));
    }
    // Every function gdb-multiarch shows, isrscope shows too, in the same order.
    let qemu = Qemu::start(&s.machine, &s.elf_path());
    let view = oracle::stop_at(&qemu, &s.elf_path(), Some(&s.stop_at), &[]);
    let gdb: Vec<String> = view.functions().iter().map(|f| normalize(f)).collect();
    let gdb: Vec<&str> = gdb.iter().map(String::as_str).collect();
    // Where the manifest says gdb cannot unwind (stack overflow), it shows garbage: the
    // architecture, not gdb, is the reference there (checked above through the manifest).
    if !s.gdb_backtrace.is_empty() && !is_subsequence(&gdb, &got_refs) {
        return fail(format!("gdb-multiarch shows {gdb:?}, isrscope {got:?}"));
    }
    // The innermost exception frame agrees with the registers gdb read at the stop.
    if (s.kind == "fault" || s.kind == "svc") && !overflow {
        let frames = r["exception_frames"].as_array().cloned().unwrap_or_default();
        let Some(f0) = frames.first() else { return fail("no exception frame".into()) };
        if f0["exc_return"].as_u64() != Some(u64::from(view.reg("lr"))) {
            return fail(format!("exc_return {}, gdb lr {:#x}", f0["exc_return"], view.reg("lr")));
        }
        if f0["extended"].as_bool() != Some(s.extended_frame) {
            return fail(format!("extended {}, manifest {}", f0["extended"], s.extended_frame));
        }
        let stack = s.stack.as_deref().unwrap_or("msp");
        if f0["stack"].as_str() != Some(stack) {
            return fail(format!("stack {}, manifest {stack}", f0["stack"]));
        }
        let sp = view.reg(stack);
        if f0["address"].as_u64() != Some(u64::from(sp)) {
            return fail(format!("frame address {}, gdb {stack} {sp:#x}", f0["address"]));
        }
        if s.lazy_fp {
            let fp = &f0["fp"];
            if fp["source"] != "registers" {
                return fail(format!("lazy FP frame read from {}, not the live registers", fp["source"]));
            }
            for (i, v) in s.fp_values.iter().enumerate() {
                if fp[format!("s{i}")].as_u64() != Some(u64::from(v.to_bits())) {
                    return fail(format!("s{i} = {}, expected {v}", fp[format!("s{i}")]));
                }
            }
        }
    }
    for reg in ["r0", "r1", "r2", "r3", "r12", "sp", "lr", "pc", "xpsr", "msp", "psp"] {
        if r["registers"][reg].as_u64() != Some(u64::from(view.reg(reg))) {
            return fail(format!("{reg} = {}, gdb says {:#x}", r["registers"][reg], view.reg(reg)));
        }
    }
    Ok(())
}

#[test]
fn inspect_reports_every_lab_scenario_as_the_manifest_and_gdb_say() {
    let scenarios: Vec<Scenario> =
        manifest::load().into_iter().filter(|s| matches!(s.kind.as_str(), "fault" | "svc" | "break")).collect();
    let failures = common::run_all(&scenarios, 2, check);
    assert!(failures.is_empty(), "{} of {} failed:\n\n{}", failures.len(), scenarios.len(), failures.join("\n\n"));
}

/// A lockup (QEMU aborts on it) is reported as one, with QEMU's own words and the
/// lockup exit code, in both formats; no QEMU is left behind.
#[test]
fn a_lockup_is_reported_with_its_exit_code() {
    let s = manifest::load().into_iter().find(|s| s.kind == "lockup").expect("a lockup sample");
    let out = isrscope().args(["inspect", "--qemu", &s.machine, "--format", "json", "--elf"]).arg(s.elf_path()).output().unwrap();
    let code = out.status.code().unwrap_or(-1);
    let r: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    assert_eq!(code, 15, "{r:#}");
    assert_eq!(r["outcome"], "lockup");
    assert!(r["summary"].as_str().unwrap().contains("Lockup"), "{r:#}");
    let codes: Vec<&str> = r["findings"].as_array().unwrap().iter().filter_map(|f| f["code"].as_str()).collect();
    assert_eq!(codes, ["lockup"]);
    let out = isrscope().args(["inspect", "--qemu", &s.machine, "--elf"]).arg(s.elf_path()).output().unwrap();
    assert_eq!(out.status.code(), Some(15));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("can't escalate"), "QEMU's message is quoted:\n{text}");
}
