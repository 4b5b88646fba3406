//! One entry per fault status bit: its ARM name, the register it lives in, and
//! what to tell a person: what happened, what it usually means, what to do next.

use std::fmt;

use serde::{Serialize, Serializer};

/// The register (or CFSR sub-register) a status bit lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultRegister {
    Mmfsr,
    Bfsr,
    Ufsr,
    Hfsr,
    Dfsr,
    Sfsr,
    Abfsr,
}

impl FaultRegister {
    pub fn name(self) -> &'static str {
        match self {
            FaultRegister::Mmfsr => "MMFSR",
            FaultRegister::Bfsr => "BFSR",
            FaultRegister::Ufsr => "UFSR",
            FaultRegister::Hfsr => "HFSR",
            FaultRegister::Dfsr => "DFSR",
            FaultRegister::Sfsr => "SFSR",
            FaultRegister::Abfsr => "ABFSR",
        }
    }
}

impl fmt::Display for FaultRegister {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for FaultRegister {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Text for one status bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FaultCause {
    /// The ARM name, e.g. "PRECISERR".
    pub name: &'static str,
    pub register: FaultRegister,
    /// Bit position in the full 32-bit register (CFSR for MMFSR/BFSR/UFSR).
    pub bit: u8,
    /// What happened.
    pub summary: &'static str,
    /// What it usually means.
    pub meaning: &'static str,
    /// What to do next.
    pub action: &'static str,
}

impl fmt::Display for FaultCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}: {}", self.register, self.name, self.summary)
    }
}

const fn c(
    register: FaultRegister,
    bit: u8,
    name: &'static str,
    summary: &'static str,
    meaning: &'static str,
    action: &'static str,
) -> FaultCause {
    FaultCause {
        name,
        register,
        bit,
        summary,
        meaning,
        action,
    }
}

use FaultRegister::{Abfsr, Bfsr, Dfsr, Hfsr, Mmfsr, Sfsr, Ufsr};

/// Every status bit the model knows, in register then bit order.
#[rustfmt::skip]
pub const CAUSES: &[FaultCause] = &[
    c(Mmfsr, 0, "IACCVIOL", "instruction fetch from a location the MPU (or XN default map) forbids",
      "execution jumped into data, peripheral or never-execute memory: a corrupted function pointer or return address, or an MPU region set up without execute permission",
      "look at the stacked PC (it is the forbidden address) and at the LR to see who branched there; check the MPU region covering it"),
    c(Mmfsr, 1, "DACCVIOL", "data access to a location the MPU forbids",
      "a load or store through a bad pointer, or into a region the MPU protects (null page, stack guard, privileged-only memory)",
      "MMFAR holds the address if MMARVALID is set; the stacked PC is the faulting instruction"),
    c(Mmfsr, 3, "MUNSTKERR", "MemManage fault while unstacking on exception return",
      "the stack pointer was changed or the stack region was reprotected while the handler ran",
      "check the handler for stack pointer manipulation and the MPU setup of the stack region"),
    c(Mmfsr, 4, "MSTKERR", "MemManage fault while stacking on exception entry",
      "the stack pointer ran into an MPU-protected region: with SP near a RAM boundary or guard region this is a stack overflow",
      "compare the SP with the stack bounds; enlarge the stack or find the deep recursion or large local buffer"),
    c(Mmfsr, 5, "MLSPERR", "MemManage fault during lazy floating-point state preservation",
      "the space reserved for the FP context (FPCAR) is no longer accessible, usually a stack overflow or an MPU change",
      "check FPCAR against the stack bounds and MPU regions"),
    c(Mmfsr, 7, "MMARVALID", "MMFAR holds the faulting data address",
      "the address in MMFAR is the one the MPU rejected",
      "look up MMFAR in the memory map and symbol table"),
    c(Bfsr, 8, "IBUSERR", "bus error on an instruction fetch",
      "code was fetched from an address with no memory behind it, or a branch went to an invalid address",
      "the stacked PC is the bad fetch address; check the LR and function pointers that led there"),
    c(Bfsr, 9, "PRECISERR", "precise bus error on a data access",
      "a load or store reached an address with no device behind it, a disabled peripheral clock, or a protected bus region",
      "BFAR holds the address if BFARVALID is set; the stacked PC is the faulting instruction"),
    c(Bfsr, 10, "IMPRECISERR", "imprecise bus error on a buffered write",
      "a write through the write buffer failed later: the stacked PC is past the culprit instruction and BFAR does not hold the address",
      "set ACTLR.DISDEFWBUF (bit 1, 0xE000E008) to make bus faults precise at some speed cost, reproduce, and read the exact PC and BFAR"),
    c(Bfsr, 11, "UNSTKERR", "bus error while unstacking on exception return",
      "the stack pointer was corrupted in the handler or the stack memory became inaccessible",
      "check the handler for stack pointer manipulation"),
    c(Bfsr, 12, "STKERR", "bus error while stacking on exception entry",
      "the stack pointer points outside RAM: with SP near a RAM boundary this is a stack overflow; otherwise a corrupted SP",
      "compare the SP with the RAM bounds and the stack size in the linker script"),
    c(Bfsr, 13, "LSPERR", "bus error during lazy floating-point state preservation",
      "the space reserved for the FP context (FPCAR) is not accessible memory any more",
      "check FPCAR against the RAM bounds; likely a stack overflow"),
    c(Bfsr, 15, "BFARVALID", "BFAR holds the faulting data address",
      "the address in BFAR is the one the bus rejected",
      "look up BFAR in the memory map: unmapped, a peripheral whose clock is off, or a null-pointer offset"),
    c(Ufsr, 16, "UNDEFINSTR", "undefined instruction",
      "the core executed something that is not an instruction for it: data executed as code, a corrupted return address, or code built for another architecture (e.g. Cortex-M4 code on a Cortex-M0)",
      "disassemble at the stacked PC; check the build's target and how execution got there"),
    c(Ufsr, 17, "INVSTATE", "invalid state: execution attempted with EPSR.T = 0",
      "a branch to an address without the Thumb bit (bit 0) set: a corrupted function pointer or return address, or a vector table entry with bit 0 clear",
      "look at the stacked PC and LR: the target of the bad branch is usually an even address; check function pointers and the vector table"),
    c(Ufsr, 18, "INVPC", "invalid PC load on exception return",
      "an illegal EXC_RETURN value was used, or the stacked state did not match it: LR corrupted in a handler, or a stack mismatch",
      "check how the handler returns and whether it preserves LR"),
    c(Ufsr, 19, "NOCP", "coprocessor (FPU) instruction executed while the coprocessor is disabled or absent",
      "floating-point code ran with CPACR CP10/CP11 off (0xE000ED88), or on a core without FPU",
      "enable the FPU in CPACR before any FP instruction (SystemInit), or build for a soft-float target"),
    c(Ufsr, 20, "STKOF", "stack overflow: a stack limit register (MSPLIM/PSPLIM) was hit",
      "the stack grew past its configured limit",
      "enlarge that stack or reduce its use; the stacked PC is where it overflowed"),
    c(Ufsr, 24, "UNALIGNED", "unaligned memory access",
      "a multi-word or exclusive access at an unaligned address, or any unaligned access with CCR.UNALIGN_TRP set: often a packed struct or a cast byte pointer",
      "decode the instruction at the stacked PC and its base register; align the data or use byte copies"),
    c(Ufsr, 25, "DIVBYZERO", "integer division by zero with CCR.DIV_0_TRP set",
      "an SDIV/UDIV had a zero divisor",
      "the stacked PC is the division; check the divisor's origin"),
    c(Hfsr, 1, "VECTTBL", "bus error reading a vector table entry",
      "VTOR points at the wrong place, or the table is shorter than the exception number taken",
      "check VTOR and the vector table contents for the active exception"),
    c(Hfsr, 30, "FORCED", "a configurable fault escalated to HardFault",
      "its handler is disabled, or it could not preempt (masked or priority not high enough), or it happened inside a fault handler",
      "read the CFSR bits that are set: they name the original fault"),
    c(Hfsr, 31, "DEBUGEVT", "a debug event escalated to HardFault",
      "a BKPT executed with no debugger attached (or halting debug disabled)",
      "remove the BKPT (often a semihosting call or an assertion) or attach a debugger"),
    c(Dfsr, 0, "HALTED", "halted by a debugger request or a step",
      "the debugger stopped the core", "none"),
    c(Dfsr, 1, "BKPT", "breakpoint (BKPT instruction or FPB match)",
      "execution reached a breakpoint", "none, unless no breakpoint was expected here"),
    c(Dfsr, 2, "DWTTRAP", "a DWT watchpoint or comparator matched",
      "a watched address was accessed", "inspect the watchpoint configuration"),
    c(Dfsr, 3, "VCATCH", "vector catch: the core halted on entry to a fault or reset handler",
      "DEMCR.VC_* caught an exception before its handler ran; the fault registers are fresh",
      "decode the fault status registers now"),
    c(Dfsr, 4, "EXTERNAL", "external debug request (EDBGRQ)",
      "another core or a trigger halted this one", "none"),
    c(Dfsr, 5, "PMU", "PMU counter overflow debug event (ARMv8.1-M)",
      "a performance counter configured to halt overflowed", "none"),
    c(Sfsr, 0, "INVEP", "invalid Secure entry point",
      "non-secure code called a secure address that is not an SG instruction in NSC memory",
      "call secure code only through its veneers; check the SAU/IDAU NSC regions"),
    c(Sfsr, 1, "INVIS", "invalid integrity signature on exception return",
      "the additional state context on the secure stack was corrupted",
      "look for secure stack corruption"),
    c(Sfsr, 2, "INVER", "invalid exception return",
      "EXC_RETURN.DCRS was 0 when returning from non-secure to secure, or the return was otherwise inconsistent",
      "check how the non-secure handler returns"),
    c(Sfsr, 3, "AUVIOL", "attribution unit violation",
      "non-secure code accessed secure memory",
      "SFAR holds the address if SFARVALID is set; check the SAU setup and the pointer"),
    c(Sfsr, 4, "INVTRAN", "invalid transition from secure to non-secure without BLXNS/BXNS",
      "a secure branch landed in non-secure memory without a non-secure branch instruction",
      "check secure function pointers that point into non-secure code"),
    c(Sfsr, 5, "LSPERR", "SAU or IDAU violation during lazy FP state preservation",
      "the reserved FP context space is not in the expected security domain",
      "check FPCAR and the stack it belongs to"),
    c(Sfsr, 6, "SFARVALID", "SFAR holds the faulting address",
      "the address in SFAR is the one the security check rejected",
      "look up SFAR in the memory map"),
    c(Sfsr, 7, "LSERR", "error during lazy FP state activation or deactivation",
      "an FP state transition across security states failed",
      "check FPCCR security configuration"),
    c(Abfsr, 0, "ITCM", "asynchronous fault on the ITCM interface",
      "a buffered access to instruction TCM failed", "check the ITCM address range"),
    c(Abfsr, 1, "DTCM", "asynchronous fault on the DTCM interface",
      "a buffered access to data TCM failed", "check the DTCM address range"),
    c(Abfsr, 2, "AHBP", "asynchronous fault on the AHB peripheral interface",
      "a buffered peripheral write failed: peripheral clock off or unmapped address",
      "check peripheral clocks and addresses"),
    c(Abfsr, 3, "AXIM", "asynchronous fault on the AXI master interface",
      "a buffered write to memory on AXI failed; AXIMTYPE gives the response",
      "check external memory setup and the MPU attributes of the region"),
    c(Abfsr, 4, "EPPB", "asynchronous fault on the external private peripheral bus",
      "a buffered PPB write failed", "check the PPB address"),
];

/// The entry for the bit at `bit` of `register`, if it is a known status bit.
pub fn lookup(register: FaultRegister, bit: u8) -> Option<&'static FaultCause> {
    CAUSES
        .iter()
        .find(|c| c.register == register && c.bit == bit)
}
