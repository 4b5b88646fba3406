//! The few reads a report makes beyond the registers and the SCB block, each only
//! where the core has the thing and the situation needs it: SFSR/SFAR (ARMv8-M
//! Mainline), ABFSR (Cortex-M7), the interrupted exception's priority (an IRQ's NVIC
//! byte, for a FORCED HardFault's escalation reasoning), the SVC instruction. An unreadable register is unknown (`None`), never an
//! error: the report is made with what could be read.

use crate::model::arch::{Core, CpuId, Profile};
use crate::model::exception::ExceptionNumber;
use crate::model::fault::{FaultRegisters, Hfsr};
use crate::model::frame::StackedFrame;
use crate::model::regs::{ScbBlock, nvic, scb};
use crate::model::svc::SvcCall;
use crate::target::Target;

use super::SvcSummary;

fn read_words<const N: usize>(target: &mut dyn Target, address: u32) -> Option<[u32; N]> {
    let mut bytes = vec![0u8; N * 4];
    target.read_memory(address, &mut bytes).ok()?;
    let mut out = [0u32; N];
    for (w, c) in out.iter_mut().zip(bytes.chunks_exact(4)) {
        *w = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    }
    Some(out)
}

/// Adds the fault registers outside the SCB block: SFSR and SFAR in one read on
/// ARMv8-M Mainline, ABFSR on a Cortex-M7. Left `None` elsewhere or when unreadable.
pub(super) fn add_optional_fault_registers(target: &mut dyn Target, cpuid: Option<CpuId>, regs: &mut FaultRegisters) {
    let Some(cpuid) = cpuid else { return };
    if cpuid.profile == Some(Profile::V8MMainline)
        && let Some([sfsr, sfar]) = read_words::<2>(target, scb::SFSR)
    {
        regs.sfsr = Some(sfsr);
        regs.sfar = Some(sfar);
    }
    if cpuid.core == Core::M7
        && let Some([abfsr]) = read_words::<1>(target, scb::ABFSR)
    {
        regs.abfsr = Some(abfsr);
    }
}

/// The priority byte of a configurable exception: an IRQ's NVIC IPR byte (read as
/// its aligned word: ARMv6-M allows only word access to IPR), a system handler's from
/// SHPR1-3. `None` for thread mode, fixed-priority exceptions, or an unreadable IPR.
pub(super) fn priority_byte(target: &mut dyn Target, scb: &ScbBlock, n: ExceptionNumber) -> Option<u8> {
    match n.irq() {
        Some(irq) => {
            let byte = nvic::priority_byte(irq);
            let [word] = read_words::<1>(target, byte & !3)?;
            Some(word.to_le_bytes()[(byte & 3) as usize])
        }
        None => scb.system_priority(n.0),
    }
}

/// The escalation context of a FORCED HardFault: the interrupted exception's priority
/// byte (read from the NVIC for an IRQ; the model takes a system handler's from SHPR
/// itself) and AIRCR.PRIGROUP, so "the fault's priority is not higher than the running
/// code's" can be reasoned. No read unless FORCED is set and an IRQ was interrupted.
pub(super) fn escalation_priorities(
    target: &mut dyn Target,
    scb: &ScbBlock,
    regs: &FaultRegisters,
    interrupted: Option<ExceptionNumber>,
) -> (Option<u8>, Option<u8>) {
    let prigroup = ((scb.aircr & scb::AIRCR_PRIGROUP_MASK) >> scb::AIRCR_PRIGROUP_SHIFT) as u8;
    let priority = interrupted
        .filter(|n| n.irq().is_some() && regs.hfsr().contains(Hfsr::FORCED))
        .and_then(|n| priority_byte(target, scb, n));
    (priority, Some(prigroup))
}

/// The supervisor call behind an active SVCall: the instruction at stacked PC - 2
/// and the stacked R0-R3. `None` if unreadable or not an SVC.
pub(super) fn svc_call(target: &mut dyn Target, frame: &StackedFrame) -> Option<SvcSummary> {
    let mut bytes = [0u8; 2];
    target.read_memory(frame.pc.checked_sub(2)?, &mut bytes).ok()?;
    let call = SvcCall::decode(u16::from_le_bytes(bytes), frame)?;
    Some(SvcSummary { number: call.number, args: call.args, address: call.address })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::arch::Profile;
    use crate::model::fault::{EscalationReason, FaultAnalysis, FaultContext};

    use crate::target::testing::Memory as Mem;

    fn scb(aircr: u32, shpr1: u32, shcsr: u32) -> ScbBlock {
        let mut bytes = [0u8; crate::model::regs::SCB_BLOCK_LEN];
        bytes[12..16].copy_from_slice(&aircr.to_le_bytes());
        bytes[24..28].copy_from_slice(&shpr1.to_le_bytes());
        bytes[36..40].copy_from_slice(&shcsr.to_le_bytes());
        ScbBlock::from_bytes(&bytes).unwrap()
    }

    #[test]
    fn a_busfault_that_cannot_preempt_its_irq_is_explained_by_priority() {
        // IRQ7 at priority 0x40 (IPR word 0xE000E404, byte 3); BusFault enabled at 0x80;
        // PRIGROUP 3 (4 group bits). CFSR PRECISERR, HFSR FORCED.
        let mut t = Mem::new(vec![(nvic::IPR + 4, vec![0, 0, 0, 0x40])]);
        let scb = scb(3 << 8, 0x0000_8000, 1 << 17);
        let regs = FaultRegisters { cfsr: 1 << 9, hfsr: 1 << 30, ..FaultRegisters::default() };
        let irq7 = ExceptionNumber::from_irq(7);
        let (priority, prigroup) = escalation_priorities(&mut t, &scb, &regs, Some(irq7));
        assert_eq!((priority, prigroup), (Some(0x40), Some(3)));
        assert_eq!(t.reads, [(nvic::IPR + 4, 4)], "one aligned word read (ARMv6-M allows no byte access)");
        let ctx = FaultContext {
            profile: Some(Profile::V7M),
            shcsr: Some(scb.shcsr),
            shpr: Some(scb.shpr),
            active: Some(ExceptionNumber::HARD_FAULT),
            interrupted: Some(irq7),
            interrupted_priority: priority,
            prigroup,
            ..FaultContext::default()
        };
        let reasons = FaultAnalysis::analyze(&regs, &ctx).escalation.expect("FORCED").reasons;
        assert!(
            reasons.iter().any(|r| matches!(r, EscalationReason::PriorityNotHigher { running, .. } if *running == irq7)),
            "{reasons:?}"
        );
    }

    #[test]
    fn no_nvic_read_without_forced_or_outside_an_irq() {
        let mut t = Mem::default();
        let scb = scb(5 << 8, 0, 0);
        let forced = FaultRegisters { hfsr: 1 << 30, ..FaultRegisters::default() };
        let irq = Some(ExceptionNumber::from_irq(3));
        assert_eq!(escalation_priorities(&mut t, &scb, &FaultRegisters::default(), irq), (None, Some(5)));
        assert_eq!(escalation_priorities(&mut t, &scb, &forced, Some(ExceptionNumber::THREAD)), (None, Some(5)));
        assert!(t.reads.is_empty(), "{:?}", t.reads);
        // FORCED in an IRQ whose IPR cannot be read: unknown, not an error.
        assert_eq!(escalation_priorities(&mut t, &scb, &forced, irq), (None, Some(5)));
    }
}
