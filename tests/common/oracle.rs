//! gdb-multiarch as the independent oracle: it reads the same QEMU state as isrscope,
//! in batch mode, and these helpers parse what it prints.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use super::lab::Qemu;

/// What gdb saw at a stop.
#[derive(Debug, Default)]
pub struct GdbView {
    /// Every register `info all-registers` printed (floats by their raw bits).
    pub registers: BTreeMap<String, u32>,
    /// Memory words asked for with [`Probe::Word`], by label.
    pub words: BTreeMap<String, u32>,
    /// `bt`'s functions, innermost first; "<exception>" for `<signal handler called>`.
    pub backtrace: Vec<String>,
    /// `bt`'s function frames (inline frames included, exception markers not), with
    /// the source position gdb printed.
    pub frames: Vec<GdbFrame>,
    /// Values of expressions asked for with [`Probe::Expr`], by label.
    pub exprs: BTreeMap<String, u32>,
    /// gdb's whole output, for failure messages.
    pub raw: String,
}

impl GdbView {
    pub fn reg(&self, name: &str) -> u32 {
        *self.registers.get(name).unwrap_or_else(|| panic!("gdb showed no {name}:\n{}", self.raw))
    }
    pub fn word(&self, label: &str) -> u32 {
        *self.words.get(label).unwrap_or_else(|| panic!("gdb showed no word {label}:\n{}", self.raw))
    }
    pub fn functions(&self) -> Vec<&str> {
        self.backtrace.iter().map(String::as_str).filter(|f| *f != "<exception>").collect()
    }
}

/// One frame of gdb's `bt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GdbFrame {
    pub function: String,
    /// As gdb printed it (as in the DWARF: relative or absolute).
    pub file: Option<String>,
    pub line: Option<u32>,
}

/// Extra things to read at the stop.
pub enum Probe<'a> {
    /// A 32-bit word at an address expression, e.g. `Word("cfsr", "0xE000ED28")`.
    Word(&'a str, &'a str),
    /// An unsigned value of a C expression, e.g. `Expr("guard", "(unsigned)&guard_block")`.
    Expr(&'a str, &'a str),
}

/// Connects gdb to `qemu`, breaks at the exact entry of `stop_at` (`break *SYM`, not
/// after the prologue), continues once, and reads the registers, `probes` and `bt`.
/// With `stop_at` None it reads the state where the core is now.
pub fn stop_at(qemu: &Qemu, elf: &Path, stop_at: Option<&str>, probes: &[Probe]) -> GdbView {
    // C expressions below; gdb would parse them as Rust in a Rust ELF.
    let mut cmds = vec!["set language c".to_string(), format!("target remote {}", qemu.socket().display())];
    if let Some(sym) = stop_at {
        cmds.push(format!("break *{sym}"));
        cmds.push("continue".into());
    }
    cmds.push("info all-registers".into());
    for p in probes {
        match p {
            Probe::Word(label, addr) => cmds.push(format!("printf \"ORACLE-WORD {label} %08x\\n\", *(unsigned int *)({addr})")),
            Probe::Expr(label, expr) => cmds.push(format!("printf \"ORACLE-EXPR {label} %08x\\n\", (unsigned int)({expr})")),
        }
    }
    cmds.push("set language auto".into());
    cmds.push("bt".into());
    cmds.push("kill".into());
    let raw = run_batch(elf, &cmds);
    parse(raw)
}

/// Like [`stop_at`], but stops at the `hit`-th arrival at `stop_at`'s entry (1 is the
/// first: the same as [`stop_at`]), e.g. the second entry of an SVC handler.
pub fn stop_at_hit(qemu: &Qemu, elf: &Path, stop_at: &str, hit: usize, probes: &[Probe]) -> GdbView {
    let mut cmds = vec!["set language c".to_string(), format!("target remote {}", qemu.socket().display())];
    cmds.push(format!("break *{stop_at}"));
    for _ in 0..hit.max(1) {
        cmds.push("continue".into());
    }
    cmds.push("info all-registers".into());
    for p in probes {
        match p {
            Probe::Word(label, addr) => cmds.push(format!("printf \"ORACLE-WORD {label} %08x\\n\", *(unsigned int *)({addr})")),
            Probe::Expr(label, expr) => cmds.push(format!("printf \"ORACLE-EXPR {label} %08x\\n\", (unsigned int)({expr})")),
        }
    }
    cmds.push("set language auto".into());
    cmds.push("bt".into());
    cmds.push("kill".into());
    parse(run_batch(elf, &cmds))
}

/// Runs gdb-multiarch in batch mode with `cmds` on `elf`; returns stdout and stderr.
pub fn run_batch(elf: &Path, cmds: &[String]) -> String {
    let mut cmd = Command::new("timeout");
    cmd.args(["60", "gdb-multiarch", "-batch", "-nx"]).arg(elf);
    for c in cmds {
        cmd.arg("-ex").arg(c);
    }
    let out = cmd.output().expect("gdb-multiarch (run scripts/setup.sh)");
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&out.stderr));
    s
}

fn parse(raw: String) -> GdbView {
    let mut view = GdbView::default();
    for line in raw.lines() {
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or("");
        if first == "ORACLE-WORD" || first == "ORACLE-EXPR" {
            let (Some(label), Some(hex)) = (words.next(), words.next()) else { continue };
            if let Ok(v) = u32::from_str_radix(hex, 16) {
                let map = if first == "ORACLE-WORD" { &mut view.words } else { &mut view.exprs };
                map.insert(label.to_string(), v);
            }
        } else if let Some(rest) = line.strip_prefix('#') {
            let function = frame_function(rest);
            if function != "<exception>" {
                let (file, line) = frame_position(rest);
                view.frames.push(GdbFrame { function: function.clone(), file, line });
            }
            view.backtrace.push(function);
        } else if let Some((name, value)) = register_line(line) {
            view.registers.entry(name).or_insert(value);
        }
    }
    view.raw = raw;
    view
}

/// `#2  0x0800023e in sensor_read (channel=...) at f.c:12` -> "sensor_read";
/// `#1  <signal handler called>` -> "<exception>".
fn frame_function(rest: &str) -> String {
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit()).trim_start();
    if rest.starts_with("<signal handler called>") {
        return "<exception>".into();
    }
    let rest = match rest.split_once(" in ") {
        Some((addr, tail)) if addr.starts_with("0x") => tail,
        _ => rest,
    };
    rest.split([' ', '(']).next().unwrap_or("").to_string()
}

/// `... at src/f.c:12` -> (Some("src/f.c"), Some(12)); frames without debug info have none.
fn frame_position(rest: &str) -> (Option<String>, Option<u32>) {
    let Some((_, tail)) = rest.rsplit_once(" at ") else { return (None, None) };
    match tail.trim().rsplit_once(':') {
        Some((file, line)) if line.chars().all(|c| c.is_ascii_digit()) && !line.is_empty() => {
            (Some(file.to_string()), line.parse().ok())
        }
        _ => (None, None),
    }
}

/// `r0  0x1  1`, `xpsr 0x1000005 16777221`, `s0  1  (raw 0x3f800000)`.
fn register_line(line: &str) -> Option<(String, u32)> {
    let mut words = line.split_whitespace();
    let name = words.next()?;
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || name.starts_with("0x") {
        return None;
    }
    let value = words.next()?;
    let hex = if let Some(h) = value.strip_prefix("0x") {
        h.to_string()
    } else {
        let raw = line.split("(raw 0x").nth(1)?;
        raw.trim_end_matches(')').to_string()
    };
    // d0-d15 are 64-bit: keep only what fits, they are not compared.
    u32::from_str_radix(&hex, 16).ok().map(|v| (name.to_string(), v))
}
