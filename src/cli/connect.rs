//! Turning `TargetArgs` into a connected [`Target`].

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::target::Target;
use crate::target::gdb::{ConnectOptions, GdbTarget};
use crate::target::probe::ProbeTarget;
use crate::target::qemu::{QemuConfig, QemuTarget, Semihosting};

use super::{TargetArgs, probe_cmds};

/// A connected target and what is needed to leave it as found.
pub struct Connection {
    pub target: Box<dyn Target>,
    /// isrscope started this target (QEMU) and owns it: it ends with isrscope.
    pub owned: bool,
    /// What the backend warned about when connecting (e.g. a QEMU older than 8.0);
    /// already printed on stderr, kept for the report's findings.
    pub warnings: Vec<String>,
}

pub fn connect(args: &TargetArgs, elf: Option<&Path>, timeout: Duration) -> Result<Connection> {
    connect_with(args, elf, timeout, Semihosting::Off)
}

/// [`connect`], with the semihosting a QEMU isrscope starts gets (`run`: QEMU's own,
/// its console output passed through).
pub fn connect_with(args: &TargetArgs, elf: Option<&Path>, timeout: Duration, semihosting: Semihosting) -> Result<Connection> {
    let gdb = ConnectOptions { timeout, ..ConnectOptions::default() };
    if args.chip.is_none() && (args.gdb.is_some() || args.qemu.is_some()) && args.probe.any() {
        bail!("--probe, --speed, --protocol and --connect-under-reset go with --chip (a debug probe driven by probe-rs)");
    }
    if let Some(address) = &args.gdb {
        let target = GdbTarget::connect(address, &gdb).with_context(|| format!("connecting to the GDB server at {address}"))?;
        return Ok(Connection { target: Box::new(target), owned: false, warnings: Vec::new() });
    }
    if let Some(machine) = &args.qemu {
        let Some(elf) = elf else { bail!("--qemu needs --elf: the firmware to run") };
        let mut config = QemuConfig::new(machine.clone(), elf);
        config.gdb = gdb;
        config.semihosting = semihosting;
        let target = QemuTarget::launch(&config).with_context(|| format!("starting QEMU ({machine}) with {}", elf.display()))?;
        let warnings = target.warnings().to_vec();
        for w in &warnings {
            eprintln!("isrscope: warning: {w}");
        }
        return Ok(Connection { target: Box::new(target), owned: true, warnings });
    }
    let (config, chip, source) = probe_config(args)?;
    let target = ProbeTarget::open(&config).with_context(|| format!("--chip {chip}{source}"))?;
    Ok(Connection { target: Box::new(target), owned: false, warnings: Vec::new() })
}

/// `--chip` (or $ISRSCOPE_CHIP/$PROBE_RS_CHIP): the probe configuration, the chip, and
/// where the name came from (for messages).
fn probe_config(args: &TargetArgs) -> Result<(crate::target::probe::ProbeConfig, String, String)> {
    let from_env = probe_cmds::chip_from_env();
    let chip = match (&args.chip, &from_env) {
        (Some(chip), _) => chip.clone(),
        (None, Some((_, chip))) => chip.clone(),
        (None, None) => bail!(
            "no target given: use --gdb HOST:PORT, --qemu MACHINE or --chip NAME (or set ISRSCOPE_CHIP)"
        ),
    };
    let source = match (&args.chip, &from_env) {
        (None, Some((var, _))) => format!(" (from ${var})"),
        _ => String::new(),
    };
    Ok((args.probe.config(&chip), chip, source))
}

/// A chip behind a probe with `elf` written into it by probe-rs' flashing (and
/// verified), a progress bar on a terminal: `run --chip`.
pub fn connect_probe_and_load(args: &TargetArgs, elf: &Path) -> Result<Connection> {
    use std::io::IsTerminal;
    use probe_rs::flashing::{ProgressEvent, ProgressOperation};
    let (config, chip, source) = probe_config(args)?;
    let terminal = std::io::stderr().is_terminal();
    let mut bar: Option<indicatif::ProgressBar> = None;
    let mut progress = |e: ProgressEvent| {
        if !terminal {
            return;
        }
        let what = |op: ProgressOperation| match op {
            ProgressOperation::Erase => "erasing",
            ProgressOperation::Program => "programming",
            ProgressOperation::Verify => "verifying",
            _ => "loading",
        };
        match e {
            ProgressEvent::AddProgressBar { operation, total } => {
                let b = indicatif::ProgressBar::new(total.unwrap_or(0));
                b.set_style(
                    indicatif::ProgressStyle::with_template(&format!("{:<11} {{bar:30}} {{bytes}}/{{total_bytes}} {{bytes_per_sec}}", what(operation)))
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                bar = Some(b);
            }
            ProgressEvent::Progress { size, .. } => {
                if let Some(b) = &bar {
                    b.inc(size);
                }
            }
            ProgressEvent::Finished(_) | ProgressEvent::Failed(_) => {
                if let Some(b) = bar.take() {
                    b.finish_and_clear();
                }
            }
            _ => {}
        }
    };
    let target = ProbeTarget::open_and_download(&config, elf, &mut progress).with_context(|| format!("--chip {chip}{source}"))?;
    Ok(Connection { target: Box::new(target), owned: false, warnings: Vec::new() })
}
