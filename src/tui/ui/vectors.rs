//! The vector table and NVIC pane: each exception and IRQ with its handler,
//! enabled / pending / active, priority, and a mark where a breakpoint is set; the
//! table's findings below.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, StatefulWidget, Table, TableState, Widget, Wrap};

use crate::report::Severity;

use super::super::app::{App, Pane};
use super::{pane_block, placeholder};

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let t = app.theme;
    let block = pane_block(app, Pane::Vectors);
    let inner = block.inner(area);
    block.render(area, buf);
    let Some(v) = app.snapshot.halted.as_ref().and_then(|h| h.vectors.as_ref()) else {
        Paragraph::new(Line::styled(placeholder(app), t.dim())).render(inner, buf);
        return;
    };
    // Errors and warnings take the room; notes (e.g. which IRQs the default handler
    // serves) are for `isrscope vectors`.
    let shown: Vec<_> = v.findings.iter().filter(|f| f.severity != Severity::Info).collect();
    let findings_h = (shown.len().max(1) as u16 * 2).min(inner.height / 3);
    let [head, table_area, findings_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Fill(1), Constraint::Length(findings_h)]).areas(inner);
    let name = |e: Option<crate::model::exception::ExceptionNumber>| e.map(|e| e.to_string()).unwrap_or_else(|| "none".into());
    Paragraph::new(Line::from(vec![
        Span::styled(format!("VTOR {:#010x} ({})", v.vtor, v.source), t.address()),
        Span::raw(format!("  active {}  pending {}", name(v.active), name(v.pending))),
    ]))
    .render(head, buf);

    let flag = |b: Option<bool>, c: &'static str| match b {
        Some(true) => c,
        Some(false) => "·",
        None => " ",
    };
    let rows: Vec<Row> = v
        .rows
        .iter()
        .map(|r| {
            let brk = r.entry().is_some_and(|e| app.snapshot.user_breaks.contains(&e));
            let handler = match &r.handler {
                Some(h) => h.clone(),
                None if r.vector == 0 => "(empty)".into(),
                None => format!("{:#010x}", r.vector),
            };
            let prio = r.priority.map(|p| format!("{p:#04x}")).unwrap_or_default();
            let active = r.active == Some(true);
            let style = if active { t.warning() } else { t.base() };
            Row::new(vec![
                if brk { "●".to_string() } else { " ".to_string() },
                r.exception.to_string(),
                handler,
                format!("{}{}{}", flag(r.enabled, "E"), flag(r.pending, "P"), flag(r.active, "A")),
                prio,
            ])
            .style(style)
        })
        .collect();
    let widths =
        [Constraint::Length(1), Constraint::Length(12), Constraint::Fill(1), Constraint::Length(3), Constraint::Length(4)];
    let table = Table::new(rows, widths)
        .header(Row::new(vec!["", "exception", "handler", "EPA", "prio"]).style(t.title()))
        .row_highlight_style(t.selected());
    let mut state = TableState::default().with_selected(Some(app.vector));
    StatefulWidget::render(table, table_area, buf, &mut state);

    let mut lines: Vec<Line> = shown
        .iter()
        .map(|f| {
            let style = match f.severity {
                Severity::Error => t.error(),
                Severity::Warning => t.warning(),
                Severity::Info => t.dim(),
            };
            Line::from(vec![Span::styled(format!("{}: ", f.code), style), Span::raw(f.message.clone())])
        })
        .collect();
    if lines.is_empty() {
        lines.push(Line::styled("vector checks: no errors or warnings", t.dim()));
    }
    Paragraph::new(lines).wrap(Wrap { trim: false }).render(findings_area, buf);
}
