//! The unwinder's result: a value that renders as text, JSON or a TUI pane.

use std::fmt;

use serde::Serialize;

use super::regs::RegisterSet;
use crate::model::exc_return::ExcReturn;
use crate::model::exception::ExceptionNumber;
use crate::model::frame::StackedFrame;

/// A whole call stack, innermost first, and why it ended.
#[derive(Clone, Debug, Serialize)]
pub struct Backtrace {
    pub frames: Vec<Frame>,
    pub termination: Termination,
    /// Things the user should know (heuristics used, inconsistent state, missing info).
    pub warnings: Vec<String>,
    /// Present when the stack overflowed (SP outside its region, or STKERR/MSTKERR).
    pub stack_overflow: Option<StackOverflow>,
}

impl Backtrace {
    /// Function names, innermost first, with `"<exception>"` at each exception entry
    /// (the manifest's notation); unnamed frames as `"??"`.
    pub fn function_names(&self) -> Vec<String> {
        self.frames
            .iter()
            .map(|f| match f {
                Frame::Frame(f) => f.function.clone().unwrap_or_else(|| "??".into()),
                Frame::Exception(_) => "<exception>".into(),
            })
            .collect()
    }

    /// The function frames only.
    pub fn function_frames(&self) -> impl Iterator<Item = &FunctionFrame> {
        self.frames.iter().filter_map(|f| match f {
            Frame::Frame(f) => Some(f),
            Frame::Exception(_) => None,
        })
    }

    /// The exception entries only, innermost first.
    pub fn exceptions(&self) -> impl Iterator<Item = &ExceptionEntry> {
        self.frames.iter().filter_map(|f| match f {
            Frame::Exception(e) => Some(e),
            Frame::Frame(_) => None,
        })
    }
}

/// One line of the backtrace: a function, or the entry into an exception handler.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[allow(clippy::large_enum_variant)] // both variants carry registers or a frame
pub enum Frame {
    Frame(FunctionFrame),
    Exception(ExceptionEntry),
}

/// How a frame's PC was found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "method", content = "detail", rename_all = "kebab-case")]
pub enum UnwindMethod {
    /// The innermost frame: the live registers.
    Registers,
    /// DWARF call frame information of the callee.
    Cfi,
    /// The stacked exception frame.
    ExceptionFrame,
    /// A guess, with what it was based on. Never silent.
    Heuristic(String),
}

/// A function frame (physical, or inlined into the next one).
#[derive(Clone, Debug, Serialize)]
pub struct FunctionFrame {
    /// The frame's PC: for a caller, the return address (the instruction after the call).
    pub pc: u32,
    /// Where the frame's function, inline chain, file:line and CFI row were looked up:
    /// `pc`, or `pc - 1` (inside the call) when `pc` is a return address or SVCall's
    /// stacked PC (see the unwinder's call-site rule in docs/ARCHITECTURE.md).
    pub lookup_pc: u32,
    pub function: Option<String>,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub column: Option<u32>,
    /// This frame is inlined code: it shares PC and registers with the next frame.
    pub inlined: bool,
    pub method: UnwindMethod,
    /// The stack pointer of this frame, when known.
    pub sp: Option<u32>,
    /// Registers recovered for this frame (on the physical frame only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registers: Option<RegisterSet>,
}

/// The handler of `exception` was entered from the frames that follow.
#[derive(Clone, Debug, Serialize)]
pub struct ExceptionEntry {
    /// The exception whose handler runs above this entry.
    pub exception: ExceptionNumber,
    /// The EXC_RETURN value that led here; `None` when the firmware overwrote LR and
    /// the transition was recovered from the stacked state (see `recovered`).
    pub exc_return: Option<u32>,
    pub decoded: Option<ExcReturn>,
    /// The transition was reconstructed without EXC_RETURN (heuristic).
    pub recovered: bool,
    /// "MSP", "PSP", "MSP_NS", ...
    pub stack: String,
    /// The stacked frame; `None` when it could not be read.
    pub frame: Option<StackedFrame>,
    /// The context that was interrupted (Thread, or a lower-priority handler).
    pub interrupted: Option<ExceptionNumber>,
}

/// Why unwinding stopped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Termination {
    /// Reached the reset handler: the bottom of every call stack.
    ResetHandler { function: String },
    /// The SP reached the top of the stack region in thread mode.
    BottomOfStack { sp: u32 },
    /// LR = 0xFFFFFFFF, the value reset leaves in LR.
    ResetLr,
    /// An RTOS task's entry function: its return address is the kernel's task-exit trap
    /// (FreeRTOS' `prvTaskExitError`), put there when the task was created.
    TaskEntry { function: String, exit: String },
    /// CFI says the return address is undefined: the outermost frame by the compiler's word.
    OutermostFrame { pc: u32 },
    /// The same (PC, SP) twice: the stack is corrupt or the CFI is wrong.
    Loop { pc: u32, sp: u32 },
    /// The unwound SP is outside every RAM region of the image.
    SpOutsideRam { sp: u32 },
    /// The caller's SP is below the callee's on the same stack.
    SpWentBackwards { sp: u32, caller_sp: u32 },
    DepthLimit { limit: usize },
    UnreadableMemory { address: u32, what: String },
    /// No CFI and no heuristic found a caller.
    NoUnwindInfo { pc: u32 },
    /// The return address is not in code.
    InvalidReturnAddress { address: u32, reason: String },
    /// The value needed to continue (PC, SP, LR) is unknown.
    UnknownRegister { register: String },
}

impl fmt::Display for Termination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Termination::ResetHandler { function } => write!(f, "reached the reset handler ({function})"),
            Termination::BottomOfStack { sp } => write!(f, "reached the top of the stack (sp={sp:#010x})"),
            Termination::ResetLr => f.write_str("LR is 0xFFFFFFFF (the value after reset): end of the call chain"),
            Termination::TaskEntry { function, exit } => write!(
                f,
                "reached the task's entry function ({function}): it returns into {exit}, set up when the task was created"
            ),
            Termination::OutermostFrame { pc } => {
                write!(f, "the debug info marks {pc:#010x} as the outermost frame (return address undefined)")
            }
            Termination::Loop { pc, sp } => {
                write!(f, "the same frame (pc={pc:#010x}, sp={sp:#010x}) came back: corrupt stack or wrong unwind info")
            }
            Termination::SpOutsideRam { sp } => write!(f, "the stack pointer {sp:#010x} is outside RAM"),
            Termination::SpWentBackwards { sp, caller_sp } => write!(
                f,
                "the caller's stack pointer {caller_sp:#010x} is below the callee's {sp:#010x}: corrupt stack"
            ),
            Termination::DepthLimit { limit } => write!(f, "stopped after {limit} frames (depth limit)"),
            Termination::UnreadableMemory { address, what } => {
                write!(f, "cannot read {what} at {address:#010x}")
            }
            Termination::NoUnwindInfo { pc } => {
                write!(f, "no unwind information for {pc:#010x} and no heuristic found its caller")
            }
            Termination::InvalidReturnAddress { address, reason } => {
                write!(f, "return address {address:#010x} is invalid: {reason}")
            }
            Termination::UnknownRegister { register } => write!(f, "the value of {register} is unknown"),
        }
    }
}

/// What is known about a stack overflow.
#[derive(Clone, Debug, Serialize)]
pub struct StackOverflow {
    /// "MSP" or "PSP".
    pub stack: String,
    pub sp: u32,
    /// The stack region `[bottom, top)` from the image's linker symbols, when known.
    pub region_bottom: Option<u32>,
    pub region_top: Option<u32>,
    /// The boundary the SP crossed: the start of RAM when the SP left RAM, else the
    /// stack region's bottom.
    pub boundary: Option<u32>,
    /// What `boundary` is, e.g. "the start of RAM" or "__StackLimit".
    pub boundary_name: String,
    /// Bytes below `boundary` (0 when SP is inside but a stacking error says the push
    /// failed, e.g. an MPU guard region).
    pub overflow_bytes: u32,
    /// CFSR.STKERR or CFSR.MSTKERR was set.
    pub stacking_error: bool,
    /// Functions found repeating in readable stack memory (heuristic).
    pub recursion: Option<Recursion>,
    pub explanation: String,
}

impl StackOverflow {
    /// "SP 0x1fffffb8, 72 bytes below the start of RAM (0x20000000)", for one-line summaries.
    pub fn sp_text(&self) -> String {
        match (self.boundary, self.overflow_bytes) {
            (Some(b), n) if n > 0 => format!("SP {:#010x}, {n} bytes below {} ({b:#010x})", self.sp, self.boundary_name),
            (Some(b), _) => format!("SP {:#010x} at {} ({b:#010x})", self.sp, self.boundary_name),
            (None, _) => format!("SP {:#010x}", self.sp),
        }
    }
}

/// A function found many times among the return addresses left on the stack.
/// Heuristic: built from a scan for return addresses that follow a BL/BLX.
#[derive(Clone, Debug, Serialize)]
pub struct Recursion {
    pub function: String,
    /// Occurrences found; a lower bound when `at_least` is set.
    pub count: usize,
    /// The scan stopped at its size limit while the recursion still went on: the
    /// stack holds more occurrences than `count`.
    pub at_least: bool,
    /// Bytes of stack scanned, upward from the lowest readable SP.
    pub scanned_bytes: u32,
    /// The other functions in the repeating cycle, when it spans several.
    pub cycle: Vec<String>,
    /// Return addresses found per function, most frequent first.
    pub histogram: Vec<(String, usize)>,
    pub heuristic: bool,
}
