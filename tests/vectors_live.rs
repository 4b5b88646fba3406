//! Live vector checks against real QEMU in states the lab firmware does not reach by
//! itself: a chip flashed with another build, an enabled IRQ that lands in the default
//! handler, a pending IRQ held back by PRIMASK, a misaligned VTOR. The state is made
//! through the GDB connection (as a user at a debugger would), then checked by the real
//! binary (`--gdb`) or by the library over the same `Target`.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::lab::Qemu;
use isrscope::debuginfo::Image;
use isrscope::model::regs::{nvic, scb};
use isrscope::target::gdb::{ConnectOptions, GdbTarget};
use isrscope::target::{BreakpointKind, Target};
use isrscope::vectors::live::{self, LiveOptions};
use isrscope::vectors::{self, Options, VectorReport};
use isrscope::report::Severity;
use serde_json::Value;

fn elf(name: &str) -> PathBuf {
    common::repo_root().join("firmware-samples/build").join(name)
}

fn attach(qemu: &Qemu) -> GdbTarget {
    let address = format!("unix:{}", qemu.socket().display());
    GdbTarget::connect(&address, &ConnectOptions::default()).expect("attach to QEMU")
}

fn run_to(target: &mut dyn Target, image: &Image, symbol: &str) {
    let at = image.symbols().by_name(symbol).unwrap().address & !1;
    target.set_breakpoint(at, BreakpointKind::Software).unwrap();
    target.resume().unwrap();
    target.wait_for_stop(Duration::from_secs(20)).unwrap().expect("reached the breakpoint");
    target.clear_breakpoint(at).unwrap();
}

fn write_word(target: &mut dyn Target, address: u32, value: u32) {
    target.write_memory(address, &value.to_le_bytes()).unwrap();
}

fn check(target: &mut dyn Target, image: &Image) -> VectorReport {
    let live = live::read(target, image, &LiveOptions::default());
    vectors::analyze(image, &Options::default(), Some(&live))
}

fn finding<'a>(r: &'a VectorReport, code: &str) -> &'a isrscope::report::Finding {
    r.findings.iter().find(|f| f.code == code).unwrap_or_else(|| panic!("no {code} in {:#?}", r.findings))
}

#[test]
fn a_chip_flashed_with_another_build_is_reported_before_anything_else_is_trusted() {
    // The chip runs vec-nothumb; the user holds vectors-good's ELF.
    let qemu = Qemu::start("netduinoplus2", &elf("c/vec-nothumb.elf"));
    let out = Command::new(env!("CARGO_BIN_EXE_isrscope"))
        .args(["vectors", "--format", "json", "--gdb"])
        .arg(format!("unix:{}", qemu.socket().display()))
        .arg("--elf")
        .arg(elf("c/vectors-good.elf"))
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(out.status.code(), Some(3), "{r:#}");
    let codes: BTreeSet<&str> = r["findings"].as_array().unwrap().iter().filter(|f| f["severity"] == "error").map(|f| f["code"].as_str().unwrap()).collect();
    // ...and the word the chip really holds is itself broken.
    assert_eq!(codes, BTreeSet::from(["flash-mismatch", "vector-table-mismatch", "vector-missing-thumb-bit"]), "{r:#}");
    // The table at the boot alias differs in exactly the DebugMonitor entry.
    let diffs = r["live"]["differences"].as_array().unwrap();
    assert_eq!(diffs.len(), 1, "{diffs:?}");
    assert_eq!(diffs[0]["name"], "DebugMonitor");
    assert_eq!(r["live"]["placement"]["kind"], "boot-alias");
    let bad = r["live"]["flash"]["sections"].as_array().unwrap().iter().find(|s| !s["first_difference"].is_null()).unwrap();
    assert_eq!(bad["name"], ".isr_vector");
    assert_eq!(bad["first_difference"], 0x0800_0030, "word 12 of the table");
    assert_ne!(bad["crc_elf"], bad["crc_target"]);
    // The same ELF on the same chip agrees (and the connection left the core usable).
    let out = Command::new(env!("CARGO_BIN_EXE_isrscope"))
        .args(["vectors", "--format", "json", "--gdb"])
        .arg(format!("unix:{}", qemu.socket().display()))
        .arg("--elf")
        .arg(elf("c/vec-nothumb.elf"))
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let codes: Vec<&str> = r["findings"].as_array().unwrap().iter().filter(|f| f["severity"] != "info").map(|f| f["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["vector-missing-thumb-bit"], "{r:#}");
}

#[test]
fn an_enabled_irq_that_lands_in_the_default_handler_and_a_pending_one_that_is_disabled() {
    let path = elf("c/vectors-good.elf");
    let image = Image::open(&path).unwrap();
    let qemu = Qemu::start("netduinoplus2", &path);
    let mut target = attach(&qemu);
    run_to(&mut target, &image, "vectors_ready");
    let r = check(&mut target, &image);
    assert!(!r.has_errors(), "{:#?}", r.findings);

    // IRQ3 (RTC_WKUP on the F407) has no handler of its own: enable and pend it. Pend
    // IRQ4 without enabling it. (QEMU's gdbstub ignores writes to PRIMASK and BASEPRI,
    // so the masked case is pinned in tests/vectors_model.rs with plain values.)
    write_word(&mut target, nvic::ISER, 1 << 3);
    write_word(&mut target, nvic::ISPR, (1 << 3) | (1 << 4));
    let r = check(&mut target, &image);
    let f = finding(&r, "irq-enabled-default-handler");
    assert_eq!(f.severity, Severity::Error);
    assert!(f.message.contains("IRQ3") && f.message.contains("Default_Handler"), "{}", f.message);
    let p = finding(&r, "irq-pending-disabled");
    assert_eq!(p.severity, Severity::Info);
    assert!(p.message.starts_with("IRQ4 "), "{}", p.message);
    assert!(r.findings.iter().all(|f| f.code != "irq-pending-blocked"), "IRQ3 is taken as soon as the core runs");
    let live = r.live.as_ref().unwrap();
    let irq = live.irqs.iter().find(|q| q.irq == 3).unwrap();
    assert!(irq.enabled && irq.pending && !irq.vector_ok);
    assert_eq!(irq.handler.as_deref(), Some("Default_Handler"));
    target.detach(false).unwrap();
}

#[test]
fn a_misaligned_vtor_is_reported_with_the_address_the_core_really_uses() {
    let path = elf("c/vtor-ram.elf");
    let image = Image::open(&path).unwrap();
    let qemu = Qemu::start("netduinoplus2", &path);
    let mut target = attach(&qemu);
    run_to(&mut target, &image, "vectors_ready");
    // The 98-entry table needs 512-byte alignment; 0x...480 is only 128-aligned.
    let ram_vectors = image.symbols().by_name("ram_vectors").unwrap().address;
    write_word(&mut target, scb::VTOR, ram_vectors + 0x80);
    let r = check(&mut target, &image);
    let f = finding(&r, "vtor-misaligned");
    assert_eq!(f.severity, Severity::Error);
    assert!(f.message.contains(&format!("{ram_vectors:#010x}")), "{}", f.message);
    target.detach(false).unwrap();
}

#[test]
fn the_flash_comparison_can_be_sampled_or_skipped_and_says_which() {
    let qemu = Qemu::start("netduinoplus2", &elf("rust/vectors-good.elf"));
    let run = |mode: &str| -> Value {
        let out = Command::new(env!("CARGO_BIN_EXE_isrscope"))
            .args(["vectors", "--format", "json", "--flash-check", mode, "--gdb"])
            .arg(format!("unix:{}", qemu.socket().display()))
            .arg("--elf")
            .arg(elf("rust/vectors-good.elf"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let sampled = run("sample");
    assert_eq!(sampled["live"]["flash"]["mode"], "sample");
    // Sections under 16 KiB are sampled whole.
    assert_eq!(sampled["live"]["flash"]["compared_bytes"], sampled["live"]["flash"]["total_bytes"]);
    let off = run("off");
    assert!(off["live"]["flash"].is_null());
    assert_eq!(off["live"]["placement"]["kind"], "boot-alias");
}
