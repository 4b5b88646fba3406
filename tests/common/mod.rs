//! Shared test support: the lab manifest, QEMU lab machines and the gdb-multiarch oracle.
//! Each integration test binary includes this with `mod common;` and uses what it needs.
#![allow(dead_code)]

pub mod dwarf;
pub mod lab;
pub mod manifest;
pub mod oracle;
pub mod probe_rs_dump;
pub mod run_samples;

use std::path::PathBuf;

/// The repository root (where Cargo.toml is).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `f` over `items` on up to `jobs` threads and collects every failure message,
/// so one broken scenario does not hide the others.
pub fn run_all<T: Sync>(items: &[T], jobs: usize, f: impl Fn(&T) -> Result<(), String> + Sync) -> Vec<String> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(item) = items.get(i) else { break };
                    if let Err(e) = f(item) {
                        failures.lock().unwrap().push(e);
                    }
                }
            });
        }
    });
    failures.into_inner().unwrap()
}
