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
    /// Requests the front door answered (one per command: a round trip on a real probe).
    pub round_trips: u64,
    /// SWD clock cycles on the wire (bit-level doors).
    pub swd_cycles: u64,
}
