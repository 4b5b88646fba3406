//! `probe-rs-unwind-bench ELF DUMP [REPEAT]`: loads ELF's debug information with
//! probe-rs-debug, unwinds the probe-rs coredump DUMP with it REPEAT times (default 1),
//! and prints one JSON object: the load time, the median unwind time, the peak resident
//! memory, and the frames of the first unwind (function, file, line, inlined, pc).
//!
//! This is how probe-rs' own tools unwind (`probe-rs run` on a HardFault, the DAP
//! server's stack trace): `DebugInfo::from_file`, `DebugRegisters::from_coredump`,
//! `exception_handler_for_core`, `DebugInfo::unwind` with up to 1,000 frames.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use probe_rs::CoreDump;
use probe_rs_debug::{DebugInfo, DebugRegisters, exception_handler_for_core};
use serde_json::{Value, json};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(elf), Some(dump)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: probe-rs-unwind-bench ELF DUMP [REPEAT]");
        return ExitCode::from(2);
    };
    let repeat: usize = args.get(3).and_then(|r| r.parse().ok()).unwrap_or(1).max(1);
    match run(elf, dump, repeat) {
        Ok(v) => {
            println!("{v}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("probe-rs-unwind-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(elf: &str, dump: &str, repeat: usize) -> Result<Value, String> {
    let started = Instant::now();
    let debug_info = DebugInfo::from_file(elf).map_err(|e| format!("{elf}: {e}"))?;
    let load = started.elapsed();
    let mut times = Vec::new();
    let mut first = None;
    for _ in 0..repeat {
        // Loaded anew each time: the unwind reads memory through it (nothing cached).
        let mut adapter = CoreDump::load(std::path::Path::new(dump)).map_err(|e| format!("{dump}: {e}"))?;
        let started = Instant::now();
        let registers = DebugRegisters::from_coredump(&adapter);
        let handler = exception_handler_for_core(adapter.core_type());
        let instruction_set = adapter.instruction_set();
        let frames = debug_info
            .unwind(&mut adapter, registers, handler.as_ref(), Some(instruction_set), 1000)
            .map_err(|e| format!("unwinding {dump}: {e}"))?;
        times.push(started.elapsed());
        first.get_or_insert(frames);
    }
    times.sort();
    let frames: Vec<Value> = first
        .unwrap_or_default()
        .iter()
        .map(|f| {
            let loc = f.source_location.as_ref();
            json!({
                "function": f.function_name,
                "file": loc.map(|l| l.path.to_string_lossy().into_owned()),
                "line": loc.and_then(|l| l.line),
                "inlined": f.is_inlined,
                "pc": f.pc.to_string(),
            })
        })
        .collect();
    Ok(json!({
        "load_us": micros(load),
        "unwind_us": micros(times[times.len() / 2]),
        "peak_rss_kib": peak_rss_kib(),
        "frames": frames,
    }))
}

fn micros(d: Duration) -> u64 {
    d.as_micros() as u64
}

/// VmHWM from /proc/self/status (Linux), 0 where there is none.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
