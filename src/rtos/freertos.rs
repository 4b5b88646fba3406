//! FreeRTOS: every task the kernel holds, read from the kernel's own lists with the
//! structure layouts from DWARF (TCB_t, List_t, ListItem_t, Queue_t), so any
//! configuration works. List walks are bounded by the list's own count and a hard
//! limit, and stop at a cycle or an unreadable node: a corrupt kernel gives a finding,
//! never a hang.

use serde::Serialize;

use crate::debuginfo::types::{Member, StructLayout};
use crate::debuginfo::{Image, SymbolKind};
use crate::report::BacktraceEntry;
use crate::target::{Registers, Target};

/// No kernel has more tasks than this on a microcontroller; a longer walk is corruption.
const MAX_TASKS: usize = 256;
/// Bytes of a task's stack scanned for the fill pattern (the high-water mark).
const MAX_STACK_SCAN: u32 = 64 * 1024;
/// The most a saved context takes: [xSecureContext,] PSPLIM, EXC_RETURN, R4-R11,
/// S16-S31, an extended frame (26 words).
const CONTEXT_MAX: u32 = 4 * (3 + 8 + 16 + 26);
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
    /// The queue, semaphore or mutex a blocked task waits on, when its wait list is one.
    pub wait: Option<WaitObject>,
    /// The tick a delayed or time-limited wait ends (the state list item's value).
    pub wakes_at: Option<u32>,
    /// How many mutexes the task holds (uxMutexesHeld), and those isrscope knows of
    /// (registered, or waited on by some task): their descriptions.
    pub mutexes_held: Option<u32>,
    pub holds: Vec<String>,
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

/// A queue, semaphore or mutex, as a task's wait found it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WaitObject {
    /// Its handle (the Queue_t's address).
    pub handle: u32,
    /// "queue", "mutex", "recursive-mutex", "binary-semaphore", "counting-semaphore",
    /// or "semaphore" (when the kernel keeps no type: configUSE_TRACE_FACILITY 0).
    pub kind: &'static str,
    /// Its name in the queue registry.
    pub name: Option<String>,
    /// "receive" (a receive from an empty queue, a take) or "send" (to a full queue).
    pub direction: &'static str,
    /// A mutex's holder (its TCB).
    pub holder: Option<u32>,
}

impl WaitObject {
    pub fn is_mutex(&self) -> bool {
        self.kind.ends_with("mutex")
    }

    /// `mutex "m_a" (0x20000310)`.
    pub fn describe(&self) -> String {
        let kind = self.kind.replace('-', " ");
        match &self.name {
            Some(n) => format!("{kind} \"{n}\" ({:#010x})", self.handle),
            None => format!("{kind} at {:#010x}", self.handle),
        }
    }
}

/// Tasks that wait for each other's mutexes in a cycle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Deadlock {
    /// The tasks (TCBs) in the cycle, each waiting for a mutex the next one holds.
    pub tasks: Vec<u32>,
    /// Every wait in the cycle is without a timeout (portMAX_DELAY): no tick ends it.
    pub forever: bool,
    /// In words: who holds what and waits for what.
    pub description: String,
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
    /// With `fp`: S0-S31 as saved (S16-S31 by the port, S0-S15 in the extended frame),
    /// raw single-precision bits, and FPSCR.
    pub s: Option<Vec<u32>>,
    pub fpscr: Option<u32>,
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
    /// Where the structure layouts came from: "dwarf", or "guessed" (no DWARF for
    /// them: the members every configuration has at the same offsets, see
    /// [`fallback_layouts`]; base priorities, mutexes and queue types are then not read).
    pub layouts: &'static str,
    pub scheduler_running: Option<bool>,
    /// The running task's TCB (pxCurrentTCB).
    pub current: Option<u32>,
    pub tasks: Vec<Task>,
    /// Cycles of tasks waiting for each other's mutexes.
    pub deadlocks: Vec<Deadlock>,
    /// TCBs found corrupt: a kernel list's item lies in them but does not name them as
    /// its owner (a stack overflow from below or a wild write).
    pub corrupt_tcbs: Vec<u32>,
    /// What could not be read or made sense of (corrupt lists, unreadable memory).
    pub problems: Vec<String>,
}

impl TaskList {
    pub fn task(&self, tcb: u32) -> Option<&Task> {
        self.tasks.iter().find(|t| t.tcb == tcb)
    }

    /// A task's name for messages: `"alpha"`, or the TCB address when it is not listed.
    pub fn name_of(&self, tcb: u32) -> String {
        match self.task(tcb) {
            Some(t) => format!("\"{}\"", t.name),
            None => format!("the task at {tcb:#010x}"),
        }
    }
}

/// How the port lays out a switched-out task's context at pxTopOfStack (the GCC ports'
/// PendSV handlers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Port {
    /// ARM_CM3 (and CM0's order differs only in how it stores, not what): R4-R11; with
    /// an FPU (ARM_CM4F, ARM_CM7) then EXC_RETURN and, when its bit 4 is clear, S16-S31.
    Armv7m { fpu: bool },
    /// The ARMv8-M ports (ARM_CM23/33/35P/55/85, without MPU): [xSecureContext with
    /// TrustZone,] PSPLIM, EXC_RETURN, R4-R11, then S16-S31 when bit 4 is clear.
    Armv8m { secure_context: bool },
    /// A layout isrscope does not decode (the MPU ports keep it in the TCB).
    Unknown(&'static str),
}

impl Port {
    fn of(image: &Image, l: &Layouts) -> Port {
        let syms = image.symbols();
        let has = |n: &str| syms.by_name(n).is_some();
        if l.tcb.member("xMPUSettings").is_some() {
            return Port::Unknown("an MPU port (configENABLE_MPU / portUSING_MPU_WRAPPERS), which keeps the context in the TCB");
        }
        if has("vRestoreContextOfFirstTask") {
            // The TrustZone build keeps the running task's secure context handle in
            // xSecureContext and saves it first.
            return Port::Armv8m { secure_context: has("xSecureContext") };
        }
        // ARM_CM4F and ARM_CM7 enable the FPU in vPortEnableVFP.
        Port::Armv7m { fpu: has("vPortEnableVFP") }
    }
}

/// The layouts a walk needs.
pub struct Layouts {
    tcb: StructLayout,
    list: StructLayout,
    item: StructLayout,
    queue: Option<StructLayout>,
    semaphore: Option<StructLayout>,
}

/// FreeRTOS' tasks, or `None` when the image has no FreeRTOS kernel (no
/// `pxCurrentTCB`) or no DWARF for its structures.
pub fn read(target: &mut dyn Target, image: &Image) -> Option<TaskList> {
    let syms = image.symbols();
    // The SMP kernel (configNUMBER_OF_CORES > 1) has one per core; core 0's is read.
    let current_sym = syms.by_name("pxCurrentTCB").or_else(|| syms.by_name("pxCurrentTCBs"))?.address;
    let mut found = image
        .struct_layouts(&[
            &["tskTaskControlBlock", "TCB_t"],
            &["xLIST", "List_t"],
            &["xLIST_ITEM", "ListItem_t"],
            &["QueueDefinition", "Queue_t"],
            &["SemaphoreData", "SemaphoreData_t"],
        ])
        .into_iter();
    let mut next = || found.next().flatten();
    let (tcb, list, item) = (next(), next(), next());
    let (layouts, kind) = match (tcb, list, item) {
        (Some(tcb), Some(list), Some(item)) => (Layouts { tcb, list, item, queue: next(), semaphore: next() }, "dwarf"),
        _ => (fallback_layouts(), "guessed"),
    };
    let mut w = Walk {
        target,
        image,
        l: &layouts,
        problems: Vec::new(),
        tasks: Vec::new(),
        corrupt_tcbs: Vec::new(),
        blocks: Vec::new(),
        registry: None,
    };
    // The kernel's own variables lie together in its .bss: read them in one block when
    // they span at most 1 KiB.
    let kernel_vars: Vec<(u32, u32)> = [
        "pxCurrentTCB",
        "pxCurrentTCBs",
        "xSchedulerRunning",
        "pxReadyTasksLists",
        "xDelayedTaskList1",
        "xDelayedTaskList2",
        "xPendingReadyList",
        "xSuspendedTaskList",
        "xTasksWaitingTermination",
        "xQueueRegistry",
    ]
    .iter()
    .filter_map(|n| syms.by_name(n))
    .map(|s| (s.address, s.address + s.size.max(4)))
    .collect();
    if let (Some(lo), Some(hi)) = (kernel_vars.iter().map(|v| v.0).min(), kernel_vars.iter().map(|v| v.1).max()) {
        w.prefetch(lo, hi - lo);
    }
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
    // Stacks are filled (tskSET_NEW_STACKS_TO_KNOWN_VALUE) when any task's base still
    // holds the fill byte; else no count of untouched bytes means anything.
    if !tasks.iter().any(|t| t.stack.untouched_bytes.unwrap_or(0) > 0) {
        for t in &mut tasks {
            t.stack.untouched_bytes = None;
        }
    }
    // Who holds what: every registered mutex and every one a task waits on.
    let mut mutexes: Vec<WaitObject> = w.registered_objects().into_iter().filter(WaitObject::is_mutex).collect();
    for o in tasks.iter().filter_map(|t| t.wait.clone()).filter(WaitObject::is_mutex) {
        if !mutexes.iter().any(|m| m.handle == o.handle) {
            mutexes.push(o);
        }
    }
    for t in &mut tasks {
        t.holds = mutexes.iter().filter(|m| m.holder == Some(t.tcb)).map(WaitObject::describe).collect();
    }
    let names: Vec<(u32, String)> = tasks.iter().map(|t| (t.tcb, t.name.clone())).collect();
    let name = |tcb: u32| names.iter().find(|(t, _)| *t == tcb).map(|(_, n)| format!("\"{n}\"")).unwrap_or_else(|| format!("{tcb:#010x}"));
    for t in &mut tasks {
        if let (Some(w), Some(desc)) = (&t.wait, &mut t.waiting_on) {
            if let Some(h) = w.holder {
                desc.push_str(&format!(", held by {}", name(h)));
            }
        }
    }
    let deadlocks = deadlocks(&tasks);
    let port = Port::of(image, &layouts);
    if let Port::Unknown(why) = port {
        w.problems.push(format!("the switched-out tasks' saved contexts are not decoded: {why}"));
    }
    let live = if scheduler_running == Some(false) { None } else { current };
    for t in &mut tasks {
        if Some(t.tcb) == live && t.state == TaskState::Ready {
            t.state = TaskState::Running;
        }
        if Some(t.tcb) == live {
            continue;
        }
        if matches!(port, Port::Unknown(_)) {
            continue;
        }
        t.context = w.saved_context(t.stack.top_of_stack, port);
        if t.context.is_none() {
            w.problems.push(format!("task {}: its saved context at {:#010x} is unreadable", t.name, t.stack.top_of_stack));
        }
    }
    let problems = w.problems;
    let corrupt_tcbs = w.corrupt_tcbs;
    Some(TaskList { kernel: "FreeRTOS", layouts: kind, scheduler_running, current, tasks, deadlocks, corrupt_tcbs, problems })
}

/// The layouts without DWARF: only the members every FreeRTOS configuration (V8 to V11,
/// 32-bit ticks) places at the same offsets: a TCB's pxTopOfStack, xStateListItem,
/// xEventListItem, uxPriority, pxStack and pcTaskName (16 bytes read, up to the NUL);
/// List_t and ListItem_t whole; a Queue_t's head, union (a mutex's holder), waiting lists
/// and counts. They are wrong with the
/// MPU wrappers (xMPUSettings comes first) or configUSE_LIST_DATA_INTEGRITY_CHECK_BYTES,
/// and the report says they are a guess.
pub fn fallback_layouts() -> Layouts {
    fn layout(name: &str, size: u32, members: &[(&str, u32, u32)]) -> StructLayout {
        let members = members.iter().map(|&(n, offset, size)| Member { name: n.into(), offset, size: Some(size) }).collect();
        StructLayout { name: name.into(), size, members }
    }
    Layouts {
        tcb: layout(
            "TCB_t",
            68,
            &[
                ("pxTopOfStack", 0, 4),
                ("xStateListItem", 4, 20),
                ("xEventListItem", 24, 20),
                ("uxPriority", 44, 4),
                ("pxStack", 48, 4),
                ("pcTaskName", 52, 16),
            ],
        ),
        list: layout("List_t", 20, &[("uxNumberOfItems", 0, 4), ("pxIndex", 4, 4), ("xListEnd", 8, 12)]),
        item: layout(
            "ListItem_t",
            20,
            &[("xItemValue", 0, 4), ("pxNext", 4, 4), ("pxPrevious", 8, 4), ("pvOwner", 12, 4), ("pxContainer", 16, 4)],
        ),
        queue: Some(layout(
            "Queue_t",
            72,
            &[
                ("pcHead", 0, 4),
                ("u", 8, 8),
                ("xTasksWaitingToSend", 16, 20),
                ("xTasksWaitingToReceive", 36, 20),
                ("uxMessagesWaiting", 56, 4),
                ("uxLength", 60, 4),
                ("uxItemSize", 64, 4),
            ],
        )),
        semaphore: None,
    }
}

/// Cycles in "waits for a mutex held by": each found once, from its first task in list
/// order.
fn deadlocks(tasks: &[Task]) -> Vec<Deadlock> {
    let holder_of = |t: &Task| t.wait.as_ref().filter(|w| w.is_mutex()).and_then(|w| w.holder).filter(|&h| h != t.tcb);
    let mut found: Vec<Deadlock> = Vec::new();
    for start in tasks {
        let mut path = vec![start.tcb];
        let mut at = start;
        while let Some(next) = holder_of(at).and_then(|h| tasks.iter().find(|t| t.tcb == h)) {
            if let Some(i) = path.iter().position(|&p| p == next.tcb) {
                let mut cycle = path[i..].to_vec();
                let mut sorted = cycle.clone();
                sorted.sort_unstable();
                let known = found.iter().any(|d| {
                    let mut s = d.tasks.clone();
                    s.sort_unstable();
                    s == sorted
                });
                if !known {
                    // Begin at the cycle's first task in list order, for a stable text.
                    let first = (0..cycle.len()).min_by_key(|&k| tasks.iter().position(|t| t.tcb == cycle[k])).unwrap_or(0);
                    cycle.rotate_left(first);
                    found.push(describe_cycle(tasks, cycle));
                }
                break;
            }
            if path.len() > tasks.len() {
                break;
            }
            path.push(next.tcb);
            at = next;
        }
    }
    found
}

fn describe_cycle(tasks: &[Task], cycle: Vec<u32>) -> Deadlock {
    let task = |tcb: u32| tasks.iter().find(|t| t.tcb == tcb);
    let mut parts = Vec::new();
    let mut forever = true;
    for &tcb in &cycle {
        let Some(t) = task(tcb) else { continue };
        let Some(w) = &t.wait else { continue };
        let holder = w.holder.and_then(task).map(|h| format!("\"{}\"", h.name)).unwrap_or_default();
        let held = if t.holds.is_empty() { String::new() } else { format!(" holds {} and", t.holds.join(", ")) };
        let until = match t.wakes_at {
            Some(tick) => {
                forever = false;
                format!(" until tick {tick}")
            }
            None => " forever".to_string(),
        };
        parts.push(format!("\"{}\"{held} waits{until} for {}, held by {holder}", t.name, w.describe()));
    }
    Deadlock { tasks: cycle, forever, description: parts.join("; ") }
}

struct Walk<'a> {
    target: &'a mut dyn Target,
    image: &'a Image,
    l: &'a Layouts,
    problems: Vec<String>,
    tasks: Vec<Task>,
    corrupt_tcbs: Vec<u32>,
    /// Blocks of target memory read whole (TCBs).
    blocks: Vec<(u32, Vec<u8>)>,
    /// The queue registry, read once.
    registry: Option<Vec<(u32, u32)>>,
}

impl Walk<'_> {
    fn word(&mut self, address: u32) -> Option<u32> {
        self.words(address, 1).map(|w| w[0])
    }

    fn words(&mut self, address: u32, n: usize) -> Option<Vec<u32>> {
        let b = self.bytes(address, 4 * n)?;
        Some(b.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    }

    /// Target memory, from a block read before when one holds it (each TCB is read in
    /// one piece: its members, list items and name then cost no round trip of their own).
    fn bytes(&mut self, address: u32, len: usize) -> Option<Vec<u8>> {
        let end = u64::from(address) + len as u64;
        if let Some((at, b)) = self.blocks.iter().find(|(at, b)| *at <= address && end <= u64::from(*at) + b.len() as u64) {
            let from = (address - at) as usize;
            return Some(b[from..from + len].to_vec());
        }
        let mut b = vec![0u8; len];
        self.target.read_memory(address, &mut b).ok()?;
        Some(b)
    }

    /// Reads a block (a TCB) into the walk's cache.
    fn prefetch(&mut self, address: u32, len: u32) {
        let end = u64::from(address) + u64::from(len);
        let held = self.blocks.iter().any(|(at, b)| *at <= address && end <= u64::from(*at) + b.len() as u64);
        if held || self.blocks.len() >= 4 * MAX_TASKS || len == 0 || len > 1024 {
            return;
        }
        let mut b = vec![0u8; len as usize];
        if self.target.read_memory(address, &mut b).is_ok() {
            self.blocks.push((address, b));
        }
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
            // The item is most likely a TCB's state list item: read that TCB whole.
            if let Some(state_off) = self.l.tcb.offset("xStateListItem") {
                self.prefetch(item.wrapping_sub(state_off), self.l.tcb.size);
            }
            let Some(owner) = self.word(item + owner_off) else {
                self.problems.push(format!("{what}: the list item at {item:#010x} is unreadable"));
                return;
            };
            // A task list's items are TCBs' state or event list items: the owner an item
            // names must be the TCB it lies in.
            let embedded = [self.l.tcb.offset("xStateListItem"), self.l.tcb.offset("xEventListItem")];
            if owner != 0 && !embedded.iter().flatten().any(|&o| owner.wrapping_add(o) == item) {
                let tcb = item.wrapping_sub(embedded[0].unwrap_or(0));
                self.problems.push(format!(
                    "{what}: the list item at {item:#010x} names {owner:#010x} as its owner, not the TCB it lies in ({tcb:#010x}): that TCB is corrupt"
                ));
                if !self.corrupt_tcbs.contains(&tcb) {
                    self.corrupt_tcbs.push(tcb);
                }
                return;
            }
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
        self.prefetch(tcb, self.l.tcb.size);
        let name = self.name(tcb);
        let priority = self.field(tcb, true, "uxPriority")?;
        let base_priority = self.field(tcb, true, "uxBasePriority");
        let base = self.field(tcb, true, "pxStack").unwrap_or(0);
        let top_of_stack = self.field(tcb, true, "pxTopOfStack").unwrap_or(0);
        // In the suspended list with an event list item in use: blocked with no timeout.
        let event = self.l.tcb.offset("xEventListItem").zip(self.l.item.offset("pxContainer"));
        let container = event.and_then(|(e, c)| self.word(tcb + e + c)).filter(|&c| c != 0);
        let state = if state == TaskState::Suspended && container.is_some() { TaskState::Blocked } else { state };
        let (wait, waiting_on) = match container.filter(|_| state == TaskState::Blocked) {
            Some(c) => {
                let wait = self.wait_object(c);
                let desc = wait.as_ref().map(WaitObject::describe).unwrap_or_else(|| self.describe_list(c));
                (wait, Some(desc))
            }
            None => (None, None),
        };
        let wakes_at = if state == TaskState::Blocked { wakes_at } else { None };
        let mutexes_held = self.field(tcb, true, "uxMutexesHeld");
        let untouched_bytes = self.untouched(base, top_of_stack);
        let stack = TaskStack { base, top_of_stack, untouched_bytes };
        Some(Task {
            name,
            tcb,
            state,
            priority,
            base_priority,
            waiting_on,
            wait,
            wakes_at,
            mutexes_held,
            holds: Vec::new(),
            stack,
            context: None,
            backtrace: Vec::new(),
            backtrace_end: None,
        })
    }

    /// The registers a switched-out task resumes with, from its saved context at `top`.
    fn saved_context(&mut self, top: u32, port: Port) -> Option<SavedContext> {
        self.prefetch(top, CONTEXT_MAX);
        let (callee, exc_return, mut at) = match port {
            Port::Armv7m { fpu: false } => (self.words(top, 8)?, None, top + 32),
            Port::Armv7m { fpu: true } => {
                let w = self.words(top, 9)?;
                (w[..8].to_vec(), Some(w[8]), top + 36)
            }
            Port::Armv8m { secure_context } => {
                // [xSecureContext,] PSPLIM, EXC_RETURN, R4-R11.
                let skip = u32::from(secure_context);
                let w = self.words(top + 4 * skip, 10)?;
                (w[2..].to_vec(), Some(w[1]), top + 4 * skip + 40)
            }
            Port::Unknown(_) => return None,
        };
        let fp = exc_return.is_some_and(|e| e & 0x10 == 0);
        let high = if fp {
            let w = self.words(at, 16)?;
            at += 64;
            Some(w)
        } else {
            None
        };
        // The hardware frame, and in an extended one S0-S15 and FPSCR after it.
        let hw = self.words(at, if fp { 25 } else { 8 })?;
        let (s, fpscr) = match &high {
            Some(h) => (Some(hw[8..24].iter().chain(h).copied().collect::<Vec<u32>>()), Some(hw[24])),
            None => (None, None),
        };
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
        Some(SavedContext { pc: hw[6], lr: hw[5], sp, exc_return, fp, s, fpscr, registers: r })
    }

    fn name(&mut self, tcb: u32) -> String {
        let Some(m) = self.l.tcb.member("pcTaskName").cloned() else { return String::new() };
        let Some(b) = self.bytes(tcb + m.offset, m.size.unwrap_or(16).min(64) as usize) else { return String::new() };
        let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
        String::from_utf8_lossy(&b[..end]).into_owned()
    }

    /// The queue registry (configQUEUE_REGISTRY_SIZE): (name pointer, handle) pairs.
    fn registry(&mut self) -> Vec<(u32, u32)> {
        if let Some(r) = &self.registry {
            return r.clone();
        }
        let Some((at, size)) = self.image.symbols().by_name("xQueueRegistry").map(|s| (s.address, s.size)) else {
            return Vec::new();
        };
        // QueueRegistryItem_t: { const char *pcQueueName; QueueHandle_t xHandle; }
        let n = (size / 8).min(64) as usize;
        let r: Vec<(u32, u32)> = match self.words(at, 2 * n) {
            Some(words) => words.chunks_exact(2).map(|c| (c[0], c[1])).filter(|&(_, h)| h != 0).collect(),
            None => Vec::new(),
        };
        self.registry = Some(r.clone());
        r
    }

    /// Every registered queue, semaphore and mutex.
    fn registered_objects(&mut self) -> Vec<WaitObject> {
        let mut out = Vec::new();
        for (_, handle) in self.registry() {
            if let Some(o) = self.queue_at(handle, "receive") {
                out.push(o);
            }
        }
        out
    }

    /// The queue (or semaphore, or mutex) whose waiting list `list` is: one of its two
    /// lists, xTasksWaitingToReceive or xTasksWaitingToSend.
    fn wait_object(&mut self, list: u32) -> Option<WaitObject> {
        let q = self.l.queue.as_ref()?;
        let (recv, send) = (q.offset("xTasksWaitingToReceive")?, q.offset("xTasksWaitingToSend")?);
        let candidates = [(list.wrapping_sub(recv), "receive"), (list.wrapping_sub(send), "send")];
        // A registered queue is known for what it is.
        let registry = self.registry();
        for (handle, direction) in candidates {
            if registry.iter().any(|&(_, h)| h == handle) {
                return self.queue_at(handle, direction);
            }
        }
        // Else the candidate whose other list is a list too: each List_t's end marker
        // holds portMAX_DELAY as its value, which the words after the last list
        // (uxMessagesWaiting, uxLength, ...) do not.
        let end_value = self.l.list.offset("xListEnd")? + self.l.item.offset("xItemValue").unwrap_or(0);
        for (handle, direction) in candidates {
            let other = if direction == "receive" { handle + send } else { handle + recv };
            if self.word(other + end_value) == Some(u32::MAX) && self.word(list + end_value) == Some(u32::MAX) {
                return self.queue_at(handle, direction);
            }
        }
        None
    }

    /// The Queue_t at `handle`: its kind, registry name and (mutexes) holder.
    fn queue_at(&mut self, handle: u32, direction: &'static str) -> Option<WaitObject> {
        let q = self.l.queue.clone()?;
        let words = self.words(handle, (q.size as usize).div_ceil(4).min(64))?;
        let at = |off: Option<u32>| off.and_then(|o| words.get(o as usize / 4).copied());
        let byte_at = |off: Option<u32>| off.and_then(|o| words.get(o as usize / 4).map(|w| (w >> (8 * (o % 4))) as u8));
        // queueQUEUE_IS_MUTEX: a mutex has no storage (pcHead NULL).
        let pc_head = at(q.offset("pcHead"));
        let item_size = at(q.offset("uxItemSize"));
        let kind = match byte_at(q.offset("ucQueueType")) {
            Some(0) => "queue",
            Some(1) => "mutex",
            Some(2) => "counting-semaphore",
            Some(3) => "binary-semaphore",
            Some(4) => "recursive-mutex",
            _ if pc_head == Some(0) => "mutex",
            _ if item_size == Some(0) => "semaphore",
            _ => "queue",
        };
        let holder = if kind.ends_with("mutex") {
            let within = self.l.semaphore.as_ref().and_then(|s| s.offset("xMutexHolder")).unwrap_or(0);
            at(q.offset("u").map(|u| u + within)).filter(|&h| h != 0)
        } else {
            None
        };
        let name = self
            .registry()
            .into_iter()
            .find(|&(_, h)| h == handle)
            .and_then(|(p, _)| c_string(&mut *self.target, p, 32));
        Some(WaitObject { handle, kind, name, direction, holder })
    }

    /// A wait list that is no queue's: the data symbol that holds it, or its address.
    fn describe_list(&mut self, list: u32) -> String {
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
        // With the saved context above it in the same read, when the whole stack is
        // scanned (the context is then decoded from this block).
        let b = if top - base <= MAX_STACK_SCAN {
            let mut b = vec![0u8; (len + CONTEXT_MAX) as usize];
            if self.target.read_memory(base, &mut b).is_ok() {
                self.blocks.push((base, b.clone()));
                b
            } else {
                self.bytes(base, len as usize)?
            }
        } else {
            self.bytes(base, len as usize)?
        };
        let b = &b[..len as usize];
        // 0 when the base is written: the stack was used to its end (or is not filled,
        // which `read` finds when no task's base holds the fill).
        // Whole stack words, as the kernel counts its high-water mark: a written word whose
        // low bytes happen to be 0xa5 is not untouched.
        let run = b.iter().position(|&c| c != STACK_FILL).unwrap_or(b.len()) as u32;
        Some(run & !3)
    }
}

/// The error hooks isrscope stops at by itself when the image has FreeRTOS and defines
/// them: the kernel's stack overflow and malloc failure hooks, and `vAssertCalled`, the
/// function FreeRTOS' demos (and many projects after them) make configASSERT call.
pub const HOOKS: [&str; 3] = ["vApplicationStackOverflowHook", "vApplicationMallocFailedHook", "vAssertCalled"];

/// The core at the entry of one of the [`HOOKS`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HookStop {
    /// `vApplicationStackOverflowHook(TaskHandle_t, char *)`, called from the context
    /// switch when configCHECK_FOR_STACK_OVERFLOW finds a task's stack overrun: the task
    /// from its arguments (R0 the handle, R1 the name).
    StackOverflow { tcb: u32, name: String },
    /// `vApplicationMallocFailedHook()`: pvPortMalloc found no room.
    MallocFailed,
    /// `vAssertCalled(...)`: a configASSERT failed; where is the caller's frame.
    AssertFailed,
}

/// Which of the [`HOOKS`] the core stands at the entry of, if any.
pub fn hook_entered(target: &mut dyn Target, image: &Image, registers: &Registers) -> Option<HookStop> {
    let pc = registers.get("pc")? & !1;
    let hook = HOOKS.iter().copied().find(|h| image.symbols().by_name(h).is_some_and(|s| s.address & !1 == pc))?;
    Some(match hook {
        "vApplicationStackOverflowHook" => {
            let tcb = registers.get("r0")?;
            let name = registers.get("r1").and_then(|p| c_string(target, p, 32)).unwrap_or_default();
            HookStop::StackOverflow { tcb, name }
        }
        "vApplicationMallocFailedHook" => HookStop::MallocFailed,
        _ => HookStop::AssertFailed,
    })
}

/// The entry addresses of the [`HOOKS`] the image defines (none without FreeRTOS).
pub fn hook_addresses(image: &Image) -> Vec<u32> {
    let syms = image.symbols();
    if syms.by_name("pxCurrentTCB").is_none() {
        return Vec::new();
    }
    HOOKS.iter().filter_map(|h| syms.by_name(h)).filter(|s| s.defined).map(|s| s.address & !1).collect()
}

/// A NUL-terminated string of at most `max` bytes at `address` in target memory.
fn c_string(target: &mut dyn Target, address: u32, max: usize) -> Option<String> {
    let mut b = vec![0u8; max];
    target.read_memory(address, &mut b).ok()?;
    let end = b.iter().position(|&c| c == 0).unwrap_or(max);
    Some(String::from_utf8_lossy(&b[..end]).into_owned())
}
