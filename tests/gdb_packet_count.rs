//! How many packets isrscope needs to catch and report a fault, against gdb-multiarch
//! doing the same job on the same lab firmware, both through a counting proxy.
//! The numbers are recorded in docs/gdb-servers.md; run with `--nocapture` to see them.

mod common;
mod support_fake_gdb;

use std::time::Duration;

use common::lab::Qemu;
use common::manifest;
use isrscope::model::regs::scb;
use isrscope::target::catch::{self, CatchOptions};
use isrscope::target::gdb::{ConnectOptions, GdbTarget};
use isrscope::target::{Target, TargetError, reg};
use support_fake_gdb::proxy::{Counts, Proxy};

/// What "report a fault" reads: the core and system registers, the SCB fault block,
/// and 256 bytes of stack from SP (the exception frame and what the unwinder needs).
const REPORT_REGISTERS: [&str; 23] = [
    "r0",
    "r1",
    "r2",
    "r3",
    "r4",
    "r5",
    "r6",
    "r7",
    "r8",
    "r9",
    "r10",
    "r11",
    "r12",
    "sp",
    "lr",
    "pc",
    "xpsr",
    "msp",
    "psp",
    "primask",
    "basepri",
    "faultmask",
    "control",
];

fn wait_connect(socket: &std::path::Path) -> GdbTarget {
    let address = format!("unix:{}", socket.display());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match GdbTarget::connect(&address, &ConnectOptions::default()) {
            Ok(t) => return t,
            Err(TargetError::Connect { .. }) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(e) => panic!("connect: {e}"),
        }
    }
}

fn isrscope_job(
    qemu: &Qemu,
    elf: &std::path::Path,
    stop_at: &str,
) -> (Counts, isrscope::target::gdb::Stats) {
    let proxy = Proxy::start(&qemu.socket());
    let mut t = wait_connect(&proxy.socket());
    let armed = catch::arm(&mut t, &CatchOptions::default()).unwrap();
    let reached = catch::run_to_fault(&mut t, &armed, Duration::from_secs(20))
        .unwrap()
        .expect("a stop");
    assert_eq!(
        reached.fault.map(|f| f.handler),
        Some(support_fake_gdb::symbol(elf, stop_at))
    );
    let regs = t.read_register_set(&REPORT_REGISTERS).unwrap();
    assert_eq!(regs.len(), REPORT_REGISTERS.len());
    let mut scb_block = [0u8; 0x40];
    t.read_memory(scb::CPUID, &mut scb_block).unwrap();
    // The stack may end before 256 bytes (here it does: SP is 64 bytes below the top
    // of RAM): read what exists.
    let mut stack = [0u8; 256];
    let got = t
        .read_memory_partial(regs.get(reg::SP).unwrap(), &mut stack)
        .unwrap();
    assert!(got >= 32, "at least the exception frame");
    t.detach(false).unwrap();
    let stats = t.stats();
    std::thread::sleep(Duration::from_millis(200)); // let the proxy count the last bytes
    (proxy.counts(), stats)
}

fn gdb_job(qemu: &Qemu, elf: &std::path::Path) -> Counts {
    let proxy = Proxy::start(&qemu.socket());
    let cmds: Vec<String> = [
        format!("target remote {}", proxy.socket().display()),
        "break *HardFault_Handler".into(),
        "break *MemManage_Handler".into(),
        "break *BusFault_Handler".into(),
        "break *UsageFault_Handler".into(),
        "continue".into(),
        "info registers".into(),
        "x/16wx 0xE000ED00".into(),
        "x/16wx $sp".into(),
        "detach".into(),
    ]
    .into_iter()
    .collect();
    let out = common::oracle::run_batch(elf, &cmds);
    assert!(
        out.contains("BusFault_Handler"),
        "gdb did not reach the handler:\n{out}"
    );
    std::thread::sleep(Duration::from_millis(200));
    proxy.counts()
}

#[test]
fn isrscope_catches_and_reports_a_fault_in_fewer_packets_than_gdb() {
    let s = manifest::load()
        .into_iter()
        .find(|s| s.name == "c-busfault")
        .unwrap();
    let elf = s.elf_path();
    let (ours, stats) = isrscope_job(&Qemu::start(&s.machine, &elf), &elf, &s.stop_at);
    let gdb = gdb_job(&Qemu::start(&s.machine, &elf), &elf);
    println!("isrscope: {ours:?}; client stats {stats:?}");
    println!("gdb-multiarch: {gdb:?}");
    // The client's own count agrees with the wire (the proxy also sees detach's close).
    assert_eq!(stats.packets_sent, ours.to_server);
    assert!(
        ours.to_server < gdb.to_server,
        "isrscope {} packets, gdb {}",
        ours.to_server,
        gdb.to_server
    );
}

/// QEMU's `D` removes every breakpoint itself (gdbstub's handle_detach), which is why
/// isrscope sends no `z` before it on QEMU. Set a breakpoint, run into it, detach with
/// resume: no `z` on the wire, and a later session that resets the machine and lets it
/// run is not stopped there, where the same reset with the breakpoint set (the control,
/// first) stops at it.
#[test]
fn qemu_detach_removes_every_breakpoint_so_none_is_sent() {
    use isrscope::target::{BreakpointKind, StopReason};
    let s = manifest::load()
        .into_iter()
        .find(|s| s.name == "c-vectors-good")
        .unwrap();
    let elf = s.elf_path();
    let at = support_fake_gdb::symbol(&elf, "vectors_ready") & !1;
    let qemu = Qemu::start(&s.machine, &elf);

    let proxy = Proxy::start(&qemu.socket());
    let mut t = wait_connect(&proxy.socket());
    t.set_breakpoint(at, BreakpointKind::Software).unwrap();
    t.reset(false).unwrap();
    let stop = t.wait_for_stop(Duration::from_secs(10)).unwrap();
    assert_eq!(stop, Some(StopReason::Breakpoint { pc: at }), "the control: a set breakpoint is hit");
    t.detach(true).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let requests = proxy.requests();
    assert!(!requests.iter().any(|r| r.starts_with('z')), "{requests:?}");
    assert_eq!(requests.last().map(String::as_str), Some("D"), "{requests:?}");

    let mut t = wait_connect(&qemu.socket());
    t.reset(false).unwrap();
    let stop = t.wait_for_stop(Duration::from_secs(2)).unwrap();
    assert_eq!(stop, None, "stopped at a breakpoint QEMU's D should have removed");
    t.detach(true).unwrap();
}
