//! The live terminal UI (`isrscope attach`, and `analyze --tui` over a core file).
//!
//! Two threads, as gitui and bottom do it: the [`poller`] owns the target, carries
//! out commands and sends whole [`Snapshot`]s; the UI thread owns the terminal, keeps
//! the [`App`] state, and draws it (`impl Widget for &App`, see [`ui`]) when a
//! snapshot, a key or a resize arrives. Nothing in drawing reads the target, so a
//! core that takes its time to stop never freezes the screen, and an idle session
//! sleeps in blocking receives.
//!
//! The terminal is set up with `ratatui::init`, whose panic hook restores it; quitting,
//! Ctrl-C, a closed UI and a panic of either thread all end in the poller's `leave`,
//! which leaves the target as found (the poller's panic is caught in [`run`]).

pub mod app;
pub mod gather;
pub mod poller;
pub mod snapshot;
pub mod theme;
pub mod ui;
mod vectors;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use ratatui::crossterm::event::{self, Event};

use crate::debuginfo::Image;
use crate::target::{Target, TargetError};

pub use app::{App, Pane};
pub use poller::{Command, Poller};
pub use snapshot::Snapshot;
pub use theme::Theme;

/// Writes a core file of the halted target; returns what to tell the user (e.g. the
/// path written). Supplied by the caller so the UI does not depend on the dump format.
pub type Capture = Box<dyn FnMut(&mut dyn Target, Option<&Image>) -> Result<String, String>>;

/// What the core should do when the UI opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Start {
    /// Let it run with faults caught (a core already in a fault handler stays halted).
    #[default]
    Run,
    /// Keep it halted, e.g. to set breakpoints before the firmware starts.
    Halted,
}

/// How to run a session.
pub struct Options {
    /// isrscope started the target (QEMU): it ends with the session.
    pub owned: bool,
    /// Leave the core halted on exit instead of resuming it.
    pub halt_on_exit: bool,
    pub start: Start,
    /// Arm fault catching at the start.
    pub catch_faults: bool,
    pub capture: Option<Capture>,
    /// Colours (false: NO_COLOR or a terminal without them).
    pub theme: Theme,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            owned: false,
            halt_on_exit: false,
            start: Start::Run,
            catch_faults: true,
            capture: None,
            theme: Theme::detect(),
        }
    }
}

/// What the UI thread waits on: a new snapshot or terminal input.
pub enum UiEvent {
    Snapshot(Box<Snapshot>),
    Input(Event),
}

#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    #[error("terminal: {0}")]
    Terminal(#[from] std::io::Error),
    #[error("leaving the target: {0}")]
    Target(#[from] TargetError),
    /// A bug: the UI thread panicked. The terminal was restored (the panic hook) and
    /// the poller still left the target.
    #[error("the terminal UI crashed, a bug in isrscope ({panic}); the terminal was restored; {left}")]
    UiPanicked { panic: String, left: Left },
    /// A bug: the poller panicked. It was caught, the target left, the UI closed.
    #[error("the target poller crashed, a bug in isrscope ({panic}); the terminal was restored; {left}")]
    PollerPanicked { panic: String, left: Left },
}

/// How the target was left after a crash, for the error message.
#[derive(Debug)]
pub struct Left {
    pub result: Result<(), TargetError>,
    pub owned: bool,
    pub keep_halted: bool,
}

impl std::fmt::Display for Left {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.result {
            Err(e) => write!(f, "leaving the target failed too: {e}"),
            Ok(()) if self.owned => f.write_str("the QEMU isrscope started was ended"),
            Ok(()) if self.keep_halted => f.write_str("the target was left as found: breakpoints removed, core left halted"),
            Ok(()) => f.write_str("the target was left as found: breakpoints removed, core resumed"),
        }
    }
}

/// The text of a panic's payload.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}

/// Opens the UI on `target` until the user quits. The calling thread becomes the
/// poller (it owns the target, which need not be `Send`); the UI runs on its own
/// thread. Returns after the terminal is restored and the target left as found,
/// also when either thread panicked (a bug): the poller's panic is caught here so
/// the target is still left (not dropped halted with breakpoints in it), the UI's
/// ends its thread and so the session.
pub fn run(target: Box<dyn Target>, image: Option<Image>, options: Options) -> Result<(), TuiError> {
    let (cmd_tx, cmd_rx) = mpsc::channel::<Command>();
    let (ui_tx, ui_rx) = mpsc::channel::<UiEvent>();
    let backend = target.capabilities().description.clone();
    let elf = image.as_ref().and_then(|i| i.path()).map(|p| p.display().to_string());
    let live = target.capabilities().live;
    let owned = options.owned;
    let mut poller = Poller::new(target, image, options.owned, options.halt_on_exit, options.capture);
    let theme = options.theme;
    let stop_input = Arc::new(AtomicBool::new(false));

    let input = {
        let tx = ui_tx.clone();
        let stop = stop_input.clone();
        std::thread::spawn(move || read_input(tx, stop))
    };
    let ui = {
        let stop = stop_input.clone();
        std::thread::spawn(move || -> std::io::Result<()> {
            let mut app = App::new(Snapshot::starting(backend, elf, live), theme);
            // `ratatui::init` installs a panic hook that restores the terminal, for a
            // panic on any thread; the guard restores it on every other way out.
            let mut terminal = ratatui::init();
            let _restore = RestoreOnDrop;
            let result = ui_loop(&mut terminal, &mut app, &ui_rx, &cmd_tx, &stop);
            drop(terminal);
            result.map(drop)
        })
    };
    let served = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        poller.serve(options.start, options.catch_faults, cmd_rx, ui_tx)
    }));
    // The UI stops first (it may be drawing), then the target is left.
    stop_input.store(true, Ordering::SeqCst);
    let ui_result = ui.join();
    let _ = input.join();
    let keep_halted = match &served {
        Ok(keep) => *keep,
        Err(_) => poller.halt_on_exit(),
    };
    let left = Left { result: poller.leave(keep_halted), owned, keep_halted };
    // Dropping the poller drops the target: a QEMU isrscope started ends here.
    drop(poller);
    match (served, ui_result) {
        (Err(payload), _) => Err(TuiError::PollerPanicked { panic: panic_text(payload.as_ref()), left }),
        (Ok(_), Err(payload)) => Err(TuiError::UiPanicked { panic: panic_text(payload.as_ref()), left }),
        (Ok(_), Ok(Err(e))) => Err(e.into()),
        (Ok(_), Ok(Ok(()))) => left.result.map_err(TuiError::from),
    }
}

/// Restores the terminal when the UI thread ends, however it ends.
struct RestoreOnDrop;

impl Drop for RestoreOnDrop {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// Test-only fault injection, not a feature: `ISRSCOPE_TEST_PANIC=poller` (or `ui`)
/// makes the poller (or the UI thread) panic when the `w` key is pressed, so that
/// tests/tui_e2e.rs can check that a crash restores the terminal and leaves the
/// target as found. Read on each `w` only, so it costs nothing otherwise.
mod test_panic {
    const VAR: &str = "ISRSCOPE_TEST_PANIC";

    fn armed(which: &str) -> bool {
        std::env::var(VAR).is_ok_and(|v| v == which)
    }

    pub(super) fn poller() {
        if armed("poller") {
            panic!("{VAR}=poller: a test panic in the poller");
        }
    }

    pub(super) fn ui() {
        if armed("ui") {
            panic!("{VAR}=ui: a test panic in the UI thread");
        }
    }
}

/// Terminal input, forwarded to the UI thread. Polls with a timeout only to notice
/// the end of the session.
fn read_input(tx: mpsc::Sender<UiEvent>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::SeqCst) {
        match event::poll(Duration::from_millis(200)) {
            Ok(true) => match event::read() {
                Ok(ev) => {
                    if tx.send(UiEvent::Input(ev)).is_err() {
                        return;
                    }
                }
                Err(_) => return,
            },
            Ok(false) => {}
            Err(_) => return,
        }
    }
}

/// The UI thread's loop: waits for a snapshot or input, updates `app`, redraws when
/// something changed, passes commands to the poller; returns on quit, when the
/// channel closes or `stop` is set, with the number of frames drawn. Generic over the
/// backend so tests can run it into a `TestBackend` and count redraws.
pub fn ui_loop<B: ratatui::backend::Backend>(
    terminal: &mut ratatui::Terminal<B>,
    app: &mut App,
    events: &mpsc::Receiver<UiEvent>,
    commands: &mpsc::Sender<Command>,
    stop: &AtomicBool,
) -> std::io::Result<u64> {
    let mut draws = 1;
    terminal.draw(|f| f.render_widget(&*app, f.area()))?;
    // Blocks until something happens: no timer, no redraw without a change.
    while let Ok(ev) = events.recv() {
        // The session is over (the poller ended, e.g. it crashed): draw nothing more.
        if stop.load(Ordering::SeqCst) {
            return Ok(draws);
        }
        let redraw = match ev {
            UiEvent::Snapshot(s) => {
                app.on_snapshot(*s);
                true
            }
            UiEvent::Input(Event::Key(key)) => {
                let (redraw, command) = app.on_key(key);
                if matches!(command, Some(Command::Capture)) {
                    test_panic::ui();
                }
                if let Some(c) = command {
                    let quit = matches!(c, Command::Quit { .. });
                    if commands.send(c).is_err() || quit {
                        return Ok(draws);
                    }
                }
                redraw
            }
            UiEvent::Input(Event::Resize(..)) => true,
            UiEvent::Input(_) => false,
        };
        if redraw {
            draws += 1;
            terminal.draw(|f| f.render_widget(&*app, f.area()))?;
        }
    }
    Ok(draws)
}
