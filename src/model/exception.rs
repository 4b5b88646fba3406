//! Exception numbers: names, which exist on which profile, and the IPSR.
//!
//! 0 is thread mode, 1-15 are the core's exceptions, 16 + n is external
//! interrupt IRQn. The number is what IPSR, ICSR.VECTACTIVE and the vector
//! table index share.

use std::fmt;

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use super::arch::Profile;

/// An exception number as held in IPSR and ICSR.VECTACTIVE (9 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExceptionNumber(pub u16);

impl ExceptionNumber {
    pub const THREAD: ExceptionNumber = ExceptionNumber(0);
    pub const RESET: ExceptionNumber = ExceptionNumber(1);
    pub const NMI: ExceptionNumber = ExceptionNumber(2);
    pub const HARD_FAULT: ExceptionNumber = ExceptionNumber(3);
    pub const MEM_MANAGE: ExceptionNumber = ExceptionNumber(4);
    pub const BUS_FAULT: ExceptionNumber = ExceptionNumber(5);
    pub const USAGE_FAULT: ExceptionNumber = ExceptionNumber(6);
    pub const SECURE_FAULT: ExceptionNumber = ExceptionNumber(7);
    pub const SVCALL: ExceptionNumber = ExceptionNumber(11);
    pub const DEBUG_MONITOR: ExceptionNumber = ExceptionNumber(12);
    pub const PENDSV: ExceptionNumber = ExceptionNumber(14);
    pub const SYSTICK: ExceptionNumber = ExceptionNumber(15);

    /// The exception number in a (stacked or live) xPSR: IPSR, bits `[8:0]`.
    pub fn from_xpsr(xpsr: u32) -> ExceptionNumber {
        ExceptionNumber((xpsr & 0x1FF) as u16)
    }

    /// The exception number of external interrupt `irq`.
    pub fn from_irq(irq: u16) -> ExceptionNumber {
        ExceptionNumber(irq.saturating_add(16))
    }

    /// `Some(n)` for IRQn.
    pub fn irq(self) -> Option<u16> {
        self.0.checked_sub(16)
    }

    pub fn is_thread(self) -> bool {
        self.0 == 0
    }

    /// MemManage, BusFault, UsageFault, SecureFault or HardFault.
    pub fn is_fault(self) -> bool {
        matches!(self.0, 3..=7)
    }

    /// Numbers 8, 9, 10 and 13 are reserved on every profile.
    pub fn is_reserved(self) -> bool {
        matches!(self.0, 8 | 9 | 10 | 13)
    }

    /// Whether this exception can exist on `profile` (IRQs up to the architectural maximum).
    pub fn exists_on(self, profile: Profile) -> bool {
        let mainline = matches!(profile, Profile::V7M | Profile::V8MMainline);
        match self.0 {
            0..=3 | 11 | 14 | 15 => true,
            4..=6 | 12 => mainline,
            7 => profile == Profile::V8MMainline,
            8..=10 | 13 => false,
            n => n - 16 < profile.max_external_interrupts(),
        }
    }

    /// Fixed priority of Reset (-3), NMI (-2) and HardFault (-1); `None` for
    /// the configurable ones.
    pub fn fixed_priority(self) -> Option<i16> {
        match self.0 {
            1 => Some(-3),
            2 => Some(-2),
            3 => Some(-1),
            _ => None,
        }
    }

    /// The conventional name: "HardFault", "SVCall", "IRQ5", "Thread".
    pub fn name(self) -> String {
        match self.core_name() {
            Some(n) => n.to_string(),
            None => match self.irq() {
                Some(irq) => format!("IRQ{irq}"),
                None => format!("Reserved{}", self.0),
            },
        }
    }

    fn core_name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "Thread",
            1 => "Reset",
            2 => "NMI",
            3 => "HardFault",
            4 => "MemManage",
            5 => "BusFault",
            6 => "UsageFault",
            7 => "SecureFault",
            11 => "SVCall",
            12 => "DebugMonitor",
            14 => "PendSV",
            15 => "SysTick",
            _ => return None,
        })
    }
}

impl fmt::Display for ExceptionNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl Serialize for ExceptionNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("ExceptionNumber", 2)?;
        s.serialize_field("number", &self.0)?;
        s.serialize_field("name", &self.name())?;
        s.end()
    }
}
