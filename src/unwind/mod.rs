//! Call-stack unwinding through every exception level.
//!
//! Stages, per physical frame:
//! 1. symbolize the PC (inline chain from DWARF, else the symbol table); a caller's
//!    return address is looked up at `ra - 1` (the call), an exact PC (the innermost
//!    frame, or one restored from an exception frame) as is;
//! 2. find the caller with DWARF CFI (`cfi`: FDEs of `.debug_frame` and `.eh_frame`
//!    indexed once, sorted, binary search), or, without CFI, a labelled heuristic
//!    (`heuristic`: PC outside code -> return through LR; Thumb prologue analysis of
//!    PUSH/STR LR/SUB SP/VPUSH; then a stack scan for a return address that follows a
//!    BL/BLX or an EXC_RETURN). Every heuristic step is named in the frame's `method`
//!    and in the warnings;
//! 3. if the return address is an EXC_RETURN (`model::exc_return`), read the stacked
//!    frame from the stack it names: MSP frames at the handler's unwound SP (its CFA),
//!    PSP frames at the live PSP (the only PSP frame is the one thread mode pushed;
//!    handler-to-handler returns are always on MSP), v8-M frames of the other security
//!    state at the banked `msp_s`/`msp_ns`/`psp_s`/`psp_ns`. `model::frame` decodes it
//!    (frame type, alignment pad, lazy FP from FPCCR/FPCAR read from the target, state
//!    context), and the interrupted context continues with the stacked R0-R3, R12, LR,
//!    PC, xPSR, SP = `interrupted_sp`, R4-R11 from the handler's CFI (or the state
//!    context), S0-S15 from the frame (or the live FPU while lazy stacking is pending);
//! 4. stop with a [`Termination`]: reset handler, LR = 0xFFFFFFFF, CFI-undefined return
//!    address, repeated (PC, SP), SP going backwards, SP outside RAM or above the stack
//!    top, unreadable memory, depth limit, invalid return address, no unwind info.
//!
//! **Overwritten EXC_RETURN (cortex-m-rt HardFault, `-> !` handlers).** Rule: while
//! unwinding in handler mode (IPSR != 0), a frame whose function is the current
//! exception's entry function (its vector-table target, or the cortex-m-rt name of the
//! exception: `HardFault`, `SysTick`, `DefaultHandler`...) must return to an EXC_RETURN.
//! If its unwound return address is not one (or is unknown, or not in code), the
//! firmware overwrote LR: the stacked frame is looked for at that function's CFA on the
//! MSP, then at the live PSP, and accepted if plausible (xPSR.T set, stacked PC in code,
//! stacked IPSR different from the current exception, PSP frames only for thread mode).
//! The EXC_RETURN is synthesized from what was found (basic frame unless FPCAR shows a
//! pending lazy frame there) and the exception entry is marked `recovered`, with a
//! warning. A deeper callee must unwind to the entry function first, so the CFA used is
//! exact.
//!
//! **Stack overflow.** After unwinding, the lowest SP seen on the main stack is compared
//! with the stack region (linker symbols) and the RAM block holding it, and CFSR.STKERR/
//! MSTKERR is read: the report gives the boundary crossed, by how many bytes, and the
//! function that repeats most among the return addresses still on the stack (heuristic).
//! That scan starts just above the lowest SP and widens only while the recursion goes on,
//! up to 8 KiB (`heuristic::scan_recursion`): a count cut short there is a lower bound
//! (`Recursion::at_least`, "at least N times" in the explanation).
//!
//! Memory is read through a block cache (`memory`: 256-byte aligned chunks, whole
//! frames prefetched, failures remembered); the result is a plain `Serialize` value.

mod cfi;
mod engine;
mod heuristic;
mod memory;
mod output;
mod pc;
mod regs;

pub use output::{Backtrace, ExceptionEntry, Frame, FunctionFrame, Recursion, StackOverflow, Termination, UnwindMethod};
pub use regs::RegisterSet;

use crate::debuginfo::Image;
use crate::model::arch::{CpuId, Profile};
use crate::model::regs::scb;
use crate::target::{Registers, Target, TargetError};

/// What the unwinder may assume and how far it may go.
#[derive(Clone, Debug)]
pub struct UnwindOptions {
    /// Maximum number of output frames.
    pub max_depth: usize,
    /// The architecture profile; read from CPUID when `None`.
    pub profile: Option<Profile>,
    /// Registers to start from instead of reading the target's (e.g. a saved context).
    pub registers: Option<Registers>,
}

impl Default for UnwindOptions {
    fn default() -> Self {
        Self { max_depth: 256, profile: None, registers: None }
    }
}

/// Unwinding failed before a single frame could be produced.
#[derive(Debug, thiserror::Error)]
pub enum UnwindError {
    #[error("cannot read the core registers: {0}")]
    Registers(#[source] TargetError),
}

/// An unwinder for one image. Building it indexes the image's CFI once; keep it for
/// many unwinds.
pub struct Unwinder<'i> {
    image: &'i Image,
    cfi: cfi::CfiIndex,
}

impl<'i> Unwinder<'i> {
    pub fn new(image: &'i Image) -> Self {
        Self { image, cfi: cfi::CfiIndex::new(image) }
    }

    /// Number of FDEs indexed from `.debug_frame` and `.eh_frame`.
    pub fn fde_count(&self) -> usize {
        self.cfi.len()
    }

    /// Unwinds the halted core behind `target`, innermost frame first.
    pub fn unwind(&mut self, target: &mut dyn Target, opts: &UnwindOptions) -> Result<Backtrace, UnwindError> {
        let live = match &opts.registers {
            Some(r) => r.clone(),
            None => target.read_registers().map_err(UnwindError::Registers)?,
        };
        let mut mem = memory::Memory::new(target);
        let mut warnings: Vec<String> = self.cfi.warnings.clone();
        if self.cfi.is_empty() {
            warnings.push("the image has no CFI (.debug_frame/.eh_frame): every frame is found by heuristics".into());
        }
        let profile = match opts.profile {
            Some(p) => p,
            None => match mem.read_u32(scb::CPUID).map(CpuId::decode).and_then(|c| c.profile) {
                Some(p) => p,
                None => {
                    warnings.push("could not identify the core from CPUID: assuming ARMv7-M".into());
                    Profile::V7M
                }
            },
        };
        let engine = engine::Engine::new(self.image, &mut self.cfi, mem, profile, live, opts);
        Ok(engine.run(warnings))
    }
}

/// Convenience: index `image`'s CFI and unwind once.
pub fn unwind(image: &Image, target: &mut dyn Target, opts: &UnwindOptions) -> Result<Backtrace, UnwindError> {
    Unwinder::new(image).unwind(target, opts)
}
