//! `isrscope run` as the cargo runner (firmware-samples/rust-run, whose
//! .cargo/config.toml names it): `cargo run --bin NAME` for each sample of its manifest
//! (samples.toml): the firmware's semihosting lines on stdout and stderr as it wrote
//! them, the exit code (the firmware's SYS_EXIT status, a fault class's, 124 after
//! --timeout), and on a fault the report (JSON after the firmware's lines). Then the
//! `--gdb` path (load through a GDB server, start as a reset does) and Ctrl-C.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::lab::Qemu;
use common::manifest::backtrace_functions;
use common::run_samples;
use serde_json::Value;

fn lab() -> PathBuf {
    run_samples::lab(&common::repo_root())
}

/// `cargo run --release --bin NAME -- ARGS` in the lab crate, with this build's isrscope
/// first on PATH (the runner line says `isrscope run ...`). Debian's cargo and rustc, as
/// firmware-samples/rust-run/build.sh builds it (already built: offline).
fn cargo_run(name: &str, cargo: &[String], args: &[String]) -> std::process::Output {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_isrscope")).parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let mut cmd = Command::new("timeout");
    cmd.args(["120", "/usr/bin/cargo", "run", "-q", "--release", "--locked", "--offline", "--bin", name])
        .args(cargo)
        .arg("--")
        .args(args)
        .current_dir(lab())
        .env("PATH", path)
        .env("RUSTC", "/usr/bin/rustc")
        .env("RUSTC_BOOTSTRAP", "1")
        .env("CARGO_TARGET_DIR", lab().join("target"));
    for var in ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_BUILD_TARGET", "RUSTUP_TOOLCHAIN", "CARGO", "RUSTC_WRAPPER", "NO_COLOR"] {
        cmd.env_remove(var);
    }
    cmd.output().unwrap()
}


#[test]
fn cargo_run_through_isrscope_shows_each_samples_output_exit_and_report() {
    let root = common::repo_root();
    let all = run_samples::load(&root);
    assert!(all.len() >= 5);
    let failures: Vec<String> =
        all.iter().filter_map(|s| run_samples::check(&root, s, &cargo_run(s.bin(), &s.cargo, &s.runner_args())).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// `run --gdb` on a GDB server (QEMU's gdbstub, started with another firmware): the ELF
/// is loaded through the server, started as a reset does (SP and PC from its vector
/// table), and its fault reported with its class's exit code. Had the load not happened,
/// the other firmware would have run: its first semihosting call (this QEMU has
/// semihosting off) is a HardFault, exit 10, not busfault.elf's BusFault in sensor_read.
#[test]
fn run_gdb_loads_the_elf_through_the_server_and_reports_its_fault() {
    let root = common::repo_root();
    let other = root.join("firmware-samples/build/rust-run/forever.elf");
    let elf = root.join("firmware-samples/build/c/busfault.elf");
    let qemu = Qemu::start("netduinoplus2", &other);
    let out = Command::new(env!("CARGO_BIN_EXE_isrscope"))
        .args(["run", "--gdb", &format!("unix:{}", qemu.socket().display()), "--timeout", "20", "--format", "json"])
        .arg(&elf)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(12), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(r["outcome"], "bus-fault");
    assert!(backtrace_functions(&r).contains(&"sensor_read".to_string()), "{:?}", backtrace_functions(&r));
}

/// Ctrl-C (SIGINT, as the terminal sends it to the foreground process group, which QEMU
/// is not in): the report of where the core was, exit 130, and no QEMU left behind.
#[test]
fn ctrl_c_stops_cleanly_reports_and_leaves_no_qemu() {
    let elf = common::repo_root().join("firmware-samples/build/rust-run/forever.elf");
    let mut child = Command::new(env!("CARGO_BIN_EXE_isrscope"))
        .args(["run", "--qemu", "netduinoplus2"])
        .arg(&elf)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert_eq!(first.trim(), "running until stopped");
    let qemus = qemu_children(pid);
    assert_eq!(qemus.len(), 1, "one QEMU under isrscope");
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid, libc::SIGINT) };
    let started = Instant::now();
    let status = child.wait().unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert_eq!(status.code(), Some(130), "{rest}");
    assert!(rest.contains("Stopped by SIGINT (Ctrl-C)") && rest.contains("forever::idle_loop"), "{rest}");
    std::thread::sleep(Duration::from_millis(200));
    for q in qemus {
        assert!(!Path::new(&format!("/proc/{q}")).exists() || std::fs::read_to_string(format!("/proc/{q}/stat")).is_ok_and(|s| s.contains(") Z ")), "QEMU {q} is still running");
    }
}

/// The pids of `parent`'s qemu-system-arm children.
fn qemu_children(parent: libc::pid_t) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        let Some(close) = stat.rfind(')') else { continue };
        let comm = &stat[stat.find('(').unwrap_or(0) + 1..close];
        let ppid: i32 = stat[close + 2..].split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
        if ppid == parent && comm.starts_with("qemu-system") {
            out.push(pid);
        }
    }
    out
}

/// Ctrl-C typed on a real terminal (a tmux pane, its pty): the terminal's SIGINT goes to
/// the foreground process group, which QEMU is not in; isrscope reports where the core
/// was, exits 130, leaves no QEMU behind and the terminal's modes as they were.
#[test]
fn ctrl_c_in_a_terminal_leaves_it_sane_and_no_qemu() {
    let dir = tempfile::tempdir().unwrap();
    // A copy with a name of its own: the QEMU started for it is found by its command line.
    let elf = dir.path().join("forever-tmux.elf");
    std::fs::copy(common::repo_root().join("firmware-samples/build/rust-run/forever.elf"), &elf).unwrap();
    let done = dir.path().join("done");
    let socket = format!("isrscope-test-{}", std::process::id());
    // The pane's shell must outlive the Ctrl-C (a non-interactive sh dies of SIGINT):
    // a trap with a command, which exec resets, so isrscope starts with SIGINT at its
    // default, as from an interactive shell.
    let script = format!(
        "trap true INT; stty -a > {d}.before; {bin} run --qemu netduinoplus2 {elf}; echo $? > {d}.code; stty -a > {d}.after; mv {d}.code {d}; sleep 60",
        d = done.display(),
        bin = env!("CARGO_BIN_EXE_isrscope"),
        elf = elf.display()
    );
    let tmux = |args: &[&str]| Command::new("tmux").args(["-L", &socket]).args(args).output().expect("tmux (scripts/setup.sh installs it)");
    let st = tmux(&["new-session", "-d", "-x", "160", "-y", "50", "-s", "t", "sh", "-c", &script]);
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    let pane = || String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", "t", "-S", "-200"]).stdout).into_owned();
    let wait = |what: &dyn Fn() -> bool, why: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !what() {
            assert!(Instant::now() < deadline, "{why}; the pane:\n{}", pane());
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    wait(&|| pane().contains("running until stopped"), "the firmware's first line");
    let cmdline_has_elf = |pid: &str| std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| String::from_utf8_lossy(&c).contains("forever-tmux.elf"));
    let qemus = || -> Vec<String> {
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|p| p.parse::<u32>().is_ok() && std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.starts_with("qemu-system")) && cmdline_has_elf(p))
            .collect()
    };
    assert_eq!(qemus().len(), 1, "one QEMU for the run");
    std::thread::sleep(Duration::from_millis(300));
    tmux(&["send-keys", "-t", "t", "C-c"]);
    wait(&|| done.exists(), "isrscope to end after Ctrl-C");
    let screen = pane();
    tmux(&["kill-server"]);
    assert_eq!(std::fs::read_to_string(&done).unwrap().trim(), "130", "{screen}");
    assert!(screen.contains("Stopped by SIGINT (Ctrl-C)") && screen.contains("forever::idle_loop"), "{screen}");
    let before = std::fs::read_to_string(format!("{}.before", done.display())).unwrap();
    let after = std::fs::read_to_string(format!("{}.after", done.display())).unwrap();
    assert_eq!(before, after, "the terminal's modes changed");
    std::thread::sleep(Duration::from_millis(200));
    assert!(qemus().iter().all(|p| std::fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|s| s.contains(") Z "))), "a QEMU is left: {:?}", qemus());
}
