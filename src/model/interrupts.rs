//! Which handler is running, what it preempted, and why each pending exception
//! is not being taken, from ICSR, SHCSR, SHPR, the NVIC tables and the masks.

use std::fmt;

use serde::Serialize;

use super::arch::Profile;
use super::exception::ExceptionNumber;
use super::fault_bits::Shcsr;
use super::nvic::{Icsr, IrqState, Masks, NvicTables, Priority, PriorityGrouping};
use super::regs::system_priority;

/// The raw state the analysis needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InterruptInput {
    pub profile: Profile,
    pub icsr: u32,
    /// AIRCR.PRIGROUP (0 on ARMv6-M, which has no grouping).
    pub prigroup: u8,
    pub shpr: [u32; 3],
    /// `None` where SHCSR cannot be read.
    pub shcsr: Option<u32>,
    pub masks: Masks,
    pub nvic: NvicTables,
    /// How many IRQs to look at (see `NvicTables::lines_from_ictr`).
    pub irq_count: u16,
    /// IPSR from the live xPSR; ICSR.VECTACTIVE is used when absent.
    pub ipsr: Option<ExceptionNumber>,
}

/// An exception with its effective (group) priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Prioritized {
    pub exception: ExceptionNumber,
    /// -3 Reset, -2 NMI, -1 HardFault, otherwise the group priority byte.
    pub priority: Priority,
}

impl fmt::Display for Prioritized {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (priority {})", self.exception, self.priority)
    }
}

/// Why a pending exception is not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum BlockReason {
    /// Its NVIC enable bit is clear.
    Disabled,
    /// PRIMASK is set: only NMI and HardFault can be taken.
    PriMask,
    /// FAULTMASK is set: only NMI can be taken.
    FaultMask,
    /// BASEPRI masks priorities at or below it.
    BasePri { basepri: u8 },
    /// The running handler has the same or a more urgent group priority.
    NotHigherThanRunning {
        running: ExceptionNumber,
        running_priority: Priority,
    },
}

impl fmt::Display for BlockReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlockReason::Disabled => f.write_str("disabled in the NVIC"),
            BlockReason::PriMask => f.write_str("masked by PRIMASK"),
            BlockReason::FaultMask => f.write_str("masked by FAULTMASK"),
            BlockReason::BasePri { basepri } => write!(f, "masked by BASEPRI {basepri:#04x}"),
            BlockReason::NotHigherThanRunning {
                running,
                running_priority,
            } => write!(
                f,
                "not more urgent than the running {running} (priority {running_priority})"
            ),
        }
    }
}

/// A pending exception and what holds it back (empty: it is next to be taken,
/// the core is presumably halted or interrupts are masked by the debugger).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pending {
    pub exception: ExceptionNumber,
    pub priority: Priority,
    pub blocked_by: Vec<BlockReason>,
}

impl fmt::Display for Pending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (priority {}) pending", self.exception, self.priority)?;
        if self.blocked_by.is_empty() {
            return f.write_str(": nothing holds it back, it is taken next");
        }
        for (i, reason) in self.blocked_by.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { "; " })?;
            write!(f, "{reason}")?;
        }
        Ok(())
    }
}

/// The result of [`analyze`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InterruptAnalysis {
    pub icsr: Icsr,
    /// The running exception (thread mode is exception 0).
    pub running: Prioritized,
    /// Execution priority after PRIMASK/FAULTMASK/BASEPRI; 256 = thread, unmasked.
    pub execution_priority: Priority,
    /// Active exceptions other than the running one, most urgent first: the
    /// first is the one the running handler preempted, the last is nearest thread mode.
    pub preempted: Vec<Prioritized>,
    /// Pending exceptions, most urgent first.
    pub pending: Vec<Pending>,
    pub irqs: Vec<IrqState>,
}

/// Priority of `n` given the system handler and NVIC priorities; `None` for
/// reserved numbers and IRQs past the IPR table.
pub fn priority_of(
    n: ExceptionNumber,
    shpr: &[u32; 3],
    ipr: &[u8],
    grouping: PriorityGrouping,
) -> Option<Priority> {
    if let Some(p) = n.fixed_priority() {
        return Some(p);
    }
    let byte = match n.irq() {
        Some(irq) => *ipr.get(usize::from(irq))?,
        None if n.is_thread() || n.is_reserved() => return None,
        None => system_priority(shpr, n.0)?,
    };
    Some(Priority::from(grouping.group(byte)))
}

/// Thread mode's priority: below every configurable priority.
pub const THREAD_PRIORITY: Priority = 256;

/// Runs the analysis; never fails, missing table entries read as zero.
pub fn analyze(input: &InterruptInput) -> InterruptAnalysis {
    let grouping = PriorityGrouping::new(if input.profile == Profile::V6M {
        0
    } else {
        input.prigroup
    });
    let prio = |n: ExceptionNumber| {
        if n.is_thread() {
            THREAD_PRIORITY
        } else {
            priority_of(n, &input.shpr, &input.nvic.ipr, grouping).unwrap_or(THREAD_PRIORITY - 1)
        }
    };
    let icsr = Icsr::decode(input.icsr);
    let running_n = input.ipsr.unwrap_or(icsr.vectactive);
    let running = Prioritized {
        exception: running_n,
        priority: prio(running_n),
    };
    let irqs = input.nvic.irqs(input.irq_count);
    let shcsr = Shcsr::from_bits_retain(input.shcsr.unwrap_or(0));

    let mut active: Vec<ExceptionNumber> = irqs
        .iter()
        .filter(|s| s.active == Some(true))
        .map(IrqState::exception)
        .collect();
    for (bit, n) in SYSTEM_ACTIVE_BITS {
        if shcsr.contains(bit) {
            active.push(n);
        }
    }
    let mut preempted: Vec<Prioritized> = active
        .into_iter()
        .filter(|&n| n != running_n)
        .map(|exception| Prioritized {
            exception,
            priority: prio(exception),
        })
        .collect();
    preempted.sort_by_key(|p| (p.priority, p.exception));
    preempted.dedup();

    let m = input.masks;
    let mainline = input.profile.has_basepri_faultmask();
    let basepri = if mainline { m.basepri } else { 0 };
    let mut execution_priority = running
        .priority
        .min(preempted.first().map_or(THREAD_PRIORITY, |p| p.priority));
    if basepri != 0 {
        execution_priority = execution_priority.min(Priority::from(grouping.group(basepri)));
    }
    if m.primask {
        execution_priority = execution_priority.min(0);
    }
    if m.faultmask && mainline {
        execution_priority = execution_priority.min(-1);
    }

    let mut pending_n: Vec<(ExceptionNumber, bool)> = irqs
        .iter()
        .filter(|s| s.pending)
        .map(|s| (s.exception(), s.enabled))
        .collect();
    let system_pending = [
        (icsr.nmipendset, ExceptionNumber::NMI),
        (icsr.pendsvset, ExceptionNumber::PENDSV),
        (icsr.pendstset, ExceptionNumber::SYSTICK),
    ];
    for (set, n) in system_pending {
        if set {
            pending_n.push((n, true));
        }
    }
    for (bit, n) in SYSTEM_PENDED_BITS {
        if shcsr.contains(bit) {
            pending_n.push((n, true));
        }
    }
    let mut pending: Vec<Pending> = pending_n
        .into_iter()
        .map(|(exception, enabled)| {
            let priority = prio(exception);
            let mut blocked_by = Vec::new();
            if !enabled {
                blocked_by.push(BlockReason::Disabled);
            }
            if m.primask && priority >= 0 {
                blocked_by.push(BlockReason::PriMask);
            }
            if m.faultmask && mainline && priority >= -1 {
                blocked_by.push(BlockReason::FaultMask);
            }
            if basepri != 0 && priority >= 0 && priority >= Priority::from(grouping.group(basepri))
            {
                blocked_by.push(BlockReason::BasePri { basepri });
            }
            if !running_n.is_thread() && priority >= running.priority {
                blocked_by.push(BlockReason::NotHigherThanRunning {
                    running: running_n,
                    running_priority: running.priority,
                });
            }
            Pending {
                exception,
                priority,
                blocked_by,
            }
        })
        .collect();
    pending.sort_by_key(|p| (p.priority, p.exception));
    pending.dedup_by_key(|p| p.exception);

    InterruptAnalysis {
        icsr,
        running,
        execution_priority,
        preempted,
        pending,
        irqs,
    }
}

const SYSTEM_ACTIVE_BITS: [(Shcsr, ExceptionNumber); 10] = [
    (Shcsr::NMIACT, ExceptionNumber::NMI),
    (Shcsr::HARDFAULTACT, ExceptionNumber::HARD_FAULT),
    (Shcsr::MEMFAULTACT, ExceptionNumber::MEM_MANAGE),
    (Shcsr::BUSFAULTACT, ExceptionNumber::BUS_FAULT),
    (Shcsr::USGFAULTACT, ExceptionNumber::USAGE_FAULT),
    (Shcsr::SECUREFAULTACT, ExceptionNumber::SECURE_FAULT),
    (Shcsr::SVCALLACT, ExceptionNumber::SVCALL),
    (Shcsr::MONITORACT, ExceptionNumber::DEBUG_MONITOR),
    (Shcsr::PENDSVACT, ExceptionNumber::PENDSV),
    (Shcsr::SYSTICKACT, ExceptionNumber::SYSTICK),
];

const SYSTEM_PENDED_BITS: [(Shcsr, ExceptionNumber); 6] = [
    (Shcsr::HARDFAULTPENDED, ExceptionNumber::HARD_FAULT),
    (Shcsr::MEMFAULTPENDED, ExceptionNumber::MEM_MANAGE),
    (Shcsr::BUSFAULTPENDED, ExceptionNumber::BUS_FAULT),
    (Shcsr::USGFAULTPENDED, ExceptionNumber::USAGE_FAULT),
    (Shcsr::SECUREFAULTPENDED, ExceptionNumber::SECURE_FAULT),
    (Shcsr::SVCALLPENDED, ExceptionNumber::SVCALL),
];
