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
    let target = ProbeTarget::open(&args.probe.config(&chip)).with_context(|| format!("--chip {chip}{source}"))?;
    Ok(Connection { target: Box::new(target), owned: false, warnings: Vec::new() })
}
