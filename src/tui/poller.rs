//! The poller: the one thread that owns the target. It carries out the UI's
//! commands, waits for the running core in short slices (so a command is never
//! more than one slice away), reads the halted core into a whole [`Snapshot`] and
//! sends it to the UI. On quit, or when the UI goes away, it leaves the target as
//! found: breakpoints cleared, resumed unless asked to keep it halted.

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use crate::debuginfo::Image;
use crate::model::exception::ExceptionNumber;
use crate::report::CollectOptions;
use crate::target::catch::{self, CatchOptions, FaultCatch};
use crate::target::{BreakpointKind, CoreState, StopReason, Target, TargetError, reg};

use super::gather::{SourceCache, halted_view};
use super::snapshot::{CoreView, HaltedView, Message, Snapshot};
use super::{Capture, Start, UiEvent};

/// How long one wait for a running core lasts before commands are looked at again.
const POLL_SLICE: Duration = Duration::from_millis(50);
/// Bound on a halt request.
const HALT_TIMEOUT: Duration = Duration::from_secs(5);

/// What the UI asks of the target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Halt,
    Continue,
    Step,
    Reset {
        halt: bool,
    },
    /// Break at (or stop breaking at) a handler's entry.
    ToggleBreak {
        address: u32,
        name: String,
    },
    SetCatch(bool),
    Capture,
    /// Leave; `keep_halted` leaves the core halted instead of resuming it.
    Quit {
        keep_halted: bool,
    },
}

pub struct Poller {
    target: Box<dyn Target>,
    image: Option<Image>,
    /// isrscope started this target (QEMU): dropping it ends it, nothing to restore.
    owned: bool,
    halt_on_exit: bool,
    capture: Option<Capture>,
    catch: Option<FaultCatch>,
    /// Breakpoints at the RTOS's error hooks, armed and removed with fault catching.
    hook_breaks: Vec<u32>,
    user_breaks: BTreeMap<u32, String>,
    running: bool,
    core: CoreView,
    halted: Option<HaltedView>,
    stale: bool,
    message: Option<Message>,
    seq: u64,
    sources: SourceCache,
    backend: String,
}

impl Poller {
    pub fn new(target: Box<dyn Target>, image: Option<Image>, owned: bool, halt_on_exit: bool, capture: Option<Capture>) -> Self {
        let backend = target.capabilities().description.clone();
        Poller {
            target,
            image,
            owned,
            halt_on_exit,
            capture,
            catch: None,
            hook_breaks: Vec::new(),
            user_breaks: BTreeMap::new(),
            running: false,
            core: CoreView::Starting,
            halted: None,
            stale: false,
            message: None,
            seq: 0,
            sources: SourceCache::default(),
            backend,
        }
    }

    /// Runs until the UI quits or goes away; then leaves the target as found.
    pub fn run(
        mut self,
        start: Start,
        catch_faults: bool,
        commands: Receiver<Command>,
        ui: Sender<UiEvent>,
    ) -> Result<(), TargetError> {
        let keep_halted = self.serve(start, catch_faults, commands, ui);
        self.leave(keep_halted)
    }

    /// The session: carries out commands and sends snapshots until the UI quits or
    /// goes away. Returns whether to leave the core halted. Does not leave the target:
    /// [`Poller::leave`] does, also after a panic in here (see `tui::run`).
    pub fn serve(&mut self, start: Start, catch_faults: bool, commands: Receiver<Command>, ui: Sender<UiEvent>) -> bool {
        self.begin(start, catch_faults);
        let mut keep_halted = self.halt_on_exit;
        let mut dirty = true;
        loop {
            // Only changes are sent: a wait slice that saw nothing sends nothing.
            if dirty && ui.send(UiEvent::Snapshot(Box::new(self.snapshot()))).is_err() {
                break;
            }
            // Block on the UI while halted; look at it between waits while running.
            let next = if self.running {
                match commands.recv_timeout(Duration::ZERO) {
                    Ok(c) => Some(c),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            } else {
                match commands.recv() {
                    Ok(c) => Some(c),
                    Err(_) => break,
                }
            };
            dirty = match next {
                Some(Command::Quit { keep_halted: k }) => {
                    keep_halted |= k;
                    break;
                }
                Some(c) => {
                    if matches!(c, Command::Capture) {
                        super::test_panic::poller();
                    }
                    self.command(c);
                    true
                }
                None => self.wait_slice(),
            };
        }
        keep_halted
    }

    /// Whether the core is to be left halted when the session ends abnormally (a
    /// panic): only when the user asked for it (`--halt-on-exit`).
    pub fn halt_on_exit(&self) -> bool {
        self.halt_on_exit
    }

    /// Takes the target as found: reports a core halted in a fault at once, otherwise
    /// arms fault catching and lets it run (unless told to start halted).
    fn begin(&mut self, start: Start, catch_faults: bool) {
        let state = match self.target.state() {
            Ok(s) => s,
            Err(e) => {
                self.fail("reading the core state", e);
                return;
            }
        };
        let mut found = StopReason::Requested;
        match state {
            CoreState::Running | CoreState::Sleeping | CoreState::Unknown => {
                if let Err(e) = self.target.halt(HALT_TIMEOUT) {
                    self.fail("halting the core", e);
                    return;
                }
            }
            CoreState::LockedUp => {
                self.core = CoreView::LockedUp;
                self.refresh(None, true);
                return;
            }
            CoreState::Exited { description } => {
                self.core = CoreView::Gone(description);
                return;
            }
            CoreState::Halted { reason } => found = reason,
        }
        let live = self.target.capabilities().live;
        if catch_faults && live {
            self.arm_catch();
        }
        let in_fault = self.target.read_register(reg::XPSR).map(|x| ExceptionNumber::from_xpsr(x).is_fault()).unwrap_or(false);
        if in_fault || start == Start::Halted || !live {
            self.refresh(Some(found), false);
        } else {
            self.resume();
        }
    }

    fn snapshot(&mut self) -> Snapshot {
        self.seq += 1;
        Snapshot {
            seq: self.seq,
            backend: self.backend.clone(),
            elf: self.image.as_ref().and_then(|i| i.path()).map(|p| p.display().to_string()),
            core: self.core.clone(),
            live: self.target.capabilities().live,
            halted: self.halted.clone(),
            stale: self.stale,
            catching: self.catch.is_some(),
            user_breaks: self.user_breaks.keys().copied().collect(),
            message: self.message.take(),
        }
    }

    /// One bounded wait for the running core. True when something changed.
    fn wait_slice(&mut self) -> bool {
        match self.target.wait_for_stop(POLL_SLICE) {
            Ok(None) => false,
            Ok(Some(stop)) => {
                self.stopped(stop);
                true
            }
            Err(e) => {
                self.running = false;
                self.fail("waiting for the core", e);
                true
            }
        }
    }

    /// The core stopped by itself (breakpoint, caught fault) or on request.
    fn stopped(&mut self, stop: StopReason) {
        self.running = false;
        if let StopReason::Other { description } = &stop
            && let Ok(CoreState::Exited { .. }) = self.target.state()
        {
            self.core = CoreView::Gone(description.clone());
            return;
        }
        // A handler entry reached in an invalid state (vector without the Thumb bit) is
        // not the fault: the INVSTATE fault it raises comes next.
        if let Some(c) = &self.catch
            && let Ok(Some(f)) = c.classify(self.target.as_mut(), &stop)
            && f.invalid_state
        {
            self.message = Some(Message::info(format!(
                "{:?} handler at {:#010x} reached with the Thumb bit clear: running on to the INVSTATE fault",
                f.kind, f.handler
            )));
            self.resume();
            return;
        }
        self.refresh(Some(stop), false);
    }

    /// Reads the halted core into a new view.
    fn refresh(&mut self, stop: Option<StopReason>, locked_up: bool) {
        let opts = CollectOptions { stop: stop.clone(), locked_up, preface: None, all_registers: true };
        match halted_view(self.target.as_mut(), self.image.as_ref(), &opts, &mut self.sources) {
            Ok(view) => {
                if !locked_up {
                    self.core = CoreView::Halted(view.report.target.stop.clone().unwrap_or_else(|| "halted".into()));
                }
                self.halted = Some(view);
                self.stale = false;
            }
            Err(e) => {
                if let Ok(CoreState::Exited { description }) = self.target.state() {
                    self.core = CoreView::Gone(description);
                } else {
                    self.core = CoreView::Halted(stop.map(|s| s.to_string()).unwrap_or_else(|| "halted".into()));
                    self.fail("reading the halted core", e);
                }
            }
        }
    }

    fn resume(&mut self) {
        match self.target.resume() {
            Ok(()) => {
                // Resuming may step onto a breakpoint at once (GDB backends step off the
                // current one first): that is a stop to show.
                match self.target.state() {
                    Ok(CoreState::Halted { reason }) => self.stopped(reason),
                    _ => {
                        self.running = true;
                        self.stale = true;
                        self.core = CoreView::Running;
                    }
                }
            }
            Err(e) => self.fail("resuming the core", e),
        }
    }

    fn command(&mut self, c: Command) {
        if matches!(self.core, CoreView::Gone(_)) {
            self.message = Some(Message::error("the target is gone"));
            return;
        }
        let live = self.target.capabilities().live;
        if !live && !matches!(c, Command::Capture) {
            self.message = Some(Message::error("a core file cannot run: only viewing works"));
            return;
        }
        match c {
            Command::Halt => {
                if self.running {
                    match self.target.halt(HALT_TIMEOUT) {
                        Ok(stop) => {
                            self.running = false;
                            self.refresh(Some(stop), false);
                        }
                        Err(e) => self.fail("halting the core", e),
                    }
                }
            }
            Command::Continue => {
                if !self.running {
                    self.resume();
                }
            }
            Command::Step => {
                if self.running {
                    self.message = Some(Message::error("halt first (h), then step"));
                } else {
                    match self.target.step() {
                        Ok(stop) => self.refresh(Some(stop), false),
                        Err(e) => self.fail("single-stepping", e),
                    }
                }
            }
            Command::Reset { halt } => {
                let r = self.while_halted(|t| t.reset(halt), false);
                match r {
                    Ok(()) if halt => {
                        self.running = false;
                        self.refresh(Some(StopReason::Other { description: "reset, halted".into() }), false);
                        self.message = Some(Message::info("reset; the core is halted at the reset vector"));
                    }
                    Ok(()) => {
                        self.running = true;
                        self.stale = true;
                        self.core = CoreView::Running;
                        self.message = Some(Message::info("reset; running"));
                    }
                    Err(e) => self.fail("resetting", e),
                }
            }
            Command::ToggleBreak { address, name } => {
                let set = !self.user_breaks.contains_key(&address);
                // One breakpoint per address: fault catching's stays fault catching's.
                if set
                    && (self.catch.as_ref().is_some_and(|c| c.handlers.iter().any(|h| h.entry == address))
                        || self.hook_breaks.contains(&address))
                {
                    self.message = Some(Message::info(format!("{name} is already caught by fault catching (f)")));
                    return;
                }
                let r = self.while_halted(
                    |t| if set { t.set_breakpoint(address, BreakpointKind::Software) } else { t.clear_breakpoint(address) },
                    true,
                );
                match r {
                    Ok(()) if set => {
                        self.message = Some(Message::info(format!("breakpoint at {name} ({address:#010x})")));
                        self.user_breaks.insert(address, name);
                    }
                    Ok(()) => {
                        self.message = Some(Message::info(format!("breakpoint at {name} cleared")));
                        self.user_breaks.remove(&address);
                    }
                    Err(e) => self.fail("changing a breakpoint", e),
                }
            }
            Command::SetCatch(on) => {
                let was_running = self.running;
                if was_running && let Err(e) = self.target.halt(HALT_TIMEOUT) {
                    self.fail("halting the core", e);
                    return;
                }
                if on && self.catch.is_none() {
                    self.arm_catch();
                    if self.catch.is_some() {
                        self.message = Some(Message::info("catching faults"));
                    }
                } else if !on && self.catch.is_some() {
                    match self.disarm_catch() {
                        Ok(()) => self.message = Some(Message::info("fault catching off")),
                        Err(e) => self.fail("removing the fault-catching breakpoints", e),
                    }
                }
                if was_running {
                    self.resume();
                }
            }
            Command::Capture => self.capture(),
            Command::Quit { .. } => {}
        }
    }

    /// Runs `f` with the core halted, halting it first if it runs; resumes it after
    /// when `resume_after` and it was running.
    fn while_halted(
        &mut self,
        f: impl FnOnce(&mut dyn Target) -> Result<(), TargetError>,
        resume_after: bool,
    ) -> Result<(), TargetError> {
        let was_running = self.running;
        if was_running {
            self.target.halt(HALT_TIMEOUT)?;
            self.running = false;
        }
        let r = f(self.target.as_mut());
        if was_running && resume_after {
            self.resume();
        }
        r
    }

    fn arm_catch(&mut self) {
        let elf_vectors = self.image.as_ref().and_then(|i| i.vector_table()).map(|t| t.words.clone());
        let opts = CatchOptions { elf_vectors: elf_vectors.as_deref(), ..CatchOptions::default() };
        match catch::arm(self.target.as_mut(), &opts) {
            Ok(c) => {
                if let Some(w) = c.warnings.first() {
                    self.message = Some(Message::info(w.clone()));
                }
                self.catch = Some(c);
            }
            Err(e) => return self.fail("arming fault catching", e),
        }
        // FreeRTOS' error hooks (docs/rtos.md), as `inspect` stops at them; one whose
        // breakpoint cannot be set is not armed.
        let hooks = self.image.as_ref().map(crate::rtos::freertos::hook_addresses).unwrap_or_default();
        for h in hooks {
            if !self.user_breaks.contains_key(&h) && self.target.set_breakpoint(h, BreakpointKind::Software).is_ok() {
                self.hook_breaks.push(h);
            }
        }
    }

    /// Removes fault catching and the hook breakpoints.
    fn disarm_catch(&mut self) -> Result<(), TargetError> {
        let mut first = None;
        if let Some(mut c) = self.catch.take()
            && let Err(e) = c.disarm(self.target.as_mut())
        {
            first = Some(e);
        }
        for h in std::mem::take(&mut self.hook_breaks) {
            if let Err(e) = self.target.clear_breakpoint(h) {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }

    fn capture(&mut self) {
        if self.running {
            self.message = Some(Message::error("halt first (h): a core file is taken from a halted core"));
            return;
        }
        self.message = Some(match &mut self.capture {
            Some(f) => match f(self.target.as_mut(), self.image.as_ref()) {
                Ok(what) => Message::info(what),
                Err(e) => Message::error(format!("capture failed: {e}")),
            },
            None => Message::error("capture not available yet in this build"),
        });
    }

    fn fail(&mut self, doing: &str, e: TargetError) {
        match &e {
            TargetError::Disconnected { detail, .. } => {
                self.running = false;
                self.core = CoreView::Gone(detail.clone().unwrap_or_else(|| "the target closed the connection".into()));
            }
            TargetError::LockedUp { detail, .. } => {
                self.running = false;
                self.core = CoreView::Gone(format!("LOCKED UP: {detail}"));
            }
            _ => {}
        }
        self.message = Some(Message::error(format!("{doing}: {e}")));
    }

    /// Leaves the target as found: every breakpoint isrscope set is removed and the
    /// core resumed unless `keep_halted`. A QEMU isrscope started is simply ended (when
    /// the poller, which owns it, is dropped). Also used after a panic in
    /// [`Poller::serve`], so it trusts the target's state over its own bookkeeping.
    pub fn leave(&mut self, keep_halted: bool) -> Result<(), TargetError> {
        if self.owned || matches!(self.core, CoreView::Gone(_)) || !self.target.capabilities().live {
            return Ok(());
        }
        let running = self.running || matches!(self.target.state(), Ok(CoreState::Running | CoreState::Sleeping));
        if running {
            self.target.halt(HALT_TIMEOUT)?;
            self.running = false;
        }
        let mut first = self.disarm_catch().err();
        for address in std::mem::take(&mut self.user_breaks).into_keys() {
            if let Err(e) = self.target.clear_breakpoint(address) {
                first.get_or_insert(e);
            }
        }
        if let Err(e) = self.target.detach(!keep_halted) {
            first.get_or_insert(e);
        }
        first.map_or(Ok(()), Err)
    }
}
