//! The probe-shaped paths, end to end, on every fault, SVC and break scenario of the
//! STM32F407 lab:
//! - probe-rs: isrscope's `--chip` backend, and under it probe-rs' whole ARM stack (its
//!   BMP driver, SWD, DP/AP set-up, the STM32F4 sequence, Cortex-M halt, registers, FPB,
//!   DEMCR), unmodified, through the virtual probe's Black Magic Probe door;
//! - pyOCD: `pyocd gdbserver` (PyPI, pinned by scripts/setup.sh) on the pyOCD door, its
//!   own ARM stack (ROM table walk, MEM-AP, FPB, software breakpoints), and isrscope's
//!   GDB backend in front of it;
//! - OpenOCD: Debian's OpenOCD 0.12.0 on the remote_bitbang door (a JTAG-DP, pin by pin),
//!   its `cortex_m` target, with vprobe/openocd/stm32f4-vprobe.cfg, and isrscope's GDB
//!   backend in front of it.
//!
//! Each gives the same JSON report as the QEMU-gdbstub path at the same stop (the target
//! description and the stop's wording aside), and leaves the debug state (DEMCR, FPB
//! comparators, software breakpoints; halted or running on the probe-rs path, where
//! isrscope itself is the debugger) as it found it. (Where SysTick preempts thread code,
//! the tick may land an instruction away: see `check`.)

mod support;

use std::path::Path;

use serde_json::Value;
use support::{OpenOcd, PyOcd, Scenario, Vprobe, isrscope, manifest, root, scenarios_where};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Path_ {
    ProbeRs,
    /// probe-rs on the BMP door at remote protocol v3 (its ADIv5 commands).
    ProbeRsV3,
    PyOcd,
    OpenOcd,
}

fn scenarios() -> Vec<Scenario> {
    scenarios_where(true)
}

fn json(out: &std::process::Output, what: &str) -> Result<Value, String> {
    serde_json::from_slice(&out.stdout).map_err(|e| {
        format!("{what}: exit {:?}, not JSON ({e}): {}", out.status.code(), String::from_utf8_lossy(&out.stderr))
    })
}

/// The report without what names the path, and without DFSR: the debugger's record of
/// why it halted the core differs by path (QEMU's gdbstub has none, probe-rs clears it
/// once read, pyOCD leaves DFSR.BKPT set after its software breakpoints).
fn comparable(mut r: Value) -> Value {
    let t = r["target"].as_object_mut().unwrap();
    t.remove("description");
    t.remove("stop");
    if let Some(f) = r["fault"].as_object_mut() {
        f.remove("dfsr");
        if let Some(d) = f.get_mut("details").and_then(Value::as_array_mut) {
            d.retain(|e| e["register"] != "DFSR");
        }
        if let Some(c) = f.get_mut("causes").and_then(Value::as_array_mut) {
            c.retain(|n| !matches!(n.as_str(), Some("HALTED" | "BKPT" | "DWTTRAP" | "VCATCH" | "EXTERNAL" | "PMU")));
        }
    }
    r
}

fn first_difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => x.keys().chain(y.keys()).find_map(|k| {
            first_difference(x.get(k).unwrap_or(&Value::Null), y.get(k).unwrap_or(&Value::Null), &format!("{path}.{k}"))
        }),
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            x.iter().zip(y).enumerate().find_map(|(i, (u, v))| first_difference(u, v, &format!("{path}[{i}]")))
        }
        _ if a == b => None,
        _ => Some(format!("{path}: {a} vs {b}")),
    }
}

/// Runs `isrscope ARGS --elf ELF` against the scenario's firmware through `path`: a
/// fresh vprobe (and pyOCD or OpenOCD in front of it); returns the output and the
/// vprobe's statistics for the client.
fn through(path: Path_, s: &Scenario, elf: &Path, args: &[String]) -> Result<(std::process::Output, Value), String> {
    let run = |target: &[String]| isrscope().args(&args[..1]).args(target).arg("--elf").arg(elf).args(&args[1..]).output().unwrap();
    Ok(match path {
        Path_::ProbeRs | Path_::ProbeRsV3 => {
            let extra: &[String] = if path == Path_::ProbeRsV3 { &["--bmp-protocol".to_string(), "3".to_string()] } else { &[] };
            let vp = Vprobe::start_with(&s.machine, elf, "bmp", extra);
            let chip = chip(&s.machine).ok_or(format!("{}: no probe-rs chip for -M {}", s.name, s.machine))?;
            let target = ["--chip", chip, "--protocol", "swd", "--probe", &vp.selector()].map(String::from);
            let out = run(&target);
            if !out.status.success() && out.stdout.is_empty() {
                return Err(format!("{}: {:?}: {}", s.name, args, String::from_utf8_lossy(&out.stderr)));
            }
            (out, vp.finish())
        }
        Path_::PyOcd => {
            let vp = Vprobe::start(&s.machine, elf, "pyocd");
            let py = PyOcd::start(vp.port)?;
            let out = run(&["--gdb".to_string(), format!("localhost:{}", py.port)]);
            // pyOCD's gdbserver ends by itself when its client detaches, cleaning up.
            py.wait_exit();
            (out, vp.finish())
        }
        Path_::OpenOcd => {
            let vp = Vprobe::start(&s.machine, elf, "bitbang");
            let ocd = OpenOcd::start(vp.port)?;
            let out = run(&["--gdb".to_string(), format!("localhost:{}", ocd.gdb_port)]);
            drop(ocd);
            (out, vp.finish())
        }
    })
}

/// The probe-rs chip a QEMU machine stands for (its registry's name and sequences).
fn chip(machine: &str) -> Option<&'static str> {
    match machine {
        "netduinoplus2" => Some("STM32F407VG"),
        "microbit" => Some("nRF51822_xxAA"),
        _ => None,
    }
}

fn check(s: &Scenario, path: Path_) -> Result<(), String> {
    let elf = root().join(&s.elf);
    let mut stop: Vec<String> = vec!["--timeout".to_string(), "20".into(), "--format".into(), "json".into()];
    if s.kind != "fault" {
        stop.extend(["--break-at".into(), s.stop_at.clone(), "--no-catch".into()]);
    }
    let gdb = isrscope().args(["inspect", "--qemu", &s.machine, "--elf"]).arg(&elf).args(&stop).output().unwrap();
    let gdb_json = json(&gdb, "inspect --qemu")?;
    let mut inspect = vec!["inspect".to_string()];
    inspect.extend(stop.iter().cloned());
    let (chip, stats) = through(path, s, &elf, &inspect)?;
    let chip_json = json(&chip, &format!("inspect through {path:?}"))?;
    if gdb.status.code() != chip.status.code() {
        return Err(format!("{}: exit code {:?} through {path:?}, {:?} through the gdbstub", s.name, chip.status.code(), gdb.status.code()));
    }
    let (a, b) = (comparable(gdb_json), comparable(chip_json));
    if let Some(d) = first_difference(&a, &b, "") {
        // SysTick counts QEMU's virtual time, which the halts behind every probe access
        // shift: the tick may land an instruction earlier or later, in thread code. Then
        // only the interrupted context may differ: its registers, frames and PCs.
        let timer = a["backtrace"].as_array().into_iter().flatten().any(|e| e["exception"]["name"] == "SysTick");
        let strip = |mut r: Value| {
            for key in ["registers", "exception_frames"] {
                r.as_object_mut().unwrap().remove(key);
            }
            for e in r["backtrace"].as_array_mut().into_iter().flatten() {
                for key in ["pc", "lookup_pc", "line", "column", "method"] {
                    e.as_object_mut().unwrap().remove(key);
                }
            }
            r
        };
        if !timer || first_difference(&strip(a.clone()), &strip(b.clone()), "").is_some() {
            return Err(format!("{}: the {path:?} path differs from the gdbstub path at {d}", s.name));
        }
    }
    // Left as found: DEMCR, the FPB comparators, halted or running. (probe-rs enables
    // the FPB to set a breakpoint and leaves FP_CTRL.ENABLE set with every comparator
    // off when it clears them: harmless, and allowed.)
    let client = &stats[0];
    let (found, left) = (&client["found"], &client["left"]);
    // Through pyOCD, pyOCD is the debugger: it decides what the core does when its
    // gdbserver ends, and it sets DEMCR.TRCENA for itself. The breakpoints isrscope
    // asked for must be gone, and no vector catch left on.
    let keys: &[&str] = match path {
        Path_::ProbeRs | Path_::ProbeRsV3 => &["running", "c_debugen", "demcr", "fpb_enabled", "fp_comparators_enabled", "software_breakpoints"],
        Path_::PyOcd => &["fpb_enabled", "fp_comparators_enabled", "software_breakpoints"],
        // OpenOCD sets DEMCR.TRCENA for itself and keeps FP_CTRL.ENABLE on.
        Path_::OpenOcd => &["fp_comparators_enabled", "software_breakpoints"],
    };
    if !matches!(path, Path_::ProbeRs | Path_::ProbeRsV3) && left["demcr"].as_u64().is_some_and(|d| d & 0x07F1 != 0) {
        return Err(format!("{} ({path:?}): vector catch left on: DEMCR {} (stats {client})", s.name, left["demcr"]));
    }
    for key in keys {
        let key = *key;
        if found[key] != left[key] && !(key == "fpb_enabled" && left["fp_comparators_enabled"] == 0) {
            return Err(format!("{} ({path:?}): {key} found {} and left {} (stats {client})", s.name, found[key], left[key]));
        }
    }
    Ok(())
}

fn run_all(path: Path_) {
    let all = scenarios();
    assert!(all.len() >= 20, "only {} scenarios", all.len());
    run_scenarios(path, all);
}

fn run_scenarios(path: Path_, all: Vec<Scenario>) {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|t| {
        for _ in 0..2 {
            t.spawn(|| {
                while let Some(s) = all.get(next.fetch_add(1, std::sync::atomic::Ordering::SeqCst)) {
                    if let Err(e) = check(s, path) {
                        failures.lock().unwrap().push(e);
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{} of {} failed:\n{}", failures.len(), all.len(), failures.join("\n"));
}

#[test]
fn every_stm32f407_scenario_through_probe_rs_reports_as_the_gdbstub_path() {
    run_all(Path_::ProbeRs);
}

/// The same through the BMP door at remote protocol v3: probe-rs then uses the probe's
/// ADIv5 commands (DP/AP accesses and memory blocks) instead of raw SWD.
#[test]
fn every_stm32f407_scenario_through_probe_rs_on_bmp_protocol_v3_reports_as_the_gdbstub_path() {
    run_all(Path_::ProbeRsV3);
}

#[test]
fn every_stm32f407_scenario_through_pyocd_reports_as_the_gdbstub_path() {
    run_all(Path_::PyOcd);
}

#[test]
fn every_stm32f407_scenario_through_openocd_reports_as_the_gdbstub_path() {
    run_all(Path_::OpenOcd);
}

/// The lab's other cores (Cortex-M0 on the micro:bit, M3 and M7 on the MPS2 boards, the
/// release-built flash-at-0 samples) through OpenOCD's and pyOCD's generic `cortex_m`
/// targets: the same model answers for them (CPUID is QEMU's); and the micro:bit's
/// through probe-rs as an nRF51822. (probe-rs needs a chip of its registry: the MPS2
/// FPGA images are none.)
#[test]
fn the_other_cores_through_openocd_pyocd_and_probe_rs_report_as_the_gdbstub_path() {
    let others: Vec<Scenario> = scenarios_where(false).into_iter().filter(|s| s.machine != "mps2-an505").collect();
    run_scenarios(Path_::OpenOcd, others.clone());
    run_scenarios(Path_::PyOcd, others.clone());
    let microbit: Vec<Scenario> = others.into_iter().filter(|s| chip(&s.machine).is_some()).collect();
    assert!(microbit.len() >= 2, "micro:bit scenarios: {}", microbit.len());
    run_scenarios(Path_::ProbeRs, microbit);
}

/// `capture` through each path, then `analyze` of the file anywhere: the report of the
/// QEMU path's capture of the same stop; and the live vector-table check of a table
/// relocated to RAM: the same findings as through the gdbstub.
#[test]
fn capture_analyze_and_live_vectors_through_every_path() {
    // One capture per path (it reads all of RAM: 128 KiB word by word on the wire, the
    // slowest job there is on raw SWD) and one live vector check.
    let all = scenarios_of(&["c-psp-fp", "c-vtor-ram"]);
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for path in [Path_::ProbeRs, Path_::ProbeRsV3, Path_::PyOcd, Path_::OpenOcd] {
        for s in &all {
            let elf = root().join(&s.elf);
            let r = if s.kind == "vectors" {
                let args = ["vectors", "--format", "json", "--break-at", &s.stop_at].map(String::from);
                let want = isrscope().args(["vectors", "--qemu", &s.machine, "--format", "json", "--break-at", &s.stop_at, "--elf"]).arg(&elf).output().unwrap();
                through(path, s, &elf, &args).and_then(|(got, _)| {
                    let codes = |o: &std::process::Output| -> Result<Vec<Value>, String> {
                        let r = json(o, "vectors")?;
                        Ok(r["findings"].as_array().cloned().unwrap_or_default().iter().map(|f| f["code"].clone()).collect())
                    };
                    let (a, b) = (codes(&want)?, codes(&got)?);
                    if a != b || !a.iter().any(|c| c == "vector-table-mismatch") {
                        return Err(format!("{} ({path:?}): live vectors found {b:?}, the gdbstub path {a:?}", s.name));
                    }
                    Ok(())
                })
            } else {
                let mut stop = vec!["--timeout".to_string(), "20".into()];
                if s.kind != "fault" {
                    stop.extend(["--break-at".into(), s.stop_at.clone(), "--no-catch".into()]);
                }
                let core = dir.path().join(format!("{}-{path:?}.core", s.name));
                let qcore = dir.path().join(format!("{}-qemu.core", s.name));
                let mut args = vec!["capture".to_string(), "-o".into(), core.display().to_string()];
                args.extend(stop.iter().cloned());
                let q = isrscope().args(["capture", "--qemu", &s.machine, "-o"]).arg(&qcore).args(&stop).arg("--elf").arg(&elf).output().unwrap();
                through(path, s, &elf, &args).and_then(|(out, _)| {
                    if !out.status.success() || !q.status.success() {
                        return Err(format!("{} ({path:?}): capture failed: {}{}", s.name, String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&q.stderr)));
                    }
                    let analyze = |c: &Path| isrscope().args(["analyze", "--format", "json", "--elf"]).arg(&elf).arg(c).output().unwrap();
                    let (a, b) = (comparable(json(&analyze(&qcore), "analyze")?), comparable(json(&analyze(&core), "analyze")?));
                    match first_difference(&a, &b, "") {
                        Some(d) => Err(format!("{} ({path:?}): analyze of the capture differs from the QEMU path's at {d}", s.name)),
                        None => Ok(()),
                    }
                })
            };
            if let Err(e) = r {
                failures.push(e);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn scenarios_of(names: &[&str]) -> Vec<Scenario> {
    let found: Vec<Scenario> = manifest().into_iter().filter(|s| names.contains(&s.name.as_str())).collect();
    assert_eq!(found.len(), names.len(), "scenarios {names:?}");
    found
}
