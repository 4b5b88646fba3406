//! Why a FORCED HardFault escalated: the configurable faults whose bits are
//! set, checked against SHCSR enables, the masks, and the priority of the code
//! that was running.

use std::fmt;

use serde::Serialize;

use super::exception::ExceptionNumber;
use super::fault::{FaultClass, FaultContext, Shcsr};
use super::nvic::PriorityGrouping;
use super::regs::system_priority;

/// Why a configurable fault ended up as a HardFault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum EscalationReason {
    /// Its SHCSR enable bit is clear.
    HandlerDisabled { fault: FaultClass },
    /// FAULTMASK was set: execution priority -1.
    FaultMask,
    /// PRIMASK was set: execution priority 0.
    PriMask,
    /// BASEPRI masks the fault's priority.
    BasePri { basepri: u8, fault_priority: u8 },
    /// The running code's priority was the same or more urgent than the fault's.
    PriorityNotHigher {
        running: ExceptionNumber,
        running_priority: i16,
        fault_priority: u8,
    },
    /// The fault happened inside a fault handler or NMI (including its own).
    FaultInFaultHandler { handler: ExceptionNumber },
    /// FORCED with no configurable fault bit: the bits were cleared before being read,
    /// or an SVC/BKPT could not be taken.
    NoConfigurableFaultBits,
}

impl fmt::Display for EscalationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EscalationReason::HandlerDisabled { fault } => write!(
                f,
                "the {fault} handler is disabled (SHCSR enable bit clear), so the fault goes to HardFault"
            ),
            EscalationReason::FaultMask => f.write_str("FAULTMASK was set, masking every configurable fault"),
            EscalationReason::PriMask => f.write_str(
                "PRIMASK was set (execution priority 0), so a configurable fault could not be taken",
            ),
            EscalationReason::BasePri { basepri, fault_priority } => write!(
                f,
                "BASEPRI {basepri:#04x} masked the fault (its priority {fault_priority:#04x} is not more urgent)"
            ),
            EscalationReason::PriorityNotHigher { running, running_priority, fault_priority } => write!(
                f,
                "the fault (priority {fault_priority:#04x}) hit in {running} (priority {running_priority}), which is at the same or more urgent priority, so it could not preempt"
            ),
            EscalationReason::FaultInFaultHandler { handler } => {
                write!(f, "the fault happened inside the {handler} handler")
            }
            EscalationReason::NoConfigurableFaultBits => f.write_str(
                "no configurable fault bit is set: CFSR was cleared before it was read (firmware or RTOS fault handler), or an SVC ran where it could not be taken (SVC priority not above the current priority, or PRIMASK set)",
            ),
        }
    }
}

/// The escalation behind a FORCED HardFault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Escalation {
    /// The configurable fault(s) whose bits are set.
    pub from: Vec<FaultClass>,
    pub reasons: Vec<EscalationReason>,
}

pub(crate) fn escalation_reasons(
    faults: &[FaultClass],
    ctx: &FaultContext,
) -> Vec<EscalationReason> {
    let mut reasons = Vec::new();
    if faults.is_empty() {
        reasons.push(EscalationReason::NoConfigurableFaultBits);
        return reasons;
    }
    let shcsr = ctx.shcsr.map(Shcsr::from_bits_retain);
    for &fault in faults {
        if let (Some(shcsr), Some(ena)) = (shcsr, fault.enable_bit()) {
            if !shcsr.contains(ena) {
                reasons.push(EscalationReason::HandlerDisabled { fault });
            }
        }
    }
    if ctx.faultmask == Some(true) {
        reasons.push(EscalationReason::FaultMask);
    }
    if ctx.primask == Some(true) {
        reasons.push(EscalationReason::PriMask);
    }
    let grouping = PriorityGrouping::new(ctx.prigroup.unwrap_or(0));
    let shpr_priority = |n: ExceptionNumber| {
        ctx.shpr
            .as_ref()
            .and_then(|shpr| system_priority(shpr, n.0))
    };
    let fault_priority = faults
        .iter()
        .filter_map(|f| f.exception())
        .filter_map(shpr_priority)
        .min();
    if let (Some(basepri), Some(p)) = (ctx.basepri, fault_priority) {
        if basepri != 0 && grouping.group(p) >= grouping.group(basepri) {
            reasons.push(EscalationReason::BasePri {
                basepri,
                fault_priority: p,
            });
        }
    }
    if let Some(running) = ctx.interrupted.filter(|n| !n.is_thread()) {
        let running_priority = ctx.interrupted_priority.or_else(|| shpr_priority(running));
        if running.is_fault() || running == ExceptionNumber::NMI {
            reasons.push(EscalationReason::FaultInFaultHandler { handler: running });
        } else if let (Some(rp), Some(p)) = (running_priority, fault_priority) {
            if grouping.group(p) >= grouping.group(rp) {
                reasons.push(EscalationReason::PriorityNotHigher {
                    running,
                    running_priority: i16::from(rp),
                    fault_priority: p,
                });
            }
        }
    } else if let (Some(shcsr), None) = (shcsr, ctx.interrupted) {
        // Without the stacked IPSR, an active fault handler still tells the story.
        for &fault in faults {
            if fault.active_bit().is_some_and(|b| shcsr.contains(b)) {
                if let Some(handler) = fault.exception() {
                    reasons.push(EscalationReason::FaultInFaultHandler { handler });
                }
            }
        }
    }
    reasons
}
