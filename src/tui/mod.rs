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
//! Ctrl-C and a closed UI all go through the poller's `leave`, which leaves the target
//! as found.

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
    #[error("the terminal UI crashed (the terminal was restored; the target was left as found)")]
    UiPanicked,
}

/// Opens the UI on `target` until the user quits. The calling thread becomes the
/// poller (it owns the target, which need not be `Send`); the UI runs on its own
/// thread. Returns after the terminal is restored and the target left as found.
pub fn run(target: Box<dyn Target>, image: Option<Image>, options: Options) -> Result<(), TuiError> {
    let (cmd_tx, cmd_rx) = mpsc::channel::<Command>();
    let (ui_tx, ui_rx) = mpsc::channel::<UiEvent>();
    let backend = target.capabilities().description.clone();
    let elf = image.as_ref().and_then(|i| i.path()).map(|p| p.display().to_string());
    let live = target.capabilities().live;
    let poller = Poller::new(target, image, options.owned, options.halt_on_exit, options.capture);
    let theme = options.theme;
    let stop_input = Arc::new(AtomicBool::new(false));

    let input = {
        let tx = ui_tx.clone();
        let stop = stop_input.clone();
        std::thread::spawn(move || read_input(tx, stop))
    };
    let ui = std::thread::spawn(move || -> std::io::Result<()> {
        let mut app = App::new(Snapshot::starting(backend, elf, live), theme);
        let mut terminal = ratatui::init();
        let result = ui_loop(&mut terminal, &mut app, &ui_rx, &cmd_tx);
        ratatui::restore();
        result
    });
    let left = poller.run(options.start, options.catch_faults, cmd_rx, ui_tx);
    stop_input.store(true, Ordering::SeqCst);
    let ui_result = ui.join();
    let _ = input.join();
    match ui_result {
        Err(_) => Err(TuiError::UiPanicked),
        Ok(Err(e)) => Err(e.into()),
        Ok(Ok(())) => left.map_err(TuiError::from),
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

fn ui_loop(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    events: &mpsc::Receiver<UiEvent>,
    commands: &mpsc::Sender<Command>,
) -> std::io::Result<()> {
    terminal.draw(|f| f.render_widget(&*app, f.area()))?;
    // Blocks until something happens: no timer, no redraw without a change.
    while let Ok(ev) = events.recv() {
        let redraw = match ev {
            UiEvent::Snapshot(s) => {
                app.on_snapshot(*s);
                true
            }
            UiEvent::Input(Event::Key(key)) => {
                let (redraw, command) = app.on_key(key);
                if let Some(c) = command {
                    let quit = matches!(c, Command::Quit { .. });
                    if commands.send(c).is_err() || quit {
                        return Ok(());
                    }
                }
                redraw
            }
            UiEvent::Input(Event::Resize(..)) => true,
            UiEvent::Input(_) => false,
        };
        if redraw {
            terminal.draw(|f| f.render_widget(&*app, f.area()))?;
        }
    }
    Ok(())
}
