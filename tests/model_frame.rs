//! Stacked exception frames: basic, extended, padded, v8-M state context, lazy FP.

use isrscope::model::arch::Profile;
use isrscope::model::exc_return::{ExcReturn, ExcReturnKind};
use isrscope::model::exception::ExceptionNumber;
use isrscope::model::frame::{
    FpRegisters, FpSource, FrameError, LazyFpState, StackedFrame, bytes_to_read, frame_size,
};

fn er(value: u32, profile: Profile) -> ExcReturn {
    match ExcReturn::decode(value, profile) {
        ExcReturnKind::Exception(e) => e,
        other => panic!("{other}"),
    }
}

fn bytes(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

const BASIC: [u32; 8] = [
    0x10,
    0x11,
    0x12,
    0x13,
    0x1C,
    0x0800_0123,
    0x0800_0456,
    0x0100_0000,
];

#[test]
fn frame_sizes() {
    assert_eq!(frame_size(&er(0xFFFF_FFF9, Profile::V7M)), 0x20);
    assert_eq!(frame_size(&er(0xFFFF_FFE9, Profile::V7M)), 0x68);
    assert_eq!(frame_size(&er(0xFFFF_FFDC, Profile::V8MMainline)), 0x48);
    assert_eq!(frame_size(&er(0xFFFF_FFCC, Profile::V8MMainline)), 0x90);
    assert_eq!(bytes_to_read(&er(0xFFFF_FFED, Profile::V7M)), 0x68);
}

#[test]
fn basic_frame_without_padding() {
    let f = StackedFrame::decode(
        0x2000_0FE0,
        &bytes(&BASIC),
        &er(0xFFFF_FFF9, Profile::V7M),
        None,
    )
    .unwrap();
    assert_eq!(
        (f.r0, f.r1, f.r2, f.r3, f.r12),
        (0x10, 0x11, 0x12, 0x13, 0x1C)
    );
    assert_eq!(
        (f.lr, f.pc, f.xpsr),
        (0x0800_0123, 0x0800_0456, 0x0100_0000)
    );
    assert!(!f.padded && !f.extended && f.fp.is_none() && f.state_context.is_none());
    assert_eq!(f.interrupted_sp, 0x2000_1000);
    assert_eq!(f.size(), 0x20);
    assert!(f.thumb_bit());
    assert_eq!(f.interrupted_exception(), ExceptionNumber::THREAD);
}

#[test]
fn basic_frame_with_alignment_padding() {
    let mut words = BASIC;
    words[7] = 0x0100_0200 | (16 + 3); // bit 9 set, interrupted IRQ3
    let f = StackedFrame::decode(
        0x2000_0FD8,
        &bytes(&words),
        &er(0xFFFF_FFF1, Profile::V7M),
        None,
    )
    .unwrap();
    assert!(f.padded);
    assert_eq!(f.interrupted_sp, 0x2000_0FD8 + 0x20 + 4);
    assert_eq!(f.interrupted_exception(), ExceptionNumber::from_irq(3));
}

fn extended_words(xpsr: u32) -> Vec<u32> {
    let mut w = BASIC.to_vec();
    w[7] = xpsr;
    w.extend((0..16).map(|i| 0x3F80_0000 + i)); // S0..S15
    w.push(0x0300_0000); // FPSCR
    w.push(0xDEAD_BEEF); // reserved
    w
}

#[test]
fn extended_frame_without_padding_reads_fp_from_memory() {
    let f = StackedFrame::decode(
        0x2000_0F00,
        &bytes(&extended_words(0x0100_0000)),
        &er(0xFFFF_FFED, Profile::V7M),
        None,
    )
    .unwrap();
    let fp = f.fp.unwrap();
    assert_eq!(fp.source, FpSource::Stacked);
    assert_eq!(fp.s[0], 0x3F80_0000);
    assert_eq!(fp.s[15], 0x3F80_000F);
    assert_eq!(fp.fpscr, 0x0300_0000);
    assert_eq!(f.interrupted_sp, 0x2000_0F68);
}

#[test]
fn extended_frame_with_padding() {
    let f = StackedFrame::decode(
        0x2000_0F00,
        &bytes(&extended_words(0x0100_0200)),
        &er(0xFFFF_FFE9, Profile::V7M),
        None,
    )
    .unwrap();
    assert!(f.padded && f.extended);
    assert_eq!(f.interrupted_sp, 0x2000_0F00 + 0x68 + 4);
}

const LIVE: FpRegisters = FpRegisters {
    s: [7; 16],
    fpscr: 0x0400_0000,
};

#[test]
fn lazy_fp_pending_for_this_frame_uses_live_registers() {
    // QEMU netduinoplus2 (Cortex-M4F): EXC_RETURN 0xFFFFFFED, FPCCR 0xC0000001 (ASPEN|LSPEN|LSPACT),
    // FPCAR = frame + 0x20.
    let lazy = LazyFpState {
        fpccr: 0xC000_0001,
        fpcar: 0x2000_0F20,
        live: Some(LIVE),
    };
    let f = StackedFrame::decode(
        0x2000_0F00,
        &bytes(&extended_words(0x0100_0000)),
        &er(0xFFFF_FFED, Profile::V7M),
        Some(&lazy),
    )
    .unwrap();
    let fp = f.fp.unwrap();
    assert_eq!(fp.source, FpSource::Registers);
    assert_eq!(fp.s, [7; 16]);
    assert_eq!(fp.fpscr, 0x0400_0000);
    assert!(f.to_string().contains("live registers"));
}

#[test]
fn lazy_fp_pending_without_live_registers_is_marked_stale() {
    let lazy = LazyFpState {
        fpccr: 0xC000_0001,
        fpcar: 0x2000_0F20,
        live: None,
    };
    let f = StackedFrame::decode(
        0x2000_0F00,
        &bytes(&extended_words(0x0100_0000)),
        &er(0xFFFF_FFED, Profile::V7M),
        Some(&lazy),
    )
    .unwrap();
    assert_eq!(f.fp.unwrap().source, FpSource::StaleMemory);
}

#[test]
fn lazy_fp_for_another_frame_or_inactive_reads_memory() {
    let words = bytes(&extended_words(0x0100_0000));
    let e = er(0xFFFF_FFED, Profile::V7M);
    let other_frame = LazyFpState {
        fpccr: 0xC000_0001,
        fpcar: 0x2000_0E20,
        live: Some(LIVE),
    };
    let inactive = LazyFpState {
        fpccr: 0xC000_0000,
        fpcar: 0x2000_0F20,
        live: Some(LIVE),
    };
    for lazy in [other_frame, inactive] {
        let f = StackedFrame::decode(0x2000_0F00, &words, &e, Some(&lazy)).unwrap();
        assert_eq!(f.fp.unwrap().source, FpSource::Stacked);
        assert_eq!(f.fp.unwrap().s[0], 0x3F80_0000);
    }
}

#[test]
fn lazy_fp_ignores_fpcar_reserved_low_bits() {
    let lazy = LazyFpState {
        fpccr: 1,
        fpcar: 0x2000_0F20 | 0x7,
        live: Some(LIVE),
    };
    let f = StackedFrame::decode(
        0x2000_0F00,
        &bytes(&extended_words(0x0100_0000)),
        &er(0xFFFF_FFE9, Profile::V7M),
        Some(&lazy),
    )
    .unwrap();
    assert_eq!(f.fp.unwrap().source, FpSource::Registers);
}

fn state_context_words() -> Vec<u32> {
    let mut w = vec![0xFEFA_125B, 0];
    w.extend(4..=11u32); // R4..R11
    w
}

#[test]
fn v8m_additional_state_context_below_the_basic_frame() {
    let mut words = state_context_words();
    words.extend(BASIC);
    let f = StackedFrame::decode(
        0x3000_0F00,
        &bytes(&words),
        &er(0xFFFF_FFDC, Profile::V8MMainline),
        None,
    )
    .unwrap();
    let sc = f.state_context.unwrap();
    assert!(sc.signature_valid);
    assert_eq!(sc.r4_r11, [4, 5, 6, 7, 8, 9, 10, 11]);
    assert_eq!((f.r0, f.pc, f.xpsr), (0x10, 0x0800_0456, 0x0100_0000));
    assert_eq!(f.interrupted_sp, 0x3000_0F48);
}

#[test]
fn v8m_state_context_with_extended_frame_and_padding() {
    let mut words = state_context_words();
    words[0] = 0xFEFA_125A; // ARMv8.1-M signature for an FP frame
    words.extend(extended_words(0x0100_0200));
    let lazy = LazyFpState {
        fpccr: 1,
        fpcar: 0x3000_0F00 + 0x28 + 0x20,
        live: Some(LIVE),
    };
    let f = StackedFrame::decode(
        0x3000_0F00,
        &bytes(&words),
        &er(0xFFFF_FFCC, Profile::V8MMainline),
        Some(&lazy),
    )
    .unwrap();
    assert!(f.state_context.unwrap().signature_valid);
    assert_eq!(f.fp.unwrap().source, FpSource::Registers);
    assert_eq!(f.interrupted_sp, 0x3000_0F00 + 0x28 + 0x68 + 4);
}

#[test]
fn v8m_bad_integrity_signature_is_reported_not_fatal() {
    let mut words = state_context_words();
    words[0] = 0x1234_5678;
    words.extend(BASIC);
    let f = StackedFrame::decode(
        0x3000_0F00,
        &bytes(&words),
        &er(0xFFFF_FFDC, Profile::V8MMainline),
        None,
    )
    .unwrap();
    assert!(!f.state_context.unwrap().signature_valid);
}

#[test]
fn short_misaligned_and_overflowing_frames_are_errors() {
    let e = er(0xFFFF_FFED, Profile::V7M);
    assert_eq!(
        StackedFrame::decode(0x2000_0000, &bytes(&BASIC), &e, None),
        Err(FrameError::TooShort {
            needed: 0x68,
            got: 0x20
        })
    );
    let b = er(0xFFFF_FFF9, Profile::V7M);
    assert_eq!(
        StackedFrame::decode(0x2000_0002, &bytes(&BASIC), &b, None),
        Err(FrameError::Misaligned {
            address: 0x2000_0002
        })
    );
    assert!(matches!(
        StackedFrame::decode(0xFFFF_FFF0, &bytes(&BASIC), &b, None),
        Err(FrameError::AddressOverflow { .. })
    ));
    // The interrupted SP must itself be an address.
    assert!(StackedFrame::decode(0xFFFF_FFE0, &bytes(&BASIC), &b, None).is_err());
    assert_eq!(
        StackedFrame::decode(0xFFFF_FFD0, &bytes(&BASIC), &b, None)
            .unwrap()
            .interrupted_sp,
        0xFFFF_FFF0
    );
    assert_eq!(
        StackedFrame::decode(0, &[], &b, None),
        Err(FrameError::TooShort {
            needed: 0x20,
            got: 0
        })
    );
}

/// QEMU, firmware-samples c-psp-fp at BusFault_Handler (netduinoplus2, Cortex-M4F):
/// LR = 0xFFFFFFED, PSP = 0x200007a0, FPCCR = 0xC0000059, FPCAR = 0x200007c0, the
/// stacked S0-S15 slots still hold zeros while the FPU holds 1.0 .. 16.0.
#[test]
fn qemu_psp_fp_lazy_frame_takes_fp_values_from_the_registers() {
    let mut words = vec![
        0x0000_0000,
        0x0000_0002,
        0x6000_0100,
        0x0800_0294,
        0,
        0x0800_0253,
        0x0800_0240,
        0x6100_0000,
    ];
    words.extend([0u32; 18]);
    let e = er(0xFFFF_FFED, Profile::V7M);
    assert_eq!(e.stack_name(), "PSP");
    let live_s: [u32; 16] = std::array::from_fn(|i| (i as f32 + 1.0).to_bits());
    assert_eq!(live_s[0], 0x3f80_0000);
    assert_eq!(live_s[15], 0x4180_0000);
    let lazy = LazyFpState {
        fpccr: 0xC000_0059,
        fpcar: 0x2000_07c0,
        live: Some(FpRegisters {
            s: live_s,
            fpscr: 0,
        }),
    };
    let f = StackedFrame::decode(0x2000_07a0, &bytes(&words), &e, Some(&lazy)).unwrap();
    assert_eq!((f.pc, f.lr, f.r2), (0x0800_0240, 0x0800_0253, 0x6000_0100));
    let fp = f.fp.unwrap();
    assert_eq!(fp.source, FpSource::Registers);
    assert_eq!(fp.s, live_s);
    assert!(!f.padded);
    assert_eq!(f.interrupted_sp, 0x2000_0808);
}

/// QEMU, c-invstate: the stacked xPSR 0x60000000 has the Thumb bit clear.
#[test]
fn qemu_invstate_frame_has_thumb_bit_clear() {
    let words = [
        0x0800_0238,
        0,
        0xe000_e000,
        0x0004_0000,
        0,
        0x0800_0251,
        0x0800_0238,
        0x6000_0000,
    ];
    let f = StackedFrame::decode(
        0x2001_ffc8,
        &bytes(&words),
        &er(0xFFFF_FFF9, Profile::V7M),
        None,
    )
    .unwrap();
    assert!(!f.thumb_bit());
    assert_eq!(f.pc, 0x0800_0238);
    assert_eq!(f.interrupted_sp, 0x2001_ffe8);
}

/// QEMU mps2-an505 (Cortex-M33, secure): LR = 0xFFFFFFF9 at BusFault_Handler.
#[test]
fn qemu_m33_secure_thread_msp() {
    let e = er(0xFFFF_FFF9, Profile::V8MMainline);
    let s = e.security.unwrap();
    assert!(s.secure_exception && s.secure_stack && s.default_callee_stacking);
    assert_eq!(e.stack_name(), "MSP_S");
    assert_eq!(frame_size(&e), 0x20);
}

#[test]
fn v8m_secure_fp_frame_with_ts_holds_s16_to_s31() {
    use isrscope::model::frame::{FrameLayout, bytes_to_read_with_fpccr};
    // Secure thread, PSP, extended frame, default callee stacking: 0xFFFFFFED on ARMv8-M.
    let e = er(0xFFFF_FFED, Profile::V8MMainline);
    assert!(e.security.unwrap().secure_stack);
    let ts = 1 << 26;
    assert_eq!(bytes_to_read_with_fpccr(&e, ts), 0xA8);
    assert_eq!(bytes_to_read_with_fpccr(&e, 0), 0x68);
    // Non-secure frames never carry S16-S31.
    assert_eq!(
        FrameLayout::new(&er(0xFFFF_FFAC, Profile::V8MMainline), Some(ts)).size(),
        0x68
    );
    let mut words = extended_words(0x0100_0000);
    words.extend((0..16).map(|i| 0x4000_0000 + i)); // S16..S31
    let lazy = LazyFpState {
        fpccr: ts,
        fpcar: 0,
        live: None,
    };
    let f = StackedFrame::decode(0x3000_0000, &bytes(&words), &e, Some(&lazy)).unwrap();
    let fp = f.fp.unwrap();
    assert_eq!(fp.source, FpSource::Stacked);
    assert_eq!(fp.s_high.unwrap()[0], 0x4000_0000);
    assert_eq!(fp.s_high.unwrap()[15], 0x4000_000F);
    assert_eq!(f.interrupted_sp, 0x3000_00A8);
    // Too short for the S16-S31 part.
    assert!(StackedFrame::decode(0x3000_0000, &bytes(&words[..26]), &e, Some(&lazy)).is_err());
}

#[test]
fn interrupted_registers_from_basic_and_state_context_frames() {
    let f = StackedFrame::decode(
        0x2000_0FE0,
        &bytes(&BASIC),
        &er(0xFFFF_FFF9, Profile::V7M),
        None,
    )
    .unwrap();
    let r = f.interrupted_registers();
    assert_eq!(&r[..4], &[Some(0x10), Some(0x11), Some(0x12), Some(0x13)]);
    assert!(r[4..12].iter().all(Option::is_none));
    assert_eq!(
        (r[12], r[13], r[14], r[15]),
        (
            Some(0x1C),
            Some(0x2000_1000),
            Some(0x0800_0123),
            Some(0x0800_0456)
        )
    );
    let mut words = state_context_words();
    words.extend(BASIC);
    let f = StackedFrame::decode(
        0x3000_0F00,
        &bytes(&words),
        &er(0xFFFF_FFDC, Profile::V8MMainline),
        None,
    )
    .unwrap();
    let r = f.interrupted_registers();
    assert_eq!((r[4], r[11]), (Some(4), Some(11)));
}
