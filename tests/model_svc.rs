//! SVC numbers and arguments (QEMU firmware-samples c-svc: SVC #1, r0-r3 = 0x11 0x22 0x33 0x44).

use isrscope::model::arch::Profile;
use isrscope::model::exc_return::{ExcReturn, ExcReturnKind};
use isrscope::model::frame::StackedFrame;
use isrscope::model::svc::{SvcCall, svc_number, svc_number_from_bytes};

#[test]
fn svc_numbers_from_the_instruction() {
    assert_eq!(svc_number(0xDF01), Some(1));
    assert_eq!(svc_number(0xDFFF), Some(255));
    assert_eq!(svc_number(0xDE01), None, "UDF, not SVC");
    assert_eq!(svc_number(0x4684), None);
    assert_eq!(svc_number_from_bytes([0x01, 0xDF]), Some(1));
}

#[test]
fn qemu_c_svc_call_and_arguments() {
    let words: [u32; 8] = [
        0x11,
        0x22,
        0x33,
        0x44,
        0,
        0x0800_02a7,
        0x0800_0290,
        0x2100_0000,
    ];
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let ExcReturnKind::Exception(er) = ExcReturn::decode(0xFFFF_FFF9, Profile::V7M) else {
        panic!()
    };
    let frame = StackedFrame::decode(0x2001_ffd0, &bytes, &er, None).unwrap();
    // The halfword at 0x0800028e (stacked PC - 2) is 0xdf01.
    let call = SvcCall::decode(0xDF01, &frame).unwrap();
    assert_eq!(call.number, 1);
    assert_eq!(call.args, [0x11, 0x22, 0x33, 0x44]);
    assert_eq!(call.address, 0x0800_028e);
    assert_eq!(
        call.to_string(),
        "SVC #1 at 0x0800028e (r0=0x00000011 r1=0x00000022 r2=0x00000033 r3=0x00000044)"
    );
    assert!(SvcCall::decode(0x4684, &frame).is_none());
}
