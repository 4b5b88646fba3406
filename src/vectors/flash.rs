//! "Does the ELF match what is flashed?": the ELF's loadable contents compared with
//! target memory at their load addresses, economically.
//!
//! Each section whose bytes sit in flash (code, read-only data, the vector table, the
//! initial image of `.data`) is read in large blocks (one `read_memory` per 64 KiB; the
//! backend splits only where its link forces it) and compared byte for byte, with a
//! CRC-32 of each side for the record. Over [`AUTO_FULL_LIMIT`] bytes in total, `auto`
//! samples instead: the first and last KiB of each section and evenly spread KiB blocks
//! between, at most [`SAMPLE_BLOCKS`] per section. The report says which was done.

use serde::Serialize;

use crate::debuginfo::Image;
use crate::target::{Target, TargetError};

/// Above this many loadable bytes, `auto` samples instead of reading everything.
pub const AUTO_FULL_LIMIT: u64 = 512 * 1024;
/// Bytes per read in full mode.
const FULL_BLOCK: usize = 64 * 1024;
/// Bytes per sampled block, and sampled blocks per section.
const SAMPLE_BLOCK: u32 = 1024;
pub const SAMPLE_BLOCKS: u32 = 16;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FlashMode {
    /// Full when the image is small (<= 512 KiB loadable), else sample.
    #[default]
    Auto,
    Full,
    Sample,
    Off,
}

/// One section's comparison.
#[derive(Clone, Debug, Serialize)]
pub struct SectionCheck {
    pub name: String,
    /// Where its bytes are in flash (the load address).
    pub load_address: u32,
    pub size: u32,
    /// Bytes compared (all of them, or the sample).
    pub compared: u32,
    /// CRC-32 (IEEE) of the compared bytes, as in the ELF and as read.
    pub crc_elf: u32,
    pub crc_target: u32,
    pub first_difference: Option<u32>,
    pub differing_bytes: u32,
    /// The read failed here (the rest of the section is not compared).
    pub unreadable: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct FlashCheck {
    /// "full" or "sample" (what `auto` became).
    pub mode: FlashMode,
    pub total_bytes: u64,
    pub compared_bytes: u64,
    pub sections: Vec<SectionCheck>,
}

impl FlashCheck {
    pub fn mismatched(&self) -> impl Iterator<Item = &SectionCheck> {
        self.sections.iter().filter(|s| s.first_difference.is_some())
    }
}

/// Sections whose contents the ELF places in flash, with their bytes.
fn flashed_sections(image: &Image) -> Vec<(String, u32, &[u8])> {
    image
        .sections()
        .iter()
        // A writable section that runs where it loads is RAM the program changes.
        .filter(|s| s.alloc && !s.nobits && s.size > 0 && (!s.writable || s.load_address != s.address))
        .filter_map(|s| {
            let bytes = image.file_bytes_at_load_address(s.load_address, s.size as usize)?;
            Some((s.name.clone(), s.load_address, bytes))
        })
        .collect()
}

/// Reads and compares; never fails as a whole (an unreadable block is recorded).
pub fn compare(target: &mut dyn Target, image: &Image, mode: FlashMode) -> FlashCheck {
    let sections = flashed_sections(image);
    let total: u64 = sections.iter().map(|(_, _, b)| b.len() as u64).sum();
    let mode = match mode {
        FlashMode::Auto if total <= AUTO_FULL_LIMIT => FlashMode::Full,
        FlashMode::Auto => FlashMode::Sample,
        m => m,
    };
    let mut out = FlashCheck { mode, total_bytes: total, compared_bytes: 0, sections: Vec::new() };
    for (name, load, elf) in sections {
        let blocks = match mode {
            FlashMode::Sample => sample_blocks(elf.len() as u32),
            _ => (0..elf.len()).step_by(FULL_BLOCK).map(|o| (o as u32, FULL_BLOCK.min(elf.len() - o) as u32)).collect(),
        };
        let check = compare_blocks(target, &name, load, elf, &blocks);
        out.compared_bytes += u64::from(check.compared);
        out.sections.push(check);
    }
    out
}

/// (offset, length) blocks of a sample: first and last KiB, evenly spread ones between.
pub fn sample_blocks(size: u32) -> Vec<(u32, u32)> {
    if size <= SAMPLE_BLOCK * SAMPLE_BLOCKS {
        return vec![(0, size)];
    }
    let last = size - SAMPLE_BLOCK;
    let mut v: Vec<(u32, u32)> = (0..SAMPLE_BLOCKS)
        .map(|i| ((u64::from(last) * u64::from(i) / u64::from(SAMPLE_BLOCKS - 1)) as u32 & !3, SAMPLE_BLOCK))
        .collect();
    v.dedup();
    v
}

fn compare_blocks(target: &mut dyn Target, name: &str, load: u32, elf: &[u8], blocks: &[(u32, u32)]) -> SectionCheck {
    let mut c = SectionCheck {
        name: name.to_string(),
        load_address: load,
        size: elf.len() as u32,
        compared: 0,
        crc_elf: 0,
        crc_target: 0,
        first_difference: None,
        differing_bytes: 0,
        unreadable: None,
    };
    let (mut crc_e, mut crc_t) = (Crc32::new(), Crc32::new());
    for &(off, len) in blocks {
        let want = &elf[off as usize..(off + len) as usize];
        let mut got = vec![0u8; len as usize];
        let address = load.wrapping_add(off);
        if let Err(e) = target.read_memory(address, &mut got) {
            c.unreadable = Some(match e {
                TargetError::MemoryUnreadable { .. } => format!("{address:#010x}: {e}"),
                e => format!("{address:#010x}: {e}"),
            });
            break;
        }
        crc_e.update(want);
        crc_t.update(&got);
        for (i, (a, b)) in want.iter().zip(&got).enumerate() {
            if a != b {
                c.differing_bytes += 1;
                c.first_difference.get_or_insert(address + i as u32);
            }
        }
        c.compared += len;
    }
    c.crc_elf = crc_e.finish();
    c.crc_target = crc_t.finish();
    c
}

/// CRC-32 (IEEE 802.3, as zlib), bitwise: a few hundred KiB at most go through it.
struct Crc32(u32);

impl Crc32 {
    fn new() -> Self {
        Crc32(0xFFFF_FFFF)
    }
    fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u32::from(b);
            for _ in 0..8 {
                self.0 = if self.0 & 1 != 0 { (self.0 >> 1) ^ 0xEDB8_8320 } else { self.0 >> 1 };
            }
        }
    }
    fn finish(&self) -> u32 {
        !self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_zlib() {
        let mut c = Crc32::new();
        c.update(b"123456789");
        assert_eq!(c.finish(), 0xCBF4_3926);
    }

    #[test]
    fn samples_cover_both_ends_and_stay_small() {
        assert_eq!(sample_blocks(100), vec![(0, 100)]);
        let b = sample_blocks(1024 * 1024);
        assert_eq!(b.len(), SAMPLE_BLOCKS as usize);
        assert_eq!(b[0], (0, 1024));
        assert_eq!(b.last().unwrap().0 + 1024, 1024 * 1024);
        assert!(b.iter().all(|(o, l)| o + l <= 1024 * 1024));
    }
}
