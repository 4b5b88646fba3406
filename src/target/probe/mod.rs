//! [`ProbeTarget`]: the [`Target`] trait over a probe-rs session (ST-Link, J-Link,
//! CMSIS-DAP, ... on USB), for `--chip NAME`.
//!
//! What probe-rs does not do for us, and this does:
//! - the halt reason is read once (probe-rs' `status()` clears DFSR) and kept until
//!   the core runs again; a locked-up core is halted so its registers can be read,
//!   and the stop is reported as a lockup;
//! - CONTROL/FAULTMASK/BASEPRI/PRIMASK are one packed register there (id 20): split
//!   into the trait's names on read, re-packed on write;
//! - BusFault/MemManage/UsageFault/SecureFault vector catch through DEMCR (probe-rs
//!   only catches HardFault and reset on ARMv7-M), with the found DEMCR restored;
//! - resuming steps off our own breakpoint only, and stops if that one step entered a
//!   fault handler (probe-rs' `run()` steps unconditionally and would run past it);
//! - detach leaves the chip as found (resumed only if it was running at attach), and
//!   does not drop the session: probe-rs'
//!   default shutdown sequence writes DHCSR and DEMCR to 0, which would resume a core
//!   asked to stay halted and wipe the DEMCR just restored.
//!
//! Registers and memory are cached while the core is halted, as in the GDB backend.

pub mod convert;
pub mod link;
pub mod open;
mod semihosting;
#[cfg(test)]
mod sim_tests;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use probe_rs::{CoreStatus, HaltReason, RegisterId, Session, VectorCatchCondition};

use crate::model::regs::{dcb, scb};
use crate::target::{
    BreakpointKind, Capabilities, CatchKind, CoreState, Registers, Result, StopReason, Target,
    TargetError, reg,
};

use convert::{CoreShape, Location, PACKED_ID};
use link::{CoreAccess, Link, SessionLink};
pub use open::{ProbeConfig, ProbeError, Protocol};

/// Memory cached while halted before the cache starts afresh.
const MEMORY_CACHE_LIMIT: usize = 4 << 20;
/// The System region (SCS, debug registers) changes under a halted core: never cached.
const UNCACHED_FROM: u32 = 0xE000_0000;
/// How often a running core is polled while waiting for it to stop: at first after
/// 1 ms, then twice as long each time up to 50 ms. A stop a few instructions away is
/// seen at once; a long wait costs the link 20 status reads a second, where 5 ms
/// polling cost 200 (each a round trip: a USB turnaround on a probe). Noticing a stop
/// up to 50 ms late loses nothing: a breakpoint or vector catch holds the core where
/// it stopped.
const POLL_FIRST: Duration = Duration::from_millis(1);
const POLL_MAX: Duration = Duration::from_millis(50);
/// Bound for halts isrscope does on its own (lockup, detach, reset).
const HALT_TIMEOUT: Duration = Duration::from_millis(500);

#[derive(Clone, Debug, PartialEq, Eq)]
enum RunState {
    Halted(StopReason),
    /// Running, or sleeping: the core executes (or waits) on its own.
    Running,
    /// DHCSR.S_LOCKUP: not halted, not executing; halted when its registers are needed.
    LockedUp,
}

/// A Cortex-M core behind a debug probe.
pub struct ProbeTarget {
    link: Box<dyn Link>,
    shape: CoreShape,
    registers: Vec<(String, Location)>,
    caps: Capabilities,
    state: RunState,
    regs: Registers,
    have_all_regs: bool,
    memory: Vec<(u32, Vec<u8>)>,
    memory_cached: usize,
    breakpoints: BTreeMap<u32, BreakpointKind>,
    units: u32,
    /// DEMCR as found, saved by the first [`Target::set_vector_catch`].
    demcr_found: Option<u32>,
    /// The core was not halted at attach (running, sleeping or locked up): detach
    /// resumes it only then, so a core found halted stays halted.
    found_running: bool,
    detached: bool,
    /// What the program wrote through semihosting, not yet taken.
    program_output: Vec<(u8, Vec<u8>)>,
    /// The program's status once it exited by semihosting.
    exit_status: Option<u8>,
    started: Instant,
}

/// Semihosting calls served in one poll at most.
const SEMIHOSTING_PER_POLL: usize = 64;

impl ProbeTarget {
    /// Opens the probe and attaches to the chip `config` names.
    pub fn open(config: &ProbeConfig) -> std::result::Result<Self, ProbeError> {
        let (session, description) = open::open(config)?;
        let chip = session.target().name.clone();
        let mut target =
            Self::from_session(session, description).map_err(|e| ProbeError::Core {
                chip,
                message: e.to_string(),
            })?;
        // Under reset, the halt at the reset vector is isrscope's own doing: the chip
        // runs its firmware when left alone, so it counts as found running.
        if config.connect_under_reset {
            target.treat_as_found_running();
        }
        Ok(target)
    }

    /// Opens the probe, writes the ELF's loadable sections into the chip with probe-rs'
    /// flashing (its flash algorithms for flash, plain writes for RAM), verifies them,
    /// then attaches as [`ProbeTarget::open`]. `progress` sees probe-rs' events (for a
    /// progress bar).
    pub fn open_and_download(
        config: &ProbeConfig,
        elf: &std::path::Path,
        progress: &mut dyn FnMut(probe_rs::flashing::ProgressEvent),
    ) -> std::result::Result<Self, ProbeError> {
        use probe_rs::flashing::{DownloadOptions, ElfLoader, ElfOptions, FlashProgress};
        let (mut session, description) = open::open(config)?;
        let chip = session.target().name.clone();
        let mut options = DownloadOptions::default();
        options.verify = true;
        options.progress = FlashProgress::new(progress);
        probe_rs::flashing::download_file_with_options(&mut session, elf, ElfLoader(ElfOptions::default()), options)
            .map_err(|e| ProbeError::Download { chip: chip.clone(), elf: elf.display().to_string(), message: e.to_string() })?;
        let mut target = Self::from_session(session, description).map_err(|e| ProbeError::Core { chip, message: e.to_string() })?;
        // The firmware is isrscope's to start: leave it running when done.
        target.treat_as_found_running();
        Ok(target)
    }

    /// Makes detach resume the core (when asked to) although it was halted at attach:
    /// for a halt isrscope caused itself (`--connect-under-reset`).
    pub fn treat_as_found_running(&mut self) {
        self.found_running = true;
    }

    /// Wraps an attached session (core 0): learns the core's shape, its breakpoint
    /// units, and why it is stopped if it is.
    pub fn from_session(session: Session, description: String) -> Result<Self> {
        let doing = "inspecting the core after attaching";
        // Leaked, never dropped (see `SessionLink`), so that this core lives as long.
        let session: &'static mut Session = Box::leak(Box::new(session));
        let mut core = session
            .core(0)
            .map_err(|e| convert::target_error(e, doing))?;
        let core_type = core.core_type();
        let fpu = core
            .fpu_support()
            .map_err(|e| convert::target_error(e, doing))?;
        let security = core
            .registers()
            .core_registers()
            .any(|r| r.id() == RegisterId(0x1A));
        let shape = CoreShape::of(core_type, fpu, security).ok_or_else(|| {
            TargetError::Unsupported(format!("a {core_type:?} core (isrscope inspects Cortex-M)"))
        })?;
        // An FPB revision probe-rs does not know leaves no breakpoint: say 0, not fail.
        let units = core.available_breakpoint_units().unwrap_or(0);
        let link = Box::new(SessionLink(core));
        Self::with_link(link, shape, units, description)
    }

    /// The target over any [`Link`] to a core of this shape with `units` breakpoint
    /// units; reads why the core is stopped if it is.
    pub fn with_link(
        mut link: Box<dyn Link>,
        shape: CoreShape,
        units: u32,
        description: String,
    ) -> Result<Self> {
        let doing = "reading the core's state after attaching";
        let core = core_of(link.as_mut(), false, doing)?;
        let state = match core.status().map_err(|e| convert::target_error(e, doing))? {
            CoreStatus::Halted(reason) => RunState::Halted(convert_reason(core, reason)),
            CoreStatus::LockedUp => RunState::LockedUp,
            _ => RunState::Running,
        };
        let found_running = !matches!(state, RunState::Halted(_));
        let registers = convert::register_map(shape);
        let caps = Capabilities {
            vector_catch: true,
            breakpoints: Some(units),
            registers: registers.iter().map(|(n, _)| n.clone()).collect(),
            max_read: 1 << 16,
            live: true,
            description,
        };
        Ok(ProbeTarget {
            link,
            shape,
            registers,
            caps,
            state,
            regs: Registers::new(),
            have_all_regs: false,
            memory: Vec::new(),
            memory_cached: 0,
            breakpoints: BTreeMap::new(),
            units,
            demcr_found: None,
            found_running,
            detached: false,
            program_output: Vec::new(),
            exit_status: None,
            started: Instant::now(),
        })
    }

    /// Register access needs a halted core. One that stopped by itself since the last
    /// look counts, and so does a locked-up one: it is halted here (halting ends the
    /// lockup; the stop is the lockup), so a report on it can read its registers.
    fn halted(&mut self, doing: &str) -> Result<()> {
        if self.state == RunState::Running {
            self.poll()?;
        }
        if self.state == RunState::LockedUp {
            self.halt(HALT_TIMEOUT)?;
        }
        match self.state {
            RunState::Halted(_) => Ok(()),
            _ => Err(TargetError::NotHalted(doing.into())),
        }
    }

    fn forget_state(&mut self) {
        self.regs = Registers::new();
        self.have_all_regs = false;
        self.memory.clear();
        self.memory_cached = 0;
    }

    fn location(&self, name: &str) -> Option<Location> {
        self.registers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, l)| *l)
    }

    /// Reads the named registers missing from the cache; the packed register once.
    fn fetch(&mut self, names: &[&str]) -> Result<()> {
        let wanted: Vec<(String, Location)> = names
            .iter()
            .filter(|n| self.regs.get(n).is_none())
            .filter_map(|n| self.location(n).map(|l| (n.to_string(), l)))
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let core = core_of(self.link.as_mut(), self.detached, "reading registers")?;
        let mut packed: Option<u32> = None;
        let mut got: Vec<(String, u32)> = Vec::new();
        for (name, loc) in wanted {
            let value = match loc {
                Location::Whole(id) => match core.read_reg(id) {
                    Ok(v) => v,
                    // FP registers unreadable (an FPU probe-rs misjudged): left out, as
                    // registers the target does not have are.
                    Err(_) if id >= convert::FPSCR_ID => continue,
                    Err(e) => {
                        return Err(convert::target_error(
                            e,
                            &format!("reading register {name}"),
                        ));
                    }
                },
                Location::Packed { shift } => {
                    let p = match packed {
                        Some(p) => p,
                        None => {
                            let p = core.read_reg(PACKED_ID).map_err(|e| {
                                convert::target_error(
                                    e,
                                    "reading CONTROL/FAULTMASK/BASEPRI/PRIMASK",
                                )
                            })?;
                            packed = Some(p);
                            p
                        }
                    };
                    convert::unpack(p, shift)
                }
            };
            got.push((name, value));
        }
        for (name, value) in got {
            self.regs.insert(name, value);
        }
        Ok(())
    }

    /// Steps one instruction off the halted PC. The reason is what the core stopped
    /// for: a vector catch when the instruction faulted into a caught handler, one of
    /// our breakpoints when it landed on one, else the step.
    fn raw_step(&mut self) -> Result<StopReason> {
        let pc = self.read_register(reg::PC)? & !1;
        let catching = self.demcr_found.is_some();
        self.forget_state();
        let core = core_of(self.link.as_mut(), self.detached, "single-stepping")?;
        // probe-rs steps off a breakpoint it halted at by itself (disabling the FPB for
        // the step; it also moves the PC past a BKPT that is no comparator's, so ours
        // must stay set then). Ours at a PC the core reached otherwise is lifted here.
        let at_breakpoint = matches!(
            core.status()
                .map_err(|e| convert::target_error(e, "single-stepping"))?,
            CoreStatus::Halted(HaltReason::Breakpoint(_))
        );
        let lift = self.breakpoints.contains_key(&pc) && !at_breakpoint;
        if lift {
            core.clear_hw_breakpoint(pc)
                .map_err(|e| convert::target_error(e, "lifting the breakpoint to step off it"))?;
        }
        let stepped = core
            .step()
            .map_err(|e| convert::target_error(e, "single-stepping"));
        if lift {
            core.set_hw_breakpoint(pc).map_err(|e| {
                convert::target_error(e, "putting the breakpoint back after a step")
            })?;
        }
        stepped?;
        let status = core
            .status()
            .map_err(|e| convert::target_error(e, "reading why the core stopped"))?;
        let read = |core: &mut dyn CoreAccess, id: u16| {
            core.read_reg(id)
                .map_err(|e| convert::target_error(e, "reading the registers after a step"))
        };
        let new_pc = read(core, 15)? & !1;
        let xpsr = read(core, convert::XPSR_ID)?;
        let reason = match status {
            CoreStatus::Halted(HaltReason::Exception) => StopReason::VectorCatch,
            // A caught fault during a step sets DFSR.VCATCH beside DFSR.HALTED.
            CoreStatus::Halted(HaltReason::Multiple)
                if catching && convert::is_fault_entry(xpsr) =>
            {
                StopReason::VectorCatch
            }
            _ if self.breakpoints.contains_key(&new_pc) => StopReason::Breakpoint { pc: new_pc },
            _ => StopReason::Step,
        };
        self.state = RunState::Halted(reason.clone());
        Ok(reason)
    }

    /// Looks at the core once (it is not halted as far as isrscope knows) and keeps
    /// what it sees; `Some` when it stopped: halted (the reason read once) or locked up.
    fn poll(&mut self) -> Result<Option<StopReason>> {
        let core = core_of(self.link.as_mut(), self.detached, "polling the core")?;
        // Semihosting calls are served and the core let run on; a few in a row at most
        // per poll (the next poll serves the rest).
        let mut seen = Look::Running;
        for _ in 0..SEMIHOSTING_PER_POLL {
            seen = look(core).map_err(|e| convert::target_error(e, "polling the core"))?;
            if seen != Look::Semihosting {
                break;
            }
            let served = semihosting::serve(core, &mut self.program_output, self.started)
                .map_err(|e| convert::target_error(e, "serving a semihosting call"))?;
            if let semihosting::Served::Exit(code) = served {
                self.exit_status = Some(code);
                let reason = StopReason::Other { description: format!("the program exited (semihosting), status {code}") };
                self.forget_state();
                self.state = RunState::Halted(reason.clone());
                return Ok(Some(reason));
            }
            core.write_word(scb::DFSR, DFSR_BKPT)
                .and_then(|()| core.write_word(dcb::DHCSR, dcb::DHCSR_DBGKEY | dcb::DHCSR_C_DEBUGEN))
                .map_err(|e| convert::target_error(e, "resuming after a semihosting call"))?;
            seen = Look::Running;
        }
        // Running, or more calls than one poll serves: the next poll looks again.
        if seen != Look::Stopped {
            if self.state != RunState::Running {
                self.forget_state();
            }
            self.state = RunState::Running;
            return Ok(None);
        }
        let status = core
            .status()
            .map_err(|e| convert::target_error(e, "polling the core"))?;
        let (state, stop) = match status {
            CoreStatus::Halted(reason) => {
                let reason = convert_reason(core, reason);
                (RunState::Halted(reason.clone()), Some(reason))
            }
            CoreStatus::LockedUp => (RunState::LockedUp, Some(StopReason::Lockup)),
            _ => (RunState::Running, None),
        };
        if state != self.state {
            self.forget_state();
        }
        self.state = state;
        Ok(stop)
    }

    /// Clears our breakpoints and puts DEMCR's vector-catch bits back as found.
    fn restore(&mut self) -> Result<()> {
        let mut first_error = None;
        let breakpoints = std::mem::take(&mut self.breakpoints);
        let demcr_found = self.demcr_found.take();
        let core = core_of(self.link.as_mut(), self.detached, "detaching")?;
        for address in breakpoints.keys() {
            if let Err(e) = core.clear_hw_breakpoint(*address) {
                first_error.get_or_insert(convert::target_error(
                    e,
                    &format!("clearing the breakpoint at {address:#010x}"),
                ));
            }
        }
        if let Some(found) = demcr_found {
            let result = core
                .read_word(dcb::DEMCR)
                .and_then(|now| core.write_word(dcb::DEMCR, convert::demcr_restored(now, found)));
            if let Err(e) = result {
                first_error
                    .get_or_insert(convert::target_error(e, "restoring DEMCR (vector catch)"));
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Lets the halted core run, without probe-rs' unconditional step.
    fn run(&mut self) -> Result<()> {
        self.forget_state();
        let core = core_of(self.link.as_mut(), self.detached, "resuming the core")?;
        let go = dcb::DHCSR_DBGKEY | dcb::DHCSR_C_DEBUGEN;
        core.write_word(dcb::DHCSR, go)
            .map_err(|e| convert::target_error(e, "resuming the core"))?;
        self.state = RunState::Running;
        // Lets probe-rs see the core running (its register access checks its status),
        // and keeps the reason if it stopped at once.
        self.poll()?;
        Ok(())
    }
}

/// DFSR.BKPT: the core halted at a BKPT instruction (or an FPB breakpoint).
const DFSR_BKPT: u32 = 1 << 1;

/// What DHCSR and DFSR say, read here rather than through probe-rs' `status()` where
/// a semihosting call may be waiting: `status()` decodes the call once, writes -1 to R0
/// for most calls (so R0 no longer names the call) and keeps the decoded call until its
/// own step or reset, which isrscope's resume does not do; the next call would be taken
/// for the old one.
#[derive(Debug, PartialEq, Eq)]
enum Look {
    /// Running (or sleeping): nothing to ask probe-rs.
    Running,
    /// Halted at `BKPT 0xAB` (DFSR.BKPT): a semihosting call.
    Semihosting,
    /// Halted otherwise, or locked up: probe-rs' `status()` reads why (DFSR untouched).
    Stopped,
}

fn look(core: &mut dyn CoreAccess) -> std::result::Result<Look, probe_rs::Error> {
    let dhcsr = core.read_word(dcb::DHCSR)?;
    if dhcsr & dcb::DHCSR_S_LOCKUP != 0 {
        return Ok(Look::Stopped);
    }
    if dhcsr & dcb::DHCSR_S_HALT == 0 {
        return Ok(Look::Running);
    }
    if core.read_word(scb::DFSR)? & DFSR_BKPT == 0 {
        return Ok(Look::Stopped);
    }
    let pc = core.read_reg(15)? & !1;
    let mut insn = [0u8; 2];
    core.read_8(pc, &mut insn)?;
    Ok(if insn == [0xAB, 0xBE] { Look::Semihosting } else { Look::Stopped })
}

/// The core behind the link; borrows only the link, so the target's other fields stay
/// usable beside it.
fn core_of<'a>(
    link: &'a mut dyn Link,
    detached: bool,
    doing: &str,
) -> Result<&'a mut dyn CoreAccess> {
    if detached {
        return Err(TargetError::Disconnected {
            doing: doing.into(),
            detail: Some("isrscope detached from the probe".into()),
        });
    }
    link.core().map_err(|e| convert::target_error(e, doing))
}

/// The stop reason for a probe-rs halt reason, reading the PC for a breakpoint.
fn convert_reason(core: &mut dyn CoreAccess, reason: HaltReason) -> StopReason {
    let pc = convert::needs_pc(reason)
        .then(|| core.read_reg(15).ok())
        .flatten();
    convert::stop_reason(reason, pc)
}

impl Target for ProbeTarget {
    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    fn take_program_output(&mut self) -> Vec<(u8, Vec<u8>)> {
        std::mem::take(&mut self.program_output)
    }

    fn exit_status(&self) -> Option<u8> {
        self.exit_status
    }

    fn read_memory(&mut self, address: u32, buf: &mut [u8]) -> Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        let cacheable = matches!(self.state, RunState::Halted(_)) && address < UNCACHED_FROM;
        if cacheable && let Some(bytes) = cached(&self.memory, address, buf.len()) {
            buf.copy_from_slice(bytes);
            return Ok(());
        }
        let doing = format!("reading {} bytes at {address:#010x}", buf.len());
        let core = core_of(self.link.as_mut(), self.detached, &doing)?;
        read_block(core, address, buf)
            .map_err(|e| convert::memory_error(e, address, buf.len(), &doing))?;
        if cacheable {
            if self.memory_cached + buf.len() > MEMORY_CACHE_LIMIT {
                self.memory.clear();
                self.memory_cached = 0;
            }
            self.memory_cached += buf.len();
            self.memory.push((address, buf.to_vec()));
        }
        Ok(())
    }

    fn write_memory(&mut self, address: u32, data: &[u8]) -> Result<()> {
        self.memory.clear();
        self.memory_cached = 0;
        let doing = format!("writing {} bytes at {address:#010x}", data.len());
        let core = core_of(self.link.as_mut(), self.detached, &doing)?;
        core.write(address, data)
            .map_err(|e| convert::memory_error(e, address, data.len(), &doing))
    }

    fn read_registers(&mut self) -> Result<Registers> {
        self.halted("read registers")?;
        if !self.have_all_regs {
            let names: Vec<String> = self.caps.registers.clone();
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            self.fetch(&names)?;
            self.have_all_regs = true;
        }
        Ok(self.regs.clone())
    }

    fn read_register(&mut self, name: &str) -> Result<u32> {
        self.halted(&format!("read register {name}"))?;
        if self.location(name).is_none() {
            return Err(TargetError::NoSuchRegister(name.into()));
        }
        self.fetch(&[name])?;
        self.regs
            .get(name)
            .ok_or_else(|| TargetError::NoSuchRegister(name.into()))
    }

    fn read_register_set(&mut self, names: &[&str]) -> Result<Registers> {
        self.halted("read registers")?;
        self.fetch(names)?;
        let mut out = Registers::new();
        for name in names {
            if let Some(v) = self.regs.get(name) {
                out.insert(*name, v);
            }
        }
        Ok(out)
    }

    fn write_register(&mut self, name: &str, value: u32) -> Result<()> {
        let doing = format!("write register {name}");
        self.halted(&doing)?;
        let loc = self
            .location(name)
            .ok_or_else(|| TargetError::NoSuchRegister(name.into()))?;
        self.forget_state();
        let core = core_of(self.link.as_mut(), self.detached, &doing)?;
        let (id, raw) = match loc {
            Location::Whole(id) => (id, value),
            Location::Packed { shift } => {
                let packed = core
                    .read_reg(PACKED_ID)
                    .map_err(|e| convert::target_error(e, &doing))?;
                (PACKED_ID, convert::repack(packed, shift, value))
            }
        };
        core.write_reg(id, raw)
            .map_err(|e| convert::target_error(e, &doing))
    }

    fn halt(&mut self, timeout: Duration) -> Result<StopReason> {
        if self.state == RunState::Running {
            // It may have stopped, or locked up, by itself since the last look.
            self.poll()?;
        }
        if let RunState::Halted(reason) = &self.state {
            return Ok(reason.clone());
        }
        let locked_up = self.state == RunState::LockedUp;
        let core = core_of(self.link.as_mut(), self.detached, "halting the core")?;
        core.halt(timeout)
            .map_err(|e| convert::target_error(e, "halting the core"))?;
        // probe-rs read DFSR while waiting for the halt and kept the reason: a core
        // that stopped by itself meanwhile says so here.
        let reason = match core
            .status()
            .map_err(|e| convert::target_error(e, "reading why the core halted"))?
        {
            _ if locked_up => StopReason::Lockup,
            CoreStatus::Halted(r) => convert_reason(core, r),
            _ => StopReason::Requested,
        };
        self.forget_state();
        self.state = RunState::Halted(reason.clone());
        Ok(reason)
    }

    fn resume(&mut self) -> Result<()> {
        match self.state {
            RunState::Running => return Ok(()),
            // It runs again from where it locked up (and likely locks up again).
            RunState::LockedUp => {
                self.halt(HALT_TIMEOUT)?;
            }
            RunState::Halted(_) => {}
        }
        let pc = self.read_register(reg::PC)?;
        if self.breakpoints.contains_key(&(pc & !1)) {
            match self.raw_step()? {
                StopReason::Step => {}
                // The one instruction entered a caught fault or reached another of our
                // breakpoints: that is the stop to report.
                _ => return Ok(()),
            }
        }
        self.run()
    }

    fn step(&mut self) -> Result<StopReason> {
        self.halted("single-step")?;
        self.raw_step()
    }

    fn state(&mut self) -> Result<CoreState> {
        if let RunState::Halted(reason) = &self.state {
            return Ok(CoreState::Halted {
                reason: reason.clone(),
            });
        }
        let doing = "reading the core's state";
        let core = core_of(self.link.as_mut(), self.detached, doing)?;
        let status = core.status().map_err(|e| convert::target_error(e, doing))?;
        let mut reason = None;
        let state = convert::core_state(status, |r| {
            let converted = convert_reason(core, r);
            reason = Some(converted.clone());
            converted
        });
        let run_state = match (reason, &state) {
            // The halt reason was read (and DFSR cleared): keep it.
            (Some(reason), _) => RunState::Halted(reason),
            (None, CoreState::LockedUp) => RunState::LockedUp,
            (None, _) => RunState::Running,
        };
        if run_state != self.state {
            self.forget_state();
        }
        self.state = run_state;
        Ok(state)
    }

    fn wait_for_stop(&mut self, timeout: Duration) -> Result<Option<StopReason>> {
        let deadline = Instant::now() + timeout;
        let mut pause = POLL_FIRST;
        loop {
            match &self.state {
                RunState::Halted(reason) => return Ok(Some(reason.clone())),
                RunState::LockedUp => return Ok(Some(StopReason::Lockup)),
                RunState::Running => {}
            }
            if let Some(reason) = self.poll()? {
                return Ok(Some(reason));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            std::thread::sleep(pause.min(left));
            pause = (pause * 2).min(POLL_MAX);
        }
    }

    fn set_breakpoint(&mut self, address: u32, kind: BreakpointKind) -> Result<()> {
        let address = address & !1;
        if let Some(k) = self.breakpoints.get_mut(&address) {
            *k = kind;
            return Ok(());
        }
        // Flash cannot be patched with BKPT: every breakpoint is an FPB comparator.
        let doing = format!("set a breakpoint at {address:#010x}");
        if self.breakpoints.len() as u32 >= self.units {
            return Err(TargetError::Refused {
                doing,
                message: format!(
                    "all {} hardware breakpoint units of this core are in use by isrscope ({})",
                    self.units,
                    self.breakpoints
                        .keys()
                        .map(|a| format!("{a:#010x}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        let units = self.units;
        let core = core_of(self.link.as_mut(), self.detached, &doing)?;
        core.set_hw_breakpoint(address).map_err(|e| TargetError::Refused {
            doing: doing.clone(),
            message: format!(
                "{} (the core has {units} hardware breakpoint units; another debugger may hold some)",
                convert::error_chain(&e)
            ),
        })?;
        self.breakpoints.insert(address, kind);
        Ok(())
    }

    fn clear_breakpoint(&mut self, address: u32) -> Result<()> {
        let address = address & !1;
        if !self.breakpoints.contains_key(&address) {
            return Ok(());
        }
        let doing = format!("clear the breakpoint at {address:#010x}");
        let core = core_of(self.link.as_mut(), self.detached, &doing)?;
        core.clear_hw_breakpoint(address)
            .map_err(|e| convert::target_error(e, &doing))?;
        self.breakpoints.remove(&address);
        Ok(())
    }

    fn breakpoints(&self) -> Vec<u32> {
        self.breakpoints.keys().copied().collect()
    }

    fn set_vector_catch(&mut self, kinds: &[CatchKind]) -> Result<()> {
        let doing = "setting vector catch (DEMCR)";
        let shape = self.shape;
        let saved = self.demcr_found;
        let core = core_of(self.link.as_mut(), self.detached, doing)?;
        let demcr = core
            .read_word(dcb::DEMCR)
            .map_err(|e| convert::target_error(e, doing))?;
        let found = saved.unwrap_or(demcr);
        // HardFault and reset catch through probe-rs (it also makes sure halting debug
        // is enabled); the configurable faults through DEMCR directly.
        for (kind, condition) in [
            (CatchKind::HardFault, VectorCatchCondition::HardFault),
            (CatchKind::CoreReset, VectorCatchCondition::CoreReset),
        ] {
            core.vector_catch(condition, kinds.contains(&kind))
                .map_err(|e| convert::target_error(e, doing))?;
        }
        let now = core
            .read_word(dcb::DEMCR)
            .map_err(|e| convert::target_error(e, doing))?;
        let wanted = convert::demcr_with(now, kinds, shape);
        if wanted != now {
            core.write_word(dcb::DEMCR, wanted)
                .map_err(|e| convert::target_error(e, doing))?;
        }
        self.demcr_found = Some(found);
        Ok(())
    }

    fn reset(&mut self, halt: bool) -> Result<()> {
        self.forget_state();
        let addresses: Vec<u32> = self.breakpoints.keys().copied().collect();
        let core = core_of(self.link.as_mut(), self.detached, "resetting the core")?;
        // A system reset clears FP_CTRL: our breakpoints are put back while halted at
        // the reset vector, before the core runs.
        core.reset_and_halt(HALT_TIMEOUT)
            .map_err(|e| convert::target_error(e, "resetting the core (reset and halt)"))?;
        for address in addresses {
            core.set_hw_breakpoint(address).map_err(|e| {
                convert::target_error(
                    e,
                    &format!("re-arming the breakpoint at {address:#010x} after reset"),
                )
            })?;
        }
        self.state = RunState::Halted(StopReason::Other {
            description: "reset (halted at the reset vector)".into(),
        });
        if !halt {
            self.run()?;
        }
        Ok(())
    }

    fn detach(&mut self, resume: bool) -> Result<()> {
        if self.detached {
            return Ok(());
        }
        let halted = matches!(self.state, RunState::Halted(_));
        if !halted && !resume {
            self.halt(HALT_TIMEOUT)?;
        }
        // FPB comparators and DEMCR are memory-mapped: restored whether or not the core
        // runs. A core running now and not to be halted is left so; one halted now is
        // resumed only if it was running when isrscope attached (a core found halted,
        // by another debugger or under reset, stays halted: leave it as found).
        let restored = self.restore();
        let mut resumed = if resume && halted && self.found_running {
            self.run()
        } else {
            Ok(())
        };
        // A core found running is left running as a board runs without a debugger:
        // C_DEBUGEN clear (the CMSIS DebugCoreStop step; probe-rs' attach set it).
        // Left set, a BKPT in the firmware (semihosting, panic-probe) would halt the
        // core for good instead of raising a HardFault.
        if resume && self.found_running && self.state == RunState::Running && resumed.is_ok() {
            resumed = core_of(self.link.as_mut(), self.detached, "detaching")?
                .write_word(dcb::DHCSR, dcb::DHCSR_DBGKEY)
                .map_err(|e| convert::target_error(e, "releasing the core from debug (DHCSR.C_DEBUGEN)"));
        }
        self.forget_state();
        self.detached = true;
        restored.and(resumed)
    }
}

impl Drop for ProbeTarget {
    fn drop(&mut self) {
        // Best effort: leave no breakpoint or vector catch behind, the core as it is.
        if !self.detached {
            let _ = self.detach(!matches!(self.state, RunState::Halted(_)));
        }
    }
}

impl std::fmt::Debug for ProbeTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProbeTarget")
            .field("description", &self.caps.description)
            .field("shape", &self.shape)
            .field("state", &self.state)
            .field("breakpoints", &self.breakpoints.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// A cached block holding `[address, address + len)`.
fn cached(memory: &[(u32, Vec<u8>)], address: u32, len: usize) -> Option<&[u8]> {
    memory.iter().find_map(|(start, bytes)| {
        let offset = address.checked_sub(*start)? as usize;
        bytes.get(offset..offset.checked_add(len)?)
    })
}

/// Reads a block: unaligned ends byte by byte, the aligned middle in 32-bit words (one
/// auto-incrementing transfer on the probe), little-endian as Cortex-M memory is.
fn read_block(
    core: &mut dyn CoreAccess,
    address: u32,
    buf: &mut [u8],
) -> std::result::Result<(), probe_rs::Error> {
    let (head, body, tail) = split_aligned(address, buf.len());
    if head > 0 {
        core.read_8(address, &mut buf[..head])?;
    }
    if body > 0 {
        let mut words = vec![0u32; body / 4];
        core.read_32(address + head as u32, &mut words)?;
        for (chunk, word) in buf[head..head + body].chunks_exact_mut(4).zip(&words) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
    }
    if tail > 0 {
        core.read_8(address + (head + body) as u32, &mut buf[head + body..])?;
    }
    Ok(())
}

/// Splits `len` bytes at `address` into an unaligned head, a word-aligned body (whole
/// words) and a tail.
fn split_aligned(address: u32, len: usize) -> (usize, usize, usize) {
    let head = ((4 - (address % 4)) % 4) as usize;
    if head >= len {
        return (len, 0, 0);
    }
    let body = (len - head) & !3;
    (head, body, len - head - body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_split_into_bytes_and_words_as_alignment_allows() {
        assert_eq!(split_aligned(0x2000_0000, 64), (0, 64, 0));
        assert_eq!(split_aligned(0x2000_0001, 8), (3, 4, 1));
        assert_eq!(split_aligned(0x2000_0002, 2), (2, 0, 0));
        assert_eq!(split_aligned(0x2000_0003, 1), (1, 0, 0));
        assert_eq!(split_aligned(0x2000_0000, 3), (0, 0, 3));
        assert_eq!(split_aligned(0x2000_0003, 5), (1, 4, 0));
        for addr in 0..8u32 {
            for len in 0..20usize {
                let (h, b, t) = split_aligned(addr, len);
                assert_eq!(h + b + t, len);
                assert_eq!(b % 4, 0);
                if b > 0 {
                    assert_eq!((addr as usize + h) % 4, 0);
                }
            }
        }
    }

    #[test]
    fn the_cache_answers_reads_inside_a_block() {
        let memory = vec![(0x2000_0000, (0u8..16).collect::<Vec<u8>>())];
        assert_eq!(cached(&memory, 0x2000_0004, 4), Some(&[4u8, 5, 6, 7][..]));
        assert_eq!(
            cached(&memory, 0x2000_000C, 4),
            Some(&[12u8, 13, 14, 15][..])
        );
        assert_eq!(cached(&memory, 0x2000_000D, 4), None, "runs past the block");
        assert_eq!(cached(&memory, 0x1FFF_FFFF, 2), None);
    }
}
