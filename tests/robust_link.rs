//! Fault injection on the GDB link, through the real binary: `isrscope inspect --gdb
//! unix:SOCK` against a test peer that misbehaves on cue (tests/support_fake_gdb), and
//! `--qemu` with a QEMU whose gdbstub misbehaves or that dies. Every case must end
//! within the timeout with exit code 1, an error that says what was being done, no
//! panic, and (with `--qemu`) no QEMU process left behind. See docs/robustness.md.

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

/// A fake M4 already halted in HardFault; `script` is tried before these answers.
fn faulted_core(mut script: Vec<(&'static str, Act)>) -> FakeServer {
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
    // Registers are readable: the report is made, with the unreadable parts named.
    let server = faulted_core(vec![("m", Act::Reply("E14".into()))]);
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
}

#[test]
fn a_stop_reply_in_place_of_data() {
    let server = faulted_core(vec![("g", Act::Reply("T05thread:01;".into()))]);
    let run = inspect(&server, &[]);
    assert_clear_failure(&run, QUICK, &["unexpected reply"]);
}

#[test]
fn a_malformed_stop_reply_after_resume() {
    let server = running_core(vec![("vCont;c", Act::Reply("Tzz".into()))]);
    let run = inspect(&server, &["--timeout", "2"]);
    assert_clear_failure(&run, QUICK, &["waiting for a fault"]);
}

#[test]
fn the_target_exits_while_running() {
    let server = running_core(vec![("vCont;c", Act::Reply("W00".into()))]);
    let run = inspect(&server, &["--timeout", "2"]);
    let err = run.stderr();
    assert!(!err.contains("panicked"), "{err}");
    assert!(run.elapsed < QUICK, "{:?}: {err}", run.elapsed);
    assert_eq!(run.out.status.code(), Some(1), "{err}");
    assert!(err.contains("exited"), "{err}");
}

#[test]
fn the_target_is_killed_by_a_signal_while_running() {
    let server = running_core(vec![("vCont;c", Act::Reply("X09".into()))]);
    let run = inspect(&server, &["--timeout", "2"]);
    let err = run.stderr();
    assert!(!err.contains("panicked"), "{err}");
    assert!(run.elapsed < QUICK, "{:?}: {err}", run.elapsed);
    assert_eq!(run.out.status.code(), Some(1), "{err}");
}

#[test]
fn a_stop_somewhere_unexpected_is_reported_not_misread() {
    // The core stops with SIGTRAP at a PC that is no handler: reported as a stop.
    let server = running_core(vec![("vCont;c", Act::Reply("T05thread:01;".into()))]);
    let run = inspect(&server, &["--timeout", "2"]);
    let err = run.stderr();
    assert!(!err.contains("panicked"), "{err}");
    assert!(run.elapsed < QUICK, "{:?}: {err}", run.elapsed);
}

#[test]
fn a_core_that_never_stops_times_out_and_is_reported() {
    // vCont;c gets no reply (running); the interrupt 0x03 is answered with T02.
    let server = running_core(vec![("vCont;c", Act::Raw(Vec::new()))]);
    let run = inspect(&server, &["--timeout", "1"]);
    let err = run.stderr();
    assert!(!err.contains("panicked"), "{err}");
    assert!(run.elapsed < QUICK, "{:?}: {err}", run.elapsed);
    assert_eq!(run.out.status.code(), Some(0), "{err}");
    let json: serde_json::Value = serde_json::from_slice(&run.out.stdout).unwrap();
    assert!(json["summary"].as_str().unwrap().contains("No fault within 1 s"), "{json}");
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
