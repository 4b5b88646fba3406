//! The backtrace pane: the frames (inline frames and exception entries marked), and
//! for the selected frame its source lines, the disassembly around its PC and the
//! registers the unwinder recovered for it (unknown ones shown as such).

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, ListState, Paragraph, StatefulWidget, Widget};

use crate::report::BacktraceEntry;

use super::super::app::{App, Pane};
use super::super::snapshot::FrameDetail;
use super::{pane_block, placeholder};

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let t = app.theme;
    let block = pane_block(app, Pane::Backtrace);
    let inner = block.inner(area);
    block.render(area, buf);
    let Some(super::super::app::ShownBacktrace { entries: bt, end, details }) = app.shown_backtrace() else {
        Paragraph::new(Line::styled(placeholder(app), t.dim())).render(inner, buf);
        return;
    };
    let list_h = (bt.len() as u16 + 1).clamp(3, (inner.height * 2 / 5).max(3));
    let [list_area, detail_area] = Layout::vertical([Constraint::Length(list_h), Constraint::Fill(1)]).areas(inner);

    // Frames are numbered as `inspect` numbers them: exception entries take no number.
    let mut n = 0;
    let mut items: Vec<ListItem> = bt
        .iter()
        .map(|e| {
            let line = entry_line(app, n, e);
            n += usize::from(e.kind == "frame");
            ListItem::new(line)
        })
        .collect();
    if let Some(end) = end {
        items.push(ListItem::new(Line::styled(format!("  ({end})"), t.dim())));
    }
    let mut state = ListState::default().with_selected(Some(app.frame.min(bt.len().saturating_sub(1))));
    StatefulWidget::render(List::new(items).highlight_style(t.selected()).highlight_symbol("›"), list_area, buf, &mut state);

    let detail = details.get(app.frame).and_then(|d| d.as_ref());
    let entry = bt.get(app.frame);
    detail_pane(app, entry, detail, detail_area, buf);
}

fn entry_line(app: &App, i: usize, e: &BacktraceEntry) -> Line<'static> {
    let t = app.theme;
    if e.kind == "exception" {
        let exc = e.exception.map(|x| x.to_string()).unwrap_or_default();
        let ret = e.exc_return.map(|v| format!(" (EXC_RETURN {v:#010x})")).unwrap_or_default();
        return Line::styled(format!("  <{exc} entered here{ret}>"), t.warning());
    }
    let mut spans = vec![
        Span::styled(format!("{i:>2} "), t.dim()),
        Span::styled(format!("{:#010x} ", e.pc.unwrap_or(0)), t.address()),
        Span::styled(e.function.clone().unwrap_or_else(|| "??".into()), t.function()),
    ];
    if e.inlined {
        spans.push(Span::styled(" [inlined]", t.dim()));
    }
    if let Some(file) = &e.file {
        let name = file.rsplit('/').next().unwrap_or(file);
        let line = e.line.map(|l| format!(":{l}")).unwrap_or_default();
        spans.push(Span::raw(format!(" {name}{line}")));
    }
    if let Some(m) = e.method.as_deref().filter(|m| m.starts_with("heuristic")) {
        spans.push(Span::styled(format!(" ({m})"), t.warning()));
    }
    Line::from(spans)
}

fn detail_pane(app: &App, entry: Option<&BacktraceEntry>, d: Option<&FrameDetail>, area: Rect, buf: &mut Buffer) {
    let t = app.theme;
    let (Some(entry), Some(d)) = (entry, d) else {
        Paragraph::new(Line::styled("select a frame (↑↓) to see its source, code and registers", t.dim()))
            .block(Block::default().borders(Borders::TOP).border_style(t.border()))
            .render(area, buf);
        return;
    };
    let [src_area, low] = Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
    let [dis_area, reg_area] = if low.width >= 70 {
        Layout::horizontal([Constraint::Fill(1), Constraint::Length(34)]).areas(low)
    } else {
        Layout::vertical([Constraint::Fill(1), Constraint::Length(5)]).areas(low)
    };

    // Source, centred on the frame's line.
    let title = match (&entry.file, entry.line) {
        (Some(f), Some(l)) => format!(" {}:{l} ", f.rsplit('/').next().unwrap_or(f)),
        _ => " source ".into(),
    };
    let block = Block::default().borders(Borders::TOP).border_style(t.border()).title(Span::styled(title, t.title()));
    let rows = block.inner(src_area).height as usize;
    let lines: Vec<Line> = if d.source.is_empty() {
        vec![Line::styled(d.source_note.clone().unwrap_or_default(), t.dim())]
    } else {
        let at = d.source.iter().position(|(n, _)| Some(*n) == d.source_line).unwrap_or(0);
        let from = at.saturating_sub(rows / 2).min(d.source.len().saturating_sub(rows));
        d.source
            .iter()
            .skip(from)
            .take(rows)
            .map(|(n, text)| {
                let current = Some(*n) == d.source_line;
                let marker = if current { "▶" } else { " " };
                let style = if current { t.current() } else { t.base() };
                Line::from(vec![Span::styled(format!("{marker}{n:>4} "), t.dim()), Span::styled(text.clone(), style)])
            })
            .collect()
    };
    Paragraph::new(lines).block(block).render(src_area, buf);

    // Disassembly around the PC.
    let block = Block::default()
        .borders(Borders::TOP)
        .border_style(t.border())
        .title(Span::styled(format!(" code at {:#010x} ", d.pc), t.title()));
    let rows = block.inner(dis_area).height as usize;
    let at = d.disassembly.iter().position(|l| l.address >= d.pc & !1).unwrap_or(0);
    let from = at.saturating_sub(rows / 2).min(d.disassembly.len().saturating_sub(rows));
    let lines: Vec<Line> = d
        .disassembly
        .iter()
        .skip(from)
        .take(rows)
        .map(|l| {
            let current = l.address == d.pc & !1;
            let style = if current { t.current() } else { t.base() };
            Line::from(vec![
                Span::styled(format!("{}{:08x} ", if current { "▶" } else { " " }, l.address), t.address()),
                Span::styled(format!("{:<9} ", l.bytes), t.dim()),
                Span::styled(l.text.clone(), style),
            ])
        })
        .collect();
    let lines = if lines.is_empty() { vec![Line::styled("code not readable", t.dim())] } else { lines };
    Paragraph::new(lines).block(block).render(dis_area, buf);

    // Registers recovered for this frame; "--------" where the unwinder cannot know.
    let block =
        Block::default().borders(Borders::TOP).border_style(t.border()).title(Span::styled(" frame registers ", t.title()));
    let inner_w = block.inner(reg_area).width;
    let per_row = usize::from((inner_w / 16).max(1));
    let mut lines = Vec::new();
    if d.registers.is_empty() {
        lines.push(Line::styled("not recovered", t.dim()));
    }
    for chunk in d.registers.chunks(per_row) {
        let mut spans = Vec::new();
        for (name, v) in chunk {
            spans.push(Span::styled(format!("{name:>4} "), t.dim()));
            match v {
                Some(v) => spans.push(Span::styled(format!("{v:#010x} "), t.address())),
                None => spans.push(Span::styled("--unknown ", t.dim())),
            }
        }
        lines.push(Line::from(spans));
    }
    Paragraph::new(lines).block(block).render(reg_area, buf);
}
