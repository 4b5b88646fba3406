//! What a dump says about itself: the `ISRSCOPE` note's JSON (docs/coredump.md), and
//! the ELF identity used to warn when a dump is analysed with the wrong firmware.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::memory::Span;
use crate::debuginfo::Image;
use crate::target::StopReason;

/// Version of the `ISRSCOPE` note's layout; readers accept any version and ignore
/// keys they do not know.
pub const FORMAT_VERSION: u32 = 1;

/// The `ISRSCOPE` note: everything gdb's notes cannot carry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// [`FORMAT_VERSION`] of the writer.
    pub format: u32,
    /// "isrscope 0.1.0".
    #[serde(default)]
    pub tool: String,
    /// When the dump was taken, RFC 3339 UTC ("2026-11-28T14:49:26Z").
    #[serde(default)]
    pub captured_at: Option<String>,
    /// The live target's description at capture ("gdb-remote (QEMU gdbstub 10.0.2, ...)").
    #[serde(default)]
    pub target: Option<String>,
    /// CPUID (0xE000ED00), when it could be read.
    #[serde(default)]
    pub cpuid: Option<u32>,
    /// Why the core was halted.
    #[serde(default)]
    pub stop: Option<SavedStop>,
    /// What the report said first at capture (e.g. "No fault within 10 s").
    #[serde(default)]
    pub preface: Option<String>,
    /// The core was locked up.
    #[serde(default)]
    pub locked_up: bool,
    /// The firmware the target ran, as far as capture knew.
    #[serde(default)]
    pub elf: Option<ElfIdentity>,
    /// Every core register by name (`Target` naming: r0..r12, sp, lr, pc, xpsr, msp,
    /// psp, control, primask, basepri, faultmask, fpscr, s0..s31, v8-M banked SPs...).
    #[serde(default)]
    pub registers: BTreeMap<String, u32>,
    /// The system registers by name ("cfsr", "shcsr", "fpccr", ...), decoded from the
    /// captured blocks for tools that read only this note. Informational: the blocks
    /// themselves are memory segments at their addresses, and analysis reads those.
    #[serde(default)]
    pub system_registers: BTreeMap<String, u32>,
    /// What was asked for and what of it could not be read.
    #[serde(default)]
    pub regions: Vec<RegionRecord>,
    /// The SP written to NT_PRSTATUS for gdb, when it is not the real SP: at the entry
    /// of a handler that interrupted a PSP context, PSP (gdb 13 reads the exception
    /// frame at SP when a core file cannot give it PSP). The real SP is in `registers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gdb_sp: Option<u32>,
    /// Spans the live target refused to read at capture: reading them from the dump
    /// fails as it did live, and is not reported as missing from the dump.
    #[serde(default)]
    pub unreadable: Vec<Span>,
}

/// [`StopReason`], in a form that round-trips through the note.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SavedStop {
    Breakpoint { pc: u32 },
    Step,
    Requested,
    VectorCatch,
    Lockup,
    Other { description: String },
}

impl From<&StopReason> for SavedStop {
    fn from(s: &StopReason) -> Self {
        match s {
            StopReason::Breakpoint { pc } => SavedStop::Breakpoint { pc: *pc },
            StopReason::Step => SavedStop::Step,
            StopReason::Requested => SavedStop::Requested,
            StopReason::VectorCatch => SavedStop::VectorCatch,
            StopReason::Lockup => SavedStop::Lockup,
            StopReason::Other { description } => SavedStop::Other { description: description.clone() },
        }
    }
}

impl From<&SavedStop> for StopReason {
    fn from(s: &SavedStop) -> Self {
        match s {
            SavedStop::Breakpoint { pc } => StopReason::Breakpoint { pc: *pc },
            SavedStop::Step => StopReason::Step,
            SavedStop::Requested => StopReason::Requested,
            SavedStop::VectorCatch => StopReason::VectorCatch,
            SavedStop::Lockup => StopReason::Lockup,
            SavedStop::Other { description } => StopReason::Other { description: description.clone() },
        }
    }
}

/// Where a captured region came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RegionKind {
    /// A RAM region from the ELF's memory map.
    Ram,
    /// A `--region START:LEN` the user gave.
    User,
    /// A system register block (SCB, NVIC, MPU, FPU, DCB...).
    System,
    /// Code around the PCs and return addresses of the backtrace, from the target.
    Code,
}

/// One region capture asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionRecord {
    /// "ram", "scb", "nvic-iser", "fpu", "user"...
    pub name: String,
    pub kind: RegionKind,
    pub start: u32,
    pub len: u32,
    /// The parts that could not be read (the dump lacks them).
    #[serde(default)]
    pub missing: Vec<Span>,
}

/// How to recognise the firmware a dump was taken with.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElfIdentity {
    /// The path given at capture, for people.
    #[serde(default)]
    pub path: Option<String>,
    /// The GNU build-id, lower-case hex.
    #[serde(default)]
    pub build_id: Option<String>,
    /// SHA-256 of the whole ELF file, lower-case hex.
    #[serde(default)]
    pub sha256: Option<String>,
}

impl ElfIdentity {
    /// The identity of `image`, hashing the file at `path` (the one `image` was opened from).
    pub fn of(image: &Image, path: Option<&std::path::Path>) -> ElfIdentity {
        ElfIdentity {
            path: path.map(|p| p.display().to_string()),
            build_id: image.build_id().map(hex),
            sha256: path.and_then(|p| std::fs::read(p).ok()).map(|b| hex(&Sha256::digest(&b))),
        }
    }

    /// `None` when `other` is the same firmware as far as both know, else why not.
    /// The build-id decides when both have one; else the file hash.
    pub fn mismatch(&self, other: &ElfIdentity) -> Option<String> {
        if let (Some(a), Some(b)) = (&self.build_id, &other.build_id) {
            return (a != b).then(|| format!("build-id {b} differs from the dump's {a}"));
        }
        if let (Some(a), Some(b)) = (&self.sha256, &other.sha256) {
            return (a != b).then(|| format!("SHA-256 {} differs from the dump's {}", &b[..16.min(b.len())], &a[..16.min(a.len())]));
        }
        None
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Now, as RFC 3339 UTC with seconds.
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    rfc3339(secs)
}

/// Seconds since the Unix epoch as "YYYY-MM-DDTHH:MM:SSZ" (proleptic Gregorian).
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_790_966), "2026-11-27T14:49:26Z");
    }

    #[test]
    fn build_id_decides_before_the_hash() {
        let a = ElfIdentity { build_id: Some("aa".into()), sha256: Some("11".repeat(32)), ..Default::default() };
        let same_id = ElfIdentity { build_id: Some("aa".into()), sha256: Some("22".repeat(32)), ..Default::default() };
        assert_eq!(a.mismatch(&same_id), None);
        let other = ElfIdentity { build_id: Some("bb".into()), ..Default::default() };
        assert!(a.mismatch(&other).unwrap().contains("build-id bb"));
        let no_id = ElfIdentity { sha256: Some("22".repeat(32)), ..Default::default() };
        assert!(a.mismatch(&no_id).unwrap().contains("SHA-256"));
        assert_eq!(a.mismatch(&ElfIdentity::default()), None, "nothing to compare");
    }

    #[test]
    fn stop_reasons_round_trip() {
        for s in [
            StopReason::Breakpoint { pc: 0x0800_0220 },
            StopReason::Requested,
            StopReason::Other { description: "signal 5".into() },
        ] {
            let saved = SavedStop::from(&s);
            let json = serde_json::to_string(&saved).unwrap();
            let back: SavedStop = serde_json::from_str(&json).unwrap();
            assert_eq!(StopReason::from(&back), s);
        }
    }
}
