//! The probe-rs backend over probe-rs' own `FakeProbe` (a mocked Cortex-M core, no
//! hardware): attach, halt, status, registers, memory, breakpoints, vector catch,
//! resume, detach, through isrscope's `Target` trait.
//!
//! The mock reads every register and most memory as 0 and panics on some access widths
//! (16/64-bit, 8-bit writes), so this pins the control flow and the bookkeeping, not the
//! values: those are pinned by the unit tests of `target::probe::convert` and, on a
//! real board, by the checklist in docs/probe-rs.md.

use std::time::Duration;

use isrscope::target::probe::ProbeTarget;
use isrscope::target::{
    BreakpointKind, CatchKind, CoreState, StopReason, Target, TargetError, reg,
};
use probe_rs::Permissions;
use probe_rs::probe::fake_probe::FakeProbe;

fn attach() -> ProbeTarget {
    let probe = FakeProbe::with_mocked_core().into_probe();
    let session = probe
        .attach("STM32F407VGTx", Permissions::default())
        .expect("FakeProbe attaches");
    ProbeTarget::from_session(session, "probe-rs (FakeProbe)".into())
        .expect("the mocked core is a Cortex-M")
}

#[test]
fn attaching_finds_a_running_cortex_m4_with_its_registers_and_catch() {
    let mut t = attach();
    let caps = t.capabilities().clone();
    assert!(caps.live);
    assert!(caps.vector_catch, "DEMCR vector catch on a real core");
    for name in [
        reg::PC,
        reg::SP,
        reg::XPSR,
        reg::MSP,
        reg::PSP,
        reg::CONTROL,
        reg::FAULTMASK,
        reg::BASEPRI,
        reg::PRIMASK,
    ] {
        assert!(
            caps.registers.iter().any(|r| r == name),
            "{name} missing from {:?}",
            caps.registers
        );
    }
    // The mock's MVFR0 reads 0: no FPU, so no FP registers (absent, never zero).
    assert!(!caps.registers.iter().any(|r| r == "s0" || r == reg::FPSCR));
    // Its FP_CTRL reads 0: no breakpoint unit.
    assert_eq!(caps.breakpoints, Some(0));
    assert!(caps.description.contains("FakeProbe"));
    assert_eq!(t.state().unwrap(), CoreState::Running);
    assert!(
        matches!(t.read_registers(), Err(TargetError::NotHalted(_))),
        "registers need a halted core"
    );
}

#[test]
fn halting_keeps_the_reason_and_reads_every_register() {
    let mut t = attach();
    let reason = t.halt(Duration::from_millis(200)).expect("halt");
    // The mock's DFSR reads 0: probe-rs cannot tell why, and isrscope says so.
    assert!(
        matches!(&reason, StopReason::Other { description } if description.contains("unknown")),
        "{reason:?}"
    );
    // Read once, kept: the state and a second halt report the same stop.
    assert_eq!(
        t.state().unwrap(),
        CoreState::Halted {
            reason: reason.clone()
        }
    );
    assert_eq!(t.halt(Duration::from_millis(200)).unwrap(), reason);

    let regs = t.read_registers().expect("registers");
    assert_eq!(regs.len(), t.capabilities().registers.len());
    assert_eq!(
        regs.get(reg::BASEPRI),
        Some(0),
        "split out of the packed register"
    );
    assert_eq!(t.read_register(reg::PC).unwrap(), 0);
    let some = t.read_register_set(&[reg::PC, reg::XPSR, "s0"]).unwrap();
    assert_eq!(some.len(), 2, "registers the core lacks are left out");
    assert!(matches!(
        t.read_register("s31"),
        Err(TargetError::NoSuchRegister(_))
    ));
    t.write_register(reg::BASEPRI, 0x40)
        .expect("re-packed write");

    // Aligned words, and an unaligned block (bytes at the ends, words in the middle).
    let mut buf = [0xAAu8; 16];
    t.read_memory(0x2000_0000, &mut buf).unwrap();
    assert_eq!(buf, [0; 16]);
    let mut odd = [0xAAu8; 7];
    t.read_memory(0x2000_0001, &mut odd).unwrap();
    assert_eq!(odd, [0; 7]);
    t.detach(false).unwrap();
}

#[test]
fn a_core_without_free_breakpoint_units_refuses_clearly() {
    let mut t = attach();
    t.halt(Duration::from_millis(200)).unwrap();
    let e = t
        .set_breakpoint(0x0800_0100, BreakpointKind::Software)
        .unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, TargetError::Refused { .. }), "{e:?}");
    assert!(
        text.contains("0x08000100") && text.contains("hardware breakpoint units"),
        "{text}"
    );
    assert!(t.breakpoints().is_empty());
    t.clear_breakpoint(0x0800_0100)
        .expect("clearing an unset breakpoint is a no-op");
}

#[test]
fn vector_catch_resume_wait_and_detach() {
    let mut t = attach();
    t.halt(Duration::from_millis(200)).unwrap();
    t.set_vector_catch(&[
        CatchKind::HardFault,
        CatchKind::BusFault,
        CatchKind::MemManage,
        CatchKind::UsageFault,
    ])
    .expect("vector catch through DEMCR");
    t.set_vector_catch(&[]).expect("and disarmed");

    assert_eq!(t.step().unwrap(), StopReason::Step);
    assert!(matches!(
        t.state().unwrap(),
        CoreState::Halted {
            reason: StopReason::Step
        }
    ));

    t.resume().expect("resume");
    assert_eq!(t.state().unwrap(), CoreState::Running);
    assert_eq!(
        t.wait_for_stop(Duration::from_millis(30)).unwrap(),
        None,
        "still running at the end"
    );
    t.resume().expect("resuming a running core is a no-op");

    t.detach(true).expect("detach, leaving it running");
    assert!(
        matches!(t.state(), Err(TargetError::Disconnected { .. })),
        "the link is closed after detach"
    );
    t.detach(true).expect("a second detach is a no-op");
}

#[test]
fn detaching_without_resume_halts_a_running_core() {
    let mut t = attach();
    assert_eq!(t.state().unwrap(), CoreState::Running);
    t.detach(false).expect("detach, halted");
}
