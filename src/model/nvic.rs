//! Interrupt state: ICSR, AIRCR priority grouping, the NVIC tables, and the
//! masks, and from them what is running, what it preempted, and why pending
//! exceptions are not taken.

use std::fmt;

use serde::Serialize;

use super::exception::ExceptionNumber;
use super::regs::scb;

/// A decoded ICSR (0xE000ED04).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Icsr {
    pub raw: u32,
    /// VECTACTIVE: the running exception (0 = thread mode).
    pub vectactive: ExceptionNumber,
    /// RETTOBASE: no other exception is active besides the running one.
    pub rettobase: bool,
    /// VECTPENDING: the most urgent pending enabled exception (0 = none).
    pub vectpending: ExceptionNumber,
    /// ISRPENDING: an external interrupt is pending (NMI excluded).
    pub isrpending: bool,
    /// ISRPREEMPT: a pending exception will be taken on leaving debug halt.
    pub isrpreempt: bool,
    /// STTNS (v8-M): SysTick targets the non-secure state.
    pub sttns: bool,
    pub pendstset: bool,
    pub pendsvset: bool,
    pub nmipendset: bool,
}

impl Icsr {
    pub fn decode(raw: u32) -> Icsr {
        Icsr {
            raw,
            vectactive: ExceptionNumber((raw & scb::ICSR_VECTACTIVE_MASK) as u16),
            rettobase: raw & scb::ICSR_RETTOBASE != 0,
            vectpending: ExceptionNumber(
                ((raw & scb::ICSR_VECTPENDING_MASK) >> scb::ICSR_VECTPENDING_SHIFT) as u16,
            ),
            isrpending: raw & scb::ICSR_ISRPENDING != 0,
            isrpreempt: raw & scb::ICSR_ISRPREEMPT != 0,
            sttns: raw & scb::ICSR_STTNS != 0,
            pendstset: raw & scb::ICSR_PENDSTSET != 0,
            pendsvset: raw & scb::ICSR_PENDSVSET != 0,
            nmipendset: raw & scb::ICSR_NMIPENDSET != 0,
        }
    }
}

/// A decoded AIRCR (0xE000ED0C), read side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Aircr {
    pub raw: u32,
    /// VECTKEYSTAT: reads 0xFA05.
    pub vectkeystat: u16,
    pub big_endian: bool,
    pub prigroup: u8,
    /// v8-M: secure exceptions are prioritized over non-secure ones.
    pub pris: bool,
    /// v8-M: BusFault, HardFault and NMI target non-secure.
    pub bfhfnmins: bool,
    pub sysresetreq: bool,
    pub vectclractive: bool,
}

impl Aircr {
    pub fn decode(raw: u32) -> Aircr {
        Aircr {
            raw,
            vectkeystat: (raw >> 16) as u16,
            big_endian: raw & scb::AIRCR_ENDIANNESS != 0,
            prigroup: ((raw & scb::AIRCR_PRIGROUP_MASK) >> scb::AIRCR_PRIGROUP_SHIFT) as u8,
            pris: raw & scb::AIRCR_PRIS != 0,
            bfhfnmins: raw & scb::AIRCR_BFHFNMINS != 0,
            sysresetreq: raw & scb::AIRCR_SYSRESETREQ != 0,
            vectclractive: raw & scb::AIRCR_VECTCLRACTIVE != 0,
        }
    }

    pub fn grouping(&self) -> PriorityGrouping {
        PriorityGrouping::new(self.prigroup)
    }
}

/// AIRCR.PRIGROUP: priority bits `[7:PRIGROUP+1]` are the group (preemption)
/// priority, bits `[PRIGROUP:0]` the subpriority. Only the group priority decides
/// preemption.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PriorityGrouping {
    pub prigroup: u8,
}

impl PriorityGrouping {
    /// `prigroup` is taken modulo 8.
    pub fn new(prigroup: u8) -> PriorityGrouping {
        PriorityGrouping {
            prigroup: prigroup & 7,
        }
    }

    fn sub_mask(self) -> u8 {
        ((1u16 << (self.prigroup + 1)) - 1) as u8
    }

    /// The group priority as a priority byte (subpriority bits cleared).
    pub fn group(self, priority: u8) -> u8 {
        priority & !self.sub_mask()
    }

    pub fn subpriority(self, priority: u8) -> u8 {
        priority & self.sub_mask()
    }
}

/// PRIMASK, FAULTMASK, BASEPRI. FAULTMASK and BASEPRI read as zero on ARMv6-M.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Masks {
    pub primask: bool,
    pub faultmask: bool,
    pub basepri: u8,
}

/// One external interrupt's NVIC state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IrqState {
    pub irq: u16,
    pub enabled: bool,
    pub pending: bool,
    /// `None` where IABR does not exist (ARMv6-M).
    pub active: Option<bool>,
    pub priority: u8,
}

impl IrqState {
    pub fn exception(&self) -> ExceptionNumber {
        ExceptionNumber::from_irq(self.irq)
    }
}

/// The NVIC tables as read: ISER, ISPR, IABR words and IPR bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NvicTables {
    pub iser: Vec<u32>,
    pub ispr: Vec<u32>,
    /// Empty where IABR does not exist.
    pub iabr: Vec<u32>,
    pub ipr: Vec<u8>,
}

impl NvicTables {
    /// IRQ lines the NVIC may implement per ICTR.INTLINESNUM (an upper bound).
    pub fn lines_from_ictr(ictr: u32) -> u16 {
        32 * ((ictr & 0xF) as u16 + 1)
    }

    /// The state of IRQ 0 .. `count`; words or bytes missing read as zero.
    pub fn irqs(&self, count: u16) -> Vec<IrqState> {
        let bit = |table: &[u32], irq: u16| {
            table
                .get(usize::from(irq / 32))
                .is_some_and(|w| w & (1 << (irq % 32)) != 0)
        };
        (0..count)
            .map(|irq| IrqState {
                irq,
                enabled: bit(&self.iser, irq),
                pending: bit(&self.ispr, irq),
                active: (!self.iabr.is_empty()).then(|| bit(&self.iabr, irq)),
                priority: self.ipr.get(usize::from(irq)).copied().unwrap_or(0),
            })
            .collect()
    }
}

/// Priority of an exception in a comparable form: Reset -3, NMI -2, HardFault -1,
/// otherwise the group priority byte.
pub type Priority = i16;

impl fmt::Display for Icsr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "active {}, pending {}",
            self.vectactive, self.vectpending
        )?;
        if self.rettobase {
            f.write_str(", returns to base")?;
        }
        Ok(())
    }
}
