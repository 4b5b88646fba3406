//! What the RTOS's own state says is wrong: the kernel's error hooks the core stopped
//! at, stacks used to their end, corrupt TCBs, tasks deadlocked on mutexes.

use crate::debuginfo::Image;
use crate::rtos::freertos::{self, HookStop};
use crate::rtos::TaskList;
use crate::target::{Registers, Target};

use super::{BacktraceEntry, Finding, Severity};

/// Finding codes that make the report's outcome `rtos-error` when no fault is active.
pub const ERROR_CODES: [&str; 4] = ["rtos-stack-overflow", "rtos-assert-failed", "rtos-malloc-failed", "rtos-deadlock"];

pub(crate) fn findings(
    target: &mut dyn Target,
    image: &Image,
    registers: &Registers,
    backtrace: &[BacktraceEntry],
    list: &TaskList,
) -> Vec<Finding> {
    let mut out: Vec<Finding> = list
        .problems
        .iter()
        .map(|p| Finding::new("rtos-tasks-incomplete", Severity::Warning, format!("{}: {p}", list.kernel)))
        .collect();
    if list.layouts == "guessed" {
        out.push(Finding::new(
            "rtos-layout-guessed",
            Severity::Info,
            format!(
                "{}: the ELF has no DWARF for the kernel's structures; the tasks are read with the offsets every configuration shares (docs/rtos.md), a guess: wrong with the MPU wrappers or list integrity checks; base priorities and queue types are not read",
                list.kernel
            ),
        ));
    }
    let hook = freertos::hook_entered(target, image, registers);
    // The caller of a hook: the first frame after the hook's own (and the functions
    // inlined at its entry, which share its PC).
    let pc = registers.get("pc");
    let caller_frame = backtrace.iter().filter(|e| e.kind == "frame").find(|e| e.pc != pc);
    let caller = caller_frame.map(where_);
    let mut caught = None;
    match &hook {
        Some(HookStop::StackOverflow { tcb, name }) => {
            caught = Some(*tcb);
            let detail = match list.task(*tcb).map(|t| &t.stack) {
                Some(s) if s.untouched_bytes == Some(0) => {
                    format!("; no fill byte is left at its stack's base ({:#010x}): it ran past the end, into the memory below", s.base)
                }
                Some(s) => match s.untouched_bytes {
                    Some(u) => format!("; its stack at {:#010x} still has {u} untouched bytes at the base", s.base),
                    None => String::new(),
                },
                None => String::new(),
            };
            out.push(Finding::new(
                "rtos-stack-overflow",
                Severity::Error,
                format!(
                    "FreeRTOS' stack overflow check caught task \"{name}\" (TCB {tcb:#010x}): the core is at the entry of vApplicationStackOverflowHook, called from the context switch{detail}"
                ),
            ));
        }
        Some(HookStop::AssertFailed) => out.push(Finding::new(
            "rtos-assert-failed",
            Severity::Error,
            format!(
                "a configASSERT failed{}{}: the core is at the entry of vAssertCalled, which the assertion calls",
                caller.as_deref().map(|c| format!(" in {c}")).unwrap_or_default(),
                caller_frame.and_then(source_line).map(|l| format!(" (`{l}`)")).unwrap_or_default()
            ),
        )),
        Some(HookStop::MallocFailed) => {
            let free = image.symbols().by_name("xFreeBytesRemaining").and_then(|s| read_word(target, s.address));
            out.push(Finding::new(
                "rtos-malloc-failed",
                Severity::Error,
                format!(
                    "pvPortMalloc found no room{}: FreeRTOS called vApplicationMallocFailedHook{}",
                    free.map(|f| format!(" ({f} bytes of the heap free, fragmented or too few)")).unwrap_or_default(),
                    caller.as_deref().map(|c| format!(" (the allocation: {c})")).unwrap_or_default()
                ),
            ));
        }
        None => {}
    }
    // The running task's stack pointer below its stack: overflowed now.
    let running = list.current.and_then(|c| list.task(c));
    let psp = registers.get("psp");
    let mut overflowed = Vec::new();
    if let (Some(t), Some(sp)) = (running, psp) {
        let base = t.stack.base;
        if base != 0 && sp < base && base - sp <= 64 * 1024 && list.scheduler_running != Some(false) {
            overflowed.push(t.tcb);
            out.push(Finding::new(
                "rtos-stack-overflow",
                Severity::Error,
                format!(
                    "the running task \"{}\" has overflowed its stack: its stack pointer (PSP {sp:#010x}) is {} bytes below its stack's base ({base:#010x}){}",
                    t.name,
                    base - sp,
                    below(list, base)
                ),
            ));
        }
    }
    // A stack used to its very end (no fill byte left at the base) where stacks are
    // filled: the task has most likely run past it.
    for t in &list.tasks {
        if t.stack.untouched_bytes != Some(0) || Some(t.tcb) == caught || overflowed.contains(&t.tcb) {
            continue;
        }
        out.push(Finding::new(
            "rtos-stack-overflow",
            Severity::Error,
            format!(
                "task \"{}\" has no fill byte (0xa5) left at its stack's base ({:#010x}): it used all of its stack and most likely ran past it, into the memory below{}; nothing caught it (configCHECK_FOR_STACK_OVERFLOW checks only at a context switch, and method 1 only the saved stack pointer)",
                t.name,
                t.stack.base,
                below(list, t.stack.base)
            ),
        ));
    }
    for d in &list.deadlocks {
        let (code, severity, what) = if d.forever {
            ("rtos-deadlock", Severity::Error, "deadlocked: each waits forever for a mutex the next one holds")
        } else {
            ("rtos-wait-cycle", Severity::Warning, "wait for each other's mutexes in a cycle, with timeouts: the waits will time out, and retrying repeats it")
        };
        let names: Vec<String> = d.tasks.iter().map(|&t| list.name_of(t)).collect();
        out.push(Finding::new(code, severity, format!("tasks {} are {what}: {}", names.join(", "), d.description)));
    }
    out
}

/// What lies just below a stack's base, where an overflow writes first: a TCB found
/// corrupt, or another task's TCB (heap_4 allocates a stack, then its TCB).
fn below(list: &TaskList, base: u32) -> String {
    // A heap block's header and alignment sit between two allocations.
    let near = |tcb: u32| tcb < base && base - tcb <= 256;
    if let Some(&tcb) = list.corrupt_tcbs.iter().find(|&&t| near(t)) {
        return format!(" (just below it is the TCB at {tcb:#010x}, which a kernel list found corrupt)");
    }
    match list.tasks.iter().find(|t| near(t.tcb)) {
        Some(t) => format!(" (just below it is task \"{}\"'s TCB at {:#010x})", t.name, t.tcb),
        None => String::new(),
    }
}

/// `xQueueGiveFromISR at .../queue.c:1356`.
fn where_(e: &BacktraceEntry) -> String {
    let f = e.function.clone().unwrap_or_else(|| e.pc.map(|p| format!("{p:#010x}")).unwrap_or_default());
    match (&e.file, e.line) {
        (Some(file), Some(line)) => format!("{f} at {file}:{line}"),
        _ => f,
    }
}

/// The text of a frame's source line, where the source is on this machine.
fn source_line(e: &BacktraceEntry) -> Option<String> {
    let (file, line) = (e.file.as_ref()?, e.line? as usize);
    let meta = std::fs::metadata(file).ok()?;
    if meta.len() > 8 << 20 {
        return None;
    }
    let text = std::fs::read_to_string(file).ok()?;
    let l = text.lines().nth(line.checked_sub(1)?)?.trim();
    (!l.is_empty() && l.len() <= 200).then(|| l.to_string())
}

fn read_word(target: &mut dyn Target, address: u32) -> Option<u32> {
    let mut b = [0u8; 4];
    target.read_memory(address, &mut b).ok()?;
    Some(u32::from_le_bytes(b))
}
