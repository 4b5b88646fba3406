//! The UI's state: the latest snapshot, the registers of the previous halt (to
//! highlight changes), which pane has the focus and what is selected in it (a frame, a
//! vector, an RTOS task, and whose backtrace the Backtrace pane shows); and turning
//! keys into UI changes or [`Command`]s for the poller. No I/O here.

use std::collections::BTreeMap;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::poller::Command;
use super::snapshot::{FrameDetail, Snapshot, VectorRow};
use crate::report::BacktraceEntry;
use super::theme::Theme;

/// The panes, in Tab order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    Fault,
    Chain,
    Backtrace,
    Registers,
    Vectors,
    /// The RTOS's tasks: only when the firmware has an RTOS the report lists.
    Tasks,
}

impl Pane {
    pub const ALL: [Pane; 6] = [Pane::Fault, Pane::Chain, Pane::Backtrace, Pane::Registers, Pane::Vectors, Pane::Tasks];

    pub fn title(self) -> &'static str {
        match self {
            Pane::Fault => "Fault",
            Pane::Chain => "Exception chain",
            Pane::Backtrace => "Backtrace",
            Pane::Registers => "Registers",
            Pane::Vectors => "Vectors & NVIC",
            Pane::Tasks => "Tasks",
        }
    }

    fn index(self) -> usize {
        Pane::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }
}

/// Keys, as the help bar and the `?` overlay list them: (key, what it does).
pub const KEYS: [(&str, &str); 17] = [
    ("h", "halt"),
    ("c", "continue"),
    ("s", "step one instruction"),
    ("r", "reset and run"),
    ("R", "reset and halt"),
    ("b", "break on the selected IRQ handler / clear it (Vectors pane)"),
    ("f", "catch faults on/off"),
    ("w", "write a core file (capture)"),
    ("Tab", "next pane (Shift-Tab: previous)"),
    ("1-6", "go to pane: fault, chain, backtrace, registers, vectors, tasks"),
    ("↑↓ jk", "select a frame / vector / task, or scroll"),
    ("Enter", "Tasks pane: the task's backtrace and source (Esc: back)"),
    ("PgUp/Dn", "page"),
    ("?", "this help (Esc closes)"),
    ("q", "quit: clear breakpoints, resume the core"),
    ("Q", "quit leaving the core halted"),
    ("Ctrl-C", "quit"),
];

/// A backtrace as the Backtrace pane shows it: its entries, why it ends, and each
/// entry's source, code and registers (same index).
pub struct ShownBacktrace<'a> {
    pub entries: &'a [BacktraceEntry],
    pub end: Option<&'a str>,
    pub details: &'a [Option<FrameDetail>],
}

pub struct App {
    pub snapshot: Snapshot,
    /// Registers of the halt before the current one.
    pub previous: Option<BTreeMap<String, u32>>,
    pub focus: Pane,
    /// Selected backtrace entry (index into the report's backtrace).
    pub frame: usize,
    /// Selected vector row.
    pub vector: usize,
    /// Selected row of the Tasks pane (index into the report's tasks).
    pub task: usize,
    /// The task whose backtrace the Backtrace pane shows instead of the halt's own
    /// (a switched-out task, from its saved context).
    pub shown_task: Option<usize>,
    /// Scroll offsets of the text panes (fault, chain, registers).
    pub scroll: [u16; Pane::ALL.len()],
    pub help: bool,
    pub theme: Theme,
}

impl App {
    pub fn new(snapshot: Snapshot, theme: Theme) -> Self {
        let mut app = App {
            snapshot,
            previous: None,
            focus: Pane::Fault,
            frame: 0,
            vector: 0,
            task: 0,
            shown_task: None,
            scroll: [0; Pane::ALL.len()],
            help: false,
            theme,
        };
        app.select_first_frame();
        app.select_active_vector();
        app
    }

    /// Takes a new snapshot; on a new halt, the old registers become "previous".
    pub fn on_snapshot(&mut self, new: Snapshot) {
        let old_regs = self.snapshot.registers().cloned();
        let new_regs = new.registers().cloned();
        let new_halt = new_regs.is_some() && !new.stale && new_regs != old_regs;
        self.snapshot = new;
        if new_halt {
            self.previous = old_regs;
            self.scroll = [0; Pane::ALL.len()];
            self.shown_task = None;
            self.task = self.task.min(self.tasks_len().saturating_sub(1));
            self.select_first_frame();
            self.select_active_vector();
        }
    }

    /// In a fault, the code that faulted (the first frame below the innermost
    /// exception entry); otherwise the innermost frame.
    fn select_first_frame(&mut self) {
        let Some(h) = &self.snapshot.halted else { return };
        let bt = &h.report.backtrace;
        let innermost = bt.iter().position(|e| e.kind == "frame");
        let faulting = h
            .report
            .fault
            .as_ref()
            .and_then(|_| bt.iter().position(|e| e.kind == "exception"))
            .and_then(|x| bt.iter().skip(x).position(|e| e.kind == "frame").map(|p| p + x));
        self.frame = faulting.or(innermost).unwrap_or(0);
    }

    /// The running exception's row, so `b` there breaks on it next time.
    fn select_active_vector(&mut self) {
        let Some(h) = &self.snapshot.halted else { return };
        let Some(v) = &h.vectors else { return };
        let active = h.report.exception_frames.iter().map(|f| f.exception).find(|e| e.irq().is_some());
        if let Some(active) = active
            && let Some(i) = v.rows.iter().position(|r| r.exception == active)
        {
            self.vector = i;
        } else {
            self.vector = self.vector.min(v.rows.len().saturating_sub(1));
        }
    }

    pub fn selected_vector(&self) -> Option<&VectorRow> {
        self.snapshot.halted.as_ref()?.vectors.as_ref()?.rows.get(self.vector)
    }

    /// The panes this halt has, in Tab order: Tasks only when the report lists tasks.
    pub fn panes(&self) -> Vec<Pane> {
        let tasks = self.snapshot.halted.as_ref().is_some_and(|h| h.report.tasks.is_some());
        Pane::ALL.iter().copied().filter(|&p| p != Pane::Tasks || tasks).collect()
    }

    /// The pane's number (1-based) in [`App::panes`].
    pub fn pane_number(&self, pane: Pane) -> usize {
        self.panes().iter().position(|p| *p == pane).unwrap_or(0) + 1
    }

    /// The backtrace the Backtrace pane shows: the selected task's, or the halt's own.
    pub fn shown_backtrace(&self) -> Option<ShownBacktrace<'_>> {
        let h = self.snapshot.halted.as_ref()?;
        if let Some(i) = self.shown_task
            && let Some(t) = h.report.tasks.as_ref().and_then(|l| l.tasks.get(i))
        {
            let details = h.task_frames.get(i).map(Vec::as_slice).unwrap_or(&[]);
            return Some(ShownBacktrace { entries: &t.backtrace, end: t.backtrace_end.as_deref(), details });
        }
        Some(ShownBacktrace { entries: &h.report.backtrace, end: h.report.backtrace_end.as_deref(), details: &h.frames })
    }

    /// The name of the task whose backtrace is shown, if it is not the halt's own.
    pub fn shown_task_name(&self) -> Option<&str> {
        let i = self.shown_task?;
        Some(self.snapshot.halted.as_ref()?.report.tasks.as_ref()?.tasks.get(i)?.name.as_str())
    }

    fn backtrace_len(&self) -> usize {
        self.shown_backtrace().map(|b| b.entries.len()).unwrap_or(0)
    }

    fn tasks_len(&self) -> usize {
        self.snapshot.halted.as_ref().and_then(|h| h.report.tasks.as_ref()).map(|l| l.tasks.len()).unwrap_or(0)
    }

    /// Enter on the Tasks pane: the selected task's backtrace in the Backtrace pane (the
    /// running task's is the halt's own).
    fn show_task(&mut self) -> bool {
        let Some(list) = self.snapshot.halted.as_ref().and_then(|h| h.report.tasks.as_ref()) else { return false };
        let Some(t) = list.tasks.get(self.task) else { return false };
        self.shown_task = if t.context.is_some() { Some(self.task) } else { None };
        self.frame = 0;
        if self.shown_task.is_none() {
            self.select_first_frame();
        }
        self.focus = Pane::Backtrace;
        true
    }

    fn vectors_len(&self) -> usize {
        self.snapshot.halted.as_ref().and_then(|h| h.vectors.as_ref()).map(|v| v.rows.len()).unwrap_or(0)
    }

    /// Handles a key: whether to redraw, and a command for the poller.
    pub fn on_key(&mut self, key: KeyEvent) -> (bool, Option<Command>) {
        if key.kind == KeyEventKind::Release {
            return (false, None);
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && matches!(key.code, KeyCode::Char('c') | KeyCode::Char('C')) {
            return (false, Some(Command::Quit { keep_halted: false }));
        }
        if self.help {
            // Any key closes the overlay; q still quits.
            self.help = false;
            if key.code == KeyCode::Char('q') {
                return (true, Some(Command::Quit { keep_halted: false }));
            }
            return (true, None);
        }
        let command = match key.code {
            KeyCode::Char('q') => Some(Command::Quit { keep_halted: false }),
            KeyCode::Char('Q') => Some(Command::Quit { keep_halted: true }),
            KeyCode::Char('h') => Some(Command::Halt),
            KeyCode::Char('c') => Some(Command::Continue),
            KeyCode::Char('s') => Some(Command::Step),
            KeyCode::Char('r') => Some(Command::Reset { halt: false }),
            KeyCode::Char('R') => Some(Command::Reset { halt: true }),
            KeyCode::Char('f') => Some(Command::SetCatch(!self.snapshot.catching)),
            KeyCode::Char('w') => Some(Command::Capture),
            KeyCode::Char('b') => self.break_command(),
            _ => None,
        };
        if command.is_some() {
            return (false, command);
        }
        let redraw = match key.code {
            KeyCode::Char('?') => {
                self.help = true;
                true
            }
            KeyCode::Tab | KeyCode::BackTab => {
                let panes = self.panes();
                let at = panes.iter().position(|p| *p == self.focus).unwrap_or(0);
                let n = panes.len();
                let next = if key.code == KeyCode::Tab { (at + 1) % n } else { (at + n - 1) % n };
                self.set_focus(panes[next])
            }
            KeyCode::Char(d @ '1'..='6') => match self.panes().get((d as u8 - b'1') as usize) {
                Some(&p) => self.set_focus(p),
                None => false,
            },
            KeyCode::Enter if self.focus == Pane::Tasks => self.show_task(),
            KeyCode::Esc if self.shown_task.is_some() => {
                self.shown_task = None;
                self.select_first_frame();
                true
            }
            KeyCode::Down | KeyCode::Char('j') => self.move_by(1),
            KeyCode::Up | KeyCode::Char('k') => self.move_by(-1),
            KeyCode::PageDown => self.move_by(10),
            KeyCode::PageUp => self.move_by(-10),
            KeyCode::Home => self.move_by(-10_000),
            KeyCode::End => self.move_by(10_000),
            _ => false,
        };
        (redraw, None)
    }

    fn set_focus(&mut self, pane: Pane) -> bool {
        self.focus = pane;
        true
    }

    /// Breaks on the selected vector's handler (the Vectors pane's selection).
    fn break_command(&mut self) -> Option<Command> {
        let row = self.selected_vector()?;
        let address = row.entry()?;
        let name = row.handler.clone().unwrap_or_else(|| row.exception.to_string());
        Some(Command::ToggleBreak { address, name })
    }

    fn move_by(&mut self, delta: i32) -> bool {
        let step = |v: usize, len: usize| -> usize {
            if len == 0 {
                return 0;
            }
            (v as i64 + i64::from(delta)).clamp(0, len as i64 - 1) as usize
        };
        match self.focus {
            Pane::Backtrace => {
                let len = self.backtrace_len();
                self.frame = step(self.frame, len);
            }
            Pane::Vectors => {
                let len = self.vectors_len();
                self.vector = step(self.vector, len);
            }
            Pane::Tasks => {
                let len = self.tasks_len();
                self.task = step(self.task, len);
            }
            p => {
                let s = &mut self.scroll[p.index()];
                *s = (i32::from(*s) + delta).clamp(0, 500) as u16;
            }
        }
        true
    }
}
