//! Test support for the GDB remote backend: a misbehaving fake server ([`fake`]), a
//! packet-counting proxy ([`proxy`]) and ELF look-ups for the lab firmware.
#![allow(dead_code)]

pub mod fake;
pub mod proxy;

use std::path::Path;

use object::{Object, ObjectSegment, ObjectSymbol};

fn read(elf: &Path) -> Vec<u8> {
    std::fs::read(elf)
        .unwrap_or_else(|e| panic!("{}: {e} (run firmware-samples/build.sh)", elf.display()))
}

/// The address of `name` in `elf` (Thumb bit cleared).
pub fn symbol(elf: &Path, name: &str) -> u32 {
    let data = read(elf);
    let file = object::File::parse(&*data).expect("an ELF");
    let sym = file
        .symbols()
        .find(|s| s.name() == Ok(name))
        .unwrap_or_else(|| panic!("{} has no symbol {name}", elf.display()));
    (sym.address() as u32) & !1
}

/// Up to `len` bytes the ELF loads at `address` (fewer where its segment ends).
pub fn loaded_bytes(elf: &Path, address: u32, len: usize) -> Vec<u8> {
    let data = read(elf);
    let file = object::File::parse(&*data).expect("an ELF");
    for seg in file.segments() {
        let (start, size) = (seg.address() as u32, seg.size() as usize);
        if address >= start && ((address - start) as usize) < size {
            let bytes = seg.data().expect("segment data");
            let off = (address - start) as usize;
            let mut out = bytes.get(off..).unwrap_or(&[]).to_vec();
            out.resize(size - off, 0); // .bss-like tail
            out.truncate(len);
            return out;
        }
    }
    panic!("{} loads nothing at {address:#x}+{len}", elf.display());
}

/// The first 16 words of the ELF's vector table (the lowest loaded address).
pub fn vectors(elf: &Path) -> Vec<u32> {
    let data = read(elf);
    let file = object::File::parse(&*data).expect("an ELF");
    let base = file
        .segments()
        .filter(|s| s.size() >= 64 && s.data().map(|d| d.len() >= 64).unwrap_or(false))
        .map(|s| s.address() as u32)
        .min()
        .expect("a loadable segment");
    loaded_bytes(elf, base, 64)
        .chunks(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// Runs `f`, checks it failed within three request timeouts (plus slack: a retry may
/// precede the error) and returns the error and its message.
pub fn fails_in_time<T: std::fmt::Debug>(
    timeout: std::time::Duration,
    f: impl FnOnce() -> Result<T, isrscope::target::TargetError>,
) -> (isrscope::target::TargetError, String) {
    let started = std::time::Instant::now();
    let err = f().expect_err("an error");
    let elapsed = started.elapsed();
    assert!(elapsed < timeout * 3 + std::time::Duration::from_millis(500), "took {elapsed:?}: {err}");
    let text = err.to_string();
    (err, text)
}
