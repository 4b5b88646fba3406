//! The FreeRTOS lab (firmware-samples/freertos, issue 17) under QEMU: each sample stops
//! where its manifest says, the firmware's own view of its tasks (uxTaskGetSystemState,
//! kept in `lab_rtos_view`, read by gdb-multiarch) is the manifest's, and isrscope's
//! backtrace of the running task goes through the exception to the task's entry
//! function and ends there, cleanly: the return address FreeRTOS stacked for every task
//! is its task-exit trap (`prvTaskExitError`), no call site (gdb-multiarch unwinds on
//! into the function before the trap and reports a corrupt stack).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::lab::Qemu;
use common::manifest::is_subsequence;
use common::oracle::run_batch;
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Manifest {
    scenario: Vec<Scenario>,
}

#[derive(Deserialize)]
struct Scenario {
    name: String,
    elf: String,
    machine: String,
    exception: String,
    stop_at: String,
    backtrace: Vec<String>,
    tasks: Vec<Task>,
}

#[derive(Deserialize, Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Task {
    name: String,
    state: String,
    priority: u32,
}

fn scenarios() -> Vec<Scenario> {
    let path = common::repo_root().join("firmware-samples/freertos/scenarios.toml");
    let m: Manifest = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    m.scenario
}

fn elf(s: &Scenario) -> PathBuf {
    common::repo_root().join(&s.elf)
}

/// eTaskState as uxTaskGetSystemState reports it.
fn state_name(n: u32) -> &'static str {
    match n {
        0 => "running",
        1 => "ready",
        2 => "blocked",
        3 => "suspended",
        4 => "deleted",
        _ => "invalid",
    }
}

/// The firmware's own view at the stop, read by gdb-multiarch from `lab_rtos_view`, and
/// gdb's backtrace.
fn firmware_view(s: &Scenario) -> (Vec<Task>, String) {
    let qemu = Qemu::start(&s.machine, &elf(s));
    let mut cmds = vec!["set language c".to_string(), format!("target remote {}", qemu.socket().display())];
    cmds.push(format!("break *{}", s.stop_at));
    cmds.push("continue".into());
    cmds.push("printf \"VIEW-COUNT %u\\n\", (unsigned)lab_rtos_view_count".into());
    for i in 0..10 {
        cmds.push(format!(
            "printf \"VIEW-TASK %s %u %u\\n\", lab_rtos_view[{i}].pcTaskName ? lab_rtos_view[{i}].pcTaskName : \"-\", (unsigned)lab_rtos_view[{i}].eCurrentState, (unsigned)lab_rtos_view[{i}].uxCurrentPriority"
        ));
    }
    cmds.push("bt".into());
    cmds.push("kill".into());
    let raw = run_batch(&elf(s), &cmds);
    let count: usize = raw
        .lines()
        .find_map(|l| l.strip_prefix("VIEW-COUNT "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("{}: no view: {raw}", s.name));
    let tasks = raw
        .lines()
        .filter_map(|l| l.strip_prefix("VIEW-TASK "))
        .take(count)
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            Task { name: w[0].into(), state: state_name(w[1].parse().unwrap()).into(), priority: w[2].parse().unwrap() }
        })
        .collect();
    (tasks, raw)
}

fn inspect(s: &Scenario) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_isrscope"))
        .args(["inspect", "--qemu", &s.machine, "--timeout", "20", "--format", "json", "--elf"])
        .arg(elf(s))
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{}: {e}: {}", s.name, String::from_utf8_lossy(&out.stderr)))
}

fn names(report: &Value) -> Vec<String> {
    report["backtrace"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| if e["kind"] == "exception" { "<exception>".into() } else { e["function"].as_str().unwrap_or("??").to_string() })
        .collect()
}

#[test]
fn every_sample_stops_with_the_tasks_its_manifest_lists() {
    let all = scenarios();
    assert!(!all.is_empty());
    for s in &all {
        assert!(Path::new(&elf(s)).exists(), "{} is not built (firmware-samples/build.sh)", s.elf);
        let (mut seen, raw) = firmware_view(s);
        let mut wanted = s.tasks.clone();
        seen.sort();
        wanted.sort();
        assert_eq!(seen, wanted, "{}: the firmware's own view of its tasks:\n{raw}", s.name);
        assert!(raw.contains(&format!("{} ()", s.stop_at)) || raw.contains(&format!("{} (", s.stop_at)), "{}: gdb did not stop at {}:\n{raw}", s.name, s.stop_at);
    }
}

#[test]
fn the_running_task_unwinds_to_its_entry_function_and_ends_there() {
    for s in &scenarios() {
        let r = inspect(s);
        assert_eq!(r["exception"]["name"], s.exception.as_str(), "{}: {r}", s.name);
        let got = names(&r);
        let got: Vec<&str> = got.iter().map(String::as_str).collect();
        let wanted: Vec<&str> = s.backtrace.iter().map(String::as_str).collect();
        assert!(is_subsequence(&wanted, &got), "{}: backtrace {got:?} does not hold {wanted:?}", s.name);
        assert_eq!(got.last(), wanted.last(), "{}: the unwind goes past the task's entry: {got:?}", s.name);
        let end = r["backtrace_end"].as_str().unwrap_or("");
        assert!(end.contains("task's entry function") && end.contains("prvTaskExitError"), "{}: ends with {end:?}", s.name);
        let codes: Vec<&str> = r["findings"].as_array().into_iter().flatten().filter_map(|f| f["code"].as_str()).collect();
        assert!(!codes.contains(&"unwind-incomplete"), "{}: {codes:?}", s.name);
    }
}
