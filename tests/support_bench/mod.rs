//! Shared by the benchmarks (tests/bench_*.rs, tests/unwind_bench.rs): the generated
//! big firmware, and running a peer tool while measuring its wall time and peak memory.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BENCH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/unwind_support/bench");

/// The generated firmware with about 20 MB of DWARF (tests/unwind_support/bench/gen.py:
/// 16 x 2000 functions with inlined helpers, and a 52-deep call chain ending in
/// `deepest`), built once into the target directory. `ISRSCOPE_BENCH_ELF` overrides.
pub fn big_elf() -> PathBuf {
    if let Ok(p) = std::env::var("ISRSCOPE_BENCH_ELF") {
        return PathBuf::from(p);
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench");
    let elf = dir.join("big.elf");
    if elf.exists() {
        return elf;
    }
    let src = dir.join("src");
    let ok = Command::new("python3").arg(Path::new(BENCH).join("gen.py")).args(["16", "2000"]).arg(&src).status().unwrap();
    assert!(ok.success());
    let mut sources: Vec<PathBuf> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "c"))
        .collect();
    sources.sort();
    let objects: Vec<PathBuf> = sources.iter().map(|s| s.with_extension("o")).collect();
    let mut jobs: Vec<_> = sources
        .iter()
        .zip(&objects)
        .map(|(s, o)| {
            let mut c = Command::new("arm-none-eabi-gcc");
            c.args(["-mcpu=cortex-m3", "-mthumb", "-g", "-O1", "-ffreestanding", "-c"]).arg(s).arg("-o").arg(o);
            c
        })
        .collect();
    for chunk in jobs.chunks_mut(2) {
        let children: Vec<_> = chunk.iter_mut().map(|c| c.spawn().unwrap()).collect();
        for mut ch in children {
            assert!(ch.wait().unwrap().success());
        }
    }
    // Link to a temporary name: a half-written big.elf must not be taken as built.
    let partial = dir.join("big.elf.partial");
    let ok = Command::new("arm-none-eabi-gcc")
        .args(["-mcpu=cortex-m3", "-mthumb", "-nostdlib", "-T"])
        .arg(Path::new(BENCH).join("link.ld"))
        .args(&objects)
        .args(["-lgcc", "-o"])
        .arg(&partial)
        .status()
        .unwrap();
    assert!(ok.success());
    std::fs::rename(&partial, &elf).unwrap();
    elf
}

/// One run of an external program.
pub struct Measured {
    pub stdout: String,
    pub stderr: String,
    pub code: Option<i32>,
    pub wall: Duration,
    /// Peak resident set size of the process itself (getrusage's ru_maxrss), in KiB.
    pub max_rss_kib: u64,
    /// User + system CPU time of the process.
    pub cpu: Duration,
}

/// Runs `cmd` to completion, reaping it with `wait4` to get its own resource usage.
// The child is reaped by `wait4`, which clippy cannot see.
#[allow(clippy::zombie_processes)]
pub fn measure(cmd: &mut Command) -> Measured {
    let started = Instant::now();
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid out-parameter; the pid is our own child.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut ru) };
    assert!(pid > 0, "wait4 failed");
    let wall = started.elapsed();
    let tv = |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    Measured {
        stdout: String::from_utf8_lossy(&t_out.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&t_err.join().unwrap()).into_owned(),
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        wall,
        max_rss_kib: ru.ru_maxrss as u64,
        cpu: tv(ru.ru_utime) + tv(ru.ru_stime),
    }
}

pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

pub fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

/// The isrscope binary to measure: `$ISRSCOPE_BENCH_BIN`, else the one cargo built for
/// this test run (release under `cargo test --release`).
pub fn isrscope_bin() -> PathBuf {
    std::env::var_os("ISRSCOPE_BENCH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_isrscope")))
}
