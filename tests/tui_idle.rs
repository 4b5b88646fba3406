//! Idle, the UI sleeps: with the core running and nothing happening, the UI thread
//! blocks on its channel and draws only when a snapshot, a key or a resize arrives.
//! Counted, not timed: over an idle stretch of the real poller on a running QEMU core,
//! the UI loop draws a handful of frames (start, connected, running), not one per
//! poll slice and not in a busy loop. The CPU use itself is a benchmark
//! (tests/bench_tui.rs, docs/performance.md).

mod common;

use std::sync::atomic::AtomicBool;
use std::sync::mpsc;
use std::time::Duration;

use isrscope::debuginfo::Image;
use isrscope::target::qemu::{QemuConfig, QemuTarget};
use isrscope::tui::poller::Poller;
use isrscope::tui::snapshot::CoreView;
use isrscope::tui::{App, Snapshot, Start, Theme, UiEvent, ui_loop};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};

/// Idle for 2 s: at 50 ms per poll slice a redraw per slice would be 40 frames.
const IDLE: Duration = Duration::from_secs(2);
const MOST_DRAWS: u64 = 6;

#[test]
fn an_idle_running_core_costs_a_bounded_number_of_redraws() {
    let s = common::manifest::load().into_iter().find(|s| s.name == "c-vectors-good").expect("c-vectors-good");
    let image = Image::open(s.elf_path()).expect("the lab ELF");
    let target = QemuTarget::launch(&QemuConfig::new(s.machine.clone(), s.elf_path())).expect("QEMU starts");
    let (cmd_tx, cmd_rx) = mpsc::channel();
    let (ui_tx, ui_rx) = mpsc::channel();
    let keys = ui_tx.clone();
    let ui = std::thread::spawn(move || {
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        let mut app = App::new(Snapshot::starting("qemu", None, true), Theme::MONO);
        let draws = ui_loop(&mut terminal, &mut app, &ui_rx, &cmd_tx, &AtomicBool::new(false)).unwrap();
        (draws, app.snapshot.core.clone(), terminal.backend().to_string())
    });
    std::thread::spawn(move || {
        std::thread::sleep(IDLE);
        let q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        let _ = keys.send(UiEvent::Input(Event::Key(q)));
    });
    Poller::new(Box::new(target), Some(image), true, false, None)
        .run(Start::Run, true, cmd_rx, ui_tx)
        .expect("the poller leaves cleanly");
    let (draws, core, screen) = ui.join().unwrap();
    assert_eq!(core, CoreView::Running, "the core ran all along:\n{screen}");
    assert!(screen.contains("RUNNING"), "{screen}");
    assert!(draws <= MOST_DRAWS, "{draws} redraws in {IDLE:?} of an idle running core: the UI does not block");
}
