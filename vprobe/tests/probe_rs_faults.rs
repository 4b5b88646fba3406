//! A probe that answers what probe-rs does not expect, through `isrscope --chip`: the
//! virtual probe's BMP door at protocol v3 with its ADIv5 engine refusing every command
//! (`ISRSCOPE_VPROBE_REFUSE_ADIV5`). probe-rs 0.32 unwraps the result of its debug port
//! start-up there and panics inside the attach; isrscope must give a clear error and
//! exit code 1, without a panic's report.

mod support;

use support::{Vprobe, isrscope, root};

#[test]
fn a_probe_that_makes_probe_rs_panic_is_a_clear_error() {
    let elf = root().join("firmware-samples/build/c/busfault.elf");
    let vp = Vprobe::start_env(
        "netduinoplus2",
        &elf,
        "bmp",
        &["--bmp-protocol".to_string(), "3".to_string()],
        &[("ISRSCOPE_VPROBE_REFUSE_ADIV5", "1")],
    );
    let out = isrscope()
        .args(["inspect", "--chip", "STM32F407VG", "--protocol", "swd", "--probe", &vp.selector(), "--elf"])
        .arg(&elf)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.starts_with("isrscope: error:"), "{err}");
    assert!(err.contains("STM32F407VG") && err.contains("probe-rs gave up with a panic"), "{err}");
    assert!(!err.contains("panicked at") && !err.contains("stack backtrace"), "the panic's report leaked: {err}");
}

/// A board nobody debugged (C_DEBUGEN clear, firmware running): `inspect --chip` halts
/// it for the report, then leaves it as found: running, C_DEBUGEN clear again (left
/// set, a BKPT in the firmware would halt the core for good instead of faulting),
/// DEMCR and the FPB as they were.
#[test]
fn a_core_found_running_without_a_debugger_is_left_so() {
    let elf = root().join("firmware-samples/build/c/busfault.elf");
    let vp = Vprobe::start_running("netduinoplus2", &elf, "bmp", &["--bmp-protocol".to_string(), "3".to_string()]);
    let out = isrscope()
        .args(["inspect", "--chip", "STM32F407VG", "--protocol", "swd", "--probe", &vp.selector(), "--format", "json", "--elf"])
        .arg(&elf)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {err}"));
    assert_eq!(report["outcome"], "bus-fault", "{report}");
    assert_eq!(out.status.code(), Some(12), "{err}");
    let c = &vp.finish()[0];
    assert_eq!(c["found"]["running"], true, "{c}");
    assert_eq!(c["found"]["c_debugen"], false, "{c}");
    assert_eq!(c["found"], c["left"], "the debug state as found: {c}");
}
