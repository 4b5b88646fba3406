//! `isrscope capture`: stop the target where `inspect` would report (a caught fault, a
//! `--break-at` point, or now with `--no-wait`), save it to an ELF core file, and
//! leave the target as it was found. See docs/coredump.md.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::coredump::capture::{self, CaptureOptions, RegionRequest};
use crate::coredump::{ElfIdentity, RegionKind};
use crate::debuginfo::Image;

use super::connect::connect;
use super::inspect::{WaitArgs, resolve_breaks, stop_for_report};
use super::{ElfArg, Format, TargetArgs, use_color};
use crate::report;

#[derive(Args, Debug)]
pub struct CaptureArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub elf: ElfArg,
    /// The core file to write (an ELF core: gdb-multiarch opens it too).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Capture this memory instead of the ELF's RAM regions (repeatable), e.g.
    /// 0x20000000:0x20000 or 0x20000000:128K.
    #[arg(long, value_name = "START:LEN", value_parser = parse_region)]
    pub region: Vec<(u32, u32)>,
    #[command(flatten)]
    pub wait: WaitArgs,
    /// Also print the live report of the captured stop on stdout, as `inspect` would
    /// (the one `analyze` reproduces from the file).
    #[arg(long, value_enum, value_name = "text|json")]
    pub format: Option<Format>,
}

/// Show a progress bar from this much RAM on (and only on a terminal).
const PROGRESS_FROM: u64 = 256 * 1024;

/// Runs the command: 0 when the dump is written (whatever the target was doing).
pub fn run(args: &CaptureArgs) -> Result<u8> {
    let elf_path = args.elf.elf.as_deref();
    let image = match elf_path {
        Some(path) => Some(Image::open(path).with_context(|| format!("reading {}", path.display()))?),
        None => None,
    };
    let regions: Vec<RegionRequest> = if args.region.is_empty() {
        image.as_ref().map(capture::ram_regions).unwrap_or_default()
    } else {
        args.region
            .iter()
            .map(|&(start, len)| RegionRequest { name: "user".into(), kind: RegionKind::User, start, len })
            .collect()
    };
    if regions.is_empty() {
        bail!("nothing to capture: give --elf (its RAM regions are captured) or --region START:LEN");
    }
    let breaks = resolve_breaks(&args.wait.break_at, image.as_ref())?;
    let identity = image.as_ref().map(|i| ElfIdentity::of(i, elf_path));

    let mut conn = connect(&args.target, elf_path, Duration::from_secs(5))?;
    let result = (|| {
        let target = conn.target.as_mut();
        let wait = args.wait.options();
        let collect = stop_for_report(target, image.as_ref(), &breaks, &wait)?;
        let opts = CaptureOptions { regions, collect, elf: identity };
        let total: u64 = opts.regions.iter().map(|r| u64::from(r.len)).sum();
        let bar = (total >= PROGRESS_FROM && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(total);
            bar.set_style(
                indicatif::ProgressStyle::with_template("capturing RAM {bar:30} {bytes}/{total_bytes} {bytes_per_sec}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            // Drawn at once, before the first block arrives.
            bar.tick();
            bar
        });
        let got = capture::capture(target, image.as_ref(), &opts, &mut |done, _| {
            if let Some(b) = &bar {
                b.set_position(done);
            }
        });
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        got.context("capturing the core")
    })();
    // Leave the target as found, whatever happened (see inspect).
    let detach = if conn.owned { Ok(()) } else { conn.target.detach(!args.wait.halt) };
    let (dump, report) = result?;
    // The dump is written even when detaching fails: it is what was asked for; the
    // error still sets exit 1.
    dump.write(&args.output).with_context(|| format!("writing {}", args.output.display()))?;

    let missing: u64 = dump.meta.regions.iter().filter(|r| r.kind != RegionKind::System).flat_map(|r| &r.missing).map(|s| u64::from(s.len)).sum();
    eprintln!(
        "isrscope: wrote {} ({} bytes of memory in {} segments): {}",
        args.output.display(),
        dump.memory.len(),
        dump.memory.segments().len(),
        report.summary
    );
    if missing > 0 {
        eprintln!("isrscope: warning: {missing} bytes of the requested memory could not be read (listed in the dump's metadata)");
    }
    match args.format {
        Some(Format::Json) => println!("{}", serde_json::to_string_pretty(&report)?),
        Some(Format::Text) => print!("{}", report::text::render(&report, use_color())),
        None => {}
    }
    detach.context("detaching from the target")?;
    Ok(0)
}

/// `START:LEN` with hex or decimal numbers and an optional K/M suffix on LEN.
fn parse_region(s: &str) -> Result<(u32, u32), String> {
    let (start, len) = s.split_once(':').ok_or_else(|| format!("{s}: expected START:LEN, e.g. 0x20000000:128K"))?;
    let start = parse_number(start).ok_or_else(|| format!("{start}: not an address"))?;
    let len = parse_number(len).ok_or_else(|| format!("{len}: not a length (e.g. 0x20000, 131072, 128K)"))?;
    if len == 0 || u64::from(start) + u64::from(len) > 1 << 32 {
        return Err(format!("{s}: empty or past the end of the 32-bit address space"));
    }
    Ok((start, len))
}

fn parse_number(s: &str) -> Option<u32> {
    let s = s.trim();
    let (digits, scale) = match s.as_bytes().last()? {
        b'K' | b'k' => (&s[..s.len() - 1], 1024u64),
        b'M' | b'm' => (&s[..s.len() - 1], 1024 * 1024),
        _ => (s, 1),
    };
    let v = match digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok()?,
        None => digits.parse::<u64>().ok()?,
    };
    u32::try_from(v.checked_mul(scale)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_parse_in_the_usual_spellings() {
        assert_eq!(parse_region("0x20000000:0x20000"), Ok((0x2000_0000, 0x20000)));
        assert_eq!(parse_region("0x20000000:128K"), Ok((0x2000_0000, 0x20000)));
        assert_eq!(parse_region("536870912:1M"), Ok((0x2000_0000, 0x10_0000)));
        assert!(parse_region("0x20000000").is_err());
        assert!(parse_region("0xffff0000:1M").is_err());
        assert!(parse_region("0x20000000:0").is_err());
    }
}
