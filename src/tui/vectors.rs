//! The vector table at VTOR and the NVIC state, read from the target for the vector
//! pane, with the findings of the vector checks of `isrscope vectors` (`crate::vectors`,
//! without the flash comparison, which is too slow for every halt). Without an ELF only
//! the checks a table alone allows are made here.

use crate::debuginfo::Image;
use crate::model::arch::{CpuId, Profile};
use crate::model::exception::ExceptionNumber;
use crate::model::fault::Shcsr;
use crate::model::nvic::{Icsr, NvicTables};
use crate::model::regs::{SCB_BLOCK_LEN, SCB_BLOCK_START, ScbBlock, nvic, scb};
use crate::report::{Finding, Severity};
use crate::target::{Result, Target};
use crate::vectors::flash::FlashMode;
use crate::vectors::live::LiveOptions;

use super::snapshot::{VectorRow, VectorView};

/// Names firmware gives the handler that unused vectors alias (CMSIS startup files,
/// cortex-m-rt).
const DEFAULT_HANDLERS: [&str; 2] = ["Default_Handler", "DefaultHandler_"];

/// Most vectors read when the ELF does not say how long the table is.
const MAX_WORDS: usize = 16 + 240;

pub fn read(target: &mut dyn Target, image: Option<&Image>) -> Result<VectorView> {
    let mut scb_bytes = [0u8; SCB_BLOCK_LEN];
    target.read_memory(SCB_BLOCK_START, &mut scb_bytes)?;
    let scb_block = ScbBlock::from_bytes(&scb_bytes);
    let vtor = scb_block.map(|s| s.vtor & scb::VTOR_TBLOFF_MASK).unwrap_or(0);
    let elf_table = image.and_then(|i| i.vector_table());
    let mut ictr = [0u8; 4];
    let irq_lines = match target.read_memory(crate::model::regs::scs::ICTR, &mut ictr) {
        Ok(()) => NvicTables::lines_from_ictr(u32::from_le_bytes(ictr)) as usize,
        Err(_) => 32,
    };
    let words_wanted = elf_table.map(|t| t.words.len()).unwrap_or(16 + irq_lines).clamp(16, MAX_WORDS);
    let mut buf = vec![0u8; words_wanted * 4];
    let (words, source) = match target.read_memory_partial(vtor, &mut buf) {
        Ok(n) if n >= 64 => (le_words(&buf[..n]), "target".to_string()),
        _ => match elf_table {
            Some(t) => (t.words.clone(), "ELF".to_string()),
            None => (Vec::new(), "none".to_string()),
        },
    };
    let irqs = words.len().saturating_sub(16).min(irq_lines) as u16;
    let tables = read_nvic(target, irqs);
    let shcsr = scb_block.map(|s| Shcsr::from_bits_retain(s.shcsr));
    let icsr = scb_block.map(|s| Icsr::decode(s.icsr));
    let profile = scb_block.and_then(|s| CpuId::decode(s.cpuid).profile);

    let mut rows = Vec::new();
    for (n, &vector) in words.iter().enumerate().skip(1) {
        let exception = ExceptionNumber(n as u16);
        if !shown(exception, vector, profile) {
            continue;
        }
        let handler = image.and_then(|i| {
            // Weak aliases share the default handler's address: call it by that name.
            if let Some(d) =
                DEFAULT_HANDLERS.iter().filter_map(|n| i.symbols().by_name(n)).find(|s| s.address & !1 == vector & !1)
            {
                return Some(d.demangled.clone());
            }
            let sym = i.symbols().function_at(vector & !1)?;
            Some(if sym.address & !1 == vector & !1 {
                sym.demangled.clone()
            } else {
                format!("{}+{:#x}", sym.demangled, (vector & !1) - (sym.address & !1))
            })
        });
        let mut row = VectorRow { exception, vector, handler, enabled: None, pending: None, active: None, priority: None };
        if let Some(irq) = exception.irq() {
            if let Some(state) = tables.as_ref().and_then(|t| t.irqs(irq + 1).pop()) {
                row.enabled = Some(state.enabled);
                row.pending = Some(state.pending);
                row.active = state.active;
                row.priority = Some(state.priority);
            }
        } else {
            system_state(&mut row, shcsr, scb_block.as_ref());
        }
        rows.push(row);
    }
    let mut findings = match image {
        Some(image) => {
            let live = crate::vectors::live::read(target, image, &LiveOptions { flash: FlashMode::Off });
            crate::vectors::analyze(image, &crate::vectors::Options::default(), Some(&live)).findings
        }
        None => check(&rows),
    };
    findings.sort_by_key(|f| match f.severity {
        Severity::Error => 0,
        Severity::Warning => 1,
        Severity::Info => 2,
    });
    Ok(VectorView {
        vtor,
        source,
        rows,
        findings,
        active: icsr.map(|i| i.vectactive).filter(|e| !e.is_thread()),
        pending: icsr.map(|i| i.vectpending).filter(|e| !e.is_thread()),
    })
}

/// Whether the vector pane lists `exception`: not an empty reserved slot, and not a
/// system exception the core's architecture lacks (SecureFault outside ARMv8-M
/// Mainline, MemManage/BusFault/UsageFault/DebugMonitor on ARMv6-M and v8-M Baseline),
/// whose slot is reserved there. Without a CPUID every slot with a name is listed.
fn shown(exception: ExceptionNumber, vector: u32, profile: Option<Profile>) -> bool {
    if exception.is_reserved() && vector == 0 {
        return false;
    }
    match profile {
        Some(p) if exception.irq().is_none() => exception.exists_on(p),
        _ => true,
    }
}

fn le_words(bytes: &[u8]) -> Vec<u32> {
    bytes.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

fn read_nvic(target: &mut dyn Target, irqs: u16) -> Option<NvicTables> {
    if irqs == 0 {
        return None;
    }
    let words = usize::from(irqs.div_ceil(32));
    let mut table = |base: u32| -> Option<Vec<u32>> {
        let mut b = vec![0u8; words * 4];
        target.read_memory(base, &mut b).ok().map(|()| le_words(&b))
    };
    let iser = table(nvic::ISER)?;
    let ispr = table(nvic::ISPR).unwrap_or_default();
    let iabr = table(nvic::IABR).unwrap_or_default();
    let mut ipr = vec![0u8; usize::from(irqs)];
    if target.read_memory(nvic::IPR, &mut ipr).is_err() {
        ipr.clear();
    }
    Some(NvicTables { iser, ispr, iabr, ipr })
}

/// Enabled/pending/active and priority of the system exceptions that SHCSR and SHPR
/// describe; the others (NMI, HardFault) are always enabled with a fixed priority.
fn system_state(row: &mut VectorRow, shcsr: Option<Shcsr>, scb: Option<&ScbBlock>) {
    let n = row.exception.0;
    row.priority = scb.and_then(|s| s.system_priority(n));
    let Some(s) = shcsr else { return };
    let (ena, pend, act) = match n {
        2 | 3 => (Some(true), None, None),
        4 => {
            (Some(s.contains(Shcsr::MEMFAULTENA)), Some(s.contains(Shcsr::MEMFAULTPENDED)), Some(s.contains(Shcsr::MEMFAULTACT)))
        }
        5 => {
            (Some(s.contains(Shcsr::BUSFAULTENA)), Some(s.contains(Shcsr::BUSFAULTPENDED)), Some(s.contains(Shcsr::BUSFAULTACT)))
        }
        6 => {
            (Some(s.contains(Shcsr::USGFAULTENA)), Some(s.contains(Shcsr::USGFAULTPENDED)), Some(s.contains(Shcsr::USGFAULTACT)))
        }
        11 => (Some(true), Some(s.contains(Shcsr::SVCALLPENDED)), Some(s.contains(Shcsr::SVCALLACT))),
        12 => (None, None, Some(s.contains(Shcsr::MONITORACT))),
        14 => (Some(true), None, Some(s.contains(Shcsr::PENDSVACT))),
        15 => (None, None, Some(s.contains(Shcsr::SYSTICKACT))),
        _ => (None, None, None),
    };
    row.enabled = ena;
    row.pending = pend;
    row.active = act;
}

/// Without an ELF: the checks a table alone allows (missing Thumb bits, an enabled IRQ
/// with an empty vector).
fn check(rows: &[VectorRow]) -> Vec<Finding> {
    let mut out = Vec::new();
    for r in rows {
        if r.vector == 0 {
            if r.enabled == Some(true) && r.exception.irq().is_some() {
                out.push(Finding::new(
                    "irq-enabled-bad-vector",
                    Severity::Error,
                    format!("{} is enabled but its vector is 0", r.exception),
                ));
            }
        } else if r.vector & 1 == 0 {
            out.push(Finding::new(
                "vector-missing-thumb-bit",
                Severity::Error,
                format!("{} vector {:#010x} lacks the Thumb bit: taking it raises INVSTATE", r.exception, r.vector),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn securefault_is_listed_only_on_v8m_mainline() {
        let secure_fault = ExceptionNumber(7);
        assert!(shown(secure_fault, 0, Some(Profile::V8MMainline)));
        for p in [Profile::V6M, Profile::V7M, Profile::V8MBaseline] {
            assert!(!shown(secure_fault, 0, Some(p)), "{p}");
            assert!(!shown(secure_fault, 0x0800_0101, Some(p)), "{p}: a reserved slot, whatever it holds");
        }
        assert!(shown(secure_fault, 0, None), "no CPUID: listed");
    }

    #[test]
    fn the_configurable_faults_are_hidden_on_v6m_and_irqs_always_listed() {
        for n in [4, 5, 6, 12] {
            assert!(!shown(ExceptionNumber(n), 0, Some(Profile::V6M)), "{n}");
            assert!(shown(ExceptionNumber(n), 0x0800_0101, Some(Profile::V7M)), "{n}");
        }
        assert!(shown(ExceptionNumber(16 + 28), 0, Some(Profile::V6M)));
        assert!(!shown(ExceptionNumber(9), 0, Some(Profile::V8MMainline)), "reserved and empty");
    }
}
