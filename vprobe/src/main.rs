//! `isrscope-vprobe`: start firmware in QEMU and serve a virtual debug probe for it.
//!
//! ```text
//! isrscope-vprobe --qemu netduinoplus2 --elf fw.elf [--bmp PORT] [--pyocd PORT]
//!                 [--bitbang PORT] [--start-halted] [--once] [--stats FILE]
//!                 [--latency-us N]
//! ```
//! Prints one line per front door when it is ready (`bmp 127.0.0.1:PORT`,
//! `pyocd 127.0.0.1:PORT`, `bitbang 127.0.0.1:PORT`; a port of 0 picks a free one). Every door drives the same
//! modelled core, one client at a time per door. With `--once` it exits (and QEMU with
//! it) when the first client leaves; QEMU also dies with it if it is killed.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, mpsc};

use anyhow::{Context, bail};
use clap::Parser;
use isrscope::target::qemu::{QemuConfig, QemuTarget};
use isrscope_vprobe::core::{Core, DebugState};
use isrscope_vprobe::dap::Dap;
use isrscope_vprobe::stats::Stats;
use isrscope_vprobe::{bmp, jtag, pyocd};
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
    /// Serve pyOCD's remote probe protocol on this TCP port of 127.0.0.1 (0 picks a free
    /// one). pyOCD: `--uid remote:127.0.0.1:PORT`.
    #[arg(long, value_name = "PORT")]
    pyocd: Option<u16>,
    /// Serve OpenOCD's remote_bitbang adapter (a JTAG-DP) on this TCP port of 127.0.0.1
    /// (0 picks a free one). OpenOCD: vprobe/openocd/stm32f4-vprobe.cfg.
    #[arg(long, value_name = "PORT")]
    bitbang: Option<u16>,
    /// Keep the core halted at the reset vector (as a debugger that halted it at reset
    /// and left would) until a client runs it.
    #[arg(long)]
    start_halted: bool,
    /// Exit when the first client disconnects.
    #[arg(long)]
    once: bool,
    /// At exit, write what each client cost (DP/AP accesses, memory bytes, round trips)
    /// and the debug state it found and left, as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    stats: Option<PathBuf>,
    /// Delay every front-door round trip by this many microseconds, as a USB probe's
    /// turnaround would (about 1000 for a full-speed probe: see docs/virtual-probe.md).
    #[arg(long, value_name = "US", default_value_t = 0)]
    latency_us: u64,
    /// The Black Magic Probe remote protocol version the BMP door speaks: 0 (raw SWD
    /// sequences only) or 3 (also the accelerated ADIv5 commands, as BMP firmware
    /// v1.9 and later).
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=3))]
    bmp_protocol: u8,
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

fn delta(now: &Stats, before: &Stats) -> Stats {
    Stats {
        dp_accesses: now.dp_accesses - before.dp_accesses,
        ap_accesses: now.ap_accesses - before.ap_accesses,
        memory_bytes: now.memory_bytes - before.memory_bytes,
        round_trips: now.round_trips - before.round_trips,
        swd_cycles: now.swd_cycles - before.swd_cycles,
    }
}

/// Serves one client on `door`, recording what it cost.
fn serve(door: &'static str, bmp_protocol: u8, dap: &Mutex<Dap>, stream: TcpStream) -> ClientStats {
    let (before, found) = {
        let mut d = dap.lock().unwrap();
        (d.stats.clone(), d.core.debug_state())
    };
    let result = match door {
        "bmp" => bmp::Door::with_protocol(bmp_protocol).serve(dap, stream),
        "bitbang" => jtag::Door::default().serve(dap, stream),
        _ => pyocd::Door::default().serve(dap, stream),
    };
    if let Err(e) = result {
        eprintln!("isrscope-vprobe: {door} client: {e}");
    }
    let mut d = dap.lock().unwrap();
    let left = d.core.debug_state();
    d.core.disconnect();
    ClientStats { door, stats: delta(&d.stats, &before), found, left }
}

fn run(args: Args) -> anyhow::Result<()> {
    let doors: Vec<(&'static str, u16)> =
        [("bmp", args.bmp), ("pyocd", args.pyocd), ("bitbang", args.bitbang)].into_iter().filter_map(|(n, p)| p.map(|p| (n, p))).collect();
    if doors.is_empty() {
        bail!("no front door: give --bmp, --pyocd and/or --bitbang PORT");
    }
    let qemu = QemuTarget::launch(&QemuConfig::new(&args.qemu, &args.elf))
        .with_context(|| format!("starting {} in QEMU -M {}", args.elf.display(), args.qemu))?;
    let stm32 = matches!(args.qemu.as_str(), "netduinoplus2" | "netduino2" | "olimex-stm32-h405" | "stm32vldiscovery");
    let mut core = Core::new(Box::new(qemu), stm32);
    core.set_firmware_bkpts(firmware_bkpts(&args.elf)?);
    if args.start_halted {
        core.hold_halted();
    } else {
        core.start().map_err(|e| anyhow::anyhow!("starting the core: {}", e.0))?;
    }
    let mut dap = Dap::new(core);
    dap.latency = std::time::Duration::from_micros(args.latency_us);
    let dap = Arc::new(Mutex::new(dap));
    let (done, finished) = mpsc::channel::<ClientStats>();
    let bmp_protocol = args.bmp_protocol;
    if !matches!(bmp_protocol, 0 | bmp::MAX_PROTOCOL) {
        bail!("--bmp-protocol {bmp_protocol}: this door speaks 0 or {}", bmp::MAX_PROTOCOL);
    }
    for (name, port) in doors {
        let listener = TcpListener::bind(("127.0.0.1", port)).with_context(|| format!("binding 127.0.0.1:{port}"))?;
        println!("{name} {}", listener.local_addr()?);
        let (dap, done) = (dap.clone(), done.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                if done.send(serve(name, bmp_protocol, &dap, stream)).is_err() {
                    break;
                }
            }
        });
    }
    std::io::stdout().flush()?;
    drop(done);
    let mut clients = Vec::new();
    while let Ok(client) = finished.recv() {
        clients.push(client);
        if args.once {
            break;
        }
        if let Some(path) = &args.stats {
            write_stats(path, &clients)?;
        }
    }
    if let Some(path) = &args.stats {
        write_stats(path, &clients)?;
    }
    // QEMU goes with the process (QemuTarget kills it on drop; PR_SET_PDEATHSIG if not).
    let mut dap = dap.lock().unwrap();
    let _ = dap.core.target().detach(true);
    Ok(())
}

/// Every halfword-aligned 0xBExx (BKPT) in the ELF's code sections (see
/// `Core::set_firmware_bkpts`).
fn firmware_bkpts(elf: &std::path::Path) -> anyhow::Result<std::collections::BTreeSet<u32>> {
    let image = isrscope::debuginfo::Image::open(elf).with_context(|| format!("reading {}", elf.display()))?;
    let mut sites = std::collections::BTreeSet::new();
    for s in image.sections().iter().filter(|s| s.alloc && s.executable && !s.nobits) {
        let Some(code) = image.read_static(s.address, s.size as usize) else { continue };
        let start = s.address + (s.address & 1);
        let skip = (start - s.address) as usize;
        for (i, h) in code[skip.min(code.len())..].chunks_exact(2).enumerate() {
            if h[1] == 0xBE {
                sites.insert(start + 2 * i as u32);
            }
        }
    }
    Ok(sites)
}

fn write_stats(path: &std::path::Path, clients: &[ClientStats]) -> anyhow::Result<()> {
    std::fs::write(path, serde_json::to_string_pretty(clients)?).with_context(|| format!("writing {}", path.display()))
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
