//! Damaged dumps: a real lab core (captured once under QEMU) cut short or with bits
//! flipped must give a clear error or a report, never a panic; the CLI says what is
//! wrong with the file; a dump that lacks memory the analysis needs says so.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use common::manifest;
use isrscope::coredump::{CoreDump, CoreDumpError, MemoryImage, analyze::analyze};
use isrscope::debuginfo::Image;
use proptest::prelude::*;
use proptest::sample::Index;

fn isrscope() -> Command {
    Command::new(env!("CARGO_BIN_EXE_isrscope"))
}

struct Lab {
    core: Vec<u8>,
    /// The same state as a probe-rs coredump, written by probe-rs itself.
    probe_rs: Vec<u8>,
    elf: PathBuf,
    _dir: tempfile::TempDir,
}

/// `dump` stored with probe-rs' own `CoreDump` writer (MessagePack).
fn probe_rs_bytes(dump: &CoreDump, dir: &std::path::Path) -> Vec<u8> {
    use probe_rs::{CoreType, InstructionSet, RegisterId, RegisterValue};
    let ids: std::collections::HashMap<&str, u16> =
        [("sp", 13), ("lr", 14), ("pc", 15), ("xpsr", 16), ("msp", 17), ("psp", 18)].into_iter().collect();
    let registers = dump
        .meta
        .registers
        .iter()
        .filter_map(|(n, v)| {
            let id = ids.get(n.as_str()).copied().or_else(|| n.strip_prefix('r')?.parse().ok())?;
            Some((RegisterId(id), RegisterValue::U32(*v)))
        })
        .collect();
    let data = dump.memory.segments().iter().map(|s| (u64::from(s.start)..s.end(), s.data.clone())).collect();
    let pr = probe_rs::CoreDump {
        registers,
        data,
        instruction_set: InstructionSet::Thumb2,
        supports_native_64bit_access: false,
        core_type: CoreType::Armv7em,
        fpu_support: false,
        floating_point_register_count: None,
    };
    let path = dir.join("bf.probe-rs");
    pr.store(&path).unwrap();
    std::fs::read(path).unwrap()
}

/// c-busfault captured at its fault, once per test binary.
fn lab() -> &'static Lab {
    static LAB: OnceLock<Lab> = OnceLock::new();
    LAB.get_or_init(|| {
        let s = manifest::load().into_iter().find(|s| s.name == "c-busfault").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let core = dir.path().join("bf.core");
        let out = isrscope()
            .args(["capture", "--qemu", &s.machine, "--timeout", "20", "--elf"])
            .arg(s.elf_path())
            .arg("-o")
            .arg(&core)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let core = std::fs::read(&core).unwrap();
        let probe_rs = probe_rs_bytes(&CoreDump::parse(&core, "bf.core").unwrap(), dir.path());
        Lab { core, probe_rs, elf: s.elf_path(), _dir: dir }
    })
}

/// Parses `bytes`; when they still read as a dump, analyses them too.
fn parse_and_analyze(bytes: &[u8]) -> Result<(), CoreDumpError> {
    let dump = CoreDump::parse(bytes, "fuzzed.core")?;
    let image = Image::open(&lab().elf).unwrap();
    let _ = analyze(dump, "fuzzed.core", Some(&image), None);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn every_truncation_is_a_clear_error(cut in any::<Index>()) {
        let core = &lab().core;
        let cut = cut.index(core.len());
        let err = CoreDump::parse(&core[..cut], "cut.core").expect_err("a truncated core must not read");
        let msg = err.to_string();
        prop_assert!(
            matches!(err, CoreDumpError::Truncated { .. } | CoreDumpError::Unrecognized { .. }),
            "cut at {cut}: {msg}"
        );
        prop_assert!(msg.contains("truncated") || (cut == 0 && msg.contains("not a core dump")), "{msg}");
    }

    #[test]
    fn bit_flips_give_an_error_or_a_report_never_a_panic(
        flips in prop::collection::vec((any::<Index>(), 0u8..8, any::<bool>()), 1..12)
    ) {
        let mut core = lab().core.clone();
        // Half the flips land in the headers and notes, where structure lives.
        let head = core.len().min(0x1400);
        for (at, bit, in_head) in flips {
            let i = if in_head { at.index(head) } else { at.index(core.len()) };
            core[i] ^= 1 << bit;
        }
        let _ = parse_and_analyze(&core);
    }

    /// Damaged memory (stack, frames, fault registers) reads fine and must analyse
    /// without a panic: the engine meets garbage, as it does on a corrupted stack.
    #[test]
    fn corrupted_memory_always_gives_a_report(
        flips in prop::collection::vec((any::<Index>(), any::<Index>(), 0u8..8), 1..40)
    ) {
        let dump = CoreDump::parse(&lab().core, "bf.core").unwrap();
        let mut segments: Vec<(u32, Vec<u8>)> = dump.memory.segments().iter().map(|s| (s.start, s.data.clone())).collect();
        let sp = dump.meta.registers["sp"];
        for (seg, at, bit) in flips {
            let n = seg.index(segments.len());
            let (start, data) = &mut segments[n];
            // Mostly near the stack pointer, where the unwinder looks.
            let i = if (u64::from(*start)..u64::from(*start) + data.len() as u64).contains(&u64::from(sp)) {
                ((sp - *start) as usize + at.index(0x80)).min(data.len() - 1)
            } else {
                at.index(data.len())
            };
            data[i] ^= 1 << bit;
        }
        let mut damaged = dump.clone();
        damaged.memory = MemoryImage::from_pieces(segments);
        let image = Image::open(&lab().elf).unwrap();
        let report = analyze(damaged, "damaged.core", Some(&image), None);
        prop_assert!(report.is_ok(), "{:?}", report.err());
    }

    #[test]
    fn truncated_or_flipped_probe_rs_files_give_an_error_or_a_report(
        cut in any::<Index>(),
        flips in prop::collection::vec((any::<Index>(), 0u8..8), 0..6)
    ) {
        let full = &lab().probe_rs;
        prop_assert!(CoreDump::parse(full, "bf.probe-rs").is_ok());
        let cut = cut.index(full.len());
        if cut > 0 {
            let err = CoreDump::parse(&full[..cut], "cut.probe-rs").expect_err("a cut MessagePack file must not read");
            prop_assert!(err.to_string().contains("probe-rs coredump"), "{err}");
        }
        let mut b = full.clone();
        for (at, bit) in flips {
            let i = at.index(b.len());
            b[i] ^= 1 << bit;
        }
        let _ = parse_and_analyze(&b);
    }

    #[test]
    fn garbage_and_damaged_probe_rs_files_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512), first in 0x80u8..=0x9f) {
        let mut b = bytes;
        b.insert(0, first);
        let _ = parse_and_analyze(&b);
    }
}

#[test]
fn the_cli_says_what_is_wrong_with_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let core = &lab().core;
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("cut.core", core[..core.len() / 2].to_vec(), "is truncated: segment"),
        ("empty.core", Vec::new(), "is not a core dump"),
        ("text.core", b"hello world".to_vec(), "is not a core dump"),
        ("fw.core", std::fs::read(&lab().elf).unwrap(), "looks like firmware"),
    ];
    for (name, bytes, expect) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = isrscope().arg("analyze").arg(&path).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        assert!(err.contains(name) && err.contains(expect), "{name}: {err}");
    }
}

#[test]
fn a_dump_without_its_stack_says_what_it_could_not_read() {
    let dump = CoreDump::parse(&lab().core, "bf.core").unwrap();
    let sp = dump.meta.registers["sp"];
    let mut thin = dump.clone();
    thin.memory = MemoryImage::from_pieces(
        dump.memory.segments().iter().filter(|s| !(u64::from(s.start)..s.end()).contains(&u64::from(sp))).map(|s| (s.start, s.data.clone())),
    );
    assert!(thin.memory.segments().len() < dump.memory.segments().len());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("thin.core");
    thin.write(&path).unwrap();
    let out = isrscope().args(["analyze", "--format", "json", "--elf"]).arg(&lab().elf).arg(&path).output().unwrap();
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = r["findings"].as_array().unwrap();
    let missing = findings.iter().find(|f| f["code"] == "dump-missing-memory").unwrap_or_else(|| panic!("{findings:?}"));
    assert!(missing["message"].as_str().unwrap().contains("0x2001ff"), "{missing}");
    assert!(findings.iter().any(|f| f["code"] == "unwind-incomplete"), "{findings:?}");
    // The fault registers are still there: the fault is still explained.
    assert_eq!(r["fault"]["causes"][0], "PRECISERR");

    // And with another firmware, a warning first.
    let other = manifest::load().into_iter().find(|s| s.name == "c-forced").unwrap();
    let out = isrscope().args(["analyze", "--format", "json", "--elf"]).arg(other.elf_path()).arg(&path).output().unwrap();
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["findings"][0]["code"], "elf-mismatch", "{}", r["findings"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning: "));
}
