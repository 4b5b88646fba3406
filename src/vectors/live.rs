//! Reading what the chip holds, into a plain [`LiveData`] that [`super::livecheck`]
//! explains. Reads are whole and few: the SCB block (CPUID..AFSR, VTOR included) in one,
//! the table at VTOR in one, the masks in one register request, ICTR, then ISER, ISPR,
//! IABR and IPR one block each, then flash (see [`super::flash`]). A read that fails is
//! noted and the rest goes on: a partial answer beats none.

use serde::Serialize;

use crate::debuginfo::Image;
use crate::model::arch::{CpuId, Profile};
use crate::model::exception::ExceptionNumber;
use crate::model::nvic::{Masks, NvicTables};
use crate::model::regs::{SCB_BLOCK_LEN, SCB_BLOCK_START, ScbBlock, nvic, scs};
use crate::target::{Target, reg};

use super::flash::{self, FlashCheck, FlashMode};

/// The target's state as read; no interpretation.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LiveData {
    /// The backend, e.g. "gdb-remote (QEMU 10.0.2)".
    pub description: String,
    pub scb: Option<ScbBlock>,
    /// The words at VTOR, as many as the ELF's table has.
    pub table: Option<Vec<u32>>,
    /// Why the table at VTOR could not be read.
    pub table_error: Option<String>,
    pub masks: Option<Masks>,
    /// IPSR from xPSR.
    pub ipsr: Option<ExceptionNumber>,
    /// ICTR (0xE000E004); `None` when unreadable (ARMv6-M may not have it).
    pub ictr: Option<u32>,
    pub nvic: Option<NvicTables>,
    /// IRQs whose NVIC state was read.
    pub irq_count: u16,
    pub flash: Option<FlashCheck>,
    /// FreeRTOS's `ucMaxSysCallPriority` (configMAX_SYSCALL_INTERRUPT_PRIORITY as port.c
    /// computed it), when the image has the variable.
    pub rtos_max_syscall: Option<u8>,
    /// Reads that failed, in words.
    pub unreadable: Vec<String>,
}

impl LiveData {
    pub fn profile(&self) -> Option<Profile> {
        self.scb.and_then(|s| CpuId::decode(s.cpuid).profile)
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct LiveOptions {
    pub flash: FlashMode,
}

/// Reads the (halted) target. `image` gives the table's length and the sections to
/// compare with flash.
pub fn read(target: &mut dyn Target, image: &Image, opts: &LiveOptions) -> LiveData {
    let mut live = LiveData { description: target.capabilities().description.clone(), ..LiveData::default() };
    let table_words = image.vector_table().map_or(16, |t| t.words.len().max(16));

    let mut scb = [0u8; SCB_BLOCK_LEN];
    match target.read_memory(SCB_BLOCK_START, &mut scb) {
        Ok(()) => live.scb = ScbBlock::from_bytes(&scb),
        Err(e) => live.unreadable.push(format!("SCB (VTOR, ICSR): {e}")),
    }
    if let Some(scb) = live.scb {
        let mut bytes = vec![0u8; table_words * 4];
        match target.read_memory(scb.vtor, &mut bytes) {
            Ok(()) => live.table = Some(bytes.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect()),
            Err(e) => live.table_error = Some(e.to_string()),
        }
    }

    match target.read_register_set(&[reg::PRIMASK, reg::BASEPRI, reg::FAULTMASK, reg::XPSR]) {
        Ok(r) => {
            live.masks = Some(Masks {
                primask: r.get(reg::PRIMASK).is_some_and(|v| v & 1 != 0),
                faultmask: r.get(reg::FAULTMASK).is_some_and(|v| v & 1 != 0),
                basepri: r.get(reg::BASEPRI).map_or(0, |v| v as u8),
            });
            live.ipsr = r.get(reg::XPSR).map(ExceptionNumber::from_xpsr);
        }
        Err(e) => live.unreadable.push(format!("PRIMASK/BASEPRI/FAULTMASK: {e}")),
    }

    let mut ictr = [0u8; 4];
    if target.read_memory(scs::ICTR, &mut ictr).is_ok() {
        live.ictr = Some(u32::from_le_bytes(ictr));
    }
    let lines = live.ictr.map_or(32, NvicTables::lines_from_ictr);
    live.irq_count = lines.min((table_words - 16) as u16);
    if live.irq_count > 0 {
        live.nvic = read_nvic(target, live.irq_count, live.profile() != Some(Profile::V6M), &mut live.unreadable);
    }

    if let Some(sym) = image.symbols().by_name("ucMaxSysCallPriority") {
        let mut b = [0u8; 1];
        if target.read_memory(sym.address, &mut b).is_ok() {
            live.rtos_max_syscall = Some(b[0]);
        }
    }
    if opts.flash != FlashMode::Off {
        live.flash = Some(flash::compare(target, image, opts.flash));
    }
    live
}

fn read_nvic(target: &mut dyn Target, irqs: u16, has_iabr: bool, unreadable: &mut Vec<String>) -> Option<NvicTables> {
    let words = usize::from(irqs).div_ceil(32);
    let mut read_words = |target: &mut dyn Target, base: u32, what: &str| -> Option<Vec<u32>> {
        let mut b = vec![0u8; words * 4];
        match target.read_memory(base, &mut b) {
            Ok(()) => Some(b.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect()),
            Err(e) => {
                unreadable.push(format!("NVIC {what}: {e}"));
                None
            }
        }
    };
    let iser = read_words(target, nvic::ISER, "ISER")?;
    let ispr = read_words(target, nvic::ISPR, "ISPR").unwrap_or_default();
    let iabr = if has_iabr { read_words(target, nvic::IABR, "IABR").unwrap_or_default() } else { Vec::new() };
    let mut ipr = vec![0u8; usize::from(irqs).next_multiple_of(4)];
    if let Err(e) = target.read_memory(nvic::IPR, &mut ipr) {
        unreadable.push(format!("NVIC IPR: {e}"));
        ipr.clear();
    }
    Some(NvicTables { iser, ispr, iabr, ipr })
}
