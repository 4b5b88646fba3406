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

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The isrscope binary next to this test's (scripts/test.sh builds the workspace's).
fn isrscope() -> Command {
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().parent().unwrap().join("isrscope");
    assert!(bin.exists(), "{} not built (cargo build --workspace --bins)", bin.display());
    Command::new(bin)
}

struct Vprobe {
    child: Child,
    port: u16,
    stats: tempfile::NamedTempFile,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Path_ {
    ProbeRs,
    PyOcd,
    OpenOcd,
}

/// A free TCP port on the loopback (for servers that cannot pick their own).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// OpenOCD (Debian's 0.12.0) on the vprobe's remote_bitbang door, with the repository's
/// configuration; ends (SIGTERM, its own shutdown) when dropped.
struct OpenOcd {
    child: Child,
    gdb_port: u16,
}

impl OpenOcd {
    fn start(vprobe_port: u16) -> Result<OpenOcd, String> {
        let gdb_port = free_port();
        let mut child = Command::new("openocd")
            .arg("-f")
            .arg(root().join("vprobe/openocd/stm32f4-vprobe.cfg"))
            .args(["-c", &format!("remote_bitbang port {vprobe_port}"), "-c", &format!("gdb_port {gdb_port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("openocd (scripts/setup.sh installs it): {e}"))?;
        let mut seen = String::new();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        loop {
            let Some(Ok(line)) = lines.next() else {
                return Err(format!("openocd ended before listening:\n{seen}"));
            };
            seen.push_str(&line);
            seen.push('\n');
            if line.contains("for gdb connections") {
                break;
            }
        }
        std::thread::spawn(move || for _ in lines {});
        Ok(OpenOcd { child, gdb_port })
    }
}

impl Drop for OpenOcd {
    fn drop(&mut self) {
        unsafe { libc_kill(self.child.id() as i32, 15) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

/// `pyocd gdbserver` on the vprobe's pyOCD door; killed when dropped.
struct PyOcd {
    child: Child,
    port: u16,
}

impl PyOcd {
    fn start(vprobe_port: u16) -> Result<PyOcd, String> {
        let mut child = Command::new("pyocd")
            // `-C none`: pyOCD's default vector catch (HardFault) would stop the core
            // before isrscope's own breakpoints; isrscope decides what to catch.
            .args(["gdbserver", "--target", "cortex_m", "--port", "0", "--telnet-port", "0", "-C", "none", "--uid"])
            .arg(format!("remote:127.0.0.1:{vprobe_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("pyocd (scripts/setup.sh installs it): {e}"))?;
        let mut seen = String::new();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let port = loop {
            let Some(Ok(line)) = lines.next() else {
                return Err(format!("pyocd gdbserver ended before listening:\n{seen}"));
            };
            seen.push_str(&line);
            seen.push('\n');
            if let Some(rest) = line.split("GDB server listening on port ").nth(1) {
                break rest.split_whitespace().next().and_then(|p| p.parse().ok()).ok_or(seen.clone())?;
            }
        };
        // Keep draining its log so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Ok(PyOcd { child, port })
    }
}

impl PyOcd {
    fn wait_exit(mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for PyOcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Vprobe {
    fn start(machine: &str, elf: &Path, door: &str) -> Vprobe {
        let stats = tempfile::NamedTempFile::new().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_isrscope-vprobe"))
            .args(["--qemu", machine, &format!("--{door}"), "0", "--once", "--start-halted", "--elf"])
            .arg(elf)
            .arg("--stats")
            .arg(stats.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line.trim().rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("vprobe said {line:?}"));
        Vprobe { child, port, stats }
    }

    fn selector(&self) -> String {
        format!("1d50:6018:127.0.0.1:{}", self.port)
    }

    /// Waits for the vprobe to exit (`--once`) and returns its per-client statistics.
    fn finish(mut self) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "the vprobe did not exit after its client left");
            std::thread::sleep(Duration::from_millis(20));
        }
        serde_json::from_str(&std::fs::read_to_string(self.stats.path()).unwrap()).unwrap()
    }
}

impl Drop for Vprobe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(serde::Deserialize)]
struct Manifest {
    scenario: Vec<Scenario>,
}

#[derive(serde::Deserialize, Clone)]
struct Scenario {
    name: String,
    elf: String,
    machine: String,
    kind: String,
    stop_at: String,
}

/// The fault, SVC and break scenarios on the STM32F407 (`f407`) or on the other cores.
fn scenarios_where(f407: bool) -> Vec<Scenario> {
    let text = std::fs::read_to_string(root().join("firmware-samples/scenarios.toml")).unwrap();
    let m: Manifest = toml::from_str(&text).unwrap();
    m.scenario
        .into_iter()
        .filter(|s| (s.machine == "netduinoplus2") == f407 && matches!(s.kind.as_str(), "fault" | "svc" | "break"))
        .collect()
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
        Path_::ProbeRs => {
            let vp = Vprobe::start(&s.machine, elf, "bmp");
            let target = ["--chip", "STM32F407VG", "--protocol", "swd", "--probe", &vp.selector()].map(String::from);
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
        Path_::ProbeRs => &["running", "c_debugen", "demcr", "fpb_enabled", "fp_comparators_enabled", "software_breakpoints"],
        Path_::PyOcd => &["fpb_enabled", "fp_comparators_enabled", "software_breakpoints"],
        // OpenOCD sets DEMCR.TRCENA for itself and keeps FP_CTRL.ENABLE on.
        Path_::OpenOcd => &["fp_comparators_enabled", "software_breakpoints"],
    };
    if path != Path_::ProbeRs && left["demcr"].as_u64().is_some_and(|d| d & 0x07F1 != 0) {
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
    run_scenarios(path, scenarios());
}

fn run_scenarios(path: Path_, all: Vec<Scenario>) {
    assert!(all.len() >= 8, "only {} scenarios", all.len());
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
/// targets: the same model answers for them (CPUID is QEMU's). probe-rs needs a chip
/// of its registry with its sequences, which these QEMU machines do not stand for.
#[test]
fn the_other_cores_through_openocd_and_pyocd_report_as_the_gdbstub_path() {
    let others: Vec<Scenario> = scenarios_where(false).into_iter().filter(|s| s.machine != "mps2-an505").collect();
    run_scenarios(Path_::OpenOcd, others.clone());
    run_scenarios(Path_::PyOcd, others);
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
    for path in [Path_::ProbeRs, Path_::PyOcd, Path_::OpenOcd] {
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
    let text = std::fs::read_to_string(root().join("firmware-samples/scenarios.toml")).unwrap();
    let m: Manifest = toml::from_str(&text).unwrap();
    let found: Vec<Scenario> = m.scenario.into_iter().filter(|s| names.contains(&s.name.as_str())).collect();
    assert_eq!(found.len(), names.len(), "scenarios {names:?}");
    found
}
