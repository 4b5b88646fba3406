//! No decoder panics on any input: arbitrary words and byte slices.

use isrscope::model::arch::{CpuId, FpAccess, Fpu, Profile};
use isrscope::model::exc_return::{ExcReturn, ExcReturnKind, looks_like_exc_return};
use isrscope::model::exception::ExceptionNumber;
use isrscope::model::fault::{FaultAnalysis, FaultContext, FaultRegisters};
use isrscope::model::frame::{
    FpRegisters, LazyFpState, StackedFrame, bytes_to_read, bytes_to_read_with_fpccr,
};
use isrscope::model::interrupts::{InterruptInput, analyze};
use isrscope::model::nvic::{Aircr, Icsr, Masks, NvicTables, PriorityGrouping};
use isrscope::model::regs::ScbBlock;
use isrscope::model::svc::svc_number;
use isrscope::model::v6m::{self, CoreRegisters, MemoryRegion, RegionKind, V6mInput};
use proptest::prelude::*;

/// Arbitrary words, half of them with the 0xFFFFFFxx shape of real EXC_RETURN values.
fn exc_return_word() -> impl Strategy<Value = u32> {
    prop_oneof![any::<u32>(), (0u32..256).prop_map(|b| 0xFFFF_FF00 | b)]
}

fn profile() -> impl Strategy<Value = Profile> {
    prop_oneof![
        Just(Profile::V6M),
        Just(Profile::V7M),
        Just(Profile::V8MBaseline),
        Just(Profile::V8MMainline)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn word_decoders_never_panic(v: u32, p in profile()) {
        let id = CpuId::decode(v);
        let _ = id.to_string();
        let _ = (Fpu::from_mvfr0(v), FpAccess::from_cpacr(v));
        let n = ExceptionNumber::from_xpsr(v);
        prop_assert!(n.0 < 512);
        let _ = (n.name(), n.exists_on(p), n.fixed_priority());
        let _ = (Icsr::decode(v).to_string(), Aircr::decode(v));
        let _ = svc_number(v as u16);
        let _ = serde_json::to_string(&id).unwrap();
    }

    #[test]
    fn exc_return_decodes_any_value_consistently(v in exc_return_word(), p in profile()) {
        let kind = ExcReturn::decode(v, p);
        let _ = kind.to_string();
        if let ExcReturnKind::Exception(e) = kind {
            prop_assert!(looks_like_exc_return(v));
            prop_assert_eq!(e.value, v);
            prop_assert!(e.security.is_some() == p.is_v8m());
        }
        if !looks_like_exc_return(v) {
            let invalid = matches!(kind, ExcReturnKind::Invalid { .. });
            prop_assert!(invalid);
        }
    }

    #[test]
    fn scb_block_from_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
        let b = ScbBlock::from_bytes(&bytes);
        prop_assert_eq!(b.is_some(), bytes.len() >= 64);
    }

    #[test]
    fn frames_from_any_bytes(
        address: u32,
        er in exc_return_word(),
        p in profile(),
        bytes in proptest::collection::vec(any::<u8>(), 0..0x100),
        fpccr: u32,
        fpcar: u32,
        live: bool,
    ) {
        let ExcReturnKind::Exception(e) = ExcReturn::decode(er, p) else { return Ok(()) };
        let lazy = LazyFpState { fpccr, fpcar, live: live.then_some(FpRegisters { s: [1; 16], fpscr: 2 }) };
        if let Ok(f) = StackedFrame::decode(address, &bytes, &e, Some(&lazy)) {
            let needed = bytes_to_read_with_fpccr(&e, fpccr);
            prop_assert!(needed >= bytes_to_read(&e));
            prop_assert!(bytes.len() as u32 >= needed);
            let pad = if f.padded { 4 } else { 0 };
            prop_assert_eq!(f.size(), needed + pad);
            let _ = f.to_string();
            let _ = serde_json::to_string(&f).unwrap();
        }
    }

    #[test]
    fn frames_at_any_address_with_enough_bytes(address: u32, xpsr: u32) {
        let ExcReturnKind::Exception(e) = ExcReturn::decode(0xFFFF_FFE9, Profile::V7M) else { unreachable!() };
        let mut bytes = vec![0u8; 0x68];
        bytes[0x1C..0x20].copy_from_slice(&xpsr.to_le_bytes());
        let r = StackedFrame::decode(address & !3, &bytes, &e, None);
        let end = u64::from(address & !3) + 0x68 + if xpsr & 0x200 != 0 { 4 } else { 0 };
        prop_assert_eq!(r.is_ok(), end <= u64::from(u32::MAX));
    }

    #[test]
    fn fault_analysis_of_any_registers(
        cfsr: u32, hfsr: u32, dfsr: u32, mmfar: u32, bfar: u32,
        sfsr: Option<u32>, sfar: Option<u32>, abfsr: Option<u32>,
        shcsr: Option<u32>, shpr: Option<[u32; 3]>, primask: Option<bool>, faultmask: Option<bool>,
        basepri: Option<u8>, active: Option<u16>, interrupted: Option<u16>, ip: Option<u8>, dhcsr: Option<u32>,
        sp: Option<u32>, stack_bounds: Option<(u32, u32)>,
        p in proptest::option::of(profile()),
    ) {
        let regs = FaultRegisters { cfsr, hfsr, dfsr, mmfar, bfar, afsr: 0, sfsr, sfar, abfsr };
        let ctx = FaultContext {
            profile: p, shcsr, shpr, primask, faultmask, basepri,
            active: active.map(ExceptionNumber), interrupted: interrupted.map(ExceptionNumber),
            interrupted_priority: ip, prigroup: ip, dhcsr, sp, stack_bounds,
        };
        let a = FaultAnalysis::analyze(&regs, &ctx);
        let known = regs.causes().len() + regs.unknown_bits().len();
        let set = (cfsr.count_ones() + hfsr.count_ones() + dfsr.count_ones()
            + sfsr.unwrap_or(0).count_ones() + (abfsr.unwrap_or(0) & !0x300).count_ones()) as usize; // AXIMTYPE is a field
        prop_assert_eq!(known, set);
        for r in a.escalation.iter().flat_map(|e| e.reasons.iter()) {
            let _ = r.to_string();
        }
        let _ = serde_json::to_string(&a).unwrap();
    }

    #[test]
    fn priority_grouping_splits_every_byte(prigroup: u8, priority: u8) {
        let g = PriorityGrouping::new(prigroup);
        prop_assert_eq!(g.group(priority) | g.subpriority(priority), priority);
        prop_assert_eq!(g.group(priority) & g.subpriority(priority), 0);
    }

    #[test]
    fn interrupt_analysis_of_any_state(
        p in profile(), icsr: u32, prigroup: u8, shpr: [u32; 3], shcsr: Option<u32>,
        primask: bool, faultmask: bool, basepri: u8,
        iser in proptest::collection::vec(any::<u32>(), 0..4),
        ispr in proptest::collection::vec(any::<u32>(), 0..4),
        iabr in proptest::collection::vec(any::<u32>(), 0..4),
        ipr in proptest::collection::vec(any::<u8>(), 0..128),
        irq_count in 0u16..600, ipsr: Option<u16>,
    ) {
        let input = InterruptInput {
            profile: p, icsr, prigroup, shpr, shcsr,
            masks: Masks { primask, faultmask, basepri },
            nvic: NvicTables { iser, ispr, iabr, ipr },
            irq_count, ipsr: ipsr.map(ExceptionNumber),
        };
        let a = analyze(&input);
        prop_assert_eq!(a.irqs.len(), usize::from(irq_count));
        prop_assert!(a.preempted.windows(2).all(|w| w[0].priority <= w[1].priority));
        let _ = serde_json::to_string(&a).unwrap();
    }

    #[test]
    fn v6m_analysis_of_any_instruction(
        p in profile(),
        bytes in proptest::collection::vec(any::<u8>(), 0..6),
        regs: [Option<u32>; 16],
        prev: Option<u16>,
        dbg: Option<bool>,
        regions in proptest::collection::vec((any::<u32>(), any::<u32>()), 0..4),
    ) {
        let regions: Vec<MemoryRegion> = regions
            .into_iter()
            .map(|(start, len)| MemoryRegion { start, len, kind: RegionKind::Other })
            .collect();
        let input = V6mInput {
            profile: p, instruction: Some(&bytes), previous_halfword: prev,
            registers: CoreRegisters { r: regs }, regions: &regions, debugger_attached: dbg, svc: None,
        };
        let a = v6m::analyze(&input);
        prop_assert!(!a.findings.is_empty());
        for f in &a.findings {
            let _ = f.to_string();
        }
        let _ = serde_json::to_string(&a).unwrap();
    }

    #[test]
    fn thumb_decoder_never_panics_on_any_halfword_pair(a: u16, b: u16) {
        let mut bytes = a.to_le_bytes().to_vec();
        bytes.extend(b.to_le_bytes());
        if let Ok(inst) = v6m::decode_thumb(&bytes) {
            let _ = inst.to_string();
            let regs = CoreRegisters { r: [Some(0x2000_0000); 16] };
            let _ = v6m::access_of(&inst, &regs);
        }
    }
}
