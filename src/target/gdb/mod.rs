//! The GDB remote serial protocol (RSP) backend: reaches a target through any GDB
//! server (QEMU's gdbstub, OpenOCD, the SEGGER J-Link GDB server, pyOCD, the Black
//! Magic Probe on its serial port).
//!
//! The client is written here, by hand, on purpose: the maintained Rust RSP crates
//! (`gdbstub` and friends) implement the *server* side, and no maintained crate is an
//! RSP client. It is kept small and layered:
//! - [`packet`]: byte-level encoding (framing, checksums, escapes, run-length), no I/O;
//! - [`conn`]: one connection with acks, bounded waits and traffic counters ([`Stats`]);
//! - [`serial`]: the serial-port transport (raw tty, poll-bounded reads and writes);
//! - [`tdesc`]: target descriptions (register names and numbers, never hard-coded);
//! - [`stop`]: stop replies;
//! - [`remote`]: [`GdbTarget`], the [`crate::target::Target`] implementation.
//!
//! See docs/gdb-servers.md for the servers and how to point isrscope at each.

pub mod conn;
pub mod packet;
pub mod remote;
pub mod serial;
pub mod stop;
pub mod tdesc;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::Serialize;

pub use conn::Stats;
pub use remote::GdbTarget;

/// Where the GDB server listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Address {
    /// `host:port` (`:3333` means localhost).
    Tcp(String),
    /// `unix:/path/to/socket`.
    Unix(PathBuf),
    /// A serial port: `/dev/...` or `serial:/path` (the Black Magic Probe's first port).
    Serial(PathBuf),
}

impl FromStr for Address {
    type Err = crate::target::TargetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(path) = s.strip_prefix("unix:") {
            return Ok(Address::Unix(PathBuf::from(path)));
        }
        if let Some(path) = s.strip_prefix("serial:") {
            return Ok(Address::Serial(PathBuf::from(path)));
        }
        if s.starts_with("/dev/") {
            return Ok(Address::Serial(PathBuf::from(s)));
        }
        if s.starts_with('/') {
            return Err(crate::target::TargetError::Other(format!(
                "{s:?} is not a GDB server address: give unix:{s} for a unix socket, \
                 serial:{s} for a serial port, or host:port"
            )));
        }
        match s.rsplit_once(':') {
            Some(("", port)) if port.parse::<u16>().is_ok() => {
                Ok(Address::Tcp(format!("localhost:{port}")))
            }
            Some((_, port)) if port.parse::<u16>().is_ok() => Ok(Address::Tcp(s.to_string())),
            _ => Err(crate::target::TargetError::Other(format!(
                "{s:?} is not a GDB server address: give host:port (e.g. localhost:3333) or unix:/path"
            ))),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Tcp(a) => f.write_str(a),
            Address::Unix(p) => write!(f, "unix:{}", p.display()),
            // As typed: a /dev path needs no prefix to parse back.
            Address::Serial(p) if p.starts_with("/dev/") => write!(f, "{}", p.display()),
            Address::Serial(p) => write!(f, "serial:{}", p.display()),
        }
    }
}

/// Which GDB server is on the other end, as far as it tells.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServerKind {
    Qemu,
    OpenOcd,
    JLink,
    PyOcd,
    BlackMagic,
    Unknown,
}

impl fmt::Display for ServerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServerKind::Qemu => "QEMU gdbstub",
            ServerKind::OpenOcd => "OpenOCD",
            ServerKind::JLink => "SEGGER J-Link GDB server",
            ServerKind::PyOcd => "pyOCD",
            ServerKind::BlackMagic => "Black Magic Probe",
            ServerKind::Unknown => "unknown GDB server",
        })
    }
}

/// How to connect.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// How long one request may wait for its answer.
    pub timeout: Duration,
    /// How long establishing the connection may take.
    pub connect_timeout: Duration,
    /// The server, when the caller knows it (skips the `monitor version` probe).
    pub server: Option<ServerKind>,
    /// Extra words for [`crate::target::Capabilities::description`], e.g. a QEMU version.
    pub description: Option<String>,
    /// Largest packet accepted from the server, in bytes.
    pub max_packet: usize,
    /// Which target of a Black Magic Probe's scan list to attach (`vAttach;N`), as the
    /// probe numbers them: 1 is the first.
    pub scan_target: u32,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            server: None,
            description: None,
            max_packet: 0x20000,
            scan_target: 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(
            "localhost:3333".parse::<Address>().unwrap(),
            Address::Tcp("localhost:3333".into())
        );
        assert_eq!(
            ":2331".parse::<Address>().unwrap(),
            Address::Tcp("localhost:2331".into())
        );
        assert_eq!(
            "unix:/tmp/q.sock".parse::<Address>().unwrap(),
            Address::Unix("/tmp/q.sock".into())
        );
        assert_eq!(
            "/dev/ttyACM0".parse::<Address>().unwrap(),
            Address::Serial("/dev/ttyACM0".into())
        );
        assert_eq!(
            "serial:/tmp/tty".parse::<Address>().unwrap(),
            Address::Serial("/tmp/tty".into())
        );
        for typed in [
            "/dev/ttyACM0",
            "serial:/tmp/tty",
            "unix:/tmp/q.sock",
            "localhost:3333",
        ] {
            let parsed: Address = typed.parse().unwrap();
            assert_eq!(parsed.to_string(), typed);
        }
        let bare = "/tmp/q.sock".parse::<Address>().unwrap_err().to_string();
        assert!(
            bare.contains("unix:/tmp/q.sock") && bare.contains("serial:"),
            "{bare}"
        );
        assert!("localhost".parse::<Address>().is_err());
    }
}
