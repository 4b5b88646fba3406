//! `isrscope-vprobe`: start firmware in QEMU and serve a virtual debug probe for it.
//!
//! ```text
//! isrscope-vprobe --qemu netduinoplus2 --elf fw.elf --bmp 0 [--start-halted] [--once] [--stats FILE]
//! ```
//! Prints `bmp 127.0.0.1:PORT` when the door is ready. Clients are served one after
//! another; with `--once` it exits (and QEMU with it) when the first client leaves.

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Parser;
use isrscope::target::qemu::{QemuConfig, QemuTarget};
use isrscope_vprobe::{bmp, core::{Core, DebugState}, dap::Dap, stats::Stats};
use serde::Serialize;

#[derive(Parser, Debug)]
#[command(name = "isrscope-vprobe", version, about = "A virtual ARM debug probe in front of QEMU's Cortex-M core (isrscope lab equipment)")]
struct Args {
    /// QEMU machine (-M), e.g. netduinoplus2 (STM32F405: the STM32F4 DBGMCU answers).
    #[arg(long, value_name = "MACHINE")]
    qemu: String,
    /// The firmware to run.
    #[arg(long, value_name = "ELF")]
    elf: PathBuf,
    /// Serve the Black Magic Probe remote protocol on this TCP port of 127.0.0.1 (0 picks
    /// a free one). probe-rs: `--probe 1d50:6018:127.0.0.1:PORT --protocol swd`.
    #[arg(long, value_name = "PORT")]
    bmp: Option<u16>,
    /// Keep the core halted at the reset vector until a client runs it.
    #[arg(long)]
    start_halted: bool,
    /// Exit when the first client disconnects.
    #[arg(long)]
    once: bool,
    /// At exit, write what each client cost (DP/AP accesses, memory bytes, round trips)
    /// as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    stats: Option<PathBuf>,
}

#[derive(Serialize)]
struct ClientStats {
    door: &'static str,
    #[serde(flatten)]
    stats: Stats,
    /// The debug state when the client connected and when it left.
    found: DebugState,
    left: DebugState,
}

fn run(args: Args) -> anyhow::Result<()> {
    let Some(port) = args.bmp else { bail!("no front door: give --bmp PORT") };
    let qemu = QemuTarget::launch(&QemuConfig::new(&args.qemu, &args.elf))
        .with_context(|| format!("starting {} in QEMU -M {}", args.elf.display(), args.qemu))?;
    let stm32 = matches!(args.qemu.as_str(), "netduinoplus2" | "netduino2" | "olimex-stm32-h405" | "stm32vldiscovery");
    let mut core = Core::new(Box::new(qemu), stm32);
    if args.start_halted {
        core.hold_halted();
    } else {
        core.start().map_err(|e| anyhow::anyhow!("starting the core: {}", e.0))?;
    }
    let mut dap = Dap::new(core);
    let listener = TcpListener::bind(("127.0.0.1", port)).with_context(|| format!("binding 127.0.0.1:{port}"))?;
    let addr = listener.local_addr()?;
    println!("bmp {addr}");
    std::io::stdout().flush()?;
    let mut clients = Vec::new();
    for stream in listener.incoming() {
        let stream = stream?;
        let before = dap.stats.clone();
        let found = dap.core.debug_state();
        let mut door = bmp::Door::default();
        if let Err(e) = door.serve(&mut dap, stream) {
            eprintln!("isrscope-vprobe: client: {e}");
        }
        let left = dap.core.debug_state();
        dap.core.disconnect();
        let s = &dap.stats;
        clients.push(ClientStats {
            door: "bmp",
            stats: Stats {
                dp_accesses: s.dp_accesses - before.dp_accesses,
                ap_accesses: s.ap_accesses - before.ap_accesses,
                memory_bytes: s.memory_bytes - before.memory_bytes,
                round_trips: s.round_trips - before.round_trips,
                swd_cycles: s.swd_cycles - before.swd_cycles,
            },
            found,
            left,
        });
        if args.once {
            break;
        }
    }
    if let Some(path) = &args.stats {
        std::fs::write(path, serde_json::to_string_pretty(&clients)?).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("isrscope-vprobe: {e:#}");
            ExitCode::FAILURE
        }
    }
}
