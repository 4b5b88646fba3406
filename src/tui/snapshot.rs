//! What the UI draws: one whole, owned value per target state, built by the poller
//! (see [`super::gather`]) and sent over a channel. Drawing never reads the target,
//! the ELF or a file; it only borrows a `Snapshot`.

use std::collections::BTreeMap;

use crate::model::exception::ExceptionNumber;
use crate::report::{Finding, Report};

/// The core's state as the status line shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoreView {
    /// Connecting or not yet known.
    Starting,
    Running,
    /// Halted, with why (e.g. "breakpoint at the entry of BusFault_Handler").
    Halted(String),
    LockedUp,
    Sleeping,
    /// The target went away (QEMU exited, the link closed).
    Gone(String),
}

/// Everything the UI shows at one moment.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// Incremented by the poller on every new snapshot.
    pub seq: u64,
    /// The backend and server, e.g. "gdb-remote (QEMU gdbstub 10.0.2, -M netduinoplus2)".
    pub backend: String,
    /// The ELF, when one was given.
    pub elf: Option<String>,
    pub core: CoreView,
    /// The target is live (can run); false for a core file.
    pub live: bool,
    /// The last halted view; `stale` when the core has run since it was taken.
    pub halted: Option<HaltedView>,
    pub stale: bool,
    /// Fault catching is armed.
    pub catching: bool,
    /// Addresses of the breakpoints the user set (handler entries).
    pub user_breaks: Vec<u32>,
    /// The result of the last command, for the message line.
    pub message: Option<Message>,
}

/// A line for the user after a command: what was done or what failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub text: String,
    pub error: bool,
}

impl Message {
    pub fn info(text: impl Into<String>) -> Self {
        Message { text: text.into(), error: false }
    }
    pub fn error(text: impl Into<String>) -> Self {
        Message { text: text.into(), error: true }
    }
}

/// What isrscope read while the core was halted.
#[derive(Clone, Debug)]
pub struct HaltedView {
    /// The same analysis `inspect` shows.
    pub report: Report,
    /// Per backtrace entry (same index as `report.backtrace`): source, disassembly,
    /// registers. `None` for exception entries.
    pub frames: Vec<Option<FrameDetail>>,
    /// The same for each RTOS task's backtrace (index as in `report.tasks.tasks`).
    pub task_frames: Vec<Vec<Option<FrameDetail>>>,
    /// The vector table and NVIC state.
    pub vectors: Option<VectorView>,
}

/// What the frame-detail pane shows for one backtrace frame.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FrameDetail {
    /// Source lines around the frame's line: (line number, text). Empty when the file
    /// is unreadable (`source_note` says why).
    pub source: Vec<(u32, String)>,
    pub source_line: Option<u32>,
    pub source_note: Option<String>,
    /// Disassembly around the PC: (address, hex bytes, text).
    pub disassembly: Vec<DisasmLine>,
    pub pc: u32,
    /// The registers recovered for this frame: (name, value); `None` = unknown.
    pub registers: Vec<(String, Option<u32>)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisasmLine {
    pub address: u32,
    pub bytes: String,
    pub text: String,
}

/// The vector table as the target holds it (at VTOR), with the NVIC state.
#[derive(Clone, Debug, Default)]
pub struct VectorView {
    pub vtor: u32,
    /// Where the table was read from: "target" or "ELF".
    pub source: String,
    pub rows: Vec<VectorRow>,
    /// Findings of the vector checks (`isrscope vectors`), errors first.
    pub findings: Vec<Finding>,
    /// ICSR decoded: the active and pending exceptions.
    pub active: Option<ExceptionNumber>,
    pub pending: Option<ExceptionNumber>,
}

/// One exception or IRQ of the vector table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VectorRow {
    pub exception: ExceptionNumber,
    /// The raw vector word.
    pub vector: u32,
    /// The handler's symbol, when the ELF names it.
    pub handler: Option<String>,
    /// NVIC state (IRQs only; system exceptions from SHCSR where known).
    pub enabled: Option<bool>,
    pub pending: Option<bool>,
    pub active: Option<bool>,
    pub priority: Option<u8>,
}

impl VectorRow {
    /// The handler's entry (Thumb bit cleared); `None` for an empty vector.
    pub fn entry(&self) -> Option<u32> {
        (self.vector != 0).then_some(self.vector & !1)
    }
}

impl Snapshot {
    /// A snapshot before anything is known.
    pub fn starting(backend: impl Into<String>, elf: Option<String>, live: bool) -> Self {
        Snapshot {
            seq: 0,
            backend: backend.into(),
            elf,
            core: CoreView::Starting,
            live,
            halted: None,
            stale: false,
            catching: false,
            user_breaks: Vec::new(),
            message: None,
        }
    }

    /// The registers of the halted view, by name.
    pub fn registers(&self) -> Option<&BTreeMap<String, u32>> {
        self.halted.as_ref().map(|h| &h.report.registers)
    }

    /// Rewrites every path-like string with `f` (tests: temp sockets, checkout dirs).
    pub fn map_strings(&mut self, f: &dyn Fn(&str) -> String) {
        self.backend = f(&self.backend);
        if let Some(e) = &mut self.elf {
            *e = f(e);
        }
        if let Some(h) = &mut self.halted {
            let r = &mut h.report;
            r.summary = f(&r.summary);
            r.target.description = f(&r.target.description);
            if let Some(e) = &mut r.target.elf {
                *e = f(e);
            }
            for b in &mut r.backtrace {
                if let Some(file) = &mut b.file {
                    *file = f(file);
                }
            }
            for finding in &mut r.findings {
                finding.message = f(&finding.message);
            }
            if let Some(v) = &mut h.vectors {
                for finding in &mut v.findings {
                    finding.message = f(&finding.message);
                }
            }
            if let Some(list) = &mut r.tasks {
                for b in list.tasks.iter_mut().flat_map(|t| t.backtrace.iter_mut()) {
                    if let Some(file) = &mut b.file {
                        *file = f(file);
                    }
                }
            }
            for d in h.frames.iter_mut().chain(h.task_frames.iter_mut().flatten()).flatten() {
                if let Some(n) = &mut d.source_note {
                    *n = f(n);
                }
            }
        }
    }
}
