//! The fault status registers as bitflags: CFSR, HFSR, DFSR, SHCSR, SFSR and the
//! Cortex-M7 ABFSR, with the masks that group CFSR bits by fault.

use bitflags::bitflags;
use serde::Serialize;

bitflags! {
    /// Configurable Fault Status Register (0xE000ED28): MMFSR `[7:0]`, BFSR `[15:8]`, UFSR `[31:16]`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
    pub struct Cfsr: u32 {
        const IACCVIOL = 1 << 0;
        const DACCVIOL = 1 << 1;
        const MUNSTKERR = 1 << 3;
        const MSTKERR = 1 << 4;
        const MLSPERR = 1 << 5;
        const MMARVALID = 1 << 7;
        const IBUSERR = 1 << 8;
        const PRECISERR = 1 << 9;
        const IMPRECISERR = 1 << 10;
        const UNSTKERR = 1 << 11;
        const STKERR = 1 << 12;
        const LSPERR = 1 << 13;
        const BFARVALID = 1 << 15;
        const UNDEFINSTR = 1 << 16;
        const INVSTATE = 1 << 17;
        const INVPC = 1 << 18;
        const NOCP = 1 << 19;
        const STKOF = 1 << 20;
        const UNALIGNED = 1 << 24;
        const DIVBYZERO = 1 << 25;
    }
}

impl Cfsr {
    /// MemManage status bits, without MMARVALID.
    pub const MEMMANAGE_CAUSES: Cfsr = Cfsr::IACCVIOL
        .union(Cfsr::DACCVIOL)
        .union(Cfsr::MUNSTKERR)
        .union(Cfsr::MSTKERR)
        .union(Cfsr::MLSPERR);
    /// BusFault status bits, without BFARVALID.
    pub const BUSFAULT_CAUSES: Cfsr = Cfsr::IBUSERR
        .union(Cfsr::PRECISERR)
        .union(Cfsr::IMPRECISERR)
        .union(Cfsr::UNSTKERR)
        .union(Cfsr::STKERR)
        .union(Cfsr::LSPERR);
    /// UsageFault status bits.
    pub const USAGEFAULT_CAUSES: Cfsr = Cfsr::UNDEFINSTR
        .union(Cfsr::INVSTATE)
        .union(Cfsr::INVPC)
        .union(Cfsr::NOCP)
        .union(Cfsr::STKOF)
        .union(Cfsr::UNALIGNED)
        .union(Cfsr::DIVBYZERO);
}

bitflags! {
    /// HardFault Status Register (0xE000ED2C).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
    pub struct Hfsr: u32 {
        const VECTTBL = 1 << 1;
        const FORCED = 1 << 30;
        const DEBUGEVT = 1 << 31;
    }
}

bitflags! {
    /// Debug Fault Status Register (0xE000ED30).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
    pub struct Dfsr: u32 {
        const HALTED = 1 << 0;
        const BKPT = 1 << 1;
        const DWTTRAP = 1 << 2;
        const VCATCH = 1 << 3;
        const EXTERNAL = 1 << 4;
        /// ARMv8.1-M PMU overflow debug event.
        const PMU = 1 << 5;
    }
}

bitflags! {
    /// System Handler Control and State Register (0xE000ED24).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
    pub struct Shcsr: u32 {
        const MEMFAULTACT = 1 << 0;
        const BUSFAULTACT = 1 << 1;
        /// ARMv8-M.
        const HARDFAULTACT = 1 << 2;
        const USGFAULTACT = 1 << 3;
        /// ARMv8-M.
        const SECUREFAULTACT = 1 << 4;
        /// ARMv8-M.
        const NMIACT = 1 << 5;
        const SVCALLACT = 1 << 7;
        const MONITORACT = 1 << 8;
        const PENDSVACT = 1 << 10;
        const SYSTICKACT = 1 << 11;
        const USGFAULTPENDED = 1 << 12;
        const MEMFAULTPENDED = 1 << 13;
        const BUSFAULTPENDED = 1 << 14;
        const SVCALLPENDED = 1 << 15;
        const MEMFAULTENA = 1 << 16;
        const BUSFAULTENA = 1 << 17;
        const USGFAULTENA = 1 << 18;
        /// ARMv8-M.
        const SECUREFAULTENA = 1 << 19;
        /// ARMv8-M.
        const SECUREFAULTPENDED = 1 << 20;
        /// ARMv8-M.
        const HARDFAULTPENDED = 1 << 21;
    }
}

bitflags! {
    /// SecureFault Status Register (0xE000EDE4, ARMv8-M with the Security Extension).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
    pub struct Sfsr: u32 {
        const INVEP = 1 << 0;
        const INVIS = 1 << 1;
        const INVER = 1 << 2;
        const AUVIOL = 1 << 3;
        const INVTRAN = 1 << 4;
        const LSPERR = 1 << 5;
        const SFARVALID = 1 << 6;
        const LSERR = 1 << 7;
    }
}

impl Sfsr {
    /// SecureFault status bits, without SFARVALID.
    pub const CAUSES: Sfsr = Sfsr::SFARVALID.complement();
}

bitflags! {
    /// Cortex-M7 Auxiliary Bus Fault Status Register (0xE000EFA8): which interface an
    /// asynchronous BusFault came from. AXIMTYPE is in bits `[9:8]`, see [`AxiResponse`].
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
    pub struct Abfsr: u32 {
        const ITCM = 1 << 0;
        const DTCM = 1 << 1;
        const AHBP = 1 << 2;
        const AXIM = 1 << 3;
        const EPPB = 1 << 4;
    }
}

/// ABFSR.AXIMTYPE: the AXI response behind an AXIM fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AxiResponse {
    Okay,
    ExOkay,
    SlvErr,
    DecErr,
}

impl std::fmt::Display for AxiResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AxiResponse::Okay => "OKAY",
            AxiResponse::ExOkay => "EXOKAY",
            AxiResponse::SlvErr => "SLVERR (the slave reported an error)",
            AxiResponse::DecErr => "DECERR (no slave at that address)",
        })
    }
}

impl AxiResponse {
    pub fn from_abfsr(abfsr: u32) -> AxiResponse {
        match (abfsr >> 8) & 0x3 {
            0 => AxiResponse::Okay,
            1 => AxiResponse::ExOkay,
            2 => AxiResponse::SlvErr,
            _ => AxiResponse::DecErr,
        }
    }
}
