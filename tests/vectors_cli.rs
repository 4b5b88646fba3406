//! `isrscope vectors` with bad input: a clear message on stderr, exit code 1 (tool
//! error) or 2 (usage), never a panic. And the text output a user reads.

mod common;

use std::process::{Command, Output};

fn isrscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_isrscope")).args(args).output().unwrap()
}

fn assert_fails(out: &Output, code: i32, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    assert!(stderr.contains(needle), "{needle:?} not in: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.stdout.is_empty(), "no report on a tool error");
}

fn lab(path: &str) -> String {
    common::repo_root().join("firmware-samples/build").join(path).display().to_string()
}

#[test]
fn a_missing_elf_is_a_tool_error() {
    assert_fails(&isrscope(&["vectors", "--elf", "/nonexistent/fw.elf"]), 1, "/nonexistent/fw.elf");
}

#[test]
fn foreign_and_broken_files_are_tool_errors() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not firmware").unwrap();
    assert_fails(&isrscope(&["vectors", "--elf", text.to_str().unwrap()]), 1, "not an ELF");

    // The lab ELF with e_machine patched to x86 (3).
    let mut elf = std::fs::read(lab("c/vectors-good.elf")).unwrap();
    elf[18] = 3;
    elf[19] = 0;
    let x86 = dir.path().join("x86.elf");
    std::fs::write(&x86, &elf).unwrap();
    assert_fails(&isrscope(&["vectors", "--elf", x86.to_str().unwrap()]), 1, "not ARM");

    let truncated = dir.path().join("truncated.elf");
    std::fs::write(&truncated, &std::fs::read(lab("c/vectors-good.elf")).unwrap()[..40]).unwrap();
    assert_fails(&isrscope(&["vectors", "--elf", truncated.to_str().unwrap()]), 1, "truncated");

    // A 64-bit host program, when one is at hand.
    if std::path::Path::new("/bin/true").exists() {
        let out = isrscope(&["vectors", "--elf", "/bin/true"]);
        assert_eq!(out.status.code(), Some(1));
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    }
}

#[test]
fn options_that_cannot_work_are_refused() {
    let good = lab("c/vectors-good.elf");
    assert_fails(&isrscope(&["vectors", "--elf", &good, "--break-at", "main"]), 1, "--break-at needs a target");
    assert_fails(&isrscope(&["vectors", "--elf", &good, "--svd", "/nonexistent.svd"]), 1, "/nonexistent.svd");
    assert_fails(&isrscope(&["vectors", "--elf", &good, "--qemu", "netduinoplus2", "--break-at", "no_such_fn"]), 1, "no such symbol");
    assert_fails(&isrscope(&["vectors", "--elf", &good, "--gdb", "unix:/nonexistent.sock"]), 1, "/nonexistent.sock");
    assert_fails(&isrscope(&["vectors", "--elf", &good, "--chip", "STM32F407VG"]), 1, "probe-rs");
    assert_fails(&isrscope(&["vectors", "--elf", &good, "--gdb", "x:1", "--qemu", "m"]), 2, "cannot be used with");
    assert_fails(&isrscope(&["vectors"]), 2, "--elf");

    let dir = tempfile::tempdir().unwrap();
    let svd = dir.path().join("bad.svd");
    std::fs::write(&svd, "<device><name>X</name></device>").unwrap();
    let out = isrscope(&["vectors", "--elf", &good, "--svd", svd.to_str().unwrap()]);
    assert_fails(&out, 1, "bad.svd");
}

#[test]
fn the_text_table_names_entries_and_folds_the_unhandled_irqs() {
    let out = isrscope(&["vectors", "--elf", &lab("c/vec-nothumb.elf")]);
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("Vector table: 1 error(s), 0 warning(s)"), "{text}");
    let row = text.lines().find(|l| l.trim_start().starts_with("12  DebugMonitor")).expect(&text);
    assert!(row.contains("0x08000188") && row.contains("Default_Handler") && row.contains("BAD: vector-missing-thumb-bit"), "{row}");
    assert!(text.contains("IRQ0..IRQ81") && text.contains("default handler (82 entries)"), "{text}");
    assert!(text.contains("error   [vector-missing-thumb-bit]"), "{text}");
}

const SVD: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<device schemaVersion="1.1">
  <name>STM32F407</name>
  <version>1.0</version>
  <description>excerpt</description>
  <addressUnitBits>8</addressUnitBits>
  <width>32</width>
  <peripherals>
    <peripheral>
      <name>TIM2</name>
      <baseAddress>0x40000000</baseAddress>
      <interrupt><name>TIM2</name><value>28</value></interrupt>
      <registers><register><name>CR1</name><addressOffset>0</addressOffset><size>32</size></register></registers>
    </peripheral>
    <peripheral>
      <name>FPU</name>
      <baseAddress>0xE000EF34</baseAddress>
      <interrupt><name>FPU</name><value>81</value></interrupt>
      <registers><register><name>FPCCR</name><addressOffset>0</addressOffset><size>32</size></register></registers>
    </peripheral>
  </peripherals>
</device>"#;

#[test]
fn svd_names_irqs_in_the_table_and_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let svd = dir.path().join("stm32f407.svd");
    std::fs::write(&svd, SVD).unwrap();
    let out = isrscope(&["vectors", "--elf", &lab("c/isr-fault.elf"), "--svd", svd.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let e = &r["entries"][16 + 28];
    assert_eq!(e["name"], "TIM2");
    assert_eq!(e["name_source"], "svd");
    assert_eq!(e["symbol"], "TIM2_IRQHandler");
    assert_eq!(r["entries"][16 + 81]["name"], "FPU");
    // 82 IRQs in the SVD, 82 in the table: not short.
    assert!(r["findings"].as_array().unwrap().iter().all(|f| f["code"] != "vector-table-short"));
}
