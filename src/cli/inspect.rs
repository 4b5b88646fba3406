//! `isrscope inspect`: connect, catch a fault (or take the state as it is), report it,
//! and leave the target as it was found.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;

use crate::debuginfo::Image;
use crate::model::exception::ExceptionNumber;
use crate::model::regs::scb;
use crate::report::{self, CollectOptions, Finding, Report, Severity};
use crate::rtos::freertos;
use crate::target::catch::{self, CatchOptions, FaultCatch};
use crate::target::{BreakpointKind, CoreState, StopReason, Target, TargetError, reg};

use super::connect::{Connection, connect};
use super::{ElfArg, Format, TargetArgs, use_color};

#[derive(Args, Debug)]
pub struct InspectArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub elf: ElfArg,
    /// Output format: a readable report, or the JSON contract of docs/inspect.md.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// Where to stop before reading the target: shared by `inspect` and `capture`.
#[derive(Args, Debug, Clone)]
pub struct WaitArgs {
    /// How long to wait for a fault, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub timeout: f64,
    /// Do not wait for a fault: halt now and take the state as it is.
    #[arg(long)]
    pub no_wait: bool,
    /// Keep the core halted afterwards (default: resume it, as it was found running).
    #[arg(long)]
    pub halt: bool,
    /// Also stop when this function (or address) is reached, e.g. an ISR to look inside.
    #[arg(long, value_name = "SYMBOL|ADDR")]
    pub break_at: Vec<String>,
    /// Do not catch faults: stop only at --break-at (e.g. inside a HardFault handler
    /// that the firmware itself enters).
    #[arg(long, requires = "break_at")]
    pub no_catch: bool,
}

impl WaitArgs {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs_f64(self.timeout.max(0.0))
    }

    pub(crate) fn options(&self) -> WaitOptions {
        WaitOptions { no_wait: self.no_wait, no_catch: self.no_catch, timeout: self.timeout() }
    }
}

/// Runs the command; returns the exit code of the report's outcome.
pub fn run(args: &InspectArgs) -> Result<u8> {
    let image = match &args.elf.elf {
        Some(path) => Some(Image::open(path).with_context(|| format!("reading {}", path.display()))?),
        None => None,
    };
    let breaks = resolve_breaks(&args.wait.break_at, image.as_ref())?;
    let mut conn = connect(&args.target, args.elf.elf.as_deref(), Duration::from_secs(5))?;
    let result = inspect(&mut conn, image.as_ref(), &breaks, args);
    // Leave the target as found whatever happened: breakpoints cleared, resumed unless
    // --halt. A QEMU isrscope started ends with it.
    let detach = if conn.owned { Ok(()) } else { conn.target.detach(!args.wait.halt) };
    let mut report = match result {
        Ok(report) => report,
        Err(e) => match e.chain().find_map(|c| c.downcast_ref::<TargetError>()) {
            Some(TargetError::LockedUp { detail, .. }) => {
                Report::lockup_without_state(&conn.target.capabilities().description, detail)
            }
            _ => return Err(e),
        },
    };
    report.findings.extend(conn.warnings.iter().map(|w| connection_finding(w)));
    // The report is printed even when detaching fails (e.g. the link broke after the
    // registers were read): what was read is worth having; the error still sets exit 1.
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Text => print!("{}", report::text::render(&report, use_color())),
    }
    detach.context("detaching from the target")?;
    Ok(report.outcome.exit_code())
}

/// A backend's connection warning as a finding: `qemu-too-old` for a QEMU whose
/// gdbstub lacks the system registers, `connection-warning` otherwise.
fn connection_finding(warning: &str) -> Finding {
    let code = if warning.contains("older than 8.0") { "qemu-too-old" } else { "connection-warning" };
    Finding::new(code, Severity::Warning, warning)
}

fn inspect(
    conn: &mut Connection,
    image: Option<&Image>,
    breaks: &[u32],
    args: &InspectArgs,
) -> Result<Report> {
    let target = conn.target.as_mut();
    let wait = args.wait.options();
    let opts = stop_for_report(target, image, breaks, &wait)?;
    Ok(report::collect(target, image, &opts)?)
}

/// How to reach the state worth reporting: `inspect` and `capture` share it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WaitOptions {
    /// Halt and take the state as it is.
    pub no_wait: bool,
    /// Stop at the `--break-at` points only.
    pub no_catch: bool,
    pub timeout: Duration,
}

/// Halts the core where a report is worth making: at once if it is already in an
/// exception handler (a fault, an ISR, SVCall, ...: IPSR != 0) or locked up, else after
/// catching a fault or a `--break-at` stop within the timeout. Returns what
/// `report::collect` needs to know about the stop.
pub(crate) fn stop_for_report(
    target: &mut dyn Target,
    image: Option<&Image>,
    breaks: &[u32],
    wait: &WaitOptions,
) -> Result<CollectOptions> {
    let timeout = wait.timeout;
    let mut stop = match target.state().context("reading the core state")? {
        CoreState::Halted { reason } => Some(reason),
        CoreState::LockedUp => return Ok(CollectOptions { locked_up: true, ..CollectOptions::default() }),
        _ => {
            let reason = target.halt(timeout).context("halting the core")?;
            Some(reason)
        }
    };
    // Halted inside a handler (left so by a debugger or an earlier `--halt`): that is
    // the state worth reporting, and resuming would lose it.
    let in_handler = !active_exception(target)?.is_thread();
    let mut preface = None;
    // A QEMU we started is halted at reset: there is nothing to report before it runs.
    if !in_handler && !wait.no_wait {
        let elf_vectors = image.and_then(|i| i.vector_table()).map(|t| t.words.as_slice());
        let mut armed = if wait.no_catch {
            None
        } else {
            Some(catch::arm(target, &CatchOptions { elf_vectors, ..CatchOptions::default() }).context("arming fault catching")?)
        };
        // The user's --break-at points, then FreeRTOS' error hooks where the image has
        // them (a stop there is as worth reporting as a fault); a hook whose breakpoint
        // cannot be set (no comparator left) is not armed.
        let mut stops = Vec::new();
        let mut set = Ok(());
        for &b in breaks {
            set = target.set_breakpoint(b, BreakpointKind::Software).with_context(|| format!("setting a breakpoint at {b:#010x}"));
            if set.is_err() {
                break;
            }
            stops.push(b);
        }
        if set.is_ok() && !wait.no_catch {
            for h in image.map(freertos::hook_addresses).unwrap_or_default() {
                if !stops.contains(&h) && target.set_breakpoint(h, BreakpointKind::Software).is_ok() {
                    stops.push(h);
                }
            }
        }
        let waited = set.and_then(|()| wait_for_fault(target, armed.as_ref(), &stops, timeout));
        let disarmed = disarm(target, armed.as_mut(), &stops);
        match waited? {
            Some(reason) => stop = Some(reason),
            None => {
                preface = Some(format!("No fault within {} s", timeout.as_secs_f64()));
                stop = Some(StopReason::Requested);
            }
        }
        disarmed?;
    }
    // A backend that sees lockup (a probe: DHCSR.S_LOCKUP) reports it as the stop.
    let locked_up = matches!(stop, Some(StopReason::Lockup));
    Ok(CollectOptions { stop, preface, locked_up, all_registers: false })
}

/// The exception the halted core is in (IPSR), from ICSR.VECTACTIVE: the SCB word
/// [`catch::arm`] reads next with CPUID and VTOR, so over a GDB server (which caches it
/// until the core runs) the question costs no request of its own. xPSR if the SCB is
/// unreadable, or reads as no SCB does (CPUID 0 or all ones: a server answering
/// zeros, a bus error pattern).
fn active_exception(target: &mut dyn Target) -> Result<ExceptionNumber> {
    let mut head = [0u8; 12];
    if target.read_memory(scb::CPUID, &mut head).is_ok() {
        let word = |i: usize| u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
        if !matches!(word(0), 0 | u32::MAX) {
            return Ok(ExceptionNumber::from_xpsr(word(4) & scb::ICSR_VECTACTIVE_MASK));
        }
    }
    let xpsr = target.read_register(reg::XPSR).context("reading xPSR")?;
    Ok(ExceptionNumber::from_xpsr(xpsr))
}

/// Resumes and waits for a fault handler entry or one of the breakpoints at `breaks`
/// (set by the caller); on timeout halts the core again and returns `None`. A handler's
/// entry reached in thread mode is passed (see [`FaultCatch::entered_in_thread_mode`]).
fn wait_for_fault(
    target: &mut dyn Target,
    armed: Option<&FaultCatch>,
    breaks: &[u32],
    timeout: Duration,
) -> Result<Option<StopReason>> {
    let deadline = Instant::now() + timeout;
    // With --break-at, a breakpoint may be where the core is: step over it, as gdb does.
    let mut checked = !breaks.is_empty();
    loop {
        catch::resume(target, checked).context("resuming the core")?;
        match target.wait_for_stop(deadline.saturating_duration_since(Instant::now())) {
            Ok(Some(reason)) => {
                let passed = match (armed, &reason) {
                    (Some(c), StopReason::Breakpoint { pc }) if !breaks.contains(pc) => {
                        c.entered_in_thread_mode(target, &reason).context("reading PC and xPSR")?
                    }
                    _ => false,
                };
                if !passed {
                    return Ok(Some(reason));
                }
                checked = true;
            }
            Ok(None) => {
                target.halt(Duration::from_secs(5)).context("halting the core after the timeout")?;
                return Ok(None);
            }
            Err(e) => return Err(e).context("waiting for a fault"),
        }
    }
}

fn disarm(target: &mut dyn Target, armed: Option<&mut FaultCatch>, breaks: &[u32]) -> Result<()> {
    for &b in breaks {
        target.clear_breakpoint(b).with_context(|| format!("clearing the breakpoint at {b:#010x}"))?;
    }
    if let Some(armed) = armed {
        armed.disarm(target).context("removing the fault-catching breakpoints")?;
    }
    Ok(())
}

/// `--break-at` values: a function name from the ELF, or a hex address.
pub(crate) fn resolve_breaks(names: &[String], image: Option<&Image>) -> Result<Vec<u32>> {
    names
        .iter()
        .map(|name| {
            if let Some(hex) = name.strip_prefix("0x") {
                return u32::from_str_radix(hex, 16).with_context(|| format!("--break-at {name}: not an address"));
            }
            let image = image.with_context(|| format!("--break-at {name}: a symbol needs --elf"))?;
            let sym = image
                .symbols()
                .by_name(name)
                .with_context(|| format!("--break-at {name}: no such symbol in the ELF"))?;
            Ok(sym.address & !1)
        })
        .collect()
}
