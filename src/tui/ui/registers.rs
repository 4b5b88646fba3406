//! The registers pane: every register of the last halt, those that changed since the
//! halt before marked (highlighted, and with `*` so it shows without colour too).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::super::app::{App, Pane};
use super::text_pane;

/// Core and system registers in the order people read them; FP registers follow.
const ORDER: [&str; 27] = [
    "r0",
    "r1",
    "r2",
    "r3",
    "r4",
    "r5",
    "r6",
    "r7",
    "r8",
    "r9",
    "r10",
    "r11",
    "r12",
    "sp",
    "lr",
    "pc",
    "xpsr",
    "msp",
    "psp",
    "control",
    "primask",
    "basepri",
    "faultmask",
    "fpscr",
    "msplim",
    "psplim",
    "fpccr",
];

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let t = app.theme;
    let mut lines = Vec::new();
    if let Some(regs) = app.snapshot.registers() {
        let mut names: Vec<&str> = ORDER.iter().copied().filter(|n| regs.contains_key(*n)).collect();
        let mut rest: Vec<&str> = regs.keys().map(String::as_str).filter(|n| !ORDER.contains(n)).collect();
        // s0..s31 in numeric order, then anything else by name.
        rest.sort_by_key(|n| (n.strip_prefix('s').and_then(|d| d.parse::<u32>().ok()).unwrap_or(u32::MAX), n.to_string()));
        names.extend(rest);
        let inner = area.width.saturating_sub(2);
        let per_row = usize::from((inner / 21).max(1));
        for chunk in names.chunks(per_row) {
            let mut spans = Vec::new();
            for name in chunk {
                let v = regs[*name];
                let changed = app.previous.as_ref().is_some_and(|p| p.get(*name) != Some(&v));
                spans.push(Span::styled(format!("{name:>9} "), t.dim()));
                if changed {
                    spans.push(Span::styled(format!("{v:08x}"), t.changed()));
                    spans.push(Span::raw("* "));
                } else {
                    spans.push(Span::styled(format!("{v:08x}"), t.address()));
                    spans.push(Span::raw("  "));
                }
            }
            lines.push(Line::from(spans));
        }
        if app.previous.is_some() {
            lines.push(Line::styled("* changed since the previous halt", t.dim()));
        }
    }
    text_pane(app, Pane::Registers, lines, area, buf);
}
