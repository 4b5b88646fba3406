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
use common::manifest::{backtrace_functions, is_subsequence};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Manifest {
    sample: Vec<Sample>,
}

#[derive(Deserialize)]
struct Sample {
    name: String,
    #[serde(default)]
    bin: Option<String>,
    exit: i32,
    stdout: Vec<String>,
    #[serde(default)]
    stderr: Vec<String>,
    #[serde(default)]
    outcome: Option<String>,
    #[serde(default)]
    exception: Option<String>,
    #[serde(default)]
    backtrace: Vec<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    numbered: Option<String>,
    #[serde(default)]
    repeated: Option<String>,
    #[serde(default)]
    at_least: usize,
}

fn lab() -> PathBuf {
    common::repo_root().join("firmware-samples/rust-run")
}

fn samples() -> Vec<Sample> {
    let m: Manifest = toml::from_str(&std::fs::read_to_string(lab().join("samples.toml")).unwrap()).unwrap();
    m.sample
}

/// `cargo run --release --bin NAME -- ARGS` in the lab crate, with this build's isrscope
/// first on PATH (the runner line says `isrscope run ...`). Debian's cargo and rustc, as
/// firmware-samples/rust-run/build.sh builds it (already built: offline).
fn cargo_run(name: &str, args: &[String]) -> std::process::Output {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_isrscope")).parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let mut cmd = Command::new("timeout");
    cmd.args(["120", "/usr/bin/cargo", "run", "-q", "--release", "--locked", "--offline", "--bin", name, "--"])
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
    let all = samples();
    assert!(all.len() >= 5);
    for s in &all {
        let mut args = s.args.clone();
        if s.outcome.is_some() {
            args.extend(["--format".to_string(), "json".to_string()]);
        }
        let out = cargo_run(s.bin.as_deref().unwrap_or(&s.name), &args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(s.exit), "{}: exit code\nstdout:\n{stdout}\nstderr:\n{stderr}", s.name);
        // The firmware's lines come first, in order; then (a fault) the report.
        let (firmware, report) = match stdout.find("\n{").filter(|_| s.outcome.is_some()) {
            Some(i) => (&stdout[..i + 1], Some(&stdout[i + 1..])),
            None => (&stdout[..], None),
        };
        let lines: Vec<&str> = firmware.lines().collect();
        match (&s.numbered, &s.repeated) {
            (_, Some(line)) => {
                let n = lines.iter().take_while(|l| *l == line).count();
                assert!(n >= s.at_least, "{}: {line:?} {n} times, fewer than {}", s.name, s.at_least);
            }
            (Some(prefix), None) => {
                // Complete lines only: the last may have been cut by the stop.
                let n = lines.iter().take_while(|l| l.strip_prefix(prefix.as_str()).is_some()).count().saturating_sub(1);
                assert!(n >= s.at_least, "{}: {n} numbered lines, fewer than {}", s.name, s.at_least);
                for (i, l) in lines[..n].iter().enumerate() {
                    assert_eq!(*l, format!("{prefix} {i}"), "{}: line {i} (one lost or out of order)", s.name);
                }
            }
            (None, None) => assert_eq!(lines, s.stdout.iter().map(String::as_str).collect::<Vec<_>>(), "{}: the firmware's stdout", s.name),
        }
        // A decoded defmt frame's location is the line of its macro in the source.
        for l in s.stdout.iter().filter(|l| l.contains(".rs:") && l.ends_with(')')) {
            if let Some((file, line)) = l.rsplit_once(" (").and_then(|(_, loc)| loc.strip_suffix(')')?.split_once(':')) {
                let src = std::fs::read_to_string(lab().join("src/bin").join(file)).unwrap();
                let text = src.lines().nth(line.parse::<usize>().unwrap() - 1).unwrap_or("");
                assert!(text.contains("defmt::"), "{}: {l}: line {line} of {file} is {text:?}", s.name);
            }
        }
        for l in &s.stderr {
            assert!(stderr.lines().any(|x| x == l), "{}: stderr lacks {l:?}:\n{stderr}", s.name);
        }
        match (&s.outcome, report) {
            (Some(outcome), Some(json)) => {
                let r: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{}: {e}: {json}", s.name));
                assert_eq!(r["outcome"], outcome.as_str(), "{}", s.name);
                assert_eq!(r["exception"]["name"].as_str().unwrap_or("none"), s.exception.as_deref().unwrap(), "{}", s.name);
                let got = backtrace_functions(&r);
                let got: Vec<&str> = got.iter().map(String::as_str).collect();
                let wanted: Vec<&str> = s.backtrace.iter().map(String::as_str).collect();
                assert!(is_subsequence(&wanted, &got), "{}: backtrace {got:?} lacks {wanted:?}", s.name);
                let summary = r["summary"].as_str().unwrap();
                assert!(summary.contains(s.text.as_deref().unwrap()), "{}: {summary}", s.name);
            }
            (None, None) => {}
            (o, r) => panic!("{}: expected a report {o:?}, got {r:?}", s.name),
        }
    }
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
