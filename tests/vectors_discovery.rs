//! How the vector table is found when the ELF does not hold it in a well-known section:
//! the lab's good sample with `.isr_vector` renamed (found by its symbol) and then the
//! symbol stripped too (found by the reset vector, size unknown), checked through
//! `Image::vector_table()` and `isrscope vectors`; and, with the size unknown, `--svd`
//! sizing the table to 16 + the chip's IRQ count.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use isrscope::debuginfo::{Image, VectorTableSource};

/// vectors-good: STM32F407, 16 + 82 entries in `.isr_vector` at 0x08000000.
const ENTRIES: usize = 98;

fn good_elf() -> PathBuf {
    common::repo_root().join("firmware-samples/build/c/vectors-good.elf")
}

/// arm-none-eabi-objcopy `args` from the good sample into `dir/name`.
fn objcopy(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let o = Command::new("arm-none-eabi-objcopy")
        .args(args)
        .arg(good_elf())
        .arg(&out)
        .output()
        .expect("arm-none-eabi-objcopy not found: run scripts/setup.sh");
    assert!(o.status.success(), "objcopy {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    out
}

fn vectors_json(elf: &Path, extra: &[&str]) -> serde_json::Value {
    let out = isrscope(elf, &[&["--format", "json"], extra].concat());
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn isrscope(elf: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_isrscope"))
        .arg("vectors")
        .arg("--elf")
        .arg(elf)
        .args(args)
        .output()
        .unwrap()
}

fn codes(report: &serde_json::Value) -> Vec<String> {
    report["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap().to_string()).collect()
}

#[test]
fn without_the_section_the_table_is_found_by_its_symbol_with_the_symbol_size() {
    let dir = tempfile::tempdir().unwrap();
    let elf = objcopy(dir.path(), "renamed.elf", &["--rename-section", ".isr_vector=.romtable"]);
    let image = Image::open(&elf).unwrap();
    assert!(image.section(".isr_vector").is_none());
    let vt = image.vector_table().expect("found by symbol");
    assert_eq!(vt.source, VectorTableSource::Symbol("g_pfnVectors".into()));
    assert_eq!((vt.address, vt.words.len()), (0x0800_0000, ENTRIES));

    let r = vectors_json(&elf, &[]);
    assert_eq!(r["table"]["found_by"], "symbol g_pfnVectors");
    assert_eq!(r["table"]["size_known"], true);
    assert_eq!(r["table"]["size_source"], "symbol");
    assert_eq!(r["entries"].as_array().unwrap().len(), ENTRIES);
    let text = String::from_utf8(isrscope(&elf, &[]).stdout).unwrap();
    assert!(text.contains("98 entries (392 bytes), found by symbol g_pfnVectors"), "{text}");
}

#[test]
fn without_section_or_symbol_the_table_is_found_by_the_reset_vector() {
    let dir = tempfile::tempdir().unwrap();
    let elf = objcopy(
        dir.path(),
        "anonymous.elf",
        &["--rename-section", ".isr_vector=.romtable", "--strip-symbol", "g_pfnVectors"],
    );
    let image = Image::open(&elf).unwrap();
    assert!(image.symbols().by_name("g_pfnVectors").is_none());
    let vt = image.vector_table().expect("found by the reset vector");
    assert_eq!(vt.source, VectorTableSource::ResetVector);
    assert_eq!(vt.address, 0x0800_0000);
    assert_eq!(vt.words[1] & !1, image.entry(), "word 1 is the entry point");
    assert!(vt.words.len() >= 16, "{} words", vt.words.len());

    let r = vectors_json(&elf, &[]);
    assert!(r["table"]["found_by"].as_str().unwrap().starts_with("reset vector"), "{}", r["table"]);
    assert_eq!(r["table"]["size_known"], false);
    assert_eq!(r["table"]["size_source"], "inferred");
    assert!(codes(&r).contains(&"vector-table-size-inferred".to_string()));
    let text = String::from_utf8(isrscope(&elf, &[]).stdout).unwrap();
    assert!(text.contains("size inferred), found by reset vector"), "{text}");
}

/// An SVD excerpt: the STM32F407's highest IRQ is FPU (81), so 82 IRQ lines.
const SVD: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<device schemaVersion="1.1">
  <name>STM32F407</name>
  <version>1.0</version>
  <description>excerpt</description>
  <addressUnitBits>8</addressUnitBits>
  <width>32</width>
  <peripherals>
    <peripheral>
      <name>FPU</name>
      <baseAddress>0xE000EF34</baseAddress>
      <interrupt><name>FPU</name><value>81</value></interrupt>
      <registers><register><name>FPCCR</name><addressOffset>0</addressOffset><size>32</size></register></registers>
    </peripheral>
  </peripherals>
</device>"#;

#[test]
fn with_the_size_unknown_the_svd_sizes_the_table_to_16_plus_its_irq_count() {
    let dir = tempfile::tempdir().unwrap();
    let elf = objcopy(
        dir.path(),
        "anonymous.elf",
        &["--rename-section", ".isr_vector=.romtable", "--strip-symbol", "g_pfnVectors"],
    );
    let svd = dir.path().join("stm32f407.svd");
    std::fs::write(&svd, SVD).unwrap();
    let svd = svd.to_str().unwrap();

    // Inferred without the SVD: the words after the table (code) may pass for vectors.
    let inferred = vectors_json(&elf, &[]);
    let r = vectors_json(&elf, &["--svd", svd]);
    assert_eq!(r["table"]["words"], ENTRIES, "16 + 82, not the {} inferred", inferred["table"]["words"]);
    assert_eq!(r["table"]["size_source"], "svd");
    assert_eq!(r["table"]["size_known"], false);
    let entries = r["entries"].as_array().unwrap();
    assert_eq!(entries.len(), ENTRIES);
    assert_eq!(entries[ENTRIES - 1]["name"], "FPU");
    assert_eq!(r["table"]["required_alignment"], 512);
    let findings = r["findings"].as_array().unwrap();
    let sized = findings.iter().find(|f| f["code"] == "vector-table-size-inferred").unwrap();
    assert!(sized["message"].as_str().unwrap().contains("16 + 82 IRQs of STM32F407 = 98 entries"), "{sized}");
    assert!(!codes(&r).contains(&"vector-table-short".to_string()));
    // The same table as the ELF with its section: no error either way.
    let with_section = vectors_json(&good_elf(), &[]);
    let raw = |v: &serde_json::Value| -> Vec<u64> {
        v["entries"].as_array().unwrap().iter().map(|e| e["raw"].as_u64().unwrap()).collect()
    };
    assert_eq!(raw(&r), raw(&with_section));

    let text = String::from_utf8(isrscope(&elf, &["--svd", svd]).stdout).unwrap();
    assert!(text.contains("98 entries (392 bytes, size from the SVD), found by reset vector"), "{text}");

    // A smaller part of the family (highest IRQ 59): 76 entries, whatever follows them
    // in flash; the inference alone reads all 98.
    assert_eq!(inferred["table"]["words"], ENTRIES);
    let small = dir.path().join("small.svd");
    std::fs::write(&small, SVD.replace("<value>81</value>", "<value>59</value>")).unwrap();
    let r = vectors_json(&elf, &["--svd", small.to_str().unwrap()]);
    assert_eq!(r["table"]["words"], 16 + 60);
    assert_eq!(r["entries"].as_array().unwrap().len(), 16 + 60);
    assert_eq!(r["entries"][16 + 59]["name"], "FPU");
    // With a sized section the ELF's own size stands, whatever the SVD says.
    let r = vectors_json(&good_elf(), &["--svd", small.to_str().unwrap()]);
    assert_eq!((r["table"]["words"].as_u64(), r["table"]["size_source"].as_str()), (Some(ENTRIES as u64), Some("section")));
}
