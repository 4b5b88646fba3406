//! The text report as a user reads it, pinned by insta snapshots (a change in wording
//! shows in review), and `inspect`'s error and no-fault paths through the real binary.

mod common;

use std::process::{Command, Output};

use common::manifest;

fn isrscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_isrscope")).args(args).env_remove("NO_COLOR").output().expect("isrscope runs")
}

fn elf(name: &str) -> String {
    manifest::load().into_iter().find(|s| s.name == name).unwrap_or_else(|| panic!("{name}")).elf_path().display().to_string()
}

/// Paths that differ between machines and runs: the checkout and QEMU's socket.
fn normalize(text: &str) -> String {
    let root = common::repo_root().display().to_string();
    text.lines()
        .map(|l| {
            let l = l.replace(&root, "<repo>");
            match l.find(" at unix:") {
                Some(i) if l.starts_with("Target:") => {
                    let rest = &l[i + " at unix:".len()..];
                    let end = rest.find(',').unwrap_or(rest.len());
                    format!("{} at unix:<socket>{}", &l[..i], &rest[end..])
                }
                _ => l,
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn text_report(scenario: &str) -> (i32, String) {
    let out = isrscope(&["inspect", "--qemu", "netduinoplus2", "--elf", &elf(scenario)]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains('\x1b'), "no colour when piped");
    (out.status.code().unwrap_or(-1), normalize(&stdout))
}

#[test]
fn text_reports_of_the_lab_faults() {
    for (scenario, code) in [
        ("c-busfault", 12),
        ("c-forced", 10),
        ("c-isr-fault", 12),
        ("c-psp-fp", 12),
        ("c-stack-overflow", 12),
        ("c-invstate", 13),
        ("c-memmanage", 11),
    ] {
        let (got, text) = text_report(scenario);
        assert_eq!(got, code, "{scenario} exit code\n{text}");
        insta::assert_snapshot!(scenario, text);
    }
}

#[test]
fn an_escalated_fault_says_so_in_its_first_sentence() {
    let (_, text) = text_report("c-forced");
    let first = text.lines().next().unwrap();
    assert!(first.starts_with("BusFault escalated to HardFault"), "{first}");
    assert!(first.contains("0x60000008") && first.contains("sensor_read"), "{first}");
}

#[test]
fn no_fault_before_the_timeout_is_exit_0_and_says_so() {
    let out = isrscope(&["inspect", "--qemu", "netduinoplus2", "--elf", &elf("c-vectors-good"), "--timeout", "1", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(r["summary"].as_str().unwrap().starts_with("No fault within 1 s"), "{}", r["summary"]);
    assert_eq!(r["outcome"], "no-fault");
    assert!(r["fault"].is_null());
}

#[test]
fn no_wait_reports_the_state_as_it_is() {
    let out = isrscope(&["inspect", "--qemu", "netduinoplus2", "--elf", &elf("c-busfault"), "--no-wait", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // QEMU starts halted at the reset vector: thread mode, no exception.
    assert!(r["exception"].is_null(), "{r:#}");
    assert!(r["summary"].as_str().unwrap().starts_with("No exception active"), "{}", r["summary"]);
}

#[test]
fn errors_are_clear_and_exit_1_usage_errors_exit_2() {
    let missing = isrscope(&["inspect", "--qemu", "netduinoplus2", "--elf", "/nonexistent/fw.elf"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/fw.elf"));

    let foreign = isrscope(&["inspect", "--gdb", "127.0.0.1:9", "--elf", "/bin/true"]);
    assert_eq!(foreign.status.code(), Some(1));
    let err = String::from_utf8_lossy(&foreign.stderr);
    assert!(err.contains("/bin/true") && err.contains("32-bit"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let nowhere = format!("unix:{}", dir.path().join("no.sock").display());
    let unreachable = isrscope(&["inspect", "--gdb", &nowhere, "--elf", &elf("c-busfault")]);
    assert_eq!(unreachable.status.code(), Some(1));
    let err = String::from_utf8_lossy(&unreachable.stderr);
    assert!(err.contains("no.sock") && err.contains("connect"), "{err}");

    let no_target = isrscope(&["inspect", "--elf", &elf("c-busfault")]);
    assert_eq!(no_target.status.code(), Some(2));
    let two_targets = isrscope(&["inspect", "--gdb", ":3333", "--qemu", "netduinoplus2", "--elf", &elf("c-busfault")]);
    assert_eq!(two_targets.status.code(), Some(2));
    for out in [&missing, &foreign, &unreachable, &no_target, &two_targets] {
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    }
}

/// A QEMU older than 8.0 (a wrapper that says 7.2 and runs the real one) is named on
/// stderr and among the findings: its gdbstub lacks msp/psp, so PSP frames are lost.
#[test]
fn an_old_qemu_is_warned_about_on_stderr_and_in_the_findings() {
    let dir = tempfile::tempdir().unwrap();
    let wrapper = dir.path().join("qemu-system-arm");
    std::fs::write(
        &wrapper,
        "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'QEMU emulator version 7.2.15 (Debian 1:7.2+dfsg-7)'; exit 0; fi\nexec qemu-system-arm \"$@\"\n",
    )
    .unwrap();
    let mut perms = std::fs::metadata(&wrapper).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&wrapper, perms).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_isrscope"))
        .args(["inspect", "--qemu", "netduinoplus2", "--format", "json", "--elf", &elf("c-busfault")])
        .env("ISRSCOPE_QEMU", &wrapper)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.lines().any(|l| l.starts_with("isrscope: warning: QEMU 7.2.15 is older than 8.0")),
        "stderr:\n{err}"
    );
    assert_eq!(out.status.code(), Some(12), "the report is still made; stderr:\n{err}");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = r["findings"].as_array().unwrap().iter().find(|f| f["code"] == "qemu-too-old").unwrap_or_else(|| panic!("{r:#}"));
    assert_eq!(f["severity"], "warning");
    assert!(f["message"].as_str().unwrap().contains("older than 8.0"), "{f}");
}
