//! A GDB server behind a serial port: the Black Magic Probe speaks RSP on the first of
//! its two USB CDC-ACM ports (`/dev/ttyACM0`).
//!
//! The tty is opened non-blocking and put in raw mode; every read and write waits in
//! poll(2) for at most the link's timeout, so a probe that stops answering (or a
//! write it stops draining) fails in bounded time, like the sockets in [`super::conn`].
//! What the probe needs before a session (a scan, then an attach) is in
//! `remote/blackmagic.rs`; this module knows bytes only.

use std::ffi::CString;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::conn::Transport;

/// "No timeout" in the atomics below.
const NO_TIMEOUT: u64 = u64::MAX;

/// An open serial port in raw mode.
#[derive(Debug)]
pub struct SerialPort {
    fd: OwnedFd,
    path: PathBuf,
    /// Timeouts in milliseconds ([`NO_TIMEOUT`]: wait forever). Atomics because
    /// [`Transport`] sets them through `&self`.
    read_timeout_ms: AtomicU64,
    write_timeout_ms: AtomicU64,
}

impl SerialPort {
    /// Opens `path` read-write, without making it the controlling terminal, in raw
    /// mode at 115200 baud (ignored by CDC-ACM), and drops whatever input was pending
    /// (a reply to an earlier session would otherwise answer our first request).
    pub fn open(path: &Path) -> io::Result<Self> {
        let cpath = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL in the path"))?;
        // O_NONBLOCK: open must not wait for a carrier, and writes must never block
        // beyond the write timeout (the waiting is done in poll).
        // SAFETY: cpath is a valid NUL-terminated string.
        let raw = unsafe {
            libc::open(
                cpath.as_ptr(),
                libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC | libc::O_NONBLOCK,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: raw is a freshly opened descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let port = SerialPort {
            fd,
            path: path.to_path_buf(),
            read_timeout_ms: AtomicU64::new(NO_TIMEOUT),
            write_timeout_ms: AtomicU64::new(NO_TIMEOUT),
        };
        port.make_raw()?;
        Ok(port)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn make_raw(&self) -> io::Result<()> {
        let fd = self.fd.as_raw_fd();
        // SAFETY: termios is plain data; tcgetattr fills it or fails.
        let mut tio: libc::termios = unsafe { std::mem::zeroed() };
        if unsafe { libc::tcgetattr(fd, &mut tio) } != 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::ENOTTY) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "not a serial port (no terminal attributes)",
                ));
            }
            return Err(e);
        }
        // SAFETY: tio is a valid termios; these only edit it or apply it to fd.
        unsafe {
            libc::cfmakeraw(&mut tio);
            // CLOCAL: no modem control lines; CREAD: receive at all.
            tio.c_cflag |= libc::CLOCAL | libc::CREAD;
            tio.c_cc[libc::VMIN] = 1;
            tio.c_cc[libc::VTIME] = 0;
            libc::cfsetispeed(&mut tio, libc::B115200);
            libc::cfsetospeed(&mut tio, libc::B115200);
            if libc::tcsetattr(fd, libc::TCSANOW, &tio) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::tcflush(fd, libc::TCIOFLUSH) != 0 {
                return Err(io::Error::last_os_error());
            }
            // Best effort: a second opener (another debugger) would interleave packets.
            libc::ioctl(fd, libc::TIOCEXCL);
        }
        Ok(())
    }

    /// Waits for `events` on the fd until `timeout_ms` passes; `Ok(false)` on timeout.
    fn wait(&self, events: libc::c_short, timeout_ms: u64) -> io::Result<bool> {
        let deadline =
            (timeout_ms != NO_TIMEOUT).then(|| Instant::now() + Duration::from_millis(timeout_ms));
        loop {
            let wait_ms = match deadline {
                None => -1,
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    // Round up: a 0 ms poll for 0.4 ms left would spin.
                    left.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int
                }
            };
            let mut pfd = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let n = unsafe { libc::poll(&mut pfd, 1, wait_ms) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if n == 0 {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Ok(false);
                }
                continue;
            }
            if pfd.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0
                && pfd.revents & events == 0
            {
                return Err(hung_up());
            }
            return Ok(true);
        }
    }
}

/// The device went away: a USB probe unplugged, or the far end of a pty closed.
fn hung_up() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "the serial port hung up (probe unplugged?)",
    )
}

fn load(ms: &AtomicU64) -> u64 {
    ms.load(Ordering::Relaxed)
}

fn store(ms: &AtomicU64, timeout: Option<Duration>) {
    let v = timeout.map_or(NO_TIMEOUT, |t| {
        (t.as_micros().div_ceil(1000)).min(u128::from(NO_TIMEOUT - 1)) as u64
    });
    ms.store(v, Ordering::Relaxed);
}

impl Read for SerialPort {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if !self.wait(libc::POLLIN, load(&self.read_timeout_ms))? {
                return Err(io::ErrorKind::TimedOut.into());
            }
            // SAFETY: buf is valid for buf.len() bytes.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            // In raw mode with VMIN = 1, a tty reads 0 bytes only once hung up.
            if n == 0 {
                return Err(hung_up());
            }
            if n > 0 {
                return Ok(n as usize);
            }
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EAGAIN) | Some(libc::EINTR) => continue,
                // What Linux answers for a tty whose other side is gone.
                Some(libc::EIO) => return Err(hung_up()),
                _ => return Err(e),
            }
        }
    }
}

impl Write for SerialPort {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            // SAFETY: buf is valid for buf.len() bytes.
            let n = unsafe { libc::write(self.fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) };
            if n >= 0 {
                return Ok(n as usize);
            }
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EAGAIN) => {
                    if !self.wait(libc::POLLOUT, load(&self.write_timeout_ms))? {
                        return Err(io::ErrorKind::TimedOut.into());
                    }
                }
                Some(libc::EINTR) => continue,
                Some(libc::EIO) => return Err(hung_up()),
                _ => return Err(e),
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        // Bytes are with the driver once written; tcdrain could wait without bound.
        Ok(())
    }
}

impl Transport for SerialPort {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        store(&self.read_timeout_ms, timeout);
        Ok(())
    }
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        store(&self.write_timeout_ms, timeout);
        Ok(())
    }
    fn shutdown(&self) {
        // Nothing to say to a tty; the descriptor closes when the port is dropped.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_not_a_tty_is_refused_clearly() {
        let err = SerialPort::open(Path::new("/dev/null")).unwrap_err();
        assert!(err.to_string().contains("not a serial port"), "{err}");
    }

    #[test]
    fn a_missing_device_is_an_os_error() {
        let err = SerialPort::open(Path::new("/dev/ttyACM-isrscope-none")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
