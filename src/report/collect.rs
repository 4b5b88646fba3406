//! Building a [`Report`] from a halted target: the one place that ties the model, the
//! target and the unwinder together. Reads are few and whole: every core register in
//! one request, the SCB fault block (CPUID..AFSR) in one, the stack through the
//! unwinder's block cache.

use std::collections::BTreeMap;

use crate::debuginfo::Image;
use crate::model::arch::{CpuId, Profile};
use crate::model::exception::ExceptionNumber;
use crate::model::fault::{FaultAnalysis, FaultClass, FaultContext, FaultRegister, FaultRegisters};
use crate::model::frame::FpSource;
use crate::model::regs::{SCB_BLOCK_LEN, SCB_BLOCK_START, ScbBlock};
use crate::target::{Registers, StopReason, Target, TargetError, reg};
use crate::unwind::{self, Frame, Termination, UnwindOptions};

use super::{
    BacktraceEntry, CauseDetail, ExceptionFrame, FaultSummary, Finding, FpFrame, Outcome, Report, SCHEMA_VERSION,
    Severity, SvcSummary, TargetSummary, V6mExplanation,
};

/// What the caller knows that the target cannot tell.
#[derive(Clone, Debug, Default)]
pub struct CollectOptions {
    /// Why the core is halted (from the wait that stopped it).
    pub stop: Option<StopReason>,
    /// The core is locked up (DHCSR.S_LOCKUP, or the backend said so).
    pub locked_up: bool,
    /// Say this first (e.g. "no fault within 5 s").
    pub preface: Option<String>,
    /// Read every register the target has, the FP bank included. Otherwise the FP
    /// registers are read only when they are needed (lazy stacking pending): over a
    /// GDB server each is one request, most of a report's link cost.
    pub all_registers: bool,
}

/// The registers a report always reads: the core and system registers (the v8-M
/// banked ones where present). The FP bank is read on demand (see `all_registers`).
const REPORT_REGISTERS: [&str; 29] = [
    "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12",
    reg::SP, reg::LR, reg::PC, reg::XPSR, reg::MSP, reg::PSP, reg::PRIMASK, reg::BASEPRI,
    reg::FAULTMASK, reg::CONTROL, reg::MSP_NS, reg::PSP_NS, reg::MSP_S, reg::PSP_S, reg::MSPLIM, reg::PSPLIM,
];

/// The report's registers, read in as few requests as the target allows. In Handler
/// mode the core runs on the main stack, so MSP is SP (ARMv7-M B1.4.1, ARMv8-M: of the
/// current security state) and is not asked for: one request fewer over a GDB server.
fn report_registers(target: &mut dyn Target) -> Result<Registers, TargetError> {
    let others: Vec<&str> = REPORT_REGISTERS.iter().copied().filter(|n| *n != reg::MSP).collect();
    let mut registers = target.read_register_set(&others)?;
    let in_handler = registers.get(reg::XPSR).is_some_and(|x| !ExceptionNumber::from_xpsr(x).is_thread());
    match registers.get(reg::SP) {
        Some(sp) if in_handler => registers.insert(reg::MSP, sp),
        _ => {
            for (name, value) in target.read_register_set(&[reg::MSP])?.iter() {
                registers.insert(name, value);
            }
        }
    }
    Ok(registers)
}

/// An exception frame of the backtrace whose S0-S15 are still in the FPU (lazy FP
/// stacking pending, FPCCR.LSPACT) while the live FP registers were not read.
fn needs_live_fp(bt: &unwind::Backtrace) -> bool {
    bt.exceptions().any(|e| e.frame.as_ref().and_then(|f| f.fp.as_ref()).is_some_and(|fp| fp.source == FpSource::StaleMemory))
}

/// Reads the halted core behind `target` and explains it. `image` symbolizes and
/// unwinds; without it the report has registers, frames and fault bits only.
pub fn collect(target: &mut dyn Target, image: Option<&Image>, opts: &CollectOptions) -> Result<Report, TargetError> {
    collect_with_backtrace(target, image, opts).map(|(report, _)| report)
}

/// [`collect`], also returning the unwinder's full result (per-frame recovered
/// registers, stacked frames) for views that show more than the report carries.
pub fn collect_with_backtrace(
    target: &mut dyn Target,
    image: Option<&Image>,
    opts: &CollectOptions,
) -> Result<(Report, Option<unwind::Backtrace>), TargetError> {
    let mut registers = if opts.all_registers { target.read_registers()? } else { report_registers(target)? };
    let mut findings = Vec::new();

    let mut scb_bytes = [0u8; SCB_BLOCK_LEN];
    let scb = match target.read_memory(SCB_BLOCK_START, &mut scb_bytes) {
        Ok(()) => ScbBlock::from_bytes(&scb_bytes),
        Err(e) => {
            findings.push(Finding::new("scb-unreadable", Severity::Warning, format!("the fault registers cannot be read: {e}")));
            None
        }
    };
    let cpuid = scb.map(|s| CpuId::decode(s.cpuid));
    let profile = cpuid.and_then(|c| c.profile);
    // Registers the architecture does not have are absent, whatever the server's target
    // description offers: OpenOCD describes BASEPRI and FAULTMASK on ARMv6-M too, and
    // they read 0 there. Found through the virtual probe (OpenOCD on the micro:bit's M0).
    if profile.is_some_and(|p| !p.has_basepri_faultmask()) {
        registers.remove(reg::BASEPRI);
        registers.remove(reg::FAULTMASK);
    }

    let xpsr = registers.get(reg::XPSR).unwrap_or(0);
    let active = ExceptionNumber::from_xpsr(xpsr);
    let exception = (!active.is_thread()).then_some(active);

    // One CFI index for the report: the core's backtrace and every RTOS task's.
    let mut unwinder = image.map(unwind::Unwinder::new);
    let backtrace = match &mut unwinder {
        Some(unwinder) => {
            let mut uopts = UnwindOptions { profile, registers: Some(registers.clone()), ..UnwindOptions::default() };
            let mut result = unwinder.unwind(target, &uopts);
            // The FP bank is read only when a frame needs it (lazy stacking pending: the
            // unwinder read FPCCR because it met an extended frame), then the stack is
            // unwound again (from the memory already read) with the live S0-S15.
            if !opts.all_registers && result.as_ref().is_ok_and(needs_live_fp) {
                let fp: Vec<String> = (0..16).map(reg::s).chain([reg::FPSCR.to_string()]).collect();
                let names: Vec<&str> = fp.iter().map(String::as_str).collect();
                for (name, value) in target.read_register_set(&names)?.iter() {
                    registers.insert(name, value);
                }
                uopts.registers = Some(registers.clone());
                result = unwinder.unwind(target, &uopts);
            }
            match result {
                Ok(bt) => Some(bt),
                Err(e) => {
                    findings.push(Finding::new("unwind-incomplete", Severity::Warning, format!("no backtrace: {e}")));
                    None
                }
            }
        }
        None => None,
    };

    // The innermost exception frame tells what the fault interrupted.
    let innermost = backtrace.as_ref().and_then(|bt| bt.exceptions().next().cloned());
    let interrupted = innermost.as_ref().and_then(|e| e.frame.as_ref()).map(|f| f.interrupted_exception());

    let primask = registers.get(reg::PRIMASK).map(|v| v & 1 != 0);
    let fault = match scb {
        Some(scb) => {
            let mut fault_regs = FaultRegisters::from_scb(&scb);
            super::live::add_optional_fault_registers(target, cpuid, &mut fault_regs);
            let (interrupted_priority, prigroup) =
                super::live::escalation_priorities(target, &scb, &fault_regs, interrupted);
            let ctx = FaultContext {
                profile,
                shcsr: Some(scb.shcsr),
                shpr: Some(scb.shpr),
                primask,
                faultmask: registers.get(reg::FAULTMASK).map(|v| v & 1 != 0),
                basepri: registers.get(reg::BASEPRI).map(|v| v as u8),
                active: Some(active),
                interrupted,
                interrupted_priority,
                prigroup,
                dhcsr: opts.locked_up.then_some(crate::model::regs::dcb::DHCSR_S_LOCKUP),
                // At a handler's entry SP is where the hardware pushed (or tried to push) the frame.
                sp: registers.get(reg::SP),
                stack_bounds: image.and_then(stack_ram),
            };
            let analysis = FaultAnalysis::analyze(&fault_regs, &ctx);
            let in_fault = active.is_fault() || analysis.class == FaultClass::Lockup;
            // DFSR records why the debugger halted the core, not a fault: it is never stale.
            let fault_causes: Vec<_> =
                analysis.causes.iter().filter(|c| c.register != FaultRegister::Dfsr).collect();
            if !in_fault && !fault_causes.is_empty() {
                findings.push(Finding::new(
                    "stale-fault-status",
                    Severity::Info,
                    format!(
                        "fault status bits are set ({}) but no fault handler is active: they are sticky, left from an earlier fault",
                        fault_causes.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            // Without status registers only the faulting instruction explains a HardFault.
            let v6m = match (profile, innermost.as_ref()) {
                (Some(p), Some(entry)) if !p.has_fault_status_registers() && active == ExceptionNumber::HARD_FAULT => {
                    entry.frame.as_ref().map(|frame| {
                        let vctx = super::v6m::V6mContext {
                            profile: p,
                            image,
                            frame,
                            r4_r11: interrupted_r4_r11(backtrace.as_ref()),
                            scb: Some(&scb),
                            primask,
                        };
                        super::v6m::explain(target, &vctx)
                    })
                }
                _ => None,
            };
            in_fault.then(|| fault_summary(&fault_regs, &analysis, v6m))
        }
        None => None,
    };
    // An SVC being handled: its number and arguments.
    let svc = match innermost.as_ref().and_then(|e| e.frame.as_ref()) {
        Some(frame) if active == ExceptionNumber::SVCALL => super::live::svc_call(target, frame),
        _ => None,
    };

    let exception_frames: Vec<ExceptionFrame> = backtrace
        .as_ref()
        .map(|bt| bt.exceptions().filter_map(|e| exception_frame(e, image)).collect())
        .unwrap_or_default();
    let entries: Vec<BacktraceEntry> = backtrace
        .as_ref()
        .map(|bt| bt.frames.iter().map(backtrace_entry).collect())
        .unwrap_or_default();

    if let Some(f) = &fault {
        if f.class == FaultClass::HardFault && f.primary != FaultClass::HardFault {
            findings.push(Finding::new(
                "escalated-to-hardfault",
                Severity::Error,
                format!("a {} escalated to HardFault: {}", f.primary, f.escalation.join("; ")),
            ));
        }
        if f.causes.iter().any(|c| c == "IMPRECISERR") {
            findings.push(Finding::new(
                "imprecise-bus-fault",
                Severity::Warning,
                "imprecise BusFault: the stacked PC is after the store that failed; set ACTLR.DISDEFWBUF (bit 1) to make bus faults precise while debugging",
            ));
        }
    }
    if exception.is_some() && xpsr & (1 << 24) == 0 {
        findings.push(Finding::new(
            "vector-missing-thumb-bit",
            Severity::Error,
            format!(
                "the {} handler was entered with EPSR.T = 0: its vector lacks the Thumb bit, so its first instruction raises INVSTATE (a UsageFault, escalating to HardFault); fix the vector table entry",
                active
            ),
        ));
    }
    if opts.locked_up || fault.as_ref().is_some_and(|f| f.class == FaultClass::Lockup) {
        findings.push(Finding::new("lockup", Severity::Error, "the core is locked up: a fault happened inside HardFault or NMI"));
    }
    if exception_frames.iter().any(|f| f.fp.as_ref().is_some_and(|fp| fp.source == "registers")) {
        findings.push(Finding::new(
            "lazy-fp-state",
            Severity::Info,
            "lazy FP stacking was pending (FPCCR.LSPACT=1): S0-S15 and FPSCR of the interrupted context are taken from the live FPU registers, not from the stale frame memory",
        ));
    }
    if let Some(bt) = &backtrace {
        if let Some(so) = &bt.stack_overflow {
            findings.push(Finding::new("stack-overflow", Severity::Error, so.explanation.clone()));
        }
        let complete = matches!(
            bt.termination,
            Termination::ResetHandler { .. }
                | Termination::BottomOfStack { .. }
                | Termination::ResetLr
                | Termination::OutermostFrame { .. }
                | Termination::TaskEntry { .. }
        );
        if !complete {
            findings.push(Finding::new("unwind-incomplete", Severity::Warning, format!("the backtrace is incomplete: {}", bt.termination)));
        }
        // The overflow's explanation is already its own finding.
        let overflow = bt.stack_overflow.as_ref().map(|so| so.explanation.as_str());
        for w in bt.warnings.iter().filter(|w| Some(w.as_str()) != overflow) {
            findings.push(Finding::new("unwind-note", Severity::Info, w.clone()));
        }
    }
    if image.is_none() {
        findings.push(Finding::new("no-elf", Severity::Info, "no ELF given (--elf): no symbols, source lines or backtrace"));
    }

    let outcome = if opts.locked_up {
        Outcome::Lockup
    } else {
        // Fault registers unreadable: the active handler still tells which fault it is
        // (a HardFault must never exit 0 because the SCB could not be read).
        fault.as_ref().map(|f| Outcome::from_class(f.class)).unwrap_or(match active {
            ExceptionNumber::HARD_FAULT => Outcome::HardFault,
            ExceptionNumber::MEM_MANAGE => Outcome::MemManage,
            ExceptionNumber::BUS_FAULT => Outcome::BusFault,
            ExceptionNumber::USAGE_FAULT => Outcome::UsageFault,
            ExceptionNumber::SECURE_FAULT => Outcome::SecureFault,
            _ => Outcome::NoFault,
        })
    };
    let summary = summarize(opts.preface.as_deref(), exception, fault.as_ref(), svc.as_ref(), &entries, backtrace.as_ref());

    let mut tasks = image.and_then(|i| crate::rtos::freertos::read(target, i));
    if let (Some(list), Some(unwinder)) = (&mut tasks, &mut unwinder) {
        unwind_tasks(target, unwinder, profile, list);
    }
    if let (Some(list), Some(image)) = (&tasks, image) {
        findings.extend(super::rtos::findings(target, image, &registers, &entries, list));
    }
    // The kernel stopped the firmware (a hook, a deadlock) while no fault is active.
    let outcome = if outcome == Outcome::NoFault
        && findings.iter().any(|f| f.severity == Severity::Error && super::rtos::ERROR_CODES.contains(&f.code.as_str()))
    {
        Outcome::RtosError
    } else {
        outcome
    };
    let caps = target.capabilities();
    let report = Report {
        schema: SCHEMA_VERSION,
        summary,
        target: TargetSummary {
            description: caps.description.clone(),
            core: cpuid.map(|c| c.to_string()),
            profile: profile.map(|p: Profile| p.to_string()),
            stop: opts.stop.as_ref().map(|s| describe_stop(s, image)),
            elf: image.and_then(|i| i.path()).map(|p| p.display().to_string()),
        },
        exception,
        registers: registers.iter().map(|(k, v)| (k.to_string(), v)).collect(),
        exception_frames,
        fault,
        svc,
        backtrace: entries,
        backtrace_end: backtrace.as_ref().map(|bt| bt.termination.to_string()),
        findings,
        outcome,
        tasks,
    };
    Ok((report, backtrace))
}

/// `[start, end)` of the RAM region that holds the main stack, from the ELF.
fn stack_ram(image: &Image) -> Option<(u32, u32)> {
    let top = image.stack_region()?.top;
    let region = image.memory_regions().iter().find(|r| r.contains(top.wrapping_sub(1)))?;
    Some((region.start, region.end))
}

/// R4-R11 of the context the innermost exception interrupted, as the unwinder
/// recovered them for the first frame below the exception entry.
fn interrupted_r4_r11(bt: Option<&unwind::Backtrace>) -> Option<[u32; 8]> {
    let frame = bt?
        .frames
        .iter()
        .skip_while(|f| !matches!(f, Frame::Exception(_)))
        .find_map(|f| match f {
            Frame::Frame(f) if !f.inlined => f.registers.as_ref(),
            _ => None,
        })?;
    let mut out = [0u32; 8];
    for (i, v) in out.iter_mut().enumerate() {
        *v = frame.get(4 + i)?;
    }
    Some(out)
}

fn fault_summary(regs: &FaultRegisters, analysis: &FaultAnalysis, v6m: Option<V6mExplanation>) -> FaultSummary {
    FaultSummary {
        cfsr: regs.cfsr,
        hfsr: regs.hfsr,
        dfsr: regs.dfsr,
        mmfar: analysis.mmfar,
        bfar: analysis.bfar,
        sfsr: regs.sfsr,
        sfar: analysis.sfar,
        abfsr: regs.abfsr,
        causes: analysis.causes.iter().map(|c| c.name.to_string()).collect(),
        details: analysis
            .causes
            .iter()
            .map(|c| CauseDetail {
                name: c.name.into(),
                register: c.register.to_string(),
                summary: c.summary.into(),
                meaning: c.meaning.into(),
                action: c.action.into(),
            })
            .collect(),
        class: analysis.class,
        primary: analysis.primary,
        escalation: analysis.escalation.iter().flat_map(|e| e.reasons.iter().map(|r| r.to_string())).collect(),
        notes: analysis.notes.iter().map(|n| n.to_string()).collect(),
        v6m,
    }
}

/// The symbol the ELF's vector table names as `exception`'s handler.
fn handler_name(image: Option<&Image>, exception: ExceptionNumber) -> Option<String> {
    let image = image?;
    let entry = *image.vector_table()?.words.get(usize::from(exception.0))?;
    let sym = image.symbols().function_at(entry & !1)?;
    (sym.address & !1 == entry & !1).then(|| sym.demangled.clone())
}

fn exception_frame(e: &unwind::ExceptionEntry, image: Option<&Image>) -> Option<ExceptionFrame> {
    let f = e.frame.as_ref()?;
    Some(ExceptionFrame {
        exception: e.exception,
        handler: handler_name(image, e.exception),
        exc_return: e.exc_return,
        stack: e.stack.split('_').next().unwrap_or("").to_lowercase(),
        secure: e.decoded.as_ref().and_then(|d| d.security).map(|s| s.secure_stack),
        address: f.address,
        extended: f.extended,
        padded: f.padded,
        r0: f.r0,
        r1: f.r1,
        r2: f.r2,
        r3: f.r3,
        r12: f.r12,
        lr: f.lr,
        pc: f.pc,
        xpsr: f.xpsr,
        interrupted: f.interrupted_exception(),
        interrupted_sp: f.interrupted_sp,
        fp: f.fp.map(|fp| FpFrame {
            source: match fp.source {
                FpSource::Stacked => "stacked",
                FpSource::Registers => "registers",
                FpSource::StaleMemory => "stale-memory",
            }
            .into(),
            s: fp.s.iter().enumerate().map(|(i, v)| (format!("s{i}"), *v)).collect::<BTreeMap<_, _>>(),
            fpscr: fp.fpscr,
        }),
    })
}

/// Each switched-out task's backtrace, from the registers its saved context holds.
fn unwind_tasks(target: &mut dyn Target, unwinder: &mut unwind::Unwinder, profile: Option<Profile>, list: &mut crate::rtos::TaskList) {
    for t in &mut list.tasks {
        let Some(context) = &t.context else { continue };
        let opts = UnwindOptions { max_depth: 64, profile, registers: Some(context.registers.clone()) };
        match unwinder.unwind(target, &opts) {
            Ok(bt) => {
                t.backtrace = bt.frames.iter().map(backtrace_entry).collect();
                t.backtrace_end = Some(bt.termination.to_string());
            }
            Err(e) => list.problems.push(format!("task {}: {e}", t.name)),
        }
    }
}

fn backtrace_entry(frame: &Frame) -> BacktraceEntry {
    match frame {
        Frame::Frame(f) => BacktraceEntry {
            kind: "frame".into(),
            pc: Some(f.pc),
            lookup_pc: Some(f.lookup_pc),
            function: f.function.clone(),
            file: f.file.clone(),
            line: f.line,
            column: f.column,
            inlined: f.inlined,
            method: Some(match &f.method {
                unwind::UnwindMethod::Registers => "registers".into(),
                unwind::UnwindMethod::Cfi => "cfi".into(),
                unwind::UnwindMethod::ExceptionFrame => "exception-frame".into(),
                unwind::UnwindMethod::Heuristic(how) => format!("heuristic: {how}"),
            }),
            exception: None,
            exc_return: None,
        },
        Frame::Exception(e) => BacktraceEntry {
            kind: "exception".into(),
            pc: None,
            lookup_pc: None,
            function: None,
            file: None,
            line: None,
            column: None,
            inlined: false,
            method: None,
            exception: Some(e.exception),
            exc_return: e.exc_return,
        },
    }
}

/// The stop reason, with the symbol a breakpoint address belongs to.
fn describe_stop(stop: &StopReason, image: Option<&Image>) -> String {
    match (stop, image.and_then(|i| match stop {
        StopReason::Breakpoint { pc } => i.symbols().function_at(*pc),
        _ => None,
    })) {
        (StopReason::Breakpoint { pc }, Some(sym)) if sym.address & !1 == *pc => {
            format!("breakpoint at the entry of {} ({pc:#010x})", sym.demangled)
        }
        (StopReason::Breakpoint { pc }, Some(sym)) => format!("breakpoint at {pc:#010x} in {}", sym.demangled),
        (s, _) => s.to_string(),
    }
}

/// "file.c:12" with only the file's name, for the one-line summary.
fn short_location(e: &BacktraceEntry) -> Option<String> {
    let file = e.file.as_deref()?;
    let name = file.rsplit('/').next().unwrap_or(file);
    Some(match e.line {
        Some(l) => format!("{name}:{l}"),
        None => name.to_string(),
    })
}

fn describe_function(e: &BacktraceEntry) -> String {
    let f = e.function.clone().unwrap_or_else(|| format!("{:#010x}", e.pc.unwrap_or(0)));
    match short_location(e) {
        Some(loc) => format!("{f} ({loc})"),
        None => f,
    }
}

/// The first sentence of the report.
fn summarize(
    preface: Option<&str>,
    exception: Option<ExceptionNumber>,
    fault: Option<&FaultSummary>,
    svc: Option<&SvcSummary>,
    entries: &[BacktraceEntry],
    bt: Option<&unwind::Backtrace>,
) -> String {
    // The code that was running when the innermost exception was taken.
    let after_entry = entries.iter().skip_while(|e| e.kind != "exception").find(|e| e.kind == "frame");
    let current = entries.iter().find(|e| e.kind == "frame");
    let mut s = String::new();
    if let Some(p) = preface {
        s.push_str(p);
        s.push_str(": ");
    }
    if let (Some(so), Some(f)) = (bt.and_then(|b| b.stack_overflow.as_ref()), fault) {
        s.push_str(&format!("Stack overflow: {} on {} with {}", f.class, so.stack, so.sp_text()));
        if let Some(r) = &so.recursion {
            // A bounded scan gives a lower bound: say so, as the finding does.
            let at_least = if r.at_least { "at least " } else { "" };
            s.push_str(&format!("; {} repeats {at_least}{} times on the stack (heuristic)", r.function, r.count));
        }
        return s;
    }
    match (exception, fault) {
        (_, Some(f)) => {
            if f.class == FaultClass::HardFault && f.primary != FaultClass::HardFault {
                s.push_str(&format!("{} escalated to HardFault", f.primary));
            } else {
                s.push_str(&f.class.to_string());
            }
            let primary = f
                .details
                .iter()
                .find(|d| !d.name.ends_with("VALID") && d.name != "FORCED")
                .or(f.details.first());
            if let Some(d) = primary {
                s.push_str(": ");
                s.push_str(&lowercase_first(d.summary.trim_end_matches('.')));
            } else if let Some(first) = f.v6m.as_ref().and_then(|v| v.findings.first()) {
                s.push_str(": ");
                s.push_str(&first.headline);
            }
            if let Some(a) = f.bfar.or(f.mmfar) {
                s.push_str(&format!(" at {a:#010x}"));
            }
            if let Some(e) = after_entry {
                s.push_str(&format!(" in {}", describe_function(e)));
            }
        }
        (Some(exc), None) => {
            s.push_str(&format!("In the {exc} handler"));
            if let Some(call) = svc {
                s.push_str(&format!(" (SVC #{})", call.number));
            }
            if let Some(e) = current {
                s.push_str(&format!(", at {}", describe_function(e)));
            }
            if let Some(e) = after_entry {
                s.push_str(&format!("; it interrupted {}", describe_function(e)));
            }
        }
        (None, None) => {
            s.push_str("No exception active: thread mode");
            if let Some(e) = current {
                s.push_str(&format!(", at {}", describe_function(e)));
            }
        }
    }
    s
}

fn lowercase_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) if !s.starts_with(|ch: char| ch.is_uppercase() && s.chars().nth(1).is_some_and(char::is_uppercase)) => {
            first.to_lowercase().chain(c).collect()
        }
        _ => s.to_string(),
    }
}
