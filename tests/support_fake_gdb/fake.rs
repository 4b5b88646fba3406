//! A fake GDB server that misbehaves on cue: a unix socket peer in a thread that
//! answers the handshake like QEMU and then follows a script of faults.
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
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
}

pub struct FakeServer {
    pub dir: tempfile::TempDir,
    handle: Option<JoinHandle<()>>,
}

impl FakeServer {
    pub fn address(&self) -> String {
        format!("unix:{}", self.socket().display())
    }
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("fake.sock")
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
    let dir = tempfile::Builder::new().prefix("isrscope-fake-gdb").tempdir().unwrap();
    let path = dir.path().join("fake.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let handle = std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else { return };
        serve(stream, script);
    });
    FakeServer { dir, handle: Some(handle) }
}

fn serve(mut s: UnixStream, script: Vec<(&'static str, Act)>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut last_sent: Vec<u8> = Vec::new();
    loop {
        // Next packet from the client.
        let packet = loop {
            // A '-' asks for the last packet again.
            while let Some(pos) = buf.iter().position(|&b| b == b'-') {
                buf.remove(pos);
                let _ = s.write_all(&last_sent);
            }
            if let Some(start) = buf.iter().position(|&b| b == b'$')
                && let Some(hash) = buf[start..].iter().position(|&b| b == b'#').map(|h| h + start)
                && buf.len() >= hash + 3
            {
                let p = buf[start + 1..hash].to_vec();
                buf.drain(..hash + 3);
                break Some(p);
            }
            // Interrupt byte: answer like QEMU.
            if let Some(pos) = buf.iter().position(|&b| b == 0x03) {
                buf.remove(pos);
                let _ = s.write_all(&frame(b"T02thread:01;"));
                continue;
            }
            match s.read(&mut chunk) {
                Ok(0) | Err(_) => break None,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let Some(packet) = packet else { return };
        let _ = s.write_all(b"+");
        let text = String::from_utf8_lossy(&packet).into_owned();
        let act = script.iter().find(|(t, _)| text.starts_with(t)).map(|(_, a)| a.clone());
        let act = act.unwrap_or_else(|| Act::Reply(default_reply(&text)));
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
        let len = rest.split(',').nth(1).and_then(|l| usize::from_str_radix(l, 16).ok()).unwrap_or(0);
        "00".repeat(len)
    } else if text.starts_with('p') {
        "00000000".into()
    } else if text.starts_with('Z') || text.starts_with('z') || text.starts_with('D') {
        "OK".into()
    } else {
        String::new()
    }
}
