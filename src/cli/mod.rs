//! The command line: clap definitions, resolved into one function per command.
//! `main` only maps the result to an exit code.

pub mod analyze;
pub mod attach;
pub mod capture;
pub mod connect;
pub mod inspect;
pub mod probe_cmds;
pub mod run;
pub mod vectors;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The clap group of `--gdb`, `--qemu` and `--chip` (made optional when the
/// environment names a chip; see `probe_cmds::command`).
pub const TARGET_GROUP: &str = "target";

/// Exit code for a tool error (bad ELF, unreachable target, protocol failure).
pub const EXIT_TOOL_ERROR: u8 = 1;
/// Exit code for a usage error (clap's own).
pub const EXIT_USAGE: u8 = 2;

#[derive(Parser, Debug)]
#[command(name = "isrscope", version, about = "Cortex-M fault and interrupt inspector: exception frames, fault registers, backtraces through every exception level")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// One-shot fault report: connect, wait for a fault (or report the current state), explain it.
    Inspect(inspect::InspectArgs),
    /// The live terminal UI: watch the core, halt it inside interrupt handlers, read what happened.
    Attach(attach::AttachArgs),
    /// Save a halted (or faulting) target to a core file: registers, system blocks, RAM.
    Capture(capture::CaptureArgs),
    /// The fault report of a core dump (isrscope's or probe-rs'), or of a directory of them.
    Analyze(analyze::AnalyzeArgs),
    /// The cargo runner: load and run the firmware, show its semihosting output, and end with its exit status or, on a fault, the report and the fault's exit code.
    Run(run::RunArgs),
    /// Vector-table correctness: the ELF's table, and with a target, VTOR, the table it points at, flash and the NVIC.
    Vectors(vectors::VectorsArgs),
    /// The debug probes connected to this machine (for --probe).
    List(probe_cmds::ListArgs),
    /// The chip names probe-rs knows (for --chip), filtered.
    Chips(probe_cmds::ChipsArgs),
}

/// How to reach the target: exactly one of these. The one-of group is spelled out
/// (clap's derive leaves a group empty when the struct flattens another).
#[derive(Args, Debug, Clone)]
#[group(skip)]
#[command(group(clap::ArgGroup::new(TARGET_GROUP).args(["gdb", "qemu", "chip"]).required(true).multiple(false)))]
pub struct TargetArgs {
    /// A GDB server: HOST:PORT (OpenOCD :3333, J-Link :2331, pyOCD :3333), unix:PATH, or
    /// a serial port (a Black Magic Probe: /dev/ttyACM0 or serial:PATH).
    #[arg(long, value_name = "HOST:PORT|unix:PATH|/dev/tty...")]
    pub gdb: Option<String>,
    /// Start the ELF in qemu-system-arm on this machine (e.g. netduinoplus2) and attach.
    #[arg(long, value_name = "MACHINE", requires = "elf")]
    pub qemu: Option<String>,
    /// A chip behind a debug probe, by its probe-rs name (e.g. STM32F407VG; `isrscope
    /// chips` lists them). Default: $ISRSCOPE_CHIP, else $PROBE_RS_CHIP.
    #[arg(long, value_name = "NAME")]
    pub chip: Option<String>,
    #[command(flatten)]
    pub probe: probe_cmds::ProbeArgs,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
}

/// Colour on a terminal unless NO_COLOR is set (https://no-color.org).
pub fn use_color() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Options that every command with an ELF shares.
#[derive(Args, Debug, Clone)]
pub struct ElfArg {
    /// The firmware ELF (with DWARF for file:line and unwinding).
    #[arg(long, value_name = "FW.elf")]
    pub elf: Option<PathBuf>,
}
