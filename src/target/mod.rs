//! The target abstraction: one object-safe trait that every backend implements
//! (GDB remote, probe-rs, core-dump files), so that analysis and unwinding run the
//! same code on a live board, a QEMU lab machine and a crash file.
//!
//! Reads are the expensive part on real hardware (every request is a round trip over
//! SWD or TCP), so the trait is shaped for block reads: `read_memory` takes a whole
//! region and backends split it only where their link forces them to, and
//! `read_registers` returns every core register in one call.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

pub mod catch;
pub mod gdb;
pub mod probe;
pub mod qemu;
#[cfg(test)]
pub(crate) mod testing;

/// Names of the core registers the trait speaks of, in the spelling GDB's
/// target descriptions use (lower case). Backends map their own numbering onto these.
pub mod reg {
    pub const GPR: [&str; 13] = [
        "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12",
    ];
    pub const SP: &str = "sp";
    pub const LR: &str = "lr";
    pub const PC: &str = "pc";
    pub const XPSR: &str = "xpsr";
    pub const MSP: &str = "msp";
    pub const PSP: &str = "psp";
    pub const PRIMASK: &str = "primask";
    pub const BASEPRI: &str = "basepri";
    pub const FAULTMASK: &str = "faultmask";
    pub const CONTROL: &str = "control";
    pub const FPSCR: &str = "fpscr";
    /// v8-M with the Security Extension: banked stack pointers and limits.
    pub const MSP_NS: &str = "msp_ns";
    pub const PSP_NS: &str = "psp_ns";
    pub const MSP_S: &str = "msp_s";
    pub const PSP_S: &str = "psp_s";
    pub const MSPLIM: &str = "msplim";
    pub const PSPLIM: &str = "psplim";

    /// `s0` .. `s31`.
    pub fn s(n: usize) -> String {
        format!("s{n}")
    }
}

/// A snapshot of the core registers the target has, by name (see [`reg`]).
/// Registers the target does not have are absent, never zero.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Registers {
    values: std::collections::BTreeMap<String, u32>,
}

impl Registers {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn insert(&mut self, name: impl Into<String>, value: u32) {
        self.values.insert(name.into(), value);
    }
    pub fn get(&self, name: &str) -> Option<u32> {
        self.values.get(name).copied()
    }
    pub fn remove(&mut self, name: &str) -> Option<u32> {
        self.values.remove(name)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, u32)> {
        self.values.iter().map(|(k, v)| (k.as_str(), *v))
    }
    pub fn len(&self) -> usize {
        self.values.len()
    }
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Why the core stopped, as far as the backend can tell.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum StopReason {
    /// A breakpoint set through [`Target::set_breakpoint`] was hit at `pc`.
    Breakpoint { pc: u32 },
    /// A single step finished.
    Step,
    /// The debugger asked the core to halt.
    Requested,
    /// Hardware vector catch fired (DEMCR / DFSR.VCATCH).
    VectorCatch,
    /// The core is locked up (DHCSR.S_LOCKUP).
    Lockup,
    /// Another signal or reason the backend reported verbatim (e.g. a GDB stop
    /// reply's signal number and key:value pairs).
    Other { description: String },
}

/// What the core is doing now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum CoreState {
    Running,
    Halted { reason: StopReason },
    LockedUp,
    Sleeping,
    /// The target is gone: the process exited or the link closed, with what is known.
    Exited { description: String },
    Unknown,
}

/// What a backend can do; analysis adapts to it instead of failing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    /// The backend can catch faults in hardware (DEMCR vector catch).
    pub vector_catch: bool,
    /// Number of breakpoints available; `None` when unlimited (QEMU) or unknown.
    pub breakpoints: Option<u32>,
    /// The register names this target has (see [`reg`]).
    pub registers: Vec<String>,
    /// Largest single memory read the link takes in one request, in bytes.
    pub max_read: usize,
    /// The target is live (can run, halt, step). False for core dumps.
    pub live: bool,
    /// A human name for the backend and the server behind it, e.g. "gdb-remote (QEMU 10.0.2)".
    pub description: String,
}

/// Breakpoint kinds: software (patched instruction) or hardware (FPB comparator).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BreakpointKind {
    Software,
    Hardware,
}

/// Faults that can be caught in hardware through DEMCR (see `model::regs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CatchKind {
    HardFault,
    MemManage,
    BusFault,
    UsageFault,
    SecureFault,
    CoreReset,
}

/// Errors every backend speaks in. Each says what was being done, so a user can act.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("cannot connect to {what}: {source}")]
    Connect {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the target link failed while {doing}: {source}")]
    Io {
        doing: String,
        #[source]
        source: std::io::Error,
    },
    #[error("no answer from the target within {timeout:?} while {doing}")]
    Timeout { doing: String, timeout: Duration },
    #[error("the target closed the connection while {doing}{}", detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Disconnected {
        doing: String,
        /// Why it went away, when known (e.g. QEMU's own message on stderr).
        detail: Option<String>,
    },
    /// The core locked up (a fault at priority -1 or above) and the target could not be
    /// read afterwards: QEMU, which does not model lockup, aborts on it.
    #[error("the core locked up while {doing}: {detail}")]
    LockedUp { doing: String, detail: String },
    #[error("protocol error while {doing}: {message}")]
    Protocol { doing: String, message: String },
    #[error("the target refused {doing}: {message}")]
    Refused { doing: String, message: String },
    #[error("memory at {address:#010x} ({len} bytes) cannot be read: {message}")]
    MemoryUnreadable {
        address: u32,
        len: usize,
        message: String,
    },
    #[error("the target has no register named {0:?}")]
    NoSuchRegister(String),
    #[error("{0} is not supported by this target")]
    Unsupported(String),
    #[error("the core must be halted to {0}")]
    NotHalted(String),
    #[error("{0}")]
    Other(String),
}

pub type Result<T, E = TargetError> = std::result::Result<T, E>;

/// A debug target: a live core behind some link, or a frozen one in a file.
///
/// Object-safe: analysis takes `&mut dyn Target`.
pub trait Target {
    /// What this backend can do. Cheap: computed at connect time.
    fn capabilities(&self) -> &Capabilities;

    /// Reads `buf.len()` bytes at `address` in as few requests as the link allows.
    /// Fails as a whole if any part is unreadable (use [`Target::read_memory_partial`]
    /// to get what can be read).
    fn read_memory(&mut self, address: u32, buf: &mut [u8]) -> Result<()>;

    /// Writes `data` at `address`. Only when the user asked for it.
    fn write_memory(&mut self, address: u32, data: &[u8]) -> Result<()>;

    /// What the program wrote to the host since the last call (semihosting console
    /// writes, over GDB's File-I/O): (descriptor 1 or 2, bytes), in order.
    fn take_program_output(&mut self) -> Vec<(u8, Vec<u8>)> {
        Vec::new()
    }

    /// The program's exit status, once it has exited (semihosting `SYS_EXIT` reported
    /// by the server as the process's exit).
    fn exit_status(&self) -> Option<u8> {
        None
    }

    /// Every core register the target has, in one call where the link allows.
    fn read_registers(&mut self) -> Result<Registers>;

    /// One register by name (see [`reg`]).
    fn read_register(&mut self, name: &str) -> Result<u32> {
        self.read_registers()?
            .get(name)
            .ok_or_else(|| TargetError::NoSuchRegister(name.to_string()))
    }

    /// The registers named, those the target has (others are left out), in as few
    /// requests as the link allows. Cheaper than [`Target::read_registers`] when only
    /// some are needed: GDB servers send FP and system registers one per request.
    fn read_register_set(&mut self, names: &[&str]) -> Result<Registers> {
        let all = self.read_registers()?;
        let mut out = Registers::new();
        for name in names {
            if let Some(v) = all.get(name) {
                out.insert(*name, v);
            }
        }
        Ok(out)
    }

    /// Reads the readable beginning of `buf.len()` bytes at `address` and returns its
    /// length (0 when nothing there is readable); for stacks that run into unmapped
    /// memory. Readability is taken to change at word boundaries, as Cortex-M memory
    /// regions do. This default bisects with [`Target::read_memory`], splitting at the
    /// most aligned address first (where regions end), so a stack that ends at the top
    /// of RAM costs three reads.
    fn read_memory_partial(&mut self, address: u32, buf: &mut [u8]) -> Result<usize> {
        match self.read_memory(address, buf) {
            Ok(()) => return Ok(buf.len()),
            Err(TargetError::MemoryUnreadable { .. }) => {}
            Err(e) => return Err(e),
        }
        // The first `lo` bytes are read; [lo, hi) holds an unreadable byte.
        let (mut lo, mut hi) = (0usize, buf.len());
        let start = u64::from(address);
        while hi - lo > 1 {
            let mid = (most_aligned_between(start + lo as u64, start + hi as u64) - start) as usize;
            match self.read_memory(address.wrapping_add(lo as u32), &mut buf[lo..mid]) {
                Ok(()) => lo = mid,
                Err(TargetError::MemoryUnreadable { .. }) => {
                    hi = mid;
                    continue;
                }
                Err(e) => return Err(e),
            }
            // Regions end at aligned addresses: probe the word just past a success.
            let word = 4.min(hi - lo);
            if (start + lo as u64) % 4 == 0 && word == 4 {
                match self.read_memory(address.wrapping_add(lo as u32), &mut buf[lo..lo + 4]) {
                    Ok(()) => lo += 4,
                    Err(TargetError::MemoryUnreadable { .. }) => return Ok(lo),
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(lo)
    }

    /// Writes one register by name. Only when the user asked for it.
    fn write_register(&mut self, name: &str, value: u32) -> Result<()>;

    /// Asks the core to halt and waits (bounded) until it has.
    fn halt(&mut self, timeout: Duration) -> Result<StopReason>;

    /// Lets the core run. Resuming from an address that holds a breakpoint is handled
    /// by the backend (step over it first).
    fn resume(&mut self) -> Result<()>;

    /// [`Target::resume`] without first looking for a breakpoint at the PC: the caller
    /// knows the core may stop again at once where it is (a breakpoint stop at the same
    /// PC) and handles it. A GDB server must read the PC to know, one request the
    /// fault catch saves (`catch::run_to_fault`). Default: [`Target::resume`].
    fn resume_unchecked(&mut self) -> Result<()> {
        self.resume()
    }

    /// Executes one instruction and returns when the core has halted again.
    fn step(&mut self) -> Result<StopReason>;

    /// Current state, without changing it.
    fn state(&mut self) -> Result<CoreState>;

    /// Waits at most `timeout` for the running core to stop. `Ok(None)` when it
    /// is still running at the end (the core is left running).
    fn wait_for_stop(&mut self, timeout: Duration) -> Result<Option<StopReason>>;

    fn set_breakpoint(&mut self, address: u32, kind: BreakpointKind) -> Result<()>;
    fn clear_breakpoint(&mut self, address: u32) -> Result<()>;
    /// The breakpoints isrscope has set and not cleared.
    fn breakpoints(&self) -> Vec<u32>;

    /// Arms hardware vector catch for `kinds` (only if `capabilities().vector_catch`).
    /// Backends restore what they changed in [`Target::detach`].
    fn set_vector_catch(&mut self, kinds: &[CatchKind]) -> Result<()> {
        let _ = kinds;
        Err(TargetError::Unsupported("hardware vector catch".into()))
    }

    /// Resets the core; `halt` keeps it halted at the reset vector.
    fn reset(&mut self, halt: bool) -> Result<()> {
        let _ = halt;
        Err(TargetError::Unsupported("reset".into()))
    }

    /// Leaves the target: clears every breakpoint isrscope set, restores what it
    /// changed, resumes the core when `resume` is true, then closes the link.
    fn detach(&mut self, resume: bool) -> Result<()>;
}

/// The address strictly between `lo` and `hi` with the most trailing zero bits.
fn most_aligned_between(lo: u64, hi: u64) -> u64 {
    debug_assert!(hi - lo >= 2);
    (0..=32u32)
        .rev()
        .map(|shift| (hi - 1) & !((1u64 << shift) - 1))
        .find(|c| *c > lo)
        .unwrap_or(lo + 1)
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::Breakpoint { pc } => write!(f, "breakpoint at {pc:#010x}"),
            StopReason::Step => f.write_str("single step"),
            StopReason::Requested => f.write_str("halt requested"),
            StopReason::VectorCatch => f.write_str("vector catch"),
            StopReason::Lockup => f.write_str("core locked up"),
            StopReason::Other { description } => f.write_str(description),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_the_most_aligned_address() {
        assert_eq!(most_aligned_between(0x2001_ffc0, 0x2002_00c0), 0x2002_0000);
        assert_eq!(most_aligned_between(0x2002_0000, 0x2002_0004), 0x2002_0002);
        assert_eq!(most_aligned_between(5, 7), 6);
        assert_eq!(most_aligned_between(0xffff_fff0, 0x1_0000_0010), 0x1_0000_0000);
    }

    use testing::Memory;

    /// Memory readable from 0x20000000 up to `end` only.
    fn flat(end: u32) -> Memory {
        Memory::new(vec![(0x2000_0000, vec![0xaa; (end - 0x2000_0000) as usize])])
    }

    #[test]
    fn partial_reads_find_where_memory_ends() {
        let mut t = flat(0x2002_0000);
        let mut buf = [0u8; 256];
        assert_eq!(t.read_memory_partial(0x2001_ffc0, &mut buf).unwrap(), 64);
        assert_eq!(t.reads.len(), 3, "whole, up to the boundary, the word past it");
        for (start, len, end) in [(0x2001_fff1, 40, 0x2002_0000), (0x2002_0000, 8, 0x2002_0000), (0x2001_0000, 0x1_0000, 0x2001_8004)] {
            let mut t = flat(end);
            let mut buf = vec![0u8; len];
            let got = t.read_memory_partial(start, &mut buf).unwrap();
            assert_eq!(got, (end - start) as usize, "{start:#x}+{len:#x} ending at {end:#x}");
            assert!(t.reads.len() <= 40);
        }
    }
}
