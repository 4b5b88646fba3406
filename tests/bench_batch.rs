//! Benchmark (ignored by default; needs QEMU and gdb-multiarch): batch post-mortem,
//! dumps analysed per second on 2 cores. A fleet of core dumps of one firmware (one
//! capture from QEMU, copied: every dump is parsed, unwound and reported in full) is
//! analysed by `isrscope analyze DIR/ --jobs 2`, and by gdb-multiarch opening each dump
//! (`bt`, `info registers`, the SCB fault block), two processes at a time. Two
//! firmwares: the lab's c-isr-fault and the big generated image (20 MB of DWARF).
//!
//! scripts/bench.sh runs it; results in docs/performance.md.

mod common;
mod support_bench;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use support_bench::{big_elf, isrscope_bin, measure};

/// Captures one dump of `elf` on `machine` (at a fault, or at `break_at`) into `dir`
/// and copies it to `count` files.
fn fleet(dir: &Path, machine: &str, elf: &Path, break_at: Option<&str>, count: usize) -> Vec<PathBuf> {
    let first = dir.join("dump-0000.core");
    let mut cmd = Command::new(isrscope_bin());
    cmd.args(["capture", "--qemu", machine, "--elf"])
        .arg(elf)
        .arg("--output")
        .arg(&first)
        .args(["--timeout", "60"]);
    if let Some(b) = break_at {
        cmd.args(["--break-at", b, "--no-catch"]);
    }
    let m = measure(&mut cmd);
    assert!(first.exists(), "capture failed ({:?}): {}", m.code, m.stderr);
    let mut out = vec![first.clone()];
    for i in 1..count {
        let p = dir.join(format!("dump-{i:04}.core"));
        std::fs::copy(&first, &p).unwrap();
        out.push(p);
    }
    out
}

/// gdb-multiarch on each dump, `jobs` processes at a time; returns the wall time.
fn gdb_fleet(elf: &Path, dumps: &[PathBuf], jobs: usize) -> Duration {
    let started = Instant::now();
    let failures = common::run_all(dumps, jobs, |d| {
        let out = Command::new("gdb-multiarch")
            .args(["-batch", "-nx"])
            .arg(elf)
            .arg(d)
            .args(["-ex", "bt", "-ex", "info registers", "-ex", "x/16wx 0xE000ED00"])
            .output()
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&out.stdout);
        if text.lines().any(|l| l.starts_with("#1")) {
            Ok(())
        } else {
            Err(format!("{}: {text}{}", d.display(), String::from_utf8_lossy(&out.stderr)))
        }
    });
    assert!(failures.is_empty(), "{failures:?}");
    started.elapsed()
}

fn bench(name: &str, machine: &str, elf: &Path, break_at: Option<&str>, ours_n: usize, gdb_n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let dumps = fleet(dir.path(), machine, elf, break_at, ours_n);
    let size = std::fs::metadata(&dumps[0]).unwrap().len();
    let m = measure(
        Command::new(isrscope_bin())
            .arg("analyze")
            .arg(dir.path())
            .arg("--elf")
            .arg(elf)
            .args(["--format", "json", "--jobs", "2"]),
    );
    assert_eq!(m.code, Some(0), "analyze: {}", m.stderr);
    let lines = m.stdout.lines().filter(|l| l.contains("\"dump\"")).count();
    assert_eq!(lines, ours_n, "one report per dump");
    let ours_rate = ours_n as f64 / m.wall.as_secs_f64();
    let gdb_wall = gdb_fleet(elf, &dumps[..gdb_n], 2);
    let gdb_rate = gdb_n as f64 / gdb_wall.as_secs_f64();
    println!(
        "| {name} | {:.0} KiB | {ours_n} in {:.2} s: **{ours_rate:.0}/s**, peak RSS {:.1} MiB, CPU {:.2} s | {gdb_n} in {:.2} s: **{gdb_rate:.1}/s** | {:.1} |",
        size as f64 / 1024.0,
        m.wall.as_secs_f64(),
        m.max_rss_kib as f64 / 1024.0,
        m.cpu.as_secs_f64(),
        gdb_wall.as_secs_f64(),
        ours_rate / gdb_rate
    );
}

#[test]
#[ignore]
fn benchmark_batch_post_mortem_against_gdb() {
    println!("isrscope binary: {}", isrscope_bin().display());
    println!("| firmware | dump size | isrscope analyze DIR --jobs 2 | gdb-multiarch, 2 at a time | rate ratio |");
    println!("|---|---|---|---|---|");
    let isr = common::repo_root().join("firmware-samples/build/c/isr-fault.elf");
    bench("lab c-isr-fault (BusFault in an ISR)", "netduinoplus2", &isr, None, 1000, 40);
    bench("generated, 20 MB DWARF (stop 52 frames deep)", "mps2-an385", &big_elf(), Some("deepest"), 100, 10);
}
