//! Call-stack unwinding through every exception level.
//!
//! Stages, per physical frame (see docs/ARCHITECTURE.md):
//! 1. symbolize the PC (inline chain from DWARF, else the symbol table);
//! 2. find the caller with DWARF CFI (`cfi`), or, without CFI, a labelled heuristic
//!    (`heuristic`: prologue analysis, then a stack scan for BL/BLX return addresses);
//! 3. if the return address is an EXC_RETURN, read the stacked frame from the stack it
//!    names (the model decodes frame type, padding, lazy FP, v8-M state context) and
//!    continue in the interrupted context; if a handler overwrote LR, recover the frame
//!    from the stacked state;
//! 4. stop with a reason (reset handler, LR = 0xFFFFFFFF, loop, SP outside RAM, ...).
//!
//! Memory is read through a block cache (`memory`); the result is a plain value.

mod cfi;
mod engine;
mod heuristic;
mod memory;
mod output;
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
