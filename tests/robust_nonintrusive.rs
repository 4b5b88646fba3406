//! Non-intrusiveness on QEMU: after `inspect`, `vectors` and `capture` (with `--halt`,
//! so there is a "before" to compare with), the core's registers (core, system, FP)
//! and memory (RAM, the SCB and NVIC blocks, the start of flash) equal what they were
//! before, read by a separate RSP client on the same QEMU; and on the wire (through
//! the counting proxy) the command wrote nothing (`M`, `X`, `P`, `G`, monitor resets)
//! and removed every breakpoint it set (each `Z` has its `z`). Without `--halt`, the
//! wire checks still hold and the command ends by letting the core run (`D`).

mod common;
mod support_fake_gdb;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::lab::Qemu;
use common::manifest;
use isrscope::target::catch::{self, CatchOptions};
use isrscope::target::gdb::{ConnectOptions, GdbTarget};
use isrscope::target::{Registers, Target, TargetError};
use support_fake_gdb::proxy::Proxy;

fn connect(socket: &Path) -> GdbTarget {
    let address = format!("unix:{}", socket.display());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match GdbTarget::connect(&address, &ConnectOptions::default()) {
            Ok(t) => return t,
            Err(TargetError::Connect { .. }) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(e) => panic!("connect: {e}"),
        }
    }
}

/// What must not change: every register and the memory a tool could touch.
#[derive(Debug, PartialEq)]
struct State {
    registers: Registers,
    memory: Vec<(u32, Vec<u8>)>,
}

const AREAS: [(u32, usize); 4] = [
    (0x2000_0000, 0x2_0000), // RAM (netduinoplus2: 128 KiB)
    (0xe000_ed00, 0x40),     // SCB fault block
    (0xe000_e100, 0x300),    // NVIC enable, pending, active
    (0x0800_0000, 0x1000),   // vector table and code (software breakpoints in memory)
];

fn snapshot(socket: &Path) -> State {
    let mut t = connect(socket);
    let registers = t.read_registers().unwrap();
    let memory = AREAS
        .iter()
        .map(|&(a, n)| {
            let mut buf = vec![0u8; n];
            t.read_memory(a, &mut buf).unwrap();
            (a, buf)
        })
        .collect();
    t.detach(false).unwrap(); // leaves QEMU halted
    State { registers, memory }
}

/// The client's packets must hold no write and leave no breakpoint behind.
fn wire_checks(what: &str, requests: &[String]) -> Result<(), String> {
    let mut inserted: Vec<String> = Vec::new();
    for r in requests {
        if r.starts_with(['M', 'X', 'P', 'G']) || r.starts_with("qRcmd") {
            return Err(format!("{what}: wrote to the target: {r}"));
        }
        if let Some(bp) = r.strip_prefix('Z') {
            inserted.push(bp.to_string());
        } else if let Some(bp) = r.strip_prefix('z') {
            let Some(i) = inserted.iter().position(|b| b == bp) else {
                return Err(format!("{what}: removed a breakpoint it never set: z{bp}"));
            };
            inserted.remove(i);
        } else if r == "D" {
            // QEMU's detach removes every breakpoint (proven in tests/gdb_packet_count.rs).
            inserted.clear();
        }
    }
    if inserted.is_empty() {
        Ok(())
    } else {
        Err(format!("{what}: breakpoints left behind: {inserted:?}"))
    }
}

fn first_difference(a: &State, b: &State) -> Option<String> {
    if a.registers != b.registers {
        return Some(format!("registers: {:?} -> {:?}", a.registers, b.registers));
    }
    for ((addr, x), (_, y)) in a.memory.iter().zip(&b.memory) {
        if let Some(i) = x.iter().zip(y).position(|(p, q)| p != q) {
            return Some(format!(
                "memory at {:#010x}: {:#04x} -> {:#04x}",
                *addr as usize + i,
                x[i],
                y[i]
            ));
        }
    }
    None
}

#[test]
fn inspect_vectors_and_capture_leave_the_target_as_found() {
    let s = manifest::load().into_iter().find(|s| s.name == "c-isr-fault").unwrap();
    let elf = s.elf_path();
    let qemu = Qemu::start(&s.machine, &elf);
    // Run to the fault with a separate client, then leave QEMU halted there.
    {
        let mut t = connect(&qemu.socket());
        let mut armed = catch::arm(&mut t, &CatchOptions::default()).unwrap();
        catch::run_to_fault(&mut t, &armed, Duration::from_secs(20)).unwrap().expect("the lab fault");
        armed.disarm(&mut t).unwrap();
        t.detach(false).unwrap();
    }
    let before = snapshot(&qemu.socket());
    let dir = tempfile::tempdir().unwrap();
    let core = dir.path().join("fault.core");
    let elf_s = elf.to_str().unwrap();
    let core_s = core.to_str().unwrap();
    let commands: Vec<(&str, Vec<&str>, &[i32])> = vec![
        ("inspect --halt", vec!["inspect", "--elf", elf_s, "--halt"], &[12]),
        ("inspect --no-wait --halt", vec!["inspect", "--elf", elf_s, "--no-wait", "--halt"], &[12]),
        ("vectors --halt", vec!["vectors", "--elf", elf_s, "--halt"], &[0, 3]),
        ("capture --halt", vec!["capture", "--elf", elf_s, "--halt", "--output", core_s], &[0, 12]),
    ];
    let mut failures = Vec::new();
    for (what, args, codes) in commands {
        let proxy = Proxy::start(&qemu.socket());
        let out = Command::new(env!("CARGO_BIN_EXE_isrscope"))
            .args(&args)
            .arg("--gdb")
            .arg(format!("unix:{}", proxy.socket().display()))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        if !out.status.code().is_some_and(|c| codes.contains(&c)) {
            failures.push(format!("{what}: {:?}: {err}", out.status));
            continue;
        }
        std::thread::sleep(Duration::from_millis(100));
        let requests = proxy.requests();
        eprintln!("{what}: {} packets, {} breakpoints", requests.len(), requests.iter().filter(|r| r.starts_with('Z')).count());
        if requests.len() < 10 {
            failures.push(format!("{what}: only {} packets: did it read the target?", requests.len()));
        }
        if let Err(e) = wire_checks(what, &requests) {
            failures.push(e);
        }
        let after = snapshot(&qemu.socket());
        if let Some(d) = first_difference(&before, &after) {
            failures.push(format!("{what} changed the target: {d}"));
        }
    }
    assert!(core.exists(), "capture wrote {core_s}");
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Without `--halt` the core is let run at the end (`D`), still with no write and no
/// breakpoint left, whether a fault was caught or the wait timed out.
#[test]
fn without_halt_the_core_runs_on_and_nothing_is_left_behind() {
    let s = manifest::load().into_iter().find(|s| s.name == "c-busfault").unwrap();
    let elf = s.elf_path();
    let elf_s = elf.to_str().unwrap();
    let mut failures = Vec::new();
    for (what, extra, code) in [
        ("inspect (catches the fault)", vec![], 12),
        ("inspect --break-at main (a breakpoint of the user's)", vec!["--break-at", "main", "--no-catch"], 0),
    ] {
        let qemu = Qemu::start(&s.machine, &elf);
        let proxy = Proxy::start(&qemu.socket());
        let out = Command::new(env!("CARGO_BIN_EXE_isrscope"))
            .args(["inspect", "--elf", elf_s, "--timeout", "20", "--gdb"])
            .arg(format!("unix:{}", proxy.socket().display()))
            .args(&extra)
            .output()
            .unwrap();
        if out.status.code() != Some(code) {
            failures.push(format!("{what}: {:?} {}", out.status, String::from_utf8_lossy(&out.stderr)));
            continue;
        }
        std::thread::sleep(Duration::from_millis(100));
        let requests = proxy.requests();
        eprintln!("{what}: {} packets, {} breakpoints", requests.len(), requests.iter().filter(|r| r.starts_with('Z')).count());
        if let Err(e) = wire_checks(what, &requests) {
            failures.push(e);
        }
        if requests.last().map(String::as_str) != Some("D") {
            failures.push(format!("{what}: did not let the core run: last packet {:?}", requests.last()));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// `attach` in a real terminal (a private tmux server), quit with `q` and
/// `--halt-on-exit`: the same checks as the one-shot commands.
#[test]
fn quitting_attach_leaves_the_target_as_found() {
    let s = manifest::load().into_iter().find(|s| s.name == "c-isr-fault").unwrap();
    let elf = s.elf_path();
    let qemu = Qemu::start(&s.machine, &elf);
    {
        let mut t = connect(&qemu.socket());
        let mut armed = catch::arm(&mut t, &CatchOptions::default()).unwrap();
        catch::run_to_fault(&mut t, &armed, Duration::from_secs(20)).unwrap().expect("the lab fault");
        armed.disarm(&mut t).unwrap();
        t.detach(false).unwrap();
    }
    let before = snapshot(&qemu.socket());
    let proxy = Proxy::start(&qemu.socket());
    let dir = tempfile::tempdir().unwrap();
    let done = dir.path().join("exit-code");
    let server = format!("isrscope-nonintrusive-{}", std::process::id());
    let tmux = |args: &[&str]| Command::new("tmux").arg("-L").arg(&server).args(args).output().expect("tmux (run scripts/setup.sh)");
    let shell = format!(
        "{} attach --gdb unix:{} --elf {} --halt-on-exit; echo $? > {}",
        env!("CARGO_BIN_EXE_isrscope"),
        proxy.socket().display(),
        elf.display(),
        done.display()
    );
    let out = tmux(&["new-session", "-d", "-s", "t", "-x", "120", "-y", "40", "env", "TERM=xterm-256color", "sh", "-c", &shell]);
    assert!(out.status.success(), "tmux: {}", String::from_utf8_lossy(&out.stderr));
    // Quit once the UI shows the fault.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut screen = String::new();
    while !screen.contains("BusFault") {
        assert!(std::time::Instant::now() < deadline, "the UI never showed the fault:\n{screen}");
        std::thread::sleep(Duration::from_millis(200));
        screen = String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned();
    }
    let _ = tmux(&["send-keys", "-t", "t", "q"]);
    while !done.exists() {
        assert!(std::time::Instant::now() < deadline, "attach did not quit");
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = tmux(&["kill-server"]);
    let code = std::fs::read_to_string(&done).unwrap();
    assert_eq!(code.trim(), "0", "attach's exit code");
    std::thread::sleep(Duration::from_millis(100));
    let requests = proxy.requests();
    assert!(requests.len() >= 10, "attach read the target: {requests:?}");
    wire_checks("attach", &requests).unwrap();
    let after = snapshot(&qemu.socket());
    if let Some(d) = first_difference(&before, &after) {
        panic!("attach changed the target: {d}");
    }
}
