//! `isrscope attach` through probe-rs on the virtual probe, in a real terminal (tmux): the
//! UI catches the lab's BusFault inside an ISR through DEMCR vector catch, shows it,
//! quits on `q` with the terminal restored, and leaves the debug state as it found it.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::{Vprobe, root};

struct Tmux(String);

impl Tmux {
    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux").arg("-L").arg(&self.0).args(args).output().expect("tmux (scripts/setup.sh installs it)")
    }
    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned()
    }
    fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            assert!(Instant::now() < deadline, "no {what} on the screen:\n{s}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

#[test]
fn attach_through_probe_rs_catches_the_isr_fault_and_leaves_the_core_as_found() {
    let exe = std::env::current_exe().unwrap();
    let isrscope = exe.parent().unwrap().parent().unwrap().join("isrscope");
    assert!(isrscope.exists(), "{} not built", isrscope.display());
    let elf = root().join("firmware-samples/build/c/isr-fault.elf");
    let vp = Vprobe::start("netduinoplus2", &elf, "bmp");
    let port = vp.port;

    let tmux = Tmux(format!("isrscope-vprobe-attach-{}", std::process::id()));
    let shell = "env TERM=xterm-256color PS1=READY$ bash --norc --noprofile";
    assert!(tmux.run(&["new-session", "-d", "-s", "t", "-x", "120", "-y", "40", shell]).status.success());
    tmux.wait_for("prompt", |s| s.contains("READY$"));
    let command = format!(
        "{} attach --chip STM32F407VG --protocol swd --probe 1d50:6018:127.0.0.1:{port} --elf {}",
        isrscope.display(),
        elf.display()
    );
    tmux.run(&["send-keys", "-t", "t", &command, "Enter"]);
    let screen = tmux.wait_for("the caught fault", |s| s.contains("HALTED") && s.contains("BusFault (exception 5)"));
    assert!(screen.contains("vector catch") && screen.contains("probe-rs"), "{screen}");
    assert!(screen.contains("filter_sample (isr_fault.c:16)"), "{screen}");
    // Backtrace pane: the fault in the ISR over thread mode, down to main.
    tmux.run(&["send-keys", "-t", "t", "3"]);
    let bt = tmux.wait_for("the backtrace", |s| s.contains("TIM2_IRQHandler") && s.contains("main"));
    assert!(bt.contains("<IRQ28 entered here"), "{bt}");
    tmux.run(&["send-keys", "-t", "t", "q"]);
    let after = tmux.wait_for("the shell back", |s| s.lines().filter(|l| l.starts_with("READY$")).count() >= 2);
    assert_eq!(tmux.run(&["display-message", "-p", "-t", "t", "#{alternate_on}"]).stdout, b"0\n", "alternate screen left: {after}");

    let clients = vp.finish();
    let c = &clients[0];
    assert_eq!(c["found"], c["left"], "the debug state as found: {c}");
}
