//! [`GdbTarget`]: the [`Target`] trait over an RSP connection.
//!
//! Economy first: the register file comes in one `g` (mapped through the target
//! description), single registers by `p`, memory in the largest blocks the server
//! takes; registers and memory are cached while the core is halted and forgotten on
//! resume, step, reset or write.

mod blackmagic;
mod fileio;
mod memory;
mod registers;
mod run;

use run::{openocd_catch_words, openocd_vector_catch_state};

use std::collections::BTreeMap;
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use super::conn::{Connection, Stats, Transport};
use super::packet::{console_output, error_code, from_hex, to_hex};
use super::serial::SerialPort;
use super::stop::StopReply;
use super::tdesc::TargetDescription;
use super::{Address, ConnectOptions, ServerKind};
use crate::target::{
    BreakpointKind, Capabilities, CatchKind, CoreState, Registers, Result, StopReason, Target,
    TargetError, reg,
};

/// DFSR.VCATCH (ARMv7-M ARM C1.6.1).
const VCATCH: u32 = 1 << 3;
/// FP_CTRL, the Flash Patch and Breakpoint unit's control register (ARMv7-M ARM C1.11.3).
const FP_CTRL: u32 = 0xE000_2000;
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
    /// Breakpoints the caller cleared that are still set in QEMU: their `z` is sent
    /// before the core next runs, or never, when `D` ends the session (QEMU's detach
    /// removes every breakpoint; checked in tests/gdb_packet_count.rs).
    lifted: BTreeMap<u32, BreakpointKind>,
    /// The vector catch setting found on the server (OpenOCD), restored on detach.
    vector_catch_restore: Option<String>,
    console: Vec<u8>,
    /// What the program wrote through File-I/O (semihosting): (descriptor, bytes).
    program_output: Vec<(u8, Vec<u8>)>,
    last_stop: Option<StopReply>,
    detached: bool,
}

impl GdbTarget {
    /// Connects to `address` (`host:port`, `unix:/path`, or a serial port: `/dev/...`,
    /// `serial:/path`), learns what the server supports and its registers, and asks why
    /// the target is stopped. On a serial port (or with `options.server` set to the
    /// Black Magic Probe) a target is first found and attached: see `remote/blackmagic.rs`.
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
            lifted: BTreeMap::new(),
            vector_catch_restore: None,
            console: Vec::new(),
            program_output: Vec::new(),
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
        // The Black Magic Probe has no target (so no description) before this.
        let attached = if matches!(self.address, Address::Serial(_))
            || options.server == Some(ServerKind::BlackMagic)
        {
            self.scan_and_attach(options.scan_target)?
        } else {
            None
        };
        if !self.features.xfer_features {
            return Err(TargetError::Unsupported(
                "a GDB server without target descriptions (qXfer:features:read): isrscope takes \
                 register numbers from it"
                    .into(),
            ));
        }
        let root = self.xfer_features("target.xml")?;
        let tdesc = TargetDescription::load_deferring(
            &root,
            &mut |annex| self.xfer_features(annex),
            &deferrable_annex,
        )?;
        if tdesc.find(reg::PC).is_none() {
            return Err(TargetError::Protocol {
                doing: "reading the target description".into(),
                message: "it has no register named pc: not an ARM M-profile target?".into(),
            });
        }
        self.tdesc = tdesc;

        self.server = match &options.server {
            Some(kind) => kind.clone(),
            // swdp_scan and a target list: only the Black Magic Probe answers so.
            None if attached.is_some() => ServerKind::BlackMagic,
            // QEMU's own features (org.qemu.*), or the annex its gdbstub generates for
            // them (deferred, so maybe unread).
            None if self.tdesc.features.iter().any(|f| f.starts_with("org.qemu."))
                || self.tdesc.includes.iter().any(|i| i == QEMU_SYSREGS_ANNEX) =>
            {
                ServerKind::Qemu
            }
            None => self.probe_server(),
        };

        // QEMU's gdbstub stops the machine when a client connects (there is no other
        // state to ask about); other servers are asked.
        if self.server == ServerKind::Qemu {
            self.state = RunState::Halted(StopReason::Requested);
        } else {
            let stop = self.request("?", "asking why the target is stopped")?;
            let reply = self.parse_stop(&stop, "asking why the target is stopped")?;
            self.state = match &reply {
                StopReply::Signal { .. } => RunState::Halted(StopReason::Requested),
                other => RunState::Exited(other.describe()),
            };
            self.last_stop = Some(reply);
        }

        // Other servers do not say how many hardware breakpoints they have, and a
        // guess would be wrong (QEMU has no limit; J-Link adds flash breakpoints).
        // OpenOCD hands out the FPB's comparators itself: their number is FP_CTRL's.
        let breakpoints = match self.server {
            ServerKind::OpenOcd => self.fpb_code_comparators()?,
            _ => None,
        };
        let packet_size = self.features.packet_size;
        self.caps = Capabilities {
            vector_catch: self.server == ServerKind::OpenOcd,
            breakpoints,
            registers: self.register_names(),
            max_read: (packet_size / 2) & !3,
            live: true,
            description: format!(
                "gdb-remote ({}{}{}) at {}",
                self.server,
                attached
                    .as_ref()
                    .map(|a| format!(", {}", a.describe()))
                    .unwrap_or_default(),
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

    /// The FPB's instruction comparators (FP_CTRL.NUM_CODE), read once at connect;
    /// `None` when the server refuses the read or the register reads as zero (no FPB,
    /// or a server that hides it). A broken link is an error.
    fn fpb_code_comparators(&mut self) -> Result<Option<u32>> {
        let reply = self.request(
            &format!("m{FP_CTRL:x},4"),
            "reading FP_CTRL (the hardware breakpoint units)",
        )?;
        let word = from_hex(&reply)
            .filter(|b| b.len() == 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        Ok(word.and_then(fp_ctrl_num_code))
    }

    /// Asks the server its version through `monitor version`; its answer names it.
    fn probe_server(&mut self) -> ServerKind {
        // Asked before `?`: the core's state is not known yet.
        let text = self.run_monitor("version").unwrap_or_default();
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
    /// Whether the core was last seen running (no round trip).
    pub fn is_running(&self) -> bool {
        matches!(self.state, RunState::Running)
    }

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
        if matches!(self.state, RunState::Running) {
            return Err(TargetError::NotHalted(doing));
        }
        self.run_monitor(command)
    }

    /// [`GdbTarget::monitor`] without the check that the core is halted: for the
    /// handshake, before the core's state is known.
    fn run_monitor(&mut self, command: &str) -> Result<String> {
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
}

impl Target for GdbTarget {
    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    fn read_memory(&mut self, address: u32, buf: &mut [u8]) -> Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        // All-stop servers take no request while the core runs (QEMU would stop it).
        self.halted(&format!("read memory at {address:#010x}"))?;
        if let Some(bytes) = self.cached(address, buf.len()) {
            buf.copy_from_slice(bytes);
            return Ok(());
        }
        self.read_block(address, buf)?;
        if self.memory_cached + buf.len() > MEMORY_CACHE_LIMIT {
            self.memory.clear();
            self.memory_cached = 0;
        }
        self.memory_cached += buf.len();
        self.memory.push((address, buf.to_vec()));
        Ok(())
    }

    fn take_program_output(&mut self) -> Vec<(u8, Vec<u8>)> {
        std::mem::take(&mut self.program_output)
    }

    fn exit_status(&self) -> Option<u8> {
        match &self.last_stop {
            Some(StopReply::Exited { code, .. }) => Some(*code),
            _ => None,
        }
    }

    fn write_memory(&mut self, address: u32, data: &[u8]) -> Result<()> {
        self.halted(&format!("write memory at {address:#010x}"))?;
        self.memory.clear();
        self.memory_cached = 0;
        self.write_block(address, data)
    }

    fn read_registers(&mut self) -> Result<Registers> {
        self.halted("read registers")?;
        if !self.have_all_regs {
            self.complete_description(&|_| false)?;
            let names = self.caps.registers.clone();
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            self.read_g()?;
            self.fetch_registers(&names, true)?;
            self.have_all_regs = true;
        }
        Ok(self.regs.clone())
    }

    fn read_register(&mut self, name: &str) -> Result<u32> {
        self.halted(&format!("read register {name}"))?;
        self.fetch_registers(&[name], false)?;
        self.regs
            .get(name)
            .ok_or_else(|| TargetError::NoSuchRegister(name.into()))
    }

    fn read_register_set(&mut self, names: &[&str]) -> Result<Registers> {
        self.halted("read registers")?;
        let mut known: Vec<&str> = Vec::new();
        for &n in names {
            if self.locate(n)?.is_some() {
                known.push(n);
            }
        }
        self.fetch_registers(&known, true)?;
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
            .locate(name)?
            .ok_or_else(|| TargetError::NoSuchRegister(name.into()))?;
        let bytes = if bitsize == 64 {
            // sN is half of dN/2: keep the other half.
            let n: usize = name[1..].parse().unwrap_or(0);
            let (lo, hi) = (reg::s(n & !1), reg::s(n | 1));
            self.fetch_registers(&[&lo, &hi], false)?;
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
        self.put_down_all()?;
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
        self.send_continue()
    }

    fn resume_unchecked(&mut self) -> Result<()> {
        match &self.state {
            RunState::Halted(_) => {}
            _ => return self.resume(),
        }
        self.put_down_all()?;
        self.send_continue()
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
        if self.lifted.get(&address) == Some(&kind) {
            self.lifted.remove(&address);
            self.breakpoints.insert(address, kind);
            return Ok(());
        }
        self.put_down(address)?;
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
            Some(kind) if self.server == ServerKind::Qemu => {
                self.breakpoints.remove(&address);
                self.lifted.insert(address, kind);
                Ok(())
            }
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
            let mut left = std::mem::take(&mut self.breakpoints);
            left.append(&mut self.lifted);
            // QEMU's `D` removes every breakpoint itself (gdbstub's handle_detach).
            if !(resume && self.server == ServerKind::Qemu) {
                for (address, kind) in left {
                    if let Err(e) = self.breakpoint_packet(false, address, kind) {
                        first_error.get_or_insert(e);
                    }
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
        Address::Serial(path) => {
            let s =
                SerialPort::open(path).map_err(|source| TargetError::Connect { what, source })?;
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

/// The annex QEMU's gdbstub generates for its coprocessor registers (none on an
/// M-profile core): no other server serves one by this name.
const QEMU_SYSREGS_ANNEX: &str = "system-registers.xml";

/// Annexes read only when one of their registers is asked for (each is a request on
/// every connection otherwise): the FP bank, which a fault report needs only when lazy
/// FP stacking is pending, and QEMU's coprocessor registers.
fn deferrable_annex(href: &str) -> bool {
    href == QEMU_SYSREGS_ANNEX || registers::is_fp_annex(href)
}

/// FP_CTRL.NUM_CODE: NUM_CODE2 `[14:12]` above NUM_CODE1 `[7:4]`. `None` for a zero
/// register (no FPB, or not readable as such).
fn fp_ctrl_num_code(fp_ctrl: u32) -> Option<u32> {
    if fp_ctrl == 0 {
        return None;
    }
    Some(((fp_ctrl >> 8) & 0x70) | ((fp_ctrl >> 4) & 0xF))
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

#[cfg(test)]
mod tests {
    use super::fp_ctrl_num_code;

    #[test]
    fn fp_ctrl_gives_the_number_of_code_comparators() {
        // Cortex-M4: FPB v1, 6 code and 2 literal comparators, enabled.
        assert_eq!(fp_ctrl_num_code(0x0000_0261), Some(6));
        // Cortex-M7: FPB v2 (REV 1), 8 code comparators.
        assert_eq!(fp_ctrl_num_code(0x1000_0080), Some(8));
        // NUM_CODE2 adds 16 per step: 0x2 in [14:12] and 0x3 in [7:4] is 35.
        assert_eq!(fp_ctrl_num_code(0x0000_2030), Some(35));
        // Cortex-M0: 4 comparators, no literal ones.
        assert_eq!(fp_ctrl_num_code(0x0000_0040), Some(4));
        assert_eq!(fp_ctrl_num_code(0), None, "no FPB, or hidden: unknown");
    }
}
