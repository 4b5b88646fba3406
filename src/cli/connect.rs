//! Turning `TargetArgs` into a connected [`Target`].

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::target::Target;
use crate::target::gdb::{ConnectOptions, GdbTarget};
use crate::target::qemu::{QemuConfig, QemuTarget};

use super::TargetArgs;

/// A connected target and what is needed to leave it as found.
pub struct Connection {
    pub target: Box<dyn Target>,
    /// isrscope started this target (QEMU) and owns it: it ends with isrscope.
    pub owned: bool,
}

pub fn connect(args: &TargetArgs, elf: Option<&Path>, timeout: Duration) -> Result<Connection> {
    let gdb = ConnectOptions { timeout, ..ConnectOptions::default() };
    if let Some(address) = &args.gdb {
        let target = GdbTarget::connect(address, &gdb).with_context(|| format!("connecting to the GDB server at {address}"))?;
        return Ok(Connection { target: Box::new(target), owned: false });
    }
    if let Some(machine) = &args.qemu {
        let Some(elf) = elf else { bail!("--qemu needs --elf: the firmware to run") };
        let mut config = QemuConfig::new(machine.clone(), elf);
        config.gdb = gdb;
        let target = QemuTarget::launch(&config).with_context(|| format!("starting QEMU ({machine}) with {}", elf.display()))?;
        return Ok(Connection { target: Box::new(target), owned: true });
    }
    if let Some(chip) = &args.chip {
        bail!(
            "--chip {chip}: the probe-rs backend is not part of this build yet; reach the chip through a GDB server instead (e.g. `openocd -f interface/stlink.cfg -f target/stm32f4x.cfg`, then --gdb localhost:3333; see docs/gdb-servers.md)"
        );
    }
    bail!("no target given: use --gdb HOST:PORT, --qemu MACHINE or --chip NAME")
}
