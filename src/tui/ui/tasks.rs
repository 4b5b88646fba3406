//! The Tasks pane: every task the RTOS holds (state, priorities, what it waits on and
//! holds, its stack), deadlocks first; the selected task's details below the list.
//! Enter shows its backtrace in the Backtrace pane.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, ListState, Paragraph, StatefulWidget, Widget, Wrap};

use crate::rtos::{Task, TaskList};

use super::super::app::{App, Pane};
use super::{pane_block, placeholder};

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let t = app.theme;
    let block = pane_block(app, Pane::Tasks);
    let inner = block.inner(area);
    block.render(area, buf);
    let Some(list) = app.snapshot.halted.as_ref().and_then(|h| h.report.tasks.as_ref()) else {
        Paragraph::new(Line::styled(placeholder(app), t.dim())).render(inner, buf);
        return;
    };
    let mut head: Vec<Line> = list
        .deadlocks
        .iter()
        .map(|d| Line::styled(format!(" {}: {}", if d.forever { "deadlock" } else { "wait cycle" }, d.description), t.error()))
        .collect();
    if !list.problems.is_empty() {
        head.push(Line::styled(format!(" {} problem(s) reading the kernel: see the findings", list.problems.len()), t.warning()));
    }
    let head_h = (head.len() as u16).min(inner.height / 3);
    let list_h = (list.tasks.len() as u16 + 1).clamp(3, (inner.height.saturating_sub(head_h) * 3 / 5).max(3));
    let [head_area, list_area, detail_area] =
        Layout::vertical([Constraint::Length(head_h), Constraint::Length(list_h), Constraint::Fill(1)]).areas(inner);
    Paragraph::new(head).wrap(Wrap { trim: false }).render(head_area, buf);

    let items: Vec<ListItem> = list.tasks.iter().map(|task| ListItem::new(task_line(app, list, task))).collect();
    let mut state = ListState::default().with_selected(Some(app.task.min(list.tasks.len().saturating_sub(1))));
    StatefulWidget::render(List::new(items).highlight_style(t.selected()).highlight_symbol("›"), list_area, buf, &mut state);

    let lines = list.tasks.get(app.task).map(|task| details(app, list, task)).unwrap_or_default();
    Paragraph::new(lines)
        .block(Block::default().borders(Borders::TOP).border_style(t.border()))
        .wrap(Wrap { trim: false })
        .render(detail_area, buf);
}

fn task_line(app: &App, list: &TaskList, task: &Task) -> Line<'static> {
    let t = app.theme;
    let state_style = match task.state.as_str() {
        "running" => t.ok(),
        "blocked" if list.deadlocks.iter().any(|d| d.tasks.contains(&task.tcb)) => t.error(),
        _ => t.base(),
    };
    let mut spans = vec![
        Span::styled(format!("{:<12} ", task.name), t.function()),
        Span::styled(format!("{:<9} ", task.state.as_str()), state_style),
        Span::raw(format!("prio {}", task.priority)),
    ];
    if let Some(b) = task.base_priority.filter(|&b| b != task.priority) {
        spans.push(Span::styled(format!(" (base {b})"), t.warning()));
    }
    if task.stack.untouched_bytes == Some(0) {
        spans.push(Span::styled("  stack used to its end", t.error()));
    }
    if let Some(w) = &task.waiting_on {
        spans.push(Span::raw(format!("  waits on {w}")));
    }
    Line::from(spans)
}

fn details(app: &App, list: &TaskList, task: &Task) -> Vec<Line<'static>> {
    let t = app.theme;
    let mut out = vec![Line::from(vec![
        Span::styled(format!(" {} ", task.name), t.title()),
        Span::styled(format!("TCB {:#010x}", task.tcb), t.address()),
    ])];
    let field = |k: &str, v: String| Line::from(vec![Span::styled(format!(" {k:<10}"), t.dim()), Span::raw(v)]);
    if let Some(w) = &task.waiting_on {
        let until = task.wakes_at.map(|k| format!(" until tick {k}")).unwrap_or_else(|| " forever".into());
        out.push(field("waits on", format!("{w}{until}")));
    } else if let Some(k) = task.wakes_at {
        out.push(field("sleeps", format!("until tick {k}")));
    }
    if !task.holds.is_empty() {
        out.push(field("holds", task.holds.join(", ")));
    } else if let Some(n) = task.mutexes_held.filter(|&n| n > 0) {
        out.push(field("holds", format!("{n} mutex(es), not registered")));
    }
    let s = &task.stack;
    let use_ = match s.untouched_bytes {
        Some(0) => ", no fill byte left at the base: used to its end".to_string(),
        Some(u) => format!(", {u} bytes never used"),
        None => String::new(),
    };
    out.push(field("stack", format!("base {:#010x}, saved SP {:#010x}{use_}", s.base, s.top_of_stack)));
    match &task.context {
        Some(c) => {
            let exc = c.exc_return.map(|e| format!(", EXC_RETURN {e:#010x}")).unwrap_or_default();
            let fp = if c.fp { ", S16-S31 saved (used the FPU)" } else { "" };
            out.push(field("context", format!("PC {:#010x} LR {:#010x} SP {:#010x}{exc}{fp}", c.pc, c.lr, c.sp)));
            out.push(Line::styled(" Enter: its backtrace and source", t.dim()));
        }
        None if Some(task.tcb) == list.current => out.push(Line::styled(" running: its call stack is the halt's backtrace", t.dim())),
        None => out.push(Line::styled(" its saved context could not be read", t.warning())),
    }
    out
}
