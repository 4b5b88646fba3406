//! Benchmark (ignored by default; needs arm-none-eabi-gcc, binutils, QEMU and
//! gdb-multiarch): the big generated firmware (about 20 MB of DWARF, 32,000 functions
//! with inlined helpers; see tests/support_bench), side by side with the peers in one
//! run:
//!
//! - the whole job through the real binary: load the ELF, run to `deepest` (a 52-deep
//!   call chain) on QEMU, unwind and report, `isrscope inspect --break-at deepest` vs
//!   gdb-multiarch (`break *deepest`, `continue`, `bt`, `info registers`): wall time,
//!   CPU time and peak memory of each process;
//! - symbolizing 1000 addresses with inline chains: isrscope's library (in process)
//!   vs binutils `addr2line -f -i` and gdb-multiarch `info line` (processes).
//!
//! scripts/bench.sh runs it; results in docs/performance.md.

mod common;
mod support_bench;

use std::process::Command;
use std::time::Instant;

use common::lab::Qemu;
use isrscope::debuginfo::Image;
use object::{Object, ObjectSection};
use support_bench::{Measured, big_elf, isrscope_bin, measure, median, ms};

const REPEAT: usize = 3;

fn dwarf_bytes(elf: &std::path::Path) -> u64 {
    let data = std::fs::read(elf).unwrap();
    let file = object::File::parse(&*data).unwrap();
    file.sections()
        .filter(|s| s.name().is_ok_and(|n| n.starts_with(".debug_")))
        .map(|s| s.size())
        .sum()
}

fn row(name: &str, runs: &[Measured]) {
    let wall = median(runs.iter().map(|r| r.wall).collect());
    let cpu = median(runs.iter().map(|r| r.cpu).collect());
    let rss = runs.iter().map(|r| r.max_rss_kib).max().unwrap();
    println!("| {name} | {} | {} | {:.1} MiB |", ms(wall), ms(cpu), rss as f64 / 1024.0);
}

#[test]
#[ignore]
fn benchmark_big_firmware_against_gdb_and_addr2line() {
    let elf = big_elf();
    let size = std::fs::metadata(&elf).unwrap().len();
    println!(
        "image: {:.1} MB, {:.1} MB of DWARF; isrscope binary {}",
        size as f64 / 1e6,
        dwarf_bytes(&elf) as f64 / 1e6,
        isrscope_bin().display()
    );
    let image = Image::open(&elf).unwrap();
    let deepest = image.symbols().by_name("deepest").unwrap().address & !1;

    // The whole job, each tool on its own fresh QEMU, alternating.
    let (mut ours, mut gdb) = (Vec::new(), Vec::new());
    for _ in 0..REPEAT {
        let qemu = Qemu::start("mps2-an385", &elf);
        let m = measure(
            Command::new(isrscope_bin())
                .arg("inspect")
                .arg("--gdb")
                .arg(format!("unix:{}", qemu.socket().display()))
                .arg("--elf")
                .arg(&elf)
                .args(["--break-at", "deepest", "--no-catch", "--format", "json", "--timeout", "60"]),
        );
        assert_eq!(m.code, Some(0), "isrscope: {}", m.stderr);
        let json: serde_json::Value = serde_json::from_str(&m.stdout).unwrap();
        let frames = json["backtrace"].as_array().unwrap().len();
        assert!(frames >= 52, "{frames} frames");
        ours.push(m);
        drop(qemu);

        let qemu = Qemu::start("mps2-an385", &elf);
        let m = measure(
            Command::new("gdb-multiarch")
                .args(["-batch", "-nx"])
                .arg(&elf)
                .arg("-ex")
                .arg(format!("target remote {}", qemu.socket().display()))
                .arg("-ex")
                .arg(format!("break *{deepest:#x}"))
                .args(["-ex", "continue", "-ex", "bt", "-ex", "info registers", "-ex", "detach"]),
        );
        let gdb_frames = m.stdout.lines().filter(|l| l.starts_with('#')).count();
        assert!(gdb_frames >= 52, "gdb: {gdb_frames} frames\n{}{}", m.stdout, m.stderr);
        gdb.push(m);
    }
    println!("\nRun to `deepest` on QEMU, unwind 52+ frames, report (median of {REPEAT}; ratio = isrscope / peer):\n");
    println!("| tool | wall | CPU | peak RSS |");
    println!("|---|---|---|---|");
    row("isrscope inspect --break-at deepest", &ours);
    row("gdb-multiarch (break, continue, bt, info registers)", &gdb);
    let ratio = |a: &[Measured], b: &[Measured]| {
        let w = |v: &[Measured]| median(v.iter().map(|m| m.wall).collect()).as_secs_f64();
        let r = |v: &[Measured]| v.iter().map(|m| m.max_rss_kib).max().unwrap() as f64;
        (w(a) / w(b), r(a) / r(b))
    };
    let (w, r) = ratio(&ours, &gdb);
    println!("\nisrscope / gdb-multiarch: wall {w:.2}, peak memory {r:.2}");

    // Symbolization: 1000 addresses spread over the image.
    let funcs: Vec<u32> = image
        .symbols()
        .functions()
        .filter(|s| s.demangled.starts_with('f'))
        .map(|s| (s.address & !1) + 4)
        .collect();
    let step = (funcs.len() / 1000).max(1);
    let addrs: Vec<u32> = funcs.iter().step_by(step).take(1000).copied().collect();
    let mut ours_sym = Vec::new();
    for _ in 0..REPEAT {
        let t = Instant::now();
        let fresh = Image::open(&elf).unwrap();
        let mut frames = 0;
        for a in &addrs {
            frames += fresh.symbolize(*a).frames.len();
        }
        assert!(frames >= addrs.len(), "every address symbolized: {frames}");
        ours_sym.push(t.elapsed());
    }
    let mut a2l = Vec::new();
    let mut gdb_sym = Vec::new();
    let script = tempfile::NamedTempFile::new().unwrap();
    let text: String = addrs.iter().map(|a| format!("info line *{a:#x}\n")).collect();
    std::fs::write(script.path(), text).unwrap();
    for _ in 0..REPEAT {
        let m = measure(
            Command::new("arm-none-eabi-addr2line")
                .args(["-f", "-i", "-e"])
                .arg(&elf)
                .args(addrs.iter().map(|a| format!("{a:#x}"))),
        );
        assert_eq!(m.code, Some(0));
        a2l.push(m);
        let m = measure(
            Command::new("gdb-multiarch")
                .args(["-batch", "-nx"])
                .arg(&elf)
                .arg("-x")
                .arg(script.path()),
        );
        assert!(m.stdout.lines().filter(|l| l.starts_with("Line ")).count() >= addrs.len() / 2);
        gdb_sym.push(m);
    }
    let ours_t = median(ours_sym);
    println!("\nSymbolize {} addresses with inline chains, ELF load included (median of {REPEAT}):\n", addrs.len());
    println!("| tool | wall | CPU | peak RSS | wall ratio (isrscope / tool) |");
    println!("|---|---|---|---|---|");
    println!("| isrscope (library, in process) | {} | - | - | 1 |", ms(ours_t));
    for (name, runs) in [("binutils addr2line -f -i", &a2l), ("gdb-multiarch info line", &gdb_sym)] {
        let wall = median(runs.iter().map(|r| r.wall).collect());
        let cpu = median(runs.iter().map(|r| r.cpu).collect());
        let rss = runs.iter().map(|r| r.max_rss_kib).max().unwrap();
        println!(
            "| {name} | {} | {} | {:.1} MiB | {:.3} |",
            ms(wall),
            ms(cpu),
            rss as f64 / 1024.0,
            ours_t.as_secs_f64() / wall.as_secs_f64()
        );
    }
}
