//! Control registers as bitflags, built from the masks in [`super::regs`]:
//! CCR, SCR, FPCCR, DHCSR, DEMCR and MPU_CTRL.

use bitflags::bitflags;
use serde::Serialize;

use super::regs::{dcb, fpu, mpu, scb};

bitflags! {
    /// Configuration and Control Register (0xE000ED14).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
    pub struct Ccr: u32 {
        const NONBASETHRDENA = scb::CCR_NONBASETHRDENA;
        const USERSETMPEND = scb::CCR_USERSETMPEND;
        /// Trap every unaligned halfword/word access (UsageFault UNALIGNED).
        const UNALIGN_TRP = scb::CCR_UNALIGN_TRP;
        /// Trap integer division by zero (UsageFault DIVBYZERO).
        const DIV_0_TRP = scb::CCR_DIV_0_TRP;
        /// Ignore data bus faults in handlers at priority -1 and -2.
        const BFHFNMIGN = scb::CCR_BFHFNMIGN;
        /// 8-byte stack alignment on exception entry (the xPSR bit 9 pad).
        const STKALIGN = scb::CCR_STKALIGN;
        const STKOFHFNMIGN = scb::CCR_STKOFHFNMIGN;
        const DC = scb::CCR_DC;
        const IC = scb::CCR_IC;
        const BP = scb::CCR_BP;
    }
}

bitflags! {
    /// System Control Register (0xE000ED10).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
    pub struct Scr: u32 {
        const SLEEPONEXIT = scb::SCR_SLEEPONEXIT;
        const SLEEPDEEP = scb::SCR_SLEEPDEEP;
        const SLEEPDEEPS = scb::SCR_SLEEPDEEPS;
        const SEVONPEND = scb::SCR_SEVONPEND;
    }
}

bitflags! {
    /// Floating-point Context Control Register (0xE000EF34).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
    pub struct Fpccr: u32 {
        /// Lazy state preservation is active: space is reserved at FPCAR, not yet written.
        const LSPACT = fpu::FPCCR_LSPACT;
        const USER = fpu::FPCCR_USER;
        const S = fpu::FPCCR_S;
        const THREAD = fpu::FPCCR_THREAD;
        const HFRDY = fpu::FPCCR_HFRDY;
        const MMRDY = fpu::FPCCR_MMRDY;
        const BFRDY = fpu::FPCCR_BFRDY;
        const SFRDY = fpu::FPCCR_SFRDY;
        const MONRDY = fpu::FPCCR_MONRDY;
        const SPLIMVIOL = fpu::FPCCR_SPLIMVIOL;
        const UFRDY = fpu::FPCCR_UFRDY;
        const TS = fpu::FPCCR_TS;
        const CLRONRETS = fpu::FPCCR_CLRONRETS;
        const CLRONRET = fpu::FPCCR_CLRONRET;
        const LSPENS = fpu::FPCCR_LSPENS;
        /// Lazy stacking enabled.
        const LSPEN = fpu::FPCCR_LSPEN;
        /// Automatic FP state preservation on exception entry.
        const ASPEN = fpu::FPCCR_ASPEN;
    }
}

bitflags! {
    /// Debug Halting Control and Status Register (0xE000EDF0), read side.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
    pub struct Dhcsr: u32 {
        const C_DEBUGEN = dcb::DHCSR_C_DEBUGEN;
        const C_HALT = dcb::DHCSR_C_HALT;
        const C_STEP = dcb::DHCSR_C_STEP;
        const C_MASKINTS = dcb::DHCSR_C_MASKINTS;
        const C_SNAPSTALL = dcb::DHCSR_C_SNAPSTALL;
        const S_REGRDY = dcb::DHCSR_S_REGRDY;
        const S_HALT = dcb::DHCSR_S_HALT;
        const S_SLEEP = dcb::DHCSR_S_SLEEP;
        /// The core is locked up after a fault at priority -1 or above.
        const S_LOCKUP = dcb::DHCSR_S_LOCKUP;
        const S_RETIRE_ST = dcb::DHCSR_S_RETIRE_ST;
        const S_RESET_ST = dcb::DHCSR_S_RESET_ST;
    }
}

bitflags! {
    /// Debug Exception and Monitor Control Register (0xE000EDFC).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
    pub struct Demcr: u32 {
        const VC_CORERESET = dcb::DEMCR_VC_CORERESET;
        const VC_MMERR = dcb::DEMCR_VC_MMERR;
        const VC_NOCPERR = dcb::DEMCR_VC_NOCPERR;
        const VC_CHKERR = dcb::DEMCR_VC_CHKERR;
        const VC_STATERR = dcb::DEMCR_VC_STATERR;
        const VC_BUSERR = dcb::DEMCR_VC_BUSERR;
        const VC_INTERR = dcb::DEMCR_VC_INTERR;
        const VC_HARDERR = dcb::DEMCR_VC_HARDERR;
        const VC_SFERR = dcb::DEMCR_VC_SFERR;
        const MON_EN = dcb::DEMCR_MON_EN;
        const MON_PEND = dcb::DEMCR_MON_PEND;
        const MON_STEP = dcb::DEMCR_MON_STEP;
        const MON_REQ = dcb::DEMCR_MON_REQ;
        const TRCENA = dcb::DEMCR_TRCENA;
    }
}

impl Demcr {
    /// The vector catches that halt on a fault (not on reset).
    pub const FAULT_CATCHES: Demcr = Demcr::from_bits_retain(dcb::DEMCR_VC_ALL_FAULTS);
}

bitflags! {
    /// MPU Control Register (0xE000ED94).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
    pub struct MpuCtrl: u32 {
        const ENABLE = mpu::CTRL_ENABLE;
        /// The MPU stays on in HardFault, NMI and FAULTMASK handlers.
        const HFNMIENA = mpu::CTRL_HFNMIENA;
        /// Privileged code may use the default memory map as a background region.
        const PRIVDEFENA = mpu::CTRL_PRIVDEFENA;
    }
}

/// MPU_TYPE.DREGION: the number of MPU regions (0 = no MPU).
pub fn mpu_regions(mpu_type: u32) -> u8 {
    ((mpu_type & mpu::TYPE_DREGION_MASK) >> mpu::TYPE_DREGION_SHIFT) as u8
}
