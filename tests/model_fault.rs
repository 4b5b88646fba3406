//! Fault status decoding: every bit, address validity, classes, escalation,
//! and register values read off QEMU (firmware-samples, netduinoplus2 Cortex-M4).

use isrscope::model::arch::Profile;
use isrscope::model::exception::ExceptionNumber;
use isrscope::model::fault::{
    Abfsr, AxiResponse, CAUSES, Cfsr, Dfsr, EscalationReason, FaultAnalysis, FaultClass,
    FaultContext, FaultNote, FaultRegister, FaultRegisters, Hfsr, Sfsr, Shcsr, lookup,
};
use isrscope::model::regs::ScbBlock;

use FaultRegister::*;

/// Every status bit with its stable ARM spelling.
#[rustfmt::skip]
const EXPECTED: &[(FaultRegister, u8, &str)] = &[
    (Mmfsr, 0, "IACCVIOL"), (Mmfsr, 1, "DACCVIOL"), (Mmfsr, 3, "MUNSTKERR"), (Mmfsr, 4, "MSTKERR"),
    (Mmfsr, 5, "MLSPERR"), (Mmfsr, 7, "MMARVALID"),
    (Bfsr, 8, "IBUSERR"), (Bfsr, 9, "PRECISERR"), (Bfsr, 10, "IMPRECISERR"), (Bfsr, 11, "UNSTKERR"),
    (Bfsr, 12, "STKERR"), (Bfsr, 13, "LSPERR"), (Bfsr, 15, "BFARVALID"),
    (Ufsr, 16, "UNDEFINSTR"), (Ufsr, 17, "INVSTATE"), (Ufsr, 18, "INVPC"), (Ufsr, 19, "NOCP"),
    (Ufsr, 20, "STKOF"), (Ufsr, 24, "UNALIGNED"), (Ufsr, 25, "DIVBYZERO"),
    (Hfsr, 1, "VECTTBL"), (Hfsr, 30, "FORCED"), (Hfsr, 31, "DEBUGEVT"),
    (Dfsr, 0, "HALTED"), (Dfsr, 1, "BKPT"), (Dfsr, 2, "DWTTRAP"), (Dfsr, 3, "VCATCH"), (Dfsr, 4, "EXTERNAL"),
    (Dfsr, 5, "PMU"),
    (Sfsr, 0, "INVEP"), (Sfsr, 1, "INVIS"), (Sfsr, 2, "INVER"), (Sfsr, 3, "AUVIOL"), (Sfsr, 4, "INVTRAN"),
    (Sfsr, 5, "LSPERR"), (Sfsr, 6, "SFARVALID"), (Sfsr, 7, "LSERR"),
    (Abfsr, 0, "ITCM"), (Abfsr, 1, "DTCM"), (Abfsr, 2, "AHBP"), (Abfsr, 3, "AXIM"), (Abfsr, 4, "EPPB"),
];

fn only(register: FaultRegister, bit: u8) -> FaultRegisters {
    let v = 1u32 << bit;
    let mut r = FaultRegisters::default();
    match register {
        Mmfsr | Bfsr | Ufsr => r.cfsr = v,
        Hfsr => r.hfsr = v,
        Dfsr => r.dfsr = v,
        Sfsr => r.sfsr = Some(v),
        Abfsr => r.abfsr = Some(v),
    }
    r
}

#[test]
fn every_status_bit_is_reported_alone_with_its_name_and_advice() {
    assert_eq!(CAUSES.len(), EXPECTED.len());
    for &(register, bit, name) in EXPECTED {
        let causes = only(register, bit).causes();
        assert_eq!(causes.len(), 1, "{register}.{name}");
        let c = causes[0];
        assert_eq!((c.register, c.bit, c.name), (register, bit, name));
        assert!(
            !c.summary.is_empty() && !c.meaning.is_empty() && !c.action.is_empty(),
            "{name}"
        );
        assert!(only(register, bit).unknown_bits().is_empty(), "{name}");
    }
}

#[test]
fn bitflags_agree_with_the_cause_table() {
    let check = |register: FaultRegister, names: Vec<(&str, u32)>| {
        for (name, bits) in names {
            let bit = bits.trailing_zeros() as u8;
            assert_eq!(
                lookup(register, bit).map(|c| c.name),
                Some(name),
                "{register} bit {bit}"
            );
        }
    };
    let cfsr_of = |bits: u32| match bits.trailing_zeros() {
        0..=7 => Mmfsr,
        8..=15 => Bfsr,
        _ => Ufsr,
    };
    for (name, flag) in Cfsr::all().iter_names() {
        check(cfsr_of(flag.bits()), vec![(name, flag.bits())]);
    }
    check(
        Hfsr,
        Hfsr::all()
            .iter_names()
            .map(|(n, f)| (n, f.bits()))
            .collect(),
    );
    check(
        Dfsr,
        Dfsr::all()
            .iter_names()
            .map(|(n, f)| (n, f.bits()))
            .collect(),
    );
    check(
        Sfsr,
        Sfsr::all()
            .iter_names()
            .map(|(n, f)| (n, f.bits()))
            .collect(),
    );
    check(
        Abfsr,
        Abfsr::all()
            .iter_names()
            .map(|(n, f)| (n, f.bits()))
            .collect(),
    );
}

#[test]
fn shcsr_bit_positions() {
    let expected = [
        (Shcsr::MEMFAULTACT, 0),
        (Shcsr::BUSFAULTACT, 1),
        (Shcsr::HARDFAULTACT, 2),
        (Shcsr::USGFAULTACT, 3),
        (Shcsr::SECUREFAULTACT, 4),
        (Shcsr::NMIACT, 5),
        (Shcsr::SVCALLACT, 7),
        (Shcsr::MONITORACT, 8),
        (Shcsr::PENDSVACT, 10),
        (Shcsr::SYSTICKACT, 11),
        (Shcsr::USGFAULTPENDED, 12),
        (Shcsr::MEMFAULTPENDED, 13),
        (Shcsr::BUSFAULTPENDED, 14),
        (Shcsr::SVCALLPENDED, 15),
        (Shcsr::MEMFAULTENA, 16),
        (Shcsr::BUSFAULTENA, 17),
        (Shcsr::USGFAULTENA, 18),
        (Shcsr::SECUREFAULTENA, 19),
        (Shcsr::SECUREFAULTPENDED, 20),
        (Shcsr::HARDFAULTPENDED, 21),
    ];
    for (flag, bit) in expected {
        assert_eq!(flag.bits(), 1 << bit);
    }
    assert_eq!(Shcsr::all().iter().count(), expected.len());
}

#[test]
fn all_set_bits_are_reported_never_just_the_first() {
    let r = FaultRegisters {
        cfsr: u32::MAX,
        hfsr: u32::MAX,
        dfsr: u32::MAX,
        sfsr: Some(0xFF),
        abfsr: Some(0x1F),
        ..Default::default()
    };
    assert_eq!(r.causes().len(), EXPECTED.len());
    let unknown = FaultRegisters {
        cfsr: u32::MAX,
        ..Default::default()
    }
    .unknown_bits();
    let bits: Vec<u8> = unknown.iter().map(|&(_, b)| b).collect();
    assert_eq!(bits, vec![2, 6, 14, 21, 22, 23, 26, 27, 28, 29, 30, 31]);
}

#[test]
fn address_registers_are_valid_only_with_their_valid_bit() {
    let r = FaultRegisters {
        cfsr: 0x0000_0002,
        mmfar: 0x1234,
        bfar: 0x5678,
        ..Default::default()
    };
    assert_eq!((r.valid_mmfar(), r.valid_bfar()), (None, None));
    let r = FaultRegisters {
        cfsr: 0x0000_8082,
        mmfar: 0x1234,
        bfar: 0x5678,
        ..Default::default()
    };
    assert_eq!(
        (r.valid_mmfar(), r.valid_bfar()),
        (Some(0x1234), Some(0x5678))
    );
    let r = FaultRegisters {
        sfsr: Some(0x48),
        sfar: Some(0x1000_0000),
        ..Default::default()
    };
    assert_eq!(r.valid_sfar(), Some(0x1000_0000));
    let r = FaultRegisters {
        sfsr: Some(0x08),
        sfar: Some(0x1000_0000),
        ..Default::default()
    };
    assert_eq!(r.valid_sfar(), None);
}

fn qemu_scb(words: [u32; 16]) -> ScbBlock {
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    ScbBlock::from_bytes(&bytes).unwrap()
}

#[test]
fn qemu_c_busfault_precise_with_bfar() {
    // firmware-samples c-busfault at BusFault_Handler: SHCSR 0x00020002, CFSR 0x00008200, BFAR 0x60000008.
    let scb = qemu_scb([
        0x410f_c240,
        0x0000_0805,
        0,
        0xfa05_0000,
        0,
        0x0000_0200,
        0,
        0,
        0,
        0x0002_0002,
        0x0000_8200,
        0,
        0,
        0,
        0x6000_0008,
        0,
    ]);
    let ctx = FaultContext {
        active: Some(ExceptionNumber::BUS_FAULT),
        shcsr: Some(scb.shcsr),
        ..Default::default()
    };
    let a = FaultAnalysis::analyze(&FaultRegisters::from_scb(&scb), &ctx);
    assert_eq!(
        (a.class, a.primary),
        (FaultClass::BusFault, FaultClass::BusFault)
    );
    assert_eq!(a.bfar, Some(0x6000_0008));
    let names: Vec<_> = a.causes.iter().map(|c| c.name).collect();
    assert_eq!(names, ["PRECISERR", "BFARVALID"]);
    assert!(a.escalation.is_none() && a.notes.is_empty());
}

#[test]
fn qemu_c_forced_busfault_with_handler_disabled() {
    // firmware-samples c-forced at HardFault_Handler: SHCSR 0 (BUSFAULTENA clear), HFSR 0x40000000.
    let scb = qemu_scb([
        0x410f_c240,
        0x0000_0803,
        0,
        0xfa05_0000,
        0,
        0x0000_0200,
        0,
        0,
        0,
        0,
        0x0000_8200,
        0x4000_0000,
        0,
        0,
        0x6000_0008,
        0,
    ]);
    let ctx = FaultContext {
        profile: Some(Profile::V7M),
        active: Some(ExceptionNumber::HARD_FAULT),
        interrupted: Some(ExceptionNumber::THREAD),
        shcsr: Some(scb.shcsr),
        shpr: Some(scb.shpr),
        primask: Some(false),
        faultmask: Some(false),
        basepri: Some(0),
        ..Default::default()
    };
    let a = FaultAnalysis::analyze(&FaultRegisters::from_scb(&scb), &ctx);
    assert_eq!(a.class, FaultClass::HardFault);
    assert_eq!(a.primary, FaultClass::BusFault);
    let names: Vec<_> = a.causes.iter().map(|c| c.name).collect();
    assert_eq!(names, ["PRECISERR", "BFARVALID", "FORCED"]);
    let e = a.escalation.unwrap();
    assert_eq!(e.from, [FaultClass::BusFault]);
    assert_eq!(
        e.reasons,
        [EscalationReason::HandlerDisabled {
            fault: FaultClass::BusFault
        }]
    );
    assert!(
        e.reasons[0]
            .to_string()
            .contains("BusFault handler is disabled")
    );
}

#[test]
fn qemu_c_memmanage_with_valid_mmfar() {
    let r = FaultRegisters {
        cfsr: 0x0000_0082,
        mmfar: 0x2000_0028,
        ..Default::default()
    };
    let a = FaultAnalysis::analyze(
        &r,
        &FaultContext {
            active: Some(ExceptionNumber::MEM_MANAGE),
            ..Default::default()
        },
    );
    assert_eq!(a.class, FaultClass::MemManage);
    assert_eq!(a.mmfar, Some(0x2000_0028));
    assert_eq!(
        a.causes.iter().map(|c| c.name).collect::<Vec<_>>(),
        ["DACCVIOL", "MMARVALID"]
    );
}

#[test]
fn qemu_c_stack_overflow_reports_stkerr_and_preciserr() {
    let r = FaultRegisters {
        cfsr: 0x0000_9200,
        bfar: 0x1fff_ffd8,
        ..Default::default()
    };
    let a = FaultAnalysis::analyze(&r, &FaultContext::default());
    assert_eq!(a.class, FaultClass::BusFault);
    assert_eq!(
        a.causes.iter().map(|c| c.name).collect::<Vec<_>>(),
        ["PRECISERR", "STKERR", "BFARVALID"]
    );
    assert!(a.causes[1].meaning.contains("stack overflow"));
}

#[test]
fn qemu_usage_faults() {
    for (cfsr, name) in [
        (0x0100_0000, "UNALIGNED"),
        (0x0002_0000, "INVSTATE"),
        (0x0001_0000, "UNDEFINSTR"),
        (0x0200_0000, "DIVBYZERO"),
    ] {
        let a = FaultAnalysis::analyze(
            &FaultRegisters {
                cfsr,
                ..Default::default()
            },
            &FaultContext::default(),
        );
        assert_eq!(a.class, FaultClass::UsageFault);
        assert_eq!(a.causes[0].name, name);
    }
}

#[test]
fn imprecise_bus_fault_warns_that_pc_and_bfar_are_not_the_culprit() {
    let r = FaultRegisters {
        cfsr: 0x0000_0400,
        bfar: 0x6000_0000,
        ..Default::default()
    };
    let a = FaultAnalysis::analyze(&r, &FaultContext::default());
    assert_eq!(a.bfar, None);
    assert!(a.notes.contains(&FaultNote::ImpreciseStackedPc));
    assert!(a.causes[0].action.contains("DISDEFWBUF"));
}

#[test]
fn preciserr_without_bfarvalid_and_daccviol_without_mmarvalid_say_so() {
    let r = FaultRegisters {
        cfsr: 0x0000_0202,
        ..Default::default()
    };
    let a = FaultAnalysis::analyze(&r, &FaultContext::default());
    assert!(a.notes.contains(&FaultNote::BfarNotValid));
    assert!(a.notes.contains(&FaultNote::MmfarNotValid));
    assert_eq!(
        a.class,
        FaultClass::MemManage,
        "lowest-numbered configurable fault first"
    );
}

#[test]
fn invstate_and_nocp_advice() {
    assert!(lookup(Ufsr, 17).unwrap().meaning.contains("Thumb bit"));
    assert!(lookup(Ufsr, 19).unwrap().action.contains("CPACR"));
}

fn forced(cfsr: u32) -> FaultRegisters {
    FaultRegisters {
        cfsr,
        hfsr: 0x4000_0000,
        ..Default::default()
    }
}

const ALL_ENABLED: u32 = 0x0007_0000;

fn reasons(r: &FaultRegisters, ctx: FaultContext) -> Vec<EscalationReason> {
    FaultAnalysis::analyze(r, &ctx).escalation.unwrap().reasons
}

#[test]
fn escalation_by_masks() {
    let base = FaultContext {
        shcsr: Some(ALL_ENABLED),
        shpr: Some([0x0020_2020, 0, 0]),
        ..Default::default()
    };
    assert_eq!(
        reasons(
            &forced(0x0001_0000),
            FaultContext {
                primask: Some(true),
                ..base
            }
        ),
        [EscalationReason::PriMask]
    );
    assert_eq!(
        reasons(
            &forced(0x0001_0000),
            FaultContext {
                faultmask: Some(true),
                ..base
            }
        ),
        [EscalationReason::FaultMask]
    );
    assert_eq!(
        reasons(
            &forced(0x0000_8200),
            FaultContext {
                basepri: Some(0x20),
                ..base
            }
        ),
        [EscalationReason::BasePri {
            basepri: 0x20,
            fault_priority: 0x20
        }]
    );
    // BASEPRI less urgent than the fault does not mask it.
    assert!(
        reasons(
            &forced(0x0000_8200),
            FaultContext {
                basepri: Some(0x40),
                ..base
            }
        )
        .is_empty()
    );
}

#[test]
fn escalation_because_running_priority_is_not_lower() {
    let ctx = FaultContext {
        shcsr: Some(ALL_ENABLED),
        shpr: Some([0x0000_4000, 0, 0]), // BusFault priority 0x40
        interrupted: Some(ExceptionNumber::from_irq(28)),
        interrupted_priority: Some(0x10),
        ..Default::default()
    };
    assert_eq!(
        reasons(&forced(0x0000_8200), ctx),
        [EscalationReason::PriorityNotHigher {
            running: ExceptionNumber::from_irq(28),
            running_priority: 0x10,
            fault_priority: 0x40
        }]
    );
}

#[test]
fn escalation_inside_a_fault_handler() {
    let ctx = FaultContext {
        shcsr: Some(ALL_ENABLED),
        interrupted: Some(ExceptionNumber::USAGE_FAULT),
        ..Default::default()
    };
    assert_eq!(
        reasons(&forced(0x0002_0000), ctx),
        [EscalationReason::FaultInFaultHandler {
            handler: ExceptionNumber::USAGE_FAULT
        }]
    );
    // Without the stacked IPSR, the SHCSR active bit tells the same story.
    let ctx = FaultContext {
        shcsr: Some(ALL_ENABLED | 0x8),
        ..Default::default()
    };
    assert_eq!(
        reasons(&forced(0x0002_0000), ctx),
        [EscalationReason::FaultInFaultHandler {
            handler: ExceptionNumber::USAGE_FAULT
        }]
    );
}

#[test]
fn escalation_with_several_faults_and_disabled_handlers() {
    let ctx = FaultContext {
        shcsr: Some(0x0001_0000),
        ..Default::default()
    };
    let a = FaultAnalysis::analyze(&forced(0x0102_8200 & !0x2), &ctx);
    let e = a.escalation.unwrap();
    assert_eq!(e.from, [FaultClass::BusFault, FaultClass::UsageFault]);
    assert_eq!(
        e.reasons,
        [
            EscalationReason::HandlerDisabled {
                fault: FaultClass::BusFault
            },
            EscalationReason::HandlerDisabled {
                fault: FaultClass::UsageFault
            }
        ]
    );
    assert_eq!(a.primary, FaultClass::BusFault);
}

#[test]
fn forced_without_configurable_bits() {
    let a = FaultAnalysis::analyze(&forced(0), &FaultContext::default());
    assert_eq!(
        (a.class, a.primary),
        (FaultClass::HardFault, FaultClass::HardFault)
    );
    assert_eq!(
        a.escalation.unwrap().reasons,
        [EscalationReason::NoConfigurableFaultBits]
    );
}

#[test]
fn vecttbl_and_debugevt_are_hardfaults_without_escalation() {
    for hfsr in [0x2, 0x8000_0000] {
        let a = FaultAnalysis::analyze(
            &FaultRegisters {
                hfsr,
                ..Default::default()
            },
            &FaultContext::default(),
        );
        assert_eq!(
            (a.class, a.primary),
            (FaultClass::HardFault, FaultClass::HardFault)
        );
        assert!(a.escalation.is_none());
    }
}

#[test]
fn lockup_and_no_fault() {
    let ctx = FaultContext {
        dhcsr: Some(1 << 19),
        ..Default::default()
    };
    let a = FaultAnalysis::analyze(&forced(0x0000_8200), &ctx);
    assert_eq!(
        (a.class, a.primary),
        (FaultClass::Lockup, FaultClass::BusFault)
    );
    assert!(a.notes.contains(&FaultNote::LockedUp));
    let a = FaultAnalysis::analyze(&FaultRegisters::default(), &FaultContext::default());
    assert_eq!((a.class, a.primary), (FaultClass::None, FaultClass::None));
    assert!(a.causes.is_empty());
}

#[test]
fn v6m_has_no_fault_status_registers() {
    // QEMU microbit (Cortex-M0) reads 0 there; garbage would be ignored too.
    let ctx = FaultContext {
        profile: Some(Profile::V6M),
        active: Some(ExceptionNumber::HARD_FAULT),
        ..Default::default()
    };
    let a = FaultAnalysis::analyze(
        &FaultRegisters {
            cfsr: 0xFFFF,
            ..Default::default()
        },
        &ctx,
    );
    assert_eq!(a.class, FaultClass::HardFault);
    assert!(a.causes.is_empty());
    assert_eq!(a.notes, [FaultNote::NoFaultStatusRegisters]);
}

#[test]
fn securefault_and_stkof() {
    let r = FaultRegisters {
        sfsr: Some(0x48),
        sfar: Some(0x3000_0000),
        ..Default::default()
    };
    let a = FaultAnalysis::analyze(&r, &FaultContext::default());
    assert_eq!(a.class, FaultClass::SecureFault);
    assert_eq!(a.sfar, Some(0x3000_0000));
    let a = FaultAnalysis::analyze(
        &FaultRegisters {
            cfsr: 1 << 20,
            ..Default::default()
        },
        &FaultContext::default(),
    );
    assert_eq!(a.causes[0].name, "STKOF");
}

#[test]
fn m7_abfsr_and_axi_response() {
    let r = FaultRegisters {
        abfsr: Some(0x0000_0208),
        ..Default::default()
    };
    assert_eq!(
        r.causes().iter().map(|c| c.name).collect::<Vec<_>>(),
        ["AXIM"]
    );
    assert!(r.unknown_bits().is_empty());
    assert_eq!(AxiResponse::from_abfsr(0x0000_0208), AxiResponse::SlvErr);
    assert_eq!(AxiResponse::from_abfsr(0x0000_0308), AxiResponse::DecErr);
    assert_eq!(AxiResponse::from_abfsr(0), AxiResponse::Okay);
    assert_eq!(AxiResponse::from_abfsr(0x100), AxiResponse::ExOkay);
}

#[test]
fn class_helpers_and_display() {
    assert_eq!(
        FaultClass::from_exception(ExceptionNumber::BUS_FAULT),
        Some(FaultClass::BusFault)
    );
    assert_eq!(FaultClass::from_exception(ExceptionNumber::SVCALL), None);
    assert_eq!(
        FaultClass::UsageFault.enable_bit(),
        Some(Shcsr::USGFAULTENA)
    );
    assert_eq!(FaultClass::HardFault.to_string(), "HardFault");
    assert_eq!(FaultClass::None.to_string(), "no fault");
    assert_eq!(
        lookup(Bfsr, 9).unwrap().to_string(),
        "BFSR.PRECISERR: precise bus error on a data access"
    );
}

#[test]
fn causes_serialize_with_name_and_register() {
    let json = serde_json::to_value(lookup(Bfsr, 9).unwrap()).unwrap();
    assert_eq!(json["name"], "PRECISERR");
    assert_eq!(json["register"], "BFSR");
    assert_eq!(json["bit"], 9);
    let a = FaultAnalysis::analyze(&forced(0x8200), &FaultContext::default());
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["class"], "HardFault");
    assert_eq!(json["primary"], "BusFault");
}

#[test]
fn qemu_stack_overflow_below_ram_is_called_a_stack_overflow() {
    // c-stack-overflow at BusFault_Handler: SP 0x1fffffb8, RAM 0x20000000..0x20020000.
    let r = FaultRegisters {
        cfsr: 0x0000_9200,
        bfar: 0x1fff_ffd8,
        ..Default::default()
    };
    let ctx = FaultContext {
        sp: Some(0x1fff_ffb8),
        stack_bounds: Some((0x2000_0000, 0x2002_0000)),
        ..Default::default()
    };
    let a = FaultAnalysis::analyze(&r, &ctx);
    assert_eq!(
        a.notes,
        [FaultNote::StackOverflow {
            sp: 0x1fff_ffb8,
            bottom: 0x2000_0000
        }]
    );
    assert!(a.notes[0].to_string().starts_with("stack overflow"));
    // SP well inside RAM: the stacking error has another cause.
    let ctx = FaultContext {
        sp: Some(0x2001_0000),
        ..ctx
    };
    assert!(FaultAnalysis::analyze(&r, &ctx).notes.is_empty());
    // No stacking error: no overflow claim.
    let ctx = FaultContext {
        sp: Some(0x1fff_ffb8),
        ..ctx
    };
    let r = FaultRegisters {
        cfsr: 0x0000_8200,
        ..Default::default()
    };
    assert!(FaultAnalysis::analyze(&r, &ctx).notes.is_empty());
}

#[test]
fn escalation_in_a_system_handler_uses_its_shpr_priority() {
    // BusFault priority 0x40, SVCall priority 0x00: a bus fault inside SVCall cannot preempt it.
    let ctx = FaultContext {
        shcsr: Some(ALL_ENABLED),
        shpr: Some([0x0000_4000, 0x0000_0000, 0]),
        interrupted: Some(ExceptionNumber::SVCALL),
        ..Default::default()
    };
    assert_eq!(
        reasons(&forced(0x0000_8200), ctx),
        [EscalationReason::PriorityNotHigher {
            running: ExceptionNumber::SVCALL,
            running_priority: 0,
            fault_priority: 0x40
        }]
    );
}

#[test]
fn escalation_compares_group_priorities_only() {
    // BusFault 0x30 in an IRQ at 0x40: more urgent with PRIGROUP 0, same group with PRIGROUP 6.
    let ctx = FaultContext {
        shcsr: Some(ALL_ENABLED),
        shpr: Some([0x0000_3000, 0, 0]),
        interrupted: Some(ExceptionNumber::from_irq(3)),
        interrupted_priority: Some(0x40),
        prigroup: Some(0),
        ..Default::default()
    };
    assert!(reasons(&forced(0x0000_8200), ctx).is_empty());
    let grouped = FaultContext {
        prigroup: Some(6),
        ..ctx
    };
    assert!(matches!(
        reasons(&forced(0x0000_8200), grouped)[..],
        [EscalationReason::PriorityNotHigher { .. }]
    ));
}

/// The JSON shape the report layer relies on.
#[test]
fn qemu_c_forced_analysis_as_json() {
    let r = FaultRegisters {
        cfsr: 0x8200,
        hfsr: 0x4000_0000,
        bfar: 0x6000_0008,
        ..Default::default()
    };
    let ctx = FaultContext {
        shcsr: Some(0),
        active: Some(ExceptionNumber::HARD_FAULT),
        ..Default::default()
    };
    let json = serde_json::to_value(FaultAnalysis::analyze(&r, &ctx)).unwrap();
    let expected = serde_json::json!({
        "class": "HardFault",
        "primary": "BusFault",
        "bfar": 0x6000_0008u32,
        "mmfar": null,
        "sfar": null,
        "escalation": { "from": ["BusFault"], "reasons": [{ "HandlerDisabled": { "fault": "BusFault" } }] },
        "notes": [],
    });
    for (key, value) in expected.as_object().unwrap() {
        assert_eq!(&json[key], value, "{key}");
    }
    let causes: Vec<(&str, &str)> = json["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["register"].as_str().unwrap(), c["name"].as_str().unwrap()))
        .collect();
    assert_eq!(
        causes,
        [
            ("BFSR", "PRECISERR"),
            ("BFSR", "BFARVALID"),
            ("HFSR", "FORCED")
        ]
    );
}
