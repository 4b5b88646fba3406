//! The QEMU launcher: `--qemu MACHINE --elf FW.elf` starts `qemu-system-arm` halted
//! (`-S`) with its gdbstub on a private unix socket, connects a [`GdbTarget`] to it, and
//! owns the process.
//!
//! Ownership means QEMU never outlives isrscope: it is killed on drop, and the kernel
//! kills it (`PR_SET_PDEATHSIG`) if isrscope dies without unwinding (a signal, `abort`).
//! The death signal follows the *thread* that launched QEMU, so keep a [`QemuTarget`]
//! on the thread that made it (the CLI's main thread; one test's thread).
//!
//! When QEMU dies under us (e.g. `qemu: fatal: Lockup: can't escalate 3 to HardFault`),
//! errors carry QEMU's own stderr message rather than the socket error it caused.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::target::gdb::{ConnectOptions, GdbTarget, ServerKind};
use crate::target::{
    BreakpointKind, Capabilities, CatchKind, CoreState, Registers, Result, StopReason, Target,
    TargetError, reg,
};

/// Environment variable naming the `qemu-system-arm` executable to run.
pub const QEMU_ENV: &str = "ISRSCOPE_QEMU";
/// The first QEMU whose gdbstub shows msp, psp, primask, basepri, faultmask and control.
pub const MIN_VERSION: (u32, u32) = (8, 0);

/// How to start QEMU.
#[derive(Clone, Debug)]
pub struct QemuConfig {
    /// `-M` value, e.g. `netduinoplus2`, `mps2-an385`.
    pub machine: String,
    /// Firmware loaded with `-kernel`.
    pub elf: PathBuf,
    /// The executable; `None`: `$ISRSCOPE_QEMU`, else `qemu-system-arm` from `PATH`.
    pub executable: Option<PathBuf>,
    /// Semihosting: off, or QEMU's own (`target=native`): the firmware's writes to
    /// stdout and stderr (and SYS_WRITE0/WRITEC, which QEMU puts on stderr) come through
    /// [`Target::take_program_output`], `SYS_EXIT` ends QEMU with the status.
    /// (`target=gdb`, the File-I/O route, leaves QEMU 10.0.2's gdbstub deaf after the
    /// first call, with gdb-multiarch too: not offered.)
    pub semihosting: Semihosting,
    /// More arguments, passed last.
    pub extra_args: Vec<String>,
    /// How long QEMU may take to open its gdbstub socket.
    pub start_timeout: Duration,
    /// Options for the GDB connection.
    pub gdb: ConnectOptions,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Semihosting {
    Off,
    Native,
}

impl QemuConfig {
    pub fn new(machine: impl Into<String>, elf: impl Into<PathBuf>) -> Self {
        Self {
            machine: machine.into(),
            elf: elf.into(),
            executable: None,
            semihosting: Semihosting::Off,
            extra_args: Vec::new(),
            start_timeout: Duration::from_secs(10),
            gdb: ConnectOptions::default(),
        }
    }

    fn executable(&self) -> PathBuf {
        self.executable
            .clone()
            .or_else(|| {
                std::env::var_os(QEMU_ENV)
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            })
            .unwrap_or_else(|| PathBuf::from("qemu-system-arm"))
    }
}

/// `qemu-system-arm --version`, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QemuVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl std::fmt::Display for QemuVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl QemuVersion {
    /// Parses the first line of `--version`: `QEMU emulator version 10.0.2 (Debian ...)`.
    pub fn parse(text: &str) -> Option<Self> {
        let rest = &text[text.find("version ")? + "version ".len()..];
        let word = rest
            .split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .next()?;
        let mut parts = word.split('.').map(|p| p.parse::<u32>().ok());
        Some(Self {
            major: parts.next()??,
            minor: parts.next().flatten().unwrap_or(0),
            patch: parts.next().flatten().unwrap_or(0),
        })
    }

    pub fn has_system_registers(&self) -> bool {
        (self.major, self.minor) >= MIN_VERSION
    }
}

/// Runs `EXE --version`.
pub fn qemu_version(executable: &Path) -> Result<QemuVersion> {
    let out = Command::new(executable)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            TargetError::Other(format!(
                "cannot run {} ({e}); install qemu-system-arm >= 8.0 or set {QEMU_ENV} to its path",
                executable.display()
            ))
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    QemuVersion::parse(&text).ok_or_else(|| {
        TargetError::Other(format!(
            "{} --version printed no version: {:?}",
            executable.display(),
            text.trim()
        ))
    })
}

/// A QEMU process isrscope started, and the GDB connection to it.
pub struct QemuTarget {
    gdb: Option<GdbTarget>,
    child: Child,
    dir: PathBuf,
    socket: PathBuf,
    version: QemuVersion,
    warnings: Vec<String>,
    options: ConnectOptions,
    /// QEMU's exit, once seen, with its stderr message.
    exit: Option<String>,
    /// QEMU's exit code when it ended by itself without a message: the firmware's
    /// semihosting SYS_EXIT status (QEMU exits with it).
    exit_code: Option<u8>,
    /// How much of QEMU's stderr file has been passed on as the firmware's stderr.
    stderr_seen: usize,
    /// With semihosting: QEMU's stdout (the firmware's), relayed.
    stdout: Option<std::sync::Arc<StdoutRelay>>,
}

impl QemuTarget {
    /// Starts QEMU halted and connects to its gdbstub.
    pub fn launch(config: &QemuConfig) -> Result<Self> {
        if !config.elf.is_file() {
            return Err(TargetError::Other(format!(
                "firmware {} not found",
                config.elf.display()
            )));
        }
        let exe = config.executable();
        let version = qemu_version(&exe)?;
        let mut warnings = Vec::new();
        if !version.has_system_registers() {
            warnings.push(format!(
                "QEMU {version} is older than 8.0: its gdbstub has no msp, psp, primask, basepri, faultmask \
                 or control registers, so frames on the process stack cannot be found. Install \
                 qemu-system-arm >= 8.0 (Debian 12: from bookworm-backports) or set {QEMU_ENV}."
            ));
        }
        let dir = private_dir()?;
        let socket = dir.join("gdb.sock");
        let stderr = File::create(dir.join("qemu.stderr"))
            .map_err(|e| TargetError::Other(format!("cannot create {}: {e}", dir.display())))?;
        let mut cmd = Command::new(&exe);
        cmd.arg("-M")
            .arg(&config.machine)
            .arg("-kernel")
            .arg(&config.elf)
            .args([
                "-nographic",
                "-S",
                "-monitor",
                "none",
                "-serial",
                "null",
                "-chardev",
            ])
            .arg(format!(
                "socket,id=isrscope-gdb,path={},server=on,wait=off",
                socket.display()
            ))
            .args(["-gdb", "chardev:isrscope-gdb"]);
        match config.semihosting {
            Semihosting::Off => {}
            Semihosting::Native => {
                cmd.args(["-semihosting-config", "enable=on,target=native"]);
            }
        }
        let stdout = if config.semihosting == Semihosting::Native { Stdio::piped() } else { Stdio::null() };
        cmd.args(&config.extra_args).stdin(Stdio::null()).stdout(stdout).stderr(stderr);
        die_with_parent(&mut cmd);
        // Its own process group: a Ctrl-C at the terminal goes to isrscope, which stops
        // the core and reports before QEMU ends (with isrscope, by the death signal).
        cmd.process_group(0);
        let mut child = cmd.spawn().map_err(|e| {
            let _ = std::fs::remove_dir_all(&dir);
            TargetError::Other(format!("cannot start {}: {e}", exe.display()))
        })?;
        let stdout = child.stdout.take().map(StdoutRelay::start);
        let mut options = config.gdb.clone();
        options.server = Some(ServerKind::Qemu);
        options
            .description
            .get_or_insert_with(|| format!("{version}, -M {}", config.machine));
        let mut me = QemuTarget {
            gdb: None,
            child,
            dir,
            socket,
            version,
            warnings,
            options,
            exit: None,
            exit_code: None,
            stderr_seen: 0,
            stdout,
        };
        me.connect_within(config.start_timeout)?;
        if let Some(gdb) = &me.gdb
            && !gdb.capabilities().registers.iter().any(|r| r == reg::MSP)
            && me.version.has_system_registers()
        {
            me.warnings.push(format!(
                "QEMU {} shows no msp/psp registers for -M {}",
                me.version, config.machine
            ));
        }
        Ok(me)
    }

    fn connect_within(&mut self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let address = format!("unix:{}", self.socket.display());
        loop {
            if let Some(status) = self.child.try_wait().ok().flatten() {
                return Err(TargetError::Other(format!(
                    "QEMU exited while starting: {}",
                    self.describe_exit(status)
                )));
            }
            if self.socket.exists() {
                match GdbTarget::connect(&address, &self.options) {
                    Ok(gdb) => {
                        self.gdb = Some(gdb);
                        return Ok(());
                    }
                    Err(TargetError::Connect { .. }) if Instant::now() < deadline => {}
                    Err(e) => return Err(self.explain(e)),
                }
            }
            if Instant::now() >= deadline {
                return Err(TargetError::Timeout {
                    doing: format!("waiting for QEMU's gdbstub at {}", self.socket.display()),
                    timeout,
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The GDB connection, for what the trait does not cover (stats, monitor commands).
    pub fn gdb(&mut self) -> Result<&mut GdbTarget> {
        self.gdb
            .as_mut()
            .ok_or_else(|| TargetError::Other("not connected to QEMU's gdbstub".into()))
    }

    /// QEMU's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn version(&self) -> &QemuVersion {
        &self.version
    }

    /// Things the user should know (an old QEMU).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// QEMU's gdbstub socket; another client (gdb-multiarch) may use it after [`Self::disconnect`].
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Everything QEMU has written to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join("qemu.stderr")).unwrap_or_default()
    }

    /// Leaves the gdbstub (breakpoints removed, core left halted) but keeps QEMU
    /// running, so that another client can attach; [`Self::reconnect`] comes back.
    pub fn disconnect(&mut self) -> Result<()> {
        match self.gdb.take() {
            Some(mut gdb) => gdb.detach(false).map_err(|e| self.explain(e)),
            None => Ok(()),
        }
    }

    pub fn reconnect(&mut self) -> Result<()> {
        if self.gdb.is_none() {
            self.connect_within(self.options.connect_timeout)?;
        }
        Ok(())
    }

    /// QEMU's exit and its message, if it has exited. Waits up to `grace` for an exit
    /// that is under way (the socket closes a moment before the process ends).
    pub fn exited(&mut self, grace: Duration) -> Option<String> {
        if self.exit.is_none() {
            let deadline = Instant::now() + grace;
            loop {
                if let Some(status) = self.child.try_wait().ok().flatten() {
                    self.exit = Some(self.describe_exit(status));
                    // QEMU's own messages start with its name; the rest is the firmware's.
                    let quiet = !self.stderr().lines().any(is_qemu_message);
                    self.exit_code = status.code().filter(|_| quiet).and_then(|c| u8::try_from(c).ok());
                    break;
                }
                if Instant::now() >= deadline {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        self.exit.clone()
    }

    fn describe_exit(&self, status: ExitStatus) -> String {
        let stderr = self.stderr();
        let message = stderr
            .lines()
            .find(|l| l.contains("fatal") || l.contains("rror"))
            .or_else(|| stderr.lines().find(|l| !l.trim().is_empty()))
            .map(str::trim);
        match message {
            Some(m) => format!("{m} ({status})"),
            None => format!("QEMU exited ({status}) without a message"),
        }
    }

    /// Replaces an error caused by QEMU's death with QEMU's own account.
    fn explain(&mut self, err: TargetError) -> TargetError {
        // The socket closes a moment before the process is gone: give it time then.
        let grace = match &err {
            TargetError::Disconnected { .. } | TargetError::Io { .. } => Duration::from_secs(2),
            _ => Duration::ZERO,
        };
        let Some(exit) = self.exited(grace) else {
            return err;
        };
        let doing = match err {
            TargetError::Disconnected { doing, .. }
            | TargetError::Io { doing, .. }
            | TargetError::Timeout { doing, .. }
            | TargetError::Protocol { doing, .. }
            | TargetError::Refused { doing, .. } => doing,
            TargetError::NotHalted(what) => what,
            TargetError::Connect { what, .. } => format!("connecting to {what}"),
            other => other.to_string(),
        };
        if exit.contains("Lockup") {
            return TargetError::LockedUp { doing, detail: format!("QEMU aborted on it: {exit}") };
        }
        TargetError::Disconnected {
            doing,
            detail: Some(format!("QEMU exited: {exit}")),
        }
    }

    fn with<T>(&mut self, f: impl FnOnce(&mut GdbTarget) -> Result<T>) -> Result<T> {
        let result = match self.gdb.as_mut() {
            Some(gdb) => f(gdb),
            None => return Err(TargetError::Other("not connected to QEMU's gdbstub".into())),
        };
        result.map_err(|e| self.explain(e))
    }
}

impl std::fmt::Debug for QemuTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QemuTarget")
            .field("pid", &self.child.id())
            .field("version", &self.version)
            .field("socket", &self.socket)
            .field("gdb", &self.gdb)
            .field("exit", &self.exit)
            .finish_non_exhaustive()
    }
}

impl Drop for QemuTarget {
    fn drop(&mut self) {
        if let Some(gdb) = self.gdb.as_mut() {
            gdb.abandon();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The firmware's semihosting stdout, relayed from QEMU's stdout pipe by a thread (so
/// QEMU never blocks on a full pipe) that can be asked to empty the pipe now: what QEMU
/// wrote before the core stopped must be in the report's output, not a moment later.
struct StdoutRelay {
    bytes: std::sync::Mutex<Vec<u8>>,
    ended: std::sync::atomic::AtomicBool,
    /// Drain requests made, and the latest one served (the pipe was empty after it).
    asked: std::sync::atomic::AtomicU64,
    served: std::sync::atomic::AtomicU64,
}

impl StdoutRelay {
    fn start(pipe: std::process::ChildStdout) -> std::sync::Arc<StdoutRelay> {
        use std::os::fd::AsRawFd;
        let relay = std::sync::Arc::new(StdoutRelay {
            bytes: std::sync::Mutex::new(Vec::new()),
            ended: std::sync::atomic::AtomicBool::new(false),
            asked: std::sync::atomic::AtomicU64::new(0),
            served: std::sync::atomic::AtomicU64::new(0),
        });
        let me = relay.clone();
        std::thread::spawn(move || {
            let fd = pipe.as_raw_fd();
            // SAFETY: fcntl on a descriptor this thread owns (through `pipe`).
            let nonblocking = unsafe { libc::fcntl(fd, libc::F_SETFL, libc::fcntl(fd, libc::F_GETFL) | libc::O_NONBLOCK) } == 0;
            let mut pipe = pipe;
            let mut buf = [0u8; 4096];
            'relay: loop {
                let asked = me.asked.load(Ordering::SeqCst);
                loop {
                    match std::io::Read::read(&mut pipe, &mut buf) {
                        Ok(0) => break 'relay,
                        Ok(n) => {
                            if let Ok(mut v) = me.bytes.lock() {
                                v.extend_from_slice(&buf[..n]);
                            }
                            if !nonblocking {
                                break;
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                        Err(_) => break 'relay,
                    }
                }
                me.served.store(asked, Ordering::SeqCst);
                if nonblocking {
                    let mut poll = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
                    // SAFETY: one pollfd, valid for the call.
                    unsafe { libc::poll(&mut poll, 1, 10) };
                }
            }
            me.ended.store(true, Ordering::SeqCst);
        });
        relay
    }

    /// Waits (at most `timeout`) until everything in the pipe now has been taken in.
    fn sync(&self, timeout: Duration) {
        let ask = self.asked.fetch_add(1, Ordering::SeqCst) + 1;
        let deadline = Instant::now() + timeout;
        while !self.ended.load(Ordering::SeqCst) && self.served.load(Ordering::SeqCst) < ask && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn take(&self) -> Vec<u8> {
        self.bytes.lock().map(|mut v| std::mem::take(&mut *v)).unwrap_or_default()
    }
}

static NO_CAPABILITIES: std::sync::OnceLock<Capabilities> = std::sync::OnceLock::new();

impl Target for QemuTarget {
    fn capabilities(&self) -> &Capabilities {
        match &self.gdb {
            Some(gdb) => gdb.capabilities(),
            None => NO_CAPABILITIES.get_or_init(Capabilities::default),
        }
    }
    fn read_memory(&mut self, address: u32, buf: &mut [u8]) -> Result<()> {
        self.with(|g| g.read_memory(address, buf))
    }
    fn read_memory_partial(&mut self, address: u32, buf: &mut [u8]) -> Result<usize> {
        self.with(|g| g.read_memory_partial(address, buf))
    }
    fn write_memory(&mut self, address: u32, data: &[u8]) -> Result<()> {
        self.with(|g| g.write_memory(address, data))
    }
    fn take_program_output(&mut self) -> Vec<(u8, Vec<u8>)> {
        let mut out = self.gdb.as_mut().map(|g| g.take_program_output()).unwrap_or_default();
        if let Some(relay) = &self.stdout {
            // QEMU wrote what the firmware printed before the core stopped (or before it
            // ended): wait until the relay has emptied the pipe. While the core runs,
            // what is there now is enough (the run loop comes back).
            if !self.gdb.as_ref().is_some_and(|g| g.is_running()) {
                relay.sync(Duration::from_secs(1));
            }
            let bytes = relay.take();
            if !bytes.is_empty() {
                out.push((1, bytes));
            }
        }
        // The firmware's stderr (semihosting) shares QEMU's stderr file: its complete
        // lines that are not QEMU's own messages.
        let all = self.stderr();
        if let Some(new) = all.get(self.stderr_seen..) {
            let complete = new.rfind('\n').map(|i| i + 1).unwrap_or(0);
            let text: String = new[..complete].lines().filter(|l| !is_qemu_message(l)).map(|l| format!("{l}\n")).collect();
            self.stderr_seen += complete;
            if !text.is_empty() {
                out.push((2, text.into_bytes()));
            }
        }
        out
    }
    fn exit_status(&self) -> Option<u8> {
        self.gdb.as_ref().and_then(|g| g.exit_status()).or(self.exit_code)
    }
    fn read_registers(&mut self) -> Result<Registers> {
        self.with(|g| g.read_registers())
    }
    fn read_register(&mut self, name: &str) -> Result<u32> {
        self.with(|g| g.read_register(name))
    }
    fn read_register_set(&mut self, names: &[&str]) -> Result<Registers> {
        self.with(|g| g.read_register_set(names))
    }
    fn write_register(&mut self, name: &str, value: u32) -> Result<()> {
        self.with(|g| g.write_register(name, value))
    }
    fn halt(&mut self, timeout: Duration) -> Result<StopReason> {
        self.with(|g| g.halt(timeout))
    }
    fn resume(&mut self) -> Result<()> {
        self.with(|g| g.resume())
    }
    fn step(&mut self) -> Result<StopReason> {
        self.with(|g| g.step())
    }
    fn state(&mut self) -> Result<CoreState> {
        match self.with(|g| g.state()) {
            Err(TargetError::Disconnected {
                detail: Some(d), ..
            }) if self.exit.is_some() => Ok(CoreState::Exited { description: d }),
            Err(TargetError::LockedUp { detail, .. }) if self.exit.is_some() => {
                Ok(CoreState::Exited { description: format!("the core locked up; {detail}") })
            }
            other => other,
        }
    }
    fn wait_for_stop(&mut self, timeout: Duration) -> Result<Option<StopReason>> {
        self.with(|g| g.wait_for_stop(timeout))
    }
    fn set_breakpoint(&mut self, address: u32, kind: BreakpointKind) -> Result<()> {
        self.with(|g| g.set_breakpoint(address, kind))
    }
    fn clear_breakpoint(&mut self, address: u32) -> Result<()> {
        self.with(|g| g.clear_breakpoint(address))
    }
    fn breakpoints(&self) -> Vec<u32> {
        self.gdb
            .as_ref()
            .map(|g| g.breakpoints())
            .unwrap_or_default()
    }
    fn set_vector_catch(&mut self, kinds: &[CatchKind]) -> Result<()> {
        self.with(|g| g.set_vector_catch(kinds))
    }
    fn reset(&mut self, halt: bool) -> Result<()> {
        self.with(|g| g.reset(halt))
    }
    fn detach(&mut self, resume: bool) -> Result<()> {
        self.with(|g| g.detach(resume))
    }
}

/// A fresh directory only this process uses, for the socket and QEMU's stderr.
fn private_dir() -> Result<PathBuf> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let base = std::env::temp_dir();
    for _ in 0..100 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = base.join(format!(
            "isrscope-qemu-{}-{}-{nanos:x}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let mut builder = std::fs::DirBuilder::new();
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        match builder.create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(TargetError::Other(format!(
                    "cannot create a directory in {}: {e}",
                    base.display()
                )));
            }
        }
    }
    Err(TargetError::Other(format!(
        "cannot create a private directory in {}",
        base.display()
    )))
}

/// A line QEMU wrote itself (`qemu-system-arm: ...`, `qemu: fatal: ...`).
fn is_qemu_message(line: &str) -> bool {
    line.starts_with("qemu")
}

/// Makes the child die with its parent (Linux), and not leave a core file when it aborts.
fn die_with_parent(cmd: &mut Command) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: runs in the forked child before exec; calls only async-signal-safe functions.
    unsafe {
        cmd.pre_exec(move || {
            let no_core = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            libc::setrlimit(libc::RLIMIT_CORE, &no_core);
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before prctl took effect.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        let v = QemuVersion::parse(
            "QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)\n",
        )
        .unwrap();
        assert_eq!(
            v,
            QemuVersion {
                major: 10,
                minor: 0,
                patch: 2
            }
        );
        assert!(v.has_system_registers());
        let old = QemuVersion::parse("QEMU emulator version 7.2.15 (Debian 1:7.2+dfsg-7+deb12u12)")
            .unwrap();
        assert!(!old.has_system_registers());
        assert!(QemuVersion::parse("nothing here").is_none());
    }
}
