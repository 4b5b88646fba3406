//! The probe-rs path, end to end: isrscope's `--chip` backend, and under it probe-rs'
//! whole ARM stack (its BMP driver, SWD, DP/AP set-up, the STM32F4 sequence, Cortex-M
//! halt, registers, FPB, DEMCR), unmodified, driving QEMU's core through the virtual
//! probe's Black Magic Probe door. Every fault, SVC and break scenario of the STM32F407
//! lab gives the same JSON report as the QEMU-gdbstub path at the same stop (the target
//! description and the stop's wording aside: vector catch there, a breakpoint here),
//! and the client leaves the debug state as it found it. (Where SysTick preempts thread
//! code, the tick may land an instruction away: see `check`.)

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

impl Vprobe {
    fn start(machine: &str, elf: &Path) -> Vprobe {
        let stats = tempfile::NamedTempFile::new().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_isrscope-vprobe"))
            .args(["--qemu", machine, "--bmp", "0", "--once", "--start-halted", "--elf"])
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

fn scenarios() -> Vec<Scenario> {
    let text = std::fs::read_to_string(root().join("firmware-samples/scenarios.toml")).unwrap();
    let m: Manifest = toml::from_str(&text).unwrap();
    m.scenario
        .into_iter()
        .filter(|s| s.machine == "netduinoplus2" && matches!(s.kind.as_str(), "fault" | "svc" | "break"))
        .collect()
}

fn json(out: &std::process::Output, what: &str) -> Result<Value, String> {
    serde_json::from_slice(&out.stdout).map_err(|e| {
        format!("{what}: exit {:?}, not JSON ({e}): {}", out.status.code(), String::from_utf8_lossy(&out.stderr))
    })
}

/// The report without what names the path.
fn comparable(mut r: Value) -> Value {
    let t = r["target"].as_object_mut().unwrap();
    t.remove("description");
    t.remove("stop");
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

fn check(s: &Scenario) -> Result<(), String> {
    let elf = root().join(&s.elf);
    let mut stop = vec!["--timeout".to_string(), "20".into(), "--format".into(), "json".into()];
    if s.kind != "fault" {
        stop.extend(["--break-at".into(), s.stop_at.clone(), "--no-catch".into()]);
    }
    let gdb = isrscope().args(["inspect", "--qemu", &s.machine, "--elf"]).arg(&elf).args(&stop).output().unwrap();
    let gdb_json = json(&gdb, "inspect --qemu")?;
    let vp = Vprobe::start(&s.machine, &elf);
    let chip = isrscope()
        .args(["inspect", "--chip", "STM32F407VG", "--protocol", "swd", "--probe", &vp.selector(), "--elf"])
        .arg(&elf)
        .args(&stop)
        .output()
        .unwrap();
    let chip_json = json(&chip, "inspect --chip")?;
    let stats = vp.finish();
    if gdb.status.code() != chip.status.code() {
        return Err(format!("{}: exit code {:?} through probe-rs, {:?} through the gdbstub", s.name, chip.status.code(), gdb.status.code()));
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
            return Err(format!("{}: the probe-rs path differs from the gdbstub path at {d}", s.name));
        }
    }
    // Left as found: DEMCR, the FPB comparators, halted or running. (probe-rs enables
    // the FPB to set a breakpoint and leaves FP_CTRL.ENABLE set with every comparator
    // off when it clears them: harmless, and allowed.)
    let client = &stats[0];
    let (found, left) = (&client["found"], &client["left"]);
    for key in ["running", "c_debugen", "demcr", "fpb_enabled", "fp_comparators_enabled"] {
        if found[key] != left[key] && !(key == "fpb_enabled" && left["fp_comparators_enabled"] == 0) {
            return Err(format!("{}: {key} found {} and left {} (stats {client})", s.name, found[key], left[key]));
        }
    }
    Ok(())
}

#[test]
fn every_stm32f407_scenario_through_probe_rs_reports_as_the_gdbstub_path() {
    let all = scenarios();
    assert!(all.len() >= 20, "only {} scenarios", all.len());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|t| {
        for _ in 0..2 {
            t.spawn(|| {
                while let Some(s) = all.get(next.fetch_add(1, std::sync::atomic::Ordering::SeqCst)) {
                    if let Err(e) = check(s) {
                        failures.lock().unwrap().push(e);
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{} of {} failed:\n{}", failures.len(), all.len(), failures.join("\n"));
}
