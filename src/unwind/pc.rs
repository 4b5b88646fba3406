//! A frame's PC and the address its code is looked up at: the one rule for caller
//! frames, used for the symbol, the inline chain, file:line, the CFI row and every
//! "is this code" check.
//!
//! A PC is either the instruction the frame is at (the innermost frame; an interrupt's
//! stacked PC, the next instruction to run; a precise fault's stacked PC, the faulting
//! instruction) or the instruction after a call (a return address found by CFI or a
//! heuristic; SVCall's stacked PC, the instruction after `svc`). The second kind is
//! looked up at PC - 1, inside the call: when the call is a function's last
//! instruction (a call to a `-> !` function, a naked `svc` stub, the end of `.text`)
//! the PC itself belongs to the next function or to no code at all. The frame keeps
//! its real PC for display. gdb (`get_frame_address_in_block`) and probe-rs do the same
//! for return addresses; for an exception frame gdb uses the PC as is, also after
//! `svc`, which names the wrong function when the `svc` ends one.

use crate::model::exception::ExceptionNumber;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PcKind {
    /// The instruction the frame is at.
    Exact,
    /// The instruction after a call (a return address).
    AfterCall,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FramePc {
    /// The real PC (Thumb bit clear).
    pub(crate) pc: u32,
    pub(crate) kind: PcKind,
}

impl FramePc {
    pub(crate) fn new(pc: u32, kind: PcKind) -> Self {
        FramePc { pc: pc & !1, kind }
    }

    /// The PC a frame resumes at after returning from `exception`: SVCall's is the
    /// instruction after the `svc` (a call site); every other exception's stacked PC
    /// is the instruction to run or the one that faulted.
    pub(crate) fn resumed_from(pc: u32, exception: ExceptionNumber) -> Self {
        let kind = if exception == ExceptionNumber::SVCALL { PcKind::AfterCall } else { PcKind::Exact };
        Self::new(pc, kind)
    }

    /// The address to look the frame's code up at: the PC, or PC - 1 after a call.
    pub(crate) fn lookup(self) -> u32 {
        match self.kind {
            PcKind::Exact => self.pc,
            PcKind::AfterCall => self.pc.wrapping_sub(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_addresses_are_looked_up_inside_the_call() {
        // `bl` at 0x118..0x11c ends a function; 0x11c starts the next one.
        let ra = FramePc::new(0x11d, PcKind::AfterCall);
        assert_eq!(ra.pc, 0x11c);
        assert_eq!(ra.lookup() & !1, 0x11a);
        assert_eq!(FramePc::new(0x100, PcKind::Exact).lookup(), 0x100);
    }

    #[test]
    fn only_svcall_resumes_after_a_call() {
        assert_eq!(FramePc::resumed_from(0xfe, ExceptionNumber::SVCALL).kind, PcKind::AfterCall);
        for e in [ExceptionNumber::HARD_FAULT, ExceptionNumber(5), ExceptionNumber(16 + 8), ExceptionNumber(14)] {
            assert_eq!(FramePc::resumed_from(0xfe, e).kind, PcKind::Exact, "{e}");
        }
    }
}
