//! Benchmark (ignored by default; needs arm-none-eabi-gcc, QEMU and gdb-multiarch):
//! a generated firmware with about 20 MB of DWARF, symbolized and unwound by isrscope,
//! by binutils' addr2line and by gdb-multiarch on the same addresses and stop.
//!
//! cargo test --release --test unwind_bench -- --ignored --nocapture
//! (ISRSCOPE_BENCH_ELF=path reuses an already built image.)

mod common;
mod support_bench;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::lab::Qemu;
use isrscope::debuginfo::Image;
use isrscope::target::gdb::{ConnectOptions, GdbTarget};
use isrscope::target::{BreakpointKind, Target};
use isrscope::unwind::{UnwindOptions, Unwinder};

fn build() -> PathBuf {
    support_bench::big_elf()
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[test]
#[ignore]
fn benchmark_symbolize_and_unwind_on_a_20_mb_dwarf_image() {
    let elf = build();
    let size = std::fs::metadata(&elf).unwrap().len();

    // Symbolization: 1000 addresses spread over the image.
    let t0 = Instant::now();
    let image = Image::open(&elf).unwrap();
    let t_open = t0.elapsed();
    let funcs: Vec<u32> = image.symbols().functions().filter(|s| s.demangled.starts_with('f')).map(|s| s.address + 4).collect();
    let step = (funcs.len() / 1000).max(1);
    let addrs: Vec<u32> = funcs.iter().step_by(step).take(1000).copied().collect();
    let t1 = Instant::now();
    let first = image.symbolize(addrs[0]);
    let t_first = t1.elapsed();
    let t2 = Instant::now();
    let mut frames = 0;
    for a in &addrs {
        frames += image.symbolize(*a).frames.len();
    }
    let t_all = t2.elapsed();
    assert!(first.function().is_some());

    let t3 = Instant::now();
    let out = Command::new("arm-none-eabi-addr2line")
        .args(["-f", "-i", "-e"])
        .arg(&elf)
        .args(addrs.iter().map(|a| format!("{a:#x}")))
        .output()
        .unwrap();
    let t_binutils = t3.elapsed();
    assert!(out.status.success());

    // Unwinding a 52-deep stack in QEMU, and gdb-multiarch's `bt` of the same stop.
    let deepest = image.symbols().by_name("deepest").unwrap().address;
    let qemu = Qemu::start("mps2-an385", &elf);
    let address = format!("unix:{}", qemu.socket().display());
    let mut t = loop {
        match GdbTarget::connect(&address, &ConnectOptions::default()) {
            Ok(t) => break t,
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    t.set_breakpoint(deepest, BreakpointKind::Software).unwrap();
    t.resume().unwrap();
    t.wait_for_stop(Duration::from_secs(20)).unwrap().expect("stop at deepest");
    let t4 = Instant::now();
    let mut unwinder = Unwinder::new(&image);
    let t_index = t4.elapsed();
    let t5 = Instant::now();
    let bt = unwinder.unwind(&mut t, &UnwindOptions::default()).unwrap();
    let t_unwind = t5.elapsed();
    t.detach(false).unwrap();
    let names = bt.function_names();
    assert_eq!(names.first().map(String::as_str), Some("deepest"));
    assert!(names.iter().any(|n| n == "Reset_Handler"), "{names:?}");

    let t6 = Instant::now();
    let gdb = common::oracle::run_batch(&elf, &[format!("target remote {}", qemu.socket().display()), "bt".into()]);
    let t_gdb = t6.elapsed();
    let gdb_frames = gdb.lines().filter(|l| l.starts_with('#')).count();

    eprintln!("image: {} ({:.1} MB)", elf.display(), size as f64 / 1e6);
    eprintln!("isrscope: open {}, first lookup {} , 1000 lookups {} ({} frames)", ms(t_open), ms(t_first), ms(t_all), frames);
    eprintln!("binutils addr2line -f -i, 1000 addresses (process total): {}", ms(t_binutils));
    eprintln!(
        "isrscope unwind: FDE index {} ({} FDEs), unwind {} frames {}",
        ms(t_index),
        unwinder.fde_count(),
        bt.frames.len(),
        ms(t_unwind)
    );
    eprintln!("gdb-multiarch -batch: load + target remote + bt ({gdb_frames} frames): {}", ms(t_gdb));
}
