//! `isrscope attach`: the live terminal UI over a target (see `tui` and docs/tui.md).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::coredump::ElfIdentity;
use crate::coredump::capture::{self, CaptureOptions};
use crate::debuginfo::Image;
use crate::tui::{self, Capture, Options, Start, Theme};

use super::connect::connect;
use super::{ElfArg, TargetArgs};

#[derive(Args, Debug)]
pub struct AttachArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub elf: ElfArg,
    /// Keep the core halted when leaving (default: resume it, as it was found running).
    #[arg(long)]
    pub halt_on_exit: bool,
    /// Do not let the core run at the start (e.g. to set breakpoints before the
    /// firmware starts under --qemu).
    #[arg(long)]
    pub start_halted: bool,
    /// Do not catch faults at the start (toggle with `f` in the UI).
    #[arg(long)]
    pub no_catch: bool,
    /// Where the `w` key writes core files.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub core_dir: PathBuf,
}

pub fn run(args: &AttachArgs) -> Result<u8> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        bail!("attach needs a terminal; for a report without one use `isrscope inspect`");
    }
    let image = match &args.elf.elf {
        Some(path) => Some(Image::open(path).with_context(|| format!("reading {}", path.display()))?),
        None => None,
    };
    let conn = connect(&args.target, args.elf.elf.as_deref(), Duration::from_secs(5))?;
    let options = Options {
        owned: conn.owned,
        halt_on_exit: args.halt_on_exit,
        start: if args.start_halted { Start::Halted } else { Start::Run },
        catch_faults: !args.no_catch,
        capture: Some(core_writer(args.core_dir.clone(), args.elf.elf.clone())),
        theme: Theme::detect(),
    };
    tui::run(conn.target, image, options).context("the terminal UI")?;
    Ok(0)
}

/// The `w` key: an isrscope core file of the halted core, named by the time.
fn core_writer(dir: PathBuf, elf: Option<PathBuf>) -> Capture {
    Box::new(move |target, image| {
        let opts = CaptureOptions {
            regions: image.map(capture::ram_regions).unwrap_or_default(),
            elf: image.map(|i| ElfIdentity::of(i, elf.as_deref())),
            ..CaptureOptions::default()
        };
        if opts.regions.is_empty() {
            return Err("no RAM regions known: attach with --elf to capture".into());
        }
        let (dump, _) = capture::capture(target, image, &opts, &mut |_, _| {}).map_err(|e| e.to_string())?;
        let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let path = dir.join(format!("isrscope-{secs}.core"));
        dump.write(&path).map_err(|e| format!("writing {}: {e}", path.display()))?;
        Ok(format!("core file written: {} ({} bytes of memory)", path.display(), dump.memory.len()))
    })
}
