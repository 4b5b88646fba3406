//! The UI state without a target: keys turn into the right commands, changed
//! registers are marked after a new halt, and the theme without colour still shows
//! what colour would.

use std::collections::BTreeMap;

use isrscope::model::exception::ExceptionNumber;
use isrscope::report::{Outcome, Report, TargetSummary};
use isrscope::tui::poller::Command;
use isrscope::tui::snapshot::{CoreView, HaltedView, VectorRow, VectorView};
use isrscope::tui::{App, Pane, Snapshot, Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Modifier;

fn report(pc: u32, r0: u32) -> Report {
    let registers: BTreeMap<String, u32> = [("pc", pc), ("r0", r0), ("sp", 0x2000_1000), ("xpsr", 0x0100_0000)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    Report {
        schema: 1,
        summary: "No exception active: thread mode".into(),
        target: TargetSummary { description: "test".into(), core: None, profile: None, stop: None, elf: None },
        exception: None,
        registers,
        exception_frames: vec![],
        fault: None,
        svc: None,
        backtrace: vec![],
        backtrace_end: None,
        findings: vec![],
        outcome: Outcome::NoFault,
        tasks: None,
    }
}

fn halted(seq: u64, pc: u32, r0: u32) -> Snapshot {
    let mut s = Snapshot::starting("test backend", None, true);
    s.seq = seq;
    s.core = CoreView::Halted("single step".into());
    let rows = vec![
        VectorRow {
            exception: ExceptionNumber(3),
            vector: 0x0800_0101,
            handler: Some("HardFault_Handler".into()),
            enabled: Some(true),
            pending: None,
            active: None,
            priority: None,
        },
        VectorRow {
            exception: ExceptionNumber::from_irq(28),
            vector: 0x0800_0241,
            handler: Some("TIM2_IRQHandler".into()),
            enabled: Some(true),
            pending: Some(false),
            active: Some(false),
            priority: Some(0x80),
        },
    ];
    s.halted =
        Some(HaltedView { report: report(pc, r0), frames: vec![], task_frames: vec![], vectors: Some(VectorView { rows, ..VectorView::default() }) });
    s
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

#[test]
fn run_control_keys_become_commands() {
    let mut app = App::new(halted(1, 0x100, 0), Theme::MONO);
    assert_eq!(app.on_key(key('h')).1, Some(Command::Halt));
    assert_eq!(app.on_key(key('c')).1, Some(Command::Continue));
    assert_eq!(app.on_key(key('s')).1, Some(Command::Step));
    assert_eq!(app.on_key(key('r')).1, Some(Command::Reset { halt: false }));
    assert_eq!(app.on_key(key('R')).1, Some(Command::Reset { halt: true }));
    assert_eq!(app.on_key(key('f')).1, Some(Command::SetCatch(true)), "catching is off in this snapshot");
    assert_eq!(app.on_key(key('w')).1, Some(Command::Capture));
    assert_eq!(app.on_key(key('q')).1, Some(Command::Quit { keep_halted: false }));
    assert_eq!(app.on_key(key('Q')).1, Some(Command::Quit { keep_halted: true }));
    assert_eq!(
        app.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)).1,
        Some(Command::Quit { keep_halted: false }),
        "Ctrl-C quits (raw mode delivers it as a key)"
    );
}

#[test]
fn b_breaks_on_the_selected_vector_handler_without_the_thumb_bit() {
    let mut app = App::new(halted(1, 0x100, 0), Theme::MONO);
    app.on_key(key('5'));
    assert_eq!(app.focus, Pane::Vectors);
    app.on_key(key('j'));
    assert_eq!(app.on_key(key('b')).1, Some(Command::ToggleBreak { address: 0x0800_0240, name: "TIM2_IRQHandler".into() }));
}

#[test]
fn tab_cycles_panes_and_help_closes_on_any_key() {
    let mut app = App::new(Snapshot::starting("t", None, true), Theme::MONO);
    for want in [Pane::Chain, Pane::Backtrace, Pane::Registers, Pane::Vectors, Pane::Fault] {
        app.on_key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE));
        assert_eq!(app.focus, want);
    }
    app.on_key(key('?'));
    assert!(app.help);
    let (redraw, cmd) = app.on_key(key('x'));
    assert!(redraw && cmd.is_none() && !app.help);
}

#[test]
fn registers_changed_since_the_previous_halt_are_marked() {
    let mut app = App::new(halted(1, 0x100, 7), Theme::MONO);
    // Running again: the old view goes stale; nothing is "changed" yet.
    let mut running = halted(2, 0x100, 7);
    running.stale = true;
    running.core = CoreView::Running;
    app.on_snapshot(running);
    assert!(app.previous.is_none());
    app.on_snapshot(halted(3, 0x102, 7));
    app.focus = Pane::Registers;

    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal.draw(|f| f.render_widget(&app, f.area())).unwrap();
    let screen = terminal.backend().to_string();
    assert!(screen.contains("pc 00000102*"), "{screen}");
    assert!(screen.contains("r0 00000007 "), "unchanged r0 is not marked:\n{screen}");

    // Without colour the change is still visible as reverse video.
    let buf = terminal.backend().buffer();
    let (x, y) = (0..buf.area.height)
        .flat_map(|y| (0..buf.area.width).map(move |x| (x, y)))
        .find(|&(x, y)| {
            buf[(x, y)].symbol() == "1" && buf[(x.saturating_sub(5), y)].symbol() == "0" && {
                let row: String = (0..buf.area.width).map(|i| buf[(i, y)].symbol().to_string()).collect();
                row.contains("pc 00000102*")
            }
        })
        .expect("the pc value on screen");
    assert!(buf[(x, y)].modifier.contains(Modifier::REVERSED), "changed value not emphasised");
}

#[test]
fn no_color_theme_uses_no_colours() {
    let app = App::new(halted(1, 0x100, 7), Theme::MONO);
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal.draw(|f| f.render_widget(&app, f.area())).unwrap();
    let buf = terminal.backend().buffer();
    for cell in buf.content() {
        assert_eq!(cell.fg, ratatui::style::Color::Reset, "a colour in the mono theme at {:?}", cell.symbol());
        assert_eq!(cell.bg, ratatui::style::Color::Reset);
    }
}
