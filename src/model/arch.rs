//! Which core this is (CPUID) and what its architecture profile implies.
//!
//! The profile decides which registers exist: ARMv6-M has no fault status
//! registers, no BASEPRI/FAULTMASK and no IABR; ARMv8-M may have the Security
//! Extension. FPU presence cannot be read from CPUID: use [`Fpu::from_mvfr0`].

use std::fmt;

use serde::Serialize;

use super::regs::{fpu, scb};

/// A Cortex-M core, from CPUID.PARTNO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Core {
    M0,
    M0Plus,
    M1,
    M3,
    M4,
    M7,
    M23,
    M33,
    M35P,
    M52,
    M55,
    M85,
    /// A part number this table does not know.
    Unknown {
        partno: u16,
    },
}

impl Core {
    /// The core for an ARM CPUID.PARTNO value.
    pub fn from_partno(partno: u16) -> Core {
        match partno {
            0xC20 => Core::M0,
            0xC60 => Core::M0Plus,
            0xC21 => Core::M1,
            0xC23 => Core::M3,
            0xC24 => Core::M4,
            0xC27 => Core::M7,
            0xD20 => Core::M23,
            0xD21 => Core::M33,
            0xD31 => Core::M35P,
            0xD24 => Core::M52,
            0xD22 => Core::M55,
            0xD23 => Core::M85,
            other => Core::Unknown { partno: other },
        }
    }

    /// The architecture profile this core implements, if known.
    pub fn profile(self) -> Option<Profile> {
        match self {
            Core::M0 | Core::M0Plus | Core::M1 => Some(Profile::V6M),
            Core::M3 | Core::M4 | Core::M7 => Some(Profile::V7M),
            Core::M23 => Some(Profile::V8MBaseline),
            Core::M33 | Core::M35P | Core::M52 | Core::M55 | Core::M85 => {
                Some(Profile::V8MMainline)
            }
            Core::Unknown { .. } => None,
        }
    }
}

impl fmt::Display for Core {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Core::M0 => f.write_str("Cortex-M0"),
            Core::M0Plus => f.write_str("Cortex-M0+"),
            Core::M1 => f.write_str("Cortex-M1"),
            Core::M3 => f.write_str("Cortex-M3"),
            Core::M4 => f.write_str("Cortex-M4"),
            Core::M7 => f.write_str("Cortex-M7"),
            Core::M23 => f.write_str("Cortex-M23"),
            Core::M33 => f.write_str("Cortex-M33"),
            Core::M35P => f.write_str("Cortex-M35P"),
            Core::M52 => f.write_str("Cortex-M52"),
            Core::M55 => f.write_str("Cortex-M55"),
            Core::M85 => f.write_str("Cortex-M85"),
            Core::Unknown { partno } => write!(f, "unknown core (PARTNO {partno:#05x})"),
        }
    }
}

/// An M-profile architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Profile {
    V6M,
    V7M,
    V8MBaseline,
    V8MMainline,
}

impl Profile {
    /// CFSR, HFSR, DFSR, MMFAR, BFAR exist (and the configurable faults).
    pub fn has_fault_status_registers(self) -> bool {
        matches!(self, Profile::V7M | Profile::V8MMainline)
    }

    /// MemManage, BusFault and UsageFault exist as separate exceptions.
    pub fn has_configurable_faults(self) -> bool {
        self.has_fault_status_registers()
    }

    /// BASEPRI and FAULTMASK exist.
    pub fn has_basepri_faultmask(self) -> bool {
        matches!(self, Profile::V7M | Profile::V8MMainline)
    }

    /// NVIC_IABR (interrupt active bits) exists.
    pub fn has_iabr(self) -> bool {
        self != Profile::V6M
    }

    /// The DebugMonitor exception exists.
    pub fn has_debug_monitor(self) -> bool {
        matches!(self, Profile::V7M | Profile::V8MMainline)
    }

    /// A floating-point unit may be implemented (ask MVFR0 whether it is).
    pub fn may_have_fpu(self) -> bool {
        matches!(self, Profile::V7M | Profile::V8MMainline)
    }

    /// The Security Extension (TrustZone) may be implemented.
    pub fn may_have_security_extension(self) -> bool {
        matches!(self, Profile::V8MBaseline | Profile::V8MMainline)
    }

    /// The SecureFault exception may exist (Mainline with the Security Extension).
    pub fn may_have_securefault(self) -> bool {
        self == Profile::V8MMainline
    }

    /// Stack limit registers (MSPLIM/PSPLIM) exist, so STKOF can occur.
    pub fn has_stack_limits(self) -> bool {
        matches!(self, Profile::V8MBaseline | Profile::V8MMainline)
    }

    /// Unaligned word and halfword accesses always fault.
    pub fn unaligned_always_faults(self) -> bool {
        matches!(self, Profile::V6M | Profile::V8MBaseline)
    }

    /// Most external interrupts the architecture allows.
    pub fn max_external_interrupts(self) -> u16 {
        match self {
            Profile::V6M => 32,
            Profile::V7M => 496,
            Profile::V8MBaseline | Profile::V8MMainline => 480,
        }
    }

    /// True for both ARMv8-M profiles (EXC_RETURN carries ES/DCRS/S).
    pub fn is_v8m(self) -> bool {
        matches!(self, Profile::V8MBaseline | Profile::V8MMainline)
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Profile::V6M => "ARMv6-M",
            Profile::V7M => "ARMv7-M",
            Profile::V8MBaseline => "ARMv8-M Baseline",
            Profile::V8MMainline => "ARMv8-M Mainline",
        })
    }
}

/// A decoded CPUID register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CpuId {
    pub raw: u32,
    /// Implementer code: 0x41 is ARM.
    pub implementer: u8,
    pub variant: u8,
    /// CPUID.ARCHITECTURE: 0xC for ARMv6-M, 0xF for ARMv7-M and ARMv8-M.
    pub architecture: u8,
    pub partno: u16,
    pub revision: u8,
    pub core: Core,
    /// From the part number, or from the architecture field when the part is unknown
    /// (0xF then reads as ARMv7-M, the older of the two it could be).
    pub profile: Option<Profile>,
}

impl CpuId {
    /// Decodes any 32-bit value; an unknown part gives `Core::Unknown`.
    pub fn decode(raw: u32) -> CpuId {
        let implementer = (raw >> 24) as u8;
        let partno = ((raw >> 4) & 0xFFF) as u16;
        let architecture = ((raw >> 16) & 0xF) as u8;
        let core = if implementer == 0x41 {
            Core::from_partno(partno)
        } else {
            Core::Unknown { partno }
        };
        let profile = core.profile().or(match architecture {
            0xC => Some(Profile::V6M),
            0xF => Some(Profile::V7M),
            _ => None,
        });
        CpuId {
            raw,
            implementer,
            variant: ((raw >> 20) & 0xF) as u8,
            architecture,
            partno,
            revision: (raw & 0xF) as u8,
            core,
            profile,
        }
    }
}

impl fmt::Display for CpuId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} r{}p{}", self.core, self.variant, self.revision)?;
        if let Some(p) = self.profile {
            write!(f, " ({p})")?;
        }
        Ok(())
    }
}

/// What floating-point hardware MVFR0 reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Fpu {
    None,
    SinglePrecision,
    DoublePrecision,
}

impl Fpu {
    /// From MVFR0 (0xE000EF40); reads as 0 where no FPU is implemented.
    pub fn from_mvfr0(mvfr0: u32) -> Fpu {
        let sp = (mvfr0 >> fpu::MVFR0_SP_SHIFT) & 0xF;
        let dp = (mvfr0 >> fpu::MVFR0_DP_SHIFT) & 0xF;
        if dp != 0 {
            Fpu::DoublePrecision
        } else if sp != 0 {
            Fpu::SinglePrecision
        } else {
            Fpu::None
        }
    }

    pub fn is_present(self) -> bool {
        self != Fpu::None
    }
}

impl fmt::Display for Fpu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Fpu::None => "no FPU",
            Fpu::SinglePrecision => "single-precision FPU",
            Fpu::DoublePrecision => "double-precision FPU",
        })
    }
}

/// Access that CPACR grants to the FPU (CP10; CP11 must match).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FpAccess {
    /// FP instructions fault with UsageFault NOCP.
    Denied,
    Privileged,
    Full,
    /// CP10 and CP11 differ or hold the reserved value: behaviour is unpredictable.
    Inconsistent,
}

impl FpAccess {
    /// From CPACR (0xE000ED88). On a core without FPU these bits read as zero.
    pub fn from_cpacr(cpacr: u32) -> FpAccess {
        let cp10 = (cpacr >> scb::CPACR_CP10_SHIFT) & 0x3;
        let cp11 = (cpacr >> scb::CPACR_CP11_SHIFT) & 0x3;
        match (cp10, cp11) {
            (0, 0) => FpAccess::Denied,
            (1, 1) => FpAccess::Privileged,
            (3, 3) => FpAccess::Full,
            _ => FpAccess::Inconsistent,
        }
    }

    pub fn is_enabled(self) -> bool {
        matches!(self, FpAccess::Privileged | FpAccess::Full)
    }
}

impl fmt::Display for FpAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FpAccess::Denied => "FPU access denied (CPACR CP10/CP11 = 0)",
            FpAccess::Privileged => "FPU access privileged only",
            FpAccess::Full => "FPU access full",
            FpAccess::Inconsistent => "FPU access inconsistent (CP10 != CP11)",
        })
    }
}
