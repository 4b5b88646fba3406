//! The FreeRTOS lab's tasks against an independent oracle: gdb-multiarch through
//! OpenOCD 0.12 with `-rtos FreeRTOS`, on the virtual probe's remote_bitbang door. At the
//! sample's stop, OpenOCD's thread list (`info threads`) must hold the same tasks as
//! isrscope's report (through OpenOCD, on the same run of the firmware), and each
//! switched-out task's `bt` (OpenOCD decodes the saved context itself) the same
//! functions as isrscope's task
//! backtrace, up to the task's entry function, where gdb goes on into the function
//! before prvTaskExitError (docs/rtos.md). The same stop through probe-rs (`--chip`,
//! the virtual probe's BMP door) lists the same tasks with the same backtraces: the
//! task walk is backend-neutral, and here it is shown to be.

mod support;

use std::process::Command;

use serde_json::Value;
use support::{OpenOcd, Vprobe, isrscope, root};

/// gdb's view of every thread, at the stop where the core is now (attaching halts it):
/// (thread name as OpenOCD gives it, its backtrace's functions).
fn gdb_threads(elf: &std::path::Path, port: u16) -> (Vec<(String, Vec<String>)>, String) {
    let out = Command::new("timeout")
        .args(["120", "gdb-multiarch", "-batch", "-nx"])
        .arg(elf)
        .args(["-ex", &format!("target remote localhost:{port}")])
        .args(["-ex", "info threads", "-ex", "thread apply all bt", "-ex", "detach"])
        .output()
        .unwrap();
    let raw = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let mut threads: Vec<(String, Vec<String>)> = Vec::new();
    for line in raw.lines() {
        // "Thread 3 (Thread 536873856 "sensor" (Name: sensor, State: Blocked)):" and
        // gdb 13's variants: the task name is what OpenOCD puts in quotes.
        if line.starts_with("Thread ") && line.trim_end().ends_with(':') {
            let name = line.split('"').nth(1).unwrap_or("?").to_string();
            threads.push((name, Vec::new()));
        } else if let (Some(t), true) = (threads.last_mut(), line.starts_with('#')) {
            // "#1  0x080002de in sensor_task (arg=...) at ..." or "#0  xQueueReceive (...) at"
            let rest = line.split_whitespace().skip(1).collect::<Vec<_>>();
            let f = if rest.get(1) == Some(&"in") { rest.get(2) } else { rest.first() };
            if let Some(f) = f {
                t.1.push(f.to_string());
            }
        }
    }
    (threads, raw)
}

/// task-busfault (tasks in every state), and isr-over-task (saved contexts with and
/// without S16-S31: OpenOCD's FreeRTOS support must tell the two frame sizes apart).
#[test]
fn openocd_rtos_freertos_sees_the_tasks_isrscope_reports() {
    for (sample, switched_out) in [("task-busfault", 4), ("isr-over-task", 3)] {
        compare_with_openocd(sample, switched_out);
    }
}

fn compare_with_openocd(sample: &str, switched_out: usize) {
    let elf = root().join(format!("firmware-samples/build/freertos/{sample}.elf"));
    // isrscope through OpenOCD (plain configuration): the report's tasks.
    let vp = Vprobe::start_serving("netduinoplus2", &elf, "bitbang");
    let ocd = OpenOcd::start(vp.port).unwrap();
    let out = isrscope()
        .args(["inspect", "--gdb", &format!("localhost:{}", ocd.gdb_port), "--timeout", "30", "--format", "json", "--elf"])
        .arg(&elf)
        .output()
        .unwrap();
    drop(ocd);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(r["exception"]["name"], "BusFault", "{r}");
    let ours = r["tasks"]["tasks"].as_array().unwrap().clone();

    // gdb through OpenOCD with -rtos FreeRTOS, on the same run: isrscope left the core
    // running on in BusFault_Handler's endless loop, where no task switches any more
    // (two runs would differ: QEMU's SysTick follows the host's clock, and under load a
    // task can be caught elsewhere).
    let ocd = OpenOcd::start_with(vp.port, &["stm32f4.cpu configure -rtos FreeRTOS"]).unwrap();
    let (threads, raw) = gdb_threads(&elf, ocd.gdb_port);
    drop(ocd);

    let mut names: Vec<&str> = threads.iter().map(|(n, _)| n.as_str()).collect();
    let mut our_names: Vec<&str> = ours.iter().filter_map(|t| t["name"].as_str()).collect();
    names.sort();
    our_names.sort();
    assert_eq!(names, our_names, "OpenOCD's threads against isrscope's tasks:\n{raw}");
    let mut compared = 0;
    for t in &ours {
        let name = t["name"].as_str().unwrap();
        // IDLE is preempted wherever the tick lands: its frames differ from run to run.
        if name == "IDLE" || t["backtrace"].as_array().unwrap().is_empty() {
            continue;
        }
        let ours: Vec<&str> = t["backtrace"].as_array().unwrap().iter().filter_map(|f| f["function"].as_str()).collect();
        let gdb = &threads.iter().find(|(n, _)| n == name).unwrap().1;
        // gdb's list goes on past the task's entry (the function before prvTaskExitError).
        assert!(gdb.len() >= ours.len() && gdb[..ours.len()].iter().zip(&ours).all(|(g, o)| g == o), "task {name}: OpenOCD+gdb {gdb:?}, isrscope {ours:?}\n{raw}");
        eprintln!("{sample}: task {name}: isrscope {ours:?}, OpenOCD+gdb {gdb:?}");
        compared += 1;
    }
    assert_eq!(compared, switched_out, "{sample}: every switched-out task but IDLE compared:\n{raw}");
}

/// What the report's tasks say, comparably: (name, state, priority, waiting_on, functions).
fn task_summary(r: &Value) -> Vec<(String, String, u64, String, Vec<String>)> {
    let mut out: Vec<_> = r["tasks"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let f = t["backtrace"].as_array().unwrap().iter().filter_map(|f| f["function"].as_str().map(String::from)).collect();
            let name = t["name"].as_str().unwrap().to_string();
            // IDLE is preempted wherever the tick lands: its frames differ from run to run.
            let f = if name == "IDLE" { Vec::new() } else { f };
            (name, t["state"].as_str().unwrap().to_string(), t["priority"].as_u64().unwrap(), t["waiting_on"].as_str().unwrap_or("").to_string(), f)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn the_probe_rs_path_lists_the_same_tasks_as_the_gdb_path() {
    let elf = root().join("firmware-samples/build/freertos/task-busfault.elf");
    let report = |args: &[String]| -> Value {
        let out = isrscope().args(["inspect", "--timeout", "30", "--format", "json"]).args(args).arg("--elf").arg(&elf).output().unwrap();
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stderr)))
    };
    let vp = Vprobe::start("netduinoplus2", &elf, "bmp");
    let probe = report(&["--chip".into(), "STM32F407VG".into(), "--protocol".into(), "swd".into(), "--probe".into(), vp.selector()]);
    drop(vp);
    let gdb = report(&["--qemu".into(), "netduinoplus2".into()]);
    assert_eq!(probe["exception"]["name"], "BusFault", "{probe}");
    let (p, g) = (task_summary(&probe), task_summary(&gdb));
    assert_eq!(p.len(), 6, "{p:?}");
    assert_eq!(p, g, "probe-rs path against QEMU's gdbstub");
}
