//! `isrscope run`: the cargo runner. Loads the firmware, runs it, shows what it writes
//! through semihosting as it comes, and ends with the firmware's own exit status, or
//! on a fault (or an RTOS error hook) with the whole report and its class's exit code
//! (docs/run.md).

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::debuginfo::Image;
use crate::model::regs::scb;
use crate::report::{self, CollectOptions, Report};
use crate::rtos::freertos;
use crate::logs::DefmtLog;
use crate::rtt::Rtt;
use crate::target::catch::{self, CatchOptions, FaultCatch};
use crate::target::qemu::Semihosting;
use crate::target::{BreakpointKind, CoreState, StopReason, Target, TargetError, reg};

use super::connect::{Connection, connect_probe_and_load, connect_with};
use super::{Format, TargetArgs, use_color};

/// Exit code when `--timeout` ends the run with no fault and no exit (as timeout(1)).
pub const EXIT_TIMEOUT: u8 = 124;
/// Exit code when the core was reset without being asked to (see `--allow-reset`).
pub const EXIT_RESET: u8 = 17;

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The firmware ELF (cargo passes it last to a runner).
    #[arg(value_name = "FW.elf")]
    pub elf: PathBuf,
    /// Do not load the ELF: reset and run what the target holds.
    #[arg(long)]
    pub no_load: bool,
    /// End after this many seconds without a fault or an exit: the report of where the
    /// core is, exit code 124. 0: no limit.
    #[arg(long, default_value_t = 0.0, value_name = "SECONDS")]
    pub timeout: f64,
    /// The report's format on a fault (the firmware's output is passed through as is).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Let the firmware reset itself (a bootloader, a reboot on error): run on instead of
    /// stopping at the reset handler with exit code 17.
    #[arg(long)]
    pub allow_reset: bool,
    /// How each defmt frame is printed: {t} timestamp, {L} level, {s} message, {F} file,
    /// {f} file name, {l} line, {m} module.
    #[arg(long, default_value = crate::logs::DEFAULT_FORMAT, value_name = "TEMPLATE")]
    pub log_format: String,
}

/// Whether the last byte of the firmware's output on stdout ended a line (the report
/// must start on a line of its own).
static AT_LINE_START: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Writes the firmware's bytes to stdout, remembering whether a line is open.
fn firmware_stdout(bytes: &[u8]) {
    if let Some(&last) = bytes.last() {
        let mut out = std::io::stdout();
        let _ = out.write_all(bytes);
        let _ = out.flush();
        AT_LINE_START.store(last == b'\n', Ordering::SeqCst);
    }
}

/// defmt frames on the firmware's semihosting stdout (defmt-semihosting: the ELF has a
/// defmt table and no RTT control block), decoded.
static STDOUT_DEFMT: std::sync::Mutex<Option<DefmtLog>> = std::sync::Mutex::new(None);

/// The signal that asked isrscope to stop (SIGINT, SIGTERM), or 0.
static SIGNALLED: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    SIGNALLED.store(sig, Ordering::SeqCst);
}

fn catch_signals() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            libc::signal(sig, on_signal as *const () as libc::sighandler_t);
        }
    }
}

/// How the run ended.
enum End {
    /// The firmware exited (semihosting SYS_EXIT) with this status.
    Exited(u8),
    /// A stop worth a report: a fault, an RTOS hook, a timeout, a signal.
    Report { opts: CollectOptions, code: Option<u8> },
}

pub fn run(args: &RunArgs) -> Result<u8> {
    let image = Image::open(&args.elf).with_context(|| format!("reading {}", args.elf.display()))?;
    catch_signals();
    let mut conn = if args.target.chip.is_some() && !args.no_load {
        connect_probe_and_load(&args.target, &args.elf)?
    } else {
        connect_with(&args.target, Some(&args.elf), Duration::from_secs(5), Semihosting::Native)?
    };
    let result = run_on(&mut conn, &image, args);
    let target = conn.target.as_mut();
    flush_output(target);
    let end = match result {
        Ok(end) => end,
        Err(e) => {
            if !conn.owned {
                let _ = target.detach(true);
            }
            return Err(e);
        }
    };
    match end {
        End::Exited(status) => {
            // A target isrscope did not start stays where the program ended it.
            if !conn.owned {
                target.detach(false).context("detaching from the target")?;
            }
            Ok(status)
        }
        End::Report { opts, code } => {
            let report = match report::collect(target, Some(&image), &opts) {
                Ok(r) => r,
                Err(TargetError::LockedUp { detail, .. }) => Report::lockup_without_state(&target.capabilities().description, &detail),
                Err(e) => return Err(e).context("reading the stopped core"),
            };
            if !AT_LINE_START.load(Ordering::SeqCst) {
                println!();
            }
            match args.format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                Format::Text => print!("{}", report::text::render(&report, use_color())),
            }
            // A target isrscope did not start is left running the firmware, as found.
            if !conn.owned {
                target.detach(true).context("detaching from the target")?;
            }
            Ok(code.unwrap_or_else(|| report.outcome.exit_code()))
        }
    }
}

fn run_on(conn: &mut Connection, image: &Image, args: &RunArgs) -> Result<End> {
    let target = conn.target.as_mut();
    if !target.capabilities().live {
        bail!("the target cannot run (a core file)");
    }
    if !matches!(target.state()?, CoreState::Halted { .. }) {
        target.halt(Duration::from_secs(5)).context("halting the core")?;
    }
    if !conn.owned {
        // probe-rs loaded it already (connect_probe_and_load); a GDB server is written here.
        if !args.no_load && args.target.chip.is_none() {
            load(target, image)?;
        }
        // After writes through a GDB server, no reset: QEMU's, for one, restores its
        // -kernel image. After probe-rs' flashing of a flash image, a real reset.
        let reset = args.no_load || args.target.chip.is_some();
        start_at_reset(target, image, reset)?;
    }
    let elf_vectors = image.vector_table().map(|t| t.words.clone());
    let mut armed = catch::arm(target, &CatchOptions { elf_vectors: elf_vectors.as_deref(), ..CatchOptions::default() })
        .context("arming fault catching")?;
    let mut hooks: Vec<u32> = freertos::hook_addresses(image)
        .into_iter()
        .filter(|&h| target.set_breakpoint(h, BreakpointKind::Software).is_ok())
        .collect();
    // A reset nobody asked for: the core comes back to the reset handler's entry.
    let reset_entry = reset_entry(image).filter(|_| !args.allow_reset);
    if let Some(entry) = reset_entry
        && target.set_breakpoint(entry, BreakpointKind::Software).is_ok()
    {
        hooks.push(entry);
    }
    let end = watch(target, image, &armed, reset_entry, args);
    for h in hooks {
        let _ = target.clear_breakpoint(h);
    }
    if !matches!(end, Ok(End::Exited(_))) {
        let _ = armed.disarm(target);
    }
    end
}

/// How often RTT up channels are read while the firmware runs.
const RTT_POLL: Duration = Duration::from_millis(20);

/// How long RAM is scanned for an RTT control block the ELF has no symbol for.
const RTT_SCAN_FOR: Duration = Duration::from_secs(2);

/// The RTT reader of a run: the control block once the firmware set it up.
struct RttReader {
    /// The control block's address: the `_SEGGER_RTT` symbol, or found by scanning.
    address: Option<u32>,
    /// Without the symbol: where to scan for it, and until when (RTT is set up early in
    /// a program's life; scanning on for ever would cost the link for nothing in
    /// firmware without RTT).
    scan: Vec<(u32, u32)>,
    scan_until: Instant,
    rtt: Option<Rtt>,
    last: Instant,
    /// Halts made to read it (a GDB server reads memory only from a halted core).
    halts: u64,
    /// Channel 0 carries defmt frames (the ELF has a defmt table): decoded.
    defmt: Option<DefmtLog>,
}

impl RttReader {
    /// Reads what the up channels hold and prints it. On a target that reads memory
    /// only while halted, halts the core briefly (and resumes it); a stop that comes
    /// meanwhile (the core was about to hit a breakpoint) is returned.
    fn poll(&mut self, target: &mut dyn Target) -> Result<Option<StopReason>> {
        self.last = Instant::now();
        match self.read(target) {
            Err(TargetError::NotHalted(_)) => {}
            other => return other.map(|()| None).context("reading RTT"),
        }
        if self.halts == 0 {
            eprintln!("isrscope: reading RTT by halting the core briefly every {} ms: this GDB server reads memory only from a halted core", RTT_POLL.as_millis());
        }
        self.halts += 1;
        let reason = target.halt(Duration::from_secs(5)).context("halting the core to read RTT")?;
        self.read(target).context("reading RTT")?;
        if !matches!(reason, StopReason::Requested) {
            return Ok(Some(reason));
        }
        target.resume().context("resuming the core after reading RTT")?;
        Ok(None)
    }

    fn read(&mut self, target: &mut dyn Target) -> std::result::Result<(), TargetError> {
        if self.address.is_none() && !self.scan.is_empty() {
            if Instant::now() > self.scan_until {
                self.scan.clear();
            } else {
                match Rtt::scan(target, &self.scan) {
                    Ok(Some(found)) => {
                        eprintln!("isrscope: RTT control block found at {found:#010x} by scanning RAM (the ELF has no _SEGGER_RTT symbol)");
                        self.address = Some(found);
                    }
                    Ok(None) => {}
                    Err(TargetError::NotHalted(_)) => self.scan.clear(),
                    Err(e) => return Err(e),
                }
            }
        }
        if self.rtt.is_none()
            && let Some(address) = self.address
        {
            self.rtt = Rtt::attach(target, address)?;
        }
        let Some(rtt) = &self.rtt else { return Ok(()) };
        for (channel, bytes) in rtt.poll(target)? {
            if channel == 0 {
                match self.defmt.as_mut() {
                    Some(d) => {
                        let text: String = d.received(&bytes).into_iter().map(|l| l + "\n").collect();
                        firmware_stdout(text.as_bytes());
                    }
                    None => firmware_stdout(&bytes),
                }
            } else {
                let name = rtt.up.iter().find(|c| c.index == channel).map(|c| c.name.clone()).unwrap_or_default();
                let text: String = String::from_utf8_lossy(&bytes).lines().map(|l| format!("[rtt {channel} {name}] {l}\n")).collect();
                firmware_stdout(text.as_bytes());
            }
        }
        Ok(())
    }
}

/// Runs the core until it exits, faults, stops at a hook, times out or a signal comes,
/// passing the program's output (semihosting, RTT) through meanwhile.
fn watch(target: &mut dyn Target, image: &Image, armed: &FaultCatch, reset_entry: Option<u32>, args: &RunArgs) -> Result<End> {
    let deadline = (args.timeout > 0.0).then(|| Instant::now() + Duration::from_secs_f64(args.timeout));
    let defmt = match std::fs::read(&args.elf) {
        Ok(bytes) => DefmtLog::new(&bytes, &args.log_format).context("reading the ELF's defmt table")?,
        Err(_) => None,
    };
    // defmt frames come over RTT when the ELF has its control block, else over
    // semihosting (defmt-semihosting writes them to stdout).
    let rtt_address = Rtt::address(image);
    let defmt = match rtt_address {
        Some(_) => defmt,
        None => {
            *STDOUT_DEFMT.lock().unwrap_or_else(|e| e.into_inner()) = defmt;
            None
        }
    };
    // Without the symbol, RAM is scanned for the block during the run's first seconds,
    // only where memory reads while the core runs (probe-rs): halting the core to scan
    // would cost every run of firmware without RTT.
    let scan = if rtt_address.is_none() && target.capabilities().live { Rtt::scan_regions(image) } else { Vec::new() };
    let mut rtt = (rtt_address.is_some() || !scan.is_empty()).then(|| RttReader {
        address: rtt_address,
        scan,
        scan_until: Instant::now() + RTT_SCAN_FOR,
        rtt: None,
        last: Instant::now(),
        halts: 0,
        defmt,
    });
    // The core starts at the reset handler's entry, where the reset breakpoint is: step
    // off it first.
    let mut checked = reset_entry.is_some();
    let end = loop {
        catch::resume(target, checked).context("resuming the core")?;
        checked = true;
        let stop = loop {
            let sig = SIGNALLED.load(Ordering::SeqCst);
            if sig != 0 {
                flush_output(target);
                target.halt(Duration::from_secs(5)).context("halting the core")?;
                let name = if sig == libc::SIGINT { "SIGINT (Ctrl-C)" } else { "SIGTERM" };
                let opts = CollectOptions { stop: Some(StopReason::Requested), preface: Some(format!("Stopped by {name}")), ..CollectOptions::default() };
                break Some(End::Report { opts, code: Some(128 + sig as u8) });
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                flush_output(target);
                target.halt(Duration::from_secs(5)).context("halting the core after the timeout")?;
                let preface = format!("No fault and no exit within {} s", args.timeout);
                let opts = CollectOptions { stop: Some(StopReason::Requested), preface: Some(preface), ..CollectOptions::default() };
                break Some(End::Report { opts, code: Some(EXIT_TIMEOUT) });
            }
            let waited = target.wait_for_stop(RTT_POLL);
            flush_output(target);
            match waited {
                Ok(Some(reason)) => break Some(End::Report { opts: stop_options(reason), code: None }),
                Ok(None) => {
                    if let Some(r) = rtt.as_mut().filter(|r| r.last.elapsed() >= RTT_POLL) {
                        if let Some(reason) = r.poll(target)? {
                            break Some(End::Report { opts: stop_options(reason), code: None });
                        }
                    }
                    continue;
                }
                Err(TargetError::LockedUp { .. }) => {
                    return Ok(End::Report { opts: CollectOptions { locked_up: true, ..CollectOptions::default() }, code: None });
                }
                // QEMU ends with the status of the firmware's SYS_EXIT.
                Err(_) if target.exit_status().is_some() => return Ok(End::Exited(target.exit_status().unwrap_or(1))),
                Err(e) => return Err(e).context("waiting for the firmware"),
            }
        };
        let Some(end) = stop else { continue };
        if let Some(status) = target.exit_status() {
            return Ok(End::Exited(status));
        }
        if let CoreState::Exited { description } = target.state()? {
            bail!("the target ended: {description}");
        }
        // The reset handler's entry again: the core was reset.
        if let End::Report { opts: CollectOptions { stop: Some(StopReason::Breakpoint { pc }), .. }, code: None } = &end
            && Some(*pc) == reset_entry
        {
            let preface = "The core was reset, not by isrscope (SYSRESETREQ, a watchdog, a lockup or the reset pin): it stands at the reset handler's entry; --allow-reset lets it run on".to_string();
            let opts = CollectOptions { stop: Some(StopReason::Breakpoint { pc: *pc }), preface: Some(preface), ..CollectOptions::default() };
            break End::Report { opts, code: Some(EXIT_RESET) };
        }
        // A fault handler's entry reached without an exception (called, or fallen into).
        if let End::Report { opts: CollectOptions { stop: Some(stop @ StopReason::Breakpoint { .. }), .. }, code: None } = &end
            && armed.entered_in_thread_mode(target, stop).context("reading PC and xPSR")?
        {
            continue;
        }
        break end;
    };
    // What RTT holds at the stop, before the report.
    if let Some(r) = rtt.as_mut() {
        let _ = r.read(target);
    }
    Ok(end)
}

/// The reset handler's entry: the ELF's reset vector.
fn reset_entry(image: &Image) -> Option<u32> {
    image.vector_table().and_then(|t| t.words.get(1).copied()).filter(|&v| v != 0).map(|v| v & !1)
}

fn stop_options(stop: StopReason) -> CollectOptions {
    let locked_up = matches!(stop, StopReason::Lockup);
    CollectOptions { stop: Some(stop), locked_up, ..CollectOptions::default() }
}

/// Writes the program's output: descriptor 2 to stderr, the rest to stdout.
fn flush_output(target: &mut dyn Target) {
    for (fd, bytes) in target.take_program_output() {
        if fd == 2 {
            let _ = std::io::stderr().write_all(&bytes);
            continue;
        }
        let mut defmt = STDOUT_DEFMT.lock().unwrap_or_else(|e| e.into_inner());
        match defmt.as_mut() {
            Some(d) => {
                let text: String = d.received(&bytes).into_iter().map(|l| l + "\n").collect();
                firmware_stdout(text.as_bytes());
            }
            None => firmware_stdout(&bytes),
        }
    }
}

/// Writes the ELF's loadable segments at their load (physical) addresses, as QEMU's
/// `-kernel` and gdb's `load` do: their file bytes (the rest of a segment is .bss, which
/// the startup code clears), through the target's memory writes.
fn load(target: &mut dyn Target, image: &Image) -> Result<()> {
    use object::read::elf::{ElfFile32, ProgramHeader};
    let path = image.path().context("the ELF has no path to load from")?;
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let elf = ElfFile32::<object::LittleEndian>::parse(&bytes[..]).context("parsing the ELF's program headers")?;
    let endian = elf.endian();
    for ph in elf.elf_program_headers() {
        if ph.p_type(endian) != object::elf::PT_LOAD || ph.p_filesz(endian) == 0 {
            continue;
        }
        let data = ph.data(endian, &bytes[..]).map_err(|()| anyhow::anyhow!("a segment lies outside the file"))?;
        let address = ph.p_paddr(endian);
        target.write_memory(address, data).with_context(|| {
            format!(
                "loading {} bytes at {address:#010x} (a server that cannot write there, flash on a real board, needs the firmware flashed first and --no-load)",
                data.len()
            )
        })?;
    }
    Ok(())
}

/// Starts the firmware as a reset does. With `reset`, and an image whose vector table is
/// not in the SRAM region (a flash image): the target's reset where it has one. Else
/// (an image in RAM, one written through a GDB server, a server without reset): VTOR at
/// the ELF's vector table, SP and PC from it, xPSR.T set, as the core does at reset.
fn start_at_reset(target: &mut dyn Target, image: &Image, reset: bool) -> Result<()> {
    let table = image.vector_table();
    // The architecture's SRAM region (0x20000000-0x3FFFFFFF): a reset does not take it.
    let in_ram = table.is_some_and(|t| (0x2000_0000..0x4000_0000).contains(&t.address));
    if reset && !in_ram {
        match target.reset(true) {
            Ok(()) => return Ok(()),
            Err(TargetError::Unsupported(_)) => {}
            Err(e) => return Err(e).context("resetting the core"),
        }
    }
    let table = table.context("the ELF has no vector table to start from")?;
    let (sp, pc) = (table.words.first().copied(), table.words.get(1).copied());
    let (Some(sp), Some(pc)) = (sp, pc) else { bail!("the ELF's vector table is too short") };
    target.write_memory(scb::VTOR, &table.address.to_le_bytes()).context("setting VTOR")?;
    target.write_register(reg::MSP, sp).context("setting MSP")?;
    target.write_register(reg::SP, sp).context("setting SP")?;
    target.write_register(reg::PC, pc & !1).context("setting PC")?;
    target.write_register(reg::XPSR, 1 << 24).context("setting xPSR")?;
    Ok(())
}
