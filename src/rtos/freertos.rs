//! FreeRTOS: every task the kernel holds, read from the kernel's own lists with the
//! structure layouts from DWARF (TCB_t, List_t, ListItem_t, Queue_t), so any
//! configuration works. List walks are bounded by the list's own count and a hard
//! limit, and stop at a cycle or an unreadable node: a corrupt kernel gives a finding,
//! never a hang.

use serde::Serialize;

use crate::debuginfo::types::StructLayout;
use crate::debuginfo::{Image, SymbolKind};
use crate::report::BacktraceEntry;
use crate::target::{Registers, Target};

/// No kernel has more tasks than this on a microcontroller; a longer walk is corruption.
const MAX_TASKS: usize = 256;
/// Bytes of a task's stack scanned for the fill pattern (the high-water mark).
const MAX_STACK_SCAN: u32 = 64 * 1024;
/// tskSTACK_FILL_BYTE.
const STACK_FILL: u8 = 0xA5;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskState {
    Running,
    Ready,
    Blocked,
    Suspended,
    /// Deleted, its memory not yet freed by the idle task.
    Deleted,
}

impl TaskState {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Running => "running",
            TaskState::Ready => "ready",
            TaskState::Blocked => "blocked",
            TaskState::Suspended => "suspended",
            TaskState::Deleted => "deleted",
        }
    }
}

/// One task, as the kernel holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Task {
    pub name: String,
    /// The TCB's address (the task handle).
    pub tcb: u32,
    pub state: TaskState,
    pub priority: u32,
    /// The priority before mutex inheritance raised it (configUSE_MUTEXES).
    pub base_priority: Option<u32>,
    /// What a blocked task waits on: a queue or semaphore by its registry name, a kernel
    /// list, or an address.
    pub waiting_on: Option<String>,
    /// The tick a delayed or time-limited wait ends (the state list item's value).
    pub wakes_at: Option<u32>,
    pub stack: TaskStack,
    /// The context the port saved when the task was switched out (not for the running
    /// task, whose context is live).
    pub context: Option<SavedContext>,
    /// The task's call stack from its saved context, innermost first (the running
    /// task's is the report's backtrace); filled in by the report, with the report's
    /// unwinder.
    pub backtrace: Vec<BacktraceEntry>,
    /// Why that backtrace ends.
    pub backtrace_end: Option<String>,
}

/// A switched-out task's context as the GCC ARM_CM3/CM4F ports store it at pxTopOfStack:
/// R4-R11, then (CM4F, CM7) the task's EXC_RETURN and, when its bit 4 is clear, S16-S31,
/// then the hardware exception frame (R0-R3, R12, LR, PC, xPSR; S0-S15 and FPSCR in an
/// extended frame).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SavedContext {
    pub pc: u32,
    pub lr: u32,
    /// The task's SP once its context is restored.
    pub sp: u32,
    pub exc_return: Option<u32>,
    /// S16-S31 saved and an extended frame (the task had used the FPU).
    pub fp: bool,
    /// Every register the task resumes with, to unwind it from.
    #[serde(skip)]
    pub registers: Registers,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TaskStack {
    /// pxStack: the lowest address of the stack (stacks grow down on Cortex-M).
    pub base: u32,
    /// pxTopOfStack: where the saved context starts (the running task's is stale: its
    /// live SP is the PSP).
    pub top_of_stack: u32,
    /// Bytes at the base never written (still 0xA5), where stacks are filled.
    pub untouched_bytes: Option<u32>,
}

/// What the kernel holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TaskList {
    pub kernel: &'static str,
    pub scheduler_running: Option<bool>,
    /// The running task's TCB (pxCurrentTCB).
    pub current: Option<u32>,
    pub tasks: Vec<Task>,
    /// What could not be read or made sense of (corrupt lists, unreadable memory).
    pub problems: Vec<String>,
}

/// The layouts a walk needs.
struct Layouts {
    tcb: StructLayout,
    list: StructLayout,
    item: StructLayout,
    queue: Option<StructLayout>,
}

/// FreeRTOS' tasks, or `None` when the image has no FreeRTOS kernel (no
/// `pxCurrentTCB`) or no DWARF for its structures.
pub fn read(target: &mut dyn Target, image: &Image) -> Option<TaskList> {
    let syms = image.symbols();
    let current_sym = syms.by_name("pxCurrentTCB")?.address;
    let mut found = image
        .struct_layouts(&[&["tskTaskControlBlock", "TCB_t"], &["xLIST", "List_t"], &["xLIST_ITEM", "ListItem_t"], &["QueueDefinition", "Queue_t"]])
        .into_iter();
    let mut next = || found.next().flatten();
    let layouts = Layouts { tcb: next()?, list: next()?, item: next()?, queue: next() };
    let mut w = Walk { target, image, l: &layouts, problems: Vec::new(), tasks: Vec::new() };
    let current = w.word(current_sym).filter(|&c| c != 0);
    let scheduler_running = syms.by_name("xSchedulerRunning").and_then(|s| w.word(s.address)).map(|v| v != 0);

    // The lists every task is in one of, with the state each means.
    if let Some(ready) = syms.by_name("pxReadyTasksLists") {
        let n = (ready.size / layouts.list.size.max(1)).max(1);
        for p in 0..n {
            w.list(ready.address + p * layouts.list.size, TaskState::Ready, "pxReadyTasksLists");
        }
    }
    for (name, state) in [
        ("xDelayedTaskList1", TaskState::Blocked),
        ("xDelayedTaskList2", TaskState::Blocked),
        ("xPendingReadyList", TaskState::Ready),
        ("xSuspendedTaskList", TaskState::Suspended),
        ("xTasksWaitingTermination", TaskState::Deleted),
    ] {
        if let Some(s) = syms.by_name(name) {
            w.list(s.address, state, name);
        }
    }
    let mut tasks = std::mem::take(&mut w.tasks);
    // The FPU ports (ARM_CM4F, ARM_CM7) save the task's EXC_RETURN beside R4-R11.
    let fp_port = syms.by_name("vPortEnableVFP").is_some();
    for t in &mut tasks {
        if Some(t.tcb) == current && t.state == TaskState::Ready {
            t.state = TaskState::Running;
        }
        if Some(t.tcb) == current {
            continue;
        }
        t.context = w.saved_context(t.stack.top_of_stack, fp_port);
        if t.context.is_none() {
            w.problems.push(format!("task {}: its saved context at {:#010x} is unreadable", t.name, t.stack.top_of_stack));
        }
    }
    let problems = w.problems;
    Some(TaskList { kernel: "FreeRTOS", scheduler_running, current, tasks, problems })
}

struct Walk<'a> {
    target: &'a mut dyn Target,
    image: &'a Image,
    l: &'a Layouts,
    problems: Vec<String>,
    tasks: Vec<Task>,
}

impl Walk<'_> {
    fn word(&mut self, address: u32) -> Option<u32> {
        self.words(address, 1).map(|w| w[0])
    }

    fn words(&mut self, address: u32, n: usize) -> Option<Vec<u32>> {
        let mut b = vec![0u8; 4 * n];
        self.target.read_memory(address, &mut b).ok()?;
        Some(b.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    }

    fn field(&mut self, base: u32, layout_is_tcb: bool, name: &str) -> Option<u32> {
        let layout = if layout_is_tcb { &self.l.tcb } else { &self.l.item };
        let off = layout.offset(name)?;
        self.word(base.wrapping_add(off))
    }

    /// Walks the list at `list` (a List_t): every item's owner is a TCB in `state`.
    fn list(&mut self, list: u32, state: TaskState, what: &str) {
        let (Some(count_off), Some(end_off)) = (self.l.list.offset("uxNumberOfItems"), self.l.list.offset("xListEnd")) else {
            self.problems.push("List_t has no uxNumberOfItems/xListEnd in the DWARF".into());
            return;
        };
        let (Some(next_off), Some(owner_off)) = (self.l.item.offset("pxNext"), self.l.item.offset("pvOwner")) else {
            self.problems.push("ListItem_t has no pxNext/pvOwner in the DWARF".into());
            return;
        };
        let Some(count) = self.word(list + count_off) else {
            self.problems.push(format!("{what} at {list:#010x} is unreadable"));
            return;
        };
        if count == 0 {
            return;
        }
        if count as usize > MAX_TASKS {
            self.problems.push(format!("{what} at {list:#010x} says it holds {count} items: corrupt"));
            return;
        }
        let end = list + end_off;
        let mut item = match self.word(end + next_off) {
            Some(i) => i,
            None => return,
        };
        let mut seen = Vec::new();
        while item != end {
            if seen.len() >= count as usize || seen.contains(&item) {
                self.problems.push(format!("{what} at {list:#010x}: the list does not end after its {count} items (corrupt or a cycle)"));
                return;
            }
            seen.push(item);
            let Some(owner) = self.word(item + owner_off) else {
                self.problems.push(format!("{what}: the list item at {item:#010x} is unreadable"));
                return;
            };
            if owner != 0 && !self.tasks.iter().any(|t| t.tcb == owner) {
                let wakes = if state == TaskState::Blocked { self.word(item + self.l.item.offset("xItemValue").unwrap_or(0)) } else { None };
                if let Some(t) = self.task(owner, state, wakes) {
                    self.tasks.push(t);
                }
            }
            match self.word(item + next_off) {
                Some(next) => item = next,
                None => {
                    self.problems.push(format!("{what}: the list item at {item:#010x} is unreadable"));
                    return;
                }
            }
        }
        if seen.len() != count as usize {
            self.problems.push(format!("{what} at {list:#010x} says {count} items, holds {}", seen.len()));
        }
    }

    fn task(&mut self, tcb: u32, state: TaskState, wakes_at: Option<u32>) -> Option<Task> {
        let name = self.name(tcb);
        let priority = self.field(tcb, true, "uxPriority")?;
        let base_priority = self.field(tcb, true, "uxBasePriority");
        let base = self.field(tcb, true, "pxStack").unwrap_or(0);
        let top_of_stack = self.field(tcb, true, "pxTopOfStack").unwrap_or(0);
        // In the suspended list with an event list item in use: blocked with no timeout.
        let event = self.l.tcb.offset("xEventListItem").zip(self.l.item.offset("pxContainer"));
        let container = event.and_then(|(e, c)| self.word(tcb + e + c)).filter(|&c| c != 0);
        let state = if state == TaskState::Suspended && container.is_some() { TaskState::Blocked } else { state };
        let waiting_on = if state == TaskState::Blocked { container.map(|c| self.describe_event_list(c)) } else { None };
        let wakes_at = if state == TaskState::Blocked { wakes_at } else { None };
        let untouched_bytes = self.untouched(base, top_of_stack);
        let stack = TaskStack { base, top_of_stack, untouched_bytes };
        Some(Task { name, tcb, state, priority, base_priority, waiting_on, wakes_at, stack, context: None, backtrace: Vec::new(), backtrace_end: None })
    }

    /// The registers a switched-out task resumes with, from its saved context at `top`.
    fn saved_context(&mut self, top: u32, fp_port: bool) -> Option<SavedContext> {
        let callee = self.words(top, 8)?;
        let mut at = top + 32;
        let exc_return = if fp_port {
            let e = self.word(at)?;
            at += 4;
            Some(e)
        } else {
            None
        };
        let fp = exc_return.is_some_and(|e| e & 0x10 == 0);
        if fp {
            at += 64; // S16-S31
        }
        let hw = self.words(at, 8)?;
        let xpsr = hw[7];
        let mut sp = at + 32 + if fp { 72 } else { 0 };
        if xpsr & (1 << 9) != 0 {
            sp += 4; // the alignment pad the core added at exception entry
        }
        let mut r = Registers::new();
        for (i, v) in hw[..4].iter().enumerate() {
            r.insert(format!("r{i}"), *v);
        }
        for (i, v) in callee.iter().enumerate() {
            r.insert(format!("r{}", i + 4), *v);
        }
        r.insert("r12", hw[4]);
        r.insert("lr", hw[5]);
        r.insert("pc", hw[6]);
        r.insert("xpsr", xpsr);
        r.insert("sp", sp);
        r.insert("psp", sp);
        // Thread mode on the process stack (FPCA as the task's EXC_RETURN says).
        r.insert("control", 2 | if fp { 4 } else { 0 });
        Some(SavedContext { pc: hw[6], lr: hw[5], sp, exc_return, fp, registers: r })
    }

    fn name(&mut self, tcb: u32) -> String {
        let Some(m) = self.l.tcb.member("pcTaskName").cloned() else { return String::new() };
        c_string(&mut *self.target, tcb + m.offset, m.size.unwrap_or(16).min(64) as usize).unwrap_or_default()
    }

    /// The queue (or semaphore, or mutex) whose waiting list `list` is: its registry
    /// name, or the symbol that holds it, or the address.
    fn describe_event_list(&mut self, list: u32) -> String {
        if let Some(q) = self.l.queue.as_ref().map(|q| q.size) {
            let registry = self.image.symbols().by_name("xQueueRegistry").map(|s| (s.address, s.size));
            if let Some((at, size)) = registry {
                // QueueRegistryItem_t: { const char *pcQueueName; QueueHandle_t xHandle; }
                for i in 0..(size / 8).min(64) {
                    let (Some(name_ptr), Some(handle)) = (self.word(at + 8 * i), self.word(at + 8 * i + 4)) else { break };
                    if handle != 0 && list >= handle && list < handle + q {
                        if let Some(name) = c_string(&mut *self.target, name_ptr, 32) {
                            return format!("queue \"{name}\" ({handle:#010x})");
                        }
                    }
                }
            }
        }
        let holder = self
            .image
            .symbols()
            .iter()
            .find(|s| s.defined && s.kind == SymbolKind::Object && s.size > 0 && list >= s.address && list - s.address < s.size);
        match holder {
            Some(s) => format!("{} ({list:#010x})", s.demangled),
            None => format!("the event list at {list:#010x}"),
        }
    }

    /// Bytes from the stack's base up to the first byte that is not the fill pattern.
    fn untouched(&mut self, base: u32, top: u32) -> Option<u32> {
        if base == 0 || top <= base {
            return None;
        }
        let len = (top - base).min(MAX_STACK_SCAN);
        let mut b = vec![0u8; len as usize];
        self.target.read_memory(base, &mut b).ok()?;
        if b.first() != Some(&STACK_FILL) {
            return None; // not filled (or overflowed into the base)
        }
        Some(b.iter().position(|&c| c != STACK_FILL).unwrap_or(b.len()) as u32)
    }
}

/// When the core stands at the entry of FreeRTOS' stack overflow hook
/// (`vApplicationStackOverflowHook(TaskHandle_t, char *)`, called from the context
/// switch when configCHECK_FOR_STACK_OVERFLOW finds a task's stack overrun), the task it
/// names: its handle in R0 and its name from R1, as the hook's arguments arrive.
pub fn overflow_hook_entered(target: &mut dyn Target, image: &Image, registers: &Registers) -> Option<(u32, String)> {
    let hook = image.symbols().by_name("vApplicationStackOverflowHook")?.address & !1;
    if registers.get("pc")? & !1 != hook {
        return None;
    }
    let tcb = registers.get("r0")?;
    let name = registers.get("r1").and_then(|p| c_string(target, p, 32)).unwrap_or_default();
    Some((tcb, name))
}

/// A NUL-terminated string of at most `max` bytes at `address` in target memory.
fn c_string(target: &mut dyn Target, address: u32, max: usize) -> Option<String> {
    let mut b = vec![0u8; max];
    target.read_memory(address, &mut b).ok()?;
    let end = b.iter().position(|&c| c == 0).unwrap_or(max);
    Some(String::from_utf8_lossy(&b[..end]).into_owned())
}
