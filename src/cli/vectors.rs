//! `isrscope vectors`: check the ELF's vector table, and with a target, what the chip
//! holds (VTOR, the table there, flash, the NVIC). See docs/vectors.md.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};

use crate::debuginfo::Image;
use crate::target::{BreakpointKind, CoreState, Target};
use crate::vectors::flash::FlashMode;
use crate::vectors::live::{self, LiveData, LiveOptions};
use crate::vectors::{self, Options, svd};

use super::connect::connect;
use super::{Format, TargetArgs, use_color};

/// Exit code when the report holds an error-severity finding.
pub const EXIT_ERRORS: u8 = 3;

/// How to reach the target: at most one; none checks the ELF alone.
#[derive(Args, Debug, Clone, Default)]
#[group(skip)]
#[command(group(clap::ArgGroup::new("optional-target").args(["gdb", "qemu", "chip"]).multiple(false)))]
pub struct OptionalTarget {
    /// A GDB server: HOST:PORT (OpenOCD :3333, J-Link :2331, pyOCD :3333), unix:PATH, or
    /// a serial port (a Black Magic Probe: /dev/ttyACM0 or serial:PATH).
    #[arg(long, value_name = "HOST:PORT|unix:PATH|/dev/tty...")]
    pub gdb: Option<String>,
    /// Start the ELF in qemu-system-arm on this machine (e.g. netduinoplus2) and attach.
    #[arg(long, value_name = "MACHINE")]
    pub qemu: Option<String>,
    /// A chip behind a debug probe, by its probe-rs name (e.g. STM32F407VG).
    #[arg(long, value_name = "NAME")]
    pub chip: Option<String>,
    #[command(flatten)]
    pub probe: super::probe_cmds::ProbeArgs,
}

impl OptionalTarget {
    fn to_target_args(&self) -> Option<TargetArgs> {
        (self.gdb.is_some() || self.qemu.is_some() || self.chip.is_some()).then(|| TargetArgs {
            gdb: self.gdb.clone(),
            qemu: self.qemu.clone(),
            chip: self.chip.clone(),
            probe: self.probe.clone(),
        })
    }
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FlashArg {
    /// Full comparison up to 512 KiB of loadable contents, a sample above.
    #[default]
    Auto,
    Full,
    Sample,
    Off,
}

#[derive(Args, Debug)]
pub struct VectorsArgs {
    /// The firmware ELF whose vector table is checked.
    #[arg(long, value_name = "FW.elf")]
    pub elf: PathBuf,
    #[command(flatten)]
    pub target: OptionalTarget,
    /// Output format: a readable table, or the JSON of docs/vectors.md.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// A CMSIS-SVD file: IRQ names and the chip's IRQ count.
    #[arg(long, value_name = "FILE")]
    pub svd: Option<PathBuf>,
    /// Run the target to this function (or address) before the live check, e.g. past
    /// the code that relocates VTOR.
    #[arg(long, value_name = "SYMBOL|ADDR")]
    pub break_at: Option<String>,
    /// How long to wait for --break-at, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub timeout: f64,
    /// How to compare the ELF's loadable sections with the target's flash.
    #[arg(long, value_enum, default_value_t)]
    pub flash_check: FlashArg,
    /// Keep the core halted afterwards (default: resume it).
    #[arg(long)]
    pub halt: bool,
}

pub fn run(args: &VectorsArgs) -> Result<u8> {
    let image = Image::open(&args.elf).with_context(|| format!("reading {}", args.elf.display()))?;
    let svd = match &args.svd {
        Some(path) => Some(svd::load(path)?),
        None => None,
    };
    let live = match args.target.to_target_args() {
        Some(t) => Some(read_live(&t, &image, args)?),
        None => {
            if args.break_at.is_some() {
                bail!("--break-at needs a target (--gdb, --qemu or --chip)");
            }
            None
        }
    };
    let report = vectors::analyze(&image, &Options { svd }, live.as_ref());
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Text => print!("{}", vectors::text::render(&report, use_color())),
    }
    Ok(if report.has_errors() { EXIT_ERRORS } else { 0 })
}

fn read_live(t: &TargetArgs, image: &Image, args: &VectorsArgs) -> Result<LiveData> {
    let breakpoint = args.break_at.as_deref().map(|b| resolve(b, image)).transpose()?;
    let mut conn = connect(t, Some(&args.elf), Duration::from_secs(5))?;
    let target = conn.target.as_mut();
    let result = halt_where_asked(target, breakpoint, args).map(|()| {
        let flash = match args.flash_check {
            FlashArg::Auto => FlashMode::Auto,
            FlashArg::Full => FlashMode::Full,
            FlashArg::Sample => FlashMode::Sample,
            FlashArg::Off => FlashMode::Off,
        };
        live::read(target, image, &LiveOptions { flash })
    });
    // Leave the target as found: breakpoint cleared (above), resumed unless --halt. A
    // QEMU isrscope started ends with it.
    let detach = if conn.owned { Ok(()) } else { conn.target.detach(!args.halt) };
    let live = result?;
    detach.context("detaching from the target")?;
    Ok(live)
}

/// Halts the core, at `breakpoint` when given.
fn halt_where_asked(target: &mut dyn Target, breakpoint: Option<u32>, args: &VectorsArgs) -> Result<()> {
    let timeout = Duration::from_secs_f64(args.timeout.max(0.0));
    if !matches!(target.state().context("reading the core state")?, CoreState::Halted { .. } | CoreState::LockedUp) {
        target.halt(Duration::from_secs(5)).context("halting the core")?;
    }
    let Some(address) = breakpoint else { return Ok(()) };
    let name = args.break_at.as_deref().unwrap_or_default();
    target.set_breakpoint(address, BreakpointKind::Software).with_context(|| format!("setting a breakpoint at {name}"))?;
    let waited = target.resume().context("resuming the core").and_then(|()| {
        target.wait_for_stop(timeout).with_context(|| format!("running to {name}"))
    });
    let reached = match waited {
        Ok(Some(_)) => Ok(()),
        Ok(None) => {
            let _ = target.halt(Duration::from_secs(5));
            Err(anyhow::anyhow!("the target did not reach --break-at {name} within {} s", args.timeout))
        }
        Err(e) => Err(e),
    };
    let cleared = target.clear_breakpoint(address).with_context(|| format!("clearing the breakpoint at {name}"));
    reached?;
    cleared
}

/// A function name from the ELF, or a hex address.
fn resolve(name: &str, image: &Image) -> Result<u32> {
    if let Some(hex) = name.strip_prefix("0x") {
        return u32::from_str_radix(hex, 16).with_context(|| format!("--break-at {name}: not an address"));
    }
    let sym = image.symbols().by_name(name).with_context(|| format!("--break-at {name}: no such symbol in the ELF"))?;
    Ok(sym.address & !1)
}
