//! `isrscope attach` end to end: the real binary in a real terminal (tmux, on a private
//! tmux server), driven by keys against the QEMU lab. It attaches, breaks in an ISR
//! handler chosen in the vector pane, continues to the fault, checks the screen
//! against the manifest, quits, and checks that the terminal is restored (alternate
//! screen left, shell prompt back) and that no QEMU process is left.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::manifest;

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
    tmux.keys(&["R"]);
    tmux.wait_for("reset-halt", Duration::from_secs(10), |t| t.contains("reset, halted"));
    tmux.keys(&["c"]);
    let at_isr = tmux.wait_for("the ISR breakpoint", Duration::from_secs(30), |t| {
        t.contains("IRQ28 (exception 44)") && t.contains("entry of TIM2_IRQHandler")
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
