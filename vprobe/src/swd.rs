//! The SW-DP wire protocol (ADIv5 chapter 4), one clock cycle at a time.
//!
//! Each cycle the host either drives SWDIO (`Some(bit)`) or releases it (`None`: it
//! samples, or it is a turnaround); [`Swd::clock`] returns the line's value that cycle
//! (the target's bit where the target drives, the host's where the host does, else the
//! pull-up's 1). A packet: 8 request bits (start, APnDP, RnW, A[2:3], parity, stop,
//! park), a turnaround, 3 acknowledge bits, then for a read 32 data bits, parity and a
//! turnaround, for a write a turnaround, then 32 data bits and parity from the host.
//! 50 or more cycles of 1 are a line reset; a malformed request locks the port out until
//! the next line reset (the JTAG-to-SWD sequence is one such, as on silicon). AP reads
//! are posted: the data phase carries the previous AP read's result.

use crate::dap::{Ack, Dap};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Waiting for a start bit.
    Idle,
    /// Collecting the request's 8 bits.
    Request { bits: u8, n: u8 },
    /// A malformed request: ignore everything until a line reset.
    Lockout,
    /// The turnaround before the acknowledge.
    TurnToTarget,
    /// Driving ACK bit `n`.
    Ack { n: u8 },
    /// Driving read data bit `n` (32 = parity).
    ReadData { n: u8 },
    /// The turnaround after read data, back to the host.
    TurnToHost,
    /// The turnaround after a write's acknowledge.
    WriteTurn,
    /// Receiving write data bit `n` (32 = parity).
    WriteData { n: u8 },
    /// Skipping a data phase of `left` cycles after WAIT/FAULT with ORUNDETECT.
    Skip { left: u8 },
}

#[derive(Clone, Copy, Debug)]
struct Request {
    ap: bool,
    read: bool,
    a: u8,
}

pub struct Swd {
    state: State,
    ones: u32,
    req: Request,
    ack: Ack,
    data: u64,
}

impl Default for Swd {
    fn default() -> Self {
        Swd { state: State::Lockout, ones: 0, req: Request { ap: false, read: false, a: 0 }, ack: Ack::Ok, data: 0 }
    }
}

fn ack_bits(ack: Ack) -> u8 {
    match ack {
        Ack::Ok => 0b001,
        Ack::Wait => 0b010,
        Ack::Fault => 0b100,
    }
}

impl Swd {
    /// One clock cycle.
    pub fn clock(&mut self, dap: &mut Dap, host: Option<bool>) -> bool {
        dap.stats.swd_cycles += 1;
        // Line reset: 50 cycles of 1 driven by the host, from any state.
        match host {
            Some(true) => self.ones += 1,
            Some(false) | None => self.ones = 0,
        }
        if self.ones >= 50 && !matches!(self.state, State::WriteData { .. }) {
            self.state = State::Idle;
            return true;
        }
        let line = host.unwrap_or(true);
        match self.state {
            State::Lockout => line,
            State::Idle => {
                if host == Some(true) {
                    self.state = State::Request { bits: 1, n: 1 };
                }
                line
            }
            State::Request { bits, n } => {
                let bits = bits | (u8::from(line) << n);
                if n < 7 {
                    self.state = State::Request { bits, n: n + 1 };
                    return line;
                }
                let bit = |i: u8| bits >> i & 1;
                let parity = (bit(1) + bit(2) + bit(3) + bit(4)) & 1;
                if bit(0) != 1 || bit(5) != parity || bit(6) != 0 || bit(7) != 1 {
                    self.state = State::Lockout;
                    return line;
                }
                self.req = Request { ap: bit(1) == 1, read: bit(2) == 1, a: (bit(3) << 2) | (bit(4) << 3) };
                self.state = State::TurnToTarget;
                line
            }
            State::TurnToTarget => {
                self.start_transfer(dap);
                self.state = State::Ack { n: 0 };
                line
            }
            State::Ack { n } => {
                let out = ack_bits(self.ack) >> n & 1 == 1;
                self.state = if n < 2 {
                    State::Ack { n: n + 1 }
                } else {
                    match (self.ack, self.req.read) {
                        (Ack::Ok, true) => State::ReadData { n: 0 },
                        (Ack::Ok, false) => State::WriteTurn,
                        (_, true) => State::TurnToHost,
                        (_, false) if dap.overrun_detect() => State::Skip { left: 34 },
                        (_, false) => State::WriteTurn,
                    }
                };
                out
            }
            State::ReadData { n } => {
                let value = self.data as u32;
                let out = if n < 32 { value >> n & 1 == 1 } else { value.count_ones() & 1 == 1 };
                self.state = if n < 32 { State::ReadData { n: n + 1 } } else { State::TurnToHost };
                out
            }
            State::TurnToHost => {
                self.state = State::Idle;
                line
            }
            State::WriteTurn => {
                self.state = if self.ack == Ack::Ok { State::WriteData { n: 0 } } else { State::Idle };
                self.data = 0;
                line
            }
            State::WriteData { n } => {
                self.data |= u64::from(line) << n;
                if n < 32 {
                    self.state = State::WriteData { n: n + 1 };
                } else {
                    let value = self.data as u32;
                    let parity_ok = (value.count_ones() & 1 == 1) == line;
                    if parity_ok {
                        let a = self.req.a;
                        if self.req.ap {
                            dap.ap_write(a, value);
                        } else {
                            dap.dp_write(a, value);
                        }
                    }
                    self.state = State::Idle;
                }
                line
            }
            State::Skip { left } => {
                self.state = if left > 1 { State::Skip { left: left - 1 } } else { State::Idle };
                line
            }
        }
    }

    /// At the acknowledge: reads happen now (an AP read's data phase carries the
    /// previous result, posted); writes are accepted now and happen after the data.
    fn start_transfer(&mut self, dap: &mut Dap) {
        let Request { ap, read, a } = self.req;
        if !read {
            self.ack = if ap && dap.sticky_error() { Ack::Fault } else { Ack::Ok };
            return;
        }
        if ap {
            let previous = dap.rdbuff();
            let (ack, _) = dap.ap_read(a);
            self.ack = ack;
            self.data = u64::from(previous);
        } else {
            let (ack, v) = dap.dp_read(a);
            self.ack = ack;
            self.data = u64::from(v);
        }
    }
}

