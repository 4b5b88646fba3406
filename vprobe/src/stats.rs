//! What a client cost the link: the numbers a real probe pays for.

use serde::Serialize;

#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Stats {
    /// Debug-port register accesses (reads and writes).
    pub dp_accesses: u64,
    /// Access-port register accesses.
    pub ap_accesses: u64,
    /// Bytes of target memory moved through the MEM-AP.
    pub memory_bytes: u64,
    /// Round trips on the front door: each time the client waits for an answer (a BMP
    /// command, a pyOCD request, a batch of remote_bitbang TDO samples), which a USB
    /// probe pays a turnaround for.
    pub round_trips: u64,
    /// SWD clock cycles on the wire (bit-level doors).
    pub swd_cycles: u64,
}
