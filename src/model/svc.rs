//! Supervisor calls: the SVC number from the instruction before the stacked
//! return address, and the arguments from stacked R0-R3.

use std::fmt;

use serde::Serialize;

use super::frame::StackedFrame;

/// The 16-bit Thumb SVC encoding is 0xDFnn.
pub fn svc_number(halfword: u16) -> Option<u8> {
    (halfword & 0xFF00 == 0xDF00).then_some(halfword as u8)
}

/// As [`svc_number`], from the two little-endian bytes at stacked PC - 2.
pub fn svc_number_from_bytes(bytes: [u8; 2]) -> Option<u8> {
    svc_number(u16::from_le_bytes(bytes))
}

/// A decoded supervisor call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SvcCall {
    pub number: u8,
    /// Stacked R0-R3: the call's arguments under AAPCS.
    pub args: [u32; 4],
    /// The SVC instruction's address (stacked PC - 2).
    pub address: u32,
}

impl SvcCall {
    /// `halfword` is the instruction at `frame.pc - 2`; `None` if it is not an SVC.
    pub fn decode(halfword: u16, frame: &StackedFrame) -> Option<SvcCall> {
        Some(SvcCall {
            number: svc_number(halfword)?,
            args: [frame.r0, frame.r1, frame.r2, frame.r3],
            address: frame.pc.wrapping_sub(2),
        })
    }
}

impl fmt::Display for SvcCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.args;
        write!(
            f,
            "SVC #{} at {:#010x} (r0={a:#010x} r1={b:#010x} r2={c:#010x} r3={d:#010x})",
            self.number, self.address
        )
    }
}
