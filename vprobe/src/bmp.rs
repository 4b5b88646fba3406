//! The Black Magic Probe remote protocol over TCP: the door probe-rs' own BMP driver
//! (`--probe 1d50:6018:HOST:PORT`) connects to.
//!
//! Commands are `!...#`, answers `&K<hex>#` (OK), `&E<hex>#` (error), `&N<hex>#`
//! (unsupported); anything outside `!...#` (the `+` that resets a real probe's parser)
//! is skipped. This door speaks protocol version 0, the one without accelerators: the
//! high-level check `!HC#` answers an error, so probe-rs runs its own ARM stack on raw
//! SWD sequences, as over a CMSIS-DAP probe: `!So<len><hex>#` clocks out `len` bits
//! (LSB first), `!Si<len>#` clocks in `len` bits, `!SO`/`!SI` the same with a parity bit.
//! As the BMP firmware does (swdptap.c), a change of direction inserts one turnaround
//! cycle in which nobody drives SWDIO.

use std::io::{BufReader, BufWriter, Read, Write};
use std::net::TcpStream;
use std::sync::Mutex;

use crate::dap::Dap;
use crate::swd::Swd;

/// What the probe says it is, in answer to `!GA#`.
pub const VERSION: &str = "Black Magic Probe (isrscope-vprobe, virtual) v1.10.0, Hardware Version 0";

pub struct Door {
    swd: Swd,
    /// The direction of the last SWD sequence: true when the host drove SWDIO.
    driving: bool,
}

impl Default for Door {
    fn default() -> Self {
        Door { swd: Swd::default(), driving: true }
    }
}

fn parse_hex(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    u64::from_str_radix(s, 16).ok()
}

impl Door {
    /// Serves one client until it disconnects.
    pub fn serve(&mut self, dap: &Mutex<Dap>, stream: TcpStream) -> std::io::Result<()> {
        stream.set_nodelay(true)?;
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut writer = BufWriter::new(stream);
        let mut byte = [0u8; 1];
        loop {
            // Skip to the start of a command.
            loop {
                if reader.read(&mut byte)? == 0 {
                    return Ok(());
                }
                if byte[0] == b'!' {
                    break;
                }
            }
            let mut command = Vec::new();
            loop {
                if reader.read(&mut byte)? == 0 {
                    return Ok(());
                }
                if byte[0] == b'#' {
                    break;
                }
                command.push(byte[0]);
                if command.len() > 4096 {
                    break; // a runaway command: answer it as malformed
                }
            }
            let mut dap = dap.lock().unwrap();
            dap.set_jtag(false);
            let reply = self.command(&mut dap, &String::from_utf8_lossy(&command));
            dap.round_trip();
            drop(dap);
            writer.write_all(reply.as_bytes())?;
            writer.flush()?;
        }
    }

    /// Answers one command (without its `!` and `#`).
    pub fn command(&mut self, dap: &mut Dap, command: &str) -> String {
        let ok = |v: u64| format!("&K{v:x}#");
        let error = |code: u64| format!("&E{code:x}#");
        let (head, args) = command.split_at(command.len().min(2));
        match head {
            "GA" => format!("&K{VERSION}#"),
            // Protocol version 0: no accelerated ADIv5 commands.
            "HC" => error(1),
            "GV" => "&K3.3V#".into(),
            "Gf" => ok(4_000_000),
            "GF" | "GZ" | "GE" | "GP" => ok(0),
            "SS" => {
                self.swd = Swd::default();
                self.driving = true;
                ok(0)
            }
            "So" | "SO" => {
                let (Some(len), Some(value)) = (parse_hex(args.get(..2).unwrap_or("")), parse_hex(args.get(2..).unwrap_or(""))) else {
                    return error(2);
                };
                let len = len.min(64) as u32;
                self.turn(dap, true);
                for i in 0..len {
                    self.swd.clock(dap, Some(value >> i & 1 == 1));
                }
                if head == "SO" {
                    let parity = (value & mask(len)).count_ones() & 1 == 1;
                    self.swd.clock(dap, Some(parity));
                }
                ok(0)
            }
            "Si" | "SI" => {
                let Some(len) = parse_hex(args.get(..2).unwrap_or("")) else { return error(2) };
                let len = len.min(64) as u32;
                self.turn(dap, false);
                let mut value = 0u64;
                for i in 0..len {
                    value |= u64::from(self.swd.clock(dap, None)) << i;
                }
                if head == "SI" {
                    let parity = self.swd.clock(dap, None);
                    if (value.count_ones() & 1 == 1) != parity {
                        return error(value);
                    }
                }
                ok(value)
            }
            _ => "&N0#".into(),
        }
    }

    /// One cycle with SWDIO released when the direction changes.
    fn turn(&mut self, dap: &mut Dap, driving: bool) {
        if self.driving != driving {
            self.swd.clock(dap, None);
            self.driving = driving;
        }
    }
}

fn mask(len: u32) -> u64 {
    if len >= 64 { u64::MAX } else { (1u64 << len) - 1 }
}
