//! Every EXC_RETURN value class on each profile.

use isrscope::model::arch::Profile::{self, *};
use isrscope::model::exc_return::{
    ExcReturn, ExcReturnKind, InvalidReason, Mode, StackPointer, looks_like_exc_return,
};

fn valid(value: u32, profile: Profile) -> ExcReturn {
    match ExcReturn::decode(value, profile) {
        ExcReturnKind::Exception(e) => e,
        other => panic!("{value:#x} on {profile}: {other}"),
    }
}

fn invalid(value: u32, profile: Profile) -> InvalidReason {
    match ExcReturn::decode(value, profile) {
        ExcReturnKind::Invalid { reason, .. } => reason,
        other => panic!("{value:#x} on {profile} should be invalid: {other}"),
    }
}

#[test]
fn the_three_basic_values_on_v6m_and_v7m() {
    for profile in [V6M, V7M] {
        let h = valid(0xFFFF_FFF1, profile);
        assert_eq!(
            (h.mode, h.stack, h.extended_frame),
            (Mode::Handler, StackPointer::Main, false)
        );
        let t = valid(0xFFFF_FFF9, profile);
        assert_eq!(
            (t.mode, t.stack, t.extended_frame),
            (Mode::Thread, StackPointer::Main, false)
        );
        let p = valid(0xFFFF_FFFD, profile);
        assert_eq!(
            (p.mode, p.stack, p.extended_frame),
            (Mode::Thread, StackPointer::Process, false)
        );
        assert_eq!(p.security, None);
        assert_eq!(p.stack_name(), "PSP");
        assert!(!p.has_state_context());
    }
}

#[test]
fn fp_extended_values_on_v7m() {
    for (value, mode, stack) in [
        (0xFFFF_FFE1, Mode::Handler, StackPointer::Main),
        (0xFFFF_FFE9, Mode::Thread, StackPointer::Main),
        (0xFFFF_FFED, Mode::Thread, StackPointer::Process),
    ] {
        let e = valid(value, V7M);
        assert!(e.extended_frame);
        assert_eq!((e.mode, e.stack), (mode, stack));
    }
}

#[test]
fn fp_extended_values_are_invalid_without_an_fpu_profile() {
    for value in [0xFFFF_FFE1, 0xFFFF_FFE9, 0xFFFF_FFED] {
        assert_eq!(invalid(value, V6M), InvalidReason::FpFrameWithoutFpu);
    }
    assert_eq!(
        invalid(0xFFFF_FFAC, V8MBaseline),
        InvalidReason::FpFrameWithoutFpu
    );
}

#[test]
fn v6m_v7m_invalid_values() {
    for profile in [V6M, V7M] {
        assert_eq!(invalid(0x0800_1235, profile), InvalidReason::NoPrefix);
        assert_eq!(invalid(0xFFFF_FFF5, profile), InvalidReason::BadLowNibble);
        assert_eq!(invalid(0xFFFF_FFF0, profile), InvalidReason::BadLowNibble);
        assert_eq!(invalid(0xFFFF_FFFF, profile), InvalidReason::BadLowNibble);
        assert_eq!(invalid(0xFFFF_FF11, profile), InvalidReason::ReservedBits);
        assert_eq!(invalid(0xFF00_00F9, profile), InvalidReason::ReservedBits);
        assert_eq!(
            invalid(0xFEFF_FFFF, profile),
            InvalidReason::FncReturnNotV8M
        );
    }
}

#[test]
fn v8m_non_secure_values() {
    // Non-secure-only Cortex-M33 firmware: thread PSP 0xFFFFFFBC, thread MSP 0xFFFFFFB8, handler 0xFFFFFFB0.
    let t = valid(0xFFFF_FFBC, V8MMainline);
    assert_eq!(
        (t.mode, t.stack, t.extended_frame),
        (Mode::Thread, StackPointer::Process, false)
    );
    let s = t.security.unwrap();
    assert!(!s.secure_exception && s.default_callee_stacking && !s.secure_stack);
    assert_eq!(t.stack_name(), "PSP_NS");
    assert_eq!(valid(0xFFFF_FFB8, V8MBaseline).stack_name(), "MSP_NS");
    assert_eq!(valid(0xFFFF_FFB0, V8MBaseline).mode, Mode::Handler);
    let fp = valid(0xFFFF_FFAC, V8MMainline);
    assert!(fp.extended_frame);
}

#[test]
fn v8m_secure_values() {
    let e = valid(0xFFFF_FFFD, V8MMainline);
    let s = e.security.unwrap();
    assert!(s.secure_exception && s.default_callee_stacking && s.secure_stack);
    assert_eq!(e.stack_name(), "PSP_S");
    assert!(!e.has_state_context());
    assert_eq!(valid(0xFFFF_FFF1, V8MMainline).stack_name(), "MSP_S");
}

#[test]
fn v8m_dcrs_clear_means_additional_state_context() {
    // Non-secure exception that preempted secure thread code on the secure PSP.
    let e = valid(0xFFFF_FFDC, V8MMainline);
    let s = e.security.unwrap();
    assert!(!s.default_callee_stacking && s.secure_stack && !s.secure_exception);
    assert!(e.has_state_context());
    assert!(e.to_string().contains("additional state context"));
}

#[test]
fn v8m_invalid_values() {
    for profile in [V8MBaseline, V8MMainline] {
        assert_eq!(
            invalid(0xFFFF_FFFF, profile),
            InvalidReason::ReservedBits,
            "bit 1 is RES0"
        );
        assert_eq!(
            invalid(0xFF00_00BC, profile),
            InvalidReason::ReservedBits,
            "[23:7] are RES1"
        );
        assert_eq!(
            invalid(0xFFFF_FFF5, profile),
            InvalidReason::HandlerWithProcessStack
        );
        assert_eq!(invalid(0x2000_0000, profile), InvalidReason::NoPrefix);
    }
}

#[test]
fn fnc_return_is_recognised_on_v8m_only() {
    for value in [0xFEFF_FFFE, 0xFEFF_FFFF] {
        assert_eq!(
            ExcReturn::decode(value, V8MMainline),
            ExcReturnKind::FncReturn { value }
        );
        assert_eq!(
            ExcReturn::decode(value, V8MBaseline),
            ExcReturnKind::FncReturn { value }
        );
    }
    assert_eq!(invalid(0xFEFF_FFFC, V8MMainline), InvalidReason::NoPrefix);
}

#[test]
fn quick_test_for_the_unwinder() {
    for v in [
        0xFFFF_FFF9,
        0xFFFF_FFED,
        0xFFFF_FFBC,
        0xFEFF_FFFF,
        0xFEFF_FFFE,
        0xFF00_0000,
    ] {
        assert!(looks_like_exc_return(v), "{v:#x}");
    }
    for v in [
        0,
        0x0800_0401,
        0x2001_FFFF,
        0xFEFF_FFFD,
        0xFE00_0000,
        0xE000_ED00,
    ] {
        assert!(!looks_like_exc_return(v), "{v:#x}");
    }
}

#[test]
fn display_reads_well() {
    assert_eq!(
        ExcReturn::decode(0xFFFF_FFED, V7M).to_string(),
        "0xffffffed: return to thread mode, frame on PSP, extended FP frame"
    );
    assert_eq!(
        ExcReturn::decode(0x0800_0001, V7M).to_string(),
        "0x08000001: invalid EXC_RETURN (bits [31:24] are not 0xFF)"
    );
}
