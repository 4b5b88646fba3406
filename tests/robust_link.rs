//! Fault injection on the GDB link, through the real binary: `isrscope inspect --gdb
//! unix:SOCK` (and `vectors`, `capture`) against a test peer that misbehaves on cue
//! (tests/support_fake_gdb), and `--qemu` with a QEMU whose gdbstub misbehaves or that
//! dies. Every case must end within the timeout with exit code 1, an error that says
//! what was being done, no panic, and (with `--qemu`) no QEMU process left behind.
//! See docs/robustness.md.

mod support_fake_gdb;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support_fake_gdb::fake::{self, Act, FakeServer, frame};

/// `xpsr` = 0x01000003 (HardFault active), PC 0x08000100, SP 0x20000f00: a core that
/// already sits in its HardFault handler, so `inspect` reports at once.
fn g_in_hardfault() -> String {
    let mut regs = "00000000".repeat(13);
    regs.push_str("000f0020"); // sp
    regs.push_str("fdffffff"); // lr = EXC_RETURN 0xfffffffd
    regs.push_str("00010008"); // pc
    regs.push_str("03000001"); // xpsr
    regs
}

/// The first read of `inspect`: CPUID, ICSR and VTOR (the 12-byte SCB head), here a
/// Cortex-M4 in HardFault (ICSR.VECTACTIVE 3) with its table at 0x08000000.
fn scb_head_in_hardfault() -> (&'static str, Act) {
    ("me000ed00,c", Act::words(0xE000_ED00, &[0x410f_c241, 3, 0x0800_0000]))
}

/// A fake M4 already halted in HardFault whose SCB head reads correctly; `script` is
/// tried before the other answers (so its faults hit the registers and the reads
/// after the head).
fn faulted_core(script: Vec<(&'static str, Act)>) -> FakeServer {
    let mut all = vec![scb_head_in_hardfault()];
    all.extend(script);
    faulted_core_from_the_first_read(all)
}

/// [`faulted_core`] with `script` tried before the SCB head too.
fn faulted_core_from_the_first_read(mut script: Vec<(&'static str, Act)>) -> FakeServer {
    script.push(scb_head_in_hardfault());
    script.extend([
        ("g", Act::Reply(g_in_hardfault())),
        ("p19", Act::Reply("03000001".into())),
        ("pf", Act::Reply("00010008".into())),
        ("pd", Act::Reply("000f0020".into())),
        ("pe", Act::Reply("fdffffff".into())),
    ]);
    fake::start(script)
}

/// A fake M4 in thread mode, so `inspect` arms fault catching and resumes it.
fn running_core(mut script: Vec<(&'static str, Act)>) -> FakeServer {
    script.extend([
        // CPUID 0x410fc241 (Cortex-M4), ICSR 0, VTOR 0.
        ("me000ed00,c", Act::Reply("41c20f410000000000000000".into())),
        // The vector table: SP, then every handler at 0x08000101.
        (
            "m0,",
            Act::Reply(format!("00100020{}", "01010008".repeat(7))),
        ),
    ]);
    fake::start(script)
}

struct Run {
    out: Output,
    elapsed: Duration,
}

impl Run {
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
}

fn isrscope(args: &[&str]) -> Run {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_isrscope"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Run {
        out,
        elapsed: started.elapsed(),
    }
}

fn inspect(server: &FakeServer, extra: &[&str]) -> Run {
    let address = server.address();
    let mut args = vec!["inspect", "--gdb", &address, "--format", "json"];
    args.extend_from_slice(extra);
    isrscope(&args)
}

/// Exit code 1, no panic, within `limit`, and the message contains every `needle`.
#[track_caller]
fn assert_clear_failure(run: &Run, limit: Duration, needles: &[&str]) {
    let err = run.stderr();
    eprintln!("{:.1} s: {}", run.elapsed.as_secs_f64(), err.trim_end());
    assert_eq!(run.out.status.code(), Some(1), "exit code; stderr:\n{err}");
    assert!(!err.contains("panicked"), "a panic:\n{err}");
    assert!(err.starts_with("isrscope: error:"), "{err}");
    assert!(run.elapsed < limit, "took {:?}: {err}", run.elapsed);
    for n in needles {
        assert!(err.contains(n), "{n:?} missing from:\n{err}");
    }
}

/// A link that broke after the registers were read still gives the report of what was
/// read (stdout), with the failure among its findings.
#[track_caller]
fn assert_partial_report(run: &Run) {
    let json: serde_json::Value = serde_json::from_slice(&run.out.stdout)
        .unwrap_or_else(|e| panic!("no report on stdout ({e}): {}", run.stderr()));
    assert_eq!(json["outcome"], "hard-fault", "{json}");
    assert!(
        json["findings"].to_string().contains("scb-unreadable"),
        "{json}"
    );
}

const QUICK: Duration = Duration::from_secs(4);
/// One link timeout plus slack for process start-up on a loaded machine.
const AFTER_TIMEOUT: Duration = Duration::from_secs(9);

#[test]
fn a_faulted_core_on_a_well_behaved_peer_is_reported() {
    // The baseline the injected faults depart from.
    let server = faulted_core(vec![]);
    let run = inspect(&server, &[]);
    let err = run.stderr();
    assert_eq!(run.out.status.code(), Some(10), "HardFault; stderr:\n{err}");
    let json: serde_json::Value = serde_json::from_slice(&run.out.stdout).unwrap();
    assert_eq!(json["outcome"], "hard-fault");
}

#[test]
fn corrupt_checksums_in_the_handshake() {
    let server = faulted_core(vec![(
        "qSupported",
        Act::BadChecksum("PacketSize=1000;qXfer:features:read+".into()),
    )]);
    let run = inspect(&server, &[]);
    assert_clear_failure(
        &run,
        QUICK,
        &["connecting to the GDB server", "bad checksum"],
    );
}

#[test]
fn corrupt_checksums_on_the_register_read() {
    let server = faulted_core(vec![("g", Act::BadChecksum(g_in_hardfault()))]);
    let run = inspect(&server, &[]);
    assert_clear_failure(&run, QUICK, &["bad checksum"]);
}

#[test]
fn the_peer_drops_the_connection_mid_packet_in_the_handshake() {
    let server = faulted_core(vec![("qXfer", Act::DropMidPacket)]);
    let run = inspect(&server, &[]);
    assert_clear_failure(&run, QUICK, &["target description"]);
}

#[test]
fn the_peer_drops_the_connection_mid_read_of_memory() {
    let server = faulted_core(vec![("m", Act::DropMidPacket)]);
    let run = inspect(&server, &[]);
    assert_clear_failure(&run, QUICK, &["closed the connection"]);
    assert_partial_report(&run);
}

#[test]
fn the_peer_drops_the_connection_at_the_first_read_of_memory() {
    // Nothing is known yet (the SCB head tells the exception): no report, a clear error.
    let server = faulted_core_from_the_first_read(vec![("m", Act::DropMidPacket)]);
    let run = inspect(&server, &[]);
    assert_clear_failure(&run, QUICK, &["closed the connection"]);
}

#[test]
fn the_peer_closes_when_asked_for_registers() {
    let server = faulted_core(vec![("g", Act::Close)]);
    let run = inspect(&server, &[]);
    assert_clear_failure(&run, QUICK, &["closed the connection"]);
}

#[test]
fn the_peer_stalls_mid_packet() {
    let server = faulted_core(vec![("g", Act::StallMidPacket)]);
    let run = inspect(&server, &[]);
    assert_clear_failure(&run, AFTER_TIMEOUT, &["registers"]);
}

#[test]
fn the_peer_goes_silent_while_memory_is_read() {
    let server = faulted_core(vec![("m", Act::Silence)]);
    let run = inspect(&server, &[]);
    assert_clear_failure(&run, AFTER_TIMEOUT, &["memory"]);
    assert_partial_report(&run);
}

#[test]
fn the_peer_never_answers_the_handshake() {
    let server = faulted_core(vec![("qSupported", Act::Silence)]);
    let run = inspect(&server, &[]);
    assert_clear_failure(&run, AFTER_TIMEOUT, &["connecting to the GDB server"]);
}

#[test]
fn error_codes_for_the_registers() {
    let server = faulted_core(vec![("g", Act::Reply("E01".into()))]);
    let run = inspect(&server, &[]);
    assert_clear_failure(&run, QUICK, &["E01"]);
}

#[test]
fn error_codes_for_every_memory_read_still_give_a_report() {
    // Registers are readable: the report is made, with the unreadable parts named (the
    // exception from xPSR, the SCB head being unreadable too).
    let server = faulted_core_from_the_first_read(vec![("m", Act::Reply("E14".into()))]);
    let run = inspect(&server, &[]);
    let err = run.stderr();
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(run.out.status.code(), Some(10), "{err}");
    let json: serde_json::Value = serde_json::from_slice(&run.out.stdout).unwrap();
    let findings = json["findings"].to_string();
    assert!(findings.contains("scb-unreadable"), "{findings}");
}

#[test]
fn a_refused_breakpoint_is_a_clear_error() {
    let server = running_core(vec![("Z0", Act::Reply("E01".into()))]);
    let run = inspect(&server, &["--timeout", "2"]);
    assert_clear_failure(&run, QUICK, &["arming fault catching", "E01"]);
}

#[test]
fn an_oversize_packet() {
    let mut huge = b"$".to_vec();
    huge.extend(std::iter::repeat_n(b'0', 300_000));
    huge.extend_from_slice(b"#00");
    let server = faulted_core(vec![("g", Act::Raw(huge))]);
    let run = inspect(&server, &[]);
    assert_clear_failure(&run, QUICK, &["longer than"]);
}

#[test]
fn a_truncated_register_reply() {
    // Half the registers: the g reply is shorter than the description says.
    let server = faulted_core(vec![("g", Act::Reply("00000000".repeat(8)))]);
    let run = inspect(&server, &[]);
    let err = run.stderr();
    eprintln!("truncated g: {:?} {err}", run.out.status);
    assert!(!err.contains("panicked"), "{err}");
    assert!(run.elapsed < QUICK, "{:?}", run.elapsed);
    assert!(
        run.out.status.code() == Some(1) || run.out.status.success() || run.out.status.code() == Some(10),
        "{:?}: {err}",
        run.out.status
    );
}

#[test]
fn a_truncated_memory_reply() {
    // 2 bytes whatever was asked.
    let server = faulted_core(vec![("m", Act::Reply("0000".into()))]);
    let run = inspect(&server, &[]);
    let err = run.stderr();
    eprintln!("truncated m: {:?} {err}", run.out.status);
    assert!(!err.contains("panicked"), "{err}");
    assert!(run.elapsed < QUICK, "{:?}", run.elapsed);
}

#[test]
fn garbage_bytes_instead_of_packets() {
    let server = faulted_core(vec![("m", Act::Raw(vec![b'x'; 5000]))]);
    let run = inspect(&server, &[]);
    assert_clear_failure(&run, QUICK, &["not RSP packets"]);
    assert_partial_report(&run);
}

#[test]
fn a_stop_reply_in_place_of_data() {
    let server = faulted_core(vec![("g", Act::Reply("T05thread:01;".into()))]);
    let run = inspect(&server, &[]);
    assert_clear_failure(&run, QUICK, &["unexpected reply"]);
}

#[test]
fn a_malformed_stop_reply_after_resume() {
    let server = running_core(vec![("c", Act::Reply("Tzz".into()))]);
    let run = inspect(&server, &["--timeout", "2"]);
    assert_clear_failure(&run, QUICK, &["waiting for a fault"]);
}

#[test]
fn the_target_exits_while_running() {
    let server = running_core(vec![("c", Act::Reply("W00".into()))]);
    let run = inspect(&server, &["--timeout", "2"]);
    let err = run.stderr();
    assert!(!err.contains("panicked"), "{err}");
    assert!(run.elapsed < QUICK, "{:?}: {err}", run.elapsed);
    assert_eq!(run.out.status.code(), Some(1), "{err}");
    assert!(err.contains("exited"), "{err}");
}

#[test]
fn the_target_is_killed_by_a_signal_while_running() {
    let server = running_core(vec![("c", Act::Reply("X09".into()))]);
    let run = inspect(&server, &["--timeout", "2"]);
    let err = run.stderr();
    assert!(!err.contains("panicked"), "{err}");
    assert!(run.elapsed < QUICK, "{:?}: {err}", run.elapsed);
    assert_eq!(run.out.status.code(), Some(1), "{err}");
}

#[test]
fn a_stop_somewhere_unexpected_is_reported_not_misread() {
    // The core stops with SIGTRAP at a PC that is no handler: reported as a stop.
    let server = running_core(vec![("c", Act::Reply("T05thread:01;".into()))]);
    let run = inspect(&server, &["--timeout", "2"]);
    let err = run.stderr();
    assert!(!err.contains("panicked"), "{err}");
    assert!(run.elapsed < QUICK, "{:?}: {err}", run.elapsed);
}

#[test]
fn a_core_that_never_stops_times_out_and_is_reported() {
    // c gets no reply (running); the interrupt 0x03 is answered with T02.
    let server = running_core(vec![("c", Act::Raw(Vec::new()))]);
    let run = inspect(&server, &["--timeout", "1"]);
    let err = run.stderr();
    assert!(!err.contains("panicked"), "{err}");
    assert!(run.elapsed < QUICK, "{:?}: {err}", run.elapsed);
    assert_eq!(run.out.status.code(), Some(0), "{err}");
    let json: serde_json::Value = serde_json::from_slice(&run.out.stdout).unwrap();
    assert!(json["summary"].as_str().unwrap().contains("No fault within 1 s"), "{json}");
}

#[test]
fn a_core_that_ignores_the_interrupt_after_the_timeout_is_given_up() {
    // No stop within --timeout, and the server ignores the interrupt byte too.
    let server = running_core(vec![
        ("c", Act::Raw(Vec::new())),
        ("\x03", Act::Silence),
    ]);
    let run = inspect(&server, &["--timeout", "1"]);
    // --timeout, then the 5 s allowed for the halt, then slack.
    assert_clear_failure(&run, Duration::from_secs(10), &["halting the core"]);
}

#[test]
fn raw_console_output_packets_between_replies_are_tolerated() {
    let mut g = frame(b"O6869");
    g.extend(frame(g_in_hardfault().as_bytes()));
    let server = faulted_core(vec![("g", Act::Raw(g))]);
    let run = inspect(&server, &[]);
    let err = run.stderr();
    assert!(!err.contains("panicked"), "{err}");
    assert!(run.elapsed < QUICK, "{:?}: {err}", run.elapsed);
}

// ---- `--qemu`: the QEMU isrscope starts misbehaves or dies; none may be left behind.

/// A stand-in for qemu-system-arm (`$ISRSCOPE_QEMU`): answers `--version` like QEMU
/// 10, records its PID, opens the gdbstub socket from `-chardev ...path=` and then does
/// `$FAKE_QEMU_MODE`: `stall` (accepts, never answers), `garbage`, or `die` (QEMU's
/// lockup abort: a message on stderr, SIGABRT).
const FAKE_QEMU: &str = r#"#!/usr/bin/env python3
import os, socket, sys, time
if "--version" in sys.argv:
    print("QEMU emulator version 10.0.2 (fake)")
    sys.exit(0)
with open(os.environ["FAKE_QEMU_PIDS"], "a") as f:
    f.write("%d\n" % os.getpid())
path = [a for a in sys.argv if "path=" in a][0].split("path=")[1].split(",")[0]
s = socket.socket(socket.AF_UNIX)
s.bind(path)
s.listen(1)
conn, _ = s.accept()
mode = os.environ["FAKE_QEMU_MODE"]
if mode == "garbage":
    conn.recv(100)
    conn.sendall(b"x" * 5000)
elif mode == "die":
    conn.recv(100)
    sys.stderr.write("qemu: fatal: Lockup: can't escalate 3 to HardFault (fake)\n")
    sys.stderr.flush()
    os.abort()
time.sleep(120)
"#;

fn alive(pid: u32) -> bool {
    // A zombie is dead for this purpose: it runs nothing and holds no socket.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'))
        .unwrap_or(false)
}

/// Every PID the fake (or wrapper) recorded is gone within 3 s of isrscope's exit.
#[track_caller]
fn assert_no_qemu_left(pids_file: &std::path::Path) {
    let pids: Vec<u32> = std::fs::read_to_string(pids_file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    assert!(!pids.is_empty(), "the QEMU stand-in never ran");
    let deadline = Instant::now() + Duration::from_secs(3);
    for pid in pids {
        while alive(pid) {
            assert!(Instant::now() < deadline, "QEMU {pid} was left running");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn fake_qemu_inspect(mode: &str) -> (Run, tempfile::TempDir) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("fake-qemu");
    std::fs::write(&exe, FAKE_QEMU).unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let elf = concat!(env!("CARGO_MANIFEST_DIR"), "/firmware-samples/build/c/busfault.elf");
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_isrscope"))
        .args(["inspect", "--qemu", "netduinoplus2", "--elf", elf, "--timeout", "3"])
        .env("ISRSCOPE_QEMU", &exe)
        .env("FAKE_QEMU_MODE", mode)
        .env("FAKE_QEMU_PIDS", dir.path().join("pids"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let run = Run {
        out,
        elapsed: started.elapsed(),
    };
    (run, dir)
}

#[test]
fn qemu_whose_gdbstub_stalls_is_given_up_and_killed() {
    let (run, dir) = fake_qemu_inspect("stall");
    assert_clear_failure(&run, AFTER_TIMEOUT, &["starting QEMU", "no answer"]);
    assert_no_qemu_left(&dir.path().join("pids"));
}

#[test]
fn qemu_whose_gdbstub_sends_garbage_is_given_up_and_killed() {
    let (run, dir) = fake_qemu_inspect("garbage");
    assert_clear_failure(&run, QUICK, &["starting QEMU", "not RSP packets"]);
    assert_no_qemu_left(&dir.path().join("pids"));
}

#[test]
fn qemu_that_aborts_is_reported_with_its_own_message() {
    let (run, dir) = fake_qemu_inspect("die");
    assert_clear_failure(&run, QUICK, &["Lockup"]);
    assert_no_qemu_left(&dir.path().join("pids"));
}

/// A wrapper around the real qemu-system-arm that records the PID it execs into.
fn real_qemu_wrapper(dir: &std::path::Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let exe = dir.join("qemu-wrapper");
    let script = format!(
        "#!/bin/sh\ncase \"$1\" in --version) exec qemu-system-arm --version;; esac\necho $$ >> {}\nexec qemu-system-arm \"$@\"\n",
        dir.join("pids").display()
    );
    std::fs::write(&exe, script).unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    exe
}

#[test]
fn real_qemu_without_a_fault_times_out_cleanly_and_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let exe = real_qemu_wrapper(dir.path());
    let elf = concat!(env!("CARGO_MANIFEST_DIR"), "/firmware-samples/build/c/vectors-good.elf");
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_isrscope"))
        .args(["inspect", "--qemu", "netduinoplus2", "--elf", elf, "--timeout", "1"])
        .env("ISRSCOPE_QEMU", &exe)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(text.contains("No fault within 1 s"), "{text}");
    assert!(elapsed < Duration::from_secs(8), "{elapsed:?}");
    assert_no_qemu_left(&dir.path().join("pids"));
}

#[test]
fn real_qemu_is_gone_after_a_fault_report() {
    let dir = tempfile::tempdir().unwrap();
    let exe = real_qemu_wrapper(dir.path());
    let elf = concat!(env!("CARGO_MANIFEST_DIR"), "/firmware-samples/build/c/busfault.elf");
    let out = Command::new(env!("CARGO_BIN_EXE_isrscope"))
        .args(["inspect", "--qemu", "netduinoplus2", "--elf", elf, "--timeout", "20"])
        .env("ISRSCOPE_QEMU", &exe)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(12), "{}", String::from_utf8_lossy(&out.stderr));
    assert_no_qemu_left(&dir.path().join("pids"));
}

// ---- The other commands that reach a target: `vectors` and `capture`.

/// `vectors --gdb` and `capture --gdb` on the same broken links: exit 1, a clear error,
/// no panic, in time; and `capture` leaves no dump (or partial dump) behind.
#[test]
fn vectors_and_capture_on_a_broken_link() {
    let elf = concat!(env!("CARGO_MANIFEST_DIR"), "/firmware-samples/build/c/busfault.elf");
    type Case = (&'static str, Vec<(&'static str, Act)>, Duration);
    let cases: Vec<Case> = vec![
        ("closes in the handshake", vec![("qXfer", Act::DropMidPacket)], QUICK),
        ("garbage for memory", vec![("m", Act::Raw(vec![b'x'; 5000]))], QUICK),
        ("E01 for the registers", vec![("g", Act::Reply("E01".into()))], QUICK),
        ("stalls on memory", vec![("m", Act::StallMidPacket)], AFTER_TIMEOUT),
    ];
    // Each case in its own thread: two of them wait out the 5 s link timeout.
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for (what, script, limit) in &cases {
            let failures = &failures;
            scope.spawn(move || {
                let dir = tempfile::tempdir().unwrap();
                let core = dir.path().join("out.core");
                let core_s = core.to_str().unwrap().to_string();
                for (cmd, args) in [
                    ("vectors", vec!["vectors", "--elf", elf, "--halt"]),
                    ("capture", vec!["capture", "--elf", elf, "--no-wait", "--output", &core_s]),
                ] {
                    // `vectors` reads registers one by one (`p`): a refused `g` does not
                    // concern it.
                    if cmd == "vectors" && what.starts_with("E01") {
                        continue;
                    }
                    let server = faulted_core(script.clone());
                    let address = server.address();
                    let mut all = args.clone();
                    all.extend(["--gdb", &address]);
                    let run = isrscope(&all);
                    let err = run.stderr();
                    let out = String::from_utf8_lossy(&run.out.stdout);
                    // `vectors` keeps the static check when the live half fails: it
                    // reports it, with the failed reads as warnings, and never claims a
                    // match it did not see.
                    let partial = cmd == "vectors"
                        && matches!(run.out.status.code(), Some(0) | Some(3))
                        && out.contains("could not be read")
                        && !out.contains("matches the ELF")
                        && !out.contains("none enabled");
                    let ok = (partial || (run.out.status.code() == Some(1) && err.starts_with("isrscope: error:")))
                        && !err.contains("panicked")
                        && run.elapsed < *limit;
                    eprintln!("{cmd}, {what}: {:.1} s: {}", run.elapsed.as_secs_f64(), err.trim_end());
                    if std::env::var_os("ROBUST_VERBOSE").is_some() {
                        eprintln!("{out}");
                    }
                    if !ok {
                        failures.lock().unwrap().push(format!("{cmd}, {what}: {:?} after {:?}: {err}", run.out.status, run.elapsed));
                    }
                }
                let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
                if !left.is_empty() {
                    failures.lock().unwrap().push(format!("capture, {what}: left {left:?}"));
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{failures:#?}");
}
