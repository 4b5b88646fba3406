//! Semihosting through a probe: the core halts at `BKPT 0xAB` (halting debug is on
//! while isrscope is attached), isrscope does the call (R0 the operation, R1 its
//! argument block), writes the result to R0, moves the PC past the BKPT and lets the
//! core run on. Console output is the program's output: `:tt` opened for writing is
//! stdout ("w" modes) or stderr ("a" modes), SYS_WRITE0/WRITEC go to stderr, as QEMU
//! does them. Files on this machine are refused. SYS_EXIT and SYS_EXIT_EXTENDED end
//! the program with a status.

use std::time::Instant;

use probe_rs::Error;

use super::link::CoreAccess;

/// What a served call leaves.
#[derive(Debug, PartialEq, Eq)]
pub enum Served {
    /// The core may run on.
    Continue,
    /// The program exited with this status.
    Exit(u8),
}

const SYS_OPEN: u32 = 0x01;
const SYS_CLOSE: u32 = 0x02;
const SYS_WRITEC: u32 = 0x03;
const SYS_WRITE0: u32 = 0x04;
const SYS_WRITE: u32 = 0x05;
const SYS_READ: u32 = 0x06;
const SYS_ISTTY: u32 = 0x09;
const SYS_CLOCK: u32 = 0x10;
const SYS_TIME: u32 = 0x11;
const SYS_ERRNO: u32 = 0x13;
const SYS_EXIT: u32 = 0x18;
const SYS_EXIT_EXTENDED: u32 = 0x20;
/// ADP_Stopped_ApplicationExit: a normal end (status 0, or the extended call's subcode).
const APPLICATION_EXIT: u32 = 0x20026;
/// Handles isrscope gives out for `:tt`.
const HANDLE_STDIN: u32 = 1;
const HANDLE_STDOUT: u32 = 2;
const HANDLE_STDERR: u32 = 3;
/// The most one call may write (a string without its NUL is cut there).
const MAX_WRITE: u32 = 64 * 1024;

fn words(core: &mut dyn CoreAccess, address: u32, n: usize) -> Result<Vec<u32>, Error> {
    let mut w = vec![0u32; n];
    core.read_32(address, &mut w)?;
    Ok(w)
}

fn bytes(core: &mut dyn CoreAccess, address: u32, len: u32) -> Result<Vec<u8>, Error> {
    let mut b = vec![0u8; len.min(MAX_WRITE) as usize];
    core.read_8(address, &mut b)?;
    Ok(b)
}

/// Serves the call the core is halted at; `out` gets (descriptor, bytes) written.
pub fn serve(core: &mut dyn CoreAccess, out: &mut Vec<(u8, Vec<u8>)>, started: Instant) -> Result<Served, Error> {
    let op = core.read_reg(0)?;
    let arg = core.read_reg(1)?;
    let result: i32 = match op {
        SYS_WRITEC => {
            out.push((2, bytes(core, arg, 1)?));
            0
        }
        SYS_WRITE0 => {
            // Read in pieces up to the NUL (bounded).
            let mut s = Vec::new();
            while (s.len() as u32) < MAX_WRITE {
                let chunk = bytes(core, arg + s.len() as u32, 64)?;
                match chunk.iter().position(|&c| c == 0) {
                    Some(end) => {
                        s.extend_from_slice(&chunk[..end]);
                        break;
                    }
                    None => s.extend(chunk),
                }
            }
            out.push((2, s));
            0
        }
        SYS_OPEN => {
            let w = words(core, arg, 3)?;
            let name = bytes(core, w[0], w[2].min(64))?;
            if name == b":tt" {
                (match w[1] {
                    0..=3 => HANDLE_STDIN,
                    4..=7 => HANDLE_STDOUT,
                    _ => HANDLE_STDERR,
                }) as i32
            } else {
                -1
            }
        }
        SYS_WRITE => {
            let w = words(core, arg, 3)?;
            let fd = match w[0] {
                HANDLE_STDOUT => Some(1),
                HANDLE_STDERR => Some(2),
                _ => None,
            };
            match fd {
                Some(fd) if w[2] <= MAX_WRITE => {
                    out.push((fd, bytes(core, w[1], w[2])?));
                    0 // bytes not written
                }
                _ => w[2] as i32,
            }
        }
        // Nothing to read: end of file (all bytes "not read").
        SYS_READ => words(core, arg, 3)?[2] as i32,
        SYS_CLOSE => 0,
        SYS_ISTTY => i32::from(matches!(words(core, arg, 1)?[0], HANDLE_STDIN | HANDLE_STDOUT | HANDLE_STDERR)),
        SYS_CLOCK => (started.elapsed().as_millis() / 10) as i32,
        SYS_TIME => std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i32).unwrap_or(0),
        SYS_ERRNO => 0,
        SYS_EXIT => return Ok(Served::Exit(if arg == APPLICATION_EXIT { 0 } else { 1 })),
        SYS_EXIT_EXTENDED => {
            let w = words(core, arg, 2)?;
            return Ok(Served::Exit(if w[0] == APPLICATION_EXIT { w[1] as u8 } else { 1 }));
        }
        _ => -1,
    };
    core.write_reg(0, result as u32)?;
    let pc = core.read_reg(15)?;
    core.write_reg(15, pc.wrapping_add(2))?;
    Ok(Served::Continue)
}

/// A core with registers and memory only: QEMU cannot serve these tests (its BKPT raises
/// a HardFault, halting debug is not modelled), so the calls' decoding is checked here.
#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use probe_rs::{CoreStatus, VectorCatchCondition};

    use super::*;

    #[derive(Default)]
    struct Fake {
        regs: BTreeMap<u16, u32>,
        mem: BTreeMap<u32, u8>,
    }

    impl Fake {
        fn put(&mut self, address: u32, bytes: &[u8]) {
            for (i, b) in bytes.iter().enumerate() {
                self.mem.insert(address + i as u32, *b);
            }
        }
        fn put_words(&mut self, address: u32, words: &[u32]) {
            for (i, w) in words.iter().enumerate() {
                self.put(address + 4 * i as u32, &w.to_le_bytes());
            }
        }
        fn call(op: u32, arg: u32) -> Fake {
            let mut f = Fake::default();
            f.regs.insert(0, op);
            f.regs.insert(1, arg);
            f.regs.insert(15, 0x0800_0100);
            f
        }
    }

    impl CoreAccess for Fake {
        fn status(&mut self) -> Result<CoreStatus, Error> {
            unimplemented!()
        }
        fn halt(&mut self, _: Duration) -> Result<(), Error> {
            unimplemented!()
        }
        fn step(&mut self) -> Result<(), Error> {
            unimplemented!()
        }
        fn reset_and_halt(&mut self, _: Duration) -> Result<(), Error> {
            unimplemented!()
        }
        fn read_reg(&mut self, id: u16) -> Result<u32, Error> {
            Ok(self.regs.get(&id).copied().unwrap_or(0))
        }
        fn write_reg(&mut self, id: u16, value: u32) -> Result<(), Error> {
            self.regs.insert(id, value);
            Ok(())
        }
        fn read_8(&mut self, address: u32, buf: &mut [u8]) -> Result<(), Error> {
            for (i, b) in buf.iter_mut().enumerate() {
                *b = self.mem.get(&(address + i as u32)).copied().unwrap_or(0);
            }
            Ok(())
        }
        fn read_32(&mut self, address: u32, buf: &mut [u32]) -> Result<(), Error> {
            for (i, w) in buf.iter_mut().enumerate() {
                let mut b = [0u8; 4];
                self.read_8(address + 4 * i as u32, &mut b)?;
                *w = u32::from_le_bytes(b);
            }
            Ok(())
        }
        fn write(&mut self, address: u32, data: &[u8]) -> Result<(), Error> {
            self.put(address, data);
            Ok(())
        }
        fn read_word(&mut self, address: u32) -> Result<u32, Error> {
            let mut w = [0u32];
            self.read_32(address, &mut w)?;
            Ok(w[0])
        }
        fn write_word(&mut self, address: u32, value: u32) -> Result<(), Error> {
            self.put(address, &value.to_le_bytes());
            Ok(())
        }
        fn set_hw_breakpoint(&mut self, _: u32) -> Result<(), Error> {
            unimplemented!()
        }
        fn clear_hw_breakpoint(&mut self, _: u32) -> Result<(), Error> {
            unimplemented!()
        }
        fn vector_catch(&mut self, _: VectorCatchCondition, _: bool) -> Result<(), Error> {
            unimplemented!()
        }
    }

    #[test]
    fn console_writes_are_output_and_the_pc_moves_past_the_bkpt() {
        let mut f = Fake::call(SYS_WRITE0, 0x2000_0000);
        f.put(0x2000_0000, b"hello\0junk");
        let mut out = Vec::new();
        assert_eq!(serve(&mut f, &mut out, Instant::now()).unwrap(), Served::Continue);
        assert_eq!(out, vec![(2, b"hello".to_vec())]);
        assert_eq!(f.regs[&15], 0x0800_0102);
        let mut f = Fake::call(SYS_WRITEC, 0x2000_0000);
        f.put(0x2000_0000, b"!");
        let mut out = Vec::new();
        serve(&mut f, &mut out, Instant::now()).unwrap();
        assert_eq!(out, vec![(2, b"!".to_vec())]);
    }

    #[test]
    fn tt_opened_for_writing_is_stdout_and_its_writes_come_out() {
        let mut f = Fake::call(SYS_OPEN, 0x2000_0100);
        f.put(0x2000_0000, b":tt\0");
        f.put_words(0x2000_0100, &[0x2000_0000, 4, 3]);
        let mut out = Vec::new();
        serve(&mut f, &mut out, Instant::now()).unwrap();
        let handle = f.regs[&0];
        assert_eq!(handle, HANDLE_STDOUT);
        let mut f = Fake::call(SYS_WRITE, 0x2000_0100);
        f.put(0x2000_0200, b"line\n");
        f.put_words(0x2000_0100, &[handle, 0x2000_0200, 5]);
        serve(&mut f, &mut out, Instant::now()).unwrap();
        assert_eq!(out, vec![(1, b"line\n".to_vec())]);
        assert_eq!(f.regs[&0], 0, "no bytes left unwritten");
        // Any other file: refused.
        let mut f = Fake::call(SYS_OPEN, 0x2000_0100);
        f.put(0x2000_0000, b"/etc/passwd\0");
        f.put_words(0x2000_0100, &[0x2000_0000, 0, 11]);
        serve(&mut f, &mut out, Instant::now()).unwrap();
        assert_eq!(f.regs[&0], u32::MAX);
    }

    #[test]
    fn exits_carry_the_status() {
        let mut out = Vec::new();
        assert_eq!(serve(&mut Fake::call(SYS_EXIT, APPLICATION_EXIT), &mut out, Instant::now()).unwrap(), Served::Exit(0));
        assert_eq!(serve(&mut Fake::call(SYS_EXIT, 0x20023), &mut out, Instant::now()).unwrap(), Served::Exit(1));
        let mut f = Fake::call(SYS_EXIT_EXTENDED, 0x2000_0100);
        f.put_words(0x2000_0100, &[APPLICATION_EXIT, 3]);
        assert_eq!(serve(&mut f, &mut out, Instant::now()).unwrap(), Served::Exit(3));
    }
}
