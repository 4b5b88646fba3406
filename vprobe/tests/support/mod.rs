//! Shared support of the virtual probe's tests: the vprobe, pyOCD's and OpenOCD's
//! servers in front of it, the isrscope binary, the lab manifest.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The isrscope binary next to this test's (scripts/test.sh builds the workspace's).
pub fn isrscope() -> Command {
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().parent().unwrap().join("isrscope");
    assert!(bin.exists(), "{} not built (cargo build --workspace --bins)", bin.display());
    Command::new(bin)
}

pub struct Vprobe {
    child: Child,
    pub port: u16,
    stats: tempfile::NamedTempFile,
}

/// A free TCP port on the loopback (for servers that cannot pick their own).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// OpenOCD (Debian's 0.12.0) on the vprobe's remote_bitbang door, with the repository's
/// configuration; ends (SIGTERM, its own shutdown) when dropped.
pub struct OpenOcd {
    child: Child,
    pub gdb_port: u16,
}

impl OpenOcd {
    pub fn start(vprobe_port: u16) -> Result<OpenOcd, String> {
        OpenOcd::start_with(vprobe_port, &[])
    }

    /// [`OpenOcd::start`] with more configuration commands (`-c`), run after the
    /// repository's configuration, e.g. `stm32f4.cpu configure -rtos FreeRTOS`.
    pub fn start_with(vprobe_port: u16, commands: &[&str]) -> Result<OpenOcd, String> {
        let gdb_port = free_port();
        let mut child = Command::new("openocd")
            .arg("-f")
            .arg(root().join("vprobe/openocd/stm32f4-vprobe.cfg"))
            .args(["-c", &format!("remote_bitbang port {vprobe_port}"), "-c", &format!("gdb_port {gdb_port}")])
            .args(commands.iter().flat_map(|c| ["-c", c]))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("openocd (scripts/setup.sh installs it): {e}"))?;
        let mut seen = String::new();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        loop {
            let Some(Ok(line)) = lines.next() else {
                return Err(format!("openocd ended before listening:\n{seen}"));
            };
            seen.push_str(&line);
            seen.push('\n');
            if line.contains("for gdb connections") {
                break;
            }
        }
        std::thread::spawn(move || for _ in lines {});
        Ok(OpenOcd { child, gdb_port })
    }
}

impl Drop for OpenOcd {
    fn drop(&mut self) {
        unsafe { libc_kill(self.child.id() as i32, 15) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

/// `pyocd gdbserver` on the vprobe's pyOCD door; killed when dropped.
pub struct PyOcd {
    child: Child,
    pub port: u16,
}

impl PyOcd {
    pub fn start(vprobe_port: u16) -> Result<PyOcd, String> {
        let mut child = Command::new("pyocd")
            // `-C none`: pyOCD's default vector catch (HardFault) would stop the core
            // before isrscope's own breakpoints; isrscope decides what to catch.
            .args(["gdbserver", "--target", "cortex_m", "--port", "0", "--telnet-port", "0", "-C", "none", "--uid"])
            .arg(format!("remote:127.0.0.1:{vprobe_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("pyocd (scripts/setup.sh installs it): {e}"))?;
        let mut seen = String::new();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let port = loop {
            let Some(Ok(line)) = lines.next() else {
                return Err(format!("pyocd gdbserver ended before listening:\n{seen}"));
            };
            seen.push_str(&line);
            seen.push('\n');
            if let Some(rest) = line.split("GDB server listening on port ").nth(1) {
                break rest.split_whitespace().next().and_then(|p| p.parse().ok()).ok_or(seen.clone())?;
            }
        };
        // Keep draining its log so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Ok(PyOcd { child, port })
    }
}

impl PyOcd {
    /// Waits (10 s at most) for pyOCD's gdbserver to end by itself after its client
    /// detached, cleaning up as it does.
    pub fn wait_exit(mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for PyOcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Vprobe {
    /// Starts the vprobe on `elf` with one door (`bmp`, `pyocd`, `bitbang`), the core
    /// halted at reset, exiting after its first client.
    pub fn start(machine: &str, elf: &Path, door: &str) -> Vprobe {
        Vprobe::start_with(machine, elf, door, &[])
    }

    /// [`Vprobe::start`] with more of the vprobe's flags (`--latency-us N`).
    pub fn start_with(machine: &str, elf: &Path, door: &str, extra: &[String]) -> Vprobe {
        Vprobe::start_env(machine, elf, door, extra, &[])
    }

    /// [`Vprobe::start_with`] with environment variables for the vprobe (its fault
    /// injection).
    pub fn start_env(machine: &str, elf: &Path, door: &str, extra: &[String], env: &[(&str, &str)]) -> Vprobe {
        Vprobe::spawn(machine, elf, door, extra, env, true, true)
    }

    /// [`Vprobe::start`] serving one client after another (no `--once`): two tools on
    /// the same run of the firmware.
    pub fn start_serving(machine: &str, elf: &Path, door: &str) -> Vprobe {
        Vprobe::spawn(machine, elf, door, &[], &[], true, false)
    }

    /// The vprobe with the firmware running from reset, as a board found by a debugger
    /// that was never attached: C_DEBUGEN clear.
    pub fn start_running(machine: &str, elf: &Path, door: &str, extra: &[String]) -> Vprobe {
        Vprobe::spawn(machine, elf, door, extra, &[], false, true)
    }

    fn spawn(machine: &str, elf: &Path, door: &str, extra: &[String], env: &[(&str, &str)], halted: bool, once: bool) -> Vprobe {
        let stats = tempfile::NamedTempFile::new().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_isrscope-vprobe"))
            .envs(env.iter().copied())
            .args(["--qemu", machine, &format!("--{door}"), "0"])
            .args(once.then_some("--once"))
            .args(halted.then_some("--start-halted"))
            .arg("--elf")
            .arg(elf)
            .arg("--stats")
            .arg(stats.path())
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line.trim().rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("vprobe said {line:?}"));
        Vprobe { child, port, stats }
    }

    /// probe-rs' selector for the BMP door.
    pub fn selector(&self) -> String {
        format!("1d50:6018:127.0.0.1:{}", self.port)
    }

    /// Waits for the vprobe to exit (`--once`) and returns its per-client statistics.
    pub fn finish(mut self) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "the vprobe did not exit after its client left");
            std::thread::sleep(Duration::from_millis(20));
        }
        serde_json::from_str(&std::fs::read_to_string(self.stats.path()).unwrap()).unwrap()
    }
}

impl Drop for Vprobe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(serde::Deserialize)]
pub struct Manifest {
    pub scenario: Vec<Scenario>,
}

/// The lab manifest's fields these tests use (firmware-samples/scenarios.toml).
#[derive(serde::Deserialize, Clone)]
pub struct Scenario {
    pub name: String,
    pub elf: String,
    pub machine: String,
    pub kind: String,
    pub stop_at: String,
    #[serde(default)]
    pub gdb_backtrace: Vec<String>,
}

pub fn manifest() -> Vec<Scenario> {
    let text = std::fs::read_to_string(root().join("firmware-samples/scenarios.toml")).unwrap();
    let m: Manifest = toml::from_str(&text).unwrap();
    m.scenario
}

/// The fault, SVC and break scenarios on the STM32F407 (`f407`) or on the other cores.
pub fn scenarios_where(f407: bool) -> Vec<Scenario> {
    manifest()
        .into_iter()
        .filter(|s| (s.machine == "netduinoplus2") == f407 && matches!(s.kind.as_str(), "fault" | "svc" | "break"))
        .collect()
}

