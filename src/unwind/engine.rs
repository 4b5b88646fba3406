//! The unwinding loop: one physical frame per step, through CFI, heuristics and
//! exception frames, until something says stop.

use std::collections::HashSet;

use super::cfi::{CfiError, CfiIndex};
use super::heuristic::{self, in_code};
use super::memory::Memory;
use super::output::*;
use super::pc::{FramePc, PcKind};
use super::regs::{LR, PC, RegisterSet, SP};
use super::UnwindOptions;
use crate::debuginfo::{Image, RegionKind};
use crate::model::arch::Profile;
use crate::model::exc_return::{ExcReturn, ExcReturnKind, Mode, StackPointer, looks_like_exc_return};
use crate::model::exception::ExceptionNumber;
use crate::model::frame::{FpRegisters, LazyFpState, StackedFrame, bytes_to_read};
use crate::model::regs::fpu;
use crate::target::Registers;

const CFSR: u32 = 0xE000_ED28;
const CFSR_MSTKERR: u32 = 1 << 4;
const CFSR_STKERR: u32 = 1 << 12;

pub(crate) struct Engine<'a, 't> {
    pub(crate) image: &'a Image,
    pub(crate) cfi: &'a mut CfiIndex,
    pub(crate) mem: Memory<'t>,
    pub(crate) profile: Profile,
    pub(crate) live: Registers,
    pub(crate) opts: &'a UnwindOptions,
    frames: Vec<Frame>,
    warnings: Vec<String>,
    seen: HashSet<(u32, u32)>,
    psp_used: bool,
    lazy: Option<Option<LazyFpState>>,
    /// The exception whose handler the current frame runs in (Thread = 0).
    exception: ExceptionNumber,
    on_psp: bool,
    /// SPs seen on the main stack (for the overflow check).
    msp_seen: Vec<u32>,
    /// The frame address of an exception frame that could not be read.
    lost_frame: Option<u32>,
    /// An RTOS's task-exit trap, which the kernel makes the return address of every task
    /// function when it creates the task: (name, address).
    task_exit: Option<(String, u32)>,
}

/// Task-exit traps: FreeRTOS' `portTASK_RETURN_ADDRESS` in every GCC/ARM port (unless
/// configTASK_RETURN_ADDRESS names another).
const TASK_EXIT_TRAPS: [&str; 1] = ["prvTaskExitError"];

#[allow(clippy::large_enum_variant)] // one per step, moved at once
enum Next {
    /// The caller's registers, how they were found, and what its PC is.
    Continue(RegisterSet, UnwindMethod, PcKind),
    Stop(Termination),
}

impl<'a, 't> Engine<'a, 't> {
    pub(crate) fn new(
        image: &'a Image,
        cfi: &'a mut CfiIndex,
        mem: Memory<'t>,
        profile: Profile,
        live: Registers,
        opts: &'a UnwindOptions,
    ) -> Self {
        Engine {
            image,
            cfi,
            mem,
            profile,
            live,
            opts,
            frames: Vec::new(),
            warnings: Vec::new(),
            seen: HashSet::new(),
            psp_used: false,
            lazy: None,
            exception: ExceptionNumber::THREAD,
            on_psp: false,
            msp_seen: Vec::new(),
            lost_frame: None,
            task_exit: TASK_EXIT_TRAPS
                .iter()
                .find_map(|n| image.symbols().by_name(n).map(|s| (s.name.clone(), s.address & !1))),
        }
    }

    pub(crate) fn run(mut self, mut warnings: Vec<String>) -> Backtrace {
        let mut regs = RegisterSet::from_target(&self.live);
        let xpsr = self.live.get("xpsr").unwrap_or(0);
        self.exception = ExceptionNumber::from_xpsr(xpsr);
        let control = self.live.get("control").unwrap_or(0);
        self.on_psp = self.exception.is_thread() && control & 2 != 0;
        if regs.sp().is_none() {
            regs.r[SP] = self.live.get(if self.on_psp { "psp" } else { "msp" });
        }
        warnings.append(&mut self.warnings);
        self.warnings = warnings;

        let mut method = UnwindMethod::Registers;
        let mut kind = PcKind::Exact;
        let termination = loop {
            if self.frames.len() >= self.opts.max_depth {
                break Termination::DepthLimit { limit: self.opts.max_depth };
            }
            let Some(pc) = regs.pc() else { break Termination::UnknownRegister { register: "pc".into() } };
            let Some(sp) = regs.sp() else { break Termination::UnknownRegister { register: "sp".into() } };
            let at = FramePc::new(pc, kind);
            let pc = at.pc;
            if !self.seen.insert((pc, sp)) {
                break Termination::Loop { pc, sp };
            }
            if !self.on_psp {
                self.msp_seen.push(sp);
            }
            let function = self.emit_function(at, &method, &regs);
            if let Some(f) = &function {
                if self.is_reset_handler(at.lookup(), f) {
                    break Termination::ResetHandler { function: f.clone() };
                }
            }
            // LR still holds this frame's return address only where the PC came from the
            // core or an exception frame, not from a callee's unwind.
            let lr_live = matches!(method, UnwindMethod::Registers | UnwindMethod::ExceptionFrame);
            match self.step(&regs, at, lr_live) {
                Next::Continue(caller, how, next_kind) => {
                    // A task function "called" from the kernel's task-exit trap: the
                    // trap's address is the return address the kernel stacked when it
                    // created the task, no call site. The task's entry is the end.
                    if let (Some((exit, address)), Some(ra)) = (&self.task_exit, caller.pc()) {
                        if ra & !1 == *address {
                            break Termination::TaskEntry { function: function.unwrap_or_default(), exit: exit.clone() };
                        }
                    }
                    kind = next_kind;
                    method = how;
                    regs = caller;
                }
                Next::Stop(t) => break t,
            }
        };
        let stack_overflow = self.overflow_analysis();
        let mut warnings = self.warnings;
        warnings.dedup();
        Backtrace { frames: self.frames, termination, warnings, stack_overflow }
    }

    /// Adds the frames (inline chain) for `at`; returns the physical function's name.
    fn emit_function(&mut self, at: FramePc, method: &UnwindMethod, regs: &RegisterSet) -> Option<String> {
        let sym = self.image.symbolize(at.lookup());
        let n = sym.frames.len();
        for (i, f) in sym.frames.iter().enumerate() {
            let physical = i + 1 == n;
            self.frames.push(Frame::Frame(FunctionFrame {
                pc: at.pc,
                lookup_pc: at.lookup(),
                function: f.function.clone(),
                file: f.file.clone(),
                line: f.line,
                column: f.column,
                inlined: !physical,
                method: method.clone(),
                sp: regs.sp(),
                registers: physical.then(|| regs.clone()),
            }));
        }
        sym.function().map(str::to_string)
    }

    fn is_reset_handler(&self, pc: u32, function: &str) -> bool {
        let by_vector = self.image.vector_table().and_then(|v| v.handler(1)).is_some_and(|h| {
            self.image.symbols().function_at(h).is_some_and(|s| s.contains(pc))
        });
        by_vector || matches!(function, "Reset_Handler" | "Reset" | "reset_handler" | "ResetHandler")
    }

    /// Is `pc` in the function that the vector table (or cortex-m-rt's naming) makes the
    /// entry of the current exception's handler?
    fn in_handler_entry_function(&self, pc: u32) -> bool {
        if self.exception.is_thread() {
            return false;
        }
        let Some(func) = self.image.symbols().function_at(pc) else { return false };
        let by_vector = self.image.vector_table().and_then(|v| v.handler(self.exception.0 as usize)) == Some(func.address);
        let name = self.exception.name();
        // cortex-m-rt: the user's handler is named after the exception (HardFault is
        // reached through HardFaultTrampoline); unnamed IRQs go to DefaultHandler.
        let by_name = func.name == name
            || func.name == format!("{name}_")
            || (self.exception.irq().is_some() && func.name.starts_with("DefaultHandler"));
        by_vector || by_name
    }

    fn step(&mut self, regs: &RegisterSet, at: FramePc, lr_live: bool) -> Next {
        let pc = at.pc;
        let sp = regs.sp().unwrap_or(0);
        let lookup = at.lookup();
        let stack_top = self.image.stack_region().map(|s| s.top).filter(|_| !self.on_psp);

        let (caller, how, cfi_ok) = match self.cfi.step(lookup, regs, &mut self.mem) {
            Ok(step) => (step.caller, UnwindMethod::Cfi, true),
            Err(CfiError::Unreadable(address)) => {
                return Next::Stop(Termination::UnreadableMemory {
                    address,
                    what: format!("the registers saved by the frame at {pc:#010x}"),
                });
            }
            Err(e) => {
                let why = match e {
                    CfiError::NoInfo => format!("no CFI for {pc:#010x}"),
                    CfiError::Failed(m) => m,
                    CfiError::Unreadable(_) => unreachable!(),
                };
                match heuristic::guess_caller(self.image, &mut self.mem, regs, at, lr_live, stack_top) {
                    Some(g) => {
                        self.warnings.push(format!("{why}: caller found by heuristic ({})", g.how));
                        (g.caller, UnwindMethod::Heuristic(g.how), false)
                    }
                    None => {
                        // Last chance in a handler: the exception frame itself.
                        if let Some(next) = self.try_recover(regs, at, sp, &why) {
                            return next;
                        }
                        self.warnings.push(format!("{why}, and no heuristic found a caller"));
                        return Next::Stop(Termination::NoUnwindInfo { pc });
                    }
                }
            }
        };

        let Some(ra) = caller.pc() else {
            if let Some(next) = self.try_recover(regs, at, caller.sp().unwrap_or(sp), "the return address is undefined") {
                return next;
            }
            return Next::Stop(if cfi_ok {
                Termination::OutermostFrame { pc }
            } else {
                Termination::UnknownRegister { register: "return address".into() }
            });
        };
        if ra == 0xFFFF_FFFF {
            return Next::Stop(Termination::ResetLr);
        }
        if looks_like_exc_return(ra) {
            let Some(handler_sp) = caller.sp() else {
                return Next::Stop(Termination::UnknownRegister { register: "sp".into() });
            };
            return self.transition(ra, handler_sp, &caller, false);
        }
        // In the handler's own function the return address must be an EXC_RETURN: if
        // it is not, the firmware overwrote LR (cortex-m-rt's HardFault, `-> !`
        // handlers): recover the transition from the stacked state.
        // The caller's code is at its call site, which may be the last instruction of a
        // function and so the end of `.text` (see `pc`).
        let ra_code = in_code(self.image, FramePc::new(ra, PcKind::AfterCall).lookup());
        if self.in_handler_entry_function(lookup) || !ra_code {
            let why = format!("return address {ra:#010x} is not an EXC_RETURN although {pc:#010x} is in the {} handler", self.exception.name());
            if !self.exception.is_thread() {
                if let Some(next) = self.try_recover(regs, at, caller.sp().unwrap_or(sp), &why) {
                    return next;
                }
            }
        }
        if !ra_code {
            let reason = if ra & !1 == 0 {
                "zero: the outermost frame of a task, a stack switched inside this function, or a corrupt stack"
            } else {
                "not in any code section of the image"
            };
            return Next::Stop(Termination::InvalidReturnAddress { address: ra, reason: reason.into() });
        }
        let Some(caller_sp) = caller.sp() else {
            return Next::Stop(Termination::UnknownRegister { register: "sp".into() });
        };
        if caller_sp < sp {
            return Next::Stop(Termination::SpWentBackwards { sp, caller_sp });
        }
        if let Some(top) = stack_top {
            if caller_sp > top {
                return Next::Stop(Termination::BottomOfStack { sp: caller_sp });
            }
        }
        if !self.sp_in_ram(caller_sp) {
            return Next::Stop(Termination::SpOutsideRam { sp: caller_sp });
        }
        Next::Continue(caller, how, PcKind::AfterCall)
    }

    /// RAM as the image describes it, plus the stack region itself (a stack placed in
    /// memory no section uses, e.g. STM32 CCM RAM, still counts).
    fn sp_in_ram(&self, sp: u32) -> bool {
        let ram: Vec<_> = self.image.memory_regions().iter().filter(|r| r.kind == RegionKind::Ram).collect();
        let in_stack = self.image.stack_region().is_some_and(|s| match s.bottom {
            Some(_) => s.contains(sp),
            None => sp <= s.top && s.top - sp < 0x10_0000,
        });
        ram.is_empty() || in_stack || ram.iter().any(|r| sp >= r.start && sp <= r.end)
    }

    fn lazy_fp(&mut self) -> Option<LazyFpState> {
        if let Some(l) = self.lazy {
            return l;
        }
        let state = if self.profile.may_have_fpu() {
            let mut b = [0u8; 8];
            self.mem.read(fpu::FPCCR, &mut b).map(|_| {
                let s: Option<Vec<u32>> = (0..16).map(|i| self.live.get(&format!("s{i}"))).collect();
                let live = match (s, self.live.get("fpscr")) {
                    (Some(s), Some(fpscr)) => Some(FpRegisters { s: s.try_into().unwrap(), fpscr }),
                    _ => None,
                };
                LazyFpState {
                    fpccr: u32::from_le_bytes(b[..4].try_into().unwrap()),
                    fpcar: u32::from_le_bytes(b[4..].try_into().unwrap()),
                    live,
                }
            })
        } else {
            None
        };
        self.lazy = Some(state);
        state
    }

    /// The process stack pointer for a PSP frame (banked on v8-M by security state).
    fn psp_for(&mut self, e: &ExcReturn) -> Option<u32> {
        if self.psp_used {
            self.warnings.push(
                "a second exception frame on the PSP: only the thread stack holds PSP frames; using the live PSP again"
                    .into(),
            );
        }
        self.psp_used = true;
        let banked = e.security.and_then(|s| self.live.get(if s.secure_stack { "psp_s" } else { "psp_ns" }));
        banked.or_else(|| self.live.get("psp"))
    }

    /// Crosses an exception entry: reads the stacked frame EXC_RETURN names and
    /// continues in the interrupted context.
    fn transition(&mut self, ra: u32, handler_sp: u32, handler_caller: &RegisterSet, recovered: bool) -> Next {
        let e = match ExcReturn::decode(ra, self.profile) {
            ExcReturnKind::Exception(e) => e,
            ExcReturnKind::FncReturn { value } => {
                return Next::Stop(Termination::InvalidReturnAddress {
                    address: value,
                    reason: "FNC_RETURN: a return into secure code, whose stack this debugger cannot see".into(),
                });
            }
            ExcReturnKind::Invalid { value, reason } => {
                return Next::Stop(Termination::InvalidReturnAddress {
                    address: value,
                    reason: format!("looks like EXC_RETURN but {reason}"),
                });
            }
        };
        let frame_addr = match e.stack {
            StackPointer::Main => {
                // On v8-M a frame on the other security state's stack than the handler's
                // (ES) is on that state's banked MSP.
                match e.security {
                    Some(s) if self.live.get("msp_s").is_some() && s.secure_stack != s.secure_exception => {
                        self.live.get(if s.secure_stack { "msp_s" } else { "msp_ns" }).unwrap_or(handler_sp)
                    }
                    _ => handler_sp,
                }
            }
            StackPointer::Process => match self.psp_for(&e) {
                Some(p) => p,
                None => return Next::Stop(Termination::UnknownRegister { register: "psp".into() }),
            },
        };
        let entry = |frame: Option<StackedFrame>, exc: ExceptionNumber| ExceptionEntry {
            exception: exc,
            exc_return: (!recovered).then_some(ra),
            decoded: Some(e),
            recovered,
            stack: e.stack_name().to_string(),
            frame,
            interrupted: frame.map(|f| f.interrupted_exception()),
        };
        let len = bytes_to_read(&e) as usize;
        let mut bytes = vec![0u8; len];
        self.mem.prefetch(frame_addr, frame_addr.saturating_add(len as u32));
        if self.mem.read(frame_addr, &mut bytes).is_none() {
            self.frames.push(Frame::Exception(entry(None, self.exception)));
            self.lost_frame = Some(frame_addr);
            return Next::Stop(Termination::UnreadableMemory {
                address: frame_addr,
                what: format!("the exception frame on {}", e.stack_name()),
            });
        }
        let lazy = if e.extended_frame { self.lazy_fp() } else { None };
        let frame = match StackedFrame::decode(frame_addr, &bytes, &e, lazy.as_ref()) {
            Ok(f) => f,
            Err(err) => {
                self.frames.push(Frame::Exception(entry(None, self.exception)));
                self.lost_frame = Some(frame_addr);
                return Next::Stop(Termination::UnreadableMemory { address: frame_addr, what: err.to_string() });
            }
        };
        self.frames.push(Frame::Exception(entry(Some(frame), self.exception)));
        let interrupted = frame.interrupted_exception();
        if (e.mode == Mode::Thread) != interrupted.is_thread() {
            self.warnings.push(format!(
                "EXC_RETURN {ra:#010x} returns to {:?} mode but the stacked xPSR says {interrupted}: the frame may be corrupt",
                e.mode
            ));
        }
        if !frame.thumb_bit() {
            self.warnings.push(format!(
                "stacked xPSR {:#010x} has the T bit clear: the interrupted code would fault with INVSTATE",
                frame.xpsr
            ));
        }
        if let Some(fp) = &frame.fp {
            if fp.source == crate::model::frame::FpSource::StaleMemory {
                self.warnings.push("lazy FP stacking was pending and the live FP registers are unavailable: S0-S15 of the interrupted context are unknown".into());
            }
        }

        let mut next = RegisterSet::default();
        next.r[0] = Some(frame.r0);
        next.r[1] = Some(frame.r1);
        next.r[2] = Some(frame.r2);
        next.r[3] = Some(frame.r3);
        next.r[12] = Some(frame.r12);
        next.r[LR] = Some(frame.lr);
        next.r[PC] = Some(frame.pc);
        next.r[SP] = Some(frame.interrupted_sp);
        next.xpsr = Some(frame.xpsr);
        // Callee-saved registers pass through the handler (its CFI restored them),
        // unless the v8-M state context holds them.
        for n in 4..=11 {
            next.r[n] = match &frame.state_context {
                Some(sc) => Some(sc.r4_r11[n - 4]),
                None => handler_caller.r[n],
            };
        }
        if let Some(fp) = &frame.fp {
            if fp.source != crate::model::frame::FpSource::StaleMemory {
                for i in 0..16 {
                    next.s[i] = Some(fp.s[i]);
                }
                next.fpscr = Some(fp.fpscr);
            }
            for i in 16..32 {
                next.s[i] = handler_caller.s[i];
            }
        }
        // The exception being left decides what its stacked PC is (see `pc`).
        let resumed = FramePc::resumed_from(frame.pc, self.exception).kind;
        self.exception = interrupted;
        self.on_psp = e.stack == StackPointer::Process;
        if e.stack == StackPointer::Main {
            self.msp_seen.push(frame_addr);
        }
        Next::Continue(next, UnwindMethod::ExceptionFrame, resumed)
    }

    /// The firmware overwrote EXC_RETURN in LR: find the stacked frame on the main
    /// stack at the handler's entry SP, else on the PSP, and check it is plausible
    /// (T bit set, PC in code, a consistent IPSR). See ARCHITECTURE.md for the rule.
    fn try_recover(&mut self, regs: &RegisterSet, at: FramePc, handler_entry_sp: u32, why: &str) -> Option<Next> {
        if self.exception.is_thread() {
            return None;
        }
        // Only frames of the handler's own entry function may recover: deeper callees
        // must unwind to it first, which keeps the entry SP exact.
        if !self.in_handler_entry_function(at.lookup()) {
            return None;
        }
        let mut candidates = vec![(handler_entry_sp, StackPointer::Main)];
        if !self.psp_used {
            if let Some(p) = self.live.get("psp") {
                candidates.push((p, StackPointer::Process));
            }
        }
        let lazy = self.lazy_fp();
        for (addr, stack) in candidates {
            let mut b = [0u8; 32];
            if self.mem.read(addr, &mut b).is_none() {
                continue;
            }
            let w = |i: usize| u32::from_le_bytes(b[4 * i..4 * i + 4].try_into().unwrap());
            let (pc, xpsr) = (w(6), w(7));
            let ipsr = ExceptionNumber::from_xpsr(xpsr);
            let plausible = xpsr & (1 << 24) != 0
                && in_code(self.image, FramePc::resumed_from(pc, self.exception).lookup())
                && ipsr != self.exception
                && (stack != StackPointer::Process || ipsr.is_thread());
            if !plausible {
                continue;
            }
            let extended = lazy.is_some_and(|l| {
                l.fpccr & fpu::FPCCR_LSPACT != 0 && l.fpcar & fpu::FPCAR_ADDRESS_MASK == addr.wrapping_add(0x20)
            });
            let mut value: u32 = if self.profile.is_v8m() { 0xFFFF_FFA0 } else { 0xFFFF_FFE1 };
            if !extended {
                value |= 0x10;
            }
            if ipsr.is_thread() {
                value |= 0x8;
            }
            if stack == StackPointer::Process {
                value |= 0x4;
            }
            self.warnings.push(format!(
                "{why}: EXC_RETURN was overwritten; recovered the {} exception frame from {} at {addr:#010x} (heuristic: T bit set, PC in code)",
                self.exception.name(),
                if stack == StackPointer::Main { "MSP" } else { "PSP" }
            ));
            if stack == StackPointer::Process {
                // psp_for would warn about a second use otherwise.
                self.psp_used = false;
            }
            let mut handler_caller = RegisterSet::default();
            for n in 4..=11 {
                handler_caller.r[n] = regs.r[n];
            }
            return Some(self.transition(value, addr, &handler_caller, true));
        }
        None
    }

    fn overflow_analysis(&mut self) -> Option<StackOverflow> {
        let cfsr = if self.profile.has_fault_status_registers() { self.mem.read_u32(CFSR) } else { None };
        let stacking_error = cfsr.is_some_and(|c| c & (CFSR_STKERR | CFSR_MSTKERR) != 0);
        let region = self.image.stack_region().cloned();
        let lowest_msp = self.msp_seen.iter().copied().chain(self.live.get("msp")).min();
        let below = |sp: u32| region.as_ref().and_then(|r| r.bottom).is_some_and(|b| sp < b);
        let msp_bad = lowest_msp.is_some_and(|sp| below(sp) || !self.sp_in_ram(sp));
        let psp_bad_stkerr = stacking_error && self.lost_frame.is_some() && self.psp_used;
        if !(msp_bad || stacking_error) {
            return None;
        }
        let (stack, sp) = if psp_bad_stkerr && !msp_bad {
            ("PSP".to_string(), self.lost_frame.or(self.live.get("psp"))?)
        } else {
            ("MSP".to_string(), lowest_msp?)
        };
        let top = region.as_ref().map(|r| r.top);
        // The RAM block that holds the stack: the stack may legally grow below the
        // linker's reservation (into heap or .bss) but never below this.
        let ram_start = self
            .image
            .memory_regions()
            .iter()
            .filter(|r| r.kind == RegionKind::Ram)
            .find(|r| top.is_some_and(|t| t > r.start && t <= r.end))
            .map(|r| r.start);
        let reserved = region.as_ref().and_then(|r| r.bottom.map(|b| (b, r.bottom_symbol.clone().unwrap_or_default())));
        let (boundary, boundary_name) = match (ram_start, &reserved) {
            (Some(r), _) if sp < r => (Some(r), "the start of RAM".to_string()),
            (_, Some((b, name))) => (Some(*b), name.clone()),
            (Some(r), None) => (Some(r), "the start of RAM".to_string()),
            (None, None) => (None, String::new()),
        };
        let overflow_bytes = boundary.map(|b| b.saturating_sub(sp)).unwrap_or(0);
        // Recursion: scan what is left of the stack upward from the lowest readable
        // address the stack can have reached, in a window that widens only while the
        // recursion continues (heuristic::scan_recursion: the link is the bottleneck).
        let recursion = match (boundary.or(ram_start), top) {
            (Some(b), Some(t)) if stack == "MSP" && t > b => {
                let floor = ram_start.unwrap_or(b).max(t.saturating_sub(256 * 1024));
                let start = sp.clamp(floor, t);
                heuristic::scan_recursion(self.image, &mut self.mem, start, t)
            }
            _ => None,
        };
        let span = match (reserved.as_ref(), top) {
            (Some((b, _)), Some(t)) => format!(" (stack reserved {b:#010x}..{t:#010x})"),
            _ => String::new(),
        };
        let mut explanation = match boundary {
            Some(b) if overflow_bytes > 0 => {
                format!("stack overflow: {stack} = {sp:#010x} is {overflow_bytes} bytes below {boundary_name} {b:#010x}{span}")
            }
            Some(_) => format!(
                "stacking error with {stack} = {sp:#010x} inside the stack{span}: a guard region (MPU) or a bad SP"
            ),
            None => format!("stack overflow suspected: {stack} = {sp:#010x}"),
        };
        if stacking_error {
            explanation.push_str("; CFSR reports a stacking error (STKERR/MSTKERR): the exception frame was not written, so the interrupted context is lost");
        }
        if let Some(r) = &recursion {
            // A scan that stopped at its limit gives a lower bound: say so, and where.
            let (times, scanned) = if r.at_least {
                (format!("at least {} times", r.count), format!("; the {} KiB above SP scanned", r.scanned_bytes / 1024))
            } else {
                (format!("{} times", r.count), String::new())
            };
            explanation.push_str(&format!(
                "; {} appears {times} among the return addresses left on the stack (heuristic{scanned}): unbounded recursion",
                r.function
            ));
        }
        self.warnings.push(explanation.clone());
        Some(StackOverflow {
            stack,
            sp,
            region_bottom: reserved.map(|r| r.0),
            region_top: top,
            boundary,
            boundary_name,
            overflow_bytes,
            stacking_error,
            recursion,
            explanation,
        })
    }
}
