//! Other tools' ELF cores: a core written by gdb-multiarch's own `gcore` from a QEMU lab
//! machine stopped at a fault reads as a dump (registers from NT_PRSTATUS and
//! NT_ARM_VFP), gives the backtrace, and says what it lacks (no SCB, no MSP/PSP).

mod common;

use std::process::Command;

use common::lab::Qemu;
use common::manifest::{self, is_subsequence};
use common::oracle;
use isrscope::coredump::{CoreDump, DumpFormat};

#[test]
fn a_gdb_gcore_file_gives_the_backtrace_and_says_what_it_lacks() {
    let s = manifest::load().into_iter().find(|s| s.name == "c-busfault").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let core = dir.path().join("gcore.core");
    let qemu = Qemu::start(&s.machine, &s.elf_path());
    let cmds = [
        format!("target remote {}", qemu.socket().display()),
        format!("break *{}", s.stop_at),
        "continue".to_string(),
        format!("gcore {}", core.display()),
    ];
    let raw = oracle::run_batch(&s.elf_path(), &cmds);
    assert!(core.exists(), "gcore wrote nothing:\n{raw}");

    let dump = CoreDump::open(&core).unwrap();
    assert_eq!(dump.format, DumpFormat::ForeignElf);
    assert!(dump.meta.registers.contains_key("s31") && !dump.meta.registers.contains_key("msp"));

    let out = Command::new(env!("CARGO_BIN_EXE_isrscope"))
        .args(["analyze", "--format", "json", "--elf"])
        .arg(s.elf_path())
        .arg(&core)
        .output()
        .unwrap();
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<String> = r["backtrace"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| if e["kind"] == "exception" { "<exception>".into() } else { e["function"].as_str().unwrap_or("??").to_string() })
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let wanted: Vec<&str> = s.backtrace.iter().map(String::as_str).collect();
    assert!(is_subsequence(&wanted, &names), "{names:?} lacks {wanted:?}");
    let codes: Vec<&str> = r["findings"].as_array().unwrap().iter().filter_map(|f| f["code"].as_str()).collect();
    for code in ["scb-unreadable", "dump-missing-memory", "dump-note"] {
        assert!(codes.contains(&code), "no {code} in {codes:?}");
    }
}
