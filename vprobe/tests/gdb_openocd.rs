//! gdb-multiarch, an independent client, on OpenOCD on the virtual probe, against the
//! same gdb on QEMU's own gdbstub: at each fault scenario's stop of the STM32F407 lab,
//! the same core registers and the same backtrace, frame by frame with file:line. This
//! checks the model (DP, AP, debug registers, breakpoints) through a client that is
//! neither isrscope nor the tool it stands in for.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::{OpenOcd, Vprobe, free_port, root, scenarios_where};

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs gdb-multiarch in batch mode: break at `stop`, continue, registers, bt.
fn gdb(elf: &Path, remote: &str, stop: &str) -> String {
    let out = Command::new("timeout")
        .args(["60", "gdb-multiarch", "-batch", "-nx"])
        .arg(elf)
        .args(["-ex", "set language c", "-ex", &format!("target remote {remote}"), "-ex", &format!("break *{stop}")])
        .args(["-ex", "continue", "-ex", "info registers", "-ex", "set language auto", "-ex", "bt"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What must agree: the core registers gdb shows and every `bt` line (with file:line).
fn view(raw: &str) -> (Vec<String>, Vec<String>) {
    let regs = raw
        .lines()
        .filter(|l| l.split_whitespace().next().is_some_and(|r| {
            matches!(r, "r0" | "r1" | "r2" | "r3" | "r4" | "r5" | "r6" | "r7" | "r8" | "r9" | "r10" | "r11" | "r12" | "sp" | "lr" | "pc" | "xpsr" | "xPSR")
        }))
        .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" ").to_lowercase())
        .collect();
    let bt = raw.lines().filter(|l| l.starts_with('#')).map(str::to_string).collect();
    (regs, bt)
}

fn check(name: &str, elf: &str, stop: &str) -> Result<(), String> {
    let elf = root().join(elf);
    // gdb on QEMU's gdbstub.
    let port = free_port();
    let _qemu = Kill(
        Command::new("qemu-system-arm")
            .args(["-M", "netduinoplus2", "-nographic", "-S", "-monitor", "none", "-serial", "null", "-kernel"])
            .arg(&elf)
            .args(["-gdb", &format!("tcp:127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(300));
    let want = gdb(&elf, &format!("127.0.0.1:{port}"), stop);
    // gdb on OpenOCD on the virtual probe.
    let vp = Vprobe::start("netduinoplus2", &elf, "bitbang");
    let ocd = OpenOcd::start(vp.port).map_err(|e| format!("{name}: {e}"))?;
    let gport = ocd.gdb_port;
    let got = gdb(&elf, &format!("127.0.0.1:{gport}"), stop);
    let (mut a, mut b) = (view(&want), view(&got));
    // SysTick counts QEMU's virtual time, which the probe's pauses shift: where it
    // preempted thread code, the thread may be an instruction away. Compare the frames
    // below its exception entry by function only.
    if a.1.iter().any(|l| l.contains("SysTick")) {
        for bt in [&mut a.1, &mut b.1] {
            let last = bt.iter().rposition(|l| l.contains("<signal handler called>")).unwrap_or(0);
            for l in bt.iter_mut().skip(last + 1) {
                let f = l.split(" in ").last().unwrap_or(l).split(" (").next().unwrap_or("");
                *l = f.split_whitespace().last().unwrap_or("").to_string();
            }
        }
    }
    if a.0.len() < 17 || a.1.is_empty() {
        return Err(format!("{name}: gdb on QEMU showed too little:\n{want}"));
    }
    if a != b {
        return Err(format!("{name}: gdb on OpenOCD on the vprobe differs from gdb on QEMU:\n--- QEMU\n{want}\n--- vprobe\n{got}"));
    }
    Ok(())
}

#[test]
fn gdb_through_openocd_on_the_vprobe_agrees_with_gdb_on_qemu() {
    let scenarios: Vec<(String, String, String)> = scenarios_where(true)
        .into_iter()
        .filter(|s| s.kind == "fault" && !s.gdb_backtrace.is_empty())
        .map(|s| (s.name, s.elf, s.stop_at))
        .collect();
    assert!(scenarios.len() >= 15, "{} scenarios", scenarios.len());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|t| {
        for _ in 0..2 {
            t.spawn(|| {
                while let Some((n, e, s)) = scenarios.get(next.fetch_add(1, std::sync::atomic::Ordering::SeqCst)) {
                    if let Err(err) = check(n, e, s) {
                        failures.lock().unwrap().push(err);
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{} of {} failed:\n{}", failures.len(), scenarios.len(), failures.join("\n"));
}
