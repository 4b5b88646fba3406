//! [`ProbeTarget`]'s control logic over a simulated core: a few instructions, FPB
//! comparators, DEMCR vector catch and lockup, with probe-rs' behaviour where it
//! matters (DFSR cleared when read, breakpoints disabled while stepping off one, the
//! PC moved past a BKPT that no comparator explains). What FakeProbe cannot show:
//! stepping off breakpoints, catching a fault, a lockup, what detach leaves behind.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::time::Duration;

use probe_rs::{BreakpointCause, CoreStatus, Error, HaltReason, VectorCatchCondition};

use super::ProbeTarget;
use super::convert::{self, CoreShape};
use super::link::{CoreAccess, Link};
use crate::model::regs::{dcb, scb};
use crate::target::{BreakpointKind, CatchKind, CoreState, StopReason, Target, TargetError, reg};

const M4F: CoreShape = CoreShape {
    baseline: false,
    fpu: true,
    v8m: false,
    security: false,
};
const PC: u16 = 15;
const XPSR: u16 = 16;
const THUMB: u32 = 1 << 24;

/// One instruction: where it goes, and the fault it raises instead (exception
/// number, DEMCR bit that catches it, handler).
#[derive(Clone, Copy)]
struct Instr {
    next: u32,
    fault: Option<(u32, u32, u32)>,
}

#[derive(Default)]
struct Sim {
    program: BTreeMap<u32, Instr>,
    regs: BTreeMap<u16, u32>,
    halted: bool,
    locked_up: bool,
    /// DFSR as the hardware holds it: read once, then 0.
    dfsr: Option<HaltReason>,
    /// What probe-rs remembers of the last halt reason.
    last: Option<HaltReason>,
    demcr: u32,
    comparators: BTreeSet<u32>,
    units: usize,
    /// The core locks up when it runs into this address.
    lockup_at: Option<u32>,
    resets: usize,
    /// DHCSR.C_DEBUGEN cleared by a write of the key alone (it is set at attach).
    debug_released: bool,
}

impl Sim {
    fn pc(&self) -> u32 {
        self.regs.get(&PC).copied().unwrap_or(0)
    }

    fn halt_with(&mut self, reason: HaltReason) {
        self.halted = true;
        self.dfsr = Some(reason);
    }

    /// Executes the instruction at PC (breakpoints are the caller's business).
    /// `Some(reason)` when a caught fault halted the core at its handler.
    fn execute(&mut self) -> Option<HaltReason> {
        let pc = self.pc();
        let instr = self.program.get(&pc).copied().unwrap_or(Instr {
            next: pc + 2,
            fault: None,
        });
        match instr.fault {
            Some((number, vc_bit, handler)) => {
                self.regs.insert(PC, handler);
                self.regs.insert(XPSR, THUMB | number);
                (self.demcr & vc_bit != 0).then_some(HaltReason::Exception)
            }
            None => {
                self.regs.insert(PC, instr.next);
                None
            }
        }
    }

    /// Runs until a comparator, a caught fault, a lockup, or 100 instructions (then
    /// still running).
    fn run(&mut self) {
        self.halted = false;
        for _ in 0..100 {
            let pc = self.pc();
            if self.lockup_at == Some(pc) {
                self.locked_up = true;
                return;
            }
            if self.comparators.contains(&pc) {
                return self.halt_with(HaltReason::Breakpoint(BreakpointCause::Hardware));
            }
            if let Some(reason) = self.execute() {
                return self.halt_with(reason);
            }
        }
    }
}

#[derive(Clone)]
struct SimLink(Rc<RefCell<Sim>>);

impl Link for SimLink {
    fn core(&mut self) -> Result<&mut dyn CoreAccess, Error> {
        Ok(self)
    }
}

impl CoreAccess for SimLink {
    fn status(&mut self) -> Result<CoreStatus, Error> {
        let mut s = self.0.borrow_mut();
        if s.locked_up {
            return Ok(CoreStatus::LockedUp);
        }
        if !s.halted {
            return Ok(CoreStatus::Running);
        }
        // probe-rs: DFSR read and cleared; with DFSR clear, the reason it kept.
        let reason = match s.dfsr.take() {
            Some(r) => r,
            None => s.last.unwrap_or(HaltReason::Unknown),
        };
        s.last = Some(reason);
        Ok(CoreStatus::Halted(reason))
    }
    fn halt(&mut self, _: Duration) -> Result<(), Error> {
        let mut s = self.0.borrow_mut();
        if !s.halted {
            s.locked_up = false;
            s.halt_with(HaltReason::Request);
        }
        Ok(())
    }
    fn step(&mut self) -> Result<(), Error> {
        let mut s = self.0.borrow_mut();
        let pc = s.pc();
        // probe-rs disables the FPB to step off a breakpoint it halted at.
        let off_breakpoint = matches!(s.last, Some(HaltReason::Breakpoint(_)));
        if !off_breakpoint && s.comparators.contains(&pc) {
            s.halt_with(HaltReason::Breakpoint(BreakpointCause::Hardware));
            return Ok(());
        }
        let reason = match s.execute() {
            Some(_) => HaltReason::Multiple, // DFSR.HALTED | DFSR.VCATCH
            None => HaltReason::Step,
        };
        // probe-rs: a breakpoint it stepped off that no comparator explains was a BKPT
        // instruction: it moves the PC past it.
        if off_breakpoint && s.pc() == pc && !s.comparators.contains(&pc) {
            s.regs.insert(PC, pc + 2);
        }
        s.halt_with(reason);
        s.last = None;
        Ok(())
    }
    fn reset_and_halt(&mut self, _: Duration) -> Result<(), Error> {
        let mut s = self.0.borrow_mut();
        s.resets += 1;
        s.comparators.clear(); // a system reset clears FP_CTRL
        s.regs.insert(PC, 0x100);
        s.regs.insert(XPSR, THUMB);
        s.locked_up = false;
        s.halt_with(HaltReason::Exception);
        Ok(())
    }
    fn read_reg(&mut self, id: u16) -> Result<u32, Error> {
        let s = self.0.borrow();
        if !s.halted {
            return Err(Error::Arm(
                probe_rs::architecture::arm::ArmError::CoreNotHalted,
            ));
        }
        Ok(s.regs.get(&id).copied().unwrap_or(0))
    }
    fn write_reg(&mut self, id: u16, value: u32) -> Result<(), Error> {
        self.0.borrow_mut().regs.insert(id, value);
        Ok(())
    }
    fn read_8(&mut self, _: u32, buf: &mut [u8]) -> Result<(), Error> {
        buf.fill(0x11);
        Ok(())
    }
    fn read_32(&mut self, address: u32, buf: &mut [u32]) -> Result<(), Error> {
        if (0x6000_0000..0xE000_0000).contains(&address) {
            return Err(Error::Other("AP transfer fault".into()));
        }
        buf.fill(0x2222_2222);
        Ok(())
    }
    fn write(&mut self, _: u32, _: &[u8]) -> Result<(), Error> {
        Ok(())
    }
    fn read_word(&mut self, address: u32) -> Result<u32, Error> {
        let s = self.0.borrow();
        Ok(match address {
            dcb::DEMCR => s.demcr,
            dcb::DHCSR => {
                let halt = if s.halted { dcb::DHCSR_S_HALT } else { 0 };
                halt | if s.locked_up { dcb::DHCSR_S_LOCKUP } else { 0 }
            }
            // DFSR as the core holds it until probe-rs' status() reads and clears it.
            scb::DFSR => match s.dfsr {
                Some(HaltReason::Breakpoint(_)) => 1 << 1,
                Some(HaltReason::Exception) => 1 << 3,
                Some(HaltReason::Multiple) => 1 << 3 | 1,
                Some(_) => 1,
                None => 0,
            },
            _ => 0,
        })
    }
    fn write_word(&mut self, address: u32, value: u32) -> Result<(), Error> {
        let mut s = self.0.borrow_mut();
        if address == dcb::DEMCR {
            s.demcr = value;
        } else if address == dcb::DHCSR && value == dcb::DHCSR_DBGKEY | dcb::DHCSR_C_DEBUGEN {
            s.last = None;
            s.run();
        } else if address == dcb::DHCSR && value == dcb::DHCSR_DBGKEY {
            // C_DEBUGEN clear: out of debug state, running as without a debugger.
            s.debug_released = true;
            s.last = None;
            s.run();
        }
        Ok(())
    }
    fn set_hw_breakpoint(&mut self, address: u32) -> Result<(), Error> {
        let mut s = self.0.borrow_mut();
        if s.comparators.len() >= s.units && !s.comparators.contains(&address) {
            return Err(Error::Other("No available hardware breakpoints".into()));
        }
        s.comparators.insert(address);
        Ok(())
    }
    fn clear_hw_breakpoint(&mut self, address: u32) -> Result<(), Error> {
        self.0.borrow_mut().comparators.remove(&address);
        Ok(())
    }
    fn vector_catch(&mut self, condition: VectorCatchCondition, enable: bool) -> Result<(), Error> {
        let bit = match condition {
            VectorCatchCondition::HardFault => dcb::DEMCR_VC_HARDERR,
            VectorCatchCondition::CoreReset => dcb::DEMCR_VC_CORERESET,
            _ => return Err(Error::NotImplemented("vector catch condition")),
        };
        let mut s = self.0.borrow_mut();
        if enable {
            s.demcr |= bit
        } else {
            s.demcr &= !bit
        }
        Ok(())
    }
}

/// main at 0x100: 0x100 -> 0x102 -> 0x104 (an LDR from unmapped memory: BusFault),
/// BusFault_Handler at 0x200 is `b .`; HardFault_Handler at 0x300 is `b .`. The core
/// is halted at 0x100 at attach; DEMCR holds TRCENA (the firmware's).
fn lab() -> (ProbeTarget, Rc<RefCell<Sim>>) {
    attach(lab_sim())
}

/// The lab's core before attach: change it, then [`attach`].
fn lab_sim() -> Sim {
    let mut sim = Sim {
        units: 6,
        demcr: dcb::DEMCR_TRCENA,
        ..Sim::default()
    };
    sim.program.insert(
        0x100,
        Instr {
            next: 0x102,
            fault: None,
        },
    );
    sim.program.insert(
        0x102,
        Instr {
            next: 0x104,
            fault: None,
        },
    );
    sim.program.insert(
        0x104,
        Instr {
            next: 0x106,
            fault: Some((5, dcb::DEMCR_VC_BUSERR, 0x200)),
        },
    );
    sim.program.insert(
        0x200,
        Instr {
            next: 0x200,
            fault: None,
        },
    );
    sim.program.insert(
        0x300,
        Instr {
            next: 0x300,
            fault: None,
        },
    );
    sim.regs.insert(PC, 0x100);
    sim.regs.insert(XPSR, THUMB);
    sim.regs.insert(convert::PACKED_ID, 0x0301_A001);
    sim.halt_with(HaltReason::Request);
    sim
}

fn attach(sim: Sim) -> (ProbeTarget, Rc<RefCell<Sim>>) {
    let sim = Rc::new(RefCell::new(sim));
    let t = ProbeTarget::with_link(Box::new(SimLink(sim.clone())), M4F, 6, "sim".into()).unwrap();
    (t, sim)
}

const FAULTS: [CatchKind; 4] = [
    CatchKind::HardFault,
    CatchKind::MemManage,
    CatchKind::BusFault,
    CatchKind::UsageFault,
];

/// The lab's core running `b .` at 0x100 when isrscope attaches.
fn found_running() -> (ProbeTarget, Rc<RefCell<Sim>>) {
    let mut sim = lab_sim();
    sim.program.insert(
        0x100,
        Instr {
            next: 0x100,
            fault: None,
        },
    );
    sim.halted = false;
    sim.dfsr = None;
    attach(sim)
}

#[test]
fn detach_keeps_a_core_found_halted_halted_even_when_asked_to_resume() {
    // Regression: detach(resume) used to run a core that was halted at attach (by
    // another debugger, or under reset): not as found.
    let (mut t, sim) = lab();
    t.set_breakpoint(0x3000, BreakpointKind::Hardware).unwrap();
    t.set_vector_catch(&FAULTS).unwrap();
    t.detach(true).unwrap();
    let s = sim.borrow();
    assert!(s.halted, "found halted, left halted");
    assert!(!s.debug_released, "C_DEBUGEN kept: clearing it would resume the core");
    assert_eq!(s.pc(), 0x100, "not stepped or run");
    assert!(s.comparators.is_empty());
    assert_eq!(s.demcr, dcb::DEMCR_TRCENA);
}

#[test]
fn detach_keeps_a_core_found_halted_halted_after_running_it() {
    // Found halted; isrscope ran it to a breakpoint; detach(resume) leaves it halted
    // (at the stop), as a core that was halted when isrscope came.
    let (mut t, sim) = lab();
    t.set_breakpoint(0x104, BreakpointKind::Hardware).unwrap();
    t.resume().unwrap();
    assert_eq!(
        t.wait_for_stop(Duration::from_millis(50)).unwrap(),
        Some(StopReason::Breakpoint { pc: 0x104 })
    );
    t.detach(true).unwrap();
    assert!(sim.borrow().halted);
    assert!(sim.borrow().comparators.is_empty());
}

#[test]
fn detach_resumes_a_core_found_running_that_isrscope_halted() {
    let (mut t, sim) = found_running();
    assert_eq!(t.state().unwrap(), CoreState::Running);
    t.set_vector_catch(&FAULTS).unwrap();
    t.set_breakpoint(0x3000, BreakpointKind::Hardware).unwrap();
    assert_eq!(
        t.halt(Duration::from_millis(10)).unwrap(),
        StopReason::Requested
    );
    assert!(sim.borrow().halted);
    t.detach(true).unwrap();
    let s = sim.borrow();
    assert!(!s.halted, "found running, resumed");
    assert!(s.debug_released, "C_DEBUGEN cleared, as a board runs without a debugger");
    assert!(s.comparators.is_empty());
    assert_eq!(s.demcr, dcb::DEMCR_TRCENA);
}

#[test]
fn a_halt_isrscope_caused_itself_counts_as_found_running() {
    // --connect-under-reset: halted at the reset vector by the attach itself.
    let (mut t, sim) = lab();
    t.treat_as_found_running();
    t.detach(true).unwrap();
    assert!(
        !sim.borrow().halted,
        "resumed: the firmware runs when left alone"
    );
}

#[test]
fn detach_without_resume_halts_a_core_found_running() {
    let (mut t, sim) = found_running();
    t.detach(false).unwrap();
    assert!(sim.borrow().halted, "--halt: stays halted");
    assert!(!sim.borrow().debug_released, "halted needs C_DEBUGEN");
}

#[test]
fn a_fault_during_exception_entry_is_caught_through_vc_interr() {
    // Stack overflow: the BusFault is raised while stacking the frame (STKERR), a
    // fault during exception entry, which only DEMCR.VC_INTERR halts on.
    let mut sim = lab_sim();
    sim.program.insert(
        0x104,
        Instr {
            next: 0x106,
            fault: Some((5, dcb::DEMCR_VC_INTERR, 0x200)),
        },
    );
    let (mut t, sim) = attach(sim);
    t.set_vector_catch(&FAULTS).unwrap();
    assert_ne!(sim.borrow().demcr & dcb::DEMCR_VC_INTERR, 0);
    t.resume().unwrap();
    assert_eq!(
        t.wait_for_stop(Duration::from_millis(50)).unwrap(),
        Some(StopReason::VectorCatch)
    );
    assert_eq!(t.read_register(reg::PC).unwrap(), 0x200);
    t.detach(false).unwrap();
    assert_eq!(
        sim.borrow().demcr,
        dcb::DEMCR_TRCENA,
        "VC_INTERR cleared again"
    );
}

#[test]
fn detach_restores_a_vc_interr_that_was_found_set() {
    let found = dcb::DEMCR_TRCENA | dcb::DEMCR_VC_INTERR | dcb::DEMCR_VC_CORERESET;
    let mut sim = lab_sim();
    sim.demcr = found;
    let (mut t, sim) = attach(sim);
    t.set_vector_catch(&[CatchKind::HardFault]).unwrap();
    t.set_vector_catch(&FAULTS).unwrap();
    t.detach(false).unwrap();
    assert_eq!(sim.borrow().demcr, found, "exactly as found");
}

#[test]
fn a_caught_busfault_stops_at_its_handler_and_detach_restores_demcr() {
    let (mut t, sim) = lab();
    assert_eq!(
        t.state().unwrap(),
        CoreState::Halted {
            reason: StopReason::Requested
        }
    );
    t.set_vector_catch(&FAULTS).unwrap();
    let demcr = sim.borrow().demcr;
    assert_eq!(demcr & dcb::DEMCR_VC_BUSERR, dcb::DEMCR_VC_BUSERR);
    assert_eq!(
        demcr & dcb::DEMCR_VC_HARDERR,
        dcb::DEMCR_VC_HARDERR,
        "HardFault through probe-rs"
    );
    assert_ne!(
        demcr & dcb::DEMCR_TRCENA,
        0,
        "the firmware's TRCENA is kept"
    );

    t.resume().unwrap();
    assert_eq!(
        t.wait_for_stop(Duration::from_millis(50)).unwrap(),
        Some(StopReason::VectorCatch)
    );
    assert_eq!(t.read_register(reg::PC).unwrap(), 0x200);
    assert!(convert::is_fault_entry(t.read_register(reg::XPSR).unwrap()));

    t.detach(true).unwrap();
    let sim = sim.borrow();
    assert_eq!(sim.demcr, dcb::DEMCR_TRCENA, "vector catch bits as found");
    assert!(sim.halted, "found halted: stays halted");
}

#[test]
fn the_halt_reason_is_read_once_and_kept() {
    let (mut t, sim) = lab();
    t.set_breakpoint(0x104, BreakpointKind::Hardware).unwrap();
    t.resume().unwrap();
    // probe-rs forgets nothing here, but DFSR is clear after the first read: the
    // reason must come from isrscope's own record from then on.
    assert_eq!(
        t.wait_for_stop(Duration::from_millis(50)).unwrap(),
        Some(StopReason::Breakpoint { pc: 0x104 })
    );
    sim.borrow_mut().last = None;
    assert_eq!(
        t.state().unwrap(),
        CoreState::Halted {
            reason: StopReason::Breakpoint { pc: 0x104 }
        }
    );
    assert_eq!(
        t.halt(Duration::from_millis(10)).unwrap(),
        StopReason::Breakpoint { pc: 0x104 }
    );
}

#[test]
fn resuming_from_a_breakpoint_steps_off_it_and_runs_on() {
    let (mut t, sim) = lab();
    t.set_breakpoint(0x102, BreakpointKind::Software).unwrap();
    t.set_vector_catch(&FAULTS).unwrap();
    t.resume().unwrap();
    assert_eq!(
        t.wait_for_stop(Duration::from_millis(50)).unwrap(),
        Some(StopReason::Breakpoint { pc: 0x102 })
    );
    t.resume().unwrap();
    assert_eq!(
        t.wait_for_stop(Duration::from_millis(50)).unwrap(),
        Some(StopReason::VectorCatch)
    );
    assert_eq!(t.read_register(reg::PC).unwrap(), 0x200);
    assert!(
        sim.borrow().comparators.contains(&0x102),
        "the breakpoint is back after the step"
    );
}

#[test]
fn a_breakpoint_reached_otherwise_is_lifted_for_the_step() {
    let (mut t, sim) = lab();
    // Halted at 0x100 by request; a breakpoint is set right there.
    t.set_breakpoint(0x100, BreakpointKind::Hardware).unwrap();
    t.set_breakpoint(0x104, BreakpointKind::Hardware).unwrap();
    t.resume().unwrap();
    assert_eq!(
        t.wait_for_stop(Duration::from_millis(50)).unwrap(),
        Some(StopReason::Breakpoint { pc: 0x104 }),
        "not stuck at 0x100"
    );
    assert_eq!(sim.borrow().comparators.len(), 2);
}

#[test]
fn a_step_that_enters_a_caught_fault_is_the_stop() {
    let (mut t, sim) = lab();
    t.set_vector_catch(&FAULTS).unwrap();
    t.set_breakpoint(0x104, BreakpointKind::Hardware).unwrap();
    t.resume().unwrap();
    assert_eq!(
        t.wait_for_stop(Duration::from_millis(50)).unwrap(),
        Some(StopReason::Breakpoint { pc: 0x104 })
    );
    // Stepping off 0x104 executes the faulting load: the core halts at the handler
    // with DFSR.HALTED and DFSR.VCATCH; resume must not run past it.
    t.resume().unwrap();
    assert_eq!(
        t.state().unwrap(),
        CoreState::Halted {
            reason: StopReason::VectorCatch
        }
    );
    assert_eq!(t.read_register(reg::PC).unwrap(), 0x200);
    assert!(sim.borrow().halted);
}

#[test]
fn resuming_a_breakpoint_on_a_branch_to_itself_keeps_the_pc() {
    let (mut t, sim) = lab();
    t.set_vector_catch(&[CatchKind::HardFault]).unwrap(); // BusFault not caught: runs into b .
    t.set_breakpoint(0x200, BreakpointKind::Hardware).unwrap();
    t.resume().unwrap();
    assert_eq!(
        t.wait_for_stop(Duration::from_millis(50)).unwrap(),
        Some(StopReason::Breakpoint { pc: 0x200 })
    );
    // `b .` under a breakpoint: the step lands where it was, on the breakpoint again.
    // probe-rs would move the PC past a BKPT no comparator explains: ours stays set.
    t.resume().unwrap();
    assert_eq!(
        t.read_register(reg::PC).unwrap(),
        0x200,
        "PC not moved past a phantom BKPT"
    );
    assert_eq!(sim.borrow().pc(), 0x200);
}

#[test]
fn breakpoint_units_are_counted() {
    let (mut t, _) = lab();
    assert_eq!(t.capabilities().breakpoints, Some(6));
    for n in 0..6 {
        t.set_breakpoint(0x1000 + 2 * n, BreakpointKind::Hardware)
            .unwrap();
    }
    t.set_breakpoint(0x1000, BreakpointKind::Software)
        .expect("the same address again takes no unit");
    let e = t
        .set_breakpoint(0x2000, BreakpointKind::Hardware)
        .unwrap_err();
    assert!(matches!(&e, TargetError::Refused { .. }), "{e:?}");
    assert!(
        e.to_string().contains("all 6 hardware breakpoint units"),
        "{e}"
    );
    t.clear_breakpoint(0x1000).unwrap();
    t.set_breakpoint(0x2001, BreakpointKind::Hardware)
        .expect("a freed unit; the Thumb bit ignored");
    assert!(t.breakpoints().contains(&0x2000));
}

#[test]
fn a_breakpoint_held_by_another_debugger_is_refused_clearly() {
    let (mut t, sim) = lab();
    sim.borrow_mut().units = 1;
    sim.borrow_mut().comparators.insert(0x4444);
    let e = t
        .set_breakpoint(0x104, BreakpointKind::Hardware)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("0x00000104") && e.contains("another debugger"),
        "{e}"
    );
}

#[test]
fn a_locked_up_core_is_reported_then_halted_to_be_read() {
    let (mut t, sim) = lab();
    sim.borrow_mut().lockup_at = Some(0x104);
    t.resume().unwrap();
    assert_eq!(
        t.state().unwrap(),
        CoreState::LockedUp,
        "state() does not change the core"
    );
    assert!(!sim.borrow().halted);
    let regs = t.read_registers().expect("registers of a locked-up core");
    assert_eq!(regs.get(reg::PC), Some(0x104));
    assert_eq!(
        t.state().unwrap(),
        CoreState::Halted {
            reason: StopReason::Lockup
        }
    );
}

#[test]
fn a_lockup_is_a_stop_to_wait_for_and_halting_ends_it() {
    let (mut t, sim) = lab();
    sim.borrow_mut().lockup_at = Some(0x102);
    t.resume().unwrap();
    assert_eq!(
        t.wait_for_stop(Duration::from_millis(50)).unwrap(),
        Some(StopReason::Lockup)
    );
    assert!(!sim.borrow().halted, "waiting does not change the core");
    assert_eq!(
        t.halt(Duration::from_millis(10)).unwrap(),
        StopReason::Lockup
    );
    assert!(sim.borrow().halted);
    assert_eq!(t.read_register(reg::PC).unwrap(), 0x102);
}

#[test]
fn the_packed_special_registers_split_and_repack() {
    let (mut t, sim) = lab();
    let regs = t.read_registers().unwrap();
    assert_eq!(regs.get(reg::CONTROL), Some(0x03));
    assert_eq!(regs.get(reg::FAULTMASK), Some(0x01));
    assert_eq!(regs.get(reg::BASEPRI), Some(0xA0));
    assert_eq!(regs.get(reg::PRIMASK), Some(0x01));
    t.write_register(reg::BASEPRI, 0x40).unwrap();
    assert_eq!(sim.borrow().regs[&convert::PACKED_ID], 0x0301_4001);
    assert_eq!(
        t.read_register(reg::BASEPRI).unwrap(),
        0x40,
        "the cache was dropped on write"
    );
    t.write_register(reg::GPR[0], 7).unwrap();
    assert_eq!(sim.borrow().regs[&0], 7);
}

#[test]
fn memory_reads_split_by_alignment_and_report_unreadable_blocks() {
    let (mut t, _) = lab();
    let mut buf = [0u8; 9];
    t.read_memory(0x2000_0003, &mut buf).unwrap();
    assert_eq!(
        buf,
        [0x11, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22],
        "a byte, then two words"
    );
    let e = t.read_memory(0x6000_0000, &mut [0u8; 8]).unwrap_err();
    assert!(
        matches!(
            e,
            TargetError::MemoryUnreadable {
                address: 0x6000_0000,
                len: 8,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn reset_puts_the_breakpoints_back_and_runs_when_asked() {
    let (mut t, sim) = lab();
    t.set_breakpoint(0x104, BreakpointKind::Hardware).unwrap();
    t.reset(false).unwrap();
    assert_eq!(sim.borrow().resets, 1);
    assert!(
        sim.borrow().comparators.contains(&0x104),
        "re-armed after the reset cleared FP_CTRL"
    );
    assert_eq!(
        t.wait_for_stop(Duration::from_millis(50)).unwrap(),
        Some(StopReason::Breakpoint { pc: 0x104 })
    );
    t.reset(true).unwrap();
    assert!(matches!(t.state().unwrap(), CoreState::Halted { .. }));
    assert_eq!(t.read_register(reg::PC).unwrap(), 0x100);
}

#[test]
fn detach_leaves_the_core_as_asked() {
    // Found running, asked to stay halted: halted, breakpoints gone, DEMCR restored.
    let (mut t, sim) = lab();
    t.set_vector_catch(&FAULTS).unwrap();
    t.set_breakpoint(0x3000, BreakpointKind::Hardware).unwrap();
    sim.borrow_mut().program.insert(
        0x100,
        Instr {
            next: 0x100,
            fault: None,
        },
    );
    t.resume().unwrap();
    assert_eq!(t.state().unwrap(), CoreState::Running);
    t.detach(false).unwrap();
    {
        let s = sim.borrow();
        assert!(s.halted);
        assert!(s.comparators.is_empty());
        assert_eq!(s.demcr, dcb::DEMCR_TRCENA);
    }
    assert!(matches!(
        t.read_register(reg::PC),
        Err(TargetError::Disconnected { .. })
    ));

    // Dropping without detach leaves things as they are.
    let (t, sim) = lab();
    drop(t);
    assert!(
        sim.borrow().halted,
        "a halted core stays halted when the target is dropped"
    );
}
