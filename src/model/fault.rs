//! Fault status decoding: every set bit as a [`FaultCause`], the validity of
//! MMFAR/BFAR/SFAR, the fault class, and why a HardFault was FORCED.
//!
//! Input is plain register values ([`FaultRegisters`]) plus whatever context the
//! caller has ([`FaultContext`]); nothing is read here.

use std::fmt;

use serde::Serialize;

pub use super::fault_bits::{Abfsr, AxiResponse, Cfsr, Dfsr, Hfsr, Sfsr, Shcsr};
pub use super::fault_causes::{CAUSES, FaultCause, FaultRegister, lookup};
pub use super::fault_escalation::{Escalation, EscalationReason};

use super::arch::Profile;
use super::exception::ExceptionNumber;
use super::fault_escalation::escalation_reasons;
use super::regs::{ScbBlock, dcb};

/// The raw fault registers. Registers a core does not have are `None` (SFSR/SFAR
/// without the Security Extension, ABFSR outside Cortex-M7).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FaultRegisters {
    pub cfsr: u32,
    pub hfsr: u32,
    pub dfsr: u32,
    pub mmfar: u32,
    pub bfar: u32,
    pub afsr: u32,
    pub sfsr: Option<u32>,
    pub sfar: Option<u32>,
    pub abfsr: Option<u32>,
}

impl FaultRegisters {
    /// From the SCB block; SFSR/SFAR/ABFSR are left `None`.
    pub fn from_scb(scb: &ScbBlock) -> FaultRegisters {
        FaultRegisters {
            cfsr: scb.cfsr,
            hfsr: scb.hfsr,
            dfsr: scb.dfsr,
            mmfar: scb.mmfar,
            bfar: scb.bfar,
            afsr: scb.afsr,
            ..FaultRegisters::default()
        }
    }

    pub fn cfsr(&self) -> Cfsr {
        Cfsr::from_bits_retain(self.cfsr)
    }

    pub fn hfsr(&self) -> Hfsr {
        Hfsr::from_bits_retain(self.hfsr)
    }

    pub fn sfsr(&self) -> Sfsr {
        Sfsr::from_bits_retain(self.sfsr.unwrap_or(0))
    }

    /// MMFAR, when MMARVALID says it holds the faulting address.
    pub fn valid_mmfar(&self) -> Option<u32> {
        self.cfsr().contains(Cfsr::MMARVALID).then_some(self.mmfar)
    }

    /// BFAR, when BFARVALID says it holds the faulting address.
    pub fn valid_bfar(&self) -> Option<u32> {
        self.cfsr().contains(Cfsr::BFARVALID).then_some(self.bfar)
    }

    /// SFAR, when SFARVALID says it holds the faulting address.
    pub fn valid_sfar(&self) -> Option<u32> {
        self.sfar.filter(|_| self.sfsr().contains(Sfsr::SFARVALID))
    }

    /// Every known set bit, in register then bit order. Unknown set bits are
    /// reported by [`FaultRegisters::unknown_bits`].
    pub fn causes(&self) -> Vec<FaultCause> {
        let mut out = Vec::new();
        for (register, value) in self.sources() {
            for bit in 0..32u8 {
                if value & (1 << bit) != 0 {
                    if let Some(cause) = lookup(register, bit) {
                        out.push(*cause);
                    }
                }
            }
        }
        out
    }

    /// Set bits with no meaning in this model (reserved, or implementation defined).
    pub fn unknown_bits(&self) -> Vec<(FaultRegister, u8)> {
        let mut out = Vec::new();
        for (register, value) in self.sources() {
            for bit in 0..32u8 {
                let known = lookup(register, bit).is_some()
                    || (register == FaultRegister::Abfsr && matches!(bit, 8 | 9));
                if value & (1 << bit) != 0 && !known {
                    out.push((register, bit));
                }
            }
        }
        out
    }

    fn sources(&self) -> [(FaultRegister, u32); 7] {
        [
            (FaultRegister::Mmfsr, self.cfsr & 0xFF),
            (FaultRegister::Bfsr, self.cfsr & 0xFF00),
            (FaultRegister::Ufsr, self.cfsr & 0xFFFF_0000),
            (FaultRegister::Hfsr, self.hfsr),
            (FaultRegister::Dfsr, self.dfsr),
            (FaultRegister::Sfsr, self.sfsr.unwrap_or(0)),
            (FaultRegister::Abfsr, self.abfsr.unwrap_or(0)),
        ]
    }

    /// The configurable faults whose status bits are set, in exception-number order.
    pub fn configurable_faults(&self) -> Vec<FaultClass> {
        let cfsr = self.cfsr();
        let mut out = Vec::new();
        if cfsr.intersects(Cfsr::MEMMANAGE_CAUSES) {
            out.push(FaultClass::MemManage);
        }
        if cfsr.intersects(Cfsr::BUSFAULT_CAUSES) {
            out.push(FaultClass::BusFault);
        }
        if cfsr.intersects(Cfsr::USAGEFAULT_CAUSES) {
            out.push(FaultClass::UsageFault);
        }
        if self.sfsr().intersects(Sfsr::CAUSES) {
            out.push(FaultClass::SecureFault);
        }
        out
    }
}

/// The one-line kind of fault, stable enough for exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum FaultClass {
    None,
    HardFault,
    MemManage,
    BusFault,
    UsageFault,
    SecureFault,
    Lockup,
}

impl FaultClass {
    /// The exception that handles this class, if any.
    pub fn exception(self) -> Option<ExceptionNumber> {
        match self {
            FaultClass::HardFault => Some(ExceptionNumber::HARD_FAULT),
            FaultClass::MemManage => Some(ExceptionNumber::MEM_MANAGE),
            FaultClass::BusFault => Some(ExceptionNumber::BUS_FAULT),
            FaultClass::UsageFault => Some(ExceptionNumber::USAGE_FAULT),
            FaultClass::SecureFault => Some(ExceptionNumber::SECURE_FAULT),
            FaultClass::None | FaultClass::Lockup => None,
        }
    }

    /// The class of a fault handler's exception number.
    pub fn from_exception(n: ExceptionNumber) -> Option<FaultClass> {
        Some(match n.0 {
            3 => FaultClass::HardFault,
            4 => FaultClass::MemManage,
            5 => FaultClass::BusFault,
            6 => FaultClass::UsageFault,
            7 => FaultClass::SecureFault,
            _ => return None,
        })
    }

    /// SHCSR enable bit of a configurable fault.
    pub fn enable_bit(self) -> Option<Shcsr> {
        match self {
            FaultClass::MemManage => Some(Shcsr::MEMFAULTENA),
            FaultClass::BusFault => Some(Shcsr::BUSFAULTENA),
            FaultClass::UsageFault => Some(Shcsr::USGFAULTENA),
            FaultClass::SecureFault => Some(Shcsr::SECUREFAULTENA),
            _ => None,
        }
    }

    /// SHCSR active bit of a fault handler.
    pub fn active_bit(self) -> Option<Shcsr> {
        match self {
            FaultClass::MemManage => Some(Shcsr::MEMFAULTACT),
            FaultClass::BusFault => Some(Shcsr::BUSFAULTACT),
            FaultClass::UsageFault => Some(Shcsr::USGFAULTACT),
            FaultClass::SecureFault => Some(Shcsr::SECUREFAULTACT),
            FaultClass::HardFault => Some(Shcsr::HARDFAULTACT),
            _ => None,
        }
    }
}

impl fmt::Display for FaultClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FaultClass::None => "no fault",
            FaultClass::HardFault => "HardFault",
            FaultClass::MemManage => "MemManage",
            FaultClass::BusFault => "BusFault",
            FaultClass::UsageFault => "UsageFault",
            FaultClass::SecureFault => "SecureFault",
            FaultClass::Lockup => "Lockup",
        })
    }
}

/// What else the caller knows when the fault is analysed. Every field is optional.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FaultContext {
    pub profile: Option<Profile>,
    pub shcsr: Option<u32>,
    /// SHPR1-3, for the configurable faults' priorities.
    pub shpr: Option<[u32; 3]>,
    pub primask: Option<bool>,
    pub faultmask: Option<bool>,
    pub basepri: Option<u8>,
    /// The handler running now (IPSR / ICSR.VECTACTIVE).
    pub active: Option<ExceptionNumber>,
    /// The exception that was running when the fault hit: IPSR of the stacked xPSR.
    pub interrupted: Option<ExceptionNumber>,
    /// Priority byte of `interrupted` when it is configurable. Needed for IRQs; for
    /// system handlers it is taken from `shpr` when absent.
    pub interrupted_priority: Option<u8>,
    /// AIRCR.PRIGROUP: only group priorities decide preemption (0 when absent).
    pub prigroup: Option<u8>,
    pub dhcsr: Option<u32>,
    /// The SP the exception frame was pushed to (or tried to be).
    pub sp: Option<u32>,
    /// `[start, end)` of the RAM (or stack region) that SP belongs to.
    pub stack_bounds: Option<(u32, u32)>,
}

/// How close to the bottom of its region an SP must be to call a stacking
/// error a stack overflow: one extended frame plus some locals.
pub const STACK_OVERFLOW_MARGIN: u32 = 0x100;

/// Extra findings that are not a single bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FaultNote {
    /// MemManage bits are set but MMFAR is not valid.
    MmfarNotValid,
    /// BusFault bits are set but BFAR is not valid.
    BfarNotValid,
    /// IMPRECISERR: the stacked PC is past the culprit, and BFAR is not its address.
    ImpreciseStackedPc,
    /// ARMv6-M and ARMv8-M Baseline have no fault status registers: decode the
    /// instruction at the stacked PC instead (see `model::v6m`).
    NoFaultStatusRegisters,
    /// DHCSR.S_LOCKUP: the core is locked up after a fault at priority -1 or above.
    LockedUp,
    /// A stacking error (or STKOF) with SP below or near the bottom of its stack region.
    StackOverflow { sp: u32, bottom: u32 },
}

impl fmt::Display for FaultNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FaultNote::MmfarNotValid => "MMFAR is not valid (MMARVALID clear): the faulting address is unknown",
            FaultNote::BfarNotValid => "BFAR is not valid (BFARVALID clear): the faulting address is unknown",
            FaultNote::ImpreciseStackedPc => {
                "imprecise bus fault: the stacked PC is after the faulting store; set ACTLR.DISDEFWBUF to find it"
            }
            FaultNote::NoFaultStatusRegisters => {
                "this profile has no fault status registers: the cause comes from the instruction at the stacked PC"
            }
            FaultNote::LockedUp => "the core is locked up (DHCSR.S_LOCKUP): a fault occurred in HardFault or NMI",
            FaultNote::StackOverflow { sp, bottom } => {
                return write!(
                    f,
                    "stack overflow: SP {sp:#010x} is at or below the bottom of its stack ({bottom:#010x}) while stacking failed"
                );
            }
        })
    }
}

/// Everything the fault registers say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FaultAnalysis {
    pub class: FaultClass,
    /// The fault that started it: the configurable fault behind a FORCED HardFault,
    /// otherwise the same as `class`.
    pub primary: FaultClass,
    pub causes: Vec<FaultCause>,
    pub mmfar: Option<u32>,
    pub bfar: Option<u32>,
    pub sfar: Option<u32>,
    pub escalation: Option<Escalation>,
    pub notes: Vec<FaultNote>,
}

impl FaultAnalysis {
    pub fn analyze(regs: &FaultRegisters, ctx: &FaultContext) -> FaultAnalysis {
        let has_status = ctx.profile.is_none_or(Profile::has_fault_status_registers);
        // On cores without the registers the values are whatever the bus returned.
        let regs = if has_status {
            *regs
        } else {
            FaultRegisters::default()
        };
        let cfsr = regs.cfsr();
        let hfsr = regs.hfsr();
        let configurable = regs.configurable_faults();
        let locked = ctx.dhcsr.is_some_and(|d| d & dcb::DHCSR_S_LOCKUP != 0);

        let hard = hfsr.intersects(Hfsr::FORCED | Hfsr::VECTTBL | Hfsr::DEBUGEVT);
        let class = if locked {
            FaultClass::Lockup
        } else if let Some(c) = ctx.active.and_then(FaultClass::from_exception) {
            c
        } else if hard {
            FaultClass::HardFault
        } else {
            configurable.first().copied().unwrap_or(FaultClass::None)
        };
        let primary = match class {
            FaultClass::HardFault | FaultClass::Lockup if hfsr.contains(Hfsr::FORCED) => {
                configurable
                    .first()
                    .copied()
                    .unwrap_or(FaultClass::HardFault)
            }
            FaultClass::Lockup => configurable.first().copied().unwrap_or(FaultClass::Lockup),
            c => c,
        };
        let escalation = hfsr.contains(Hfsr::FORCED).then(|| Escalation {
            reasons: escalation_reasons(&configurable, ctx),
            from: configurable.clone(),
        });

        let mut notes = Vec::new();
        if !has_status {
            notes.push(FaultNote::NoFaultStatusRegisters);
        }
        if locked {
            notes.push(FaultNote::LockedUp);
        }
        if cfsr.intersects(Cfsr::DACCVIOL | Cfsr::MUNSTKERR | Cfsr::MSTKERR | Cfsr::MLSPERR)
            && !cfsr.contains(Cfsr::MMARVALID)
        {
            notes.push(FaultNote::MmfarNotValid);
        }
        if cfsr.contains(Cfsr::PRECISERR) && !cfsr.contains(Cfsr::BFARVALID) {
            notes.push(FaultNote::BfarNotValid);
        }
        if cfsr.contains(Cfsr::IMPRECISERR) {
            notes.push(FaultNote::ImpreciseStackedPc);
        }
        let stacking = Cfsr::STKERR | Cfsr::MSTKERR | Cfsr::STKOF | Cfsr::LSPERR | Cfsr::MLSPERR;
        if let (true, Some(sp), Some((bottom, _))) =
            (cfsr.intersects(stacking), ctx.sp, ctx.stack_bounds)
        {
            if sp < bottom.saturating_add(STACK_OVERFLOW_MARGIN) {
                notes.push(FaultNote::StackOverflow { sp, bottom });
            }
        }
        FaultAnalysis {
            class,
            primary,
            causes: regs.causes(),
            mmfar: regs.valid_mmfar(),
            bfar: regs.valid_bfar(),
            sfar: regs.valid_sfar(),
            escalation,
            notes,
        }
    }
}
