//! Hostile core dumps through the real binary: `isrscope analyze` on truncated,
//! mutated, foreign and empty files, alone and mixed into a directory with good dumps.
//! Each bad file gives exit 1 and a message naming it; in a directory the good dumps
//! are still reported. Never a panic or a hang. See docs/robustness.md.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(30);

fn isrscope(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_isrscope"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            panic!("isrscope {args:?} hung");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

fn lab(path: &str) -> String {
    common::repo_root().join("firmware-samples/build").join(path).to_str().unwrap().to_string()
}

/// One good dump of the c-busfault lab fault.
fn good_dump(dir: &Path) -> Vec<u8> {
    let core = dir.join("good.core");
    let out = isrscope(&["capture", "--qemu", "netduinoplus2", "--elf", &lab("c/busfault.elf"), "--output", core.to_str().unwrap()]);
    assert!(core.exists(), "capture: {}", String::from_utf8_lossy(&out.stderr));
    std::fs::read(&core).unwrap()
}

#[test]
fn bad_dumps_alone_and_in_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let good = good_dump(dir.path());
    let elf = lab("c/busfault.elf");

    // The good dump analyses as the live fault did.
    let out = isrscope(&["analyze", dir.path().join("good.core").to_str().unwrap(), "--elf", &elf]);
    assert_eq!(out.status.code(), Some(12), "{}", String::from_utf8_lossy(&out.stderr));

    let bad_dir = dir.path().join("fleet");
    std::fs::create_dir(&bad_dir).unwrap();
    let mut bad: Vec<(String, Vec<u8>)> = vec![
        ("empty.core".into(), Vec::new()),
        ("text.core".into(), b"not a dump\n".to_vec()),
        ("elf-magic-only.core".into(), b"\x7fELF".to_vec()),
        ("firmware.core".into(), std::fs::read(&elf).unwrap()),
        ("msgpack-garbage.core".into(), vec![0x85, 0xa1, b'x', 0xc1, 0xff, 0x00]),
    ];
    for cut in [16, 52, 100, good.len() / 3, good.len() / 2, good.len() - 16] {
        bad.push((format!("cut-{cut}.core"), good[..cut].to_vec()));
    }
    // The program header table moved past the end, and a PT_LOAD claiming 4 GiB.
    let mut moved = good.clone();
    moved[28..32].copy_from_slice(&0xffff_ff00u32.to_le_bytes());
    bad.push(("phoff-past-end.core".into(), moved));
    let phoff = u32::from_le_bytes(good[28..32].try_into().unwrap()) as usize;
    let mut huge = good.clone();
    for i in 0..u16::from_le_bytes(good[44..46].try_into().unwrap()) as usize {
        let ph = phoff + i * 32;
        if u32::from_le_bytes(huge[ph..ph + 4].try_into().unwrap()) == 1 {
            huge[ph + 16..ph + 20].copy_from_slice(&u32::MAX.to_le_bytes()); // p_filesz
            break;
        }
    }
    bad.push(("pt-load-4g.core".into(), huge));

    for (name, bytes) in &bad {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        std::fs::write(bad_dir.join(name), bytes).unwrap();
        let out = isrscope(&["analyze", path.to_str().unwrap(), "--elf", &elf]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{name}: {err}");
        eprintln!("{name}: {:?} {}", out.status.code(), err.lines().next().unwrap_or(""));
        if out.status.code() == Some(1) {
            assert!(err.contains(name.as_str()), "{name}: the message names the file: {err}");
        } else {
            // Still readable (e.g. a cut in the trailing notes): it must be the same fault.
            assert_eq!(out.status.code(), Some(12), "{name}: {err}");
        }
    }

    // A directory: good dumps reported (one JSON line each), each bad one on a line of
    // its own with the error, exit 1.
    for i in 0..3 {
        std::fs::write(bad_dir.join(format!("good-{i}.core")), &good).unwrap();
    }
    let out = isrscope(&["analyze", bad_dir.to_str().unwrap(), "--elf", &elf, "--format", "json", "--jobs", "2"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(1), "some dumps are bad: {err}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let reports = stdout.lines().filter(|l| l.contains("\"bus-fault\"")).count();
    assert!(reports >= 3, "the good dumps are reported:\n{stdout}\n{err}");
    for (name, _) in &bad {
        let line = stdout.lines().find(|l| l.contains(&format!("{name}\""))).unwrap_or_else(|| panic!("{name} missing:\n{stdout}"));
        assert!(line.contains("\"error\"") || line.contains("\"bus-fault\""), "{name}: {line}");
    }
}
