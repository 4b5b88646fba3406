//! The fault report: one value that `inspect` (live) and `analyze` (post-mortem) build
//! through the same code, and that renders as text ([`text`]) or JSON (serde; the
//! contract is documented in docs/inspect.md).
//!
//! Building it ([`collect`]) reads the target; rendering never does.

pub mod collect;
mod live;
mod rtos;
pub mod text;
mod v6m;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::exception::ExceptionNumber;
use crate::model::fault::FaultClass;

pub use collect::{CollectOptions, collect, collect_with_backtrace};

/// Version of the JSON contract; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// Everything isrscope knows about a halted core.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub schema: u32,
    /// What happened, in one sentence.
    pub summary: String,
    pub target: TargetSummary,
    /// The active exception; `None` in thread mode.
    pub exception: Option<ExceptionNumber>,
    /// Core registers by name (those the target has).
    pub registers: BTreeMap<String, u32>,
    /// One per exception level, innermost first.
    pub exception_frames: Vec<ExceptionFrame>,
    pub fault: Option<FaultSummary>,
    /// The supervisor call being handled when SVCall is the innermost exception.
    pub svc: Option<SvcSummary>,
    /// Innermost first.
    pub backtrace: Vec<BacktraceEntry>,
    /// Why the backtrace ends.
    pub backtrace_end: Option<String>,
    pub findings: Vec<Finding>,
    /// The fault class behind the exit code.
    pub outcome: Outcome,
    /// The RTOS's tasks (FreeRTOS), when the firmware has a kernel isrscope knows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tasks: Option<crate::rtos::TaskList>,
}

#[derive(Clone, Debug, Serialize)]
pub struct TargetSummary {
    /// The backend and server, e.g. "gdb-remote (QEMU 10.0.2)".
    pub description: String,
    /// The core from CPUID, e.g. "Cortex-M4 r0p1".
    pub core: Option<String>,
    pub profile: Option<String>,
    /// Why the core is halted, as the backend reports it.
    pub stop: Option<String>,
    /// The ELF the report was symbolized with.
    pub elf: Option<String>,
}

/// A stacked exception frame, as the JSON contract names its fields.
#[derive(Clone, Debug, Serialize)]
pub struct ExceptionFrame {
    /// The exception whose entry pushed this frame.
    pub exception: ExceptionNumber,
    /// Its handler's symbol, from the ELF's vector table (e.g. "TIM2_IRQHandler").
    pub handler: Option<String>,
    /// `None` when the firmware overwrote LR and the frame was recovered otherwise.
    pub exc_return: Option<u32>,
    /// "msp" or "psp".
    pub stack: String,
    /// ARMv8-M with the Security Extension: the frame is on the Secure (true) or
    /// Non-secure (false) stack; `None` elsewhere.
    pub secure: Option<bool>,
    pub address: u32,
    pub extended: bool,
    pub padded: bool,
    pub r0: u32,
    pub r1: u32,
    pub r2: u32,
    pub r3: u32,
    pub r12: u32,
    pub lr: u32,
    pub pc: u32,
    pub xpsr: u32,
    /// The context that was interrupted: thread mode (0) or another handler.
    pub interrupted: ExceptionNumber,
    /// The interrupted context's SP.
    pub interrupted_sp: u32,
    pub fp: Option<FpFrame>,
}

/// S0-S15 and FPSCR of an extended frame, and where they were read.
#[derive(Clone, Debug, Serialize)]
pub struct FpFrame {
    /// "stacked" (memory), "registers" (lazy stacking pending: the live FPU), or
    /// "stale-memory" (lazy stacking pending and the live registers unavailable).
    pub source: String,
    #[serde(flatten)]
    pub s: BTreeMap<String, u32>,
    pub fpscr: u32,
}

/// The fault status registers and what their bits say.
#[derive(Clone, Debug, Serialize)]
pub struct FaultSummary {
    pub cfsr: u32,
    pub hfsr: u32,
    pub dfsr: u32,
    /// Only when MMARVALID is set.
    pub mmfar: Option<u32>,
    /// Only when BFARVALID is set.
    pub bfar: Option<u32>,
    /// SecureFault status (ARMv8-M Mainline); `None` where absent or unreadable.
    pub sfsr: Option<u32>,
    /// Only when SFSR.SFARVALID is set.
    pub sfar: Option<u32>,
    /// Cortex-M7 auxiliary bus fault status; `None` on other cores or when unreadable.
    pub abfsr: Option<u32>,
    /// Every set bit by its ARM name, e.g. "PRECISERR", "BFARVALID", "FORCED".
    pub causes: Vec<String>,
    /// The same bits with their explanations.
    pub details: Vec<CauseDetail>,
    /// "HardFault", "BusFault", ...: the handler class.
    pub class: FaultClass,
    /// The fault that started it (the configurable fault behind a FORCED HardFault).
    pub primary: FaultClass,
    /// Why a configurable fault became a HardFault, in words.
    pub escalation: Vec<String>,
    pub notes: Vec<String>,
    /// ARMv6-M and ARMv8-M Baseline (no fault status registers): what the
    /// instruction at the stacked PC says.
    pub v6m: Option<V6mExplanation>,
}

/// A HardFault explained from the faulting instruction (see `model::v6m`).
#[derive(Clone, Debug, Serialize)]
pub struct V6mExplanation {
    /// The stacked PC: the instruction that faulted.
    pub pc: Option<u32>,
    /// Its disassembly, e.g. "ldr r0, [r0]"; `None` when it could not be read or decoded.
    pub instruction: Option<String>,
    pub findings: Vec<V6mFindingSummary>,
}

/// One thing the instruction analysis found, with a stable kebab-case code.
#[derive(Clone, Debug, Serialize)]
pub struct V6mFindingSummary {
    pub code: String,
    pub message: String,
    /// A short phrase for the summary sentence, e.g. "unaligned 4-byte read at 0x20000009".
    #[serde(skip)]
    pub headline: String,
}

/// A supervisor call: the SVC number and its arguments.
#[derive(Clone, Debug, Serialize)]
pub struct SvcSummary {
    pub number: u8,
    /// Stacked R0-R3.
    pub args: [u32; 4],
    /// The SVC instruction's address (stacked PC - 2).
    pub address: u32,
}

#[derive(Clone, Debug, Serialize)]
pub struct CauseDetail {
    pub name: String,
    pub register: String,
    pub summary: String,
    pub meaning: String,
    pub action: String,
}

/// One backtrace line: a function (possibly inlined) or an exception entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BacktraceEntry {
    /// "frame" or "exception".
    pub kind: String,
    pub pc: Option<u32>,
    /// Where the frame's code was looked up: `pc`, or `pc - 1` (inside the call) when
    /// `pc` is a return address or SVCall's stacked PC.
    pub lookup_pc: Option<u32>,
    pub function: Option<String>,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub inlined: bool,
    /// How the frame was found: "registers", "cfi", "exception-frame", "heuristic: ...".
    pub method: Option<String>,
    /// On exception entries: the exception whose handler runs above this line.
    pub exception: Option<ExceptionNumber>,
    pub exc_return: Option<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

/// Something the user should act on, with a stable kebab-case code.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub code: String,
    pub severity: Severity,
    pub message: String,
}

impl Finding {
    pub fn new(code: &str, severity: Severity, message: impl Into<String>) -> Self {
        Finding { code: code.into(), severity, message: message.into() }
    }
}

impl Report {
    /// The report when the core locked up and nothing could be read afterwards (QEMU
    /// aborts on lockup instead of halting as hardware does).
    pub fn lockup_without_state(description: &str, message: &str) -> Report {
        Report {
            schema: SCHEMA_VERSION,
            summary: format!("Lockup: {message}"),
            target: TargetSummary { description: description.to_string(), core: None, profile: None, stop: None, elf: None },
            exception: None,
            registers: BTreeMap::new(),
            exception_frames: Vec::new(),
            fault: None,
            svc: None,
            backtrace: Vec::new(),
            backtrace_end: None,
            tasks: None,
            findings: vec![Finding::new(
                "lockup",
                Severity::Error,
                format!(
                    "the core locked up: a fault happened where no handler could be taken (inside HardFault or NMI, often a handler pushing on an exhausted stack, or with FAULTMASK set), and the target could not be read afterwards ({message}); run to the code before it (--break-at) to see the state"
                ),
            )],
            outcome: Outcome::Lockup,
        }
    }
}

/// The classification behind `inspect`'s exit code (see [`Outcome::exit_code`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// No fault is active (thread mode, an interrupt, an SVC, or a timeout).
    NoFault,
    HardFault,
    MemManage,
    BusFault,
    UsageFault,
    SecureFault,
    Lockup,
    /// No fault, but the RTOS stopped the firmware or is stuck: its stack overflow,
    /// malloc-failed or assert hook was entered, or tasks are deadlocked.
    RtosError,
}

impl Outcome {
    pub fn from_class(class: FaultClass) -> Outcome {
        match class {
            FaultClass::None => Outcome::NoFault,
            FaultClass::HardFault => Outcome::HardFault,
            FaultClass::MemManage => Outcome::MemManage,
            FaultClass::BusFault => Outcome::BusFault,
            FaultClass::UsageFault => Outcome::UsageFault,
            FaultClass::SecureFault => Outcome::SecureFault,
            FaultClass::Lockup => Outcome::Lockup,
        }
    }

    /// The documented exit codes (docs/inspect.md): 0 no fault, 10-15 per fault class.
    /// 1 is a tool error and 2 a usage error (see `cli`).
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::NoFault => 0,
            Outcome::HardFault => 10,
            Outcome::MemManage => 11,
            Outcome::BusFault => 12,
            Outcome::UsageFault => 13,
            Outcome::SecureFault => 14,
            Outcome::Lockup => 15,
            Outcome::RtosError => 16,
        }
    }
}
