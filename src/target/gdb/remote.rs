//! [`GdbTarget`]: the [`Target`] trait over an RSP connection.
//!
//! Economy first: the register file comes in one `g` (mapped through the target
//! description), single registers by `p`, memory in the largest blocks the server
//! takes; registers and memory are cached while the core is halted and forgotten on
//! resume, step, reset or write.

use std::collections::BTreeMap;
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use super::conn::{Connection, Stats, Transport};
use super::packet::{self, console_output, error_code, from_hex, to_hex};
use super::stop::StopReply;
use super::tdesc::TargetDescription;
use super::{Address, ConnectOptions, ServerKind};
use crate::model::regs::scb;
use crate::target::{
    BreakpointKind, Capabilities, CatchKind, CoreState, Registers, Result, StopReason, Target,
    TargetError, reg,
};

/// DFSR.VCATCH (ARMv7-M ARM C1.6.1).
const VCATCH: u32 = 1 << 3;
/// Bytes cached while halted before the cache is dropped and started afresh.
const MEMORY_CACHE_LIMIT: usize = 4 << 20;

#[derive(Clone, Debug)]
enum RunState {
    Halted(StopReason),
    Running,
    Exited(String),
}

/// What the server said it supports.
#[derive(Clone, Debug, Default)]
struct Features {
    packet_size: usize,
    no_ack: bool,
    xfer_features: bool,
    vcont: bool,
    /// `X` binary writes: unknown until the first write probes it.
    binary_write: Option<bool>,
}

/// A target behind a GDB server.
pub struct GdbTarget {
    conn: Connection,
    address: Address,
    tdesc: TargetDescription,
    features: Features,
    server: ServerKind,
    caps: Capabilities,
    state: RunState,
    /// Registers read since the last halt, by their trait names.
    regs: Registers,
    /// Whether `regs` holds the whole `g` reply already.
    have_g: bool,
    have_all_regs: bool,
    memory: Vec<(u32, Vec<u8>)>,
    memory_cached: usize,
    breakpoints: BTreeMap<u32, BreakpointKind>,
    /// The vector catch setting found on the server (OpenOCD), restored on detach.
    vector_catch_restore: Option<String>,
    console: Vec<u8>,
    last_stop: Option<StopReply>,
    detached: bool,
}

impl GdbTarget {
    /// Connects to `address` (`host:port` or `unix:/path`), learns what the server
    /// supports and its registers, and asks why the target is stopped.
    pub fn connect(address: &str, options: &ConnectOptions) -> Result<Self> {
        let address: Address = address.parse()?;
        let stream = open(&address, options.connect_timeout)?;
        Self::over(stream, address, options)
    }

    /// Speaks RSP over an already open stream (tests, proxies).
    pub fn over(
        stream: Box<dyn Transport>,
        address: Address,
        options: &ConnectOptions,
    ) -> Result<Self> {
        let mut t = GdbTarget {
            conn: Connection::new(stream, options.timeout, options.max_packet),
            address,
            tdesc: TargetDescription::default(),
            features: Features::default(),
            server: ServerKind::Unknown,
            caps: Capabilities::default(),
            state: RunState::Running,
            regs: Registers::new(),
            have_g: false,
            have_all_regs: false,
            memory: Vec::new(),
            memory_cached: 0,
            breakpoints: BTreeMap::new(),
            vector_catch_restore: None,
            console: Vec::new(),
            last_stop: None,
            detached: false,
        };
        t.handshake(options)?;
        Ok(t)
    }

    fn handshake(&mut self, options: &ConnectOptions) -> Result<()> {
        let reply = self.request_text(
            "qSupported:swbreak+;hwbreak+;vContSupported+;xmlRegisters=arm",
            "negotiating features (qSupported)",
        )?;
        for item in reply.split(';') {
            match item.split_once('=') {
                Some(("PacketSize", size)) => {
                    self.features.packet_size = usize::from_str_radix(size, 16).unwrap_or(0);
                }
                _ => match item {
                    "QStartNoAckMode+" => self.features.no_ack = true,
                    "qXfer:features:read+" => self.features.xfer_features = true,
                    _ => {}
                },
            }
        }
        // GDB's default when the server does not say: 400 bytes.
        if self.features.packet_size < 64 {
            self.features.packet_size = 400;
        }
        if self.features.no_ack {
            let ok = self.request_text("QStartNoAckMode", "switching to no-ack mode")?;
            if ok == "OK" {
                self.conn.set_no_ack();
            }
        }
        if !self.features.xfer_features {
            return Err(TargetError::Unsupported(
                "a GDB server without target descriptions (qXfer:features:read): isrscope takes \
                 register numbers from it"
                    .into(),
            ));
        }
        let root = self.xfer_features("target.xml")?;
        let tdesc = TargetDescription::load(&root, &mut |annex| self.xfer_features(annex))?;
        if tdesc.find(reg::PC).is_none() {
            return Err(TargetError::Protocol {
                doing: "reading the target description".into(),
                message: "it has no register named pc: not an ARM M-profile target?".into(),
            });
        }
        self.tdesc = tdesc;

        let vcont = self.request_text("vCont?", "asking for vCont support")?;
        let actions: Vec<&str> = vcont.split(';').collect();
        self.features.vcont =
            actions.first() == Some(&"vCont") && actions.contains(&"c") && actions.contains(&"s");

        self.server = match &options.server {
            Some(kind) => kind.clone(),
            None if self
                .tdesc
                .features
                .iter()
                .any(|f| f.starts_with("org.qemu.")) =>
            {
                ServerKind::Qemu
            }
            None => self.probe_server(),
        };

        let stop = self.request("?", "asking why the target is stopped")?;
        let reply = self.parse_stop(&stop, "asking why the target is stopped")?;
        self.state = match &reply {
            StopReply::Signal { .. } => RunState::Halted(StopReason::Requested),
            other => RunState::Exited(other.describe()),
        };
        self.last_stop = Some(reply);

        let packet_size = self.features.packet_size;
        self.caps = Capabilities {
            vector_catch: self.server == ServerKind::OpenOcd,
            breakpoints: None,
            registers: self.register_names(),
            max_read: (packet_size / 2) & !3,
            live: true,
            description: format!(
                "gdb-remote ({}{}) at {}",
                self.server,
                options
                    .description
                    .as_deref()
                    .map(|d| format!(" {d}"))
                    .unwrap_or_default(),
                self.address
            ),
        };
        Ok(())
    }

    /// Asks the server its version through `monitor version`; its answer names it.
    fn probe_server(&mut self) -> ServerKind {
        let text = self.monitor("version").unwrap_or_default();
        let lower = text.to_ascii_lowercase();
        if lower.contains("open on-chip debugger") {
            ServerKind::OpenOcd
        } else if lower.contains("j-link") || lower.contains("segger") {
            ServerKind::JLink
        } else if lower.contains("pyocd") {
            ServerKind::PyOcd
        } else if lower.contains("black magic") {
            ServerKind::BlackMagic
        } else if lower.contains("qemu") {
            ServerKind::Qemu
        } else {
            ServerKind::Unknown
        }
    }

    /// Closes the link without a word to the server (its process is being killed).
    pub fn abandon(&mut self) {
        self.conn.close();
        self.detached = true;
    }

    /// Traffic so far on this connection.
    pub fn stats(&self) -> Stats {
        self.conn.stats()
    }

    pub fn server(&self) -> &ServerKind {
        &self.server
    }

    pub fn target_description(&self) -> &TargetDescription {
        &self.tdesc
    }

    /// The last stop reply, verbatim (every key:value pair).
    pub fn last_stop_reply(&self) -> Option<&StopReply> {
        self.last_stop.as_ref()
    }

    /// Console output (`O` packets) received so far, taken out.
    pub fn take_console_output(&mut self) -> String {
        String::from_utf8_lossy(&std::mem::take(&mut self.console)).into_owned()
    }

    /// Runs a server monitor command (`monitor reset halt` in gdb) and returns its output.
    pub fn monitor(&mut self, command: &str) -> Result<String> {
        let doing = format!("running the monitor command {command:?}");
        self.conn.send(
            format!("qRcmd,{}", to_hex(command.as_bytes())).as_bytes(),
            &doing,
        )?;
        self.conn.stats_round_trip();
        let mut output = Vec::new();
        loop {
            let deadline = Instant::now() + self.conn.timeout;
            let Some(reply) = self.conn.recv(deadline, &doing)? else {
                return Err(self.conn.fail(TargetError::Timeout {
                    doing,
                    timeout: self.conn.timeout,
                }));
            };
            if let Some(out) = console_output(&reply) {
                output.extend(out);
                continue;
            }
            return match reply.as_slice() {
                b"OK" => Ok(String::from_utf8_lossy(&output).into_owned()),
                b"" => Err(TargetError::Unsupported(format!(
                    "monitor commands on this server ({command:?})"
                ))),
                r => {
                    if let Some(code) = error_code(r) {
                        return Err(TargetError::Refused {
                            doing,
                            message: refused(&code, &output),
                        });
                    }
                    // Some servers answer with the hex output itself.
                    match from_hex(r) {
                        Some(out) => {
                            output.extend(out);
                            Ok(String::from_utf8_lossy(&output).into_owned())
                        }
                        None => Err(self.malformed(&doing, r)),
                    }
                }
            };
        }
    }

    fn request(&mut self, payload: &str, doing: &str) -> Result<Vec<u8>> {
        self.conn.request(payload.as_bytes(), doing)
    }

    fn request_text(&mut self, payload: &str, doing: &str) -> Result<String> {
        let reply = self.request(payload, doing)?;
        if let Some(code) = error_code(&reply) {
            return Err(TargetError::Refused {
                doing: doing.into(),
                message: refused(&code, &[]),
            });
        }
        String::from_utf8(reply).map_err(|e| self.malformed(doing, e.as_bytes()))
    }

    /// A reply that does not fit the request: the stream may be out of step, so the
    /// connection is given up.
    fn malformed(&mut self, doing: &str, reply: &[u8]) -> TargetError {
        let shown: String = String::from_utf8_lossy(&reply[..reply.len().min(60)]).into_owned();
        self.conn.fail(TargetError::Protocol {
            doing: doing.into(),
            message: format!(
                "unexpected reply {shown:?}{}",
                if reply.len() > 60 { "..." } else { "" }
            ),
        })
    }

    fn xfer_features(&mut self, annex: &str) -> Result<String> {
        let doing = format!("reading the target description ({annex})");
        let chunk = self.features.packet_size.saturating_sub(8).max(64);
        let mut text = Vec::new();
        loop {
            let reply = self.conn.request(
                format!("qXfer:features:read:{annex}:{:x},{chunk:x}", text.len()).as_bytes(),
                &doing,
            )?;
            match reply.split_first() {
                Some((b'l', data)) => {
                    text.extend_from_slice(data);
                    break;
                }
                Some((b'm', data)) if !data.is_empty() => text.extend_from_slice(data),
                _ => {
                    if let Some(code) = error_code(&reply) {
                        return Err(TargetError::Refused {
                            doing,
                            message: refused(&code, &[]),
                        });
                    }
                    return Err(self.malformed(&doing, &reply));
                }
            }
            if text.len() > 1 << 20 {
                return Err(self.conn.fail(TargetError::Protocol {
                    doing,
                    message: "description over 1 MiB".into(),
                }));
            }
        }
        String::from_utf8(text).map_err(|_| TargetError::Protocol {
            doing,
            message: "not UTF-8".into(),
        })
    }

    fn parse_stop(&mut self, payload: &[u8], doing: &str) -> Result<StopReply> {
        if let Some(code) = error_code(payload) {
            return Err(TargetError::Refused {
                doing: doing.into(),
                message: refused(&code, &[]),
            });
        }
        StopReply::parse(payload).map_err(|_| self.malformed(doing, payload))
    }

    /// Names of the registers this target has, in the trait's spelling: 64-bit `dN`
    /// registers are offered as their halves `s(2N)`, `s(2N+1)`.
    fn register_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for r in &self.tdesc.registers {
            match split_double(&r.name, r.bitsize) {
                Some(n) => names.extend([reg::s(2 * n), reg::s(2 * n + 1)]),
                None if r.bitsize <= 32 => names.push(r.name.clone()),
                None => {}
            }
        }
        names
    }

    fn halted(&self, what: &str) -> Result<()> {
        match &self.state {
            RunState::Halted(_) => Ok(()),
            RunState::Running => Err(TargetError::NotHalted(what.into())),
            RunState::Exited(why) => Err(TargetError::Disconnected {
                doing: what.into(),
                detail: Some(why.clone()),
            }),
        }
    }

    fn forget_state(&mut self) {
        self.regs = Registers::new();
        self.have_g = false;
        self.have_all_regs = false;
        self.memory.clear();
        self.memory_cached = 0;
    }

    /// Stores a raw register value under its trait name(s). Unavailable values
    /// (`xx..`) leave the register absent.
    fn store_register(&mut self, name: &str, bitsize: u32, raw: &[u8]) {
        let Some(bytes) = from_hex(raw) else { return };
        let word = |b: &[u8]| b.iter().rev().fold(0u32, |v, x| (v << 8) | u32::from(*x));
        if let Some(n) = split_double(name, bitsize) {
            if bytes.len() == 8 {
                self.regs.insert(reg::s(2 * n), word(&bytes[..4]));
                self.regs.insert(reg::s(2 * n + 1), word(&bytes[4..]));
            }
        } else if bitsize <= 32 && bytes.len() <= 4 {
            self.regs.insert(name, word(&bytes));
        }
    }

    fn read_g(&mut self) -> Result<()> {
        if self.have_g {
            return Ok(());
        }
        let doing = "reading the registers (g)";
        let reply = self.request("g", doing)?;
        if let Some(code) = error_code(&reply) {
            return Err(TargetError::Refused {
                doing: doing.into(),
                message: refused(&code, &[]),
            });
        }
        if reply.is_empty()
            || reply.len() % 2 != 0
            || !reply.iter().all(|b| b.is_ascii_hexdigit() || *b == b'x')
        {
            return Err(self.malformed(doing, &reply));
        }
        let layout: Vec<(String, u32, usize)> = self
            .tdesc
            .g_layout()
            .into_iter()
            .map(|(r, off)| (r.name.clone(), r.bitsize, off))
            .collect();
        for (name, bitsize, offset) in layout {
            let (start, end) = (offset * 2, offset * 2 + (bitsize as usize).div_ceil(8) * 2);
            if end > reply.len() {
                break; // the rest is not in the g packet: read by p
            }
            self.store_register(&name, bitsize, &reply[start..end]);
        }
        self.have_g = true;
        Ok(())
    }

    /// Reads one register by its number with `p`.
    fn read_p(&mut self, name: &str, regnum: u32, bitsize: u32) -> Result<()> {
        let doing = format!("reading register {name} (p{regnum:x})");
        let reply = self.request(&format!("p{regnum:x}"), &doing)?;
        if let Some(code) = error_code(&reply) {
            return Err(TargetError::Refused {
                doing,
                message: refused(&code, &[]),
            });
        }
        if reply.is_empty() {
            return Err(TargetError::Unsupported(format!(
                "reading register {name} with p"
            )));
        }
        if reply.len() != (bitsize as usize).div_ceil(8) * 2 {
            return Err(self.malformed(&doing, &reply));
        }
        self.store_register(name, bitsize, &reply);
        Ok(())
    }

    /// The description entry for a trait register name (`s5` lives in `d2`).
    fn locate(&self, name: &str) -> Option<(String, u32, u32)> {
        if let Some(r) = self.tdesc.find(name) {
            return Some((r.name.clone(), r.regnum, r.bitsize));
        }
        let n: usize = name.strip_prefix('s')?.parse().ok()?;
        let d = self
            .tdesc
            .find(&format!("d{}", n / 2))
            .filter(|d| d.bitsize == 64)?;
        Some((d.name.clone(), d.regnum, d.bitsize))
    }

    /// Whether the register's value arrives in a `g` reply (by offset, as GDB decides).
    fn in_g(&self, regnum: u32) -> bool {
        // Only known after one g; before it, assume the core registers (up to xpsr) are.
        if !self.have_g {
            return self
                .tdesc
                .find(reg::XPSR)
                .is_some_and(|x| regnum <= x.regnum);
        }
        false
    }

    /// Reads `names` with as few requests as possible: one `g` when two or more of them
    /// come in it, `p` for the others.
    fn fetch_registers(&mut self, names: &[&str]) -> Result<()> {
        let missing: Vec<(String, String, u32, u32)> = names
            .iter()
            .filter(|n| self.regs.get(n).is_none())
            .map(|n| {
                self.locate(n)
                    .map(|(raw, num, bits)| (n.to_string(), raw, num, bits))
                    .ok_or_else(|| TargetError::NoSuchRegister(n.to_string()))
            })
            .collect::<Result<_>>()?;
        if missing.is_empty() {
            return Ok(());
        }
        if missing
            .iter()
            .filter(|(_, _, num, _)| self.in_g(*num))
            .count()
            >= 2
        {
            self.read_g()?;
        }
        for (name, raw, num, bits) in missing {
            if self.regs.get(&name).is_none() {
                self.read_p(&raw, num, bits)?;
            }
        }
        Ok(())
    }

    fn write_raw_register(&mut self, raw: &str, regnum: u32, bytes: &[u8]) -> Result<()> {
        let doing = format!("writing register {raw} (P{regnum:x})");
        let reply = self.request(&format!("P{regnum:x}={}", to_hex(bytes)), &doing)?;
        match reply.as_slice() {
            b"OK" => Ok(()),
            b"" => Err(TargetError::Unsupported(format!(
                "writing register {raw} with P"
            ))),
            r => match error_code(r) {
                Some(code) => Err(TargetError::Refused {
                    doing,
                    message: refused(&code, &[]),
                }),
                None => Err(self.malformed(&doing, r)),
            },
        }
    }

    fn read_block(&mut self, address: u32, buf: &mut [u8]) -> Result<()> {
        let max = self.caps.max_read.max(4);
        let mut done = 0;
        while done < buf.len() {
            let here = address.wrapping_add(done as u32);
            let len = (buf.len() - done).min(max);
            let doing = format!("reading memory at {here:#010x} (m, {len} bytes)");
            let reply = self.request(&format!("m{here:x},{len:x}"), &doing)?;
            if let Some(code) = error_code(&reply) {
                return Err(TargetError::MemoryUnreadable {
                    address: here,
                    len,
                    message: format!("the server answered {code}{}", unmapped_hint(&code)),
                });
            }
            match from_hex(&reply) {
                Some(bytes) if bytes.len() == len => buf[done..done + len].copy_from_slice(&bytes),
                Some(bytes) if !bytes.is_empty() && bytes.len() < len => {
                    // A short read: the end of readable memory. The rest fails as a whole.
                    return Err(TargetError::MemoryUnreadable {
                        address: here.wrapping_add(bytes.len() as u32),
                        len: len - bytes.len(),
                        message: "the server returned fewer bytes than asked".into(),
                    });
                }
                _ => return Err(self.malformed(&doing, &reply)),
            }
            done += len;
        }
        Ok(())
    }

    fn cached(&self, address: u32, len: usize) -> Option<&[u8]> {
        self.memory.iter().find_map(|(start, bytes)| {
            let off = address.checked_sub(*start)? as usize;
            bytes.get(off..off.checked_add(len)?)
        })
    }

    fn write_block(&mut self, address: u32, data: &[u8]) -> Result<()> {
        let overhead = 64;
        let max = (self.features.packet_size.saturating_sub(overhead) / 2).max(16);
        if self.features.binary_write.is_none() {
            let reply = self.request(&format!("X{address:x},0:"), "probing binary writes (X)")?;
            self.features.binary_write = Some(reply == b"OK");
        }
        let binary = self.features.binary_write == Some(true);
        let mut done = 0;
        while done < data.len() {
            let here = address.wrapping_add(done as u32);
            let chunk = &data[done..data.len().min(done + max)];
            let doing = format!("writing memory at {here:#010x} ({} bytes)", chunk.len());
            let mut payload = if binary {
                format!("X{here:x},{:x}:", chunk.len())
            } else {
                format!("M{here:x},{:x}:", chunk.len())
            }
            .into_bytes();
            if binary {
                payload.extend(packet::escape_binary(chunk));
            } else {
                payload.extend(to_hex(chunk).into_bytes());
            }
            let reply = self.conn.request(&payload, &doing)?;
            match reply.as_slice() {
                b"OK" => {}
                r => match error_code(r) {
                    Some(code) => {
                        return Err(TargetError::Refused {
                            doing,
                            message: refused(&code, &[]) + unmapped_hint(&code),
                        });
                    }
                    None => return Err(self.malformed(&doing, r)),
                },
            }
            done += chunk.len();
        }
        Ok(())
    }

    fn breakpoint_packet(
        &mut self,
        insert: bool,
        address: u32,
        kind: BreakpointKind,
    ) -> Result<()> {
        let (z, what) = match kind {
            BreakpointKind::Software => ('0', "software"),
            BreakpointKind::Hardware => ('1', "hardware"),
        };
        let op = if insert { 'Z' } else { 'z' };
        let doing = format!(
            "{} a {what} breakpoint at {address:#010x}",
            if insert { "setting" } else { "clearing" }
        );
        // Kind 2: a 16-bit Thumb breakpoint instruction, what GDB uses for M-profile.
        let reply = self.request(&format!("{op}{z},{address:x},2"), &doing)?;
        match reply.as_slice() {
            b"OK" => Ok(()),
            b"" => Err(TargetError::Unsupported(format!(
                "{what} breakpoints ({op}{z})"
            ))),
            r => match error_code(r) {
                Some(code) => Err(TargetError::Refused {
                    doing,
                    message: refused(&code, &[]),
                }),
                None => Err(self.malformed(&doing, r)),
            },
        }
    }

    /// Waits for a stop reply until `deadline`, collecting console output on the way.
    fn wait_stop_reply(&mut self, deadline: Instant, doing: &str) -> Result<Option<StopReply>> {
        loop {
            let Some(reply) = self.conn.recv(deadline, doing)? else {
                return Ok(None);
            };
            if let Some(out) = console_output(&reply) {
                self.console.extend(out);
                continue;
            }
            return self.parse_stop(&reply, doing).map(Some);
        }
    }

    /// Turns a stop reply into the trait's terms and records the new state.
    fn on_stop(
        &mut self,
        reply: StopReply,
        stepping: bool,
        interrupted: bool,
    ) -> Result<StopReason> {
        self.forget_state();
        let reason = match &reply {
            StopReply::Signal { signal: 5, .. } if stepping => StopReason::Step,
            StopReply::Signal { signal: 2, .. } if interrupted => StopReason::Requested,
            StopReply::Signal { signal, .. } => {
                self.state = RunState::Halted(StopReason::Requested);
                let pc = if *signal == 5 && (!self.breakpoints.is_empty() || self.caps.vector_catch)
                {
                    // One g rather than p: whoever stopped here wants the rest next.
                    self.read_g()?;
                    Some(self.read_register(reg::PC)?)
                } else {
                    None
                };
                match pc {
                    Some(pc) if self.breakpoints.contains_key(&pc) => StopReason::Breakpoint { pc },
                    Some(_)
                        if self.vector_catch_restore.is_some() && self.vector_catch_fired()? =>
                    {
                        StopReason::VectorCatch
                    }
                    _ => StopReason::Other {
                        description: reply.describe(),
                    },
                }
            }
            other => {
                let why = other.describe();
                self.state = RunState::Exited(why.clone());
                self.last_stop = Some(reply);
                return Ok(StopReason::Other { description: why });
            }
        };
        self.state = RunState::Halted(reason.clone());
        self.last_stop = Some(reply);
        Ok(reason)
    }

    fn vector_catch_fired(&mut self) -> Result<bool> {
        let mut dfsr = [0u8; 4];
        self.read_memory(scb::DFSR, &mut dfsr)?;
        // DFSR.VCATCH tells a vector catch from a breakpoint on hardware.
        Ok(u32::from_le_bytes(dfsr) & VCATCH != 0)
    }

    /// One instruction, without the breakpoint dance.
    fn raw_step(&mut self) -> Result<StopReason> {
        let doing = "single-stepping";
        let cmd = if self.features.vcont { "vCont;s" } else { "s" };
        self.forget_state();
        self.conn.send(cmd.as_bytes(), doing)?;
        self.conn.stats_round_trip();
        self.state = RunState::Running;
        let deadline = Instant::now() + self.conn.timeout;
        match self.wait_stop_reply(deadline, doing)? {
            Some(reply) => self.on_stop(reply, true, false),
            None => Err(self.conn.fail(TargetError::Timeout {
                doing: doing.into(),
                timeout: self.conn.timeout,
            })),
        }
    }

    /// Runs `f` with the breakpoint at the current PC (if any) lifted for one step.
    fn step_off_breakpoint(&mut self) -> Result<Option<StopReason>> {
        if self.breakpoints.is_empty() {
            return Ok(None);
        }
        let pc = self.read_register(reg::PC)?;
        let Some(&kind) = self.breakpoints.get(&pc) else {
            return Ok(None);
        };
        self.breakpoint_packet(false, pc, kind)?;
        let stepped = self.raw_step();
        self.breakpoint_packet(true, pc, kind)?;
        stepped.map(Some)
    }

    fn restore_vector_catch(&mut self) -> Result<()> {
        if let Some(previous) = self.vector_catch_restore.take() {
            self.monitor(&format!("cortex_m vector_catch {previous}"))?;
        }
        Ok(())
    }
}

impl Target for GdbTarget {
    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    fn read_memory(&mut self, address: u32, buf: &mut [u8]) -> Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        let halted = matches!(self.state, RunState::Halted(_));
        if halted && let Some(bytes) = self.cached(address, buf.len()) {
            buf.copy_from_slice(bytes);
            return Ok(());
        }
        self.read_block(address, buf)?;
        if halted {
            if self.memory_cached + buf.len() > MEMORY_CACHE_LIMIT {
                self.memory.clear();
                self.memory_cached = 0;
            }
            self.memory_cached += buf.len();
            self.memory.push((address, buf.to_vec()));
        }
        Ok(())
    }

    fn write_memory(&mut self, address: u32, data: &[u8]) -> Result<()> {
        self.memory.clear();
        self.memory_cached = 0;
        self.write_block(address, data)
    }

    fn read_registers(&mut self) -> Result<Registers> {
        self.halted("read registers")?;
        if !self.have_all_regs {
            let names = self.caps.registers.clone();
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            self.read_g()?;
            self.fetch_registers(&names)?;
            self.have_all_regs = true;
        }
        Ok(self.regs.clone())
    }

    fn read_register(&mut self, name: &str) -> Result<u32> {
        self.halted(&format!("read register {name}"))?;
        self.fetch_registers(&[name])?;
        self.regs
            .get(name)
            .ok_or_else(|| TargetError::NoSuchRegister(name.into()))
    }

    fn read_register_set(&mut self, names: &[&str]) -> Result<Registers> {
        self.halted("read registers")?;
        let known: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| self.locate(n).is_some())
            .collect();
        self.fetch_registers(&known)?;
        let mut out = Registers::new();
        for n in known {
            if let Some(v) = self.regs.get(n) {
                out.insert(n, v);
            }
        }
        Ok(out)
    }

    fn write_register(&mut self, name: &str, value: u32) -> Result<()> {
        self.halted(&format!("write register {name}"))?;
        let (raw, regnum, bitsize) = self
            .locate(name)
            .ok_or_else(|| TargetError::NoSuchRegister(name.into()))?;
        let bytes = if bitsize == 64 {
            // sN is half of dN/2: keep the other half.
            let n: usize = name[1..].parse().unwrap_or(0);
            let (lo, hi) = (reg::s(n & !1), reg::s(n | 1));
            self.fetch_registers(&[&lo, &hi])?;
            let mut lo_v = self.regs.get(&lo).unwrap_or(0);
            let mut hi_v = self.regs.get(&hi).unwrap_or(0);
            if n % 2 == 0 {
                lo_v = value
            } else {
                hi_v = value
            }
            [lo_v.to_le_bytes(), hi_v.to_le_bytes()].concat()
        } else {
            value.to_le_bytes()[..(bitsize as usize).div_ceil(8).min(4)].to_vec()
        };
        self.write_raw_register(&raw, regnum, &bytes)?;
        self.forget_state();
        Ok(())
    }

    fn halt(&mut self, timeout: Duration) -> Result<StopReason> {
        match &self.state {
            RunState::Halted(reason) => return Ok(reason.clone()),
            RunState::Exited(why) => {
                return Err(TargetError::Disconnected {
                    doing: "halting the core".into(),
                    detail: Some(why.clone()),
                });
            }
            RunState::Running => {}
        }
        let doing = "halting the core (interrupt)";
        self.conn.send_interrupt(doing)?;
        let deadline = Instant::now() + timeout;
        match self.wait_stop_reply(deadline, doing)? {
            Some(reply) => self.on_stop(reply, false, true),
            None => Err(self.conn.fail(TargetError::Timeout {
                doing: doing.into(),
                timeout,
            })),
        }
    }

    fn resume(&mut self) -> Result<()> {
        match &self.state {
            RunState::Running => return Ok(()),
            RunState::Exited(why) => {
                return Err(TargetError::Disconnected {
                    doing: "resuming the core".into(),
                    detail: Some(why.clone()),
                });
            }
            RunState::Halted(_) => {}
        }
        if let Some(reason) = self.step_off_breakpoint()? {
            if !matches!(reason, StopReason::Step) {
                // Stepping off the breakpoint stopped somewhere that matters; stay there.
                return Ok(());
            }
            // The step may land on another breakpoint (an exception taken by that one
            // instruction enters a handler we break at): that is the stop to report.
            let pc = self.read_register(reg::PC)?;
            if self.breakpoints.contains_key(&pc) {
                self.state = RunState::Halted(StopReason::Breakpoint { pc });
                return Ok(());
            }
        }
        self.forget_state();
        let cmd = if self.features.vcont { "vCont;c" } else { "c" };
        self.conn.send(cmd.as_bytes(), "resuming the core")?;
        self.conn.stats_round_trip();
        self.state = RunState::Running;
        Ok(())
    }

    fn step(&mut self) -> Result<StopReason> {
        self.halted("single-step")?;
        match self.step_off_breakpoint()? {
            Some(reason) => Ok(reason),
            None => self.raw_step(),
        }
    }

    fn state(&mut self) -> Result<CoreState> {
        if matches!(self.state, RunState::Running) {
            let deadline = Instant::now() + Duration::from_millis(1);
            if let Some(reply) = self.wait_stop_reply(deadline, "polling the core's state")? {
                self.on_stop(reply, false, false)?;
            }
        }
        Ok(match &self.state {
            RunState::Running => CoreState::Running,
            RunState::Halted(reason) => CoreState::Halted {
                reason: reason.clone(),
            },
            RunState::Exited(why) => CoreState::Exited {
                description: why.clone(),
            },
        })
    }

    fn wait_for_stop(&mut self, timeout: Duration) -> Result<Option<StopReason>> {
        match &self.state {
            RunState::Halted(reason) => return Ok(Some(reason.clone())),
            RunState::Exited(why) => {
                return Ok(Some(StopReason::Other {
                    description: why.clone(),
                }));
            }
            RunState::Running => {}
        }
        let deadline = Instant::now() + timeout;
        match self.wait_stop_reply(deadline, "waiting for the core to stop")? {
            Some(reply) => self.on_stop(reply, false, false).map(Some),
            None => Ok(None),
        }
    }

    fn set_breakpoint(&mut self, address: u32, kind: BreakpointKind) -> Result<()> {
        self.halted(&format!("set a breakpoint at {address:#010x}"))?;
        let address = address & !1;
        if self.breakpoints.get(&address) == Some(&kind) {
            return Ok(());
        }
        if let Some(old) = self.breakpoints.remove(&address) {
            self.breakpoint_packet(false, address, old)?;
        }
        self.breakpoint_packet(true, address, kind)?;
        self.breakpoints.insert(address, kind);
        Ok(())
    }

    fn clear_breakpoint(&mut self, address: u32) -> Result<()> {
        self.halted(&format!("clear the breakpoint at {address:#010x}"))?;
        let address = address & !1;
        match self.breakpoints.get(&address).copied() {
            Some(kind) => {
                self.breakpoint_packet(false, address, kind)?;
                self.breakpoints.remove(&address);
                Ok(())
            }
            None => Ok(()),
        }
    }

    fn breakpoints(&self) -> Vec<u32> {
        self.breakpoints.keys().copied().collect()
    }

    fn set_vector_catch(&mut self, kinds: &[CatchKind]) -> Result<()> {
        if !self.caps.vector_catch {
            return Err(TargetError::Unsupported(format!(
                "hardware vector catch on the {}",
                self.server
            )));
        }
        if self.vector_catch_restore.is_none() {
            let current = self.monitor("cortex_m vector_catch")?;
            self.vector_catch_restore = Some(openocd_vector_catch_state(&current));
        }
        let mut words: Vec<&str> = Vec::new();
        for kind in kinds {
            words.extend(openocd_catch_words(*kind));
        }
        words.dedup();
        let command = if words.is_empty() {
            "cortex_m vector_catch none".to_string()
        } else {
            format!("cortex_m vector_catch {}", words.join(" "))
        };
        self.monitor(&command)?;
        Ok(())
    }

    fn reset(&mut self, halt: bool) -> Result<()> {
        self.halted("reset")?;
        let command = match self.server {
            ServerKind::OpenOcd | ServerKind::PyOcd => {
                if halt {
                    "reset halt"
                } else {
                    "reset run"
                }
            }
            ServerKind::JLink => {
                if halt {
                    "reset"
                } else {
                    "go"
                }
            }
            ServerKind::Qemu => "system_reset",
            _ => {
                return Err(TargetError::Unsupported(format!(
                    "reset on the {}",
                    self.server
                )));
            }
        };
        self.monitor(command)?;
        self.forget_state();
        if self.server == ServerKind::Qemu && !halt {
            self.resume()?;
        }
        Ok(())
    }

    fn detach(&mut self, resume: bool) -> Result<()> {
        if self.detached {
            return Ok(());
        }
        if matches!(self.state, RunState::Running) {
            self.halt(self.conn.timeout)?;
        }
        let mut first_error = None;
        if matches!(self.state, RunState::Halted(_)) {
            for (address, kind) in std::mem::take(&mut self.breakpoints) {
                if let Err(e) = self.breakpoint_packet(false, address, kind) {
                    first_error.get_or_insert(e);
                }
            }
            if let Err(e) = self.restore_vector_catch() {
                first_error.get_or_insert(e);
            }
            if resume {
                // Servers resume the target on `D`.
                match self.request("D", "detaching") {
                    Ok(r) if r == b"OK" => {}
                    Ok(r) => {
                        first_error.get_or_insert(self.malformed("detaching", &r));
                    }
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            // Without resume, the link is just closed: `D` would let QEMU run on.
        }
        self.conn.close();
        self.detached = true;
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl std::fmt::Debug for GdbTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GdbTarget")
            .field("address", &self.address)
            .field("server", &self.server)
            .field("state", &self.state)
            .field("breakpoints", &self.breakpoints.keys().collect::<Vec<_>>())
            .field("stats", &self.conn.stats())
            .finish_non_exhaustive()
    }
}

impl Drop for GdbTarget {
    fn drop(&mut self) {
        // Best effort: leave no breakpoint behind, leave the core as it was.
        if !self.detached && !self.conn.is_broken() {
            let _ = self.detach(false);
        }
    }
}

fn open(address: &Address, timeout: Duration) -> Result<Box<dyn Transport>> {
    let what = address.to_string();
    match address {
        Address::Unix(path) => {
            let s = UnixStream::connect(path)
                .map_err(|source| TargetError::Connect { what, source })?;
            Ok(Box::new(s))
        }
        Address::Tcp(hostport) => {
            let addrs = hostport
                .to_socket_addrs()
                .map_err(|source| TargetError::Connect {
                    what: what.clone(),
                    source,
                })?;
            let mut last = None;
            for a in addrs {
                match TcpStream::connect_timeout(&a, timeout) {
                    Ok(s) => {
                        let _ = s.set_nodelay(true);
                        return Ok(Box::new(s));
                    }
                    Err(e) => last = Some(e),
                }
            }
            Err(TargetError::Connect {
                what,
                source: last
                    .unwrap_or_else(|| std::io::Error::other("the name resolves to no address")),
            })
        }
    }
}

/// `dN` with 64 bits: the number N.
fn split_double(name: &str, bitsize: u32) -> Option<usize> {
    if bitsize != 64 {
        return None;
    }
    name.strip_prefix('d')?.parse().ok().filter(|n| *n < 16)
}

fn refused(code: &str, output: &[u8]) -> String {
    let out = String::from_utf8_lossy(output);
    let out = out.trim();
    if out.is_empty() {
        format!("the server answered {code}")
    } else {
        format!("the server answered {code}: {out}")
    }
}

fn unmapped_hint(code: &str) -> &'static str {
    // QEMU answers E14 (EFAULT) for addresses with nothing mapped.
    if code == "E14" {
        " (no memory mapped there)"
    } else {
        ""
    }
}

/// OpenOCD's `cortex_m vector_catch` words for one kind of fault.
fn openocd_catch_words(kind: CatchKind) -> &'static [&'static str] {
    match kind {
        CatchKind::HardFault => &["hard_err"],
        CatchKind::MemManage => &["mm_err"],
        CatchKind::BusFault => &["bus_err"],
        CatchKind::UsageFault => &["state_err", "chk_err", "nocp_err"],
        CatchKind::SecureFault => &[],
        CatchKind::CoreReset => &["reset"],
    }
}

/// The words to give `cortex_m vector_catch` to restore what its listing shows
/// (lines such as `hard_err: catch` / `bus_err: ignore`).
fn openocd_vector_catch_state(listing: &str) -> String {
    let caught: Vec<&str> = listing
        .lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(_, v)| v.trim() == "catch")
        .map(|(k, _)| k.trim())
        .collect();
    if caught.is_empty() {
        "none".into()
    } else {
        caught.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openocd_vector_catch_listing_is_restored_as_words() {
        let listing = "bus_err: catch\nstate_err: ignore\nhard_err: catch\n";
        assert_eq!(openocd_vector_catch_state(listing), "bus_err hard_err");
        assert_eq!(openocd_vector_catch_state("reset: ignore\n"), "none");
    }

    #[test]
    fn only_64_bit_d_registers_split() {
        assert_eq!(split_double("d3", 64), Some(3));
        assert_eq!(split_double("d3", 32), None);
        assert_eq!(split_double("data", 64), None);
    }
}
