//! The fault pane (summary, every fault bit explained, fault addresses, findings) and
//! the exception-chain pane (each stacked frame, EXC_RETURN decoded, MSP/PSP, FP
//! values and where they were read).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::model::arch::Profile;
use crate::model::exc_return::ExcReturn;
use crate::report::{ExceptionFrame, Severity};

use super::super::app::{App, Pane};
use super::text_pane;

pub fn fault(app: &App, area: Rect, buf: &mut Buffer) {
    let t = app.theme;
    let mut lines: Vec<Line<'static>> = Vec::new();
    if let Some(h) = &app.snapshot.halted {
        let r = &h.report;
        match &r.fault {
            Some(f) => {
                lines.push(Line::styled(format!("{} (started as {})", f.class, f.primary), t.error()));
                let mut regs = format!("CFSR {:#010x}  HFSR {:#010x}  DFSR {:#010x}", f.cfsr, f.hfsr, f.dfsr);
                if let Some(a) = f.mmfar {
                    regs.push_str(&format!("  MMFAR {a:#010x}"));
                }
                if let Some(a) = f.bfar {
                    regs.push_str(&format!("  BFAR {a:#010x}"));
                }
                lines.push(Line::styled(regs, t.address()));
                findings(&mut lines, app, r);
                for d in &f.details {
                    lines.push(Line::default());
                    lines.push(Line::from(vec![
                        Span::styled(format!("{}.{}", d.register, d.name), t.function()),
                        Span::raw(format!(" {}", d.summary)),
                    ]));
                    lines.push(Line::raw(format!("  {}", d.meaning)));
                    lines.push(Line::styled(format!("  next: {}", d.action), t.dim()));
                }
                for e in &f.escalation {
                    lines.push(Line::styled(format!("escalation: {e}"), t.warning()));
                }
                for n in &f.notes {
                    lines.push(Line::styled(format!("note: {n}"), t.dim()));
                }
            }
            None => {
                let what = match r.exception {
                    Some(e) => format!("No fault: the core is in the {e} handler"),
                    None => "No fault: the core is in thread mode".to_string(),
                };
                lines.push(Line::styled(what, t.ok()));
                findings(&mut lines, app, r);
            }
        }
    }
    text_pane(app, Pane::Fault, lines, area, buf);
}

pub fn chain(app: &App, area: Rect, buf: &mut Buffer) {
    let t = app.theme;
    let mut lines: Vec<Line<'static>> = Vec::new();
    if let Some(h) = &app.snapshot.halted {
        let r = &h.report;
        let profile = profile(r.target.profile.as_deref());
        let regs = &r.registers;
        let sp = |n: &str| regs.get(n).map(|v| format!("{v:#010x}")).unwrap_or_else(|| "?".into());
        lines.push(Line::from(vec![
            Span::styled("MSP ", t.title()),
            Span::styled(sp("msp"), t.address()),
            Span::styled("  PSP ", t.title()),
            Span::styled(sp("psp"), t.address()),
            Span::styled("  CONTROL ", t.title()),
            Span::raw(sp("control")),
        ]));
        if r.exception_frames.is_empty() {
            lines.push(Line::styled(
                match r.exception {
                    Some(_) => "no stacked frame could be read",
                    None => "thread mode: no exception frame",
                },
                t.dim(),
            ));
        }
        for (i, f) in r.exception_frames.iter().enumerate() {
            frame_lines(&mut lines, app, i, f, profile);
        }
    }
    text_pane(app, Pane::Chain, lines, area, buf);
}

fn profile(name: Option<&str>) -> Profile {
    [Profile::V6M, Profile::V7M, Profile::V8MBaseline, Profile::V8MMainline]
        .into_iter()
        .find(|p| Some(p.to_string().as_str()) == name)
        .unwrap_or(Profile::V7M)
}

fn frame_lines(lines: &mut Vec<Line<'static>>, app: &App, i: usize, f: &ExceptionFrame, profile: Profile) {
    let t = app.theme;
    lines.push(Line::default());
    let handler = f.handler.as_ref().map(|h| format!(" ({h})")).unwrap_or_default();
    let from = if f.interrupted.is_thread() { "thread mode".to_string() } else { f.interrupted.to_string() };
    lines.push(Line::from(vec![
        Span::styled(format!("#{i} {}{handler}", f.exception), t.function()),
        Span::raw(format!(" entered from {from}")),
    ]));
    let exc = match f.exc_return {
        Some(v) => format!("EXC_RETURN {}", ExcReturn::decode(v, profile)),
        None => "EXC_RETURN overwritten: frame recovered from the stacked state".to_string(),
    };
    lines.push(Line::raw(format!("  {exc}")));
    let kind = if f.extended { "extended (FP) frame" } else { "basic frame" };
    let pad = if f.padded { ", 4-byte alignment pad" } else { "" };
    let secure = match f.secure {
        Some(true) => ", secure stack",
        Some(false) => ", non-secure stack",
        None => "",
    };
    lines.push(Line::raw(format!(
        "  {kind} at {:#010x} on {}{pad}{secure}; interrupted SP {:#010x}",
        f.address, f.stack, f.interrupted_sp
    )));
    let reg = |n: &str, v: u32| vec![Span::styled(format!("{n:>5} "), t.dim()), Span::styled(format!("{v:#010x}"), t.address())];
    lines.push(Line::from([reg("r0", f.r0), reg("r1", f.r1), reg("r2", f.r2), reg("r3", f.r3)].concat()));
    lines.push(Line::from([reg("r12", f.r12), reg("lr", f.lr), reg("pc", f.pc), reg("xpsr", f.xpsr)].concat()));
    if let Some(fp) = &f.fp {
        let source = match fp.source.as_str() {
            "registers" => "live FPU (lazy stacking pending)",
            "stale-memory" => "frame memory, STALE (lazy, FPU unreadable)",
            _ => "stacked in the frame",
        };
        lines.push(Line::styled(format!("  FP from {source}, FPSCR {:#010x}", fp.fpscr), t.warning()));
        for row in 0..4 {
            let mut spans = Vec::new();
            for col in 0..4 {
                let n = row * 4 + col;
                let v = fp.s.get(&format!("s{n}")).copied().unwrap_or(0);
                spans.push(Span::styled(format!("{:>5} ", format!("s{n}")), t.dim()));
                spans.push(Span::raw(format!("{:<9}", format_f32(v))));
            }
            lines.push(Line::from(spans));
        }
    }
}

/// An FP register as a float, short.
fn format_f32(bits: u32) -> String {
    let v = f32::from_bits(bits);
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e7 { format!("{v:.1}") } else { format!("{v:.3e}") }
}

/// Findings first: they are what to act on (stack overflow, escalation, lockup).
fn findings(lines: &mut Vec<Line<'static>>, app: &App, r: &crate::report::Report) {
    let t = app.theme;
    if !r.findings.is_empty() {
        lines.push(Line::default());
        lines.push(Line::styled("Findings", t.title()));
        for f in &r.findings {
            let style = match f.severity {
                Severity::Error => t.error(),
                Severity::Warning => t.warning(),
                Severity::Info => t.dim(),
            };
            lines.push(Line::from(vec![Span::styled(format!("{}: ", f.code), style), Span::raw(f.message.clone())]));
        }
    }
}
