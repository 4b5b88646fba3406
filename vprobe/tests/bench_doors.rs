//! What each tool costs a debug probe, counted at the debug port by the virtual probe's
//! `--stats`: DP and AP accesses, memory bytes through the MEM-AP, and front-door round
//! trips (each one a USB turnaround on a real probe), for the same jobs on the same
//! emulated STM32F407:
//! - catch the next fault and report it (c-busfault, from reset),
//! - capture a core (c-busfault, at the fault),
//! - the live vector-table check (c-vtor-ram, at `vectors_ready`),
//! - catch a fault that comes after the tool attached to the running board and report
//!   it (late-forced: a forced HardFault after a few seconds),
//!
//! by isrscope on each path (`--chip` = probe-rs on the BMP door; `--gdb` through OpenOCD
//! on the bitbang door and through pyOCD on the pyOCD door) and by the peers on the
//! same doors (gdb-multiarch through OpenOCD and pyOCD; the `probe-rs` command-line tool,
//! `probe-rs attach`, on the BMP door, for the last job only: it catches only faults that
//! come after it attaches, and only HardFault). The benchmark (`--ignored`, run by `scripts/bench.sh doors`) prints
//! the tables of docs/performance.md, section 1b; the budget test runs in the normal
//! suite and pins isrscope's round trips per path.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{OpenOcd, PyOcd, Vprobe, isrscope, manifest, root};

/// A front-door turnaround of a USB full-speed probe (docs/virtual-probe.md).
const USB_FS_LATENCY_US: u64 = 1000;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Door {
    Bmp,
    Bitbang,
    PyOcd,
}

impl Door {
    fn flag(self) -> &'static str {
        match self {
            Door::Bmp => "bmp",
            Door::Bitbang => "bitbang",
            Door::PyOcd => "pyocd",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Tool {
    /// isrscope --chip (probe-rs, the BMP door at remote protocol v0: raw SWD).
    IsrscopeChip,
    /// isrscope --chip on the BMP door at protocol v3 (ADIv5 commands, as a real BMP).
    IsrscopeChipV3,
    /// isrscope --gdb through OpenOCD (the bitbang door).
    IsrscopeOpenOcd,
    /// isrscope --gdb through pyOCD (the pyOCD door).
    IsrscopePyOcd,
    GdbOpenOcd,
    GdbPyOcd,
    /// `probe-rs attach` (probe-rs-tools 0.32.0) on the BMP door at protocol v3.
    ProbeRsCliV3,
}

/// The `probe-rs` command-line tool scripts/bench.sh installs (pinned), or
/// `$ISRSCOPE_PROBE_RS_BIN`.
fn probe_rs_cli() -> PathBuf {
    std::env::var_os("ISRSCOPE_PROBE_RS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/bench-tools/bin/probe-rs"))
}

impl Tool {
    fn door(self) -> Door {
        match self {
            Tool::IsrscopeChip | Tool::IsrscopeChipV3 | Tool::ProbeRsCliV3 => Door::Bmp,
            Tool::IsrscopeOpenOcd | Tool::GdbOpenOcd => Door::Bitbang,
            Tool::IsrscopePyOcd | Tool::GdbPyOcd => Door::PyOcd,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Tool::IsrscopeChip => "isrscope --chip (probe-rs, BMP door v0)",
            Tool::IsrscopeChipV3 => "isrscope --chip (probe-rs, BMP door v3)",
            Tool::IsrscopeOpenOcd => "isrscope via OpenOCD (bitbang door)",
            Tool::IsrscopePyOcd => "isrscope via pyOCD (pyOCD door)",
            Tool::GdbOpenOcd => "gdb-multiarch via OpenOCD (bitbang door)",
            Tool::GdbPyOcd => "gdb-multiarch via pyOCD (pyOCD door)",
            Tool::ProbeRsCliV3 => "probe-rs attach (BMP door v3)",
        }
    }

    fn is_isrscope(self) -> bool {
        matches!(self, Tool::IsrscopeChip | Tool::IsrscopeChipV3 | Tool::IsrscopeOpenOcd | Tool::IsrscopePyOcd)
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Job {
    Inspect,
    Capture,
    Vectors,
    /// Catch the fault of late-forced on a board found running.
    Late,
    /// The fault report of the FreeRTOS sample with every task listed and unwound
    /// (gdb: through OpenOCD's `-rtos FreeRTOS`, `info threads` and `thread apply all bt`).
    Tasks,
}

/// What one run cost and what it printed.
struct Run {
    stats: Value,
    wall: Duration,
    out: Output,
    /// Bytes of gdb's RAM dump (the capture job).
    dumped: u64,
}

impl Run {
    fn count(&self, key: &str) -> u64 {
        self.stats[key].as_u64().unwrap_or(0)
    }
    fn text(&self) -> String {
        format!("{}{}", String::from_utf8_lossy(&self.out.stdout), String::from_utf8_lossy(&self.out.stderr))
    }
}

fn scenario_elf(name: &str) -> (PathBuf, String) {
    let s = manifest().into_iter().find(|s| s.name == name).unwrap_or_else(|| panic!("{name}"));
    (root().join(&s.elf), s.stop_at)
}

fn gdb(elf: &Path, remote: &str, commands: &[String]) -> Output {
    let mut c = Command::new("timeout");
    c.args(["120", "gdb-multiarch", "-batch", "-nx"]).arg(elf).args(["-ex", &format!("target remote {remote}")]);
    for cmd in commands {
        c.args(["-ex", cmd]);
    }
    c.output().unwrap()
}

/// gdb's version of each job, as a user would type it: the fault report as in
/// tests/bench_link.rs; the capture as the registers, the SCB block and a dump of the
/// 128 KiB of SRAM to `dump`; the vector check as the 98 words at VTOR, read for a
/// person to compare (gdb checks nothing).
fn gdb_commands(job: Job, stop_at: &str, dump: &Path) -> Vec<String> {
    let catch = ["HardFault_Handler", "MemManage_Handler", "BusFault_Handler", "UsageFault_Handler"].iter().map(|h| format!("break *{h}"));
    let mut v: Vec<String> = match job {
        Job::Inspect | Job::Capture | Job::Late | Job::Tasks => catch.chain(["continue".to_string()]).collect(),
        Job::Vectors => vec![format!("break *{stop_at}"), "continue".into()],
    };
    v.extend(match job {
        Job::Inspect | Job::Late => ["bt", "info registers", "x/16wx 0xE000ED00"].map(String::from).to_vec(),
        Job::Tasks => ["bt", "info registers", "x/16wx 0xE000ED00", "info threads", "thread apply all bt"].map(String::from).to_vec(),
        Job::Capture => vec![
            "info all-registers".into(),
            "x/16wx 0xE000ED00".into(),
            format!("dump binary memory {} 0x20000000 0x20020000", dump.display()),
        ],
        Job::Vectors => vec!["x/98wx *(unsigned int *)0xE000ED08".into()],
    });
    v.push("detach".into());
    v
}

/// Runs `tool` on `job` against a fresh vprobe (`latency_us` per round trip).
fn run(tool: Tool, job: Job, latency_us: u64) -> Run {
    let (elf, stop_at) = match job {
        Job::Vectors => scenario_elf("c-vtor-ram"),
        Job::Late => (root().join("firmware-samples/build/c/late-forced.elf"), "HardFault_Handler".to_string()),
        Job::Tasks => (root().join("firmware-samples/build/freertos/task-busfault.elf"), "BusFault_Handler".to_string()),
        _ => scenario_elf("c-busfault"),
    };
    let mut flags = vec!["--latency-us".to_string(), latency_us.to_string()];
    if matches!(tool, Tool::IsrscopeChipV3 | Tool::ProbeRsCliV3) {
        flags.extend(["--bmp-protocol".to_string(), "3".to_string()]);
    }
    let vp = if job == Job::Late {
        Vprobe::start_running("netduinoplus2", &elf, tool.door().flag(), &flags)
    } else {
        Vprobe::start_with("netduinoplus2", &elf, tool.door().flag(), &flags)
    };
    let dir = tempfile::tempdir().unwrap();
    let isrscope_args: Vec<String> = match job {
        Job::Inspect | Job::Late | Job::Tasks => ["inspect", "--timeout", "60", "--format", "json"].map(String::from).to_vec(),
        Job::Capture => vec!["capture".into(), "--timeout".into(), "60".into(), "-o".into(), dir.path().join("c.core").display().to_string()],
        Job::Vectors => ["vectors", "--format", "json", "--break-at", &stop_at].map(String::from).to_vec(),
    };
    let isr = |target: &[String]| {
        isrscope().args(&isrscope_args[..1]).args(target).arg("--elf").arg(&elf).args(&isrscope_args[1..]).output().unwrap()
    };
    // The client on a GDB server's port: isrscope, or gdb doing the same job.
    let client = |remote: String| {
        if tool.is_isrscope() {
            isr(&["--gdb".to_string(), remote])
        } else {
            gdb(&elf, &remote, &gdb_commands(job, &stop_at, &dir.path().join("ram.bin")))
        }
    };
    let started = Instant::now();
    let out = match tool {
        Tool::IsrscopeChip | Tool::IsrscopeChipV3 => isr(&["--chip", "STM32F407VG", "--protocol", "swd", "--probe", &vp.selector()].map(String::from)),
        // It exits when the core halts on the HardFault, after printing the stack.
        Tool::ProbeRsCliV3 => Command::new("timeout")
            .arg("120")
            .arg(probe_rs_cli())
            .args(["attach", "--chip", "STM32F407VG", "--protocol", "swd", "--probe", &vp.selector()])
            .arg(&elf)
            .output()
            .unwrap(),
        Tool::IsrscopeOpenOcd | Tool::GdbOpenOcd => {
            // gdb gets the tasks only from OpenOCD's RTOS support.
            let ocd = if tool == Tool::GdbOpenOcd && job == Job::Tasks {
                OpenOcd::start_with(vp.port, &["stm32f4.cpu configure -rtos FreeRTOS"]).unwrap()
            } else {
                OpenOcd::start(vp.port).unwrap()
            };
            let out = client(format!("localhost:{}", ocd.gdb_port));
            drop(ocd);
            out
        }
        Tool::IsrscopePyOcd | Tool::GdbPyOcd => {
            let py = PyOcd::start(vp.port).unwrap();
            let out = client(format!("localhost:{}", py.port));
            py.wait_exit();
            out
        }
    };
    let wall = started.elapsed();
    let stats = vp.finish()[0].clone();
    let dumped = std::fs::metadata(dir.path().join("ram.bin")).map(|m| m.len()).unwrap_or(0);
    Run { stats, wall, out, dumped }
}

/// Whether the run did its job (a stop at the BusFault handler, reported; a core
/// written; the relocated table's defect found).
fn did_the_job(tool: Tool, job: Job, r: &Run) -> Result<(), String> {
    let text = r.text();
    let ok = match (tool, job) {
        (t, Job::Inspect) if t.is_isrscope() => {
            let j: Value = serde_json::from_slice(&r.out.stdout).map_err(|e| format!("{e}: {text}"))?;
            j["outcome"] == "bus-fault" && j["backtrace"].as_array().is_some_and(|b| b.len() >= 3)
        }
        (_, Job::Inspect) => text.contains("BusFault_Handler") && text.contains("#1"),
        (t, Job::Late) if t.is_isrscope() => {
            let j: Value = serde_json::from_slice(&r.out.stdout).map_err(|e| format!("{e}: {text}"))?;
            j["outcome"] == "hard-fault" && j["backtrace"].as_array().is_some_and(|b| b.len() >= 3)
        }
        (Tool::ProbeRsCliV3, Job::Late) => text.contains("HardFault") && text.contains("level3"),
        (t, Job::Tasks) if t.is_isrscope() => {
            let j: Value = serde_json::from_slice(&r.out.stdout).map_err(|e| format!("{e}: {text}"))?;
            let tasks = j["tasks"]["tasks"].as_array().map(Vec::len).unwrap_or(0);
            j["outcome"] == "bus-fault" && tasks == 6
        }
        (_, Job::Tasks) => text.contains("BusFault_Handler") && text.contains("sensor_task") && text.contains("logger_task"),
        (_, Job::Late) => text.contains("HardFault_Handler") && text.contains("#1"),
        (t, Job::Capture) if t.is_isrscope() => r.out.status.success(),
        (_, Job::Capture) => text.contains("BusFault_Handler") && r.dumped == 128 * 1024,
        (t, Job::Vectors) if t.is_isrscope() => text.contains("vector-table-mismatch"),
        (_, Job::Vectors) => text.contains("vectors_ready") && text.lines().filter(|l| l.starts_with("0x2") && l.contains(":\t0x")).count() >= 24,
    };
    if ok { Ok(()) } else { Err(format!("{} did not do {job:?}:\n{text}", tool.name())) }
}

/// isrscope's front-door round trips per path and job, measured in the run of
/// docs/performance.md (section 1b), plus about 10% of room: a change that costs the
/// probe more fails here and must update the page.
const BUDGETS: [(Tool, Job, u64); 8] = [
    (Tool::IsrscopeChipV3, Job::Inspect, 230),
    (Tool::IsrscopeChip, Job::Inspect, 2470),
    (Tool::IsrscopePyOcd, Job::Inspect, 910),
    (Tool::IsrscopeChipV3, Job::Vectors, 200),
    (Tool::IsrscopeChip, Job::Vectors, 2760),
    (Tool::IsrscopePyOcd, Job::Vectors, 1290),
    // Mostly polling while the firmware runs 3 s (about 300: 5 ms polling cost 450).
    (Tool::IsrscopeChipV3, Job::Late, 360),
    (Tool::IsrscopeChipV3, Job::Tasks, TASKS_BUDGET),
];

const TASKS_BUDGET: u64 = 335;

/// A budget, not a benchmark (runs in the normal suite): isrscope's round trips on the
/// probe-rs and pyOCD paths stay within the figures of docs/performance.md, and the
/// report is complete.
#[test]
fn isrscope_stays_within_its_round_trip_budget_on_the_probe_paths() {
    let mut failures = Vec::new();
    for (tool, job, budget) in BUDGETS {
        let r = run(tool, job, 0);
        if let Err(e) = did_the_job(tool, job, &r) {
            failures.push(e);
            continue;
        }
        let n = r.count("round_trips");
        eprintln!("{} {job:?}: {n} round trips, {} DP, {} AP", tool.name(), r.count("dp_accesses"), r.count("ap_accesses"));
        if n > budget {
            failures.push(format!("{} {job:?}: {n} round trips (budget {budget}): {}", tool.name(), r.stats));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The benchmark: every tool on every job it can do, counts from one run, wall times
/// as the median of `ISRSCOPE_BENCH_REPEAT` (default 3) runs at no added latency, tools
/// alternating, and of one run at a USB full-speed probe's latency.
#[test]
#[ignore = "benchmark: scripts/bench.sh doors"]
fn benchmark_probe_cost_against_the_peers() {
    let repeat: usize = std::env::var("ISRSCOPE_BENCH_REPEAT").ok().and_then(|r| r.parse().ok()).unwrap_or(3);
    let tools = [Tool::IsrscopeChip, Tool::IsrscopeChipV3, Tool::IsrscopeOpenOcd, Tool::IsrscopePyOcd, Tool::GdbOpenOcd, Tool::GdbPyOcd];
    let probe_rs = probe_rs_cli().exists();
    if !probe_rs {
        eprintln!("{} is not installed (scripts/bench.sh doors installs it): the late job runs without it", probe_rs_cli().display());
    }
    // ISRSCOPE_BENCH_JOBS=Tasks,Late runs only those.
    let only = std::env::var("ISRSCOPE_BENCH_JOBS").ok();
    for job in [Job::Inspect, Job::Capture, Job::Vectors, Job::Late, Job::Tasks] {
        if only.as_deref().is_some_and(|o| !o.split(',').any(|j| j == format!("{job:?}"))) {
            continue;
        }
        let here: Vec<Tool> = match job {
            Job::Tasks => vec![Tool::IsrscopeChipV3, Tool::IsrscopeOpenOcd, Tool::GdbOpenOcd],
            // Raw SWD polls the running core at several commands a look: left out.
            Job::Late => [Tool::IsrscopeChipV3, Tool::IsrscopeOpenOcd, Tool::IsrscopePyOcd, Tool::GdbOpenOcd, Tool::GdbPyOcd, Tool::ProbeRsCliV3]
                .into_iter()
                .filter(|t| probe_rs || *t != Tool::ProbeRsCliV3)
                .collect(),
            _ => tools.to_vec(),
        };
        println!("\n### {job:?}\n");
        println!("| tool | did the job | DP accesses | AP accesses | memory bytes | round trips | wall ms | wall ms at {USB_FS_LATENCY_US} µs per round trip |");
        println!("|---|---|---|---|---|---|---|---|");
        let mut walls: Vec<(Vec<Duration>, Vec<Duration>)> = vec![(Vec::new(), Vec::new()); here.len()];
        let mut first: Vec<Option<Run>> = here.iter().map(|_| None).collect();
        for round in 0..repeat {
            for (i, &tool) in here.iter().enumerate() {
                let r = run(tool, job, 0);
                walls[i].0.push(r.wall);
                // With the latency, round trips dominate and the time barely varies:
                // one run (a capture on raw SWD takes minutes).
                if round == 0 {
                    let slow = run(tool, job, USB_FS_LATENCY_US);
                    if slow.count("round_trips") != r.count("round_trips") {
                        eprintln!("{} {job:?}: {} round trips with latency, {} without", tool.name(), slow.count("round_trips"), r.count("round_trips"));
                    }
                    walls[i].1.push(slow.wall);
                }
                first[i].get_or_insert(r);
            }
        }
        for (i, &tool) in here.iter().enumerate() {
            let r = first[i].as_ref().unwrap();
            let ok = match did_the_job(tool, job, r) {
                Ok(()) => "yes".to_string(),
                Err(e) => {
                    eprintln!("{e}");
                    "**no**".to_string()
                }
            };
            println!(
                "| {} | {ok} | {} | {} | {} | {} | {} | {} |",
                tool.name(),
                r.count("dp_accesses"),
                r.count("ap_accesses"),
                r.count("memory_bytes"),
                r.count("round_trips"),
                median(walls[i].0.clone()).as_millis(),
                median(walls[i].1.clone()).as_millis()
            );
        }
        for (i, &tool) in here.iter().enumerate() {
            if job == Job::Late {
                let r = first[i].as_ref().unwrap();
                println!("- {}: {:.0} round trips per second of its run", tool.name(), r.count("round_trips") as f64 / median(walls[i].0.clone()).as_secs_f64());
            }
        }
        for (i, &tool) in here.iter().enumerate() {
            if !tool.is_isrscope() && matches!(job, Job::Inspect | Job::Late | Job::Tasks) {
                let r = first[i].as_ref().unwrap();
                println!("\n{} printed:\n```\n{}\n```", tool.name(), r.text().lines().take(60).collect::<Vec<_>>().join("\n"));
            }
        }
    }
}
