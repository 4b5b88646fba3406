//! `isrscope attach` end to end: the real binary in a real terminal (tmux, on a private
//! tmux server), driven by keys against the QEMU lab. It attaches, breaks in an ISR
//! handler chosen in the vector pane, continues to the fault, checks the screen
//! against the manifest, quits, and checks that the terminal is restored (alternate
//! screen left, shell prompt back) and that no QEMU process is left. A panic (the
//! test-only `ISRSCOPE_TEST_PANIC` hook) in either thread restores the terminal too,
//! and leaves a target isrscope did not start running, with no breakpoint left (seen
//! on the wire through the counting proxy and in QEMU's own run state over QMP).

mod common;
mod support_fake_gdb;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::manifest;
use support_fake_gdb::proxy::Proxy;

const PROMPT: &str = "READY$";

/// A tmux server of our own with one shell in a `width` x `height` window.
struct Tmux {
    server: String,
}

impl Tmux {
    fn start(name: &str, width: u16, height: u16) -> Tmux {
        let t = Tmux { server: format!("isrscope-e2e-{}-{name}", std::process::id()) };
        let out = t.run(&[
            "new-session",
            "-d",
            "-s",
            "e2e",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            "env",
            "-u",
            "NO_COLOR",
            "TERM=xterm-256color",
            &format!("PS1={PROMPT} "),
            "bash",
            "--norc",
            "--noprofile",
        ]);
        assert!(out.status.success(), "tmux: {}", String::from_utf8_lossy(&out.stderr));
        t.wait_for("prompt", Duration::from_secs(10), |s| s.contains(PROMPT));
        t
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux").arg("-L").arg(&self.server).args(args).output().expect("tmux runs")
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "e2e"];
        args.extend_from_slice(keys);
        assert!(self.run(&args).status.success());
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "e2e"]).stdout).into_owned()
    }

    fn format(&self, what: &str) -> String {
        String::from_utf8_lossy(&self.run(&["display-message", "-p", "-t", "e2e", what]).stdout).trim().to_string()
    }

    /// Waits until `ok(screen)`; panics with the screen otherwise.
    fn wait_for(&self, what: &str, timeout: Duration, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            if Instant::now() > deadline {
                panic!("waiting for {what}: the screen is\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The processes under the pane's shell, children first level only.
    fn children_of(pid: &str) -> Vec<String> {
        let out = Command::new("pgrep").args(["-P", pid]).output().expect("pgrep");
        String::from_utf8_lossy(&out.stdout).split_whitespace().map(String::from).collect()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

fn alive(pid: &str) -> bool {
    // A zombie not yet reaped counts as gone.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "))
}

/// isrscope's pid (the shell's child) and QEMU's (isrscope's child).
fn processes(tmux: &Tmux) -> (String, String) {
    let shell = tmux.format("#{pane_pid}");
    let isrscope = Tmux::children_of(&shell).into_iter().next().expect("isrscope runs under the shell");
    let qemu = Tmux::children_of(&isrscope).into_iter().next().expect("QEMU runs under isrscope");
    (isrscope, qemu)
}

fn attach_command(elf: &Path, machine: &str) -> String {
    format!("{} attach --qemu {machine} --elf {}", env!("CARGO_BIN_EXE_isrscope"), elf.display())
}

/// After quitting: the alternate screen is left, the prompt is back, QEMU is gone.
fn assert_left_clean(tmux: &Tmux, isrscope: &str, qemu: &str) {
    tmux.wait_for("the shell prompt after quitting", Duration::from_secs(15), |s| {
        s.lines().rev().find(|l| !l.trim().is_empty()).is_some_and(|l| l.trim_end() == PROMPT)
    });
    assert_eq!(tmux.format("#{alternate_on}"), "0", "the alternate screen is still on");
    let deadline = Instant::now() + Duration::from_secs(5);
    while (alive(isrscope) || alive(qemu)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!alive(isrscope), "isrscope still runs");
    assert!(!alive(qemu), "QEMU {qemu} is left running");
    // The terminal is usable again: a command echoes.
    tmux.keys(&["echo restored-$((40+2))", "Enter"]);
    tmux.wait_for("the shell to answer", Duration::from_secs(5), |s| s.contains("restored-42"));
}

#[test]
fn break_in_an_isr_then_continue_to_the_fault() {
    let s = manifest::load().into_iter().find(|s| s.name == "c-isr-fault").expect("c-isr-fault");
    let tmux = Tmux::start("isr", 100, 32);
    tmux.keys(&[&attach_command(&s.elf_path(), &s.machine), "Enter"]);
    let exception = s.exception.as_deref().unwrap();
    // At attach the core runs with faults caught: it stops in the fault at once.
    tmux.wait_for("the first fault", Duration::from_secs(30), |t| t.contains("HALTED") && t.contains(exception));
    let (isrscope, qemu) = processes(&tmux);

    // The vector pane selects the interrupted IRQ (TIM2); break on its handler.
    tmux.keys(&["5"]);
    tmux.wait_for("the vector pane", Duration::from_secs(5), |t| t.contains("TIM2_IRQHandler") && t.contains("VTOR"));
    tmux.keys(&["b"]);
    tmux.wait_for("the breakpoint", Duration::from_secs(10), |t| t.contains("breaks 1") && t.contains("● IRQ28"));
    // `b` again on the same vector clears it; a third time sets it again.
    tmux.keys(&["b"]);
    tmux.wait_for("the breakpoint cleared", Duration::from_secs(10), |t| {
        t.contains("breaks 0") && !t.contains("● IRQ28") && t.contains("breakpoint at TIM2_IRQHandler cleared")
    });
    tmux.keys(&["b"]);
    tmux.wait_for("the breakpoint again", Duration::from_secs(10), |t| t.contains("breaks 1") && t.contains("● IRQ28"));
    tmux.keys(&["R"]);
    tmux.wait_for("reset-halt", Duration::from_secs(10), |t| t.contains("reset, halted"));
    tmux.keys(&["c"]);
    let at_isr = tmux.wait_for("the ISR breakpoint", Duration::from_secs(30), |t| {
        t.contains("IRQ28 (exception 44)") && t.contains("break at TIM2_IRQHandler")
    });
    assert!(at_isr.contains("In the IRQ28 handler"), "{at_isr}");

    tmux.keys(&["c"]);
    tmux.wait_for("the fault", Duration::from_secs(30), |t| t.contains(&format!("HALTED  {exception}")));
    tmux.keys(&["1"]);
    let fault = tmux.screen();
    for bit in s.cfsr.iter().chain(&s.hfsr) {
        assert!(fault.contains(bit.as_str()), "fault bit {bit} not shown:\n{fault}");
    }
    if let Some(bfar) = s.bfar {
        assert!(fault.contains(&format!("BFAR {bfar:#010x}")), "BFAR not shown:\n{fault}");
    }
    tmux.keys(&["3"]);
    let bt = tmux.wait_for("the backtrace pane", Duration::from_secs(5), |t| t.contains("3 Backtrace ━"));
    for f in s.backtrace_functions() {
        assert!(bt.contains(f), "backtrace lacks {f}:\n{bt}");
    }
    assert!(bt.contains(&format!("<{exception} entered here")), "{bt}");

    tmux.keys(&["q"]);
    assert_left_clean(&tmux, &isrscope, &qemu);
}

#[test]
fn ctrl_c_restores_the_terminal_and_ends_qemu() {
    let s = manifest::load().into_iter().find(|s| s.name == "c-busfault").expect("c-busfault");
    let tmux = Tmux::start("ctrlc", 80, 24);
    tmux.keys(&[&attach_command(&s.elf_path(), &s.machine), "Enter"]);
    tmux.wait_for("the fault", Duration::from_secs(30), |t| t.contains("HALTED") && t.contains("BusFault"));
    let (isrscope, qemu) = processes(&tmux);
    tmux.keys(&["C-c"]);
    assert_left_clean(&tmux, &isrscope, &qemu);
}

/// `analyze --tui`: a core captured at the lazy-FP fault opens in the same UI, shows
/// the S0-S15 the architecture says (from the live FPU at capture), refuses to run,
/// and quits cleanly.
#[test]
fn a_captured_core_opens_in_the_ui() {
    let s = manifest::load().into_iter().find(|s| s.name == "c-psp-fp").expect("c-psp-fp");
    let dir = tempfile::tempdir().unwrap();
    let core = dir.path().join("psp-fp.core");
    let out = Command::new(env!("CARGO_BIN_EXE_isrscope"))
        .args(["capture", "--qemu", &s.machine, "--elf"])
        .arg(s.elf_path())
        .arg("-o")
        .arg(&core)
        .output()
        .unwrap();
    assert!(out.status.success(), "capture: {}", String::from_utf8_lossy(&out.stderr));
    let tmux = Tmux::start("analyze", 100, 32);
    let cmd = format!("{} analyze {} --elf {} --tui", env!("CARGO_BIN_EXE_isrscope"), core.display(), s.elf_path().display());
    tmux.keys(&[&cmd, "Enter"]);
    tmux.wait_for("the fault", Duration::from_secs(30), |t| t.contains("HALTED") && t.contains("BusFault"));
    tmux.keys(&["2"]);
    let screen = tmux.wait_for("the FP context", Duration::from_secs(10), |t| t.contains("s15 16.0"));
    assert!(screen.contains("live FPU"), "the lazy FP values' source is shown:\n{screen}");
    tmux.keys(&["c"]);
    tmux.wait_for("the refusal", Duration::from_secs(10), |t| t.contains("cannot run"));
    let shell = tmux.format("#{pane_pid}");
    let isrscope = Tmux::children_of(&shell).into_iter().next().expect("isrscope runs under the shell");
    tmux.keys(&["q"]);
    tmux.wait_for("the shell prompt after quitting", Duration::from_secs(15), |t| {
        t.lines().rev().find(|l| !l.trim().is_empty()).is_some_and(|l| l.trim_end() == PROMPT)
    });
    assert_eq!(tmux.format("#{alternate_on}"), "0", "the alternate screen is still on");
    assert!(!alive(&isrscope), "isrscope still runs");
}

/// A lab QEMU started by the test (halted at reset) with its gdbstub and a QMP socket,
/// so the test can ask QEMU itself whether the core runs.
struct QmpQemu {
    child: Child,
    dir: tempfile::TempDir,
}

impl QmpQemu {
    fn start(machine: &str, elf: &Path) -> QmpQemu {
        let dir = tempfile::Builder::new().prefix("isrscope-e2e-qemu").tempdir().unwrap();
        let child = Command::new("qemu-system-arm")
            .args(["-M", machine, "-nographic", "-S", "-monitor", "none", "-serial", "null", "-kernel"])
            .arg(elf)
            .arg("-chardev")
            .arg(format!("socket,id=g,path={},server=on,wait=off", dir.path().join("gdb.sock").display()))
            .args(["-gdb", "chardev:g", "-qmp"])
            .arg(format!("unix:{},server=on,wait=off", dir.path().join("qmp.sock").display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("qemu-system-arm (run scripts/setup.sh)");
        let q = QmpQemu { child, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !(q.gdb_socket().exists() && q.dir.path().join("qmp.sock").exists()) {
            assert!(Instant::now() < deadline, "QEMU did not open its sockets");
            std::thread::sleep(Duration::from_millis(20));
        }
        q
    }

    fn gdb_socket(&self) -> PathBuf {
        self.dir.path().join("gdb.sock")
    }

    /// QMP `query-status`: whether the VM (the core) runs.
    fn running(&self) -> bool {
        let stream = UnixStream::connect(self.dir.path().join("qmp.sock")).expect("QMP socket");
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut writer = stream.try_clone().unwrap();
        let mut reader = BufReader::new(stream);
        // Answers are the lines with "return" (events may come in between).
        let mut answer = |command: &str| -> serde_json::Value {
            writer.write_all(format!("{{\"execute\":\"{command}\"}}\n").as_bytes()).unwrap();
            loop {
                let mut line = String::new();
                assert!(reader.read_line(&mut line).unwrap() > 0, "QMP closed");
                let v: serde_json::Value = serde_json::from_str(&line).unwrap();
                if v.get("return").is_some() {
                    return v["return"].clone();
                }
                assert!(v.get("error").is_none(), "QMP {command}: {line}");
            }
        };
        answer("qmp_capabilities");
        answer("query-status")["running"].as_bool().expect("query-status says running")
    }
}

impl Drop for QmpQemu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Breakpoints the client inserted (`Z`) and did not remove (`z`, or QEMU's `D`).
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

/// Runs `command` in the shell with stderr to a file and its exit status echoed;
/// returns (exit status, stderr) once the shell printed it.
fn exit_of(tmux: &Tmux, stderr: &Path, timeout: Duration) -> (i32, String) {
    let screen = tmux.wait_for("the exit status", timeout, |s| s.lines().any(|l| l.starts_with("exit=")));
    let code = screen.lines().find_map(|l| l.strip_prefix("exit=")).unwrap().trim().parse().unwrap();
    (code, std::fs::read_to_string(stderr).unwrap_or_default())
}

/// A panic in `thread` ("poller" or "ui") while the core runs with fault catching and
/// a breakpoint of the user's set, on a QEMU isrscope did not start: the terminal is
/// restored, the process exits non-zero saying what happened, every breakpoint is
/// removed and the core runs on (as found: a GDB server halts it for a client).
fn panic_leaves_a_gdb_target_running(thread: &str) {
    let s = manifest::load().into_iter().find(|s| s.name == "c-vectors-good").expect("c-vectors-good");
    let qemu = QmpQemu::start(&s.machine, &s.elf_path());
    let proxy = Proxy::start(&qemu.gdb_socket());
    let dir = tempfile::tempdir().unwrap();
    let stderr = dir.path().join("stderr");
    let tmux = Tmux::start(&format!("panic-{thread}"), 100, 32);
    let cmd = format!(
        "ISRSCOPE_TEST_PANIC={thread} {} attach --gdb unix:{} --elf {} 2>{}; echo exit=$?",
        env!("CARGO_BIN_EXE_isrscope"),
        proxy.socket().display(),
        s.elf_path().display(),
        stderr.display()
    );
    tmux.keys(&[&cmd, "Enter"]);
    tmux.wait_for("the running core", Duration::from_secs(30), |t| t.contains("RUNNING") && t.contains("catch on"));
    // A breakpoint of the user's, on the first vector (Reset_Handler), then run again.
    tmux.keys(&["h"]);
    tmux.wait_for("the halt", Duration::from_secs(10), |t| t.contains("HALTED"));
    tmux.keys(&["5"]);
    tmux.wait_for("the vector pane", Duration::from_secs(10), |t| t.contains("VTOR"));
    tmux.keys(&["Home", "b"]);
    tmux.wait_for("the breakpoint", Duration::from_secs(10), |t| t.contains("breaks 1"));
    tmux.keys(&["c"]);
    tmux.wait_for("the running core", Duration::from_secs(10), |t| t.contains("RUNNING"));
    assert!(qemu.running(), "QMP: the core runs before the panic");
    tmux.keys(&["w"]);

    let (code, err) = exit_of(&tmux, &stderr, Duration::from_secs(20));
    assert_eq!(tmux.format("#{alternate_on}"), "0", "the alternate screen is still on");
    tmux.keys(&["echo restored-$((40+2))", "Enter"]);
    tmux.wait_for("the shell to answer", Duration::from_secs(5), |t| t.contains("restored-42"));
    assert_ne!(code, 0, "a crash is not a success:\n{err}");
    let what = if thread == "poller" { "the target poller crashed" } else { "the terminal UI crashed" };
    assert!(err.contains(what), "a clear message: {err}");
    assert!(err.contains("breakpoints removed, core resumed"), "says how the target was left: {err}");

    std::thread::sleep(Duration::from_millis(200));
    let requests = proxy.requests();
    assert!(requests.iter().filter(|r| r.starts_with('Z')).count() >= 2, "catching and the user's breakpoint: {requests:?}");
    assert_eq!(breakpoints_left(&requests), Vec::<String>::new(), "breakpoints left in the target");
    assert_eq!(requests.last().map(String::as_str), Some("D"), "the core was not let run: {:?}", requests.last());
    assert!(qemu.running(), "QMP: the core is left halted after the {thread} panic");
}

#[test]
fn a_poller_panic_restores_the_terminal_and_leaves_the_target_running() {
    panic_leaves_a_gdb_target_running("poller");
}

#[test]
fn a_ui_panic_restores_the_terminal_and_leaves_the_target_running() {
    panic_leaves_a_gdb_target_running("ui");
}

/// A panic under `--qemu`: the QEMU isrscope started ends with it, the terminal is
/// restored, the exit status is non-zero.
#[test]
fn a_poller_panic_under_qemu_ends_qemu() {
    let s = manifest::load().into_iter().find(|s| s.name == "c-busfault").expect("c-busfault");
    let dir = tempfile::tempdir().unwrap();
    let stderr = dir.path().join("stderr");
    let tmux = Tmux::start("panic-qemu", 80, 24);
    let cmd = format!("ISRSCOPE_TEST_PANIC=poller {} 2>{}; echo exit=$?", attach_command(&s.elf_path(), &s.machine), stderr.display());
    tmux.keys(&[&cmd, "Enter"]);
    tmux.wait_for("the fault", Duration::from_secs(30), |t| t.contains("HALTED") && t.contains("BusFault"));
    let (isrscope, qemu) = processes(&tmux);
    tmux.keys(&["w"]);
    let (code, err) = exit_of(&tmux, &stderr, Duration::from_secs(20));
    assert_ne!(code, 0);
    assert!(err.contains("the target poller crashed") && err.contains("the QEMU isrscope started was ended"), "{err}");
    assert_left_clean(&tmux, &isrscope, &qemu);
}

/// The PC in the registers pane ("pc 08000220", "*" when changed).
fn pc_shown(screen: &str) -> Option<String> {
    let words: Vec<&str> = screen.split_whitespace().collect();
    words.windows(2).find(|w| w[0] == "pc").map(|w| w[1].trim_end_matches('*').to_string())
}

/// `s` steps the halted core and the PC shown moves; `h` halts the running core and
/// shows where it is. A resize redraws at the new size. (Started halted at the reset
/// vector: stepping the idle loop's WFI would wait for an interrupt.)
#[test]
fn halt_and_step_move_the_pc_and_a_resize_redraws() {
    let s = manifest::load().into_iter().find(|s| s.name == "c-vectors-good").expect("c-vectors-good");
    let tmux = Tmux::start("step", 80, 24);
    tmux.keys(&[&format!("{} --start-halted", attach_command(&s.elf_path(), &s.machine)), "Enter"]);
    tmux.wait_for("the halted core", Duration::from_secs(30), |t| t.contains("HALTED"));
    let (isrscope, qemu) = processes(&tmux);
    tmux.keys(&["4"]);
    let halted = tmux.wait_for("the registers pane", Duration::from_secs(5), |t| t.contains("4 Registers ━") && pc_shown(t).is_some());
    let mut pc = pc_shown(&halted).unwrap();
    for _ in 0..3 {
        tmux.keys(&["s"]);
        let stepped = tmux.wait_for("the step", Duration::from_secs(10), |t| {
            t.contains("single step") && pc_shown(t).is_some_and(|p| p != pc)
        });
        let next = pc_shown(&stepped).unwrap();
        assert!(stepped.contains(&format!("pc {next}*")), "the changed PC is marked:\n{stepped}");
        pc = next;
    }
    tmux.keys(&["c"]);
    tmux.wait_for("the running core", Duration::from_secs(10), |t| t.contains("RUNNING"));
    std::thread::sleep(Duration::from_millis(300));
    tmux.keys(&["h"]);
    let idle = tmux.wait_for("the halt", Duration::from_secs(10), |t| {
        t.contains("HALTED") && t.contains("halt requested") && pc_shown(t).is_some_and(|p| p != pc)
    });
    assert!(idle.contains("lab_idle"), "halted in the firmware's idle loop:\n{idle}");
    pc = pc_shown(&idle).unwrap();

    // Wider and taller: the screen is drawn again at the new size.
    let widest = |screen: &str| screen.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    assert!(widest(&tmux.screen()) <= 80);
    assert!(tmux.run(&["resize-window", "-t", "e2e", "-x", "120", "-y", "30"]).status.success());
    let resized = tmux.wait_for("the redraw at 120x30", Duration::from_secs(10), |t| {
        t.lines().any(|l| l.chars().count() == 120 && l.ends_with('┓')) && t.lines().count() >= 29
    });
    assert!(resized.contains(&format!("pc {pc}")), "same state after the redraw:\n{resized}");
    assert_eq!(tmux.format("#{window_width}x#{window_height}"), "120x30");

    tmux.keys(&["q"]);
    assert_left_clean(&tmux, &isrscope, &qemu);
}

/// `w` writes a core file of the halted core into --core-dir; `isrscope analyze` on it
/// finds the same fault the UI showed.
#[test]
fn a_core_written_with_w_analyzes_to_the_same_fault() {
    let s = manifest::load().into_iter().find(|s| s.name == "c-busfault").expect("c-busfault");
    let dir = tempfile::tempdir().unwrap();
    let tmux = Tmux::start("write", 100, 32);
    let cmd = format!("{} --core-dir {}", attach_command(&s.elf_path(), &s.machine), dir.path().display());
    tmux.keys(&[&cmd, "Enter"]);
    let exception = s.exception.as_deref().unwrap();
    let fault = tmux.wait_for("the fault", Duration::from_secs(30), |t| t.contains(&format!("HALTED  {exception}")));
    let (isrscope, qemu) = processes(&tmux);
    tmux.keys(&["w"]);
    tmux.wait_for("the core file", Duration::from_secs(20), |t| t.contains("core file written"));
    tmux.keys(&["q"]);
    assert_left_clean(&tmux, &isrscope, &qemu);

    let cores: Vec<PathBuf> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(cores.len(), 1, "{cores:?}");
    assert!(cores[0].file_name().unwrap().to_str().unwrap().starts_with("isrscope-"));
    let out = Command::new(env!("CARGO_BIN_EXE_isrscope"))
        .args(["analyze", "--format", "json", "--elf"])
        .arg(s.elf_path())
        .arg(&cores[0])
        .output()
        .unwrap();
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let summary = report["summary"].as_str().unwrap();
    assert!(summary.starts_with(exception), "{summary}");
    // The UI's summary line is the same sentence (its first screen line of it).
    let head: String = summary.chars().take(60).collect();
    assert!(fault.contains(&head), "the UI showed another fault than the core holds: {summary}\n{fault}");
    let text = Command::new(env!("CARGO_BIN_EXE_isrscope")).args(["analyze", "--elf"]).arg(s.elf_path()).arg(&cores[0]).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    for bit in s.cfsr.iter().chain(&s.hfsr) {
        assert!(text.contains(bit.as_str()), "fault bit {bit} not in the analysis:\n{text}");
    }
}
