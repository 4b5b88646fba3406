//! ARMv6-M (and ARMv8-M Baseline) HardFaults in the report: these cores have no fault
//! status registers, so the instruction at the stacked PC is read (one 6-byte read from
//! PC - 2: the instruction and the halfword before it, for an SVC that escalated) and
//! explained by `model::v6m`. This module does the reads and maps the model's findings
//! to the report's stable codes; the reasoning stays in the model.

use crate::debuginfo::{Image, RegionKind as ImageRegionKind};
use crate::model::arch::Profile;
use crate::model::exception::ExceptionNumber;
use crate::model::frame::StackedFrame;
use crate::model::regs::ScbBlock;
use crate::model::v6m::{self, CoreRegisters, MemoryRegion, RegionKind, SvcPriorityContext, V6mFinding, V6mInput};
use crate::target::Target;

use super::live;
use super::{V6mExplanation, V6mFindingSummary};

/// What the report knows around the fault, besides the target.
pub(super) struct V6mContext<'a> {
    pub profile: Profile,
    pub image: Option<&'a Image>,
    /// The innermost exception frame (pushed on HardFault entry).
    pub frame: &'a StackedFrame,
    /// R4-R11 of the interrupted context, when the unwinder recovered them.
    pub r4_r11: Option<[u32; 8]>,
    pub scb: Option<&'a ScbBlock>,
    pub primask: Option<bool>,
}

/// Reads the faulting instruction and explains the HardFault.
pub(super) fn explain(target: &mut dyn Target, ctx: &V6mContext<'_>) -> V6mExplanation {
    let pc = ctx.frame.pc;
    let (instruction, previous_halfword) = read_instruction(target, pc);
    let regions = regions(ctx.image);
    let svc = ctx.scb.map(|scb| SvcPriorityContext {
        primask: ctx.primask.unwrap_or(false),
        // SHPR2[31:24]: SVCall's priority.
        svc_priority: (scb.shpr[1] >> 24) as u8,
        current_priority: current_priority(target, scb, ctx.frame.interrupted_exception()),
    });
    let input = V6mInput {
        profile: ctx.profile,
        instruction: instruction.as_deref(),
        previous_halfword,
        registers: CoreRegisters::from_frame(ctx.frame, ctx.r4_r11),
        regions: &regions,
        debugger_attached: None,
        svc,
    };
    let analysis = v6m::analyze(&input);
    V6mExplanation {
        pc: analysis.pc,
        instruction: analysis.disassembly,
        findings: analysis.findings.iter().map(summarize).collect(),
    }
}

/// The bytes at `pc` (4 if readable, else 2) and the halfword before it.
fn read_instruction(target: &mut dyn Target, pc: u32) -> (Option<Vec<u8>>, Option<u16>) {
    let mut six = [0u8; 6];
    if pc >= 2 && target.read_memory(pc - 2, &mut six).is_ok() {
        return (Some(six[2..].to_vec()), Some(u16::from_le_bytes([six[0], six[1]])));
    }
    // PC at the start or end of a region: fall back to what can be read.
    for len in [4usize, 2] {
        let mut bytes = vec![0u8; len];
        if target.read_memory(pc, &mut bytes).is_ok() {
            return (Some(bytes), None);
        }
    }
    (None, None)
}

/// The ELF's memory map, plus the architecture's peripheral and system regions (an
/// aligned access there is not "outside every region"). Empty without an ELF: the
/// model then makes no region check.
fn regions(image: Option<&Image>) -> Vec<MemoryRegion> {
    let Some(image) = image else { return Vec::new() };
    let mut out: Vec<MemoryRegion> = image
        .memory_regions()
        .iter()
        .filter(|r| r.end > r.start)
        .map(|r| MemoryRegion {
            start: r.start,
            len: r.end - r.start,
            kind: match r.kind {
                ImageRegionKind::Flash => RegionKind::Flash,
                ImageRegionKind::Ram => RegionKind::Ram,
            },
        })
        .collect();
    if !out.is_empty() {
        // ARMv6-M system address map: Peripheral 0x40000000-0x5FFFFFFF, and the
        // Private Peripheral Bus (SCS, NVIC) at 0xE0000000-0xE00FFFFF.
        out.push(MemoryRegion { start: 0x4000_0000, len: 0x2000_0000, kind: RegionKind::Peripheral });
        out.push(MemoryRegion { start: 0xE000_0000, len: 0x0010_0000, kind: RegionKind::Peripheral });
    }
    out
}

/// The priority of the code that was running when the fault hit: -1 HardFault, -2
/// NMI, 256 thread mode, else its priority byte.
fn current_priority(target: &mut dyn Target, scb: &ScbBlock, interrupted: ExceptionNumber) -> i16 {
    if interrupted.is_thread() {
        return 256;
    }
    if let Some(p) = interrupted.fixed_priority() {
        return p;
    }
    live::priority_byte(target, scb, interrupted).map(i16::from).unwrap_or(256)
}

/// The stable code of each model finding.
pub(super) fn code(f: &V6mFinding) -> &'static str {
    match f {
        V6mFinding::UnalignedAccess { .. } => "unaligned-access",
        V6mFinding::OutsideMemory { .. } => "outside-memory",
        V6mFinding::AccessInKnownMemory { .. } => "access-in-known-memory",
        V6mFinding::AddressUnknown { .. } => "address-unknown",
        V6mFinding::BadFetch { .. } => "bad-fetch",
        V6mFinding::BreakpointWithoutDebugger { .. } => "breakpoint-without-debugger",
        V6mFinding::SvcCannotBeTaken { .. } => "svc-cannot-be-taken",
        V6mFinding::UndefinedInstruction { .. } => "undefined-instruction",
        V6mFinding::NeedMoreBytes => "need-more-bytes",
        V6mFinding::NoExplanation => "no-explanation",
    }
}

/// A short phrase for the summary sentence: the message up to its explanation.
fn headline(f: &V6mFinding) -> String {
    let dir = |write: bool| if write { "write" } else { "read" };
    match f {
        V6mFinding::UnalignedAccess { access: a } => {
            format!("unaligned {}-byte {} at {:#010x}", a.size, dir(a.write), a.address)
        }
        V6mFinding::OutsideMemory { access: a } => {
            format!("{} outside every known memory region at {:#010x}", dir(a.write), a.address)
        }
        V6mFinding::BadFetch { pc } => format!("bad branch or return to {pc:#010x}"),
        other => {
            let text = other.to_string();
            text.split(": ").next().unwrap_or(&text).to_string()
        }
    }
}

fn summarize(f: &V6mFinding) -> V6mFindingSummary {
    V6mFindingSummary { code: code(f).into(), message: f.to_string(), headline: headline(f) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::v6m::{Access, UndefinedReason};

    #[test]
    fn every_finding_has_a_distinct_kebab_case_code() {
        let a = Access { address: 0x2000_0009, size: 4, count: 1, write: false };
        let all = [
            V6mFinding::UnalignedAccess { access: a },
            V6mFinding::OutsideMemory { access: a },
            V6mFinding::AccessInKnownMemory { access: a, kind: RegionKind::Ram },
            V6mFinding::AddressUnknown { register: 3 },
            V6mFinding::BadFetch { pc: 1 },
            V6mFinding::BreakpointWithoutDebugger { imm: 0xab },
            V6mFinding::SvcCannotBeTaken { number: 1, primask: None, svc_priority: None, current_priority: None },
            V6mFinding::UndefinedInstruction { reason: UndefinedReason::NotInArmv6m },
            V6mFinding::NeedMoreBytes,
            V6mFinding::NoExplanation,
        ];
        let codes: std::collections::BTreeSet<&str> = all.iter().map(code).collect();
        assert_eq!(codes.len(), all.len());
        assert!(codes.iter().all(|c| c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '-')));
    }

    #[test]
    fn an_unaligned_read_reads_as_one_phrase() {
        let a = Access { address: 0x2000_0009, size: 4, count: 1, write: false };
        assert_eq!(headline(&V6mFinding::UnalignedAccess { access: a }), "unaligned 4-byte read at 0x20000009");
        assert_eq!(headline(&V6mFinding::NoExplanation), "the instruction at the stacked PC does not explain the fault");
    }
}
