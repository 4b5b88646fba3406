//! probe-rs `CoreDump` files (`probe-rs run` / `probe-rs debug` save them): MessagePack
//! written by rmp-serde, with the layout of probe-rs 0.32's
//! `probe_rs::CoreDump { registers, data, instruction_set,
//! supports_native_64bit_access, core_type, fpu_support, floating_point_register_count }`.
//!
//! Mirrored here with serde rather than depending on probe-rs. Registers are keyed by
//! probe-rs' Cortex-M register ids: R0-R12 0-12, SP 13, LR 14, PC 15, xPSR 16, MSP 17,
//! PSP 18, CONTROL/FAULTMASK/BASEPRI/PRIMASK packed in 20 (`[31:24]`/`[23:16]`/
//! `[15:8]`/`[7:0]`), FPSCR 33, S0-S31 64-95. Such a dump holds only the memory its
//! user asked for: often no SCB, which the report then says.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::meta::Metadata;
use super::{CoreDump, CoreDumpError, DumpFormat, MemoryImage};
use crate::target::reg;

#[derive(Deserialize)]
struct ProbeRsDump {
    registers: HashMap<u16, RegisterValue>,
    data: Vec<(Range<u64>, Vec<u8>)>,
    #[serde(default)]
    #[allow(dead_code)]
    instruction_set: Option<IgnoredAny>,
    #[serde(default)]
    #[allow(dead_code)]
    supports_native_64bit_access: Option<bool>,
    #[serde(default)]
    core_type: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    fpu_support: Option<bool>,
    #[serde(default)]
    #[allow(dead_code)]
    floating_point_register_count: Option<IgnoredAny>,
}

#[derive(Deserialize)]
enum RegisterValue {
    U32(u32),
    U64(u64),
    U128(u128),
}

impl RegisterValue {
    fn low32(&self) -> u32 {
        match *self {
            RegisterValue::U32(v) => v,
            RegisterValue::U64(v) => v as u32,
            RegisterValue::U128(v) => v as u32,
        }
    }
}

/// A MessagePack map or array at the start: what rmp-serde writes for a struct.
pub fn looks_like(bytes: &[u8]) -> bool {
    matches!(bytes.first(), Some(0x80..=0x9f | 0xdc..=0xdf))
}

/// The Cortex-M core types of probe-rs' `CoreType` (serde snake_case).
const CORTEX_M: [&str; 4] = ["armv6m", "armv7m", "armv7em", "armv8m"];

pub fn read(bytes: &[u8], what: &str) -> Result<CoreDump, CoreDumpError> {
    let dump: ProbeRsDump = rmp_serde::from_slice(bytes).map_err(|e| CoreDumpError::Malformed {
        what: what.into(),
        detail: format!("not a readable probe-rs coredump (MessagePack): {e}"),
    })?;
    if let Some(core) = dump.core_type.as_deref().filter(|c| !CORTEX_M.contains(c)) {
        return Err(CoreDumpError::Unsupported {
            what: what.into(),
            detail: format!("a probe-rs coredump of a {core} core; isrscope reads Cortex-M (ARMv6-M/v7-M/v8-M) dumps"),
        });
    }
    let mut registers = BTreeMap::new();
    let mut warnings = Vec::new();
    for (id, value) in &dump.registers {
        let v = value.low32();
        let name = match *id {
            0..=12 => reg::GPR[usize::from(*id)].to_string(),
            13 => reg::SP.into(),
            14 => reg::LR.into(),
            15 => reg::PC.into(),
            16 => reg::XPSR.into(),
            17 => reg::MSP.into(),
            18 => reg::PSP.into(),
            20 => {
                registers.insert(reg::CONTROL.to_string(), v >> 24);
                // ARMv6-M has no FAULTMASK or BASEPRI: probe-rs packs zeros for them.
                if dump.core_type.as_deref() != Some("armv6m") {
                    registers.insert(reg::FAULTMASK.to_string(), (v >> 16) & 0xff);
                    registers.insert(reg::BASEPRI.to_string(), (v >> 8) & 0xff);
                }
                registers.insert(reg::PRIMASK.to_string(), v & 0xff);
                continue;
            }
            33 => reg::FPSCR.into(),
            64..=95 => reg::s(usize::from(id - 64)),
            _ => continue,
        };
        registers.insert(name, v);
    }
    for needed in [reg::PC, reg::SP, reg::XPSR] {
        if !registers.contains_key(needed) {
            return Err(CoreDumpError::Malformed {
                what: what.into(),
                detail: format!("the probe-rs coredump has no {needed} register (id {})", match needed {
                    "pc" => 15,
                    "sp" => 13,
                    _ => 16,
                }),
            });
        }
    }
    let mut pieces = Vec::new();
    for (range, bytes) in dump.data {
        let Ok(start) = u32::try_from(range.start) else {
            warnings.push(format!("memory at {:#x} is beyond 32 bits: ignored", range.start));
            continue;
        };
        let len = range.end.saturating_sub(range.start).min(bytes.len() as u64) as usize;
        if len < bytes.len() || (len as u64) < range.end.saturating_sub(range.start) {
            warnings.push(format!("memory at {start:#010x}: the range and the data disagree in length; kept {len} bytes"));
        }
        let mut bytes = bytes;
        bytes.truncate(len);
        pieces.push((start, bytes));
    }
    let meta = Metadata {
        format: 0,
        tool: "probe-rs".into(),
        target: dump.core_type.as_deref().map(|c| format!("an {c} core")),
        registers,
        ..Metadata::default()
    };
    Ok(CoreDump { format: DumpFormat::ProbeRs, memory: MemoryImage::from_pieces(pieces), meta, warnings })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [&[0x80u8][..], &[0x93, 0x01], &[0xdf, 0xff, 0xff, 0xff, 0xff], &[0x81, 0xa1, b'x', 0xc0]] {
            assert!(read(bytes, "x").is_err());
        }
    }
}
