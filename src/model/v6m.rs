//! ARMv6-M (and ARMv8-M Baseline) HardFaults, which have no fault status
//! registers: the instruction at the stacked PC, decoded with yaxpeax-arm, and
//! the stacked registers say what the core was doing.
//!
//! Findings: unaligned load/store (the address is computed from the decoded
//! base and offset), an access outside every known memory region, BKPT without
//! a debugger, an SVC that could not be taken, an undefined instruction.

use std::fmt;

use serde::Serialize;
use yaxpeax_arch::{Decoder, U8Reader};
use yaxpeax_arm::armv7::{DecodeError, InstDecoder, Instruction, Opcode, Operand};

pub use super::thumb_access::{Access, access_of};

use super::arch::Profile;
use super::frame::StackedFrame;

/// What a memory region holds, as far as fault analysis cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RegionKind {
    Flash,
    Ram,
    Peripheral,
    Other,
}

impl fmt::Display for RegionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RegionKind::Flash => "flash",
            RegionKind::Ram => "RAM",
            RegionKind::Peripheral => "peripheral",
            RegionKind::Other => "other",
        })
    }
}

/// A range of addresses with memory or devices behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MemoryRegion {
    pub start: u32,
    pub len: u32,
    pub kind: RegionKind,
}

impl MemoryRegion {
    /// `[address, address + len)` lies inside this region.
    pub fn contains_range(&self, address: u32, len: u32) -> bool {
        let (start, end) = (
            u64::from(self.start),
            u64::from(self.start) + u64::from(self.len),
        );
        let a = u64::from(address);
        a >= start && a + u64::from(len) <= end
    }
}

/// R0-R15 of the faulting context, each known or not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CoreRegisters {
    pub r: [Option<u32>; 16],
}

impl CoreRegisters {
    /// R0-R3, R12, LR, PC from the frame; SP = the interrupted SP; R4-R11 from the
    /// live registers (unchanged on HardFault entry) when the caller has them.
    pub fn from_frame(frame: &StackedFrame, r4_r11: Option<[u32; 8]>) -> CoreRegisters {
        let mut r = frame.interrupted_registers();
        if let Some(hi) = r4_r11 {
            for (i, v) in hi.into_iter().enumerate() {
                r[4 + i] = Some(v);
            }
        }
        CoreRegisters { r }
    }
}

/// What can be known about SVC's priority at the time of the fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SvcPriorityContext {
    pub primask: bool,
    /// Priority byte of SVCall (SHPR2`[31:24]`).
    pub svc_priority: u8,
    /// Priority of the code that executed the SVC: the stacked IPSR's exception
    /// (-1 HardFault, -2 NMI), 256 for thread mode.
    pub current_priority: i16,
}

/// Everything the analysis looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct V6mInput<'a> {
    pub profile: Profile,
    /// The bytes at the stacked PC (2, or 4 for a 32-bit instruction); `None` if unreadable.
    pub instruction: Option<&'a [u8]>,
    /// The halfword at stacked PC - 2, to recognise an SVC that escalated.
    pub previous_halfword: Option<u16>,
    pub registers: CoreRegisters,
    /// Known memory; empty means "unknown", and no region check is made.
    pub regions: &'a [MemoryRegion],
    /// DHCSR.C_DEBUGEN at the time, if known.
    pub debugger_attached: Option<bool>,
    pub svc: Option<SvcPriorityContext>,
}

/// Why an instruction is undefined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum UndefinedReason {
    /// The decoder rejects the encoding (or does not support it: yaxpeax-arm
    /// leaves some coprocessor encodings undecoded, none of which exist on ARMv6-M).
    NotAnInstruction,
    /// A UDF (permanently undefined) instruction, e.g. a Rust `panic` trap or `udf` in an abort path.
    Udf { imm: u32 },
    /// A valid ARMv7-M instruction that ARMv6-M lacks (Thumb-2 or CBZ/IT): code built for the wrong core.
    NotInArmv6m,
}

/// One thing the analysis found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum V6mFinding {
    /// ARMv6-M faults on every unaligned halfword or word access.
    UnalignedAccess {
        access: Access,
    },
    /// The access touches no known memory region.
    OutsideMemory {
        access: Access,
    },
    /// The access is aligned and inside a known region: the cause is elsewhere
    /// (a peripheral without clock, a protected region, an MPU fault).
    AccessInKnownMemory {
        access: Access,
        kind: RegionKind,
    },
    /// The address needs a register whose value is unknown.
    AddressUnknown {
        register: u8,
    },
    /// The stacked PC itself is outside every known region, odd, or unreadable: a bad branch.
    BadFetch {
        pc: u32,
    },
    /// BKPT with no debugger to take it: escalates to HardFault.
    BreakpointWithoutDebugger {
        imm: u8,
    },
    /// SVC executed where SVCall could not be taken (PRIMASK set, or not above the current priority).
    SvcCannotBeTaken {
        number: u8,
        primask: Option<bool>,
        svc_priority: Option<u8>,
        current_priority: Option<i16>,
    },
    UndefinedInstruction {
        reason: UndefinedReason,
    },
    /// The bytes given end inside a 32-bit instruction: read 4 bytes at the PC.
    NeedMoreBytes,
    /// The instruction neither accesses memory nor explains the fault by itself.
    NoExplanation,
}

impl fmt::Display for V6mFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dir = |a: &Access| if a.write { "write" } else { "read" };
        match self {
            V6mFinding::UnalignedAccess { access: a } => write!(
                f,
                "unaligned {}-byte {} at {:#010x}: ARMv6-M faults on every unaligned access",
                a.size,
                dir(a),
                a.address
            ),
            V6mFinding::OutsideMemory { access: a } => write!(
                f,
                "{} of {} bytes at {:#010x} is outside every known memory region (bad pointer?)",
                dir(a),
                a.len(),
                a.address
            ),
            V6mFinding::AccessInKnownMemory { access: a, kind } => write!(
                f,
                "{} at {:#010x} is aligned and inside {kind} memory: check peripheral clocks and protection",
                dir(a),
                a.address
            ),
            V6mFinding::AddressUnknown { register } => {
                write!(
                    f,
                    "the address depends on r{register}, whose value is not known"
                )
            }
            V6mFinding::BadFetch { pc } => {
                write!(
                    f,
                    "the stacked PC {pc:#010x} is not executable memory: a bad branch or return"
                )
            }
            V6mFinding::BreakpointWithoutDebugger { imm } => write!(
                f,
                "BKPT #{imm} executed with no debugger attached (semihosting call or assertion?)"
            ),
            V6mFinding::SvcCannotBeTaken {
                number, primask, ..
            } => {
                write!(f, "SVC #{number} could not be taken")?;
                if *primask == Some(true) {
                    f.write_str(" (PRIMASK set)")?;
                }
                f.write_str(": SVCall must be more urgent than the code calling it")
            }
            V6mFinding::UndefinedInstruction { reason } => match reason {
                UndefinedReason::NotAnInstruction => {
                    f.write_str("undefined instruction: data executed as code?")
                }
                UndefinedReason::Udf { imm } => {
                    write!(f, "UDF #{imm}: a deliberate trap (panic or abort)")
                }
                UndefinedReason::NotInArmv6m => {
                    f.write_str("instruction not available on ARMv6-M: code built for another core")
                }
            },
            V6mFinding::NeedMoreBytes => {
                f.write_str("a 32-bit instruction: 4 bytes at the stacked PC are needed")
            }
            V6mFinding::NoExplanation => {
                f.write_str("the instruction at the stacked PC does not explain the fault")
            }
        }
    }
}

/// The result of [`analyze`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct V6mAnalysis {
    pub pc: Option<u32>,
    /// The decoded instruction as text, e.g. "ldr r0, [r1, 0x4]".
    pub disassembly: Option<String>,
    pub findings: Vec<V6mFinding>,
}

/// Decodes one Thumb instruction from the start of `bytes`.
pub fn decode_thumb(bytes: &[u8]) -> Result<Instruction, DecodeError> {
    let mut reader = U8Reader::new(bytes);
    InstDecoder::default_thumb().decode(&mut reader)
}

/// Explains a HardFault on a core without fault status registers.
pub fn analyze(input: &V6mInput<'_>) -> V6mAnalysis {
    let pc = input.registers.r[15];
    let mut findings = Vec::new();
    let fetch_ok = pc.is_none_or(|pc| {
        pc % 2 == 0
            && (input.regions.is_empty() || input.regions.iter().any(|r| r.contains_range(pc, 2)))
    });
    let Some(bytes) = input.instruction.filter(|_| fetch_ok) else {
        findings.push(V6mFinding::BadFetch {
            pc: pc.unwrap_or(0),
        });
        return V6mAnalysis {
            pc,
            disassembly: None,
            findings,
        };
    };
    let inst = match decode_thumb(bytes) {
        Ok(inst) => inst,
        Err(DecodeError::ExhaustedInput) => {
            findings.push(V6mFinding::NeedMoreBytes);
            return V6mAnalysis {
                pc,
                disassembly: None,
                findings,
            };
        }
        Err(_) => {
            findings.push(V6mFinding::UndefinedInstruction {
                reason: UndefinedReason::NotAnInstruction,
            });
            return V6mAnalysis {
                pc,
                disassembly: None,
                findings,
            };
        }
    };
    let disassembly = Some(inst.to_string());
    let imm = match inst.operands[0] {
        Operand::Imm32(v) => v,
        _ => 0,
    };
    match inst.opcode {
        Opcode::UDF => findings.push(V6mFinding::UndefinedInstruction {
            reason: UndefinedReason::Udf { imm },
        }),
        Opcode::BKPT => {
            if input.debugger_attached != Some(true) {
                findings.push(V6mFinding::BreakpointWithoutDebugger { imm: imm as u8 });
            }
        }
        Opcode::SVC => findings.push(svc_finding(imm as u8, input.svc)),
        _ if input.profile == Profile::V6M && !in_armv6m(&inst) => {
            findings.push(V6mFinding::UndefinedInstruction {
                reason: UndefinedReason::NotInArmv6m,
            })
        }
        _ => match access_of(&inst, &input.registers) {
            Some(Ok(access)) => check_access(access, input.regions, &mut findings),
            Some(Err(register)) => findings.push(V6mFinding::AddressUnknown { register }),
            None => {}
        },
    }
    if findings.is_empty() {
        match input.previous_halfword.and_then(super::svc::svc_number) {
            Some(number) => findings.push(svc_finding(number, input.svc)),
            None => findings.push(V6mFinding::NoExplanation),
        }
    }
    V6mAnalysis {
        pc,
        disassembly,
        findings,
    }
}

fn svc_finding(number: u8, ctx: Option<SvcPriorityContext>) -> V6mFinding {
    V6mFinding::SvcCannotBeTaken {
        number,
        primask: ctx.map(|c| c.primask),
        svc_priority: ctx.map(|c| c.svc_priority),
        current_priority: ctx.map(|c| c.current_priority),
    }
}

fn check_access(access: Access, regions: &[MemoryRegion], findings: &mut Vec<V6mFinding>) {
    if !access.is_aligned() {
        findings.push(V6mFinding::UnalignedAccess { access });
    }
    if regions.is_empty() {
        return;
    }
    match regions
        .iter()
        .find(|r| r.contains_range(access.address, access.len()))
    {
        None => findings.push(V6mFinding::OutsideMemory { access }),
        Some(r) if access.is_aligned() => findings.push(V6mFinding::AccessInKnownMemory {
            access,
            kind: r.kind,
        }),
        Some(_) => {}
    }
}

/// Thumb-2 is absent on ARMv6-M apart from a few 32-bit system instructions.
fn in_armv6m(inst: &Instruction) -> bool {
    if inst.wide {
        return matches!(
            inst.opcode,
            Opcode::BL
                | Opcode::MSR
                | Opcode::MRS
                | Opcode::DMB
                | Opcode::DSB
                | Opcode::ISB
                | Opcode::UDF
        );
    }
    !matches!(inst.opcode, Opcode::CBZ | Opcode::CBNZ | Opcode::IT)
}
