//! GDB's File-I/O protocol (the `F` requests a server sends while the target runs, for
//! the target's semihosting calls: QEMU with `-semihosting-config target=gdb`, OpenOCD
//! with `arm semihosting_fileio enable`). isrscope is the host side: writes to the
//! console descriptors (1, 2) become the program's output; `isatty` says yes for 0-2;
//! reads from stdin see end of file; every other call (files on the host, `system`)
//! is refused with EPERM, so firmware cannot touch the machine isrscope runs on.

use super::GdbTarget;
use crate::target::{Result, TargetError};

/// GDB's File-I/O errno values (the protocol's own numbering).
const EPERM: u32 = 1;
const EBADF: u32 = 9;
const EFAULT: u32 = 14;
const EINVAL: u32 = 22;

/// The most one `write` may ask isrscope to read from the target.
const MAX_WRITE: u32 = 64 * 1024;

/// A File-I/O request: the call and its arguments (hex numbers; a pointer/length pair
/// is written `ptr/len`, kept as its two numbers).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Request {
    pub call: String,
    pub args: Vec<u32>,
}

impl Request {
    /// `Fwrite,1,20000100,d` (the payload without `$`/checksum). `None` when the packet
    /// is no File-I/O request.
    pub fn parse(payload: &[u8]) -> Option<Request> {
        let text = std::str::from_utf8(payload.strip_prefix(b"F")?).ok()?;
        let mut parts = text.split(',');
        let call = parts.next()?.to_string();
        if call.is_empty() || !call.bytes().all(|b| b.is_ascii_lowercase()) {
            return None;
        }
        let mut args = Vec::new();
        for p in parts {
            for n in p.split('/') {
                args.push(u32::from_str_radix(n, 16).ok()?);
            }
        }
        Some(Request { call, args })
    }
}

/// The reply to send: `F<result>` or `F-1,<errno>`.
fn reply(result: Result<u32, u32>) -> String {
    match result {
        Ok(n) => format!("F{n:x}"),
        Err(errno) => format!("F-1,{errno:x}"),
    }
}

impl GdbTarget {
    /// Serves one File-I/O request (the target waits until it is answered).
    pub(super) fn serve_file_io(&mut self, req: &Request, doing: &str) -> Result<()> {
        let result = match (req.call.as_str(), req.args.as_slice()) {
            ("write", &[fd @ (1 | 2), address, len]) => {
                if len > MAX_WRITE {
                    Err(EINVAL)
                } else {
                    let mut buf = vec![0u8; len as usize];
                    match self.read_block(address, &mut buf) {
                        Ok(()) => {
                            self.program_output.push((fd as u8, buf));
                            Ok(len)
                        }
                        Err(TargetError::MemoryUnreadable { .. }) => Err(EFAULT),
                        Err(e) => return Err(e),
                    }
                }
            }
            ("write", _) => Err(EBADF),
            ("read", &[0, ..]) => Ok(0),
            ("isatty", &[fd]) => Ok(u32::from(fd <= 2)),
            ("close", &[fd]) if fd <= 2 => Ok(0),
            _ => Err(EPERM),
        };
        self.conn.send(reply(result).as_bytes(), doing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_requests_and_leaves_other_packets() {
        assert_eq!(Request::parse(b"Fwrite,1,20000100,d"), Some(Request { call: "write".into(), args: vec![1, 0x2000_0100, 0xd] }));
        assert_eq!(Request::parse(b"Fopen,20000000/5,0,1a4"), Some(Request { call: "open".into(), args: vec![0x2000_0000, 5, 0, 0x1a4] }));
        assert_eq!(Request::parse(b"Fisatty,1"), Some(Request { call: "isatty".into(), args: vec![1] }));
        assert_eq!(Request::parse(b"T05thread:01;"), None);
        assert_eq!(Request::parse(b"F"), None);
        assert_eq!(Request::parse(b"Fwrite,1,zz,2"), None);
        assert_eq!(Request::parse(b"F-1,2"), None);
    }

    #[test]
    fn replies_in_the_protocols_form() {
        assert_eq!(reply(Ok(13)), "Fd");
        assert_eq!(reply(Err(EPERM)), "F-1,1");
    }
}
