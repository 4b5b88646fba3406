//! `isrscope inspect` end to end: the real binary against every lab scenario under
//! QEMU, checked against the manifest and against gdb-multiarch's view of the same stop.

mod common;
mod support_fake_gdb;

use std::process::Command;

use common::lab::Qemu;
use common::manifest::{self, Scenario, is_subsequence};
use common::oracle::{self, Probe};
use serde_json::Value;
use support_fake_gdb::proxy::Proxy;

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
    check_causes(s, &r).or_else(&fail)?;
    if let Some(bfar) = s.bfar {
        // A manifest BFAR must be reported: null (BFARVALID lost) is a failure too.
        if r["fault"]["bfar"].as_u64() != Some(u64::from(bfar)) {
            return fail(format!("bfar {}, expected {bfar:#x}", r["fault"]["bfar"]));
        }
    }
    check_svc(s, &r).or_else(&fail)?;
    if s.kind == "fault" && !r["fault"].is_null() {
        let keys = ["sfsr", "sfar", "abfsr", "v6m"];
        if let Some(k) = keys.iter().find(|k| r["fault"].get(**k).is_none()) {
            return fail(format!("fault.{k} is missing (it must be present, null where absent)"));
        }
        // Cores without fault status registers are explained from the instruction.
        if s.core == "cortex-m0" && r["fault"]["v6m"]["findings"].as_array().is_none_or(Vec::is_empty) {
            return fail("an ARMv6-M HardFault without fault.v6m findings".into());
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
    let view = oracle::stop_at(&qemu, &s.elf_path(), Some(&s.stop_at), &status_probes(s));
    let gdb: Vec<String> = view.functions().iter().map(|f| normalize(f)).collect();
    let gdb: Vec<&str> = gdb.iter().map(String::as_str).collect();
    // Where the manifest says gdb cannot unwind (stack overflow), it shows garbage: the
    // architecture, not gdb, is the reference there (checked above through the manifest).
    let gdb_is_oracle = !s.gdb_backtrace.is_empty();
    if gdb_is_oracle && !is_subsequence(&gdb, &got_refs) && s.gdb_wrong_frame.is_none() {
        return fail(format!("gdb-multiarch shows {gdb:?}, isrscope {got:?}"));
    }
    if s.oracle.as_deref() == Some("dwarf") {
        common::dwarf::check_report_lines(&s.elf_path(), &r).or_else(&fail)?;
    }
    if gdb_is_oracle {
        compare_frames(s, &r, &view.frames).or_else(&fail)?;
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
    check_optional_status(s, &r, &view).or_else(&fail)?;
    for reg in ["r0", "r1", "r2", "r3", "r12", "sp", "lr", "pc", "xpsr", "msp", "psp"] {
        if r["registers"][reg].as_u64() != Some(u64::from(view.reg(reg))) {
            return fail(format!("{reg} = {}, gdb says {:#x}", r["registers"][reg], view.reg(reg)));
        }
    }
    Ok(())
}

/// Frame by frame, inline frames included: gdb's function and file:line at the same
/// stop equal isrscope's, for as many frames as gdb shows (isrscope may go further: gdb
/// stops at cortex-m-rt's assembly Reset). gdb looks callers up at PC - 1 like
/// isrscope; where the manifest names a frame gdb gets wrong by the architecture
/// (`gdb_wrong_frame`), isrscope's must differ from gdb's and be the manifest's.
fn compare_frames(s: &Scenario, r: &Value, gdb: &[oracle::GdbFrame]) -> Result<(), String> {
    let ours: Vec<&Value> = r["backtrace"].as_array().into_iter().flatten().filter(|e| e["kind"] == "frame").collect();
    let same_file = |ours: &str, gdb: &str| std::path::Path::new(ours).ends_with(gdb.trim_start_matches("./"));
    let show = |f: &Value| format!("{} {}:{}", f["function"], f["file"], f["line"]);
    for (i, g) in gdb.iter().enumerate() {
        let Some(o) = ours.get(i) else {
            return Err(format!("gdb shows frame #{i} {g:?}, isrscope has only {} frames", ours.len()));
        };
        let name = normalize(o["function"].as_str().unwrap_or("??"));
        if Some(i) == s.gdb_wrong_frame {
            // gdb took this physical frame at the wrong address: its frames from here on
            // are not comparable line by line (the name order was checked above).
            if name == normalize(&g.function) || !s.backtrace.iter().any(|b| normalize(b) == name) {
                return Err(format!("frame #{i}: isrscope {}, gdb {g:?}; the manifest says gdb is wrong here ({})", show(o), s.gdb_wrong_why));
            }
            return Ok(());
        }
        if name != normalize(&g.function) {
            return Err(format!("frame #{i}: isrscope {}, gdb {g:?}", show(o)));
        }
        let line = o["line"].as_u64().map(|l| l as u32);
        let file_ok = match (&g.file, o["file"].as_str()) {
            (Some(gf), Some(of)) => same_file(of, gf),
            (None, _) => true,
            (Some(_), None) => false,
        };
        if line != g.line && g.line.is_some() || !file_ok {
            return Err(format!("frame #{i} {name}: isrscope at {}:{:?}, gdb at {:?}:{:?}", o["file"], line, g.file, g.line));
        }
        if g.line.is_none() && line.is_some() {
            return Err(format!("frame #{i} {name}: isrscope gives line {line:?} where gdb has no source position (no debug info for it)"));
        }
    }
    Ok(())
}

/// `fault.causes` against the manifest: the CFSR bits (MMFSR, BFSR, UFSR) exactly unless
/// the manifest says `cfsr_exact = false` (then they must include the manifest's), the
/// HFSR bits included. Other registers' bits (SFSR, ABFSR, DFSR) are not the manifest's.
fn check_causes(s: &Scenario, r: &Value) -> Result<(), String> {
    if s.kind != "fault" || s.inspect_exception.is_some() {
        return Ok(());
    }
    let details = r["fault"]["details"].as_array().cloned().unwrap_or_default();
    let in_register = |regs: &[&str]| -> Vec<String> {
        details
            .iter()
            .filter(|d| d["register"].as_str().is_some_and(|reg| regs.contains(&reg)))
            .filter_map(|d| d["name"].as_str().map(String::from))
            .collect()
    };
    let mut cfsr = in_register(&["MMFSR", "BFSR", "UFSR"]);
    let hfsr = in_register(&["HFSR"]);
    let causes: Vec<&str> = r["fault"]["causes"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    for bit in s.cfsr.iter().chain(&s.hfsr) {
        if !causes.contains(&bit.as_str()) {
            return Err(format!("cause {bit} missing from {causes:?}"));
        }
    }
    if let Some(bit) = s.hfsr.iter().find(|b| !hfsr.contains(b)) {
        return Err(format!("HFSR cause {bit} missing from {hfsr:?}"));
    }
    if s.cfsr_exact {
        let mut want = s.cfsr.clone();
        cfsr.sort();
        want.sort();
        if cfsr != want {
            return Err(format!("CFSR causes {cfsr:?}, the manifest says exactly {want:?}"));
        }
    }
    Ok(())
}

/// `svc` carries the manifest's SVC number and arguments (and is null elsewhere); the
/// text report shows it too.
fn check_svc(s: &Scenario, r: &Value) -> Result<(), String> {
    let Some(number) = s.svc_number else {
        return if r["svc"].is_null() { Ok(()) } else { Err(format!("svc {} where the manifest has none", r["svc"])) };
    };
    let svc = &r["svc"];
    if svc["number"].as_u64() != Some(u64::from(number)) {
        return Err(format!("svc {svc}, manifest number {number:#x}"));
    }
    let args: Vec<u64> = svc["args"].as_array().into_iter().flatten().filter_map(Value::as_u64).collect();
    let want: Vec<u64> = s.svc_args.iter().map(|&a| u64::from(a)).collect();
    if args != want {
        return Err(format!("svc args {args:x?}, manifest {want:x?}"));
    }
    let pc = r["exception_frames"][0]["pc"].as_u64().unwrap_or(0);
    if svc["address"].as_u64() != Some(pc.wrapping_sub(2)) {
        return Err(format!("svc address {}, stacked pc {pc:#x} - 2", svc["address"]));
    }
    if !r["summary"].as_str().unwrap_or("").contains(&format!("SVC #{number}")) {
        return Err(format!("the summary does not name SVC #{number}: {}", r["summary"]));
    }
    Ok(())
}

/// SFSR/SFAR on ARMv8-M Mainline, ABFSR on Cortex-M7: read by gdb at the same stop.
fn status_probes(s: &Scenario) -> Vec<Probe<'static>> {
    match s.core.as_str() {
        "cortex-m33" if s.kind == "fault" => vec![Probe::Word("sfsr", "0xE000EDE4"), Probe::Word("sfar", "0xE000EDE8")],
        "cortex-m7" if s.kind == "fault" => vec![Probe::Word("abfsr", "0xE000EFA8")],
        _ => Vec::new(),
    }
}

fn check_optional_status(s: &Scenario, r: &Value, view: &oracle::GdbView) -> Result<(), String> {
    let f = &r["fault"];
    if s.kind != "fault" || f.is_null() {
        return Ok(());
    }
    let expect = |key: &str, want: Option<u32>| -> Result<(), String> {
        if f[key].as_u64() != want.map(u64::from) {
            return Err(format!("fault.{key} = {}, gdb-multiarch reads {want:x?}", f[key]));
        }
        Ok(())
    };
    match s.core.as_str() {
        "cortex-m33" => {
            let sfsr = view.word("sfsr");
            expect("sfsr", Some(sfsr))?;
            // SFAR only when SFSR.SFARVALID (bit 6).
            expect("sfar", (sfsr & (1 << 6) != 0).then(|| view.word("sfar")))?;
            expect("abfsr", None)
        }
        "cortex-m7" => {
            expect("abfsr", Some(view.word("abfsr")))?;
            expect("sfsr", None)?;
            expect("sfar", None)
        }
        _ => {
            expect("sfsr", None)?;
            expect("abfsr", None)
        }
    }
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

fn scenario(name: &str) -> Scenario {
    manifest::load().into_iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no scenario {name}"))
}

/// ARMv6-M has no fault status registers: the report decodes the instruction at the
/// stacked PC and names the unaligned word read and its address (`buffer + 1`).
#[test]
fn an_armv6m_hardfault_is_explained_by_its_instruction() {
    let s = scenario("c-m0-unaligned");
    let (code, r) = inspect(&s).unwrap();
    assert_eq!(code, 10, "{r:#}");
    let address = support_fake_gdb::symbol(&s.elf_path(), "buffer") + 1;
    let v6m = &r["fault"]["v6m"];
    assert_eq!(v6m["pc"], r["exception_frames"][0]["pc"], "{r:#}");
    assert!(v6m["instruction"].as_str().is_some_and(|i| i.starts_with("ldr")), "{v6m:#}");
    let findings = v6m["findings"].as_array().expect("findings");
    let unaligned = findings.iter().find(|f| f["code"] == "unaligned-access").unwrap_or_else(|| panic!("{v6m:#}"));
    let at = format!("{address:#010x}");
    assert!(unaligned["message"].as_str().unwrap().contains(&at), "{unaligned} should name {at}");
    let summary = r["summary"].as_str().unwrap();
    assert!(
        summary.starts_with(&format!("HardFault: unaligned 4-byte read at {at} in load_word (m0_unaligned.c:")),
        "{summary}"
    );
}

/// A core left halted inside an ISR (here by a first `inspect --halt`) is reported at
/// once: the second `inspect` never resumes it (no continue or step packet crosses the
/// link) and reports IRQ7 at the same PC.
#[test]
fn a_core_halted_in_an_isr_is_reported_at_once() {
    let s = scenario("c-nested-irq");
    let qemu = Qemu::start(&s.machine, &s.elf_path());
    let sock = format!("unix:{}", qemu.socket().display());
    let first = isrscope()
        .args(["inspect", "--gdb", &sock, "--format", "json", "--timeout", "20", "--no-catch", "--halt"])
        .args(["--break-at", &s.stop_at, "--elf"])
        .arg(s.elf_path())
        .output()
        .unwrap();
    let r1: Value = serde_json::from_slice(&first.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&first.stderr)));
    assert_eq!(r1["exception"]["name"], "IRQ7", "{r1:#}");
    let pc = r1["registers"]["pc"].as_u64().unwrap();
    assert_eq!(pc, u64::from(support_fake_gdb::symbol(&s.elf_path(), &s.stop_at)), "stopped at {}", s.stop_at);

    let proxy = Proxy::start(&qemu.socket());
    let second = isrscope()
        .args(["inspect", "--format", "json", "--timeout", "20", "--gdb"])
        .arg(format!("unix:{}", proxy.socket().display()))
        .arg("--elf")
        .arg(s.elf_path())
        .output()
        .unwrap();
    let r2: Value = serde_json::from_slice(&second.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&second.stderr)));
    assert_eq!(second.status.code(), Some(0), "{r2:#}");
    assert_eq!(r2["exception"]["name"], "IRQ7", "{r2:#}");
    assert_eq!(r2["registers"]["pc"].as_u64(), Some(pc), "the core moved: {r2:#}");
    assert!(r2["summary"].as_str().unwrap().starts_with("In the IRQ7 handler"), "{}", r2["summary"]);
    // Everything before the final detach (`D`, which resumes as found): no resume, no step.
    let requests = proxy.requests();
    let before_detach: Vec<&String> = requests.iter().take_while(|p| !p.starts_with('D')).collect();
    let resumed: Vec<&&String> = before_detach
        .iter()
        .filter(|p| p.starts_with("vCont;c") || p.starts_with("vCont;s") || p.as_str() == "c" || p.as_str() == "s" || p.starts_with('Z'))
        .collect();
    assert!(resumed.is_empty(), "resumed or armed before reporting: {resumed:?}");
    assert!(requests.len() > 3, "the proxy saw the session: {requests:?}");
}
