//! A QEMU lab machine for tests: qemu-system-arm started halted with its gdbstub on a
//! private unix socket, killed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Qemu {
    child: Child,
    dir: tempfile::TempDir,
}

impl Qemu {
    pub fn start(machine: &str, elf: &Path) -> Qemu {
        let dir = tempfile::Builder::new().prefix("isrscope-lab").tempdir().unwrap();
        let sock = dir.path().join("gdb.sock");
        let stderr = std::fs::File::create(dir.path().join("qemu.err")).unwrap();
        let child = Command::new("qemu-system-arm")
            .args(["-M", machine, "-nographic", "-S", "-monitor", "none", "-serial", "null", "-kernel"])
            .arg(elf)
            .arg("-chardev")
            .arg(format!("socket,id=g,path={},server=on,wait=off", sock.display()))
            .args(["-gdb", "chardev:g"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("qemu-system-arm (run scripts/setup.sh)");
        // The socket file appears at bind(), a moment before listen(): a client that
        // connects in between is refused (seen under load). Wait for the listening state.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !listening(&sock) {
            assert!(Instant::now() < deadline, "QEMU did not listen on {}", sock.display());
            std::thread::sleep(Duration::from_millis(20));
        }
        Qemu { child, dir }
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("gdb.sock")
    }

    /// What QEMU wrote on stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("qemu.err")).unwrap_or_default()
    }

    /// Has the process exited (e.g. QEMU's lockup abort)?
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Is a unix socket listening at `path`? From /proc/net/unix: the flags column has
/// __SO_ACCEPTCON (0x10000) for a listening socket; where that file cannot be read, the
/// socket file's existence has to do.
fn listening(path: &Path) -> bool {
    let Ok(table) = std::fs::read_to_string("/proc/net/unix") else { return path.exists() };
    let want = path.to_string_lossy();
    table.lines().skip(1).any(|l| {
        let cols: Vec<&str> = l.split_whitespace().collect();
        cols.len() >= 8 && cols[7] == want && u32::from_str_radix(cols[3], 16).is_ok_and(|f| f & 0x1_0000 != 0)
    })
}
