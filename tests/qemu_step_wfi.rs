//! Stepping over WFI: with nothing pending the core sleeps and the step never completes.
//! The backend must stop it (as gdb does, with an interrupt) and keep the link usable,
//! not time out and give up on the connection.

mod common;

use std::time::{Duration, Instant};

use common::lab::Qemu;
use common::manifest;
use isrscope::debuginfo::Image;
use isrscope::target::gdb::{ConnectOptions, GdbTarget};
use isrscope::target::{BreakpointKind, Target, TargetError, reg};

#[test]
fn stepping_over_wfi_interrupts_the_sleeping_core_and_keeps_the_link() {
    let s = manifest::load().into_iter().find(|s| s.name == "c-vectors-good").expect("c-vectors-good");
    let image = Image::open(s.elf_path()).unwrap();
    let idle = image.symbols().by_name("lab_idle").expect("lab_idle").address & !1;
    let qemu = Qemu::start(&s.machine, &s.elf_path());
    let address = format!("unix:{}", qemu.socket().display());
    let options = ConnectOptions { timeout: Duration::from_secs(1), ..ConnectOptions::default() };
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut t = loop {
        match GdbTarget::connect(&address, &options) {
            Ok(t) => break t,
            Err(TargetError::Connect { .. }) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("{e}"),
        }
    };
    t.set_breakpoint(idle, BreakpointKind::Software).unwrap();
    t.resume().unwrap();
    t.wait_for_stop(Duration::from_secs(10)).unwrap().expect("lab_idle is reached");
    t.clear_breakpoint(idle).unwrap();
    // lab_idle is `wfi; b lab_idle`: within a few steps one lands on the WFI.
    let mut pcs = vec![t.read_register(reg::PC).unwrap()];
    for _ in 0..4 {
        t.step().expect("a step over WFI ends with the core stopped, not a broken link");
        pcs.push(t.read_register(reg::PC).unwrap());
    }
    assert!(pcs.iter().all(|pc| (idle..idle + 8).contains(pc)), "the PC stays in lab_idle: {pcs:x?}");
    // The link is still good for everything else.
    let mut word = [0u8; 4];
    t.read_memory(0xE000_ED00, &mut word).unwrap();
    assert_eq!(u32::from_le_bytes(word) >> 4 & 0xfff, 0xC24, "CPUID of the Cortex-M4");
    t.detach(false).unwrap();
}
