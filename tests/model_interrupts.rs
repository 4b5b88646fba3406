//! Exception numbers, ICSR/AIRCR, the NVIC tables, and the interrupt analysis,
//! including the state QEMU showed for firmware-samples c-nested-irq.

use isrscope::model::arch::Profile;
use isrscope::model::exception::ExceptionNumber;
use isrscope::model::interrupts::{
    BlockReason, InterruptInput, Prioritized, THREAD_PRIORITY, analyze, priority_of,
};
use isrscope::model::nvic::{Aircr, Icsr, Masks, NvicTables, PriorityGrouping};

#[test]
fn exception_names() {
    let names = [
        (0, "Thread"),
        (1, "Reset"),
        (2, "NMI"),
        (3, "HardFault"),
        (4, "MemManage"),
        (5, "BusFault"),
        (6, "UsageFault"),
        (7, "SecureFault"),
        (11, "SVCall"),
        (12, "DebugMonitor"),
        (14, "PendSV"),
        (15, "SysTick"),
        (16, "IRQ0"),
        (44, "IRQ28"),
        (8, "Reserved8"),
        (13, "Reserved13"),
    ];
    for (n, name) in names {
        assert_eq!(ExceptionNumber(n).to_string(), name);
    }
    assert_eq!(ExceptionNumber::from_xpsr(0x2100_0017), ExceptionNumber(23));
    assert_eq!(
        ExceptionNumber::from_xpsr(0xFFFF_FFFF),
        ExceptionNumber(511)
    );
    assert_eq!(ExceptionNumber(23).irq(), Some(7));
    assert_eq!(ExceptionNumber(15).irq(), None);
    assert_eq!(ExceptionNumber::from_irq(u16::MAX).0, u16::MAX);
}

#[test]
fn which_exceptions_exist_on_which_profile() {
    use Profile::*;
    for n in [1, 2, 3, 11, 14, 15, 16] {
        for p in [V6M, V7M, V8MBaseline, V8MMainline] {
            assert!(ExceptionNumber(n).exists_on(p), "{n} on {p}");
        }
    }
    for n in [4, 5, 6, 12] {
        assert!(!ExceptionNumber(n).exists_on(V6M) && !ExceptionNumber(n).exists_on(V8MBaseline));
        assert!(ExceptionNumber(n).exists_on(V7M) && ExceptionNumber(n).exists_on(V8MMainline));
    }
    assert!(ExceptionNumber(7).exists_on(V8MMainline) && !ExceptionNumber(7).exists_on(V7M));
    for n in [8, 9, 10, 13] {
        assert!(!ExceptionNumber(n).exists_on(V8MMainline));
    }
    assert!(ExceptionNumber(16 + 31).exists_on(V6M) && !ExceptionNumber(16 + 32).exists_on(V6M));
    assert!(ExceptionNumber(16 + 495).exists_on(V7M));
}

#[test]
fn exception_number_serializes_as_number_and_name() {
    let json = serde_json::to_string(&ExceptionNumber(5)).unwrap();
    assert_eq!(json, r#"{"number":5,"name":"BusFault"}"#);
}

#[test]
fn icsr_fields() {
    // c-forced at HardFault_Handler: ICSR 0x803 = VECTACTIVE 3, RETTOBASE.
    let i = Icsr::decode(0x0000_0803);
    assert_eq!(i.vectactive, ExceptionNumber::HARD_FAULT);
    assert!(i.rettobase && !i.isrpending);
    let i = Icsr::decode(0x9C40_0000 | (44 << 12) | (1 << 23) | (1 << 24));
    assert_eq!(i.vectpending, ExceptionNumber(44));
    assert!(i.isrpending && i.isrpreempt && i.sttns && i.pendstset && i.pendsvset && i.nmipendset);
    assert_eq!(Icsr::decode(0).to_string(), "active Thread, pending Thread");
}

#[test]
fn aircr_and_priority_grouping() {
    let a = Aircr::decode(0xFA05_0500 | (1 << 15) | (1 << 14) | (1 << 13) | 0x6);
    assert_eq!(a.vectkeystat, 0xFA05);
    assert_eq!(a.prigroup, 5);
    assert!(a.big_endian && a.pris && a.bfhfnmins && a.sysresetreq && a.vectclractive);
    // PRIGROUP 5: bits [7:6] group, [5:0] subpriority.
    let g = a.grouping();
    assert_eq!((g.group(0xE5), g.subpriority(0xE5)), (0xC0, 0x25));
    let g0 = PriorityGrouping::new(0);
    assert_eq!((g0.group(0xE5), g0.subpriority(0xE5)), (0xE4, 0x01));
    let g7 = PriorityGrouping::new(7);
    assert_eq!((g7.group(0xE5), g7.subpriority(0xE5)), (0x00, 0xE5));
}

#[test]
fn nvic_tables_and_ictr() {
    let t = NvicTables {
        iser: vec![0xC0, 1],
        ispr: vec![0x40],
        iabr: vec![0x80],
        ipr: vec![0; 6].into_iter().chain([0xA0, 0x40]).collect(),
    };
    let irqs = t.irqs(40);
    assert!(
        irqs[6].enabled
            && irqs[6].pending
            && irqs[6].active == Some(false)
            && irqs[6].priority == 0xA0
    );
    assert!(irqs[7].active == Some(true) && irqs[7].priority == 0x40);
    assert!(irqs[32].enabled && !irqs[33].enabled);
    assert_eq!(irqs[39].priority, 0, "missing bytes read as zero");
    let v6 = NvicTables { iabr: vec![], ..t };
    assert_eq!(v6.irqs(8)[7].active, None);
    assert_eq!(NvicTables::lines_from_ictr(2), 96);
}

#[test]
fn priorities_of_fixed_system_and_external_exceptions() {
    let shpr = [0x0030_2010, 0x8000_0000, 0xF0E0_0000];
    let g = PriorityGrouping::new(0);
    assert_eq!(priority_of(ExceptionNumber::RESET, &shpr, &[], g), Some(-3));
    assert_eq!(priority_of(ExceptionNumber::NMI, &shpr, &[], g), Some(-2));
    assert_eq!(
        priority_of(ExceptionNumber::HARD_FAULT, &shpr, &[], g),
        Some(-1)
    );
    assert_eq!(
        priority_of(ExceptionNumber::SVCALL, &shpr, &[], g),
        Some(0x80)
    );
    assert_eq!(
        priority_of(ExceptionNumber::SYSTICK, &shpr, &[], g),
        Some(0xF0)
    );
    assert_eq!(
        priority_of(ExceptionNumber(17), &shpr, &[0, 0x50], g),
        Some(0x50)
    );
    assert_eq!(priority_of(ExceptionNumber(18), &shpr, &[0, 0x50], g), None);
    assert_eq!(priority_of(ExceptionNumber(9), &shpr, &[], g), None);
}

/// QEMU, firmware-samples c-nested-irq, stopped in inner_work: EXTI1 (IRQ7, 0x40)
/// preempted EXTI0 (IRQ6, 0xA0), which preempted main.
fn nested_irq() -> InterruptInput {
    let mut ipr = vec![0u8; 32];
    ipr[6] = 0xA0;
    ipr[7] = 0x40;
    InterruptInput {
        profile: Profile::V7M,
        icsr: 0x0000_0017,
        prigroup: 0,
        shpr: [0; 3],
        shcsr: Some(0),
        masks: Masks::default(),
        nvic: NvicTables {
            iser: vec![0xC0, 0],
            ispr: vec![0, 0],
            iabr: vec![0xC0, 0],
            ipr,
        },
        irq_count: 96,
        ipsr: Some(ExceptionNumber::from_xpsr(0x2100_0017)),
    }
}

#[test]
fn qemu_nested_irq_running_and_preempted() {
    let a = analyze(&nested_irq());
    assert_eq!(
        a.running,
        Prioritized {
            exception: ExceptionNumber(23),
            priority: 0x40
        }
    );
    assert_eq!(
        a.preempted,
        [Prioritized {
            exception: ExceptionNumber(22),
            priority: 0xA0
        }]
    );
    assert!(!a.icsr.rettobase);
    assert!(a.pending.is_empty());
    assert_eq!(a.execution_priority, 0x40);
}

#[test]
fn pending_interrupt_blocked_by_running_priority_and_disable() {
    let mut input = nested_irq();
    input.nvic.ispr = vec![0x0000_0300, 0]; // IRQ8 (disabled), IRQ9 (disabled)
    input.nvic.iser = vec![0x0000_02C0, 0]; // enable IRQ9
    input.nvic.ipr[8] = 0x10;
    input.nvic.ipr[9] = 0x80;
    let a = analyze(&input);
    assert_eq!(a.pending.len(), 2);
    assert_eq!(a.pending[0].exception, ExceptionNumber::from_irq(8));
    assert_eq!(a.pending[0].blocked_by, [BlockReason::Disabled]);
    assert_eq!(a.pending[1].exception, ExceptionNumber::from_irq(9));
    assert_eq!(
        a.pending[1].blocked_by,
        [BlockReason::NotHigherThanRunning {
            running: ExceptionNumber(23),
            running_priority: 0x40
        }]
    );
}

#[test]
fn pending_interrupt_masked_by_primask_basepri_faultmask() {
    let mut input = nested_irq();
    input.icsr = 0; // thread mode
    input.ipsr = None;
    input.nvic.iabr = vec![0, 0];
    input.nvic.ispr = vec![0x40, 0];
    input.masks = Masks {
        primask: true,
        faultmask: true,
        basepri: 0x80,
    };
    let a = analyze(&input);
    assert_eq!(a.running.priority, THREAD_PRIORITY);
    assert_eq!(
        a.pending[0].blocked_by,
        [
            BlockReason::PriMask,
            BlockReason::FaultMask,
            BlockReason::BasePri { basepri: 0x80 }
        ]
    );
    assert_eq!(a.execution_priority, -1);
    // On ARMv6-M BASEPRI and FAULTMASK do not exist.
    input.profile = Profile::V6M;
    let a = analyze(&input);
    assert_eq!(a.pending[0].blocked_by, [BlockReason::PriMask]);
}

#[test]
fn pending_system_exceptions_and_subpriority_grouping() {
    let mut input = nested_irq();
    input.icsr = 0x9400_0017; // NMIPENDSET, PENDSVSET, PENDSTSET with IRQ7 running
    input.shpr = [0, 0, 0x3000_2000]; // PendSV 0x20, SysTick 0x30
    input.prigroup = 6; // group = bit 7 only: 0x20, 0x30 and 0x40 are all group 0
    input.shcsr = Some(1 << 15); // SVCALLPENDED
    let a = analyze(&input);
    let names: Vec<String> = a.pending.iter().map(|p| p.exception.to_string()).collect();
    assert_eq!(names, ["NMI", "SVCall", "PendSV", "SysTick"]);
    assert!(
        a.pending[0].blocked_by.is_empty(),
        "NMI is always taken next"
    );
    // Same group priority as the running IRQ7: cannot preempt.
    assert!(matches!(
        a.pending[2].blocked_by[..],
        [BlockReason::NotHigherThanRunning { .. }]
    ));
    assert_eq!(a.running.priority, 0);
}

#[test]
fn system_handlers_active_from_shcsr() {
    let mut input = nested_irq();
    input.nvic.iabr = vec![0, 0];
    input.icsr = 0x0000_0005;
    input.ipsr = None;
    input.shcsr = Some(0x0000_0882); // BusFault, SVCall, SysTick active
    input.shpr = [0, 0x8000_0000, 0xF000_0000];
    let a = analyze(&input);
    assert_eq!(a.running.exception, ExceptionNumber::BUS_FAULT);
    let preempted: Vec<u16> = a.preempted.iter().map(|p| p.exception.0).collect();
    assert_eq!(preempted, [11, 15]);
}

#[test]
fn pending_reads_well() {
    let mut input = nested_irq();
    input.nvic.ispr = vec![0x0000_0100, 0];
    input.nvic.ipr[8] = 0x80;
    let a = analyze(&input);
    assert_eq!(
        a.pending[0].to_string(),
        "IRQ8 (priority 128) pending: disabled in the NVIC; not more urgent than the running IRQ7 (priority 64)"
    );
    assert_eq!(a.running.to_string(), "IRQ7 (priority 64)");
}
