//! The human-readable report: summary first, then fault bits, exception frames,
//! backtrace, registers and findings. Colour only when asked (a terminal without
//! NO_COLOR, decided by the caller).

use std::fmt::Write;

use super::{BacktraceEntry, ExceptionFrame, Report, Severity};

/// ANSI styling that collapses to nothing when colour is off.
#[derive(Clone, Copy)]
struct Style {
    color: bool,
}

impl Style {
    fn paint(self, code: &str, s: &str) -> String {
        if self.color { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_string() }
    }
    fn bold(self, s: &str) -> String {
        self.paint("1", s)
    }
    fn red(self, s: &str) -> String {
        self.paint("1;31", s)
    }
    fn yellow(self, s: &str) -> String {
        self.paint("33", s)
    }
    fn dim(self, s: &str) -> String {
        self.paint("2", s)
    }
    fn cyan(self, s: &str) -> String {
        self.paint("36", s)
    }
}

pub fn render(report: &Report, color: bool) -> String {
    let st = Style { color };
    let mut out = String::new();
    let o = &mut out;
    let headline = if report.fault.is_some() { st.red(&report.summary) } else { st.bold(&report.summary) };
    let _ = writeln!(o, "{headline}\n");

    let t = &report.target;
    let mut target = t.description.clone();
    if let Some(core) = &t.core {
        target.push_str(&format!(", {core}"));
    }
    let _ = writeln!(o, "{} {target}", st.bold("Target:   "));
    if let Some(stop) = &t.stop {
        let _ = writeln!(o, "{} {stop}", st.bold("Stopped:  "));
    }
    let exc = match report.exception {
        Some(e) => format!("{e} (exception {})", e.0),
        None if report.registers.is_empty() => "unknown (the core could not be read)".into(),
        None => "none (thread mode)".into(),
    };
    let _ = writeln!(o, "{} {exc}", st.bold("Exception:"));
    if let Some(svc) = &report.svc {
        let [a, b, c, d] = svc.args;
        let _ = writeln!(
            o,
            "{} SVC #{} at {:#010x} (r0={a:#010x} r1={b:#010x} r2={c:#010x} r3={d:#010x})",
            st.bold("SVC:      "),
            svc.number,
            svc.address
        );
    }
    if let Some(elf) = &t.elf {
        let _ = writeln!(o, "{} {elf}", st.bold("ELF:      "));
    }

    if let Some(f) = &report.fault {
        let _ = writeln!(o, "\n{}", st.bold("Fault status"));
        if f.v6m.is_some() {
            let _ = writeln!(o, "  (this core has no fault status registers: the faulting instruction explains it)");
        } else {
            let mut regs = format!("  CFSR {:#010x}  HFSR {:#010x}  DFSR {:#010x}", f.cfsr, f.hfsr, f.dfsr);
            let optional = [("MMFAR", f.mmfar), ("BFAR", f.bfar), ("SFSR", f.sfsr), ("SFAR", f.sfar), ("ABFSR", f.abfsr)];
            for (name, value) in optional {
                if let Some(v) = value {
                    regs.push_str(&format!("  {name} {v:#010x}"));
                }
            }
            let _ = writeln!(o, "{regs}");
        }
        if let Some(v) = &f.v6m {
            let pc = v.pc.map(|pc| format!("{pc:#010x}")).unwrap_or_else(|| "unknown".into());
            let inst = v.instruction.as_deref().unwrap_or("(unreadable or undecodable)");
            let _ = writeln!(o, "  {} {pc}: {inst}", st.cyan("instruction at"));
            for finding in &v.findings {
                let _ = writeln!(o, "  {} {}", st.cyan(&finding.code), finding.message);
            }
        }
        for d in &f.details {
            let _ = writeln!(o, "  {} {}", st.cyan(&format!("{}.{}", d.register, d.name)), d.summary);
            if !d.meaning.is_empty() {
                let _ = writeln!(o, "      {}", d.meaning);
            }
            if !d.action.is_empty() {
                let _ = writeln!(o, "      {} {}", st.dim("next:"), d.action);
            }
        }
        for e in &f.escalation {
            let _ = writeln!(o, "  {} {e}", st.yellow("escalation:"));
        }
        for n in &f.notes {
            let _ = writeln!(o, "  {} {n}", st.dim("note:"));
        }
    }

    if !report.exception_frames.is_empty() {
        let _ = writeln!(o, "\n{}", st.bold("Exception frames (innermost first)"));
        for (i, f) in report.exception_frames.iter().enumerate() {
            render_frame(o, st, i, f);
        }
    }

    if !report.backtrace.is_empty() {
        let _ = writeln!(o, "\n{}", st.bold("Backtrace"));
        let mut n = 0;
        for e in &report.backtrace {
            render_entry(o, st, &mut n, e);
        }
        if let Some(end) = &report.backtrace_end {
            let _ = writeln!(o, "  {}", st.dim(&format!("({end})")));
        }
    }

    if let Some(list) = &report.tasks {
        let guessed = if list.layouts == "guessed" { ", layouts guessed: no DWARF" } else { "" };
        let _ = writeln!(o, "\n{}", st.bold(&format!("Tasks ({}{guessed})", list.kernel)));
        for d in &list.deadlocks {
            let what = if d.forever { "deadlock" } else { "wait cycle (with timeouts)" };
            let _ = writeln!(o, "  {} {}", st.red(&format!("{what}:")), d.description);
        }
        for t in &list.tasks {
            let mut line = format!("  {:<12} {:<9} prio {}", t.name, t.state.as_str(), t.priority);
            if let Some(b) = t.base_priority.filter(|&b| b != t.priority) {
                line.push_str(&format!(" (base {b})"));
            }
            line.push_str(&format!("  tcb {:#010x}", t.tcb));
            if t.context.as_ref().is_some_and(|c| c.fp) {
                line.push_str("  FPU context (S16-S31) saved");
            }
            if let Some(w) = &t.waiting_on {
                line.push_str(&format!("  waits on {w}"));
            }
            if let Some(tick) = t.wakes_at {
                line.push_str(&format!(" until tick {tick}"));
            }
            match t.stack.untouched_bytes {
                Some(0) => line.push_str(&format!("  stack {:#010x}, no byte left unused", t.stack.base)),
                Some(u) => line.push_str(&format!("  stack {:#010x}, {u} bytes never used", t.stack.base)),
                None => {}
            }
            let _ = writeln!(o, "{line}");
            if !t.holds.is_empty() {
                let _ = writeln!(o, "      holds {}", t.holds.join(", "));
            }
            if Some(t.tcb) == list.current && t.context.is_none() {
                let _ = writeln!(o, "      {}", st.dim("(running: its call stack is the backtrace above)"));
            }
            // The report's own backtrace lines, indented under the task.
            let mut lines = String::new();
            let mut n = 0;
            for e in &t.backtrace {
                render_entry(&mut lines, st, &mut n, e);
            }
            for l in lines.lines() {
                let _ = writeln!(o, "    {l}");
            }
            if let (Some(end), false) = (&t.backtrace_end, t.backtrace.is_empty()) {
                let _ = writeln!(o, "      {}", st.dim(&format!("({end})")));
            }
        }
    }

    if !report.registers.is_empty() {
        let _ = writeln!(o, "\n{}", st.bold("Registers"));
        let order = [
            "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "sp", "lr", "pc", "xpsr",
            "msp", "psp", "control", "primask", "basepri", "faultmask", "fpscr",
        ];
        let cells: Vec<String> = order
            .iter()
            .filter_map(|name| report.registers.get(*name).map(|v| format!("{name:>9} {v:#010x}")))
            .collect();
        for row in cells.chunks(4) {
            let _ = writeln!(o, "{}", row.join(" "));
        }
    }

    if !report.findings.is_empty() {
        let _ = writeln!(o, "\n{}", st.bold("Findings"));
        for f in &report.findings {
            let sev = match f.severity {
                Severity::Error => st.red("error  "),
                Severity::Warning => st.yellow("warning"),
                Severity::Info => st.dim("info   "),
            };
            let _ = writeln!(o, "  {sev} {} {}", st.cyan(&f.code), f.message);
        }
    }
    out
}

fn render_frame(o: &mut String, st: Style, i: usize, f: &ExceptionFrame) {
    let exc_return = f.exc_return.map(|v| format!("EXC_RETURN {v:#010x}")).unwrap_or_else(|| "EXC_RETURN overwritten (frame recovered)".into());
    let kind = match (f.extended, f.padded) {
        (true, true) => "extended frame + pad",
        (true, false) => "extended frame",
        (false, true) => "basic frame + pad",
        (false, false) => "basic frame",
    };
    let interrupted = if f.interrupted.is_thread() { "thread mode".to_string() } else { f.interrupted.to_string() };
    let name = match &f.handler {
        // Core exceptions are clear by name; an IRQ number needs its handler.
        Some(h) if f.exception.irq().is_some() => format!("{} ({h})", f.exception),
        _ => f.exception.to_string(),
    };
    let _ = writeln!(
        o,
        "  #{i} {} entered from {interrupted}: {exc_return}, {kind} at {:#010x} on {}, interrupted SP {:#010x}",
        st.cyan(&name),
        f.address,
        f.stack,
        f.interrupted_sp
    );
    let _ = writeln!(
        o,
        "     r0 {:#010x}  r1 {:#010x}  r2 {:#010x}  r3 {:#010x}\n    r12 {:#010x}  lr {:#010x}  pc {:#010x} xpsr {:#010x}",
        f.r0, f.r1, f.r2, f.r3, f.r12, f.lr, f.pc, f.xpsr
    );
    if let Some(fp) = &f.fp {
        let source = match fp.source.as_str() {
            "registers" => "from the live FPU registers (lazy stacking pending)",
            "stale-memory" => "STALE: lazy stacking pending, frame memory not yet written",
            _ => "stacked",
        };
        let _ = writeln!(o, "     FP context ({source}), fpscr {:#010x}", fp.fpscr);
        let vals: Vec<String> = (0..16)
            .filter_map(|n| fp.s.get(&format!("s{n}")).map(|v| format!("s{n:<2} {:>10}", f32_text(*v))))
            .collect();
        for row in vals.chunks(4) {
            let _ = writeln!(o, "     {}", row.join("  "));
        }
    }
}

fn f32_text(bits: u32) -> String {
    let v = f32::from_bits(bits);
    if v.is_finite() && v.abs() < 1e7 && (v == 0.0 || v.abs() > 1e-4) { format!("{v}") } else { format!("{bits:#010x}") }
}

fn render_entry(o: &mut String, st: Style, n: &mut usize, e: &BacktraceEntry) {
    if e.kind == "exception" {
        let exc = e.exception.map(|x| x.to_string()).unwrap_or_default();
        let ret = e.exc_return.map(|v| format!(" (EXC_RETURN {v:#010x})")).unwrap_or_default();
        let _ = writeln!(o, "      {}", st.yellow(&format!("<{exc} entered here{ret}>")));
        return;
    }
    let func = e.function.clone().unwrap_or_else(|| "??".into());
    let inl = if e.inlined { st.dim(" [inlined]") } else { String::new() };
    let loc = match (&e.file, e.line) {
        (Some(f), Some(l)) => format!(" at {f}:{l}"),
        (Some(f), None) => format!(" at {f}"),
        _ => String::new(),
    };
    let how = match e.method.as_deref() {
        Some(m) if m.starts_with("heuristic") => st.yellow(&format!("  [{m}]")),
        _ => String::new(),
    };
    let _ = writeln!(o, "  {:>3} {:#010x} {}{inl}{}{how}", *n, e.pc.unwrap_or(0), st.bold(&func), st.dim(&loc));
    *n += 1;
}
