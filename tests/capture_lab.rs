//! `isrscope capture` against a QEMU it did not start (a GDB server, as on a lab rack):
//! what the dump holds, and that the target is left as it was found (on the wire,
//! through the counting proxy, and in what the core does next); and the progress bar
//! for large captures, on a terminal only.

mod common;
mod support_fake_gdb;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::lab::Qemu;
use common::manifest;
use support_fake_gdb::proxy::Proxy;
use isrscope::coredump::{CoreDump, RegionKind, SavedStop, Span};

fn isrscope() -> Command {
    Command::new(env!("CARGO_BIN_EXE_isrscope"))
}

fn capture(qemu: &Qemu, elf: &Path, out: &Path, extra: &[&str]) -> CoreDump {
    let sock = format!("unix:{}", qemu.socket().display());
    let o = isrscope()
        .args(["capture", "--gdb", &sock, "--timeout", "20", "--elf"])
        .arg(elf)
        .arg("-o")
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    assert!(o.status.success(), "capture {extra:?}: {}", String::from_utf8_lossy(&o.stderr));
    CoreDump::open(out).unwrap()
}

#[test]
fn a_capture_holds_registers_system_blocks_ram_and_metadata() {
    let s = manifest::load().into_iter().find(|s| s.name == "c-psp-fp").unwrap();
    let qemu = Qemu::start(&s.machine, &s.elf_path());
    let dir = tempfile::tempdir().unwrap();
    let dump = capture(&qemu, &s.elf_path(), &dir.path().join("a.core"), &["--halt"]);
    let m = &dump.meta;
    // Every register the live target has, FP and system registers included.
    for r in ["r0", "r12", "sp", "lr", "pc", "xpsr", "msp", "psp", "control", "primask", "basepri", "faultmask", "fpscr", "s0", "s31"] {
        assert!(m.registers.contains_key(r), "no {r} in {:?}", m.registers.keys());
    }
    assert_eq!(m.registers["xpsr"] & 0x1ff, 5, "stopped in BusFault");
    // The stop, CPUID (Cortex-M4), when, and the firmware's identity.
    assert!(matches!(m.stop, Some(SavedStop::Breakpoint { .. })), "{:?}", m.stop);
    assert_eq!(m.cpuid.map(|c| (c >> 4) & 0xfff), Some(0xc24));
    assert!(m.captured_at.as_deref().is_some_and(|t| t.len() == 20 && t.ends_with('Z')));
    let id = m.elf.as_ref().unwrap();
    assert_eq!(id.sha256.as_ref().map(String::len), Some(64));
    assert!(m.target.as_deref().unwrap().starts_with("gdb-remote"));
    // RAM from the ELF's map, and the system blocks at their addresses.
    let ram = m.regions.iter().find(|r| r.kind == RegionKind::Ram).unwrap();
    assert!(ram.missing.is_empty());
    assert!(dump.memory.get(ram.start, ram.len as usize).is_some());
    for (name, addr) in [("scb", 0xE000_ED00u32), ("fpu", 0xE000_EF34), ("nvic-iser", 0xE000_E100), ("mpu", 0xE000_ED90)] {
        assert!(m.regions.iter().any(|r| r.name == name && r.start == addr), "no {name}");
        assert!(dump.memory.get(addr, 4).is_some(), "{name} at {addr:#x} not captured");
    }
    // The system registers, also by name in the note.
    assert_eq!(m.system_registers.get("cpuid").copied(), m.cpuid);
    assert!(m.system_registers.contains_key("cfsr") && m.system_registers.contains_key("fpccr"));
    // The gdb view: at the BusFault entry from a PSP thread, NT_PRSTATUS carries PSP.
    assert_eq!(m.gdb_sp, Some(m.registers["psp"]));
}

/// Captures through a counting proxy in front of `qemu`; returns the dump and the
/// client's packets.
fn capture_via_proxy(qemu: &Qemu, elf: &Path, out: &Path, extra: &[&str]) -> (CoreDump, Vec<String>) {
    let proxy = Proxy::start(&qemu.socket());
    let o = isrscope()
        .args(["capture", "--timeout", "20", "--gdb"])
        .arg(format!("unix:{}", proxy.socket().display()))
        .arg("--elf")
        .arg(elf)
        .arg("-o")
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    assert!(o.status.success(), "capture {extra:?}: {}", String::from_utf8_lossy(&o.stderr));
    std::thread::sleep(Duration::from_millis(100));
    (CoreDump::open(out).unwrap(), proxy.requests())
}

/// Breakpoints inserted (`Z`) and not removed (`z`, or QEMU's `D`) by the end.
fn breakpoints_left(requests: &[String]) -> Vec<String> {
    let mut inserted: Vec<String> = Vec::new();
    for r in requests {
        if let Some(bp) = r.strip_prefix('Z') {
            inserted.push(bp.to_string());
        } else if let Some(bp) = r.strip_prefix('z')
            && let Some(i) = inserted.iter().position(|b| b == bp)
        {
            inserted.remove(i);
        } else if r == "D" {
            // QEMU's detach removes every breakpoint (proven in tests/gdb_packet_count.rs).
            inserted.clear();
        }
    }
    inserted
}

/// The packets that make the core run, step or stop being debugged.
fn run_control(requests: &[String]) -> Vec<&str> {
    requests
        .iter()
        .map(String::as_str)
        .filter(|r| matches!(*r, "c" | "s" | "D" | "k") || r.starts_with("vCont;") || r.starts_with(['C', 'S']) && r.len() <= 3)
        .collect()
}

#[test]
fn capture_leaves_the_target_as_found() {
    let s = manifest::load().into_iter().find(|s| s.name == "c-busfault").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let elf = s.elf_path();

    // --halt, waiting for the fault: fault catching's breakpoints are all removed and
    // the last run-control packet is the continue that ran to the fault; no `D` (which
    // would let QEMU run on). A second capture sees the core exactly there.
    let qemu = Qemu::start(&s.machine, &elf);
    let (a, wire) = capture_via_proxy(&qemu, &elf, &dir.path().join("a.core"), &["--halt"]);
    assert!(wire.iter().any(|r| r.starts_with('Z')), "fault catching set breakpoints: {wire:?}");
    assert_eq!(breakpoints_left(&wire), Vec::<String>::new(), "breakpoints left behind");
    let control = run_control(&wire);
    assert!(control.last().is_some_and(|c| *c == "c" || c.starts_with("vCont;c")), "left halted at the fault: {control:?}");
    let (b, wire) = capture_via_proxy(&qemu, &elf, &dir.path().join("b.core"), &["--no-wait", "--halt"]);
    assert_eq!(run_control(&wire), Vec::<&str>::new(), "--no-wait --halt never runs the core");
    assert_eq!(breakpoints_left(&wire), Vec::<String>::new());
    assert_eq!(a.meta.registers["pc"], b.meta.registers["pc"], "a halted core stays halted");
    assert_eq!(b.meta.registers["xpsr"] & 0x1ff, 5, "in the BusFault handler");

    // Without --halt the core is let run at the end (`D`: a GDB server halts the core
    // when a client attaches, so "as found" is running), with no breakpoint left: it
    // reaches its fault by itself, as built.
    let qemu = Qemu::start(&s.machine, &elf);
    let (c, wire) = capture_via_proxy(&qemu, &elf, &dir.path().join("c.core"), &["--no-wait"]);
    assert_eq!(c.meta.registers["xpsr"] & 0x1ff, 0, "at reset: thread mode");
    assert_eq!(breakpoints_left(&wire), Vec::<String>::new());
    assert_eq!(run_control(&wire).last(), Some(&"D"), "the core was not let run: {wire:?}");
    std::thread::sleep(Duration::from_millis(300));
    let (d, _) = capture_via_proxy(&qemu, &elf, &dir.path().join("d.core"), &["--no-wait", "--halt"]);
    assert_eq!(d.meta.registers["xpsr"] & 0x1ff, 5, "it ran on into the BusFault handler");
    // Waiting for the fault without --halt: catching's breakpoints set and removed, `D`.
    let qemu = Qemu::start(&s.machine, &elf);
    let (e, wire) = capture_via_proxy(&qemu, &elf, &dir.path().join("e.core"), &[]);
    assert!(e.meta.stop.is_some());
    assert!(wire.iter().any(|r| r.starts_with('Z')), "{wire:?}");
    assert_eq!(breakpoints_left(&wire), Vec::<String>::new());
    assert_eq!(run_control(&wire).last(), Some(&"D"), "{wire:?}");
}

#[test]
fn user_regions_replace_the_elf_map_and_the_report_stays_whole() {
    let s = manifest::load().into_iter().find(|s| s.name == "c-busfault").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let elf = s.elf_path();
    let qemu = Qemu::start(&s.machine, &elf);
    let core = dir.path().join("u.core");
    let dump = capture(&qemu, &elf, &core, &["--region", "0x20000000:4K", "--region", "0x60000000:16", "--halt"]);
    let user: Vec<_> = dump.meta.regions.iter().filter(|r| r.kind == RegionKind::User).collect();
    assert_eq!(user.len(), 2);
    assert!(!dump.meta.regions.iter().any(|r| r.kind == RegionKind::Ram));
    assert_eq!(user[0].missing, vec![], "RAM reads");
    assert_eq!(user[1].missing, vec![Span { start: 0x6000_0000, len: 16 }], "nothing answers at 0x60000000");
    assert!(dump.memory.len() < 16 * 1024, "not the whole RAM: {} bytes", dump.memory.len());
    // What the analysis read at capture (the stack) is in the dump regardless.
    let out = isrscope().args(["analyze", "--format", "json", "--elf"]).arg(&elf).arg(&core).output().unwrap();
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let codes: Vec<&str> = r["findings"].as_array().unwrap().iter().filter_map(|f| f["code"].as_str()).collect();
    assert!(!codes.contains(&"dump-missing-memory"), "{codes:?}");
    let functions: Vec<&str> = r["backtrace"].as_array().unwrap().iter().filter_map(|e| e["function"].as_str()).collect();
    assert!(functions.contains(&"sensor_read") && functions.contains(&"main"), "{functions:?}");
}

#[test]
fn a_capture_without_a_fault_keeps_what_inspect_says() {
    let s = manifest::load().into_iter().find(|s| s.name == "c-vectors-good").expect("c-vectors-good runs without a fault");
    let dir = tempfile::tempdir().unwrap();
    let elf = s.elf_path();
    let core = dir.path().join("quiet.core");
    let o = isrscope().args(["capture", "--qemu", &s.machine, "--timeout", "1", "--elf"]).arg(&elf).arg("-o").arg(&core).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report = |args: &[&str]| -> serde_json::Value {
        let o = isrscope().args(args).args(["--format", "json", "--elf"]).arg(&elf).output().unwrap();
        let mut r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        r["target"].as_object_mut().unwrap().remove("description");
        r
    };
    let post = report(&["analyze", core.to_str().unwrap()]);
    assert!(post["summary"].as_str().unwrap().starts_with("No fault within 1 s"), "{}", post["summary"]);
    let live = report(&["inspect", "--qemu", &s.machine, "--timeout", "1"]);
    assert_eq!(live["summary"], post["summary"]);
    assert_eq!(live["target"], post["target"]);
}

/// Runs `command` in a shell on a private tmux server (a real terminal) and returns
/// every byte it wrote to the terminal (`pipe-pane`), so a progress bar that is
/// cleared at the end is still seen.
fn on_a_terminal(command: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let (log, done) = (dir.path().join("pane.log"), dir.path().join("done"));
    // A server of its own per call: reusing a name races with the previous server's exit.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let server = format!("isrscope-capture-{}-{call}", std::process::id());
    let tmux = |args: &[&str]| Command::new("tmux").arg("-L").arg(&server).args(args).output().expect("tmux (run scripts/setup.sh)");
    let out = tmux(&["new-session", "-d", "-s", "t", "-x", "120", "-y", "30", "env", "TERM=xterm-256color", "bash", "--norc", "--noprofile"]);
    assert!(out.status.success(), "tmux: {}", String::from_utf8_lossy(&out.stderr));
    assert!(tmux(&["pipe-pane", "-o", "-t", "t", &format!("cat >> {}", log.display())]).status.success());
    let _ = tmux(&["send-keys", "-t", "t", &format!("{command}; echo $? > {}", done.display()), "Enter"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !done.exists() {
        assert!(std::time::Instant::now() < deadline, "{command} did not finish");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(200));
    let _ = tmux(&["kill-server"]);
    assert_eq!(std::fs::read_to_string(&done).unwrap().trim(), "0", "{command}");
    String::from_utf8_lossy(&std::fs::read(&log).unwrap_or_default()).into_owned()
}

/// From 256 KiB on, a progress bar on a terminal (stderr), none when stderr is piped;
/// below 256 KiB none either. netduinoplus2 maps 128 KiB SRAM, 64 KiB CCM at
/// 0x10000000 and 1 MiB flash: 128K + 64K + 64K of flash make the 256 KiB.
#[test]
fn large_captures_show_progress_on_a_terminal_only() {
    let s = manifest::load().into_iter().find(|s| s.name == "c-busfault").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let regions = ["--region", "0x20000000:128K", "--region", "0x10000000:64K", "--region", "0x08000000:64K"];
    let command = |out: &str, regions: &[&str]| {
        format!(
            "{} capture --qemu {} --no-wait --elf {} -o {} {}",
            env!("CARGO_BIN_EXE_isrscope"),
            s.machine,
            s.elf_path().display(),
            dir.path().join(out).display(),
            regions.join(" ")
        )
    };
    let terminal = on_a_terminal(&command("big.core", &regions));
    assert!(terminal.contains("capturing RAM"), "no progress bar on the terminal:\n{terminal}");
    assert!(terminal.contains("256.00 KiB"), "the bar counts the 256 KiB asked for:\n{terminal}");
    let big = CoreDump::open(dir.path().join("big.core")).unwrap();
    assert!(big.memory.len() >= 256 * 1024, "{} bytes", big.memory.len());

    let small = on_a_terminal(&command("small.core", &regions[..4]));
    assert!(!small.contains("capturing RAM"), "a bar below 256 KiB:\n{small}");
    assert!(small.contains("isrscope: wrote"), "{small}");

    let piped = Command::new("sh").arg("-c").arg(command("piped.core", &regions)).output().unwrap();
    assert!(piped.status.success());
    let stderr = String::from_utf8_lossy(&piped.stderr);
    assert!(!stderr.contains("capturing RAM") && stderr.contains("isrscope: wrote"), "a bar on a pipe:\n{stderr}");
}
