//! The ADIv5 debug port and its one AHB-AP (MEM-AP), over the modelled core.
//!
//! DP (DPv1, an STM32F4's SW-DP): DPIDR, ABORT, CTRL/STAT with the CDBGPWRUPREQ /
//! CSYSPWRUPREQ request-acknowledge handshake and the sticky flags, SELECT, RESEND and
//! RDBUFF. AP 0: IDR, CSW (8/16/32-bit sizes, single and packed auto-increment), TAR,
//! DRW, BD0-BD3, CFG and BASE. Other APs read as 0 (absent). Auto-increment wraps TAR
//! within 4 KiB, as the Cortex-M3/M4 AHB-AP (IDR variant 1) does: ADIv5 only promises
//! 1 KiB, and pyOCD, which knows this AP, reads across 1 KiB boundaries in one burst.
//!
//! Register accesses here are immediate; the SWD layer adds ADIv5's posting (an AP read
//! returns the previous AP read's value, the current one comes from RDBUFF).
//!
//! Errors: a memory access the bus refuses sets CTRL/STAT.STICKYERR and answers FAULT,
//! and so does every AP access until ABORT clears it (silicon answers OK for the posted
//! access that failed and FAULT for the next one; tools handle both the same way).

use crate::core::{BusError, Core};
use crate::stats::Stats;

/// The answer of a DP or AP access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ack {
    Ok,
    Wait,
    Fault,
}

/// SW-DP DPIDR of an STM32F4 (ARM DPv1, designer 0x23B, version 2... revision 2).
pub const DPIDR: u32 = 0x2BA0_1477;
/// AHB-AP IDR of a Cortex-M4.
pub const AP_IDR: u32 = 0x2477_0011;
/// The ROM table's address, format bit and present bit.
pub const AP_BASE: u32 = 0xE00F_F003;

const CSYSPWRUPREQ: u32 = 1 << 30;
const CDBGPWRUPREQ: u32 = 1 << 28;
const CSYSPWRUPACK: u32 = 1 << 31;
const CDBGPWRUPACK: u32 = 1 << 29;
const STICKYORUN: u32 = 1 << 1;
const STICKYCMP: u32 = 1 << 4;
const STICKYERR: u32 = 1 << 5;
const READOK: u32 = 1 << 6;
const WDATAERR: u32 = 1 << 7;

/// CSW: DeviceEn (bit 6) reads 1; Prot and the other writable bits are kept.
const CSW_DEVICE_EN: u32 = 1 << 6;
const CSW_WRITABLE: u32 = 0xFF00_0F37;
/// The auto-increment modulus: TAR[11:0] increments, the rest stays.
const AUTOINC_PAGE: u32 = 0x1000;

pub struct Dap {
    pub core: Core,
    pub stats: Stats,
    ctrl_stat: u32,
    select: u32,
    csw: u32,
    tar: u32,
    /// The last AP read's result (RDBUFF).
    rdbuff: u32,
    /// The port is a JTAG-DP: CTRL/STAT's sticky flags are write-one-to-clear there; on
    /// a SW-DP only ABORT clears them.
    jtag: bool,
    /// QEMU memory read ahead for a run of auto-incrementing word reads: one gdbstub
    /// request instead of one per word. Dropped on any AP write and whenever the core
    /// runs; never holds modelled registers.
    ahead: Option<(u32, Vec<u8>)>,
    /// Added to every front-door round trip (`--latency-us`): what a USB probe's
    /// request/response turnaround costs on top of the work.
    pub latency: std::time::Duration,
}

/// How far a run of DRW word reads is read ahead (within the auto-increment page).
const READ_AHEAD: u32 = 1024;

impl Dap {
    pub fn new(core: Core) -> Dap {
        Dap { core, stats: Stats::default(), ctrl_stat: 0, select: 0, csw: 0x2300_0002 | CSW_DEVICE_EN, tar: 0, rdbuff: 0, jtag: false, ahead: None, latency: std::time::Duration::ZERO }
    }

    /// One front-door round trip: counted, and delayed by the configured latency (the
    /// caller holds the lock, as the probe is busy for that long).
    pub fn round_trip(&mut self) {
        self.stats.round_trips += 1;
        if !self.latency.is_zero() {
            std::thread::sleep(self.latency);
        }
    }

    /// Which wire the client speaks: a JTAG-DP (OpenOCD's bitbang door) or a SW-DP.
    pub fn set_jtag(&mut self, jtag: bool) {
        self.jtag = jtag;
    }

    pub fn dp_read(&mut self, a: u8) -> (Ack, u32) {
        self.stats.dp_accesses += 1;
        match a & 0xC {
            0x0 => (Ack::Ok, DPIDR),
            0x4 => match self.select & 0xF {
                0 => (Ack::Ok, self.ctrl_stat_value()),
                _ => (Ack::Ok, 0), // DLCR, TARGETID... : not on a DPv1
            },
            0x8 => (Ack::Ok, self.rdbuff), // RESEND
            _ => (Ack::Ok, self.rdbuff),   // RDBUFF
        }
    }

    fn ctrl_stat_value(&self) -> u32 {
        let mut v = self.ctrl_stat;
        if v & CSYSPWRUPREQ != 0 {
            v |= CSYSPWRUPACK;
        }
        if v & CDBGPWRUPREQ != 0 {
            v |= CDBGPWRUPACK;
        }
        v | READOK
    }

    pub fn dp_write(&mut self, a: u8, v: u32) -> Ack {
        self.stats.dp_accesses += 1;
        match a & 0xC {
            0x0 => {
                // ABORT: STKCMPCLR, STKERRCLR, WDERRCLR, ORUNERRCLR.
                let mut clear = 0;
                if v & (1 << 1) != 0 {
                    clear |= STICKYCMP;
                }
                if v & (1 << 2) != 0 {
                    clear |= STICKYERR;
                }
                if v & (1 << 3) != 0 {
                    clear |= WDATAERR;
                }
                if v & (1 << 4) != 0 {
                    clear |= STICKYORUN;
                }
                self.ctrl_stat &= !clear;
            }
            0x4 if self.select & 0xF == 0 => {
                // The request bits and ORUNDETECT/TRNMODE/MASKLANE are writable; the
                // sticky flags clear only through ABORT on a SW-DP, and also by writing
                // them as 1 on a JTAG-DP.
                let mut sticky = self.ctrl_stat & (STICKYORUN | STICKYCMP | STICKYERR | WDATAERR);
                if self.jtag {
                    sticky &= !(v & (STICKYORUN | STICKYCMP | STICKYERR));
                }
                self.ctrl_stat = (v & 0x5000_0F0D) | sticky;
            }
            0x4 => {}
            0x8 => self.select = v,
            _ => {} // TARGETSEL (DPv2 only)
        }
        Ack::Ok
    }

    /// CTRL/STAT.STICKYERR: AP accesses answer FAULT until ABORT clears it.
    pub fn sticky_error(&self) -> bool {
        self.ctrl_stat & STICKYERR != 0
    }

    /// The last AP read's result, as RDBUFF holds it.
    pub fn rdbuff(&self) -> u32 {
        self.rdbuff
    }

    /// DP SELECT as last written.
    pub fn select(&self) -> u32 {
        self.select
    }

    pub fn overrun_detect(&self) -> bool {
        self.ctrl_stat & 1 != 0
    }

    fn apsel(&self) -> u32 {
        self.select >> 24
    }

    fn ap_register(&self, a: u8) -> u32 {
        (self.select & 0xF0) | u32::from(a & 0xC)
    }

    fn size(&self) -> usize {
        match self.csw & 7 {
            0 => 1,
            1 => 2,
            _ => 4,
        }
    }

    /// TAR after a DRW access: single or packed increment, within the 4 KiB page.
    fn advance(&mut self) {
        let step = match (self.csw >> 4) & 3 {
            1 => self.size() as u32,
            2 => 4,
            _ => return,
        };
        self.tar = (self.tar & !(AUTOINC_PAGE - 1)) | (self.tar.wrapping_add(step) & (AUTOINC_PAGE - 1));
    }

    fn bus<T>(&mut self, r: Result<T, BusError>) -> Result<T, Ack> {
        r.map_err(|_| {
            self.ctrl_stat |= STICKYERR;
            Ack::Fault
        })
    }

    /// An AP register read, not posted (the SWD layer posts it).
    pub fn ap_read(&mut self, a: u8) -> (Ack, u32) {
        self.stats.ap_accesses += 1;
        if self.ctrl_stat & STICKYERR != 0 {
            return (Ack::Fault, 0);
        }
        // No AP but AP0: its registers read as zero (IDR 0 ends a client's AP scan),
        // and so does the RDBUFF that posts the read.
        if self.apsel() != 0 {
            self.rdbuff = 0;
            return (Ack::Ok, 0);
        }
        let v = match self.ap_register(a) {
            0x00 => Ok(self.csw | CSW_DEVICE_EN),
            0x04 => Ok(self.tar),
            0x0C => self.drw_read(),
            r @ 0x10..=0x1C => {
                let addr = (self.tar & !0xF) | (r & 0xC);
                self.stats.memory_bytes += 4;
                let r = self.core.read(addr, 4);
                self.bus(r)
            }
            0xF4 => Ok(0), // CFG: little-endian, 32-bit addresses
            0xF8 => Ok(AP_BASE),
            0xFC => Ok(AP_IDR),
            _ => Ok(0),
        };
        match v {
            Ok(v) => {
                self.rdbuff = v;
                (Ack::Ok, v)
            }
            Err(ack) => (ack, 0),
        }
    }

    /// A word at `addr` from the read-ahead buffer, filling it when `addr` starts a run.
    fn read_ahead(&mut self, addr: u32) -> Option<u32> {
        if addr & 3 != 0 || addr >= 0xE000_0000 || self.core.is_running() {
            self.ahead = None;
            return None;
        }
        let hit = |a: &Option<(u32, Vec<u8>)>| {
            a.as_ref().filter(|(start, b)| addr >= *start && addr + 4 <= start + b.len() as u32).map(|(start, b)| {
                let o = (addr - start) as usize;
                u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
            })
        };
        if let Some(v) = hit(&self.ahead) {
            return Some(v);
        }
        let page_end = (addr & !(AUTOINC_PAGE - 1)) + AUTOINC_PAGE;
        let len = READ_AHEAD.min(page_end - addr).min(0xE000_0000 - addr);
        let mut buf = vec![0u8; len as usize];
        // A block that is not all readable: fall back to the word alone (its own error).
        self.core.read_block(addr, &mut buf).ok()?;
        self.ahead = Some((addr, buf));
        hit(&self.ahead)
    }

    fn drw_read(&mut self) -> Result<u32, Ack> {
        let size = self.size();
        if size == 4 && (self.csw >> 4) & 3 != 0 {
            let addr = self.tar;
            if let Some(v) = self.read_ahead(addr) {
                self.stats.memory_bytes += 4;
                self.advance();
                return Ok(v);
            }
        }
        let packed = (self.csw >> 4) & 3 == 2 && size < 4;
        let mut word = 0;
        let count = if packed { 4 / size } else { 1 };
        for i in 0..count {
            let addr = self.tar;
            self.stats.memory_bytes += size as u64;
            let r = self.core.read(addr, size);
            let v = self.bus(r)?;
            // The data sits in the byte lanes of its address.
            let lane = if packed { 8 * (i * size) as u32 } else { 8 * (addr & 3) };
            word |= v << lane;
            if packed {
                self.tar = (self.tar & !(AUTOINC_PAGE - 1)) | (self.tar.wrapping_add(size as u32) & (AUTOINC_PAGE - 1));
            }
        }
        if !packed {
            self.advance();
        }
        Ok(word)
    }

    pub fn ap_write(&mut self, a: u8, v: u32) -> Ack {
        self.stats.ap_accesses += 1;
        self.ahead = None;
        if self.ctrl_stat & STICKYERR != 0 {
            return Ack::Fault;
        }
        if self.apsel() != 0 {
            return Ack::Ok;
        }
        let r = match self.ap_register(a) {
            0x00 => {
                self.csw = (v & CSW_WRITABLE) | CSW_DEVICE_EN;
                Ok(())
            }
            0x04 => {
                self.tar = v;
                Ok(())
            }
            0x0C => self.drw_write(v),
            r @ 0x10..=0x1C => {
                let addr = (self.tar & !0xF) | (r & 0xC);
                self.stats.memory_bytes += 4;
                let r = self.core.write(addr, v, 4);
                self.bus(r)
            }
            _ => Ok(()),
        };
        match r {
            Ok(()) => Ack::Ok,
            Err(ack) => ack,
        }
    }

    fn drw_write(&mut self, v: u32) -> Result<(), Ack> {
        let size = self.size();
        let packed = (self.csw >> 4) & 3 == 2 && size < 4;
        let count = if packed { 4 / size } else { 1 };
        for i in 0..count {
            let addr = self.tar;
            let lane = if packed { 8 * (i * size) as u32 } else { 8 * (addr & 3) };
            self.stats.memory_bytes += size as u64;
            let r = self.core.write(addr, v >> lane, size);
            self.bus(r)?;
            if packed {
                self.tar = (self.tar & !(AUTOINC_PAGE - 1)) | (self.tar.wrapping_add(size as u32) & (AUTOINC_PAGE - 1));
            }
        }
        if !packed {
            self.advance();
        }
        Ok(())
    }
}
