//! The lab manifest, firmware-samples/scenarios.toml: every sample and what it must do.

use std::path::PathBuf;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
struct Manifest {
    scenario: Vec<Scenario>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Scenario {
    pub name: String,
    pub family: String,
    pub elf: String,
    pub machine: String,
    pub core: String,
    pub kind: String,
    #[serde(default)]
    pub exception: Option<String>,
    pub stop_at: String,
    #[serde(default)]
    pub cfsr: Vec<String>,
    #[serde(default)]
    pub hfsr: Vec<String>,
    #[serde(default = "yes")]
    pub cfsr_exact: bool,
    #[serde(default)]
    pub backtrace: Vec<String>,
    #[serde(default)]
    pub gdb_backtrace: Vec<String>,
    #[serde(default)]
    pub extended_frame: bool,
    #[serde(default)]
    pub lazy_fp: bool,
    #[serde(default)]
    pub stack: Option<String>,
    #[serde(default)]
    pub expect_findings: Vec<String>,
    #[serde(default)]
    pub expect_live_findings: Vec<String>,
    #[serde(default)]
    pub svc_number: Option<u32>,
    #[serde(default)]
    pub svc_args: Vec<u32>,
    #[serde(default)]
    pub bfar: Option<u32>,
    #[serde(default)]
    pub mmfar_symbol: Option<String>,
    #[serde(default)]
    pub mmfar_offset: u32,
    #[serde(default)]
    pub fp_values: Vec<f32>,
    #[serde(default)]
    pub recursion: Option<String>,
    #[serde(default)]
    pub active_exceptions: Vec<String>,
    #[serde(default)]
    pub inspect_exception: Option<String>,
    /// (kind = "svc") the second SVC: its immediate and stacked r0..r3.
    #[serde(default)]
    pub svc2_number: Option<u32>,
    #[serde(default)]
    pub svc2_args: Vec<u32>,
    /// (kind = "svc") a symbol reached after the last SVC returned, and the words the
    /// handler recorded at `svc_log_symbol` from the stacked frames by then.
    #[serde(default)]
    pub svc_done_at: Option<String>,
    #[serde(default)]
    pub svc_log_symbol: Option<String>,
    #[serde(default)]
    pub svc_log: Vec<u32>,
    /// Exception name -> the priority byte the firmware gave it (NVIC_IPR / SHPR).
    #[serde(default)]
    pub priorities: std::collections::BTreeMap<String, u32>,
    /// The index, among gdb's function frames, of one that gdb gets wrong by the
    /// architecture (the manifest's backtrace is the reference there), and why.
    #[serde(default)]
    pub gdb_wrong_frame: Option<usize>,
    /// "dwarf": gdb names discarded code here (its line lookup takes dead sequences at
    /// address 0 when a section, the vector table, is at 0), so each frame's file:line is
    /// checked against the live line tables instead (tests/common/dwarf.rs).
    #[serde(default)]
    pub oracle: Option<String>,
    #[serde(default)]
    pub gdb_wrong_why: String,
    #[serde(default)]
    pub notes: String,
}

fn yes() -> bool {
    true
}

impl Scenario {
    pub fn elf_path(&self) -> PathBuf {
        super::repo_root().join(&self.elf)
    }

    /// The backtrace without the "<exception>" markers: the functions alone.
    pub fn backtrace_functions(&self) -> Vec<&str> {
        self.backtrace.iter().map(String::as_str).filter(|f| *f != "<exception>").collect()
    }
}

/// Every scenario in the manifest; panics with a clear message when an ELF is missing
/// (the test command builds the lab first: a missing ELF is a broken setup, not a skip).
pub fn load() -> Vec<Scenario> {
    let path = super::repo_root().join("firmware-samples/scenarios.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let manifest: Manifest = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let missing: Vec<_> = manifest.scenario.iter().filter(|s| !s.elf_path().exists()).map(|s| s.elf.clone()).collect();
    assert!(missing.is_empty(), "lab firmware not built (run firmware-samples/build.sh): {missing:?}");
    manifest.scenario
}

/// Is `wanted` a subsequence of `got` (in order, other items allowed between)?
pub fn is_subsequence(wanted: &[&str], got: &[&str]) -> bool {
    let mut it = got.iter();
    wanted.iter().all(|w| it.any(|g| g == w))
}

/// A JSON report's backtrace in the manifests' notation: function names innermost
/// first, `<exception>` at each exception entry.
#[allow(dead_code)]
pub fn backtrace_functions(report: &serde_json::Value) -> Vec<String> {
    report["backtrace"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| if e["kind"] == "exception" { "<exception>".into() } else { e["function"].as_str().unwrap_or("??").to_string() })
        .collect()
}
