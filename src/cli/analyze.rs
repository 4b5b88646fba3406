//! `isrscope analyze`: the report of a core dump (isrscope's ELF core or a probe-rs
//! coredump), made by the same engine as `inspect`; or of every dump in a directory,
//! in parallel, one JSON object per line. See docs/coredump.md.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::collections::BTreeMap;
use std::sync::mpsc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result};
use clap::Args;

use crate::coredump::{self, CoreDump, ElfIdentity};
use crate::debuginfo::Image;
use crate::report::{self, Report};

use super::{EXIT_TOOL_ERROR, ElfArg, Format, use_color};

#[derive(Args, Debug)]
pub struct AnalyzeArgs {
    /// A core dump (from `isrscope capture`, another ARM ELF core, or a probe-rs
    /// coredump), or a directory of them.
    #[arg(value_name = "DUMP|DIR")]
    pub dump: PathBuf,
    #[command(flatten)]
    pub elf: ElfArg,
    /// Output format: a readable report, or the JSON contract of docs/inspect.md
    /// (for a directory: one object per line, each with a "dump" key).
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Dumps analysed at once for a directory (default: the number of CPUs).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Open the dump in the terminal UI (as `attach` shows a live core; run control
    /// keys are refused).
    #[arg(long, conflicts_with_all = ["format", "jobs"])]
    pub tui: bool,
}

/// One dump: the report's exit code (as `inspect`). A directory: 0 when every dump
/// was analysed, 1 when some could not be.
pub fn run(args: &AnalyzeArgs) -> Result<u8> {
    if args.tui {
        return run_tui(args);
    }
    if args.dump.is_dir() {
        return run_dir(args);
    }
    let elf = args.elf.elf.as_deref();
    let (report, mismatch) = analyze_file(&args.dump, elf)?;
    if let Some(why) = mismatch {
        eprintln!("isrscope: warning: {why}");
    }
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Text => print!("{}", report::text::render(&report, use_color())),
    }
    Ok(report.outcome.exit_code())
}

/// A dump's report and the ELF-mismatch warning, if any.
type Analysed = Result<(Report, Option<String>)>;

/// Opens the ELF and the dump and analyses it; also returns the mismatch warning.
/// `analyze --tui`: the dump behind the same UI `attach` opens on a live core.
fn run_tui(args: &AnalyzeArgs) -> Result<u8> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        anyhow::bail!("--tui needs a terminal; without one, use `isrscope analyze` for the text or JSON report");
    }
    if args.dump.is_dir() {
        anyhow::bail!("--tui opens one dump, not a directory");
    }
    let image = match args.elf.elf.as_deref() {
        Some(p) => Some(Image::open(p).with_context(|| format!("reading {}", p.display()))?),
        None => None,
    };
    let dump = CoreDump::open(&args.dump)?;
    let name = args.dump.display().to_string();
    let target = coredump::CoreDumpTarget::new(dump, &name);
    let options = crate::tui::Options { catch_faults: false, ..crate::tui::Options::default() };
    crate::tui::run(Box::new(target), image, options).context("the terminal UI")?;
    Ok(0)
}

fn analyze_file(path: &Path, elf: Option<&Path>) -> Analysed {
    let image = match elf {
        Some(p) => Some(Image::open(p).with_context(|| format!("reading {}", p.display()))?),
        None => None,
    };
    let identity = image.as_ref().map(|i| ElfIdentity::of(i, elf));
    analyze_with(path, image.as_ref(), identity.as_ref())
}

/// `identity` is the ELF's (it hashes the whole file: computed once, not per dump).
fn analyze_with(path: &Path, image: Option<&Image>, identity: Option<&ElfIdentity>) -> Analysed {
    let dump = CoreDump::open(path)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string());
    let report = coredump::analyze::analyze(dump, &name, image, identity)
        .with_context(|| format!("analysing {}", path.display()))?;
    let mismatch = report
        .findings
        .iter()
        .find(|f| f.code == "elf-mismatch")
        .map(|f| format!("{}: {}", path.display(), f.message));
    Ok((report, mismatch))
}

/// Every regular, non-hidden file in `dir`, sorted by name.
fn dump_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            !name.starts_with('.') && !name.ends_with(".partial")
        })
        .collect();
    files.sort();
    Ok(files)
}

fn run_dir(args: &AnalyzeArgs) -> Result<u8> {
    let files = dump_files(&args.dump)?;
    let elf = args.elf.elf.as_deref();
    if let Some(p) = elf {
        // Fail once, early, rather than once per dump.
        Image::open(p).with_context(|| format!("reading {}", p.display()))?;
    }
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
        .clamp(1, files.len().max(1));
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, Analysed)>();
    std::thread::scope(|s| {
        for _ in 0..jobs {
            let tx = tx.clone();
            let (next, files) = (&next, &files);
            s.spawn(move || {
                // Image is per thread: its lazy DWARF caches are not shared.
                let image = elf.and_then(|p| Image::open(p).ok());
                let identity = image.as_ref().map(|i| ElfIdentity::of(i, elf));
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(path) = files.get(i) else { break };
                    if tx.send((i, analyze_with(path, image.as_ref(), identity.as_ref()))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        // Printed in file order as soon as each is ready (a fleet streams).
        let mut pending = BTreeMap::new();
        let mut printed = 0;
        let mut failed = 0usize;
        let mut out = std::io::stdout().lock();
        for (i, result) in rx {
            pending.insert(i, result);
            while let Some(result) = pending.remove(&printed) {
                if print_one(&mut out, &files[printed], result, args.format)?.is_err() {
                    failed += 1;
                }
                printed += 1;
            }
        }
        failed += files.len() - printed;
        Ok(if failed > 0 { EXIT_TOOL_ERROR } else { 0 })
    })
}

/// Prints one dump's line (JSON) or section (text). The inner result says whether the
/// dump could be analysed; the outer, whether stdout could be written.
fn print_one(out: &mut impl Write, path: &Path, result: Analysed, format: Format) -> Result<Result<(), ()>> {
    let name = serde_json::to_string(&path.display().to_string())?;
    match result {
        Ok((report, mismatch)) => {
            if let Some(why) = mismatch {
                eprintln!("isrscope: warning: {why}");
            }
            match format {
                Format::Json => {
                    let json = serde_json::to_string(&report)?;
                    // The report with the dump's path first.
                    writeln!(out, "{{\"dump\":{name},{}", &json[1..])?;
                }
                Format::Text => {
                    writeln!(out, "== {} ==", path.display())?;
                    write!(out, "{}", report::text::render(&report, use_color()))?;
                    writeln!(out)?;
                }
            }
            Ok(Ok(()))
        }
        Err(e) => {
            let msg = format!("{e:#}");
            match format {
                Format::Json => writeln!(out, "{{\"dump\":{name},\"error\":{}}}", serde_json::to_string(&msg)?)?,
                Format::Text => writeln!(out, "== {} ==\nerror: {msg}\n", path.display())?,
            }
            Ok(Err(()))
        }
    }
}
