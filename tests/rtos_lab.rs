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
use common::manifest::{backtrace_functions, is_subsequence};
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
    /// Stop at this symbol's entry (`--break-at`) instead of catching a fault.
    #[serde(default)]
    break_at: Option<String>,
    /// The firmware records its own view of its tasks (default true).
    #[serde(default = "yes")]
    own_view: bool,
    /// Finding codes the report must hold.
    #[serde(default)]
    findings: Vec<String>,
    /// A word the rtos-stack-overflow finding must name (the task).
    #[serde(default)]
    overflow_task: Option<String>,
    /// No fault comes: the report after this many seconds.
    #[serde(default)]
    timeout: Option<f64>,
    /// inspect's exit code, where it is not the fault class's.
    #[serde(default)]
    exit: Option<i32>,
    /// The tasks of the deadlock the report must find.
    #[serde(default)]
    deadlock: Vec<String>,
    /// The kernel's lists are expected corrupt.
    #[serde(default)]
    corrupt: bool,
    /// The FreeRTOS port the sample is built with.
    #[serde(default = "cm4f")]
    port: String,
    /// A phrase the running context's backtrace_end holds.
    #[serde(default = "entry_end")]
    backtrace_end: String,
}

fn entry_end() -> String {
    "task's entry function".into()
}

fn cm4f() -> String {
    "ARM_CM4F".into()
}

fn yes() -> bool {
    true
}

/// The arguments that make `inspect`/`capture` stop where the scenario stops.
fn stop_args(s: &Scenario) -> Vec<String> {
    let mut args = match &s.break_at {
        Some(b) => vec!["--break-at".into(), b.clone(), "--no-catch".into()],
        None => Vec::new(),
    };
    args.extend(["--timeout".into(), s.timeout.unwrap_or(20.0).to_string()]);
    args
}

/// The exit code a fault class's report has (docs/inspect.md).
fn class_exit(exception: &str) -> i32 {
    match exception {
        "HardFault" => 10,
        "MemManage" => 11,
        "BusFault" => 12,
        "UsageFault" => 13,
        _ => 0,
    }
}

#[derive(Deserialize, Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Task {
    name: String,
    state: String,
    priority: u32,
    /// (manifest) what a blocked task waits on: a word the description must hold.
    #[serde(default)]
    waits_on: Option<String>,
    /// (manifest) a switched-out task's functions from its saved context.
    #[serde(default)]
    backtrace: Vec<String>,
    /// (manifest) the port saved S16-S31 and an extended frame for the task.
    #[serde(default)]
    fp_context: Option<bool>,
    /// (manifest) the priority before mutex inheritance raised it.
    #[serde(default)]
    base_priority: Option<u32>,
    /// (manifest) the mutexes the task holds (registry names).
    #[serde(default)]
    holds: Vec<String>,
    /// (manifest) the holder of the mutex the task waits on.
    #[serde(default)]
    holder: Option<String>,
    /// (manifest) a float variable the task keeps in a callee-saved FP register across
    /// its sleep: its bits are among the saved S16-S31.
    #[serde(default)]
    fp_holds: Option<String>,
}

impl Task {
    fn new(name: &str, state: &str, priority: u32) -> Task {
        Task {
            name: name.into(),
            state: state.into(),
            priority,
            waits_on: None,
            backtrace: Vec::new(),
            fp_context: None,
            base_priority: None,
            holds: Vec::new(),
            holder: None,
            fp_holds: None,
        }
    }
}

/// One task of the firmware's own view: the manifest's fields and its stack high-water
/// mark (uxTaskGetSystemState's usStackHighWaterMark, in words).
struct Seen {
    task: Task,
    high_water_words: u32,
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
fn firmware_view(s: &Scenario) -> (Vec<Seen>, String) {
    let qemu = Qemu::start(&s.machine, &elf(s));
    let cmds = vec![
        "set language c".to_string(),
        format!("target remote {}", qemu.socket().display()),
        format!("break *{}", s.stop_at),
        "continue".into(),
    ];
    view_with(s, cmds)
}

/// The firmware's own view in a core file isrscope wrote (gdb-multiarch opens it).
fn firmware_view_in(s: &Scenario, core: &Path) -> (Vec<Seen>, String) {
    view_with(s, vec!["set language c".to_string(), format!("core-file {}", core.display())])
}

fn view_with(s: &Scenario, mut cmds: Vec<String>) -> (Vec<Seen>, String) {
    cmds.push("printf \"VIEW-COUNT %u\\n\", (unsigned)lab_rtos_view_count".into());
    for i in 0..10 {
        cmds.push(format!(
            "printf \"VIEW-TASK %s %u %u %u\\n\", lab_rtos_view[{i}].pcTaskName ? lab_rtos_view[{i}].pcTaskName : \"-\", (unsigned)lab_rtos_view[{i}].eCurrentState, (unsigned)lab_rtos_view[{i}].uxCurrentPriority, (unsigned)lab_rtos_view[{i}].usStackHighWaterMark"
        ));
    }
    cmds.push("bt".into());
    cmds.push("kill".into());
    let raw = run_batch(&elf(s), &cmds);
    parse_view(s, raw)
}

fn parse_view(s: &Scenario, raw: String) -> (Vec<Seen>, String) {
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
            Seen { task: Task::new(w[0], state_name(w[1].parse().unwrap()), w[2].parse().unwrap()), high_water_words: w[3].parse().unwrap() }
        })
        .collect();
    (tasks, raw)
}

/// `isrscope inspect --format json` at the scenario's stop: the report and the exit code.
fn inspect(s: &Scenario) -> (Value, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_isrscope"))
        .args(["inspect", "--qemu", &s.machine, "--format", "json", "--elf"])
        .arg(elf(s))
        .args(stop_args(s))
        .output()
        .unwrap();
    let r = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{}: {e}: {}", s.name, String::from_utf8_lossy(&out.stderr)));
    (r, out.status.code().unwrap_or(-1))
}

fn without_waits(tasks: &[Task]) -> Vec<Task> {
    tasks.iter().map(|t| Task::new(&t.name, &t.state, t.priority)).collect()
}

/// `isrscope capture` at the scenario's stop, into `dir`.
fn capture(s: &Scenario, dir: &Path) -> PathBuf {
    let core = dir.join("rtos.core");
    let out = Command::new(env!("CARGO_BIN_EXE_isrscope"))
        .args(["capture", "--qemu", &s.machine, "--elf"])
        .arg(elf(s))
        .args(stop_args(s))
        .arg("-o")
        .arg(&core)
        .output()
        .unwrap();
    assert!(core.exists(), "{}: capture: {}", s.name, String::from_utf8_lossy(&out.stderr));
    core
}


#[test]
fn every_sample_stops_with_the_tasks_its_manifest_lists() {
    let all = scenarios();
    assert!(!all.is_empty());
    for s in &all {
        assert!(Path::new(&elf(s)).exists(), "{} is not built (firmware-samples/build.sh)", s.elf);
        if !s.own_view {
            continue;
        }
        let (seen, raw) = firmware_view(s);
        let mut seen: Vec<Task> = seen.into_iter().map(|t| t.task).collect();
        let mut wanted = without_waits(&s.tasks);
        seen.sort();
        wanted.sort();
        assert_eq!(seen, wanted, "{}: the firmware's own view of its tasks:\n{raw}", s.name);
        assert!(raw.contains(&format!("{} ()", s.stop_at)) || raw.contains(&format!("{} (", s.stop_at)), "{}: gdb did not stop at {}:\n{raw}", s.name, s.stop_at);
    }
}

/// One `inspect` per scenario: the running task's backtrace through the exception to
/// its entry, the exit code, the findings, the deadlocks, and every switched-out task's
/// backtrace.
#[test]
fn the_running_task_unwinds_to_its_entry_function_and_ends_there() {
    for s in &scenarios() {
        let (r, code) = inspect(s);
        let exception = r["exception"]["name"].as_str().unwrap_or("none");
        // A stop after the timeout halts the core wherever it is: idle in thread mode,
        // or in the tick's interrupt.
        let tick = s.timeout.is_some() && exception == "SysTick";
        assert!(exception == s.exception || tick, "{}: exception {exception}, not {}: {r}", s.name, s.exception);
        assert_eq!(code, s.exit.unwrap_or_else(|| class_exit(&s.exception)), "{}: exit code", s.name);
        let got = backtrace_functions(&r);
        let got: Vec<&str> = got.iter().map(String::as_str).collect();
        let wanted: Vec<&str> = s.backtrace.iter().map(String::as_str).collect();
        assert!(is_subsequence(&wanted, &got), "{}: backtrace {got:?} does not hold {wanted:?}", s.name);
        assert_eq!(got.last(), wanted.last(), "{}: the unwind goes past the task's entry: {got:?}", s.name);
        let end = r["backtrace_end"].as_str().unwrap_or("");
        assert!(end.contains(&s.backtrace_end), "{}: ends with {end:?}", s.name);
        let codes: Vec<&str> = r["findings"].as_array().into_iter().flatten().filter_map(|f| f["code"].as_str()).collect();
        assert!(!codes.contains(&"unwind-incomplete"), "{}: {codes:?}", s.name);
        for f in &s.findings {
            assert!(codes.contains(&f.as_str()), "{}: no {f} in {codes:?}", s.name);
        }
        if let Some(task) = &s.overflow_task {
            let f = r["findings"].as_array().unwrap().iter().find(|f| f["code"] == "rtos-stack-overflow").unwrap();
            assert!(f["message"].as_str().unwrap().contains(&format!("\"{task}\"")), "{}: {f}", s.name);
        }
        // Only a deadlock the manifest names is found.
        let deadlocks = r["tasks"]["deadlocks"].as_array().cloned().unwrap_or_default();
        let tasks = r["tasks"]["tasks"].as_array().cloned().unwrap_or_default();
        let name_of = |tcb: &Value| tasks.iter().find(|t| &t["tcb"] == tcb).map(|t| t["name"].as_str().unwrap().to_string());
        let mut found: Vec<String> = deadlocks.iter().flat_map(|d| d["tasks"].as_array().unwrap().iter().filter_map(name_of)).collect();
        found.sort();
        let mut wanted = s.deadlock.clone();
        wanted.sort();
        assert_eq!(found, wanted, "{}: deadlocks {deadlocks:?}", s.name);
        assert!(deadlocks.iter().all(|d| d["forever"] == true), "{}: {deadlocks:?}", s.name);
        switched_out_tasks_unwind_from_their_saved_contexts(s, &r);
    }
}

/// isrscope's task list (the report's `tasks`, read from the kernel's lists with DWARF
/// layouts; here from a captured core, so `capture`/`analyze` are covered) against the manifest (names, states, priorities, what the blocked wait on)
/// and the firmware's own view: the stack high-water marks are the same where the task
/// has not run since the firmware took its view, and no higher for the one that ran on
/// to the fault (the exception frame, at least, went on its stack).
#[test]
fn capture_and_analyze_list_every_task_as_the_kernel_and_the_firmware_see_it() {
    for s in &scenarios() {
        // One stop for both views: a core isrscope captures, which gdb-multiarch reads
        // the firmware's view from and `isrscope analyze` lists the tasks of (a task's
        // stack depth changes from run to run with where the ticks land).
        let dir = tempfile::tempdir().unwrap();
        let core = capture(s, dir.path());
        let out = Command::new(env!("CARGO_BIN_EXE_isrscope")).args(["analyze", "--format", "json", "--elf"]).arg(elf(s)).arg(&core).output().unwrap();
        let r: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{}: {e}: {}", s.name, String::from_utf8_lossy(&out.stderr)));
        let list = &r["tasks"];
        assert_eq!(list["kernel"], "FreeRTOS", "{}: {r}", s.name);
        let problems = list["problems"].as_array().map(Vec::len).unwrap_or(0);
        assert_eq!(problems > 0, s.corrupt, "{}: problems {list}", s.name);
        let got: Vec<&Value> = list["tasks"].as_array().unwrap().iter().collect();
        let mut ours: Vec<Task> = got
            .iter()
            .map(|t| Task::new(t["name"].as_str().unwrap(), t["state"].as_str().unwrap(), t["priority"].as_u64().unwrap() as u32))
            .collect();
        let mut wanted = without_waits(&s.tasks);
        ours.sort();
        wanted.sort();
        assert_eq!(ours, wanted, "{}: isrscope's tasks {list}", s.name);
        for w in s.tasks.iter().filter(|t| t.waits_on.is_some()) {
            let t = got.iter().find(|t| t["name"] == w.name.as_str()).unwrap();
            let on = t["waiting_on"].as_str().unwrap_or("");
            assert!(on.contains(w.waits_on.as_deref().unwrap()), "{}: {} waits on {on:?}", s.name, w.name);
        }
        mutexes_as_gdb_sees_them(s, &core, &got);
        let running = list["current"].as_u64();
        // pxCurrentTCB is one of the tasks, and the running one if a task runs (inside a
        // context switch it is still the outgoing task, already in its new list).
        // (With a corrupt kernel it may be the corrupt TCB, which is not listed.)
        let corrupt = list["corrupt_tcbs"].as_array().is_some_and(|c| c.iter().any(|t| t.as_u64() == running));
        assert!(corrupt || got.iter().any(|t| t["tcb"].as_u64() == running), "{}: pxCurrentTCB {running:?} is no task's", s.name);
        if let Some(t) = got.iter().find(|t| t["state"] == "running") {
            assert_eq!(t["tcb"].as_u64(), running, "{}: pxCurrentTCB", s.name);
        }
        if !s.own_view {
            continue;
        }
        let (view, raw) = firmware_view_in(s, &core);
        for v in &view {
            let t = got.iter().find(|t| t["name"] == v.task.name.as_str()).unwrap();
            let untouched = t["stack"]["untouched_bytes"].as_u64().unwrap_or_else(|| panic!("{}: no stack use for {t}", s.name)) as u32;
            // The running task ran on to the fault; IDLE runs whenever every other task
            // sleeps (the samples' waits are tick by tick), so on a loaded machine it may
            // have gone deeper after the view: both may only have fewer bytes untouched.
            if v.task.state == "running" || v.task.name == "IDLE" {
                assert!(untouched <= v.high_water_words * 4, "{}: {}: {untouched} bytes untouched, the firmware saw {} words\n{raw}", s.name, v.task.name, v.high_water_words);
            } else {
                assert_eq!(untouched, v.high_water_words * 4, "{}: {}: the firmware's high-water mark\n{raw}", s.name, v.task.name);
            }
        }
    }
}

/// Each switched-out task's backtrace, unwound from the context the port saved
/// (R4-R11, EXC_RETURN, the hardware frame) through the same unwinder: the manifest's
/// functions, ending at the task's entry function.
fn switched_out_tasks_unwind_from_their_saved_contexts(s: &Scenario, r: &Value) {
    {
        let got = r["tasks"]["tasks"].as_array().unwrap();
        for w in s.tasks.iter().filter(|t| !t.backtrace.is_empty()) {
            let t = got.iter().find(|t| t["name"] == w.name.as_str()).unwrap();
            let names: Vec<&str> = t["backtrace"].as_array().unwrap().iter().map(|f| f["function"].as_str().unwrap_or("??")).collect();
            let wanted: Vec<&str> = w.backtrace.iter().map(String::as_str).collect();
            assert!(is_subsequence(&wanted, &names), "{}: task {}: {names:?} does not hold {wanted:?}", s.name, w.name);
            assert_eq!(names.last(), wanted.last(), "{}: task {}: {names:?}", s.name, w.name);
            let end = t["backtrace_end"].as_str().unwrap_or("");
            assert!(end.contains("task's entry function"), "{}: task {}: ends with {end:?}", s.name, w.name);
            if s.port == "ARM_CM3" {
                // R4-R11 and the hardware frame only: the backtrace coming out is the proof
                // the offsets are right.
                assert!(t["context"]["exc_return"].is_null() && t["context"]["fp"] == false, "{}: task {}: {t}", s.name, w.name);
            } else {
                assert!(t["context"]["exc_return"].as_u64().is_some_and(|e| e & 0xF == 0xD), "{}: task {}: {t}", s.name, w.name);
            }
            if let Some(fp) = w.fp_context {
                // EXC_RETURN bit 4 clear: S16-S31 saved and an extended frame.
                assert_eq!(t["context"]["fp"], fp, "{}: task {}: {t}", s.name, w.name);
                assert_eq!(t["context"]["exc_return"].as_u64().map(|e| e & 0x10 == 0), Some(fp), "{}: task {}: {t}", s.name, w.name);
            }
        }
    }
}

/// Who holds what and who waits for what, against the manifest and against
/// gdb-multiarch's reading of the same core (each mutex's `u.xSemaphore.xMutexHolder`,
/// through the handle's variable, whose name is the registry's): the holders isrscope
/// names, the priorities inheritance set.
fn mutexes_as_gdb_sees_them(s: &Scenario, core: &Path, got: &[&Value]) {
    let task = |name: &str| *got.iter().find(|t| t["name"] == name).unwrap_or_else(|| panic!("{}: no task {name}", s.name));
    let mut cmds = vec!["set language c".to_string(), format!("core-file {}", core.display())];
    for w in &s.tasks {
        let t = task(&w.name);
        if let Some(b) = w.base_priority {
            assert_eq!(t["base_priority"].as_u64(), Some(u64::from(b)), "{}: {}: {t}", s.name, w.name);
        }
        let holds: Vec<&str> = t["holds"].as_array().unwrap().iter().filter_map(|h| h.as_str()).collect();
        assert_eq!(holds.len(), w.holds.len(), "{}: {} holds {holds:?}", s.name, w.name);
        for m in &w.holds {
            assert!(holds.iter().any(|h| h.contains(&format!("\"{m}\""))), "{}: {} holds {holds:?}, not {m}", s.name, w.name);
            cmds.push(format!("printf \"HOLDER {m} %s\\n\", ((TCB_t *){m}->u.xSemaphore.xMutexHolder)->pcTaskName"));
        }
        if let Some(v) = &w.fp_holds {
            cmds.push(format!("printf \"FPBITS {v} %u\\n\", *(unsigned *)&{v}"));
        }
        if let Some(h) = &w.holder {
            let holder = t["wait"]["holder"].as_u64();
            assert_eq!(holder, task(h)["tcb"].as_u64(), "{}: {} waits on a mutex held by {holder:?}, not {h}", s.name, w.name);
            assert!(t["waiting_on"].as_str().unwrap().contains(&format!("held by \"{h}\"")), "{}: {t}", s.name);
        }
    }
    if cmds.len() == 2 {
        return;
    }
    // gdb reads the variable as the task last stored it, before it slept.
    let raw = run_batch(&elf(s), &cmds);
    for w in &s.tasks {
        for m in &w.holds {
            assert!(raw.contains(&format!("HOLDER {m} {}\n", w.name)), "{}: gdb: {m}'s holder is not {}:\n{raw}", s.name, w.name);
        }
        if let Some(v) = &w.fp_holds {
            let bits: u64 = raw
                .lines()
                .find_map(|l| l.strip_prefix(&format!("FPBITS {v} ")))
                .and_then(|b| b.trim().parse().ok())
                .unwrap_or_else(|| panic!("{}: gdb did not read {v}:\n{raw}", s.name));
            let saved = task(&w.name)["context"]["s"].as_array().unwrap_or_else(|| panic!("{}: {}: no saved S registers", s.name, w.name)).clone();
            assert_eq!(saved.len(), 32, "{}: {}", s.name, w.name);
            // S16-S31: the ones the port saved (S0-S15 are the hardware's).
            assert!(saved[16..].iter().any(|x| x.as_u64() == Some(bits)), "{}: {}: {v} = {bits:#x} is not among the saved S16-S31 {saved:?}", s.name, w.name);
        }
    }
}

/// Rewrites the 32-bit word at `address` in an ELF core file (the PT_LOAD that holds it).
fn patch_core(core: &Path, address: u32, value: u32) {
    use object::{Object, ObjectSegment};
    let mut bytes = std::fs::read(core).unwrap();
    let offset = {
        let file = object::File::parse(&bytes[..]).unwrap();
        let seg = file
            .segments()
            .find(|s| s.address() <= u64::from(address) && u64::from(address) + 4 <= s.address() + s.size())
            .unwrap_or_else(|| panic!("no segment holds {address:#x}"));
        (seg.file_range().0 + (u64::from(address) - seg.address())) as usize
    };
    bytes[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
    std::fs::write(core, bytes).unwrap();
}

/// A corrupt kernel gives findings and the tasks that could be read, never a hang: a
/// list that claims 1,000 items, and a list whose item points back at itself.
#[test]
fn corrupt_kernel_lists_are_findings_not_hangs() {
    let s = &scenarios()[0];
    let image = isrscope::debuginfo::Image::open(elf(s)).unwrap();
    let list = image.struct_layout(&["xLIST"]).unwrap();
    let item = image.struct_layout(&["xLIST_ITEM"]).unwrap();
    let sym = |n: &str| image.symbols().by_name(n).unwrap().address;
    let dir = tempfile::tempdir().unwrap();
    let core = capture(s, dir.path());
    // The delayed list claims 1,000 items.
    patch_core(&core, sym("xDelayedTaskList1") + list.offset("uxNumberOfItems").unwrap(), 1000);
    // The suspended list's first item points at itself (its list end points at it).
    let suspended = sym("xSuspendedTaskList");
    let end = suspended + list.offset("xListEnd").unwrap();
    let first = {
        let d = isrscope::coredump::CoreDump::open(&core).unwrap();
        let b = d.memory.get(end + item.offset("pxNext").unwrap(), 4).unwrap();
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    };
    patch_core(&core, first + item.offset("pxNext").unwrap(), first);
    patch_core(&core, suspended + list.offset("uxNumberOfItems").unwrap(), 2);
    let started = std::time::Instant::now();
    let out = Command::new("timeout")
        .arg("30")
        .arg(env!("CARGO_BIN_EXE_isrscope"))
        .args(["analyze", "--format", "json", "--elf"])
        .arg(elf(s))
        .arg(&core)
        .output()
        .unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "analyze took {:?}", started.elapsed());
    let r: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(out.status.code(), Some(12), "the BusFault's exit code: {}", String::from_utf8_lossy(&out.stderr));
    let problems: Vec<&str> = r["tasks"]["problems"].as_array().unwrap().iter().filter_map(|p| p.as_str()).collect();
    assert!(problems.iter().any(|p| p.contains("xDelayedTaskList1") && p.contains("1000")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("xSuspendedTaskList") && p.contains("cycle")), "{problems:?}");
    let codes: Vec<&str> = r["findings"].as_array().unwrap().iter().filter_map(|f| f["code"].as_str()).collect();
    assert!(codes.contains(&"rtos-tasks-incomplete"), "{codes:?}");
    // What could be read still is: the running task and the ready ones.
    let names: Vec<&str> = r["tasks"]["tasks"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
    assert!(names.contains(&"worker") && names.contains(&"IDLE"), "{names:?}");
}

/// Without DWARF (the symbol table kept, as `strip --strip-debug` leaves it): the tasks
/// are read with the offsets every configuration shares, and the report says the
/// layouts are a guess. Same stop (one core file), same tasks, states, priorities and
/// the queue a task waits on as with DWARF.
#[test]
fn without_dwarf_the_tasks_are_read_with_the_guessed_layouts_and_said_so() {
    let s = &scenarios()[0];
    let dir = tempfile::tempdir().unwrap();
    let core = capture(s, dir.path());
    let stripped = dir.path().join("stripped.elf");
    let st = Command::new("arm-none-eabi-strip").arg("--strip-debug").arg("-o").arg(&stripped).arg(elf(s)).status().unwrap();
    assert!(st.success());
    assert!(isrscope::debuginfo::Image::open(&stripped).unwrap().struct_layout(&["tskTaskControlBlock"]).is_none());
    let analyze = |e: &Path| -> Value {
        let out = Command::new(env!("CARGO_BIN_EXE_isrscope")).args(["analyze", "--format", "json", "--elf"]).arg(e).arg(&core).output().unwrap();
        serde_json::from_slice(&out.stdout).unwrap_or_else(|err| panic!("{err}: {}", String::from_utf8_lossy(&out.stderr)))
    };
    let (with, without) = (analyze(&elf(s)), analyze(&stripped));
    assert_eq!(with["tasks"]["layouts"], "dwarf");
    assert_eq!(without["tasks"]["layouts"], "guessed", "{}", without["tasks"]);
    let summary = |r: &Value| -> Vec<(String, String, u64, u64, u64, String)> {
        let mut v: Vec<_> = r["tasks"]["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["name"].as_str().unwrap().to_string(),
                    t["state"].as_str().unwrap().to_string(),
                    t["priority"].as_u64().unwrap(),
                    t["tcb"].as_u64().unwrap(),
                    t["stack"]["base"].as_u64().unwrap(),
                    t["waiting_on"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(summary(&without), summary(&with));
    assert_eq!(summary(&with).len(), s.tasks.len());
    let codes: Vec<&str> = without["findings"].as_array().unwrap().iter().filter_map(|f| f["code"].as_str()).collect();
    assert!(codes.contains(&"rtos-layout-guessed"), "{codes:?}");
    assert!(without["tasks"]["tasks"].as_array().unwrap().iter().all(|t| t["base_priority"].is_null()));
}
