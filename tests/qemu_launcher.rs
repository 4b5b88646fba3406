//! The QEMU launcher: starts the lab firmware halted, owns the process, and reports
//! QEMU's own words when it dies.

mod common;
mod support_fake_gdb;

use std::time::{Duration, Instant};

use common::manifest::{self, Scenario};
use isrscope::target::catch::{self, CatchOptions};
use isrscope::target::qemu::{QemuConfig, QemuTarget};
use isrscope::target::{CatchKind, CoreState, StopReason, Target, TargetError, reg};
use support_fake_gdb::symbol;

fn scenario(name: &str) -> Scenario {
    manifest::load()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no scenario {name}"))
}

fn launch(s: &Scenario) -> QemuTarget {
    QemuTarget::launch(&QemuConfig::new(&s.machine, s.elf_path()))
        .unwrap_or_else(|e| panic!("launch {}: {e}", s.name))
}

fn alive(pid: u32) -> bool {
    // A zombie is dead for our purpose; /proc/PID/stat's third field says which.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

fn wait_dead(pid: u32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    !alive(pid)
}

#[test]
fn launches_halted_at_the_reset_vector_and_kills_qemu_on_drop() {
    let s = scenario("c-busfault");
    let mut t = launch(&s);
    assert!(t.warnings().is_empty(), "{:?}", t.warnings());
    assert!(
        t.version().has_system_registers(),
        "QEMU {} >= 8.0 in the lab",
        t.version()
    );
    let caps = t.capabilities().clone();
    assert!(
        caps.description.contains("QEMU") && caps.description.contains(&s.machine),
        "{}",
        caps.description
    );
    assert!(matches!(t.state().unwrap(), CoreState::Halted { .. }));
    assert_eq!(
        t.read_register(reg::PC).unwrap(),
        symbol(&s.elf_path(), "Reset_Handler")
    );
    let pid = t.pid();
    let dir = t.socket().parent().unwrap().to_path_buf();
    assert!(alive(pid));
    drop(t);
    assert!(
        wait_dead(pid, Duration::from_secs(5)),
        "QEMU {pid} outlived its QemuTarget"
    );
    assert!(!dir.exists(), "the private socket directory is removed");
}

#[test]
fn lockup_abort_is_reported_with_qemus_own_message() {
    let s = scenario("c-forced");
    let mut t = launch(&s);
    let armed = catch::arm(&mut t, &CatchOptions::default()).unwrap();
    let reached = catch::run_to_fault(&mut t, &armed, Duration::from_secs(20))
        .unwrap()
        .expect("a stop");
    assert_eq!(reached.fault.map(|f| f.kind), Some(CatchKind::HardFault));
    // A fault inside HardFault cannot escalate: make the handler fetch from nowhere.
    t.write_register(reg::PC, 0x6000_0000).unwrap();
    let pid = t.pid();
    t.resume().unwrap();
    let started = Instant::now();
    let err = t
        .wait_for_stop(Duration::from_secs(20))
        .expect_err("QEMU aborts on lockup");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "reported promptly, not at the timeout"
    );
    let text = err.to_string();
    println!("as a user sees it: {text}");
    assert!(matches!(err, TargetError::LockedUp { .. }), "{err:?}");
    assert!(
        text.contains("Lockup") && text.contains("QEMU aborted"),
        "QEMU's own message expected: {text}"
    );
    assert!(
        text.contains("waiting for the core to stop"),
        "says what was being done: {text}"
    );
    // Later calls keep saying so, and the state is Exited with the same account.
    match t.state().unwrap() {
        CoreState::Exited { description } => {
            assert!(description.contains("Lockup"), "{description}")
        }
        other => panic!("state after the abort: {other:?}"),
    }
    assert!(
        t.read_register(reg::PC)
            .unwrap_err()
            .to_string()
            .contains("Lockup")
    );
    assert!(!alive(pid));
}

#[test]
fn bad_machine_and_missing_firmware_and_missing_qemu_are_clear_errors() {
    let s = scenario("c-busfault");
    let err =
        QemuTarget::launch(&QemuConfig::new("no-such-board", s.elf_path())).expect_err("fails");
    let text = err.to_string();
    assert!(
        text.contains("QEMU exited while starting") && text.contains("no-such-board"),
        "{text}"
    );

    let err = QemuTarget::launch(&QemuConfig::new("netduinoplus2", "/nonexistent/fw.elf"))
        .expect_err("fails");
    assert!(err.to_string().contains("/nonexistent/fw.elf"), "{err}");

    let mut config = QemuConfig::new("netduinoplus2", s.elf_path());
    config.executable = Some("/nonexistent/qemu-system-arm".into());
    let err = QemuTarget::launch(&config).expect_err("fails").to_string();
    assert!(
        err.contains("/nonexistent/qemu-system-arm") && err.contains("ISRSCOPE_QEMU"),
        "{err}"
    );
}

/// Run as a child process by the next test: launches QEMU, prints its pid, waits to be killed.
#[test]
#[ignore = "a helper process for qemu_dies_when_isrscope_is_killed"]
fn helper_launch_and_wait_to_be_killed() {
    if std::env::var_os("ISRSCOPE_TEST_HELPER_LAUNCH").is_none() {
        return; // only meaningful as the child of `qemu_dies_when_isrscope_is_killed`
    }
    let s = scenario("c-busfault");
    let t = launch(&s);
    println!("QEMU-PID {}", t.pid());
    std::thread::sleep(Duration::from_secs(60));
}

#[test]
fn qemu_dies_when_isrscope_is_killed() {
    use std::io::BufRead;
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "helper_launch_and_wait_to_be_killed",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("ISRSCOPE_TEST_HELPER_LAUNCH", "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let pid: u32 = std::io::BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| {
            l.split("QEMU-PID ")
                .nth(1)
                .and_then(|p| p.trim().parse().ok())
        })
        .expect("the helper prints QEMU's pid");
    assert!(alive(pid));
    child.kill().unwrap(); // SIGKILL: no destructor runs
    child.wait().unwrap();
    assert!(
        wait_dead(pid, Duration::from_secs(5)),
        "QEMU {pid} survived its parent's SIGKILL"
    );
}

#[test]
fn stop_reason_of_a_plain_breakpoint_through_the_launcher() {
    let s = scenario("c-busfault");
    let mut t = launch(&s);
    let main = symbol(&s.elf_path(), "main");
    t.set_breakpoint(main, isrscope::target::BreakpointKind::Software)
        .unwrap();
    t.resume().unwrap();
    assert_eq!(
        t.wait_for_stop(Duration::from_secs(10)).unwrap(),
        Some(StopReason::Breakpoint { pc: main })
    );
    let stats = t.gdb().unwrap().stats();
    assert!(stats.round_trips < 20, "{stats:?}");
}

#[test]
fn an_old_qemu_is_named_in_a_warning() {
    // A wrapper that reports 7.2 (Debian 12's own QEMU, without msp/psp/control) and
    // runs the real one.
    let dir = tempfile::tempdir().unwrap();
    let wrapper = dir.path().join("qemu-system-arm");
    std::fs::write(
        &wrapper,
        "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'QEMU emulator version 7.2.15 (Debian 1:7.2+dfsg-7)'; exit 0; fi\nexec qemu-system-arm \"$@\"\n",
    )
    .unwrap();
    let mut perms = std::fs::metadata(&wrapper).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&wrapper, perms).unwrap();
    let s = scenario("c-busfault");
    let mut config = QemuConfig::new(&s.machine, s.elf_path());
    config.executable = Some(wrapper);
    let t = QemuTarget::launch(&config).unwrap();
    assert_eq!(t.version().to_string(), "7.2.15");
    let warning = t.warnings().join("\n");
    assert!(warning.contains("older than 8.0") && warning.contains("msp"), "{warning}");
}

/// Run as a child process by the next test, with ISRSCOPE_QEMU set.
#[test]
#[ignore = "a helper process for isrscope_qemu_names_the_executable"]
fn helper_launch_with_the_env_override() {
    let Some(exe) = std::env::var_os("ISRSCOPE_TEST_HELPER_ENV") else { return };
    let s = scenario("c-busfault");
    let err = QemuTarget::launch(&QemuConfig::new(&s.machine, s.elf_path())).expect_err("no such QEMU");
    assert!(err.to_string().contains(exe.to_str().unwrap()), "{err}");
}

#[test]
fn isrscope_qemu_names_the_executable() {
    let fake = "/nonexistent/qemu-from-env";
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "helper_launch_with_the_env_override", "--ignored", "--test-threads=1"])
        .env("ISRSCOPE_TEST_HELPER_ENV", fake)
        .env("ISRSCOPE_QEMU", fake)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "the launcher did not run $ISRSCOPE_QEMU");
}

#[test]
fn disconnect_lets_gdb_attach_and_reconnect_comes_back() {
    let s = scenario("c-busfault");
    let elf = s.elf_path();
    let mut t = launch(&s);
    t.disconnect().unwrap();
    assert!(t.read_register(reg::PC).is_err(), "not connected while gdb has the stub");
    let out = common::oracle::run_batch(
        &elf,
        &[format!("target remote {}", t.socket().display()), "info registers pc".into(), "detach".into()],
    );
    let reset = symbol(&elf, "Reset_Handler");
    assert!(out.contains(&format!("{reset:#x}")), "gdb sees the core at reset:\n{out}");
    // gdb's detach let the core run; connecting halts it again, wherever it got to.
    t.reconnect().unwrap();
    assert!(matches!(t.state().unwrap(), CoreState::Halted { .. }));
    let pc = t.read_register(reg::PC).unwrap();
    assert!((0x0800_0000..0x0810_0000).contains(&pc), "{pc:#x}");
}
