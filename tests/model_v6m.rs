//! ARMv6-M HardFaults explained from the instruction at the stacked PC,
//! including the state QEMU (microbit, Cortex-M0) showed for c-m0-unaligned.

use isrscope::model::arch::Profile;
use isrscope::model::exc_return::{ExcReturn, ExcReturnKind};
use isrscope::model::frame::StackedFrame;
use isrscope::model::v6m::{
    Access, CoreRegisters, MemoryRegion, RegionKind, SvcPriorityContext, UndefinedReason,
    V6mFinding, V6mInput, analyze,
};

const MICROBIT: [MemoryRegion; 3] = [
    MemoryRegion {
        start: 0,
        len: 0x4_0000,
        kind: RegionKind::Flash,
    },
    MemoryRegion {
        start: 0x2000_0000,
        len: 0x4000,
        kind: RegionKind::Ram,
    },
    MemoryRegion {
        start: 0x4000_0000,
        len: 0x2000_0000,
        kind: RegionKind::Peripheral,
    },
];

fn regs(pairs: &[(usize, u32)]) -> CoreRegisters {
    let mut r = CoreRegisters::default();
    r.r[15] = Some(0x138);
    for &(i, v) in pairs {
        r.r[i] = Some(v);
    }
    r
}

fn input<'a>(instruction: &'a [u8], registers: CoreRegisters) -> V6mInput<'a> {
    V6mInput {
        profile: Profile::V6M,
        instruction: Some(instruction),
        previous_halfword: None,
        registers,
        regions: &MICROBIT,
        debugger_attached: None,
        svc: None,
    }
}

#[test]
fn qemu_m0_unaligned_ldr() {
    // Frame at 0x20003fc8 at HardFault_Handler: r0 = 0x20000009, PC = 0x138 (load_word: ldr r0, [r0]).
    let words: [u32; 8] = [
        0x2000_0009,
        0,
        0x2000_0018,
        0x2000_0018,
        0,
        0x145,
        0x138,
        0x0100_0000,
    ];
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let ExcReturnKind::Exception(er) = ExcReturn::decode(0xFFFF_FFF9, Profile::V6M) else {
        panic!()
    };
    let frame = StackedFrame::decode(0x2000_3fc8, &bytes, &er, None).unwrap();
    let registers = CoreRegisters::from_frame(&frame, Some([0x2000_0004, 0, 0, 0, 0, 0, 0, 0]));
    assert_eq!(registers.r[13], Some(0x2000_3fe8));
    let a = analyze(&input(&[0x00, 0x68], registers));
    assert_eq!(a.disassembly.as_deref(), Some("ldr r0, [r0]"));
    assert_eq!(
        a.findings,
        [V6mFinding::UnalignedAccess {
            access: Access {
                address: 0x2000_0009,
                size: 4,
                count: 1,
                write: false
            }
        }]
    );
    assert!(
        a.findings[0]
            .to_string()
            .contains("unaligned 4-byte read at 0x20000009")
    );
}

#[test]
fn unaligned_halfword_with_immediate_offset() {
    // ldrh r0, [r1, #2] with r1 = 0x20000001
    let a = analyze(&input(&[0x48, 0x88], regs(&[(1, 0x2000_0001)])));
    assert_eq!(
        a.findings,
        [V6mFinding::UnalignedAccess {
            access: Access {
                address: 0x2000_0003,
                size: 2,
                count: 1,
                write: false
            }
        }]
    );
}

#[test]
fn byte_accesses_are_never_unaligned() {
    // strb r0, [r1] with r1 odd, inside RAM
    let a = analyze(&input(&[0x08, 0x70], regs(&[(0, 0), (1, 0x2000_0001)])));
    assert!(matches!(
        a.findings[..],
        [V6mFinding::AccessInKnownMemory {
            kind: RegionKind::Ram,
            ..
        }]
    ));
}

#[test]
fn store_outside_every_region() {
    // str r1, [r0, #4] with r0 = 0x60000000
    let a = analyze(&input(&[0x41, 0x60], regs(&[(0, 0x6000_0000), (1, 5)])));
    assert_eq!(
        a.findings,
        [V6mFinding::OutsideMemory {
            access: Access {
                address: 0x6000_0004,
                size: 4,
                count: 1,
                write: true
            }
        }]
    );
}

#[test]
fn register_offset_and_sp_and_pc_relative_addresses() {
    // ldr r0, [r1, r2]
    let a = analyze(&input(&[0x88, 0x58], regs(&[(1, 0x2000_0000), (2, 0x102)])));
    assert!(
        matches!(a.findings[0], V6mFinding::UnalignedAccess { access } if access.address == 0x2000_0102)
    );
    // ldr r0, [sp, #4]
    let a = analyze(&input(&[0x01, 0x98], regs(&[(13, 0x2000_3ff0)])));
    assert!(
        matches!(a.findings[0], V6mFinding::AccessInKnownMemory { access, .. } if access.address == 0x2000_3ff4)
    );
    // ldr r0, [pc, #8] at 0x13A: Align(0x13A + 4, 4) + 8 = 0x144
    let mut r = regs(&[]);
    r.r[15] = Some(0x13A);
    let a = analyze(&input(&[0x02, 0x48], r));
    assert!(
        matches!(a.findings[0], V6mFinding::AccessInKnownMemory { access, .. } if access.address == 0x144)
    );
}

#[test]
fn push_below_ram_is_a_stack_overflow() {
    // push {r4, lr} with SP at the bottom of RAM
    let a = analyze(&input(&[0x10, 0xb5], regs(&[(13, 0x2000_0000)])));
    assert_eq!(
        a.findings,
        [V6mFinding::OutsideMemory {
            access: Access {
                address: 0x1FFF_FFF8,
                size: 4,
                count: 2,
                write: true
            }
        }]
    );
}

#[test]
fn ldm_stm_and_pop() {
    // ldm r0!, {r1, r2, r3} with r0 unaligned
    let a = analyze(&input(&[0x0e, 0xc8], regs(&[(0, 0x2000_0002)])));
    assert_eq!(
        a.findings[0],
        V6mFinding::UnalignedAccess {
            access: Access {
                address: 0x2000_0002,
                size: 4,
                count: 3,
                write: false
            }
        }
    );
    // stmia r0!, {r1, r2, r3} past the end of RAM
    let a = analyze(&input(&[0x0e, 0xc0], regs(&[(0, 0x2000_3FF8)])));
    assert!(
        matches!(a.findings[..], [V6mFinding::OutsideMemory { access }] if access.write && access.len() == 12)
    );
    // pop {r4, pc}
    let a = analyze(&input(&[0x10, 0xbd], regs(&[(13, 0x2000_3FF8)])));
    assert!(
        matches!(a.findings[..], [V6mFinding::AccessInKnownMemory { access, .. }] if !access.write && access.count == 2)
    );
}

#[test]
fn unknown_base_register() {
    // ldr r0, [r4] with r4 not read
    let a = analyze(&input(&[0x20, 0x68], regs(&[])));
    assert_eq!(a.findings, [V6mFinding::AddressUnknown { register: 4 }]);
}

#[test]
fn bkpt_without_debugger() {
    let a = analyze(&input(&[0xAB, 0xBE], regs(&[])));
    assert_eq!(
        a.findings,
        [V6mFinding::BreakpointWithoutDebugger { imm: 0xAB }]
    );
    let mut i = input(&[0xAB, 0xBE], regs(&[]));
    i.debugger_attached = Some(true);
    assert_eq!(analyze(&i).findings, [V6mFinding::NoExplanation]);
}

#[test]
fn svc_at_wrong_priority() {
    let ctx = SvcPriorityContext {
        primask: true,
        svc_priority: 0xC0,
        current_priority: 256,
    };
    let mut i = input(&[0x05, 0xDF], regs(&[]));
    i.svc = Some(ctx);
    let a = analyze(&i);
    assert_eq!(
        a.findings,
        [V6mFinding::SvcCannotBeTaken {
            number: 5,
            primask: Some(true),
            svc_priority: Some(0xC0),
            current_priority: Some(256)
        }]
    );
    assert!(a.findings[0].to_string().contains("PRIMASK"));
    // The stacked PC may be past the SVC: the halfword before it is checked too.
    let mut i = input(&[0x00, 0x20], regs(&[])); // movs r0, #0
    i.previous_halfword = Some(0xDF02);
    assert!(matches!(
        analyze(&i).findings[..],
        [V6mFinding::SvcCannotBeTaken { number: 2, .. }]
    ));
}

#[test]
fn undefined_instructions() {
    let a = analyze(&input(&[0x00, 0xDE], regs(&[])));
    assert_eq!(
        a.findings,
        [V6mFinding::UndefinedInstruction {
            reason: UndefinedReason::Udf { imm: 0 }
        }]
    );
    let a = analyze(&input(&[0xf0, 0xf7, 0x00, 0xa0], regs(&[])));
    assert_eq!(
        a.findings,
        [V6mFinding::UndefinedInstruction {
            reason: UndefinedReason::NotAnInstruction
        }]
    );
    // ldr.w and cbz are ARMv7-M: undefined on a Cortex-M0.
    for bytes in [&[0xd1, 0xf8, 0x04, 0x00][..], &[0x08, 0xb1][..]] {
        let a = analyze(&input(bytes, regs(&[(1, 0x2000_0000)])));
        assert_eq!(
            a.findings,
            [V6mFinding::UndefinedInstruction {
                reason: UndefinedReason::NotInArmv6m
            }]
        );
    }
    // ...but not on ARMv8-M Baseline parts, where ldr.w is then checked as a load.
    let mut i = input(&[0xd1, 0xf8, 0x04, 0x00], regs(&[(1, 0x2000_0001)]));
    i.profile = Profile::V8MBaseline;
    assert!(matches!(
        analyze(&i).findings[..],
        [V6mFinding::UnalignedAccess { .. }]
    ));
    // bl is one of the few 32-bit ARMv6-M instructions.
    let a = analyze(&input(&[0x00, 0xf0, 0x00, 0xf8], regs(&[])));
    assert_eq!(a.findings, [V6mFinding::NoExplanation]);
}

#[test]
fn bad_fetches_and_short_input() {
    let mut r = regs(&[]);
    r.r[15] = Some(0x6000_0000);
    assert_eq!(
        analyze(&input(&[0x00, 0x68], r)).findings,
        [V6mFinding::BadFetch { pc: 0x6000_0000 }]
    );
    r.r[15] = Some(0x139);
    assert_eq!(
        analyze(&input(&[0x00, 0x68], r)).findings,
        [V6mFinding::BadFetch { pc: 0x139 }]
    );
    let mut i = input(&[], regs(&[]));
    i.instruction = None;
    assert_eq!(analyze(&i).findings, [V6mFinding::BadFetch { pc: 0x138 }]);
    // The first halfword of a 32-bit instruction alone.
    assert_eq!(
        analyze(&input(&[0xd1, 0xf8], regs(&[]))).findings,
        [V6mFinding::NeedMoreBytes]
    );
}

#[test]
fn no_regions_means_no_region_check() {
    let mut i = input(&[0x41, 0x60], regs(&[(0, 0x6000_0000), (1, 5)]));
    i.regions = &[];
    assert_eq!(analyze(&i).findings, [V6mFinding::NoExplanation]);
}
