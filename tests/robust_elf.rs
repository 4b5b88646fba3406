//! Hostile ELFs through the real binary: truncated at every stage, wrong architecture
//! and class, no symbols, no DWARF, DWARF and CFI full of garbage, section tables that
//! lie or hold 100,000 sections. Each must end with a clear message and exit code 1,
//! or with a report (and warnings) where the file is still usable; never a panic, a
//! hang, or a wrong verdict about the fault. See docs/robustness.md.

mod common;
mod support_fake_gdb;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use object::{Object, ObjectSection};
use support_fake_gdb::fake;

/// No run may take longer than this (a hang is a failure, not a slow test).
const LIMIT: Duration = Duration::from_secs(30);

fn lab(path: &str) -> PathBuf {
    common::repo_root().join("firmware-samples/build").join(path)
}

/// Runs the binary, killing it (and failing) if it outlives [`LIMIT`].
fn isrscope(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_isrscope"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "isrscope {args:?} hung (killed after {LIMIT:?}); stderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Exit 1 with `isrscope: error:` and every needle, or (when `usable_ok`) any exit with
/// no error line; never a panic.
#[track_caller]
fn assert_no_panic(out: &Output, what: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("panicked") && out.status.code().is_some(),
        "{what}: {:?}\n{err}",
        out.status
    );
}

#[track_caller]
fn assert_clear_error(out: &Output, what: &str, needles: &[&str]) {
    assert_no_panic(out, what);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{what}: {err}");
    assert!(err.starts_with("isrscope: error:"), "{what}: {err}");
    for n in needles {
        assert!(err.contains(n), "{what}: {n:?} missing from {err}");
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_str().unwrap().to_string()
}

/// A fake GDB server whose core sits in HardFault: `inspect` reads, unwinds and reports
/// with whatever ELF it was given.
fn inspect_on_fake(elf: &str) -> Output {
    let mut g = "00000000".repeat(13);
    g.push_str("c0ff0120fdffffff0c02000803000001"); // sp, lr = 0xfffffffd, pc, xpsr
    let reply = |s: &str| fake::Act::Reply(s.into());
    let server = fake::start(vec![
        ("g", fake::Act::Reply(g)),
        ("p19", reply("03000001")),
        ("pd", reply("c0ff0120")),
        ("pe", reply("fdffffff")),
        ("pf", reply("0c020008")),
    ]);
    let address = server.address();
    isrscope(&["inspect", "--gdb", &address, "--elf", elf, "--format", "json"])
}

/// The commands that read an ELF without a live target, plus `inspect` on a fake core.
fn every_command(elf: &str, what: &str) -> Vec<(String, Output)> {
    vec![
        (
            format!("vectors {what}"),
            isrscope(&["vectors", "--elf", elf]),
        ),
        (format!("inspect {what}"), inspect_on_fake(elf)),
    ]
}

#[test]
fn truncated_at_every_stage_is_an_error_or_a_usable_prefix_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(lab("c/busfault.elf")).unwrap();
    // Inside the header, the program headers, the sections' data and the section table.
    let mut cuts = vec![0, 1, 4, 16, 20, 36, 51, 52, 53, 60, 84, 100, 200];
    cuts.extend((1..16).map(|i| good.len() * i / 16));
    cuts.extend([good.len() - 40, good.len() - 1]);
    for cut in cuts {
        let path = write(dir.path(), &format!("cut{cut}.elf"), &good[..cut]);
        for (what, out) in every_command(&path, &format!("cut at {cut}")) {
            assert_no_panic(&out, &what);
            let err = String::from_utf8_lossy(&out.stderr);
            if out.status.code() == Some(1) {
                assert!(
                    err.contains(&format!("cut{cut}.elf")),
                    "{what}: the message names the file: {err}"
                );
                assert!(
                    ["truncated", "not an ELF", "malformed", "cannot read"]
                        .iter()
                        .any(|w| err.contains(w)),
                    "{what}: says what is wrong: {err}"
                );
            }
        }
    }
}

#[test]
fn wrong_architecture_class_and_endianness_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(lab("c/busfault.elf")).unwrap();
    let mut riscv = good.clone();
    riscv[18..20].copy_from_slice(&243u16.to_le_bytes());
    let mut big = good.clone();
    big[5] = 2; // ELFDATA2MSB
    let cases = [
        (write(dir.path(), "riscv.elf", &riscv), "not ARM"),
        (write(dir.path(), "big.elf", &big), "big-endian"),
        ("/bin/true".to_string(), "64-bit"),
        (write(dir.path(), "text.elf", b"firmware\n"), "not an ELF"),
        (write(dir.path(), "empty.elf", b""), ""),
    ];
    for (path, needle) in cases {
        for (what, out) in every_command(&path, &path) {
            assert_clear_error(&out, &what, &[needle]);
        }
    }
}

#[test]
fn a_directory_or_a_missing_file_as_the_elf() {
    for path in ["/tmp", "/nonexistent/fw.elf"] {
        for (what, out) in every_command(path, path) {
            assert_clear_error(&out, &what, &[path]);
        }
    }
}

/// Overwrites the contents of every section whose name starts with `prefix` with
/// deterministic pseudo-random bytes.
fn scramble_sections(elf: &[u8], prefix: &str, seed: u64) -> Vec<u8> {
    let file = object::File::parse(elf).unwrap();
    let mut out = elf.to_vec();
    let mut x = seed | 1;
    let mut hit = false;
    for s in file.sections() {
        if s.name().is_ok_and(|n| n.starts_with(prefix))
            && let Some((off, len)) = s.file_range()
        {
            hit = true;
            for b in &mut out[off as usize..(off + len) as usize] {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
        }
    }
    assert!(hit, "no {prefix} section");
    out
}

/// Keeps `.debug_frame`'s entry lengths and CIE/FDE headers, fills every CFA program
/// with garbage and points every FDE at the wrong address: CFI that parses and lies.
fn lying_cfi(elf: &[u8], seed: u64) -> Vec<u8> {
    let file = object::File::parse(elf).unwrap();
    let section = file.section_by_name(".debug_frame").expect(".debug_frame");
    let (off, len) = section.file_range().unwrap();
    let (off, end) = (off as usize, (off + len) as usize);
    let mut out = elf.to_vec();
    let mut x = seed | 1;
    let mut at = off;
    while at + 8 <= end {
        let length = u32::from_le_bytes(out[at..at + 4].try_into().unwrap()) as usize;
        let next = at + 4 + length;
        if length == 0 || next > end {
            break;
        }
        let is_cie = out[at + 4..at + 8] == [0xff; 4];
        // CIE: the augmentation string and factors stay; FDE: shift the range start.
        let program = if is_cie {
            (at + 8..next).find(|&i| out[i] == 0).map_or(next, |z| (z + 4).min(next))
        } else {
            let loc = u32::from_le_bytes(out[at + 8..at + 12].try_into().unwrap());
            out[at + 8..at + 12].copy_from_slice(&loc.wrapping_add(6).to_le_bytes());
            at + 16
        };
        for b in &mut out[program..next] {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        at = next;
    }
    out
}

#[test]
fn garbage_dwarf_and_symbol_tables_still_give_a_report_or_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(lab("c/isr-fault.elf")).unwrap();
    let mut cases = Vec::new();
    for (i, prefix) in [".debug_info", ".debug_line", ".debug_abbrev", ".debug_frame", ".debug_str", ".symtab", ".strtab"]
        .iter()
        .enumerate()
    {
        for seed in 1..4u64 {
            let bytes = scramble_sections(&good, prefix, seed * 7919 + i as u64);
            cases.push(write(dir.path(), &format!("garbage{prefix}-{seed}.elf"), &bytes));
        }
    }
    for seed in 1..6u64 {
        cases.push(write(dir.path(), &format!("lying-cfi-{seed}.elf"), &lying_cfi(&good, seed)));
    }
    for path in &cases {
        for (what, out) in every_command(path, path) {
            assert_no_panic(&out, &what);
            let code = out.status.code();
            if what.starts_with("inspect") && code != Some(1) {
                // The fault verdict comes from the target, whatever the DWARF says.
                assert_eq!(code, Some(10), "{what}: {}", String::from_utf8_lossy(&out.stderr));
            }
        }
    }
}

/// A minimal ELF32 ARM executable: one PT_LOAD of `code` at 0x08000000 (a vector
/// table) and `sections` empty SHT_PROGBITS sections (extended numbering past 0xff00).
fn synthetic_elf(sections: u32, claimed: Option<u32>) -> Vec<u8> {
    let code: Vec<u8> = [0x2000_1000u32, 0x0800_0041, 0x0800_0041, 0x0800_0041]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .chain(std::iter::repeat_n(0, 48))
        .collect();
    let (ehsize, phentsize, shentsize) = (52u32, 32u32, 40u32);
    let code_off = ehsize + phentsize;
    let shoff = code_off + code.len() as u32;
    let mut out = Vec::new();
    out.extend_from_slice(b"\x7fELF\x01\x01\x01\0\0\0\0\0\0\0\0\0");
    let count = claimed.unwrap_or(sections);
    let (e_shnum, sh0_size) = if count >= 0xff00 { (0u16, count) } else { (count as u16, 0) };
    for v in [2u16, 40] {
        out.extend_from_slice(&v.to_le_bytes()); // ET_EXEC, EM_ARM
    }
    for v in [1u32, 0x0800_0041, ehsize, shoff, 0x0500_0400] {
        out.extend_from_slice(&v.to_le_bytes()); // version, entry, phoff, shoff, flags
    }
    for v in [ehsize as u16, phentsize as u16, 1, shentsize as u16, e_shnum, 0] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    // PT_LOAD R+X.
    for v in [1u32, code_off, 0x0800_0000, 0x0800_0000, code.len() as u32, code.len() as u32, 5, 4] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&code);
    for i in 0..sections {
        let size = if i == 0 { sh0_size } else { 0 };
        let kind = if i == 0 { 0 } else { 1 };
        for v in [0u32, kind, 0, 0, shoff, size, 0, 0, 1, 0] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

#[test]
fn huge_and_lying_section_counts() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("no-sections.elf", synthetic_elf(0, None)),
        ("many-sections.elf", synthetic_elf(100_000, None)),
        // Claims 4 billion sections; the file holds 3.
        ("claims-4g-sections.elf", synthetic_elf(3, Some(u32::MAX))),
        // Claims 65,000 in e_shnum's extended form; the file holds 10.
        ("claims-65000-sections.elf", synthetic_elf(10, Some(65_000))),
    ];
    for (name, bytes) in cases {
        let path = write(dir.path(), name, &bytes);
        for (what, out) in every_command(&path, name) {
            assert_no_panic(&out, &what);
            if out.status.code() == Some(1) {
                let err = String::from_utf8_lossy(&out.stderr);
                assert!(err.contains(name), "{what}: names the file: {err}");
            }
        }
    }
}

#[test]
fn a_huge_program_header_count_and_offsets_past_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(lab("c/busfault.elf")).unwrap();
    let mut phnum = good.clone();
    phnum[44..46].copy_from_slice(&0xffffu16.to_le_bytes());
    let mut phoff = good.clone();
    phoff[28..32].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    let mut shoff = good.clone();
    shoff[32..36].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    let mut shstrndx = good.clone();
    shstrndx[50..52].copy_from_slice(&0xfffeu16.to_le_bytes());
    for (name, bytes) in [
        ("phnum.elf", phnum),
        ("phoff.elf", phoff),
        ("shoff.elf", shoff),
        ("shstrndx.elf", shstrndx),
    ] {
        let path = write(dir.path(), name, &bytes);
        for (what, out) in every_command(&path, name) {
            assert_no_panic(&out, &what);
            if out.status.code() == Some(1) {
                let err = String::from_utf8_lossy(&out.stderr);
                assert!(err.contains(name), "{what}: names the file: {err}");
            }
        }
    }
}

/// Stripped and lying ELFs on the real lab fault in QEMU: the verdict (BusFault, exit
/// 12) comes from the target; the backtrace degrades, with the reason said.
#[test]
fn stripped_and_lying_elfs_on_a_real_fault_in_qemu() {
    let dir = tempfile::tempdir().unwrap();
    let good = lab("c/isr-fault.elf");
    let strip = |flag: &str, name: &str| {
        let out = dir.path().join(name);
        let ok = Command::new("arm-none-eabi-strip")
            .arg(flag)
            .arg(&good)
            .arg("-o")
            .arg(&out)
            .status()
            .expect("arm-none-eabi-strip (run scripts/setup.sh)");
        assert!(ok.success());
        out.to_str().unwrap().to_string()
    };
    let bytes = std::fs::read(&good).unwrap();
    let cases = [
        (strip("--strip-debug", "no-dwarf.elf"), "no-dwarf"),
        (strip("--strip-all", "no-symbols.elf"), "no-symbols"),
        (write(dir.path(), "lying-cfi.elf", &lying_cfi(&bytes, 42)), "lying-cfi"),
        (
            write(dir.path(), "garbage-info.elf", &scramble_sections(&bytes, ".debug_info", 9)),
            "garbage-info",
        ),
    ];
    let failures = common::run_all(&cases, 2, |(path, name)| {
        let out = isrscope(&[
            "inspect", "--qemu", "netduinoplus2", "--elf", path, "--format", "json", "--timeout", "20",
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        if err.contains("panicked") || out.status.code() != Some(12) {
            return Err(format!("{name}: {:?}\n{err}", out.status));
        }
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("{name}: {e}"))?;
        if json["fault"]["causes"].to_string().contains("PRECISERR") {
            Ok(())
        } else {
            Err(format!("{name}: fault causes {}", json["fault"]["causes"]))
        }
    });
    assert!(failures.is_empty(), "{failures:#?}");
}
