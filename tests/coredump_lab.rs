//! Post-mortem end to end, on every lab scenario under QEMU: `isrscope capture` at the
//! stop `inspect` reports, then
//! - `isrscope analyze` of the core gives the JSON of the live report of that same stop
//!   (`capture --format json`: `inspect`'s engine and options on the live target), all
//!   of it but `target.description`, which names the backend;
//! - a separate `isrscope inspect` run agrees with it on everything an interrupt's
//!   timing cannot move (summary, exception, fault, outcome, target, exit code): a
//!   timer IRQ may land one instruction later in another QEMU run;
//! - gdb-multiarch opens the core with the ELF and its `bt` shows the manifest's
//!   gdb_backtrace, as it does live;
//! - a directory of those cores analyses in parallel, one JSON object per line, each
//!   the same report.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::manifest::{self, Scenario, is_subsequence};
use serde_json::Value;

fn isrscope() -> Command {
    Command::new(env!("CARGO_BIN_EXE_isrscope"))
}

/// The arguments that make `inspect` and `capture` stop at the scenario's point.
fn stop_args(s: &Scenario) -> Vec<String> {
    let mut a: Vec<String> = ["--qemu", &s.machine, "--timeout", "20", "--elf"].iter().map(|x| x.to_string()).collect();
    a.push(s.elf_path().display().to_string());
    if s.kind != "fault" {
        a.extend(["--break-at".to_string(), s.stop_at.clone(), "--no-catch".to_string()]);
    }
    a
}

fn json_of(out: &std::process::Output, what: &str) -> Result<Value, String> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&stdout)
        .map_err(|e| format!("{what}: exit {:?}, not JSON ({e}):\n{stdout}\n{}", out.status.code(), String::from_utf8_lossy(&out.stderr)))
}

/// The report without what must differ between a live target and a dump.
fn comparable(mut r: Value) -> Value {
    r["target"].as_object_mut().map(|t| t.remove("description"));
    r
}

/// The first difference between two JSON values, as a path.
fn first_difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys()) {
                let (va, vb) = (x.get(k).unwrap_or(&Value::Null), y.get(k).unwrap_or(&Value::Null));
                if let Some(d) = first_difference(va, vb, &format!("{path}.{k}")) {
                    return Some(d);
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            x.iter().zip(y).enumerate().find_map(|(i, (va, vb))| first_difference(va, vb, &format!("{path}[{i}]")))
        }
        _ => (a != b).then(|| format!("{path}: live {a}, dump {b}")),
    }
}

/// Captures the scenario to `core`; returns the live report of the captured stop.
fn capture(s: &Scenario, core: &Path) -> Result<Value, String> {
    let out = isrscope()
        .arg("capture")
        .args(stop_args(s))
        .args(["--format", "json", "-o"])
        .arg(core)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() || !core.exists() {
        return Err(format!("capture failed: exit {:?}\n{}", out.status.code(), String::from_utf8_lossy(&out.stderr)));
    }
    json_of(&out, "capture")
}

/// `gdb-multiarch -batch FW.elf CORE -ex bt`: the functions, innermost first.
fn gdb_bt(elf: &Path, core: &Path) -> (Vec<String>, String) {
    let out = Command::new("timeout")
        .args(["60", "gdb-multiarch", "-batch", "-nx"])
        .arg(elf)
        .arg(core)
        .args(["-ex", "bt"])
        .output()
        .expect("gdb-multiarch");
    let raw = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let mut frames = Vec::new();
    for line in raw.lines() {
        let Some(rest) = line.strip_prefix('#') else { continue };
        let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit()).trim_start();
        if rest.starts_with("<signal handler called>") {
            continue;
        }
        let rest = match rest.split_once(" in ") {
            Some((addr, tail)) if addr.starts_with("0x") => tail,
            _ => rest,
        };
        frames.push(rest.split([' ', '(']).next().unwrap_or("").replace("::<", "<"));
    }
    // `bt` prints frame #0 twice in a core (the stop line and the backtrace).
    if frames.len() > 1 && frames[0] == frames[1] {
        frames.remove(0);
    }
    (frames, raw)
}

fn check(s: &Scenario, dir: &Path) -> Result<(), String> {
    let fail = |m: String| Err(format!("{}: {m}", s.name));
    let core = dir.join(format!("{}.core", s.name));
    let at_capture = capture(s, &core).map_err(|e| format!("{}: {e}", s.name))?;
    let post = isrscope()
        .args(["analyze", "--format", "json", "--elf"])
        .arg(s.elf_path())
        .arg(&core)
        .output()
        .map_err(|e| e.to_string())?;
    let post_json = comparable(json_of(&post, "analyze")?);
    if let Some(d) = first_difference(&comparable(at_capture), &post_json, "") {
        return fail(format!("analyze differs from the live report of the same stop at {d}"));
    }

    let live = isrscope().arg("inspect").args(stop_args(s)).args(["--format", "json"]).output().map_err(|e| e.to_string())?;
    let live_json = comparable(json_of(&live, "inspect")?);
    if live.status.code() != post.status.code() {
        return fail(format!("exit code live {:?}, analyze {:?}", live.status.code(), post.status.code()));
    }
    for key in ["summary", "exception", "fault", "outcome", "target", "schema"] {
        if let Some(d) = first_difference(&live_json[key], &post_json[key], key) {
            return fail(format!("analyze differs from a separate inspect run at {d}"));
        }
    }

    // Where gdb reads discarded code's line tables, the live ones are the oracle.
    if s.oracle.as_deref() == Some("dwarf") {
        common::dwarf::check_report_lines(&s.elf_path(), &post_json).or_else(fail)?;
    }
    // gdb-multiarch reads the same core (where the manifest says gdb can unwind it).
    if s.inspect_exception.is_none() && !s.gdb_backtrace.is_empty() {
        let (got, raw) = gdb_bt(&s.elf_path(), &core);
        let got: Vec<&str> = got.iter().map(String::as_str).collect();
        let wanted: Vec<String> = s.gdb_backtrace.iter().map(|f| f.replace("::<", "<")).collect();
        let wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();
        if !is_subsequence(&wanted, &got) || got.first() != wanted.first() {
            return fail(format!("gdb-multiarch on the core shows {got:?}, the manifest says {wanted:?}\n{raw}"));
        }
    }
    Ok(())
}

fn scenarios() -> Vec<Scenario> {
    manifest::load().into_iter().filter(|s| matches!(s.kind.as_str(), "fault" | "svc" | "break")).collect()
}

#[test]
fn every_lab_scenario_captured_analyses_like_inspect_and_opens_in_gdb() {
    let dir = tempfile::tempdir().unwrap();
    let scenarios = scenarios();
    let failures = common::run_all(&scenarios, 3, |s| check(s, dir.path()));
    assert!(failures.is_empty(), "{} of {} failed:\n\n{}", failures.len(), scenarios.len(), failures.join("\n\n"));

    // The same cores as a fleet: one directory, analysed in parallel, one line each.
    let by_elf: Vec<&Scenario> = scenarios.iter().filter(|s| s.elf.ends_with("c/busfault.elf")).collect();
    let fleet = dir.path().join("fleet");
    std::fs::create_dir(&fleet).unwrap();
    for (i, s) in by_elf.iter().chain(by_elf.iter()).enumerate() {
        std::fs::copy(dir.path().join(format!("{}.core", s.name)), fleet.join(format!("crash-{i}.core"))).unwrap();
    }
    std::fs::write(fleet.join("notes.txt"), "not a dump").unwrap();
    let elf: PathBuf = by_elf[0].elf_path();
    let out = isrscope().args(["analyze", "--format", "json", "--elf"]).arg(&elf).arg(&fleet).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "one file is not a dump");
    let single = isrscope().args(["analyze", "--format", "json", "--elf"]).arg(&elf).arg(fleet.join("crash-0.core")).output().unwrap();
    let single: Value = serde_json::from_slice(&single.stdout).unwrap();
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), by_elf.len() * 2 + 1);
    for (i, line) in lines[..lines.len() - 1].iter().enumerate() {
        assert!(line["dump"].as_str().unwrap().ends_with(&format!("crash-{i}.core")));
        let mut report = line.clone();
        report.as_object_mut().unwrap().remove("dump");
        report["target"]["description"] = single["target"]["description"].clone();
        assert_eq!(report, single, "line {i}");
    }
    let last = lines.last().unwrap();
    assert!(last["dump"].as_str().unwrap().ends_with("notes.txt"));
    assert!(last["error"].as_str().unwrap().contains("not a core dump"), "{last}");
}
