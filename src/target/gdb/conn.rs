//! One RSP connection: sends framed packets and receives replies over a TCP or unix
//! socket, with acks (until no-ack mode is agreed), checksum checks, bounded waits and
//! traffic counters.
//!
//! Every wait has a deadline. After any failure that can leave the byte stream out of
//! step (a timeout mid-reply, a corrupt packet), the connection refuses further use
//! with the original reason instead of misreading a late reply as the next answer.
//! Writes are bounded too ([`Transport::set_write_timeout`]): a server that stops
//! reading (its socket buffer full, e.g. during a large `M`/`X`) cannot hang isrscope.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::packet;
use crate::target::{Result, TargetError};

/// A byte stream with read and write timeouts: what a GDB server is reached through.
pub trait Transport: Read + Write + Send {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    /// Bounds each blocking write: a write that cannot progress for `timeout` fails
    /// with `WouldBlock`/`TimedOut`. In-memory transports (tests) never block and keep
    /// the default, which does nothing.
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        let _ = timeout;
        Ok(())
    }
    fn shutdown(&self);
}

impl Transport for TcpStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_write_timeout(self, timeout)
    }
    fn shutdown(&self) {
        let _ = TcpStream::shutdown(self, std::net::Shutdown::Both);
    }
}

impl Transport for UnixStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        UnixStream::set_read_timeout(self, timeout)
    }
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        UnixStream::set_write_timeout(self, timeout)
    }
    fn shutdown(&self) {
        let _ = UnixStream::shutdown(self, std::net::Shutdown::Both);
    }
}

/// Traffic on one connection, for benchmarks and the docs' packet counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Packets sent (retransmissions included; acks and interrupts not).
    pub packets_sent: u64,
    /// Packets received, `O` console packets included.
    pub packets_received: u64,
    /// Bytes written to the link, framing and acks included.
    pub bytes_sent: u64,
    /// Bytes read from the link, framing and acks included.
    pub bytes_received: u64,
    /// Requests that waited for an answer (a resume that later ends in a stop reply counts once).
    pub round_trips: u64,
}

/// How many retransmissions a bad checksum or a `-` may cause before giving up.
const MAX_RETRIES: u32 = 3;
/// Bytes outside any packet (other than acks) tolerated before calling the peer broken.
const MAX_GARBAGE: usize = 1024;

pub struct Connection {
    stream: Box<dyn Transport>,
    /// Received bytes not yet consumed.
    buf: Vec<u8>,
    ack_mode: bool,
    /// How long one request may wait for its answer.
    pub timeout: Duration,
    /// Largest packet accepted from the server (raw bytes between `$` and `#`).
    max_packet: usize,
    garbage: usize,
    stats: Stats,
    /// Set after a failure that leaves the stream out of step; every later use fails with it.
    broken: Option<String>,
    /// The write timeout set on the stream, to set it again only when `timeout` changes.
    write_timeout: Option<Duration>,
}

impl Connection {
    pub fn new(stream: Box<dyn Transport>, timeout: Duration, max_packet: usize) -> Self {
        Self {
            stream,
            buf: Vec::new(),
            ack_mode: true,
            timeout,
            max_packet,
            garbage: 0,
            stats: Stats::default(),
            broken: None,
            write_timeout: None,
        }
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Counts a request whose answer is awaited separately (a resume, a monitor command).
    pub fn stats_round_trip(&mut self) {
        self.stats.round_trips += 1;
    }

    pub fn set_no_ack(&mut self) {
        self.ack_mode = false;
    }

    pub fn is_broken(&self) -> bool {
        self.broken.is_some()
    }

    /// Sends `payload` and waits for its one reply.
    pub fn request(&mut self, payload: &[u8], doing: &str) -> Result<Vec<u8>> {
        self.send(payload, doing)?;
        self.stats.round_trips += 1;
        let deadline = Instant::now() + self.timeout;
        match self.recv(deadline, doing)? {
            Some(reply) => Ok(reply),
            None => Err(self.fail(TargetError::Timeout {
                doing: doing.into(),
                timeout: self.timeout,
            })),
        }
    }

    /// Sends one packet (and, in ack mode, waits for the server's `+`).
    pub fn send(&mut self, payload: &[u8], doing: &str) -> Result<()> {
        self.check_usable(doing)?;
        let framed = packet::frame(payload);
        if trace() {
            eprintln!("isrscope rsp -> {}", String::from_utf8_lossy(&payload[..payload.len().min(200)]));
        }
        for _attempt in 0..=MAX_RETRIES {
            self.write_all(&framed, doing)?;
            self.stats.packets_sent += 1;
            if !self.ack_mode {
                return Ok(());
            }
            let deadline = Instant::now() + self.timeout;
            loop {
                if let Some(pos) = self
                    .buf
                    .iter()
                    .position(|b| matches!(b, b'+' | b'-' | b'$'))
                {
                    let b = self.buf[pos];
                    self.count_garbage(pos, doing)?;
                    if b == b'$' {
                        // A reply before the ack: the ack was lost or the server skips it.
                        self.buf.drain(..pos);
                        return Ok(());
                    }
                    self.buf.drain(..=pos);
                    if b == b'+' {
                        return Ok(());
                    }
                    break; // '-': send again
                }
                let n = self.buf.len();
                self.count_garbage(n, doing)?;
                self.buf.clear();
                if !self.fill(deadline, doing)? {
                    return Err(self.fail(TargetError::Timeout {
                        doing: format!("{doing} (waiting for the packet's acknowledgement)"),
                        timeout: self.timeout,
                    }));
                }
            }
        }
        Err(self.fail(TargetError::Protocol {
            doing: doing.into(),
            message: format!(
                "the server rejected the packet {MAX_RETRIES} times (bad checksum on its side?)"
            ),
        }))
    }

    /// Sends the out-of-band interrupt byte (0x03).
    pub fn send_interrupt(&mut self, doing: &str) -> Result<()> {
        self.check_usable(doing)?;
        if trace() {
            eprintln!("isrscope rsp -> ^C");
        }
        self.write_all(&[0x03], doing)
    }

    /// Waits until `deadline` for the next packet. `Ok(None)` when none is complete by
    /// then; bytes of a partial packet are kept for the next call.
    pub fn recv(&mut self, deadline: Instant, doing: &str) -> Result<Option<Vec<u8>>> {
        self.check_usable(doing)?;
        let mut retries = 0;
        loop {
            match self.take_packet(doing)? {
                Some(Ok(raw)) => {
                    self.stats.packets_received += 1;
                    if self.ack_mode {
                        self.write_all(b"+", doing)?;
                    }
                    return match packet::decode(&raw) {
                        Ok(payload) => {
                            if trace() {
                                eprintln!("isrscope rsp <- {}", String::from_utf8_lossy(&payload[..payload.len().min(200)]));
                            }
                            Ok(Some(payload))
                        }
                        Err(e) => Err(self.fail(TargetError::Protocol {
                            doing: doing.into(),
                            message: format!("undecodable packet: {e}"),
                        })),
                    };
                }
                Some(Err(message)) => {
                    retries += 1;
                    if !self.ack_mode || retries > MAX_RETRIES {
                        return Err(self.fail(TargetError::Protocol {
                            doing: doing.into(),
                            message,
                        }));
                    }
                    self.write_all(b"-", doing)?;
                }
                None => {
                    if !self.fill(deadline, doing)? {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// Marks the connection unusable and returns `err` for the caller to pass on.
    pub fn fail(&mut self, err: TargetError) -> TargetError {
        if self.broken.is_none() {
            self.broken = Some(err.to_string());
        }
        err
    }

    pub fn close(&mut self) {
        self.stream.shutdown();
        self.broken
            .get_or_insert_with(|| "the connection was closed".into());
    }

    fn check_usable(&self, doing: &str) -> Result<()> {
        match &self.broken {
            None => Ok(()),
            Some(why) => Err(TargetError::Protocol {
                doing: doing.into(),
                message: format!(
                    "the connection is no longer usable after an earlier error ({why})"
                ),
            }),
        }
    }

    /// One complete packet from the buffer: `Some(Ok(raw))`, `Some(Err(why))` for a
    /// checksum mismatch (consumed), or `None` when more bytes are needed.
    fn take_packet(&mut self, doing: &str) -> Result<Option<Result<Vec<u8>, String>>> {
        let Some(start) = self.buf.iter().position(|&b| b == b'$') else {
            let n = self.buf.len();
            self.count_garbage(n, doing)?;
            self.buf.clear();
            return Ok(None);
        };
        self.count_garbage(start, doing)?;
        self.buf.drain(..start);
        let Some(hash) = self.buf.iter().position(|&b| b == b'#') else {
            if self.buf.len() > self.max_packet + 1 {
                return Err(self.oversize(doing));
            }
            return Ok(None);
        };
        if hash > self.max_packet + 1 {
            return Err(self.oversize(doing));
        }
        if self.buf.len() < hash + 3 {
            return Ok(None);
        }
        let raw = self.buf[1..hash].to_vec();
        let sum = packet::from_hex(&self.buf[hash + 1..hash + 3]);
        self.buf.drain(..hash + 3);
        self.garbage = 0;
        let expected = packet::checksum(&raw);
        Ok(Some(match sum.as_deref() {
            Some([s]) if *s == expected => Ok(raw),
            _ => Err(format!(
                "bad checksum on a {}-byte packet (expected {expected:02x})",
                raw.len()
            )),
        }))
    }

    fn oversize(&mut self, doing: &str) -> TargetError {
        self.fail(TargetError::Protocol {
            doing: doing.into(),
            message: format!(
                "the server sent a packet longer than {} bytes",
                self.max_packet
            ),
        })
    }

    /// Counts `n` leading buffer bytes that are not part of a packet; acks are not garbage.
    fn count_garbage(&mut self, n: usize, doing: &str) -> Result<()> {
        self.garbage += self.buf[..n]
            .iter()
            .filter(|b| !matches!(b, b'+' | b'-'))
            .count();
        if self.garbage > MAX_GARBAGE {
            let sample = String::from_utf8_lossy(&self.buf[..n.min(40)]).into_owned();
            return Err(self.fail(TargetError::Protocol {
                doing: doing.into(),
                message: format!(
                    "the server sends bytes that are not RSP packets (e.g. {sample:?})"
                ),
            }));
        }
        Ok(())
    }

    /// Reads what is available until `deadline`; `Ok(false)` when nothing came in time.
    fn fill(&mut self, deadline: Instant, doing: &str) -> Result<bool> {
        let mut chunk = [0u8; 4096];
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Ok(false);
            }
            let wait = (deadline - now).max(Duration::from_millis(1));
            if let Err(e) = self.stream.set_read_timeout(Some(wait)) {
                return Err(self.fail(TargetError::Io {
                    doing: doing.into(),
                    source: e,
                }));
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    return Err(self.fail(TargetError::Disconnected {
                        doing: doing.into(),
                        detail: None,
                    }));
                }
                Ok(n) => {
                    self.stats.bytes_received += n as u64;
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(true);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io_error(e, doing)),
            }
        }
    }

    /// Writes all of `bytes` or fails within [`Connection::timeout`] per stalled write
    /// (the peer stopped reading): a partial packet may be on the wire then, so the
    /// connection is marked unusable.
    fn write_all(&mut self, bytes: &[u8], doing: &str) -> Result<()> {
        let timeout = self.timeout.max(Duration::from_millis(1));
        if self.write_timeout != Some(timeout) {
            if let Err(e) = self.stream.set_write_timeout(Some(timeout)) {
                return Err(self.fail(TargetError::Io {
                    doing: doing.into(),
                    source: e,
                }));
            }
            self.write_timeout = Some(timeout);
        }
        match self
            .stream
            .write_all(bytes)
            .and_then(|()| self.stream.flush())
        {
            Ok(()) => {
                self.stats.bytes_sent += bytes.len() as u64;
                Ok(())
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Err(self.fail(TargetError::Timeout {
                    doing: format!(
                        "{doing} (writing {} bytes to the server: it stopped reading)",
                        bytes.len()
                    ),
                    timeout,
                }))
            }
            Err(e) => Err(self.io_error(e, doing)),
        }
    }

    fn io_error(&mut self, e: io::Error, doing: &str) -> TargetError {
        let err = match e.kind() {
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionAborted => TargetError::Disconnected {
                doing: doing.into(),
                detail: Some(e.to_string()),
            },
            _ => TargetError::Io {
                doing: doing.into(),
                source: e,
            },
        };
        self.fail(err)
    }
}

/// `ISRSCOPE_RSP_TRACE=1`: every packet sent and received on stderr (debugging a server).
fn trace() -> bool {
    static TRACE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("ISRSCOPE_RSP_TRACE").is_some_and(|v| !v.is_empty() && v != "0"))
}
