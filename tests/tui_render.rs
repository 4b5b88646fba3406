//! The terminal UI's screens, rendered into ratatui's `TestBackend` and compared with
//! insta snapshots. The data comes from real QEMU runs of lab scenarios through the
//! UI's own poller (which builds its views with `report::collect`, as `inspect` does);
//! only temp paths and the checkout directory are normalised. Each scenario is
//! rendered at 80x24 (every pane in turn) and at 200x60 (all panes at once).

mod common;

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use common::manifest::{self, Scenario};
use isrscope::debuginfo::Image;
use isrscope::target::qemu::{QemuConfig, QemuTarget};
use isrscope::tui::poller::{Command, Poller};
use isrscope::tui::snapshot::CoreView;
use isrscope::tui::{App, Pane, Snapshot, Start, Theme, UiEvent};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn scenario(name: &str) -> Scenario {
    manifest::load().into_iter().find(|s| s.name == name).unwrap_or_else(|| panic!("{name} not in the manifest"))
}

/// Runs `s` under QEMU through the poller until the core stops where the manifest
/// says, and returns that snapshot. Faults are caught by the poller's fault catching;
/// other stops (SVC) by a breakpoint at `stop_at`, set as the `b` key does.
fn stop_snapshot(s: &Scenario) -> Snapshot {
    let want = s.exception.clone().expect("scenario exception");
    stop_snapshot_at(&s.name, &s.machine, &s.elf_path(), &s.stop_at, &want, s.kind != "fault")
}

/// The same for any lab ELF: run on `machine` until halted in exception `want`.
fn stop_snapshot_at(name: &str, machine: &str, elf: &Path, stop_at: &str, want: &str, by_break: bool) -> Snapshot {
    let image = Image::open(elf).expect("the lab ELF (run firmware-samples/build.sh)");
    let stop_at = image.symbols().by_name(stop_at).map(|sym| sym.address & !1).expect("stop_at symbol");
    let target = QemuTarget::launch(&QemuConfig::new(machine.to_string(), elf)).expect("QEMU starts");
    let (cmd_tx, cmd_rx) = mpsc::channel();
    let (ui_tx, ui_rx) = mpsc::channel();
    let want = want.to_string();
    let ui = std::thread::spawn(move || -> Result<Snapshot, String> {
        let mut sent = false;
        loop {
            let Ok(UiEvent::Snapshot(snap)) = ui_rx.recv_timeout(Duration::from_secs(30)) else {
                return Err("no snapshot within 30 s".into());
            };
            if let CoreView::Gone(why) = &snap.core {
                return Err(format!("target gone: {why}"));
            }
            if by_break && !sent && matches!(snap.core, CoreView::Halted(_)) {
                sent = true;
                cmd_tx.send(Command::ToggleBreak { address: stop_at, name: "stop_at".into() }).unwrap();
                cmd_tx.send(Command::Continue).unwrap();
                continue;
            }
            let at_stop = matches!(snap.core, CoreView::Halted(_))
                && !snap.stale
                && snap.halted.as_ref().and_then(|h| h.report.exception).is_some_and(|e| e.to_string() == want);
            if at_stop {
                cmd_tx.send(Command::Quit { keep_halted: false }).unwrap();
                return Ok(*snap);
            }
        }
    });
    let poller = Poller::new(Box::new(target), Some(image), true, false, None);
    poller.run(if by_break { Start::Halted } else { Start::Run }, true, cmd_rx, ui_tx).expect("the poller leaves cleanly");
    let mut snap = ui.join().unwrap().unwrap_or_else(|e| panic!("{name}: {e}"));
    snap.map_strings(&normalize);
    snap
}

/// Stable text: the gdbstub's temp socket and the checkout's absolute path go.
fn normalize(text: &str) -> String {
    let mut out = String::new();
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if let Some(rest) = word.strip_prefix("unix:") {
            let tail = rest.find([')', ',']).map(|p| &rest[p..]).unwrap_or("");
            out.push_str("unix:<socket>");
            out.push_str(tail);
        } else if let Some(p) = word.find("firmware-samples/") {
            let lead: String = word[..p].chars().take_while(|c| !c.is_alphanumeric() && *c != '/' && *c != '.').collect();
            out.push_str(&lead);
            out.push_str(&word[p..]);
        } else {
            out.push_str(word);
        }
    }
    out
}

fn render(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| f.render_widget(app, f.area())).unwrap();
    terminal.backend().to_string()
}

/// Every pane at 80x24, one after the other as Tab shows them; then the wide screen.
fn screens(name: &str) -> (String, String, App) {
    let s = scenario(name);
    let snap = stop_snapshot(&s);
    let mut app = App::new(snap, Theme::MONO);
    let mut small = String::new();
    for pane in app.panes() {
        app.focus = pane;
        small.push_str(&format!("=== {} ===\n", pane.title()));
        small.push_str(&render(&app, 80, 24));
    }
    app.focus = Pane::Backtrace;
    let large = render(&app, 200, 60);
    (small, large, app)
}

fn check(name: &str, expect: &[&str]) {
    let (small, large, _) = screens(name);
    // For people reading a failure: the screens as rendered.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tui-screens");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(format!("{name}_80x24.txt")), &small);
    let _ = std::fs::write(dir.join(format!("{name}_200x60.txt")), &large);
    for e in expect {
        assert!(small.contains(e), "{name} at 80x24 lacks {e:?}:\n{small}");
        assert!(large.contains(e), "{name} at 200x60 lacks {e:?}:\n{large}");
    }
    insta::assert_snapshot!(format!("{}_80x24", name), small);
    insta::assert_snapshot!(format!("{}_200x60", name), large);
}

#[test]
fn fault_in_an_isr_shows_both_exception_levels() {
    check("c-isr-fault", &["BusFault", "BFAR 0x60000040", "filter_sample", "TIM2_IRQHandler", "<IRQ28 entered here"]);
}

#[test]
fn psp_thread_with_fp_shows_the_lazy_fp_values() {
    check("c-psp-fp", &["task_fault", "PSP", "live FPU (lazy stacking pending)", "16.0"]);
}

#[test]
fn stack_overflow_is_named() {
    check("c-stack-overflow", &["stack-overflow", "STKERR"]);
}

#[test]
fn svc_stop_shows_the_caller() {
    check("c-svc", &["SVCall", "request_service"]);
}

/// A FreeRTOS sample (firmware-samples/freertos, rtos-task-busfault): the Tasks pane
/// lists every task with its state and wait; Enter on a switched-out task shows its
/// backtrace from its saved context, with its source, in the Backtrace pane; Esc goes
/// back to the halt's own. Without an RTOS there is no Tasks pane (the other tests'
/// snapshots have five).
#[test]
fn the_tasks_pane_lists_the_tasks_and_shows_each_ones_backtrace() {
    use ratatui::crossterm::event::{KeyCode, KeyEvent};
    let elf = Path::new(env!("CARGO_MANIFEST_DIR")).join("firmware-samples/build/freertos/task-busfault.elf");
    let snap = stop_snapshot_at("rtos-task-busfault", "netduinoplus2", &elf, "BusFault_Handler", "BusFault", false);
    let mut app = App::new(snap, Theme::MONO);
    assert_eq!(app.panes().last(), Some(&Pane::Tasks));
    // Where the sample's lines are, from its source.
    let src = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("firmware-samples/freertos/scenarios/task_busfault.c")).unwrap();
    let line_of = |text: &str| src.lines().position(|l| l.contains(text)).map(|i| i + 1).unwrap();
    let logger_line = format!("task_busfault.c:{}", line_of("vTaskDelay(pdMS_TO_TICKS(1000));"));
    let fault_line = format!("read_device task_busfault.c:{}", line_of("return device[reg];"));
    let key = |app: &mut App, code: KeyCode| {
        app.on_key(KeyEvent::from(code));
    };
    key(&mut app, KeyCode::Char('6'));
    assert_eq!(app.focus, Pane::Tasks);
    let screen = render(&app, 80, 24);
    for want in ["worker", "running", "sensor", "waits on queue \"sensor_q\"", "logger", "spare", "suspended", "IDLE"] {
        assert!(screen.contains(want), "the Tasks pane lacks {want:?}:\n{screen}");
    }
    // Select logger, Enter: its backtrace, and its source line in the detail.
    let tasks = app.snapshot.halted.as_ref().unwrap().report.tasks.clone().unwrap();
    let logger = tasks.tasks.iter().position(|t| t.name == "logger").unwrap();
    for _ in 0..logger {
        key(&mut app, KeyCode::Down);
    }
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.focus, Pane::Backtrace);
    key(&mut app, KeyCode::Down); // logger_task's frame: its source line
    let screen = render(&app, 80, 24);
    for want in ["of task logger", "vTaskDelay", "logger_task", &logger_line, "vTaskDelay(pdMS_TO_TICKS(1000));"] {
        assert!(screen.contains(want), "logger's backtrace lacks {want:?}:\n{screen}");
    }
    assert!(!screen.contains(&fault_line), "still the halt's backtrace:\n{screen}");
    let large = render(&app, 200, 60);
    assert!(large.contains("Tasks") && large.contains("logger_task"), "{large}");
    key(&mut app, KeyCode::Esc);
    let screen = render(&app, 80, 24);
    assert!(screen.contains(&fault_line) && !screen.contains("of task logger"), "Esc: the halt's own backtrace:\n{screen}");
}

/// The `?` overlay lists every key over whatever is on screen.
#[test]
fn help_overlay_lists_the_keys() {
    let snap = Snapshot::starting("test backend", None, true);
    let mut app = App::new(snap, Theme::MONO);
    app.help = true;
    let screen = render(&app, 80, 24);
    for (key, _) in isrscope::tui::app::KEYS {
        assert!(screen.contains(key), "{key} missing:\n{screen}");
    }
    insta::assert_snapshot!("help_overlay_80x24", screen);
}

#[test]
fn normalize_removes_temp_and_checkout_paths() {
    assert_eq!(
        normalize("gdb-remote (QEMU) at unix:/tmp/isrscope-qemu-1-0-ab/gdb.sock, Cortex-M4"),
        "gdb-remote (QEMU) at unix:<socket>, Cortex-M4"
    );
    assert_eq!(normalize("at /ci/x/firmware-samples/c/a.c:3"), "at firmware-samples/c/a.c:3");
    assert!(Path::new(env!("CARGO_MANIFEST_DIR")).join("firmware-samples").is_dir());
}

/// `analyze --tui` path: the UI over a core file captured at the same fault shows the
/// same analysis, and run-control keys are refused instead of failing.
#[test]
fn a_core_file_shows_the_same_fault_and_cannot_run() {
    use isrscope::coredump::CoreDumpTarget;
    use isrscope::coredump::capture::{self, CaptureOptions};
    use isrscope::target::Target;
    use isrscope::target::catch::{self as fault_catch, CatchOptions};

    let s = scenario("c-isr-fault");
    let live = stop_snapshot(&s);
    let image = Image::open(s.elf_path()).unwrap();
    let mut qemu = QemuTarget::launch(&QemuConfig::new(s.machine.clone(), s.elf_path())).unwrap();
    let armed = fault_catch::arm(&mut qemu, &CatchOptions::default()).unwrap();
    let stop = fault_catch::run_to_fault(&mut qemu, &armed, Duration::from_secs(20)).unwrap().expect("the fault");
    let opts = CaptureOptions {
        regions: capture::ram_regions(&image),
        collect: isrscope::report::CollectOptions { stop: Some(stop.stop), ..Default::default() },
        ..CaptureOptions::default()
    };
    let (dump, _) = capture::capture(&mut qemu, Some(&image), &opts, &mut |_, _| {}).unwrap();
    drop(qemu);
    let target = CoreDumpTarget::new(dump, "isr-fault.core");
    assert!(!target.capabilities().live);

    let (cmd_tx, cmd_rx) = mpsc::channel();
    let (ui_tx, ui_rx) = mpsc::channel();
    let ui = std::thread::spawn(move || -> (Snapshot, Snapshot) {
        let first = loop {
            let Ok(UiEvent::Snapshot(s)) = ui_rx.recv_timeout(Duration::from_secs(30)) else { panic!("no snapshot") };
            if s.halted.is_some() {
                break *s;
            }
        };
        cmd_tx.send(Command::Continue).unwrap();
        let Ok(UiEvent::Snapshot(after)) = ui_rx.recv_timeout(Duration::from_secs(30)) else { panic!("no answer") };
        cmd_tx.send(Command::Quit { keep_halted: false }).unwrap();
        (first, *after)
    });
    Poller::new(Box::new(target), Some(image), false, false, None).run(Start::Run, true, cmd_rx, ui_tx).unwrap();
    let (mut from_core, refused) = ui.join().unwrap();
    from_core.map_strings(&normalize);
    let (a, b) = (&live.halted.as_ref().unwrap().report, &from_core.halted.as_ref().unwrap().report);
    assert_eq!(a.summary, b.summary);
    assert_eq!(a.backtrace.len(), b.backtrace.len());
    assert!(!from_core.live && !from_core.catching);
    let msg = refused.message.expect("a message for the refused key");
    assert!(msg.error && msg.text.contains("core file cannot run"), "{msg:?}");
}
