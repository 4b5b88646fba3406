//! Benchmark (ignored by default; `scripts/bench.sh peers`): isrscope's unwinder against
//! probe-rs' own (probe-rs-debug 0.32, built apart in bench/probe-rs-unwind) on the same
//! dumps. Every lab scenario that stops (fault, svc, break) is captured once under QEMU
//! by `isrscope capture`, and its state written as a probe-rs coredump by probe-rs' own
//! writer; both tools unwind that one file with the scenario's ELF:
//!
//! - the frames: each tool's function names against the manifest's `backtrace` (a
//!   subsequence, innermost first, `<exception>` at each exception entry), and the two
//!   tools' frame lists (function, file, line, inline or not) against each other;
//! - the time: one process each, ELF to frames (median of 5), and the unwind alone
//!   (isrscope: `analyze DIR` of 21 copies against 1, per extra dump; probe-rs-debug:
//!   `DebugInfo::unwind` in the process, median of 21);
//! - the generated 20 MB-DWARF firmware, stopped 52 frames deep: the same, and the peak
//!   resident memory of each process.
//!
//! Results in docs/performance.md (section 4).

mod common;
mod support_bench;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::manifest::{self, Scenario, is_subsequence};
use common::dwarf::LiveLines;
use common::probe_rs_dump::store_probe_rs;
use isrscope::coredump::CoreDump;
use probe_rs::CoreType;
use serde_json::Value;
use support_bench::{Measured, big_elf, isrscope_bin, measure, median};

/// probe-rs-debug's side, built by scripts/bench.sh into the shared target directory.
fn peer_bin() -> PathBuf {
    let p = std::env::var_os("ISRSCOPE_PEER_UNWIND_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::repo_root().join("target/release/probe-rs-unwind-bench"));
    assert!(p.exists(), "{} is not built: run scripts/bench.sh peers", p.display());
    p
}

fn core_type(core: &str) -> CoreType {
    match core {
        "cortex-m0" => CoreType::Armv6m,
        "cortex-m3" => CoreType::Armv7m,
        "cortex-m33" => CoreType::Armv8m,
        _ => CoreType::Armv7em,
    }
}

/// One frame as both tools can say it: `<exception>` at an exception entry, else the
/// function, the file's name, the line and whether it is an inline frame.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Frame {
    function: String,
    at: String,
    inlined: bool,
}

/// A function's name without its path: probe-rs-debug names functions by DW_AT_name
/// (`reg_read`), isrscope by the demangled linkage name (`fwrel::reg_read`); the
/// comparison is about which function, not how it is spelled.
fn short(name: &str) -> String {
    let (mut depth, mut cut) = (0i32, 0);
    let b = name.as_bytes();
    for i in 0..b.len() {
        match b[i] {
            b'<' => depth += 1,
            b'>' => depth -= 1,
            // `read_volatile::<u32>` keeps its turbofish.
            b':' if depth == 0 && b.get(i + 1) == Some(&b':') && b.get(i + 2) != Some(&b'<') => cut = i + 2,
            _ => {}
        }
    }
    name[cut..].to_string()
}

impl Frame {
    fn exception() -> Frame {
        Frame { function: "<exception>".into(), at: String::new(), inlined: false }
    }

    fn show(&self) -> String {
        let inl = if self.inlined { " (inline)" } else { "" };
        if self.at.is_empty() { format!("{}{inl}", self.function) } else { format!("{} {}{inl}", self.function, self.at) }
    }
}

fn at(file: Option<&str>, line: Option<u64>) -> String {
    match (file, line) {
        (Some(f), Some(l)) => format!("{}:{l}", Path::new(f).file_name().map_or(f.into(), |n| n.to_string_lossy())),
        (Some(f), None) => Path::new(f).file_name().map_or(f.into(), |n| n.to_string_lossy()).into_owned(),
        _ => String::new(),
    }
}

/// isrscope's JSON backtrace as frames.
fn ours(report: &Value) -> Vec<Frame> {
    report["backtrace"]
        .as_array()
        .map(|b| {
            b.iter()
                .map(|e| {
                    if e["kind"] == "exception" {
                        return Frame::exception();
                    }
                    Frame {
                        function: short(e["function"].as_str().unwrap_or("??")),
                        at: at(e["file"].as_str(), e["line"].as_u64()),
                        inlined: e["inlined"].as_bool().unwrap_or(false),
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What the oracle expects of one frame: an exception entry, or a frame whose file:line
/// is known (`Some`, "" for none) or not judged (`None`), inline or not.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    Exception,
    Frame { at: Option<String>, inlined: bool },
}

impl Expect {
    fn accepts(&self, f: &Frame) -> bool {
        match self {
            Expect::Exception => f.function == "<exception>",
            Expect::Frame { at, inlined } => f.function != "<exception>" && *inlined == f.inlined && at.as_ref().is_none_or(|a| *a == f.at),
        }
    }

    fn show(&self) -> String {
        match self {
            Expect::Exception => "<exception>".into(),
            Expect::Frame { at, inlined } => format!("{}{}", at.as_deref().unwrap_or("(any line)"), if *inlined { " (inline)" } else { "" }),
        }
    }
}

/// The line oracle, independent of both tools, per address of isrscope's unwind (the
/// PC, or the return address minus 1 in a caller; the manifest judges the unwind):
/// - the innermost frame's file:line: the lab's live line tables (tests/common/dwarf.rs,
///   gimli, discarded code's sequences left out; of several rows at one address the last
///   statement row, as gdb does);
/// - the inline chain (how many frames, and the call sites of the outer ones): binutils'
///   `arm-none-eabi-addr2line -i`, where it agrees with the live table at the innermost
///   frame. Where it does not (discarded code's DWARF at a firmware's address, as when
///   flash is at 0x0), the chain is isrscope's and the outer lines are not judged.
fn oracle(report: &Value, elf: &Path, lines: &LiveLines) -> Vec<Expect> {
    let frames: Vec<&Value> = report["backtrace"].as_array().into_iter().flatten().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < frames.len() {
        let e = frames[i];
        if e["kind"] == "exception" {
            out.push(Expect::Exception);
            i += 1;
            continue;
        }
        let group = frames[i..].iter().take_while(|f| f["kind"] == "frame" && f["pc"] == e["pc"]).count();
        i += group;
        let Some(lookup) = e["lookup_pc"].as_u64().map(|a| a & !1) else {
            out.extend((0..group).map(|k| Expect::Frame { at: None, inlined: k + 1 < group }));
            continue;
        };
        let innermost = match lines.row(lookup) {
            None => Some(String::new()),
            Some(Some(row)) if row.2 != 0 => Some(at(Some(&row.1.to_string_lossy()), Some(row.2))),
            Some(_) => None,
        };
        let o = Command::new("arm-none-eabi-addr2line").args(["-i", "-e"]).arg(elf).arg(format!("{lookup:#x}")).output().unwrap();
        let chain: Vec<String> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| {
                let (file, line) = l.split_once(':').unwrap_or((l, "?"));
                let line = line.split_whitespace().next().and_then(|n| n.parse().ok());
                if file == "??" { String::new() } else { at(Some(file), line) }
            })
            .collect();
        if innermost.is_some() && chain.first() == innermost.as_ref() {
            let n = chain.len();
            out.extend(chain.into_iter().enumerate().map(|(k, a)| Expect::Frame { at: Some(a), inlined: k + 1 < n }));
        } else {
            out.push(Expect::Frame { at: innermost, inlined: group > 1 });
            out.extend((1..group).map(|k| Expect::Frame { at: None, inlined: k + 1 < group }));
        }
    }
    out
}

fn meets(frames: &[Frame], expected: &[Expect]) -> bool {
    frames.len() == expected.len() && frames.iter().zip(expected).all(|(f, e)| e.accepts(f))
}

/// The first frame the oracle does not accept.
fn first_miss(frames: &[Frame], expected: &[Expect]) -> Option<String> {
    let n = frames.len().max(expected.len());
    (0..n).find(|&i| !matches!((frames.get(i), expected.get(i)), (Some(f), Some(e)) if e.accepts(f))).map(|i| {
        format!(
            "#{i}: expected {}, got {}",
            expected.get(i).map_or("(no frame)".into(), Expect::show),
            frames.get(i).map_or("(no frame)".into(), Frame::show)
        )
    })
}

/// probe-rs-debug's frames. Its exception frames are named by the exception's
/// description and carry no source location; their PC is the handler's entry state.
fn theirs(out: &Value) -> Vec<Frame> {
    out["frames"]
        .as_array()
        .map(|b| {
            b.iter()
                .filter_map(|f| {
                    // Its error frames carry the message as the name, over lines.
                    let name = f["function"].as_str().unwrap_or("??").split_whitespace().collect::<Vec<_>>().join(" ");
                    let name = name.as_str();
                    if name == "Reset" && f["pc"] == "0x00000000" {
                        // Not a frame: probe-rs ends an unwind that reaches the reset
                        // state (LR 0xFFFFFFFF) with this marker; left out.
                        return None;
                    }
                    if is_exception_description(name) && f["file"].is_null() {
                        return Some(Frame::exception());
                    }
                    Some(Frame {
                        function: short(name),
                        at: at(f["file"].as_str(), f["line"].as_u64()),
                        inlined: f["inlined"].as_bool().unwrap_or(false),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// probe-rs-debug names an exception frame by the exception (`HardFault <Cause: ...>`,
/// `SVC`, `External interrupt #28`, ...), with no source location.
fn is_exception_description(name: &str) -> bool {
    const EXCEPTIONS: [&str; 11] = [
        "<No active exception>", "NMI", "HardFault", "MemManage", "BusFault", "UsageFault", "SecureFault", "SVC", "DebugMonitor", "PendSV", "SysTick",
    ];
    EXCEPTIONS.iter().any(|e| name.starts_with(e)) || name.starts_with("External interrupt") || name.starts_with("Interrupt")
}

fn names(frames: &[Frame]) -> Vec<&str> {
    frames.iter().map(|f| f.function.as_str()).collect()
}

/// The first frame where the two lists differ, shown side by side.
fn first_difference(a: &[Frame], b: &[Frame]) -> Option<String> {
    let n = a.len().max(b.len());
    (0..n).find(|&i| a.get(i) != b.get(i)).map(|i| {
        let show = |f: Option<&Frame>| f.map_or("(none)".to_string(), Frame::show);
        format!("#{i}: isrscope {} | probe-rs {}", show(a.get(i)), show(b.get(i)))
    })
}

struct Case {
    name: String,
    elf: PathBuf,
    dump: PathBuf,
    wanted: Vec<String>,
}

/// Captures `s` and writes its probe-rs coredump into `dir`.
fn case(s: &Scenario, dir: &Path) -> Result<Case, String> {
    let core = dir.join(format!("{}.core", s.name));
    let mut cmd = Command::new(isrscope_bin());
    cmd.args(["capture", "--qemu", &s.machine, "--timeout", "20", "--elf"]).arg(s.elf_path()).arg("-o").arg(&core);
    if s.kind != "fault" {
        cmd.args(["--break-at", &s.stop_at, "--no-catch"]);
    }
    let m = measure(&mut cmd);
    if !core.exists() {
        return Err(format!("{}: capture failed: {}", s.name, m.stderr));
    }
    let dump = CoreDump::open(&core).map_err(|e| e.to_string())?;
    let pr = dir.join(format!("{}.probe-rs", s.name));
    store_probe_rs(&dump, &pr, core_type(&s.core), |_| true);
    // Where isrscope stops an exception earlier than gdb's stop (`inspect_exception`:
    // at the first handler's entry, before the fault its vector causes), the manifest's
    // backtrace holds after its first exception entry.
    let wanted = match s.inspect_exception {
        Some(_) => s.backtrace.iter().skip_while(|f| *f != "<exception>").skip(1).cloned().collect(),
        None => s.backtrace.clone(),
    };
    Ok(Case { name: s.name.clone(), elf: s.elf_path(), dump: pr, wanted })
}

fn analyze(elf: &Path, dump: &Path) -> Measured {
    measure(Command::new(isrscope_bin()).args(["analyze", "--format", "json", "--elf"]).arg(elf).arg(dump))
}

fn peer(elf: &Path, dump: &Path, repeat: usize) -> Measured {
    measure(Command::new(peer_bin()).arg(elf).arg(dump).arg(repeat.to_string()))
}

struct Timing {
    ours_process: Duration,
    ours_unwind: Duration,
    ours_rss: u64,
    theirs_process: Duration,
    theirs_load: Duration,
    theirs_unwind: Duration,
    theirs_rss: u64,
}

/// Both tools' times on one case (see the module's comment for the method).
fn timing(c: &Case, dir: &Path) -> Timing {
    let (mut ours_p, mut theirs_p) = (Vec::new(), Vec::new());
    let (mut ours_rss, mut theirs_rss, mut theirs_load) = (0, 0, Vec::new());
    for _ in 0..5 {
        let m = analyze(&c.elf, &c.dump);
        ours_p.push(m.wall);
        ours_rss = ours_rss.max(m.max_rss_kib);
        let m = peer(&c.elf, &c.dump, 1);
        theirs_p.push(m.wall);
        theirs_rss = theirs_rss.max(m.max_rss_kib);
        let v: Value = serde_json::from_str(&m.stdout).unwrap_or_default();
        theirs_load.push(Duration::from_micros(v["load_us"].as_u64().unwrap_or(0)));
    }
    // isrscope's unwind alone: a directory of 21 copies against one, per extra dump.
    let fleet = |n: usize| {
        let d = dir.join(format!("fleet-{}-{n}", c.name));
        std::fs::create_dir_all(&d).unwrap();
        for i in 0..n {
            std::fs::copy(&c.dump, d.join(format!("{i:03}.probe-rs"))).unwrap();
        }
        let walls: Vec<Duration> = (0..3)
            .map(|_| {
                let m = measure(Command::new(isrscope_bin()).arg("analyze").arg(&d).arg("--elf").arg(&c.elf).args(["--format", "json", "--jobs", "1"]));
                m.wall
            })
            .collect();
        median(walls)
    };
    let (one, many) = (fleet(1), fleet(21));
    let m = peer(&c.elf, &c.dump, 21);
    let v: Value = serde_json::from_str(&m.stdout).unwrap_or_default();
    Timing {
        ours_process: median(ours_p),
        ours_unwind: many.saturating_sub(one) / 20,
        ours_rss,
        theirs_process: median(theirs_p),
        theirs_load: median(theirs_load),
        theirs_unwind: Duration::from_micros(v["unwind_us"].as_u64().unwrap_or(0)),
        theirs_rss,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

#[test]
#[ignore = "benchmark: scripts/bench.sh peers"]
fn benchmark_unwinder_against_probe_rs_debug() {
    // ISRSCOPE_BENCH_ONLY=NAME runs one scenario (and not the big firmware);
    // ISRSCOPE_BENCH_KEEP=1 keeps the dumps (the directory is printed).
    let dir = tempfile::tempdir().unwrap();
    let only = std::env::var("ISRSCOPE_BENCH_ONLY").ok();
    let scenarios: Vec<Scenario> = manifest::load()
        .into_iter()
        .filter(|s| matches!(s.kind.as_str(), "fault" | "svc" | "break"))
        .filter(|s| only.as_ref().is_none_or(|o| *o == s.name))
        .collect();
    println!("isrscope {} against {}", isrscope_bin().display(), peer_bin().display());
    println!("\n| scenario | isrscope: functions / lines | probe-rs-debug: functions / lines | where probe-rs-debug goes wrong (against isrscope for functions, the oracle for lines) | isrscope ms (process / unwind) | probe-rs-debug ms (process / unwind) |");
    println!("|---|---|---|---|---|---|");
    let (mut total, mut ours_names, mut ours_lines, mut theirs_names, mut theirs_lines) = (0, 0, 0, 0, 0);
    for s in &scenarios {
        let c = match case(s, dir.path()) {
            Ok(c) => c,
            Err(e) => {
                println!("| {} | capture failed: {} | | | | |", s.name, e.lines().next().unwrap_or(""));
                continue;
            }
        };
        total += 1;
        let a = analyze(&c.elf, &c.dump);
        let report: Value = serde_json::from_str(&a.stdout).unwrap_or_default();
        let b = peer(&c.elf, &c.dump, 1);
        let out: Value = serde_json::from_str(&b.stdout).unwrap_or_default();
        let lines = LiveLines::read(&std::fs::read(&c.elf).unwrap());
        let (fa, fb, fo) = (ours(&report), theirs(&out), oracle(&report, &c.elf, &lines));
        let wanted: Vec<String> = c.wanted.iter().map(|w| short(w)).collect();
        let wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();
        let (na, nb) = (is_subsequence(&wanted, &names(&fa)), is_subsequence(&wanted, &names(&fb)));
        // Lines are judged only where the functions are right: the oracle follows
        // isrscope's unwind, so it is the oracle only for a right unwind.
        let (la, lb) = (na && meets(&fa, &fo), na && nb && meets(&fb, &fo));
        ours_names += usize::from(na);
        ours_lines += usize::from(la);
        theirs_names += usize::from(nb);
        theirs_lines += usize::from(lb);
        let t = timing(&c, dir.path());
        let verdict = |names: bool, lines: bool, n: usize| {
            let w = |ok: bool| if ok { "right" } else { "**wrong**" };
            format!("{} / {} ({n} frames)", w(names), if names { w(lines) } else { "-" })
        };
        let peer_error = if b.code != Some(0) { format!(" (exit {:?}: {})", b.code, b.stderr.trim()) } else { String::new() };
        let diff = if lb { String::new() } else if !nb { first_difference(&fa, &fb).unwrap_or_default() } else { first_miss(&fb, &fo).unwrap_or_default() };
        println!(
            "| {} | {} | {}{peer_error} | {} | {} / {} | {} / {} |",
            c.name,
            verdict(na, la, fa.len()),
            verdict(nb, lb, fb.len()),
            diff.replace('|', "\\|"),
            ms(t.ours_process),
            ms(t.ours_unwind),
            ms(t.theirs_process),
            ms(t.theirs_unwind),
        );
        if !la || std::env::var_os("ISRSCOPE_BENCH_VERBOSE").is_some() {
            let show = |f: &[Frame]| f.iter().map(Frame::show).collect::<Vec<_>>();
            let expect: Vec<String> = fo.iter().map(Expect::show).collect();
            eprintln!("{}:\n  isrscope: {:?}\n  oracle:   {expect:?}\n  probe-rs: {:?}", c.name, show(&fa), show(&fb));
        }
    }
    println!(
        "\nOf {total} scenarios, functions right by the manifest: isrscope {ours_names}, probe-rs-debug {theirs_names}; \
         every frame's file:line and inline chain as the oracle says as well: isrscope {ours_lines}, probe-rs-debug {theirs_lines}"
    );
    if std::env::var_os("ISRSCOPE_BENCH_KEEP").is_some() {
        eprintln!("dumps kept in {}", dir.keep().display());
        return;
    }
    if only.is_some() {
        return;
    }

    // The big generated firmware, stopped at `deepest`, 52 frames down.
    let elf = big_elf();
    let core = dir.path().join("big.core");
    let m = measure(
        Command::new(isrscope_bin())
            .args(["capture", "--qemu", "mps2-an385", "--break-at", "deepest", "--no-catch", "--timeout", "60", "--elf"])
            .arg(&elf)
            .arg("-o")
            .arg(&core),
    );
    assert!(core.exists(), "capture of the big firmware: {}", m.stderr);
    let dump = CoreDump::open(&core).unwrap();
    let pr = dir.path().join("big.probe-rs");
    store_probe_rs(&dump, &pr, CoreType::Armv7m, |_| true);
    let c = Case { name: "big".into(), elf: elf.clone(), dump: pr, wanted: vec!["deepest".into()] };
    let a = analyze(&c.elf, &c.dump);
    let b = peer(&c.elf, &c.dump, 1);
    let (fa, fb) = (ours(&serde_json::from_str(&a.stdout).unwrap_or_default()), theirs(&serde_json::from_str(&b.stdout).unwrap_or_default()));
    let t = timing(&c, dir.path());
    println!("\n| 20 MB-DWARF firmware | isrscope | probe-rs-debug | ratio |");
    println!("|---|---|---|---|");
    println!("| frames | {} | {} | |", fa.len(), fb.len());
    println!("| frame lists identical | {} | | |", first_difference(&fa, &fb).unwrap_or_else(|| "yes".into()).replace('|', "\\|"));
    println!("| process: ELF to frames, ms | {} | {} | {:.2} |", ms(t.ours_process), ms(t.theirs_process), t.ours_process.as_secs_f64() / t.theirs_process.as_secs_f64());
    println!("| load alone, ms | | {} | |", ms(t.theirs_load));
    println!("| unwind alone, ms | {} | {} | {:.2} |", ms(t.ours_unwind), ms(t.theirs_unwind), t.ours_unwind.as_secs_f64() / t.theirs_unwind.as_secs_f64().max(1e-9));
    println!("| peak RSS, MiB | {:.1} | {:.1} | {:.2} |", t.ours_rss as f64 / 1024.0, t.theirs_rss as f64 / 1024.0, t.ours_rss as f64 / t.theirs_rss.max(1) as f64);
    if std::env::var_os("ISRSCOPE_BENCH_VERBOSE").is_some() {
        eprintln!("big:\n  isrscope: {:?}\n  probe-rs: {:?}", fa.iter().map(Frame::show).collect::<Vec<_>>(), fb.iter().map(Frame::show).collect::<Vec<_>>());
    }
}
