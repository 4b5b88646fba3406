//! The Black Magic Probe remote protocol over TCP: the door probe-rs' own BMP driver
//! (`--probe 1d50:6018:HOST:PORT`) connects to.
//!
//! Commands are `!...#`, answers `&K<hex>#` (OK), `&E<hex>#` (error), `&N<hex>#`
//! (unsupported); anything outside `!...#` (the `+` that resets a real probe's parser)
//! is skipped. By default this door speaks protocol version 0, the one without
//! accelerators: the high-level check `!HC#` answers an error, so probe-rs runs its own
//! ARM stack on raw SWD sequences, as over a CMSIS-DAP probe. With
//! `Door::with_protocol(3)` (`--bmp-protocol 3`) it also answers the v3 ADIv5 commands
//! (`adiv5` below), one DP/AP access or memory block per round trip. Raw SWD: `!So<len><hex>#` clocks out `len` bits
//! (LSB first), `!Si<len>#` clocks in `len` bits, `!SO`/`!SI` the same with a parity bit.
//! As the BMP firmware does (swdptap.c), a change of direction inserts one turnaround
//! cycle in which nobody drives SWDIO.

use std::io::{BufReader, BufWriter, Read, Write};
use std::net::TcpStream;
use std::sync::Mutex;

use crate::dap::{Ack, Dap};
use crate::swd::Swd;

/// What the probe says it is, in answer to `!GA#`.
pub const VERSION: &str = "Black Magic Probe (isrscope-vprobe, virtual) v1.10.0, Hardware Version 0";

pub struct Door {
    swd: Swd,
    /// The direction of the last SWD sequence: true when the host drove SWDIO.
    driving: bool,
    /// The remote protocol version answered to `!HC#`: 0 (raw SWD only) or 3 (also the
    /// ADIv5 commands `!A...`, one DP/AP access or one memory block per round trip).
    protocol: u8,
}

impl Default for Door {
    fn default() -> Self {
        Door { swd: Swd::default(), driving: true, protocol: 0 }
    }
}

/// The highest remote protocol version this door speaks.
pub const MAX_PROTOCOL: u8 = 3;

/// BMP's error codes (its remote.h): an ADIv5 access answered FAULT.
const REMOTE_ERROR_FAULT: u64 = 3;
/// The largest memory block one `!Am`/`!AM` moves (the firmware's buffer).
const MEM_BLOCK_MAX: usize = 1024;
/// CSW.AddrInc single.
const CSW_ADDRINC_SINGLE: u32 = 1 << 4;

fn parse_hex(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    u64::from_str_radix(s, 16).ok()
}

impl Door {
    /// A door speaking remote protocol `version` (0 or [`MAX_PROTOCOL`]).
    pub fn with_protocol(version: u8) -> Door {
        Door { protocol: version.min(MAX_PROTOCOL), ..Door::default() }
    }

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
            // Version 0 answers the check with an error: no accelerated ADIv5 commands.
            "HC" if self.protocol == 0 => error(1),
            "HC" => ok(u64::from(self.protocol)),
            "Ad" | "AR" | "Aa" | "AA" | "Am" | "AM" if self.protocol >= 3 => adiv5(dap, head, args),
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

/// The protocol v3 ADIv5 commands, as the BMP firmware's remote.c answers them: the
/// fields are hex, `index` (the multi-drop DP, ignored: one DP here) and `apsel` first;
/// register addresses carry bit 8 for an AP register; values sent are MSB first
/// (`hex_string_to_num`), values and memory answered are the bytes in memory order
/// (`remote_respond_buf`). An access answered FAULT gives `&E<fault << 8 | 3>#` and
/// the sticky flags are cleared, as the firmware's error recovery does.
fn adiv5(dap: &mut Dap, head: &str, args: &str) -> String {
    // Lab fault injection: a probe whose ADIv5 engine refuses everything (tests how the
    // client copes: vprobe/tests/attach_probe_rs.rs).
    if std::env::var_os("ISRSCOPE_VPROBE_REFUSE_ADIV5").is_some() {
        return "&P0#".into();
    }
    let field = |from: usize, len: usize| args.get(from..from + len).and_then(parse_hex);
    crate::core::trace(format_args!("bmp !{head}{args}"));
    let (Some(_index), Some(apsel)) = (field(0, 2), field(2, 2)) else { return "&P0#".into() };
    let apsel = apsel as u32;
    let bytes = |data: &[u8]| -> String {
        let mut s = String::from("&K");
        for b in data {
            s.push_str(&format!("{b:02x}"));
        }
        s.push('#');
        s
    };
    let result = match head {
        "Ad" => field(4, 4).ok_or(()).map(|addr| {
            let (ack, v) = dap.dp_read(addr as u8);
            (ack, Some(v))
        }),
        "AR" => match (field(4, 4), field(8, 8)) {
            // `apsel` is R/nW here.
            (Some(addr), Some(value)) => Ok(raw_access(dap, apsel != 0, addr as u16, value as u32)),
            _ => Err(()),
        },
        "Aa" => field(4, 4).ok_or(()).map(|addr| {
            let (ack, v) = ap_read(dap, apsel, addr as u8);
            (ack, Some(v))
        }),
        "AA" => match (field(4, 4), field(8, 8)) {
            (Some(addr), Some(value)) => Ok((ap_write(dap, apsel, addr as u8, value as u32), None)),
            _ => Err(()),
        },
        "Am" => match (field(4, 8), field(12, 8), field(20, 8)) {
            (Some(csw), Some(addr), Some(len)) if len as usize <= MEM_BLOCK_MAX => {
                let mut data = vec![0u8; len as usize];
                let ack = mem_read(dap, apsel, csw as u32, addr as u32, &mut data);
                if matches!(ack, Ack::Ok) {
                    return bytes(&data);
                }
                Ok((ack, None))
            }
            _ => Err(()),
        },
        _ => match (field(4, 8), field(12, 2), field(14, 8), field(22, 8)) {
            // "AM": csw, align, address, length, then the data.
            (Some(csw), Some(align), Some(addr), Some(len)) if len as usize <= MEM_BLOCK_MAX && align <= 2 && len % (1 << align) == 0 => {
                let hex = args.get(30..30 + 2 * len as usize).unwrap_or("");
                let data: Option<Vec<u8>> = (0..len as usize).map(|i| hex.get(2 * i..2 * i + 2).and_then(|b| u8::from_str_radix(b, 16).ok())).collect();
                match data {
                    Some(data) => Ok((mem_write(dap, apsel, csw as u32, align as u32, addr as u32, &data), None)),
                    None => Err(()),
                }
            }
            _ => Err(()),
        },
    };
    match result {
        Err(()) => "&P0#".into(),
        Ok((Ack::Ok, Some(v))) => bytes(&v.to_le_bytes()),
        Ok((Ack::Ok, None)) => "&K0#".into(),
        Ok((ack, _)) => {
            let fault: u64 = match ack {
                Ack::Wait => 2,
                _ => 4,
            };
            // STKERRCLR, WDERRCLR, ORUNERRCLR, STKCMPCLR.
            dap.dp_write(0x0, 0x1E);
            format!("&E{:x}#", fault << 8 | REMOTE_ERROR_FAULT)
        }
    }
}

/// `adiv5_ap_read`: SELECT, the access, RDBUFF (the SW-DP posts AP reads).
fn ap_read(dap: &mut Dap, apsel: u32, addr: u8) -> (Ack, u32) {
    dap.dp_write(0x8, apsel << 24 | u32::from(addr & 0xF0));
    let (ack, _) = dap.ap_read(addr);
    if !matches!(ack, Ack::Ok) {
        return (ack, 0);
    }
    dap.dp_read(0xC)
}

fn ap_write(dap: &mut Dap, apsel: u32, addr: u8, value: u32) -> Ack {
    dap.dp_write(0x8, apsel << 24 | u32::from(addr & 0xF0));
    dap.ap_write(addr, value)
}

/// `adiv5_dp_low_access`: one DP or AP (bit 8) access as it comes, no SELECT of its own.
fn raw_access(dap: &mut Dap, read: bool, addr: u16, value: u32) -> (Ack, Option<u32>) {
    let a = (addr & 0xFF) as u8;
    match (addr & 0x100 != 0, read) {
        (false, true) => {
            let (ack, v) = dap.dp_read(a);
            (ack, Some(v))
        }
        (false, false) => (dap.dp_write(a, value), Some(0)),
        (true, true) => {
            let (ack, v) = dap.ap_read(a);
            (ack, Some(v))
        }
        (true, false) => (dap.ap_write(a, value), Some(0)),
    }
}

/// CSW with the access size and single increment, as `adiv5_mem_read` sets it.
fn csw_for(csw: u32, size_log2: u32) -> u32 {
    (csw & !0x37) | size_log2 | CSW_ADDRINC_SINGLE
}

/// The widest access both the address and the length allow (log2 of its bytes).
fn alignment(addr: u32, len: usize) -> u32 {
    match (addr as usize | len) & 3 {
        0 => 2,
        2 => 1,
        _ => 0,
    }
}

/// The MEM-AP accesses of one memory command, as the firmware's `adiv5_mem_read` and
/// `adiv5_mem_write_sized` make them: CSW (size, single increment) and TAR once, then
/// one DRW access per `1 << size_log2` bytes through `access(dap, index, address)`, TAR
/// written again where the increment would wrap (every 1 KiB, the architecture's
/// minimum). The first access that is not OK ends it.
fn mem_accesses(
    dap: &mut Dap,
    apsel: u32,
    csw: u32,
    size_log2: u32,
    addr: u32,
    count: usize,
    mut access: impl FnMut(&mut Dap, usize, u32) -> Ack,
) -> Ack {
    let ok = |ack: &Ack| matches!(ack, Ack::Ok);
    let ack = ap_write(dap, apsel, 0x00, csw_for(csw, size_log2));
    if !ok(&ack) {
        return ack;
    }
    for i in 0..count {
        let at = addr.wrapping_add((i << size_log2) as u32);
        if i == 0 || at & 0x3FF == 0 {
            let ack = dap.ap_write(0x04, at);
            if !ok(&ack) {
                return ack;
            }
        }
        let ack = access(dap, i, at);
        if !ok(&ack) {
            return ack;
        }
    }
    Ack::Ok
}

/// `!Am`: `data.len()` bytes from `addr`, in the widest accesses both allow.
fn mem_read(dap: &mut Dap, apsel: u32, csw: u32, addr: u32, data: &mut [u8]) -> Ack {
    if data.is_empty() {
        return Ack::Ok;
    }
    let size_log2 = alignment(addr, data.len());
    let size = 1usize << size_log2;
    let count = data.len() / size;
    mem_accesses(dap, apsel, csw, size_log2, addr, count, |dap, i, at| {
        let (ack, word) = dap.ap_read(0x0C);
        if !matches!(ack, Ack::Ok) {
            return ack;
        }
        let lane = 8 * (at & 3);
        for (j, b) in data[i * size..(i + 1) * size].iter_mut().enumerate() {
            *b = (word >> (lane + 8 * j as u32)) as u8;
        }
        Ack::Ok
    })
}

/// `!AM`: `data` to `addr` in accesses of `1 << align` bytes.
fn mem_write(dap: &mut Dap, apsel: u32, csw: u32, align: u32, addr: u32, data: &[u8]) -> Ack {
    let size = 1usize << align;
    mem_accesses(dap, apsel, csw, align, addr, data.len() / size, |dap, i, at| {
        let mut word = 0u32;
        for (j, b) in data[i * size..(i + 1) * size].iter().enumerate() {
            word |= u32::from(*b) << (8 * ((at & 3) + j as u32));
        }
        dap.ap_write(0x0C, word)
    })
}
