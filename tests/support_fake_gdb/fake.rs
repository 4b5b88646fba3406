//! A fake GDB server that misbehaves on cue: a unix socket peer in a thread that
//! answers the handshake like QEMU and then follows a script of faults. The
//! `start_tcp*` variants listen on 127.0.0.1 (a free port) instead, as OpenOCD and
//! the J-Link GDB server do; `start_pty*` speaks on the master side of a
//! pseudo-terminal whose slave (`/dev/pts/N`) stands for the Black Magic Probe's
//! serial port.
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the fake server does when it receives a packet starting with `trigger`.
#[derive(Clone, Debug)]
pub enum Act {
    /// Answers with this payload, framed correctly.
    Reply(String),
    /// Sends these raw bytes (framing up to the script).
    Raw(Vec<u8>),
    /// Sends a packet with a wrong checksum, every time it is asked.
    BadChecksum(String),
    /// Sends half a packet and then nothing, keeping the socket open.
    StallMidPacket,
    /// Sends nothing and keeps the socket open.
    Silence,
    /// Sends half a packet and closes the socket.
    DropMidPacket,
    /// Closes the socket.
    Close,
    /// Answers with this payload, then never reads again, keeping the socket open: a
    /// peer whose socket buffer fills up under a large write.
    ReplyThenStopReading(String),
    /// Serves an `m ADDR,LEN` read from these bytes, which start at `base`: exactly the
    /// bytes asked for, as a memory-backed server does (zeros past the end).
    Memory { base: u32, bytes: Vec<u8> },
}

impl Act {
    /// [`Act::Memory`] from little-endian words.
    pub fn words(base: u32, words: &[u32]) -> Act {
        Act::Memory {
            base,
            bytes: words.iter().flat_map(|w| w.to_le_bytes()).collect(),
        }
    }
}

/// The reply to `m ADDR,LEN` (`text` without the `m`) from `bytes` at `base`.
fn memory_reply(text: &str, base: u32, bytes: &[u8]) -> String {
    let mut parts = text.split(',');
    let addr = parts.next().and_then(|a| u32::from_str_radix(a, 16).ok()).unwrap_or(0);
    let len = parts.next().and_then(|l| usize::from_str_radix(l, 16).ok()).unwrap_or(0);
    (0..len)
        .map(|i| {
            let at = (addr.wrapping_sub(base) as usize).wrapping_add(i);
            format!("{:02x}", bytes.get(at).copied().unwrap_or(0))
        })
        .collect()
}

/// Which server the fake's handshake imitates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    /// QEMU 10: acks, no X, target.xml with xi:include, xpsr 25.
    Qemu,
    /// OpenOCD 0.12: no-ack mode, X, one inline target.xml, xPSR 16, monitor commands.
    OpenOcd,
    /// Black Magic Probe (v1.10 firmware, from its gdb_main.c and command.c): acks, no
    /// target until `monitor swdp_scan` and `vAttach;1` (before: `?` answers `W00`,
    /// the target description `E01`), then the QEMU-like core description and answers.
    BlackMagic,
}

pub struct FakeServer {
    pub dir: tempfile::TempDir,
    handle: Option<JoinHandle<()>>,
    log: Arc<Mutex<Vec<String>>>,
    /// Where a TCP server listens (`start_tcp*`); `None` for the unix socket.
    tcp: Option<SocketAddr>,
    /// The pty slave a `start_pty*` server is reached through.
    serial: Option<PathBuf>,
}

impl FakeServer {
    /// The address for `--gdb`: `unix:PATH`, or `127.0.0.1:PORT` for a TCP server.
    pub fn address(&self) -> String {
        if let Some(path) = &self.serial {
            return path.display().to_string();
        }
        match self.tcp {
            Some(addr) => addr.to_string(),
            None => format!("unix:{}", self.socket().display()),
        }
    }
    /// The TCP address of a `start_tcp*` server.
    pub fn tcp_address(&self) -> Option<SocketAddr> {
        self.tcp
    }
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("fake.sock")
    }
    /// Every packet received so far (payloads, lossy UTF-8).
    pub fn received(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        // The server thread ends when the client closes; do not wait for a stalling one.
        drop(self.handle.take());
    }
}

const TARGET_XML: &str = r#"<?xml version="1.0"?><!DOCTYPE target SYSTEM "gdb-target.dtd"><target><architecture>arm</architecture><xi:include href="core.xml"/></target>"#;

fn core_xml() -> String {
    let mut s = String::from(r#"<?xml version="1.0"?><feature name="org.gnu.gdb.arm.m-profile">"#);
    for i in 0..13 {
        s.push_str(&format!(r#"<reg name="r{i}" bitsize="32"/>"#));
    }
    s.push_str(r#"<reg name="sp" bitsize="32"/><reg name="lr" bitsize="32"/><reg name="pc" bitsize="32"/><reg name="xpsr" bitsize="32" regnum="25"/></feature>"#);
    s
}

pub fn frame(payload: &[u8]) -> Vec<u8> {
    let sum = payload.iter().fold(0u8, |a, b| a.wrapping_add(*b));
    let mut out = vec![b'$'];
    out.extend_from_slice(payload);
    out.extend_from_slice(format!("#{sum:02x}").as_bytes());
    out
}

/// Starts a server whose handshake answers are QEMU-like and whose answers to packets
/// starting with each `(trigger, act)` follow the script. Unscripted packets get
/// sensible defaults (`m` reads zeros, `g` 17 registers, `?` a T05).
pub fn start(script: Vec<(&'static str, Act)>) -> FakeServer {
    start_as(Flavour::Qemu, script)
}

pub fn start_as(flavour: Flavour, script: Vec<(&'static str, Act)>) -> FakeServer {
    let log = Arc::new(Mutex::new(Vec::new()));
    let server_log = log.clone();
    let dir = tempfile::Builder::new()
        .prefix("isrscope-fake-gdb")
        .tempdir()
        .unwrap();
    let path = dir.path().join("fake.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let handle = std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else {
            return;
        };
        serve(stream, flavour, script, server_log);
    });
    FakeServer {
        dir,
        handle: Some(handle),
        log,
        tcp: None,
        serial: None,
    }
}

/// [`start`] on TCP: listens on 127.0.0.1 at a port the system picks (no collisions
/// between tests run in parallel).
pub fn start_tcp(script: Vec<(&'static str, Act)>) -> FakeServer {
    start_tcp_as(Flavour::Qemu, script)
}

/// [`start_as`] on TCP, 127.0.0.1 at a free port.
pub fn start_tcp_as(flavour: Flavour, script: Vec<(&'static str, Act)>) -> FakeServer {
    let log = Arc::new(Mutex::new(Vec::new()));
    let server_log = log.clone();
    let dir = tempfile::Builder::new()
        .prefix("isrscope-fake-gdb")
        .tempdir()
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else {
            return;
        };
        let _ = stream.set_nodelay(true);
        serve(stream, flavour, script, server_log);
    });
    FakeServer {
        dir,
        handle: Some(handle),
        log,
        tcp: Some(addr),
        serial: None,
    }
}

fn serve(
    mut s: impl Read + Write,
    flavour: Flavour,
    script: Vec<(&'static str, Act)>,
    log: Arc<Mutex<Vec<String>>>,
) {
    let mut ack = true;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut last_sent: Vec<u8> = Vec::new();
    // Black Magic Probe: whether `vAttach` has picked a target yet.
    let mut attached = false;
    loop {
        // Next packet from the client.
        let packet = loop {
            // A '-' asks for the last packet again.
            while let Some(pos) = buf.iter().position(|&b| b == b'-') {
                buf.remove(pos);
                let _ = s.write_all(&last_sent);
            }
            if let Some(start) = buf.iter().position(|&b| b == b'$')
                && let Some(hash) = buf[start..]
                    .iter()
                    .position(|&b| b == b'#')
                    .map(|h| h + start)
                && buf.len() >= hash + 3
            {
                let p = buf[start + 1..hash].to_vec();
                buf.drain(..hash + 3);
                break Some(p);
            }
            // Interrupt byte: answer like QEMU (unless the script has "\x03" => Silence:
            // a server that ignores it).
            if let Some(pos) = buf.iter().position(|&b| b == 0x03) {
                buf.remove(pos);
                let ignore = script
                    .iter()
                    .any(|(t, a)| *t == "\x03" && matches!(a, Act::Silence));
                if !ignore {
                    let _ = s.write_all(&frame(b"T02thread:01;"));
                }
                continue;
            }
            match s.read(&mut chunk) {
                Ok(0) | Err(_) => break None,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let Some(packet) = packet else { return };
        if ack {
            let _ = s.write_all(b"+");
        }
        let text = String::from_utf8_lossy(&packet).into_owned();
        log.lock().unwrap().push(text.clone());
        let act = script
            .iter()
            .find(|(t, _)| text.starts_with(t))
            .map(|(_, a)| a.clone());
        let act = act.unwrap_or_else(|| match flavour {
            Flavour::Qemu => Act::Reply(default_reply(&text)),
            Flavour::OpenOcd => openocd_reply(&text),
            Flavour::BlackMagic => blackmagic_reply(&text, &mut attached),
        });
        if text == "QStartNoAckMode" {
            ack = false;
        }
        match act {
            Act::Reply(p) => {
                last_sent = frame(p.as_bytes());
                let _ = s.write_all(&last_sent);
            }
            Act::Raw(bytes) => {
                let _ = s.write_all(&bytes);
            }
            Act::BadChecksum(p) => {
                let mut f = frame(p.as_bytes());
                let n = f.len();
                f[n - 1] = if f[n - 1] == b'0' { b'1' } else { b'0' };
                let _ = s.write_all(&f);
                last_sent = f;
            }
            Act::StallMidPacket => {
                let _ = s.write_all(b"$0000");
                std::thread::sleep(Duration::from_secs(30));
                return;
            }
            Act::Silence => {
                std::thread::sleep(Duration::from_secs(30));
                return;
            }
            Act::DropMidPacket => {
                let _ = s.write_all(b"$00000000");
                return;
            }
            Act::Close => return,
            Act::Memory { base, bytes } => {
                let body = memory_reply(text.strip_prefix('m').unwrap_or(""), base, &bytes);
                last_sent = frame(body.as_bytes());
                let _ = s.write_all(&last_sent);
            }
            Act::ReplyThenStopReading(p) => {
                let _ = s.write_all(&frame(p.as_bytes()));
                let _ = s.flush();
                std::thread::sleep(Duration::from_secs(30));
                return;
            }
        }
    }
}

fn default_reply(text: &str) -> String {
    if text.starts_with("qSupported") {
        "PacketSize=1000;qXfer:features:read+;vContSupported+".into()
    } else if let Some(rest) = text.strip_prefix("qXfer:features:read:") {
        let annex = rest.split(':').next().unwrap_or("");
        match annex {
            "target.xml" => format!("l{TARGET_XML}"),
            "core.xml" => format!("l{}", core_xml()),
            _ => "E00".into(),
        }
    } else if text == "vCont?" {
        "vCont;c;C;s;S".into()
    } else if text == "?" {
        "T05thread:01;".into()
    } else if text == "g" {
        "00000000".repeat(16) + "00000001"
    } else if let Some(rest) = text.strip_prefix('m') {
        let len = rest
            .split(',')
            .nth(1)
            .and_then(|l| usize::from_str_radix(l, 16).ok())
            .unwrap_or(0);
        "00".repeat(len)
    } else if text.starts_with('p') {
        "00000000".into()
    } else if text.starts_with('Z') || text.starts_with('z') || text.starts_with('D') {
        "OK".into()
    } else {
        String::new()
    }
}

/// OpenOCD 0.12's answers (from its source), for the no-ack, X and monitor paths.
fn openocd_reply(text: &str) -> Act {
    let hex = |s: &str| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
    let console = |out: &str| {
        let mut raw = frame(format!("O{}", hex(out)).as_bytes());
        raw.extend(frame(b"OK"));
        Act::Raw(raw)
    };
    let reply = |s: &str| Act::Reply(s.to_string());
    if text.starts_with("qSupported") {
        reply(
            "PacketSize=4000;qXfer:memory-map:read+;qXfer:features:read+;qXfer:threads:read+;QStartNoAckMode+;vContSupported+",
        )
    } else if text == "QStartNoAckMode" {
        reply("OK")
    } else if text.starts_with("qXfer:features:read:target.xml:") {
        let mut xml = String::from(
            r#"<?xml version="1.0"?><!DOCTYPE target SYSTEM "gdb-target.dtd"><target version="1.0"><architecture>arm</architecture><feature name="org.gnu.gdb.arm.m-profile">"#,
        );
        for i in 0..13 {
            xml.push_str(&format!(
                r#"<reg name="r{i}" bitsize="32" regnum="{i}" type="int" group="general"/>"#
            ));
        }
        xml.push_str(r#"<reg name="sp" bitsize="32" regnum="13" type="data_ptr" group="general"/><reg name="lr" bitsize="32" regnum="14" type="int" group="general"/><reg name="pc" bitsize="32" regnum="15" type="code_ptr" group="general"/><reg name="xPSR" bitsize="32" regnum="16" type="int" group="general"/></feature><feature name="org.gnu.gdb.arm.m-system"><reg name="msp" bitsize="32" regnum="17" type="data_ptr" group="system"/><reg name="psp" bitsize="32" regnum="18" type="data_ptr" group="system"/><reg name="primask" bitsize="1" regnum="20" type="int8" group="system"/><reg name="basepri" bitsize="8" regnum="21" type="int8" group="system"/><reg name="faultmask" bitsize="1" regnum="22" type="int8" group="system"/><reg name="control" bitsize="3" regnum="23" type="int8" group="system"/></feature></target>"#);
        Act::Reply(format!("l{xml}"))
    } else if text == "vCont?" {
        reply("vCont;c;C;s;S")
    } else if text == "?" {
        reply("S05")
    } else if text == "g" {
        // r0..pc, then xPSR = 0x21000003 (HardFault active), 17 registers.
        Act::Reply("00000000".repeat(15) + "00010008" + "03000021")
    } else if let Some(n) = text.strip_prefix('p') {
        match u32::from_str_radix(n, 16).unwrap_or(99) {
            17 => reply("f0ff0120"), // msp 0x2001fff0
            18 => reply("00000000"),
            20 | 22 => reply("01"), // one-bit registers: one byte
            21 => reply("80"),
            23 => reply("02"),
            _ => reply("E01"),
        }
    } else if let Some(cmd) = text.strip_prefix("qRcmd,") {
        let cmd: String = (0..cmd.len() / 2)
            .filter_map(|i| u8::from_str_radix(&cmd[i * 2..i * 2 + 2], 16).ok())
            .map(char::from)
            .collect();
        match cmd.as_str() {
            "version" => console("Open On-Chip Debugger 0.12.0\n"),
            "cortex_m vector_catch" => console("hard_err: catch\nbus_err: ignore\nreset: ignore\n"),
            c if c.starts_with("cortex_m vector_catch ") => console(""),
            _ => console("unknown command\n"),
        }
    } else if let Some(rest) = text.strip_prefix('m') {
        let mut parts = rest.split(',');
        let addr = parts
            .next()
            .and_then(|a| u32::from_str_radix(a, 16).ok())
            .unwrap_or(0);
        let len = parts
            .next()
            .and_then(|l| usize::from_str_radix(l, 16).ok())
            .unwrap_or(0);
        if addr == 0xE000_ED00 && len >= 12 {
            // CPUID of a Cortex-M4 r0p1, ICSR, VTOR = 0x08000000, then zeros.
            Act::Reply(format!(
                "41c20f41{}{}{}",
                "00000000",
                "00000008",
                "00".repeat(len - 12)
            ))
        } else if addr == 0x0800_0000 {
            // Vector table: every fault handler at 0x08000101.
            Act::Reply(format!(
                "0000022001010008{}",
                "01010008".repeat(len / 4 - 2)
            ))
        } else if addr == 0xE000_ED30 {
            Act::Reply("08000000".into()) // DFSR.VCATCH
        } else {
            Act::Reply("00".repeat(len))
        }
    } else if text.starts_with('X')
        || text.starts_with('Z')
        || text.starts_with('z')
        || text.starts_with('D')
    {
        reply("OK")
    } else if text == "c" || text.starts_with("vCont;c") {
        Act::Reply("T05".into())
    } else {
        reply("")
    }
}

/// [`start_as`] over a pseudo-terminal: the fake answers on the master side, and
/// [`FakeServer::address`] is the slave's path (`/dev/pts/N`) for `--gdb`. The pty is
/// left in its default (cooked, echoing) mode: the client must make it raw itself.
/// Bytes in `stale` are written before the client opens the port (a reply left over
/// from an earlier session), for the client to flush; the pty is raw then (see below).
pub fn start_pty_as(
    flavour: Flavour,
    script: Vec<(&'static str, Act)>,
    stale: &[u8],
) -> FakeServer {
    use std::os::fd::{FromRawFd, OwnedFd};
    let log = Arc::new(Mutex::new(Vec::new()));
    let server_log = log.clone();
    let dir = tempfile::Builder::new()
        .prefix("isrscope-fake-gdb")
        .tempdir()
        .unwrap();
    let (mut master, slave) = {
        let (mut m, mut s) = (-1, -1);
        // Stale bytes need a raw pty: a cooked one would echo them back to the fake,
        // which would answer them, forever.
        // SAFETY: termios is plain data, only read by openpty.
        let mut raw: libc::termios = unsafe { std::mem::zeroed() };
        unsafe { libc::cfmakeraw(&mut raw) };
        let termp: *const libc::termios = if stale.is_empty() {
            std::ptr::null()
        } else {
            &raw
        };
        // SAFETY: out-pointers to two ints; no name buffer; termp null or valid.
        let rc = unsafe {
            libc::openpty(
                &mut m,
                &mut s,
                std::ptr::null_mut(),
                termp,
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: openpty returned two fresh descriptors owned by nobody else.
        unsafe {
            (
                std::fs::File::from(OwnedFd::from_raw_fd(m)),
                OwnedFd::from_raw_fd(s),
            )
        }
    };
    let path = std::fs::read_link(format!("/proc/self/fd/{}", {
        use std::os::fd::AsRawFd;
        slave.as_raw_fd()
    }))
    .unwrap();
    if !stale.is_empty() {
        master.write_all(stale).unwrap();
    }
    let handle = std::thread::spawn(move || {
        // The slave stays open here: with no slave open, reads on the master fail (EIO)
        // before the client has opened its side.
        let _slave = slave;
        serve(master, flavour, script, server_log);
    });
    FakeServer {
        dir,
        handle: Some(handle),
        log,
        tcp: None,
        serial: Some(path),
    }
}

/// The hex of a monitor command, as in `qRcmd,HEX` (for scripts' triggers).
pub fn qrcmd(command: &str) -> String {
    let hex: String = command.bytes().map(|b| format!("{b:02x}")).collect();
    format!("qRcmd,{hex}")
}

/// What the Black Magic Probe sends for a monitor command: one `O` packet per line,
/// then `OK`, or, when the command failed, the hex of "Failed\n" as the final reply.
pub fn blackmagic_console(lines: &[&str], ok: bool) -> Act {
    let hex = |s: &str| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
    let mut raw = Vec::new();
    for line in lines {
        raw.extend(frame(format!("O{}", hex(&format!("{line}\n"))).as_bytes()));
    }
    if ok {
        raw.extend(frame(b"OK"));
    } else {
        raw.extend(frame(hex("Failed\n").as_bytes()));
    }
    Act::Raw(raw)
}

/// The Black Magic Probe's answers; `attached` is its state, set by `vAttach`.
fn blackmagic_reply(text: &str, attached: &mut bool) -> Act {
    let reply = |s: &str| Act::Reply(s.to_string());
    if text.starts_with("qSupported") {
        reply("PacketSize=400;qXfer:memory-map:read+;qXfer:features:read+;vContSupported+")
    } else if let Some(hex) = text.strip_prefix("qRcmd,") {
        let cmd: String = (0..hex.len() / 2)
            .filter_map(|i| u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).ok())
            .map(char::from)
            .collect();
        match cmd.as_str() {
            "swdp_scan" => blackmagic_console(
                &[
                    "Target voltage: 3.3V",
                    "Available Targets:",
                    "No. Att Driver",
                    " 1      STM32F40x M4",
                ],
                true,
            ),
            "jtag_scan" => {
                blackmagic_console(&["Target voltage: 3.3V", "JTAG device scan failed!"], false)
            }
            "version" => {
                blackmagic_console(&["Black Magic Probe v1.10.0, Hardware Version 3"], true)
            }
            _ => reply(""),
        }
    } else if let Some(n) = text.strip_prefix("vAttach;") {
        // The fake does not remember its scan: any target number is accepted.
        if u32::from_str_radix(n, 16).is_ok_and(|n| n >= 1) {
            *attached = true;
            reply("T05thread:1;")
        } else {
            reply("E01")
        }
    } else if !*attached && (text == "?") {
        reply("W00")
    } else if !*attached && text.starts_with("qXfer:") {
        reply("E01")
    } else {
        Act::Reply(default_reply(text))
    }
}
