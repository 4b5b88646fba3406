//! `isrscope run --chip` on the virtual probe (probe-rs, BMP door): the firmware the
//! vprobe's QEMU holds is reset and run (`--no-load`: QEMU's STM32F4 flash cannot be
//! programmed by probe-rs' flash algorithm), its RTT channel read while it runs (probe-rs
//! reads memory from a running core: no halts, so no notice of them), and its fault
//! reported with the class's exit code (docs/run.md).

mod support;

use support::{Vprobe, isrscope, root};

fn run_chip(elf: &str, extra: &[&str]) -> std::process::Output {
    let elf = root().join(elf);
    let vp = Vprobe::start("netduinoplus2", &elf, "bmp");
    let out = isrscope()
        .args(["run", "--chip", "STM32F407VG", "--protocol", "swd", "--probe", &vp.selector(), "--no-load"])
        .args(extra)
        .arg(&elf)
        .output()
        .unwrap();
    drop(vp);
    out
}

#[test]
fn run_chip_shows_rtt_then_the_fault_report() {
    let out = run_chip("firmware-samples/build/rust-run/rtt-log.elf", &["--timeout", "30", "--format", "json"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(12), "{stdout}\n{stderr}");
    let (lines, json) = stdout.split_at(stdout.find("\n{").expect("a report") + 1);
    assert_eq!(lines.lines().collect::<Vec<_>>(), ["rtt: boot", "rtt: sample 1", "rtt: sample 2", "rtt: sample 3"]);
    let r: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(r["outcome"], "bus-fault");
    assert!(!stderr.contains("halting the core briefly"), "{stderr}");
}

#[test]
fn run_chip_reads_rtt_while_the_firmware_runs() {
    let out = run_chip("firmware-samples/build/rust-run/rtt-stream.elf", &["--timeout", "4"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(124), "{}", String::from_utf8_lossy(&out.stderr));
    // Complete lines only: the last may have been cut by the stop.
    let mut ticks: Vec<&str> = stdout.lines().take_while(|l| l.starts_with("tick ")).collect();
    ticks.pop();
    // More than its 1 KiB buffer holds (about 113 lines), none lost (BlockIfFull).
    assert!(ticks.len() >= 130, "{} lines", ticks.len());
    for (i, l) in ticks.iter().enumerate() {
        assert_eq!(*l, format!("tick {i}"));
    }
}
