//! `isrscope run --chip` on the virtual probe (probe-rs, BMP door): the firmware the
//! vprobe's QEMU holds is reset and run (`--no-load`: QEMU's STM32F4 flash cannot be
//! programmed by probe-rs' flash algorithm), its RTT channel read while it runs (probe-rs
//! reads memory from a running core: no halts, so no notice of them), and its fault
//! reported with the class's exit code (docs/run.md).

mod support;
#[path = "../../tests/common/run_samples.rs"]
mod run_samples;

use support::{Vprobe, isrscope, root};

/// The longest one sample's run may take on the vprobe.
const LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

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

/// Every sample of the `isrscope run` lab (firmware-samples/rust-run/samples.toml) run
/// with `run --chip --no-load` through probe-rs on the vprobe, checked against the same
/// manifest as `cargo run` on QEMU: semihosting served by isrscope at each `BKPT 0xAB`
/// (the vprobe halts there while C_DEBUGEN is set, as silicon does), RTT and defmt read
/// by probe-rs while the core runs, the faults' reports, exit codes.
#[test]
fn run_chip_runs_every_lab_sample_as_on_qemu() {
    let root = root();
    // rtt-stream's line count in 1 s depends on the machine's load through probe-rs;
    // run_chip_reads_rtt_while_the_firmware_runs checks it on the probe with its own bound.
    let failures: Vec<String> = run_samples::load(&root)
        .iter()
        .filter(|s| s.numbered.is_none())
        .filter_map(|s| {
            let elf = s.elf(&root);
            let vp = Vprobe::start("netduinoplus2", &elf, "bmp");
            let out = run_samples::output_within(
                isrscope()
                    .args(["run", "--chip", "STM32F407VG", "--protocol", "swd", "--probe", &vp.selector(), "--no-load"])
                    .args(s.runner_args())
                    .arg(&elf),
                LIMIT,
            );
            drop(vp);
            run_samples::check(&root, s, &out).err()
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
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

/// Without the `_SEGGER_RTT` symbol (taken out of rtt-log's ELF with objcopy, as in a
/// stripped or renamed build), the control block is found by scanning the RAM of the
/// ELF's writable sections: the same lines, and a note of where it was found.
#[test]
fn run_chip_finds_the_rtt_control_block_by_scanning_ram() {
    let dir = tempfile::tempdir().unwrap();
    let elf = dir.path().join("rtt-log-nosym.elf");
    let st = std::process::Command::new("arm-none-eabi-objcopy")
        .args(["--strip-symbol=_SEGGER_RTT"])
        .arg(root().join("firmware-samples/build/rust-run/rtt-log.elf"))
        .arg(&elf)
        .status()
        .unwrap();
    assert!(st.success());
    let symbols = String::from_utf8(std::process::Command::new("arm-none-eabi-nm").arg(&elf).output().unwrap().stdout).unwrap();
    assert!(!symbols.contains("_SEGGER_RTT"), "the symbol is still there");
    let out = run_chip(elf.to_str().unwrap(), &["--timeout", "30", "--format", "json"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(12), "{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().take_while(|l| !l.starts_with('{')).collect();
    assert_eq!(lines, ["rtt: boot", "rtt: sample 1", "rtt: sample 2", "rtt: sample 3"], "{stderr}");
    assert!(stderr.contains("RTT control block found at 0x2") && stderr.contains("by scanning RAM"), "{stderr}");
}

#[test]
fn run_chip_reads_rtt_while_the_firmware_runs() {
    // --allow-reset: no breakpoint on the page of main, which QEMU would run slowly.
    let out = run_chip("firmware-samples/build/rust-run/rtt-stream.elf", &["--timeout", "4", "--allow-reset"]);
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

/// `run --chip` loads with probe-rs' flashing (here an image linked into SRAM, which
/// needs no flash algorithm: QEMU's STM32F4 flash cannot be programmed by one), verifies
/// it, starts it from its own vector table, and reports its fault. The vprobe's QEMU
/// runs another firmware: the BusFault in sensor_read comes only if the load happened.
#[test]
fn run_chip_loads_a_ram_image_with_probe_rs_and_runs_it() {
    let other = root().join("firmware-samples/build/rust-run/forever.elf");
    let elf = root().join("firmware-samples/build/c/busfault-ram.elf");
    let vp = Vprobe::start("netduinoplus2", &other, "bmp");
    let out = isrscope()
        .args(["run", "--chip", "STM32F407VG", "--protocol", "swd", "--probe", &vp.selector(), "--timeout", "30", "--format", "json"])
        .arg(&elf)
        .output()
        .unwrap();
    drop(vp);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(12), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let r: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let functions: Vec<&str> = r["backtrace"].as_array().unwrap().iter().filter_map(|e| e["function"].as_str()).collect();
    assert!(functions.contains(&"sensor_read"), "{functions:?}");
}

/// A flash image the flash algorithm cannot program (QEMU's flash): a clear error, exit
/// 1, no panic.
#[test]
fn run_chip_says_clearly_when_flashing_fails() {
    let elf = root().join("firmware-samples/build/c/busfault.elf");
    let vp = Vprobe::start("netduinoplus2", &elf, "bmp");
    let out = isrscope()
        .args(["run", "--chip", "STM32F407VG", "--protocol", "swd", "--probe", &vp.selector(), "--timeout", "30"])
        .arg(&elf)
        .output()
        .unwrap();
    drop(vp);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.starts_with("isrscope: error:") && err.contains("flashing failed"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
