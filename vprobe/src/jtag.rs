//! A JTAG-DP (ADIv5 chapter 3) behind OpenOCD's `remote_bitbang` adapter, one TCK edge
//! at a time.
//!
//! The TAP: the IEEE 1149.1 state machine, sampled on TCK's rising edge; a 4-bit IR
//! (captures 0b0001) with IDCODE (0b1110, the Cortex-M4 JTAG-DP's 0x4BA00477), ABORT
//! (0b1000), DPACC (0b1010), APACC (0b1011) and BYPASS (the rest). DPACC and APACC scans
//! are 35 bits: RnW, A[3:2] and 32 data bits in; a 3-bit acknowledge (OK/FAULT 0b010,
//! WAIT 0b001) and the previous read's result out, so every read is posted: its value
//! comes out of the next scan (RDBUFF is the usual one). The access happens in
//! Update-DR. TDO is the shift register's low bit, as it stands after the falling edge.
//!
//! `remote_bitbang` (OpenOCD 0.12.0, `src/jtag/drivers/remote_bitbang.c`): one ASCII
//! byte per command: `0`-`7` set TCK/TMS/TDI (`tck << 2 | tms << 1 | tdi`), `R` reads
//! TDO (answer `0` or `1`), `r`-`u` set TRST/SRST, `B`/`b` the LED, `Q` quits.

use std::io::{BufReader, BufWriter, Read, Write};
use std::net::TcpStream;
use std::sync::Mutex;

use crate::dap::{Ack, Dap};

/// A Cortex-M4's JTAG-DP IDCODE.
pub const IDCODE: u32 = 0x4BA0_0477;

const IR_ABORT: u8 = 0b1000;
const IR_DPACC: u8 = 0b1010;
const IR_APACC: u8 = 0b1011;
const IR_IDCODE: u8 = 0b1110;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    TestLogicReset,
    RunTestIdle,
    SelectDr,
    CaptureDr,
    ShiftDr,
    Exit1Dr,
    PauseDr,
    Exit2Dr,
    UpdateDr,
    SelectIr,
    CaptureIr,
    ShiftIr,
    Exit1Ir,
    PauseIr,
    Exit2Ir,
    UpdateIr,
}

impl State {
    fn next(self, tms: bool) -> State {
        use State::*;
        match (self, tms) {
            (TestLogicReset, true) => TestLogicReset,
            (TestLogicReset, false) => RunTestIdle,
            (RunTestIdle, false) => RunTestIdle,
            (RunTestIdle, true) => SelectDr,
            (SelectDr, false) => CaptureDr,
            (SelectDr, true) => SelectIr,
            (CaptureDr, false) => ShiftDr,
            (CaptureDr, true) => Exit1Dr,
            (ShiftDr, false) => ShiftDr,
            (ShiftDr, true) => Exit1Dr,
            (Exit1Dr, false) => PauseDr,
            (Exit1Dr, true) => UpdateDr,
            (PauseDr, false) => PauseDr,
            (PauseDr, true) => Exit2Dr,
            (Exit2Dr, false) => ShiftDr,
            (Exit2Dr, true) => UpdateDr,
            (UpdateDr, false) => RunTestIdle,
            (UpdateDr, true) => SelectDr,
            (SelectIr, false) => CaptureIr,
            (SelectIr, true) => TestLogicReset,
            (CaptureIr, false) => ShiftIr,
            (CaptureIr, true) => Exit1Ir,
            (ShiftIr, false) => ShiftIr,
            (ShiftIr, true) => Exit1Ir,
            (Exit1Ir, false) => PauseIr,
            (Exit1Ir, true) => UpdateIr,
            (PauseIr, false) => PauseIr,
            (PauseIr, true) => Exit2Ir,
            (Exit2Ir, false) => ShiftIr,
            (Exit2Ir, true) => UpdateIr,
            (UpdateIr, false) => RunTestIdle,
            (UpdateIr, true) => SelectDr,
        }
    }
}

pub struct Tap {
    state: State,
    ir: u8,
    shift: u64,
    len: u32,
    tck: bool,
    /// The result the next DPACC/APACC capture shifts out.
    pending: u32,
}

impl Default for Tap {
    fn default() -> Self {
        Tap { state: State::TestLogicReset, ir: IR_IDCODE, shift: 0, len: 0, tck: false, pending: 0 }
    }
}

impl Tap {
    /// Test-Logic-Reset (TRST, or five TMS=1 edges): IR selects IDCODE.
    pub fn reset(&mut self) {
        self.state = State::TestLogicReset;
        self.ir = IR_IDCODE;
    }

    /// TDO as it stands now (after the last falling edge).
    pub fn tdo(&self) -> bool {
        matches!(self.state, State::ShiftDr | State::ShiftIr) && self.shift & 1 == 1
    }

    /// Sets TCK, TMS and TDI; a rising edge of TCK clocks the TAP.
    pub fn set(&mut self, dap: &mut Dap, tck: bool, tms: bool, tdi: bool) {
        let rising = tck && !self.tck;
        self.tck = tck;
        if !rising {
            return;
        }
        dap.stats.swd_cycles += 1;
        match self.state {
            State::CaptureDr => self.capture_dr(),
            State::CaptureIr => {
                self.shift = 0b0001;
                self.len = 4;
            }
            State::ShiftDr | State::ShiftIr => {
                self.shift = (self.shift >> 1) | (u64::from(tdi) << (self.len - 1));
            }
            _ => {}
        }
        self.state = self.state.next(tms);
        match self.state {
            State::UpdateDr => self.update_dr(dap),
            State::UpdateIr => self.ir = (self.shift & 0xF) as u8,
            State::TestLogicReset => self.ir = IR_IDCODE,
            _ => {}
        }
    }

    fn capture_dr(&mut self) {
        let (value, len) = match self.ir {
            IR_IDCODE => (u64::from(IDCODE), 32),
            IR_DPACC | IR_APACC | IR_ABORT => ((u64::from(self.pending) << 3) | 0b010, 35),
            _ => (0, 1), // BYPASS
        };
        self.shift = value;
        self.len = len;
    }

    fn update_dr(&mut self, dap: &mut Dap) {
        if !matches!(self.ir, IR_DPACC | IR_APACC | IR_ABORT) || self.len != 35 {
            return;
        }
        let read = self.shift & 1 == 1;
        let a = ((self.shift >> 1) & 3) as u8 * 4;
        let data = (self.shift >> 3) as u32;
        if self.ir == IR_ABORT {
            dap.dp_write(0x0, data);
            return;
        }
        let ap = self.ir == IR_APACC;
        // JTAG-DP answers OK/FAULT alike (0b010); a fault shows in CTRL/STAT's sticky bits.
        match (ap, read) {
            (true, true) => {
                if let (Ack::Ok, v) = dap.ap_read(a) {
                    self.pending = v;
                }
            }
            (true, false) => {
                dap.ap_write(a, data);
            }
            (false, true) => self.pending = dap.dp_read(a).1,
            (false, false) => {
                dap.dp_write(a, data);
            }
        }
    }
}

/// The `remote_bitbang` door: OpenOCD connects and wiggles the TAP's pins.
#[derive(Default)]
pub struct Door {
    tap: Tap,
}

impl Door {
    pub fn serve(&mut self, dap: &Mutex<Dap>, stream: TcpStream) -> std::io::Result<()> {
        stream.set_nodelay(true)?;
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut writer = BufWriter::new(stream);
        let mut buf = [0u8; 4096];
        loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            let mut dap = dap.lock().unwrap();
            dap.set_jtag(true);
            // OpenOCD queues its TDO samples (`R`) and waits once for their answers: a
            // chunk that asks for any is one round trip.
            if buf[..n].contains(&b'R') {
                dap.round_trip();
            }
            for &c in &buf[..n] {
                match c {
                    b'0'..=b'7' => {
                        let v = c - b'0';
                        self.tap.set(&mut dap, v & 4 != 0, v & 2 != 0, v & 1 != 0);
                    }
                    b'R' => {
                        writer.write_all(if self.tap.tdo() { b"1" } else { b"0" })?;
                    }
                    // TRST asserted: the TAP resets. SRST is not wired.
                    b't' | b'u' => self.tap.reset(),
                    b'r' | b's' | b'B' | b'b' => {}
                    b'Q' => {
                        writer.flush()?;
                        return Ok(());
                    }
                    _ => {}
                }
            }
            drop(dap);
            writer.flush()?;
        }
    }
}
