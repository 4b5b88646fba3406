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

const BASIC: [u32; 8] = [0x10, 0x11, 0x12, 0x13, 0x1C, 0x0800_0123, 0x0800_0456, 0x0100_0000];

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
    let f = StackedFrame::decode(0x2000_0FE0, &bytes(&BASIC), &er(0xFFFF_FFF9, Profile::V7M), None).unwrap();
    assert_eq!((f.r0, f.r1, f.r2, f.r3, f.r12), (0x10, 0x11, 0x12, 0x13, 0x1C));
    assert_eq!((f.lr, f.pc, f.xpsr), (0x0800_0123, 0x0800_0456, 0x0100_0000));
    assert!(!f.padded && !f.extended && f.fp.is_none() && f.state_context.is_none());
    assert_eq!(f.interrupted_sp, 0x2000_1000);
    assert_eq!(f.size(), 0x20);
    assert!(f.thumb_bit());
    assert_eq!(f.interrupted_exception(), ExceptionNumber::THREAD);
}

#[test]
fn basic_frame_with_alignment_padding() {
    let mut words = BASIC;
    words[7] = 0x0100_0200 | 16 + 3; // bit 9 set, interrupted IRQ3
    let f = StackedFrame::decode(0x2000_0FD8, &bytes(&words), &er(0xFFFF_FFF1, Profile::V7M), None).unwrap();
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
    let f = StackedFrame::decode(0x2000_0F00, &bytes(&extended_words(0x0100_0000)), &er(0xFFFF_FFED, Profile::V7M), None)
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
    let f = StackedFrame::decode(0x2000_0F00, &bytes(&extended_words(0x0100_0200)), &er(0xFFFF_FFE9, Profile::V7M), None)
        .unwrap();
    assert!(f.padded && f.extended);
    assert_eq!(f.interrupted_sp, 0x2000_0F00 + 0x68 + 4);
}

const LIVE: FpRegisters = FpRegisters { s: [7; 16], fpscr: 0x0400_0000 };

#[test]
fn lazy_fp_pending_for_this_frame_uses_live_registers() {
    // QEMU netduinoplus2 (Cortex-M4F): EXC_RETURN 0xFFFFFFED, FPCCR 0xC0000001 (ASPEN|LSPEN|LSPACT),
    // FPCAR = frame + 0x20.
    let lazy = LazyFpState { fpccr: 0xC000_0001, fpcar: 0x2000_0F20, live: Some(LIVE) };
    let f = StackedFrame::decode(0x2000_0F00, &bytes(&extended_words(0x0100_0000)), &er(0xFFFF_FFED, Profile::V7M), Some(&lazy))
        .unwrap();
    let fp = f.fp.unwrap();
    assert_eq!(fp.source, FpSource::Registers);
    assert_eq!(fp.s, [7; 16]);
    assert_eq!(fp.fpscr, 0x0400_0000);
    assert!(f.to_string().contains("live registers"));
}

#[test]
fn lazy_fp_pending_without_live_registers_is_marked_stale() {
    let lazy = LazyFpState { fpccr: 0xC000_0001, fpcar: 0x2000_0F20, live: None };
    let f = StackedFrame::decode(0x2000_0F00, &bytes(&extended_words(0x0100_0000)), &er(0xFFFF_FFED, Profile::V7M), Some(&lazy))
        .unwrap();
    assert_eq!(f.fp.unwrap().source, FpSource::StaleMemory);
}

#[test]
fn lazy_fp_for_another_frame_or_inactive_reads_memory() {
    let words = bytes(&extended_words(0x0100_0000));
    let e = er(0xFFFF_FFED, Profile::V7M);
    let other_frame = LazyFpState { fpccr: 0xC000_0001, fpcar: 0x2000_0E20, live: Some(LIVE) };
    let inactive = LazyFpState { fpccr: 0xC000_0000, fpcar: 0x2000_0F20, live: Some(LIVE) };
    for lazy in [other_frame, inactive] {
        let f = StackedFrame::decode(0x2000_0F00, &words, &e, Some(&lazy)).unwrap();
        assert_eq!(f.fp.unwrap().source, FpSource::Stacked);
        assert_eq!(f.fp.unwrap().s[0], 0x3F80_0000);
    }
}

#[test]
fn lazy_fp_ignores_fpcar_reserved_low_bits() {
    let lazy = LazyFpState { fpccr: 1, fpcar: 0x2000_0F20 | 0x7, live: Some(LIVE) };
    let f = StackedFrame::decode(0x2000_0F00, &bytes(&extended_words(0x0100_0000)), &er(0xFFFF_FFE9, Profile::V7M), Some(&lazy))
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
    let f = StackedFrame::decode(0x3000_0F00, &bytes(&words), &er(0xFFFF_FFDC, Profile::V8MMainline), None).unwrap();
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
    let lazy = LazyFpState { fpccr: 1, fpcar: 0x3000_0F00 + 0x28 + 0x20, live: Some(LIVE) };
    let f = StackedFrame::decode(0x3000_0F00, &bytes(&words), &er(0xFFFF_FFCC, Profile::V8MMainline), Some(&lazy)).unwrap();
    assert!(f.state_context.unwrap().signature_valid);
    assert_eq!(f.fp.unwrap().source, FpSource::Registers);
    assert_eq!(f.interrupted_sp, 0x3000_0F00 + 0x28 + 0x68 + 4);
}

#[test]
fn v8m_bad_integrity_signature_is_reported_not_fatal() {
    let mut words = state_context_words();
    words[0] = 0x1234_5678;
    words.extend(BASIC);
    let f = StackedFrame::decode(0x3000_0F00, &bytes(&words), &er(0xFFFF_FFDC, Profile::V8MMainline), None).unwrap();
    assert!(!f.state_context.unwrap().signature_valid);
}

#[test]
fn short_misaligned_and_overflowing_frames_are_errors() {
    let e = er(0xFFFF_FFED, Profile::V7M);
    assert_eq!(
        StackedFrame::decode(0x2000_0000, &bytes(&BASIC), &e, None),
        Err(FrameError::TooShort { needed: 0x68, got: 0x20 })
    );
    let b = er(0xFFFF_FFF9, Profile::V7M);
    assert_eq!(StackedFrame::decode(0x2000_0002, &bytes(&BASIC), &b, None), Err(FrameError::Misaligned { address: 0x2000_0002 }));
    assert!(matches!(
        StackedFrame::decode(0xFFFF_FFF0, &bytes(&BASIC), &b, None),
        Err(FrameError::AddressOverflow { .. })
    ));
    // The interrupted SP must itself be an address.
    assert!(StackedFrame::decode(0xFFFF_FFE0, &bytes(&BASIC), &b, None).is_err());
    assert_eq!(StackedFrame::decode(0xFFFF_FFD0, &bytes(&BASIC), &b, None).unwrap().interrupted_sp, 0xFFFF_FFF0);
    assert_eq!(StackedFrame::decode(0, &[], &b, None), Err(FrameError::TooShort { needed: 0x20, got: 0 }));
}
