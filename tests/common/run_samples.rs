//! The `isrscope run` lab's manifest (firmware-samples/rust-run/samples.toml) and the
//! check of one run against it, shared by every path that runs the samples: `cargo run`
//! through the runner on QEMU (tests/run_lab.rs), `run --chip` on the virtual probe and
//! `run --gdb` through OpenOCD on it (vprobe/tests/run_probe.rs, which includes this
//! file by path). Self-contained for that reason.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Manifest {
    sample: Vec<Sample>,
}

/// One run of a sample and what it must show (the manifest's header says each field).
#[derive(Deserialize, Clone, Debug)]
pub struct Sample {
    pub name: String,
    #[serde(default)]
    pub bin: Option<String>,
    pub exit: i32,
    pub stdout: Vec<String>,
    #[serde(default)]
    pub stderr: Vec<String>,
    #[serde(default)]
    pub outcome: Option<String>,
    #[serde(default)]
    pub exception: Option<String>,
    #[serde(default)]
    pub backtrace: Vec<String>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub cargo: Vec<String>,
    #[serde(default)]
    pub numbered: Option<String>,
    #[serde(default)]
    pub repeated: Option<String>,
    #[serde(default)]
    pub at_least: usize,
}

impl Sample {
    /// The firmware binary this run uses.
    pub fn bin(&self) -> &str {
        self.bin.as_deref().unwrap_or(&self.name)
    }

    /// The built ELF (firmware-samples/rust-run/build.sh copies each one there).
    pub fn elf(&self, root: &Path) -> PathBuf {
        root.join("firmware-samples/build/rust-run").join(format!("{}.elf", self.bin()))
    }

    /// The runner's arguments for this run: the manifest's, and JSON for a fault's report.
    pub fn runner_args(&self) -> Vec<String> {
        let mut args = self.args.clone();
        if self.outcome.is_some() {
            args.extend(["--format".to_string(), "json".to_string()]);
        }
        args
    }
}

/// The lab crate's directory.
pub fn lab(root: &Path) -> PathBuf {
    root.join("firmware-samples/rust-run")
}

pub fn load(root: &Path) -> Vec<Sample> {
    let path = lab(root).join("samples.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let m: Manifest = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    m.sample
}

/// Checks one run's exit code, the firmware's lines, and on a fault the JSON report
/// against the manifest. `Err` says what differs, with the run's output.
pub fn check(root: &Path, s: &Sample, out: &Output) -> Result<(), String> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    check_output(root, s, out.status.code(), &stdout, &stderr)
        .map_err(|e| format!("{}: {e}\nstdout:\n{stdout}\nstderr:\n{stderr}", s.name))
}

fn check_output(root: &Path, s: &Sample, code: Option<i32>, stdout: &str, stderr: &str) -> Result<(), String> {
    if code != Some(s.exit) {
        return Err(format!("exit code {code:?}, expected {}", s.exit));
    }
    // The firmware's lines come first, in order; then (a fault) the report.
    let (firmware, report) = match stdout.find("\n{").filter(|_| s.outcome.is_some()) {
        Some(i) => (&stdout[..i + 1], Some(&stdout[i + 1..])),
        None => (stdout, None),
    };
    let lines: Vec<&str> = firmware.lines().collect();
    match (&s.numbered, &s.repeated) {
        (_, Some(line)) => {
            let n = lines.iter().take_while(|l| *l == line).count();
            if n < s.at_least {
                return Err(format!("{line:?} {n} times, fewer than {}", s.at_least));
            }
        }
        (Some(prefix), None) => {
            // Complete lines only: the last may have been cut by the stop.
            let n = lines.iter().take_while(|l| l.starts_with(prefix.as_str())).count().saturating_sub(1);
            if n < s.at_least {
                return Err(format!("{n} numbered lines, fewer than {}", s.at_least));
            }
            if let Some((i, l)) = lines[..n].iter().enumerate().find(|(i, l)| **l != format!("{prefix} {i}")) {
                return Err(format!("line {i} is {l:?} (one lost or out of order)"));
            }
        }
        (None, None) => {
            if lines != s.stdout {
                return Err(format!("the firmware's stdout is {lines:?}, expected {:?}", s.stdout));
            }
        }
    }
    // A decoded defmt frame's location is the line of its macro in the source.
    for l in s.stdout.iter().filter(|l| l.contains(".rs:") && l.ends_with(')')) {
        if let Some((file, line)) = l.rsplit_once(" (").and_then(|(_, loc)| loc.strip_suffix(')')?.split_once(':')) {
            // Only the lab's own sources (a crate's, as panic-probe's lib.rs, is not here).
            let Ok(src) = std::fs::read_to_string(lab(root).join("src/bin").join(file)) else { continue };
            let text = src.lines().nth(line.parse::<usize>().unwrap_or(1).saturating_sub(1)).unwrap_or("");
            if !text.contains("defmt::") {
                return Err(format!("{l}: line {line} of {file} is {text:?}"));
            }
        }
    }
    if let Some(l) = s.stderr.iter().find(|l| !stderr.lines().any(|x| x == *l)) {
        return Err(format!("stderr lacks {l:?}"));
    }
    match (&s.outcome, report) {
        (Some(outcome), Some(json)) => {
            let r: Value = serde_json::from_str(json).map_err(|e| format!("the report: {e}"))?;
            if r["outcome"] != outcome.as_str() {
                return Err(format!("outcome {}, expected {outcome}", r["outcome"]));
            }
            let exception = r["exception"]["name"].as_str().unwrap_or("none");
            if Some(exception) != s.exception.as_deref() {
                return Err(format!("exception {exception}, expected {:?}", s.exception));
            }
            let got: Vec<String> = r["backtrace"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| if e["kind"] == "exception" { "<exception>".into() } else { e["function"].as_str().unwrap_or("??").to_string() })
                .collect();
            let mut it = got.iter();
            if !s.backtrace.iter().all(|w| it.any(|g| g == w)) {
                return Err(format!("backtrace {got:?} lacks {:?}", s.backtrace));
            }
            let summary = r["summary"].as_str().unwrap_or("");
            if !summary.contains(s.text.as_deref().unwrap_or("")) {
                return Err(format!("summary {summary:?} lacks {:?}", s.text));
            }
            Ok(())
        }
        (None, None) => Ok(()),
        (o, r) => Err(format!("expected a report {o:?}, got {r:?}")),
    }
}

/// Runs `cmd` to its end, killing it after `limit` (a hung run is a failure with what it
/// printed, not a hung suite).
pub fn output_within(cmd: &mut std::process::Command, limit: std::time::Duration) -> Output {
    use std::io::Read;
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let pipe = |r: Option<Box<dyn Read + Send>>| {
        let mut r = r.unwrap();
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let out = pipe(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let err = pipe(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let deadline = std::time::Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let mut stderr = err.join().unwrap();
    if !status.success() && status.code().is_none() {
        stderr.extend_from_slice(format!("\n(killed after {limit:?})").as_bytes());
    }
    Output { status, stdout: out.join().unwrap(), stderr }
}
