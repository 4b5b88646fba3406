//! Pure conversions between probe-rs values and the [`Target`](crate::target::Target)
//! trait's: register ids and names, the packed CONTROL/FAULTMASK/BASEPRI/PRIMASK
//! register, halt reasons, core status, vector-catch bits, errors. No probe, no I/O:
//! everything here is tested with plain values.

use std::time::Duration;

use probe_rs::{BreakpointCause, CoreStatus, CoreType, HaltReason};

use crate::model::regs::dcb;
use crate::target::{CatchKind, CoreState, StopReason, TargetError, reg};

/// probe-rs' Cortex-M register numbers (DCRSR.REGSEL): R0-R12 0-12, SP 13, LR 14,
/// PC 15, xPSR 16, MSP 17, PSP 18.
pub const XPSR_ID: u16 = 16;
/// CONTROL `[31:24]`, FAULTMASK `[23:16]`, BASEPRI `[15:8]`, PRIMASK `[7:0]`, in one
/// DCRSR register.
pub const PACKED_ID: u16 = 20;
pub const FPSCR_ID: u16 = 33;
/// S0 is 64, S31 is 95.
pub const S0_ID: u16 = 64;

/// What kind of Cortex-M core the session has: decides which registers exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoreShape {
    /// ARMv6-M and ARMv8-M Baseline: no BASEPRI, no FAULTMASK.
    pub baseline: bool,
    pub fpu: bool,
    /// ARMv8-M: stack limit registers.
    pub v8m: bool,
    /// ARMv8-M with the Security Extension: banked stack pointers.
    pub security: bool,
}

impl CoreShape {
    /// The shape of a probe-rs core type; `None` for cores isrscope does not inspect.
    pub fn of(core: CoreType, fpu: bool, security: bool) -> Option<CoreShape> {
        let (baseline, v8m) = match core {
            CoreType::Armv6m => (true, false),
            CoreType::Armv7m | CoreType::Armv7em => (false, false),
            CoreType::Armv8m => (false, true),
            _ => return None,
        };
        Some(CoreShape {
            baseline,
            fpu,
            v8m,
            security: security && v8m,
        })
    }
}

/// Where a trait register lives on a probe-rs core.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// A whole DCRSR register.
    Whole(u16),
    /// One byte of the packed register ([`PACKED_ID`]), at this bit offset.
    Packed { shift: u32 },
}

/// The byte of the packed register that holds `name`, as its bit offset.
pub fn packed_shift(name: &str) -> Option<u32> {
    match name {
        reg::CONTROL => Some(24),
        reg::FAULTMASK => Some(16),
        reg::BASEPRI => Some(8),
        reg::PRIMASK => Some(0),
        _ => None,
    }
}

/// One field of the packed register.
pub fn unpack(packed: u32, shift: u32) -> u32 {
    (packed >> shift) & 0xFF
}

/// The packed register with the byte at `shift` replaced by `value` (its low byte).
pub fn repack(packed: u32, shift: u32, value: u32) -> u32 {
    (packed & !(0xFF << shift)) | ((value & 0xFF) << shift)
}

/// Every register the trait names on a core of this shape, with where it lives, in
/// the order they are read.
pub fn register_map(shape: CoreShape) -> Vec<(String, Location)> {
    let mut map: Vec<(String, Location)> = Vec::new();
    for (n, name) in reg::GPR.iter().enumerate() {
        map.push((name.to_string(), Location::Whole(n as u16)));
    }
    for (name, id) in [
        (reg::SP, 13),
        (reg::LR, 14),
        (reg::PC, 15),
        (reg::XPSR, XPSR_ID),
        (reg::MSP, 17),
        (reg::PSP, 18),
    ] {
        map.push((name.to_string(), Location::Whole(id)));
    }
    let special: &[&str] = if shape.baseline {
        &[reg::CONTROL, reg::PRIMASK]
    } else {
        &[reg::CONTROL, reg::FAULTMASK, reg::BASEPRI, reg::PRIMASK]
    };
    for name in special {
        let shift = packed_shift(name).expect("a packed register");
        map.push((name.to_string(), Location::Packed { shift }));
    }
    if shape.v8m {
        if shape.security {
            for (name, id) in [
                (reg::MSP_NS, 0x18),
                (reg::PSP_NS, 0x19),
                (reg::MSP_S, 0x1A),
                (reg::PSP_S, 0x1B),
            ] {
                map.push((name.to_string(), Location::Whole(id)));
            }
        } else {
            // Without the Security Extension the only limits are the ones probe-rs
            // names MSPLIM_NS/PSPLIM_NS (REGSEL 0x1E/0x1F).
            map.push((reg::MSPLIM.to_string(), Location::Whole(0x1E)));
            map.push((reg::PSPLIM.to_string(), Location::Whole(0x1F)));
        }
    }
    if shape.fpu {
        map.push((reg::FPSCR.to_string(), Location::Whole(FPSCR_ID)));
        for n in 0..32u16 {
            map.push((reg::s(n as usize), Location::Whole(S0_ID + n)));
        }
    }
    map
}

/// The trait's stop reason for a probe-rs halt reason. A breakpoint is reported at
/// `pc` (the caller reads it); a semihosting BKPT is named as such.
pub fn stop_reason(reason: HaltReason, pc: Option<u32>) -> StopReason {
    match reason {
        HaltReason::Breakpoint(BreakpointCause::Semihosting(cmd)) => StopReason::Other {
            description: format!("semihosting request (BKPT 0xAB): {cmd:?}"),
        },
        HaltReason::Breakpoint(cause) => match pc {
            Some(pc) => StopReason::Breakpoint { pc },
            None => StopReason::Other { description: format!("breakpoint ({cause:?})") },
        },
        HaltReason::Exception => StopReason::VectorCatch,
        HaltReason::Step => StopReason::Step,
        HaltReason::Request => StopReason::Requested,
        HaltReason::External => StopReason::Other {
            description: "external halt request (EDBGRQ, DFSR.EXTERNAL)".into(),
        },
        HaltReason::Watchpoint => StopReason::Other {
            description: "watchpoint (DWT comparator, DFSR.DWTTRAP)".into(),
        },
        HaltReason::Multiple => StopReason::Other {
            description: "several debug events at once (DFSR has more than one bit set)".into(),
        },
        HaltReason::Unknown => StopReason::Other {
            description: "halted, reason unknown (DFSR clear: halted before isrscope attached, or read by another tool)"
                .into(),
        },
    }
}

/// The trait's core state for a probe-rs status; `reason` is the already converted
/// stop reason when halted.
pub fn core_state(status: CoreStatus, reason: impl FnOnce(HaltReason) -> StopReason) -> CoreState {
    match status {
        CoreStatus::Running => CoreState::Running,
        CoreStatus::Halted(r) => CoreState::Halted { reason: reason(r) },
        CoreStatus::LockedUp => CoreState::LockedUp,
        CoreStatus::Sleeping => CoreState::Sleeping,
        CoreStatus::Unknown => CoreState::Unknown,
    }
}

/// Does the halt reason need the PC to be converted (a breakpoint)?
pub fn needs_pc(reason: HaltReason) -> bool {
    matches!(reason, HaltReason::Breakpoint(c) if !matches!(c, BreakpointCause::Semihosting(_)))
}

/// The core is at the entry of a fault handler: IPSR (xPSR `[8:0]`) is HardFault (3),
/// MemManage (4), BusFault (5), UsageFault (6) or SecureFault (7).
pub fn is_fault_entry(xpsr: u32) -> bool {
    (3..=7).contains(&(xpsr & 0x1FF))
}

/// The DEMCR bits isrscope sets itself for a catch kind (HardFault and CoreReset go
/// through probe-rs' own vector catch). The UsageFault group is OpenOCD's too:
/// NOCPERR, CHKERR, STATERR (the ARMv7-M ARM's UsageFault catches, C1.6.5).
/// MemManage and BusFault also set VC_INTERR: a fault *during* exception entry or
/// return (MSTKERR/STKERR when stacking runs off the stack, MUNSTKERR/UNSTKERR on
/// return) is caught by that bit, not by VC_MMERR/VC_BUSERR; without it a stack
/// overflow that faults while stacking is not stopped at.
pub fn demcr_bits(kind: CatchKind, shape: CoreShape) -> u32 {
    match kind {
        CatchKind::MemManage if !shape.baseline => dcb::DEMCR_VC_MMERR | dcb::DEMCR_VC_INTERR,
        CatchKind::BusFault if !shape.baseline => dcb::DEMCR_VC_BUSERR | dcb::DEMCR_VC_INTERR,
        CatchKind::UsageFault if !shape.baseline => {
            dcb::DEMCR_VC_NOCPERR | dcb::DEMCR_VC_CHKERR | dcb::DEMCR_VC_STATERR
        }
        CatchKind::SecureFault if shape.v8m => dcb::DEMCR_VC_SFERR,
        _ => 0,
    }
}

/// Every DEMCR bit isrscope may change for vector catch (VC_INTERR included, in
/// [`dcb::DEMCR_VC_ALL_FAULTS`]); the rest (TRCENA, the monitor bits) belong to the
/// firmware and are never touched. While armed, these bits are exactly what was
/// asked; on detach they are put back exactly as found ([`demcr_restored`]).
pub const DEMCR_MANAGED: u32 =
    dcb::DEMCR_VC_CORERESET | dcb::DEMCR_VC_ALL_FAULTS | dcb::DEMCR_VC_SFERR;

/// The DEMCR value that catches exactly `kinds`, from the `current` one.
pub fn demcr_with(current: u32, kinds: &[CatchKind], shape: CoreShape) -> u32 {
    let mut bits = 0;
    for kind in kinds {
        bits |= match kind {
            CatchKind::HardFault => dcb::DEMCR_VC_HARDERR,
            CatchKind::CoreReset => dcb::DEMCR_VC_CORERESET,
            other => demcr_bits(*other, shape),
        };
    }
    (current & !DEMCR_MANAGED) | bits
}

/// The DEMCR to write back on detach: the vector-catch bits as found, the rest as
/// they are now (the firmware may have set TRCENA meanwhile).
pub fn demcr_restored(current: u32, original: u32) -> u32 {
    (current & !DEMCR_MANAGED) | (original & DEMCR_MANAGED)
}

/// A probe-rs error in the trait's terms, saying what was being done.
pub fn target_error(e: probe_rs::Error, doing: &str) -> TargetError {
    use probe_rs::Error as E;
    use probe_rs::architecture::arm::ArmError;
    match e {
        E::Timeout | E::Arm(ArmError::Timeout) => TargetError::Timeout {
            doing: doing.into(),
            timeout: Duration::from_millis(100),
        },
        E::Arm(ArmError::CoreNotHalted) => TargetError::NotHalted(doing.into()),
        E::Probe(p) => TargetError::Disconnected {
            doing: doing.into(),
            detail: Some(format!("the debug probe failed: {p}")),
        },
        E::NotImplemented(what) => TargetError::Unsupported(format!("{what} (probe-rs)")),
        other => TargetError::Protocol {
            doing: doing.into(),
            message: error_chain(&other),
        },
    }
}

/// A memory access error: unreadable memory unless the link itself failed.
pub fn memory_error(e: probe_rs::Error, address: u32, len: usize, doing: &str) -> TargetError {
    match e {
        probe_rs::Error::Probe(_) | probe_rs::Error::Timeout => target_error(e, doing),
        other => TargetError::MemoryUnreadable {
            address,
            len,
            message: error_chain(&other),
        },
    }
}

/// An error and its sources on one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use probe_rs::semihosting::SemihostingCommand;

    const M4F: CoreShape = CoreShape {
        baseline: false,
        fpu: true,
        v8m: false,
        security: false,
    };
    const M0: CoreShape = CoreShape {
        baseline: true,
        fpu: false,
        v8m: false,
        security: false,
    };

    fn loc(shape: CoreShape, name: &str) -> Option<Location> {
        register_map(shape)
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, l)| l)
    }

    #[test]
    fn core_registers_use_probe_rs_numbers() {
        for n in 0..13 {
            assert_eq!(loc(M4F, &format!("r{n}")), Some(Location::Whole(n)));
        }
        assert_eq!(loc(M4F, "sp"), Some(Location::Whole(13)));
        assert_eq!(loc(M4F, "lr"), Some(Location::Whole(14)));
        assert_eq!(loc(M4F, "pc"), Some(Location::Whole(15)));
        assert_eq!(loc(M4F, "xpsr"), Some(Location::Whole(16)));
        assert_eq!(loc(M4F, "msp"), Some(Location::Whole(17)));
        assert_eq!(loc(M4F, "psp"), Some(Location::Whole(18)));
        assert_eq!(loc(M4F, "fpscr"), Some(Location::Whole(33)));
        assert_eq!(loc(M4F, "s0"), Some(Location::Whole(64)));
        assert_eq!(loc(M4F, "s31"), Some(Location::Whole(95)));
    }

    #[test]
    fn the_special_registers_are_bytes_of_register_20() {
        assert_eq!(loc(M4F, "control"), Some(Location::Packed { shift: 24 }));
        assert_eq!(loc(M4F, "faultmask"), Some(Location::Packed { shift: 16 }));
        assert_eq!(loc(M4F, "basepri"), Some(Location::Packed { shift: 8 }));
        assert_eq!(loc(M4F, "primask"), Some(Location::Packed { shift: 0 }));
        let packed = 0x0301_A001;
        assert_eq!(unpack(packed, 24), 0x03, "CONTROL: SPSEL | nPRIV");
        assert_eq!(unpack(packed, 16), 0x01, "FAULTMASK");
        assert_eq!(unpack(packed, 8), 0xA0, "BASEPRI");
        assert_eq!(unpack(packed, 0), 0x01, "PRIMASK");
    }

    #[test]
    fn writing_one_field_keeps_the_other_three() {
        let packed = 0x0301_A001;
        assert_eq!(repack(packed, 8, 0x40), 0x0301_4001);
        assert_eq!(repack(packed, 0, 0), 0x0301_A000);
        assert_eq!(repack(packed, 24, 0x2), 0x0201_A001);
        assert_eq!(
            repack(packed, 16, 0x1FF),
            0x03FF_A001,
            "only the low byte is taken"
        );
        for shift in [0, 8, 16, 24] {
            for v in [0u32, 1, 0x80, 0xFF] {
                assert_eq!(unpack(repack(0xDEAD_BEEF, shift, v), shift), v);
            }
        }
    }

    #[test]
    fn registers_follow_the_core() {
        assert_eq!(loc(M0, "basepri"), None, "ARMv6-M has no BASEPRI");
        assert_eq!(loc(M0, "faultmask"), None);
        assert_eq!(loc(M0, "primask"), Some(Location::Packed { shift: 0 }));
        assert_eq!(loc(M0, "s0"), None, "no FPU, no FP registers");
        assert_eq!(loc(M0, "fpscr"), None);
        assert_eq!(register_map(M0).len(), 13 + 6 + 2);
        assert_eq!(register_map(M4F).len(), 13 + 6 + 4 + 33);
        let m33 = CoreShape {
            baseline: false,
            fpu: false,
            v8m: true,
            security: true,
        };
        assert_eq!(loc(m33, "msp_s"), Some(Location::Whole(0x1A)));
        assert_eq!(loc(m33, "psp_ns"), Some(Location::Whole(0x19)));
        assert_eq!(loc(m33, "msplim"), None);
        let m33_ns = CoreShape {
            security: false,
            ..m33
        };
        assert_eq!(loc(m33_ns, "psplim"), Some(Location::Whole(0x1F)));
        assert_eq!(loc(m33_ns, "msp_s"), None);
        // Names are unique.
        let map = register_map(M4F);
        let mut names: Vec<&str> = map.iter().map(|(n, _)| n.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), map.len());
    }

    #[test]
    fn core_types_decide_the_shape() {
        assert!(
            CoreShape::of(CoreType::Armv6m, false, false)
                .unwrap()
                .baseline
        );
        assert!(
            !CoreShape::of(CoreType::Armv7em, true, false)
                .unwrap()
                .baseline
        );
        assert!(
            CoreShape::of(CoreType::Armv8m, false, true)
                .unwrap()
                .security
        );
        assert!(
            !CoreShape::of(CoreType::Armv7m, false, true)
                .unwrap()
                .security,
            "security is a v8-M thing"
        );
        assert_eq!(CoreShape::of(CoreType::Riscv, false, false), None);
        assert_eq!(CoreShape::of(CoreType::Armv7a, false, false), None);
    }

    #[test]
    fn halt_reasons_map_to_stop_reasons() {
        let hw = HaltReason::Breakpoint(BreakpointCause::Hardware);
        assert_eq!(
            stop_reason(hw, Some(0x0800_0100)),
            StopReason::Breakpoint { pc: 0x0800_0100 }
        );
        assert!(needs_pc(hw));
        assert!(needs_pc(HaltReason::Breakpoint(BreakpointCause::Unknown)));
        assert!(matches!(stop_reason(hw, None), StopReason::Other { .. }));
        let semi = HaltReason::Breakpoint(BreakpointCause::Semihosting(
            SemihostingCommand::ExitSuccess,
        ));
        assert!(!needs_pc(semi));
        assert!(
            matches!(stop_reason(semi, Some(4)), StopReason::Other { description } if description.contains("semihosting"))
        );
        assert_eq!(
            stop_reason(HaltReason::Exception, None),
            StopReason::VectorCatch
        );
        assert_eq!(stop_reason(HaltReason::Step, None), StopReason::Step);
        assert_eq!(
            stop_reason(HaltReason::Request, None),
            StopReason::Requested
        );
        for (r, word) in [
            (HaltReason::External, "EDBGRQ"),
            (HaltReason::Watchpoint, "DWT"),
            (HaltReason::Multiple, "several"),
            (HaltReason::Unknown, "unknown"),
        ] {
            assert!(!needs_pc(r));
            match stop_reason(r, None) {
                StopReason::Other { description } => {
                    assert!(description.contains(word), "{r:?}: {description}")
                }
                other => panic!("{r:?} became {other:?}"),
            }
        }
    }

    #[test]
    fn fault_entries_are_told_by_ipsr() {
        assert!(is_fault_entry(0x0100_0003), "HardFault");
        assert!(is_fault_entry(0x0100_0005), "BusFault");
        assert!(is_fault_entry(0x0100_0007), "SecureFault");
        assert!(!is_fault_entry(0x0100_0000), "thread mode");
        assert!(!is_fault_entry(0x0100_000B), "SVCall");
        assert!(!is_fault_entry(0x0100_0010), "IRQ0");
        assert!(!is_fault_entry(0x0100_0103), "IRQ243, not HardFault");
    }

    #[test]
    fn core_status_maps_to_core_state() {
        let conv = |r| stop_reason(r, None);
        assert_eq!(core_state(CoreStatus::Running, conv), CoreState::Running);
        assert_eq!(core_state(CoreStatus::LockedUp, conv), CoreState::LockedUp);
        assert_eq!(core_state(CoreStatus::Sleeping, conv), CoreState::Sleeping);
        assert_eq!(core_state(CoreStatus::Unknown, conv), CoreState::Unknown);
        assert_eq!(
            core_state(CoreStatus::Halted(HaltReason::Request), conv),
            CoreState::Halted {
                reason: StopReason::Requested
            }
        );
    }

    #[test]
    fn vector_catch_sets_exactly_the_asked_bits_and_restores_the_rest() {
        let trcena = dcb::DEMCR_TRCENA;
        let all = [
            CatchKind::HardFault,
            CatchKind::MemManage,
            CatchKind::BusFault,
            CatchKind::UsageFault,
        ];
        let armed = demcr_with(trcena, &all, M4F);
        assert_eq!(
            armed,
            trcena
                | dcb::DEMCR_VC_HARDERR
                | dcb::DEMCR_VC_MMERR
                | dcb::DEMCR_VC_BUSERR
                | dcb::DEMCR_VC_INTERR
                | dcb::DEMCR_VC_NOCPERR
                | dcb::DEMCR_VC_CHKERR
                | dcb::DEMCR_VC_STATERR
        );
        assert_eq!(demcr_with(armed, &[], M4F), trcena, "an empty list disarms");
        assert_eq!(
            demcr_with(0, &all, M0),
            dcb::DEMCR_VC_HARDERR,
            "ARMv6-M only has HardFault"
        );
        assert_eq!(
            demcr_with(0, &[CatchKind::SecureFault], M4F),
            0,
            "no SecureFault before v8-M"
        );
        let m33 = CoreShape {
            baseline: false,
            fpu: true,
            v8m: true,
            security: true,
        };
        assert_eq!(
            demcr_with(0, &[CatchKind::SecureFault], m33),
            dcb::DEMCR_VC_SFERR
        );
        assert_eq!(
            demcr_with(0, &[CatchKind::CoreReset], M4F),
            dcb::DEMCR_VC_CORERESET
        );
        // The user had reset catch; isrscope armed faults; the firmware set TRCENA since.
        let original = dcb::DEMCR_VC_CORERESET;
        let now = armed | dcb::DEMCR_MON_EN;
        assert_eq!(
            demcr_restored(now, original),
            trcena | dcb::DEMCR_MON_EN | dcb::DEMCR_VC_CORERESET
        );
    }

    #[test]
    fn faults_during_exception_entry_and_return_are_caught_with_busfault_and_memmanage() {
        // A stack overflow faults while stacking (STKERR/MSTKERR): only VC_INTERR
        // halts there.
        for kind in [CatchKind::BusFault, CatchKind::MemManage] {
            assert_ne!(
                demcr_bits(kind, M4F) & dcb::DEMCR_VC_INTERR,
                0,
                "{kind:?} sets VC_INTERR"
            );
            assert_ne!(demcr_with(0, &[kind], M4F) & dcb::DEMCR_VC_INTERR, 0);
        }
        assert_eq!(
            demcr_bits(CatchKind::UsageFault, M4F),
            dcb::DEMCR_VC_NOCPERR | dcb::DEMCR_VC_CHKERR | dcb::DEMCR_VC_STATERR,
            "UsageFault: the three catches of the ARMv7-M ARM"
        );
        assert_eq!(demcr_bits(CatchKind::HardFault, M4F), 0, "through probe-rs");
        assert_eq!(
            demcr_bits(CatchKind::BusFault, M0),
            0,
            "ARMv6-M has none of them"
        );
        assert_eq!(demcr_with(0, &[CatchKind::BusFault], M0), 0);
    }

    #[test]
    fn demcr_is_restored_exactly_as_found_whatever_was_armed() {
        let found_values = [
            0,
            dcb::DEMCR_TRCENA,
            dcb::DEMCR_TRCENA | dcb::DEMCR_VC_INTERR,
            dcb::DEMCR_VC_INTERR | dcb::DEMCR_VC_CORERESET | dcb::DEMCR_VC_CHKERR,
            dcb::DEMCR_VC_ALL_FAULTS | dcb::DEMCR_VC_CORERESET | dcb::DEMCR_MON_EN,
        ];
        let lists: [&[CatchKind]; 4] = [
            &[],
            &[CatchKind::HardFault],
            &[CatchKind::BusFault],
            &[
                CatchKind::HardFault,
                CatchKind::MemManage,
                CatchKind::BusFault,
                CatchKind::UsageFault,
            ],
        ];
        for found in found_values {
            for kinds in lists {
                let armed = demcr_with(found, kinds, M4F);
                assert_eq!(armed & !DEMCR_MANAGED, found & !DEMCR_MANAGED);
                assert_eq!(demcr_restored(armed, found), found, "{found:#x} {kinds:?}");
            }
        }
    }

    #[test]
    fn errors_say_what_was_being_done() {
        use probe_rs::architecture::arm::ArmError;
        assert!(
            matches!(target_error(probe_rs::Error::Arm(ArmError::CoreNotHalted), "read registers"), TargetError::NotHalted(d) if d == "read registers")
        );
        assert!(matches!(
            target_error(probe_rs::Error::Timeout, "halting"),
            TargetError::Timeout { .. }
        ));
        assert!(matches!(
            target_error(probe_rs::Error::NotImplemented("Svc"), "x"),
            TargetError::Unsupported(_)
        ));
        let e = memory_error(
            probe_rs::Error::Other("fault".into()),
            0x6000_0000,
            4,
            "reading",
        );
        assert!(matches!(
            e,
            TargetError::MemoryUnreadable {
                address: 0x6000_0000,
                len: 4,
                ..
            }
        ));
        assert!(matches!(
            memory_error(probe_rs::Error::Timeout, 0, 4, "reading"),
            TargetError::Timeout { .. }
        ));
    }
}
