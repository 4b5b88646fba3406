//! Benchmark (ignored by default; needs QEMU and tmux): the terminal UI.
//!
//! - Render time per frame at 200x60 (all panes at once) and 80x24, into ratatui's
//!   `TestBackend`, of the real view of a lab fault (a dump of c-isr-fault, read
//!   through the UI's own poller as `analyze --tui` does). In process: run it with
//!   `--release` (scripts/bench.sh does).
//! - Idle CPU of `isrscope attach` at 200x60 in a real terminal (a private tmux
//!   server) while the target runs (c-nested-irq: interrupts firing, no fault), from
//!   /proc over 10 s, with QEMU's own CPU beside it.
//!
//! Results in docs/performance.md.

mod common;
mod support_bench;

use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use isrscope::coredump::{CoreDump, CoreDumpTarget};
use isrscope::debuginfo::Image;
use isrscope::tui::poller::{Command as UiCommand, Poller};
use isrscope::tui::snapshot::CoreView;
use isrscope::tui::{App, Pane, Snapshot, Start, Theme, UiEvent};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use support_bench::isrscope_bin;

/// The UI's snapshot of a dump of the c-isr-fault lab fault.
fn fault_snapshot(dir: &std::path::Path) -> Snapshot {
    let elf = common::repo_root().join("firmware-samples/build/c/isr-fault.elf");
    let core = dir.join("isr-fault.core");
    let out = Command::new(isrscope_bin())
        .args(["capture", "--qemu", "netduinoplus2", "--elf"])
        .arg(&elf)
        .arg("--output")
        .arg(&core)
        .output()
        .unwrap();
    assert!(core.exists(), "capture: {}", String::from_utf8_lossy(&out.stderr));
    let dump = CoreDump::open(&core).unwrap();
    let target = CoreDumpTarget::new(dump, "isr-fault.core");
    let image = Image::open(&elf).unwrap();
    let (cmd_tx, cmd_rx) = mpsc::channel();
    let (ui_tx, ui_rx) = mpsc::channel();
    let ui = std::thread::spawn(move || {
        loop {
            let Ok(UiEvent::Snapshot(snap)) = ui_rx.recv_timeout(Duration::from_secs(30)) else {
                panic!("no snapshot of the dump");
            };
            if matches!(snap.core, CoreView::Halted(_)) && snap.halted.is_some() && !snap.stale {
                cmd_tx.send(UiCommand::Quit { keep_halted: true }).unwrap();
                return *snap;
            }
        }
    });
    let poller = Poller::new(Box::new(target), Some(image), false, true, None);
    let _ = poller.run(Start::Halted, false, cmd_rx, ui_tx);
    ui.join().unwrap()
}

fn time_frames(app: &App, width: u16, height: u16, frames: u32) -> Duration {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    // Warm-up (layout caches, allocations).
    for _ in 0..10 {
        terminal.draw(|f| f.render_widget(app, f.area())).unwrap();
    }
    let started = Instant::now();
    for _ in 0..frames {
        terminal.draw(|f| f.render_widget(app, f.area())).unwrap();
    }
    started.elapsed() / frames
}

/// utime + stime of `pid` from /proc, in clock ticks.
fn cpu_ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    // After the ")": state is field 3, utime 14 and stime 15 (1-based in proc(5)).
    let f = |i: usize| fields.get(i - 3).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    f(14) + f(15)
}

fn children_of(pid: &str) -> Vec<String> {
    let out = Command::new("pgrep").args(["-P", pid]).output().expect("pgrep");
    String::from_utf8_lossy(&out.stdout).split_whitespace().map(String::from).collect()
}

#[test]
#[ignore]
fn benchmark_tui_render_time_and_idle_cpu() {
    let dir = tempfile::tempdir().unwrap();
    let snap = fault_snapshot(dir.path());
    let mut app = App::new(snap, Theme::detect());
    app.focus = Pane::Backtrace;
    println!("| screen | time per frame (mean of 2000) | frames/s |");
    println!("|---|---|---|");
    for (w, h) in [(200u16, 60u16), (80, 24)] {
        let t = time_frames(&app, w, h, 2000);
        println!("| {w}x{h}, backtrace pane focused | {:.1} µs | {:.0} |", t.as_secs_f64() * 1e6, 1.0 / t.as_secs_f64());
    }

    // Idle CPU: attach in a real 200x60 terminal while the firmware runs: one that
    // sleeps in WFI between interrupts, one that spins (QEMU busy on a shared core).
    let nested = common::repo_root().join("firmware-samples/build/c/nested-irq.elf");
    idle_cpu(dir.path(), "c-nested-irq (WFI between interrupts)", "netduinoplus2", &nested);
    idle_cpu(dir.path(), "generated big image (spins in `deepest`)", "mps2-an385", &support_bench::big_elf());
}

fn idle_cpu(dir: &std::path::Path, what: &str, machine: &str, elf: &std::path::Path) {
    let server = format!("isrscope-bench-{}", std::process::id());
    let tmux = |args: &[&str]| Command::new("tmux").arg("-L").arg(&server).args(args).output().expect("tmux");
    let pidfile = dir.join(format!("isrscope-{machine}.pid"));
    let shell = format!(
        "echo $$ > {}; exec {} attach --qemu {machine} --elf {} --no-catch",
        pidfile.display(),
        isrscope_bin().display(),
        elf.display()
    );
    let out = tmux(&["new-session", "-d", "-s", "bench", "-x", "200", "-y", "60", "env", "TERM=xterm-256color", "sh", "-c", &shell]);
    assert!(out.status.success(), "tmux: {}", String::from_utf8_lossy(&out.stderr));
    let deadline = Instant::now() + Duration::from_secs(10);
    let pid = loop {
        if let Ok(p) = std::fs::read_to_string(&pidfile) {
            break p.trim().to_string();
        }
        assert!(Instant::now() < deadline, "attach did not start");
        std::thread::sleep(Duration::from_millis(50));
    };
    std::thread::sleep(Duration::from_secs(3)); // QEMU up, the UI drawn, the core running
    let qemu = children_of(&pid).into_iter().next().expect("QEMU under isrscope");
    let screen = String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", "bench"]).stdout).into_owned();
    let (ours0, qemu0, t0) = (cpu_ticks(&pid), cpu_ticks(&qemu), Instant::now());
    std::thread::sleep(Duration::from_secs(10));
    let (ours1, qemu1, secs) = (cpu_ticks(&pid), cpu_ticks(&qemu), t0.elapsed().as_secs_f64());
    let _ = tmux(&["send-keys", "-t", "bench", "q"]);
    std::thread::sleep(Duration::from_millis(500));
    let _ = tmux(&["kill-server"]);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let pct = |a: u64, b: u64| (b - a) as f64 / hz / secs * 100.0;
    println!(
        "\nattach at 200x60, {what}, over {secs:.1} s: isrscope {:.1}% of one core, QEMU {:.1}%",
        pct(ours0, ours1),
        pct(qemu0, qemu1)
    );
    assert!(screen.lines().count() >= 50, "the UI was drawn:\n{screen}");
    println!("(the screen's first lines: {:?})", screen.lines().take(2).collect::<Vec<_>>());
}
