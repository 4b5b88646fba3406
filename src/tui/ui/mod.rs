//! Drawing: `impl Widget for &App`, generic over the backend (tests render into
//! `TestBackend`). Below 160x40 one pane is shown at a time, picked with Tab or 1-6;
//! larger terminals show every pane at once. The Tasks pane is there only when the
//! firmware has an RTOS whose tasks the report lists.

mod backtrace;
mod fault;
mod registers;
mod status;
mod tasks;
mod vectors;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Tabs, Widget, Wrap};

use super::app::{App, KEYS, Pane};
use super::snapshot::CoreView;

/// Smallest size that shows every pane at once.
const WIDE: (u16, u16) = (160, 40);

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        // The summary sentence may take two lines on a narrow terminal.
        let prefix = if self.snapshot.stale { " last halt: ".len() } else { 1 };
        let summary_len = self.snapshot.halted.as_ref().map(|h| h.report.summary.chars().count() + prefix).unwrap_or(0);
        let summary_h = if summary_len > usize::from(area.width) { 2 } else { 1 };
        let [status, summary, main, message, help] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(summary_h),
            Constraint::Fill(1),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(area);
        status::render(self, status, buf);
        summary_line(self, summary, buf);
        if area.width >= WIDE.0 && area.height >= WIDE.1 {
            wide(self, main, buf);
        } else {
            let [tabs, pane] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(main);
            let panes = self.panes();
            let titles = panes.iter().enumerate().map(|(i, p)| format!("{} {}", i + 1, p.title()));
            Tabs::new(titles)
                .select(panes.iter().position(|p| *p == self.focus).unwrap_or(0))
                .highlight_style(t.selected())
                .divider("│")
                .render(tabs, buf);
            draw_pane(self, self.focus, pane, buf);
        }
        message_line(self, message, buf);
        help_bar(self, help, buf);
        if self.help {
            help_overlay(self, area, buf);
        }
    }
}

fn wide(app: &App, area: Rect, buf: &mut Buffer) {
    let [left, middle, right] =
        Layout::horizontal([Constraint::Percentage(34), Constraint::Percentage(40), Constraint::Percentage(26)]).areas(area);
    let [regs, vectors] = Layout::vertical([Constraint::Length(16), Constraint::Fill(1)]).areas(right);
    if app.panes().contains(&Pane::Tasks) {
        let [fault, chain, tasks] =
            Layout::vertical([Constraint::Percentage(38), Constraint::Percentage(24), Constraint::Percentage(38)]).areas(left);
        draw_pane(app, Pane::Fault, fault, buf);
        draw_pane(app, Pane::Chain, chain, buf);
        draw_pane(app, Pane::Tasks, tasks, buf);
    } else {
        let [fault, chain] = Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(left);
        draw_pane(app, Pane::Fault, fault, buf);
        draw_pane(app, Pane::Chain, chain, buf);
    }
    draw_pane(app, Pane::Backtrace, middle, buf);
    draw_pane(app, Pane::Registers, regs, buf);
    draw_pane(app, Pane::Vectors, vectors, buf);
}

/// A bordered block titled with the pane's number and name; the focused one stands out.
pub(crate) fn pane_block(app: &App, pane: Pane) -> Block<'static> {
    let n = app.pane_number(pane);
    let focused = app.focus == pane;
    let t = app.theme;
    let mut title = format!(" {n} {} ", pane.title());
    if pane == Pane::Backtrace
        && let Some(task) = app.shown_task_name()
    {
        title.push_str(&format!("of task {task} (Esc: the halt's own) "));
    }
    if app.snapshot.stale && app.snapshot.halted.is_some() {
        title.push_str("(last halt) ");
    }
    Block::default()
        .borders(Borders::ALL)
        .border_type(if focused { BorderType::Thick } else { BorderType::Plain })
        .border_style(if focused { t.focus_border() } else { t.border() })
        .title(Span::styled(title, t.title()))
}

fn draw_pane(app: &App, pane: Pane, area: Rect, buf: &mut Buffer) {
    match pane {
        Pane::Fault => fault::fault(app, area, buf),
        Pane::Chain => fault::chain(app, area, buf),
        Pane::Backtrace => backtrace::render(app, area, buf),
        Pane::Registers => registers::render(app, area, buf),
        Pane::Vectors => vectors::render(app, area, buf),
        Pane::Tasks => tasks::render(app, area, buf),
    }
}

/// Text panes: wrapped, scrolled by the pane's offset; a placeholder when empty.
pub(crate) fn text_pane(app: &App, pane: Pane, lines: Vec<Line<'static>>, area: Rect, buf: &mut Buffer) {
    let scroll = app.scroll[Pane::ALL.iter().position(|p| *p == pane).unwrap_or(0)];
    let lines = if lines.is_empty() { vec![Line::styled(placeholder(app), app.theme.dim())] } else { lines };
    Paragraph::new(lines).block(pane_block(app, pane)).wrap(Wrap { trim: false }).scroll((scroll, 0)).render(area, buf);
}

/// What an empty pane says.
pub(crate) fn placeholder(app: &App) -> &'static str {
    match (&app.snapshot.core, &app.snapshot.halted) {
        (CoreView::Starting, _) => "connecting…",
        (CoreView::Running, None) => "running: press h to halt (faults are caught when f is on)",
        (CoreView::Gone(_), _) => "the target is gone",
        _ => "nothing here",
    }
}

fn summary_line(app: &App, area: Rect, buf: &mut Buffer) {
    let t = app.theme;
    let line = match &app.snapshot.halted {
        Some(h) => {
            let style = if h.report.fault.is_some() { t.error() } else { t.title() };
            let prefix = if app.snapshot.stale { "last halt: " } else { "" };
            Line::from(vec![Span::styled(format!(" {prefix}{}", h.report.summary), style)])
        }
        None => Line::styled(format!(" {}", placeholder(app)), t.dim()),
    };
    Paragraph::new(line).wrap(Wrap { trim: false }).render(area, buf);
}

fn message_line(app: &App, area: Rect, buf: &mut Buffer) {
    let t = app.theme;
    if let Some(m) = &app.snapshot.message {
        let style = if m.error { t.error() } else { t.ok() };
        Paragraph::new(Line::styled(format!(" {}", m.text), style)).render(area, buf);
    }
}

fn help_bar(app: &App, area: Rect, buf: &mut Buffer) {
    let t = app.theme;
    let long = [
        ("h", "halt"),
        ("c", "cont"),
        ("s", "step"),
        ("R", "reset-halt"),
        ("b", "break"),
        ("f", "catch"),
        ("w", "core"),
        ("Tab", "pane"),
        ("?", "help"),
        ("q", "quit"),
    ];
    let short = [
        ("h", "halt"),
        ("c", "cont"),
        ("s", "step"),
        ("R", "rst"),
        ("b", "brk"),
        ("f", "catch"),
        ("w", "core"),
        ("Tab", ""),
        ("?", "help"),
        ("q", "quit"),
    ];
    let width = |keys: &[(&str, &str)]| keys.iter().map(|(k, w)| k.len() + w.len() + 3).sum::<usize>();
    let keys = if width(&long) <= usize::from(area.width) { &long } else { &short };
    let mut spans = Vec::new();
    for (k, what) in keys {
        spans.push(Span::styled(format!(" {k} "), t.key()));
        spans.push(Span::raw(format!("{what} ")));
    }
    Paragraph::new(Line::from(spans)).render(area, buf);
}

fn help_overlay(app: &App, area: Rect, buf: &mut Buffer) {
    let t = app.theme;
    let w = area.width.min(74);
    let h = (KEYS.len() as u16 + 4).min(area.height);
    let popup = Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h };
    Clear.render(popup, buf);
    let mut lines: Vec<Line> =
        KEYS.iter().map(|(k, what)| Line::from(vec![Span::styled(format!(" {k:>8} "), t.title()), Span::raw(*what)])).collect();
    lines.push(Line::styled(" any key closes this help", t.dim()));
    Paragraph::new(lines)
        .block(Block::bordered().title(Span::styled(" Keys ", t.title())).border_style(t.focus_border()))
        .style(Style::default())
        .render(popup, buf);
}
