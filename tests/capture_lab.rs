//! `isrscope capture` against a QEMU it did not start (a GDB server, as on a lab rack):
//! what the dump holds, and that the target is left as it was found.

mod common;

use std::path::Path;
use std::process::Command;

use common::lab::Qemu;
use common::manifest;
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

#[test]
fn capture_leaves_the_target_as_found() {
    let s = manifest::load().into_iter().find(|s| s.name == "c-busfault").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let elf = s.elf_path();

    // QEMU waits at reset (halted). --halt keeps it there: two captures agree.
    let qemu = Qemu::start(&s.machine, &elf);
    let a = capture(&qemu, &elf, &dir.path().join("a.core"), &["--no-wait", "--halt"]);
    let b = capture(&qemu, &elf, &dir.path().join("b.core"), &["--no-wait", "--halt"]);
    assert_eq!(a.meta.registers["pc"], b.meta.registers["pc"], "a halted core stays halted");
    assert_eq!(a.meta.registers["xpsr"] & 0x1ff, 0, "at reset: thread mode");

    // Without --halt the core runs on after the capture (a GDB server halts it when a
    // client attaches; "as found" is running): it reaches its fault.
    let qemu = Qemu::start(&s.machine, &elf);
    let _ = capture(&qemu, &elf, &dir.path().join("c.core"), &["--no-wait"]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let d = capture(&qemu, &elf, &dir.path().join("d.core"), &["--no-wait", "--halt"]);
    assert_eq!(d.meta.registers["xpsr"] & 0x1ff, 5, "it ran on into the BusFault handler");
    // And no breakpoint of isrscope's is left in the code: the handler runs as built.
    let e = capture(&qemu, &elf, &dir.path().join("e.core"), &["--halt"]);
    assert!(e.meta.stop.is_some());
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
