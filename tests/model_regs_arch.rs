//! The register map, the SCB block decoder, CPUID and FPU presence.

use isrscope::model::arch::{Core, CpuId, FpAccess, Fpu, Profile};
use isrscope::model::regs::{
    self, SCB_BLOCK_LEN, SCB_BLOCK_START, ScbBlock, dcb, fpu, mpu, nvic, scb, scs,
};

#[test]
fn addresses_match_the_architecture_manuals() {
    assert_eq!(scb::CPUID, 0xE000_ED00);
    assert_eq!(scb::ICSR, 0xE000_ED04);
    assert_eq!(scb::VTOR, 0xE000_ED08);
    assert_eq!(scb::AIRCR, 0xE000_ED0C);
    assert_eq!(scb::SCR, 0xE000_ED10);
    assert_eq!(scb::CCR, 0xE000_ED14);
    assert_eq!(
        [scb::SHPR1, scb::SHPR2, scb::SHPR3],
        [0xE000_ED18, 0xE000_ED1C, 0xE000_ED20]
    );
    assert_eq!(scb::SHCSR, 0xE000_ED24);
    assert_eq!(scb::CFSR, 0xE000_ED28);
    assert_eq!(
        (scb::MMFSR, scb::BFSR, scb::UFSR),
        (0xE000_ED28, 0xE000_ED29, 0xE000_ED2A)
    );
    assert_eq!(scb::HFSR, 0xE000_ED2C);
    assert_eq!(scb::DFSR, 0xE000_ED30);
    assert_eq!(scb::MMFAR, 0xE000_ED34);
    assert_eq!(scb::BFAR, 0xE000_ED38);
    assert_eq!(scb::AFSR, 0xE000_ED3C);
    assert_eq!(scb::CPACR, 0xE000_ED88);
    assert_eq!((scb::SFSR, scb::SFAR), (0xE000_EDE4, 0xE000_EDE8));
    assert_eq!(scb::ABFSR, 0xE000_EFA8);
    assert_eq!((scs::ICTR, scs::ACTLR), (0xE000_E004, 0xE000_E008));
    assert_eq!(scs::ACTLR_DISDEFWBUF, 1 << 1);
    assert_eq!(
        (fpu::FPCCR, fpu::FPCAR, fpu::FPDSCR),
        (0xE000_EF34, 0xE000_EF38, 0xE000_EF3C)
    );
    assert_eq!(
        (fpu::MVFR0, fpu::MVFR1, fpu::MVFR2),
        (0xE000_EF40, 0xE000_EF44, 0xE000_EF48)
    );
    assert_eq!(
        (fpu::FPCCR_LSPACT, fpu::FPCCR_LSPEN, fpu::FPCCR_ASPEN),
        (1, 1 << 30, 1 << 31)
    );
    assert_eq!(
        (mpu::TYPE, mpu::CTRL, mpu::RNR, mpu::RBAR, mpu::RASR),
        (
            0xE000_ED90,
            0xE000_ED94,
            0xE000_ED98,
            0xE000_ED9C,
            0xE000_EDA0
        )
    );
    assert_eq!(
        (dcb::DHCSR, dcb::DCRSR, dcb::DCRDR, dcb::DEMCR),
        (0xE000_EDF0, 0xE000_EDF4, 0xE000_EDF8, 0xE000_EDFC)
    );
    assert_eq!(dcb::DHCSR_S_LOCKUP, 1 << 19);
    let vc = [
        dcb::DEMCR_VC_CORERESET,
        dcb::DEMCR_VC_MMERR,
        dcb::DEMCR_VC_NOCPERR,
        dcb::DEMCR_VC_CHKERR,
        dcb::DEMCR_VC_STATERR,
        dcb::DEMCR_VC_BUSERR,
        dcb::DEMCR_VC_INTERR,
        dcb::DEMCR_VC_HARDERR,
    ];
    assert_eq!(
        vc,
        [1, 1 << 4, 1 << 5, 1 << 6, 1 << 7, 1 << 8, 1 << 9, 1 << 10]
    );
    assert_eq!(dcb::DEMCR_VC_ALL_FAULTS, 0x7F0);
    assert_eq!(
        (
            nvic::ISER,
            nvic::ICER,
            nvic::ISPR,
            nvic::ICPR,
            nvic::IABR,
            nvic::IPR
        ),
        (
            0xE000_E100,
            0xE000_E180,
            0xE000_E200,
            0xE000_E280,
            0xE000_E300,
            0xE000_E400
        )
    );
    assert_eq!(nvic::bit_word(nvic::ISER, 33), 0xE000_E104);
    assert_eq!(nvic::priority_byte(5), 0xE000_E405);
    assert_eq!(SCB_BLOCK_START, 0xE000_ED00);
    assert_eq!(SCB_BLOCK_START + SCB_BLOCK_LEN as u32 - 1, 0xE000_ED3F);
    assert_eq!(scb::ICSR_VECTPENDING_MASK, 0x1FF000);
    assert_eq!(scb::CCR_STKALIGN, 1 << 9);
}

#[test]
fn scb_block_decodes_each_word_in_order() {
    let words: Vec<u32> = (0..16).map(|i| 0x1000_0000 + i).collect();
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let b = ScbBlock::from_bytes(&bytes).unwrap();
    assert_eq!(b.cpuid, words[0]);
    assert_eq!(b.icsr, words[1]);
    assert_eq!(b.vtor, words[2]);
    assert_eq!(b.aircr, words[3]);
    assert_eq!(b.scr, words[4]);
    assert_eq!(b.ccr, words[5]);
    assert_eq!(b.shpr, [words[6], words[7], words[8]]);
    assert_eq!(b.shcsr, words[9]);
    assert_eq!(b.cfsr, words[10]);
    assert_eq!(b.hfsr, words[11]);
    assert_eq!(b.dfsr, words[12]);
    assert_eq!(b.mmfar, words[13]);
    assert_eq!(b.bfar, words[14]);
    assert_eq!(b.afsr, words[15]);
}

#[test]
fn scb_block_refuses_short_reads_and_ignores_extra_bytes() {
    assert!(ScbBlock::from_bytes(&[0; 63]).is_none());
    assert!(ScbBlock::from_bytes(&[]).is_none());
    assert!(ScbBlock::from_bytes(&[0; 80]).is_some());
}

#[test]
fn system_priorities_come_from_the_right_shpr_byte() {
    // SHPR1 = UsageFault 0x30, BusFault 0x20, MemManage 0x10; SHPR2 SVCall 0x80; SHPR3 SysTick 0xF0, PendSV 0xE0.
    let shpr = [0x0030_2010, 0x8000_0000, 0xF0E0_0000];
    assert_eq!(regs::system_priority(&shpr, 4), Some(0x10));
    assert_eq!(regs::system_priority(&shpr, 5), Some(0x20));
    assert_eq!(regs::system_priority(&shpr, 6), Some(0x30));
    assert_eq!(regs::system_priority(&shpr, 11), Some(0x80));
    assert_eq!(regs::system_priority(&shpr, 14), Some(0xE0));
    assert_eq!(regs::system_priority(&shpr, 15), Some(0xF0));
    assert_eq!(regs::system_priority(&shpr, 3), None);
    assert_eq!(regs::system_priority(&shpr, 16), None);
}

#[test]
fn cpuid_of_every_supported_core() {
    let cases = [
        (0x410C_C200, Core::M0, Profile::V6M),
        (0x410C_C601, Core::M0Plus, Profile::V6M),
        (0x412F_C231, Core::M3, Profile::V7M),
        (0x410F_C241, Core::M4, Profile::V7M),
        (0x411F_C272, Core::M7, Profile::V7M),
        (0x410C_D200, Core::M23, Profile::V8MBaseline),
        (0x410F_D213, Core::M33, Profile::V8MMainline),
        (0x410F_D220, Core::M55, Profile::V8MMainline),
    ];
    for (raw, core, profile) in cases {
        let id = CpuId::decode(raw);
        assert_eq!(id.core, core, "{raw:#x}");
        assert_eq!(id.profile, Some(profile), "{raw:#x}");
        assert_eq!(id.implementer, 0x41);
    }
}

#[test]
fn cpuid_fields_of_a_stm32f4_cortex_m4_r0p1() {
    let id = CpuId::decode(0x410F_C241);
    assert_eq!(
        (id.variant, id.revision, id.partno, id.architecture),
        (0, 1, 0xC24, 0xF)
    );
    assert_eq!(id.to_string(), "Cortex-M4 r0p1 (ARMv7-M)");
}

#[test]
fn unknown_part_falls_back_to_the_architecture_field() {
    let id = CpuId::decode(0x410F_C990);
    assert_eq!(id.core, Core::Unknown { partno: 0xC99 });
    assert_eq!(id.profile, Some(Profile::V7M));
    assert_eq!(CpuId::decode(0x410C_C990).profile, Some(Profile::V6M));
    assert_eq!(CpuId::decode(0).profile, None);
    // A non-ARM implementer is never mistaken for an ARM part.
    assert_eq!(
        CpuId::decode(0x510F_C240).core,
        Core::Unknown { partno: 0xC24 }
    );
}

#[test]
fn profile_capabilities() {
    use Profile::*;
    assert!(!V6M.has_fault_status_registers() && !V8MBaseline.has_fault_status_registers());
    assert!(V7M.has_fault_status_registers() && V8MMainline.has_fault_status_registers());
    assert!(!V6M.has_basepri_faultmask() && V7M.has_basepri_faultmask());
    assert!(!V6M.has_iabr() && V7M.has_iabr() && V8MBaseline.has_iabr());
    assert!(
        !V6M.may_have_fpu()
            && V7M.may_have_fpu()
            && !V8MBaseline.may_have_fpu()
            && V8MMainline.may_have_fpu()
    );
    assert!(!V7M.may_have_security_extension() && V8MBaseline.may_have_security_extension());
    assert!(V8MMainline.may_have_securefault() && !V8MBaseline.may_have_securefault());
    assert!(V8MBaseline.has_stack_limits() && !V7M.has_stack_limits());
    assert!(V6M.unaligned_always_faults() && !V7M.unaligned_always_faults());
    assert_eq!(V6M.max_external_interrupts(), 32);
    assert_eq!(V7M.max_external_interrupts(), 496);
    assert_eq!(V6M.to_string(), "ARMv6-M");
}

#[test]
fn fpu_presence_from_mvfr0() {
    assert_eq!(Fpu::from_mvfr0(0), Fpu::None);
    // Cortex-M4F (STM32F4 on QEMU): MVFR0 = 0x10110021.
    assert_eq!(Fpu::from_mvfr0(0x1011_0021), Fpu::SinglePrecision);
    // Cortex-M7 with double precision: MVFR0 = 0x10110221.
    assert_eq!(Fpu::from_mvfr0(0x1011_0221), Fpu::DoublePrecision);
}

#[test]
fn fpu_access_from_cpacr() {
    assert_eq!(FpAccess::from_cpacr(0), FpAccess::Denied);
    assert_eq!(FpAccess::from_cpacr(0x00F0_0000), FpAccess::Full);
    assert_eq!(FpAccess::from_cpacr(0x0050_0000), FpAccess::Privileged);
    assert_eq!(FpAccess::from_cpacr(0x0030_0000), FpAccess::Inconsistent);
    assert!(FpAccess::Full.is_enabled() && !FpAccess::Denied.is_enabled());
}

mod control_registers {
    use isrscope::model::control::{Ccr, Demcr, Dhcsr, Fpccr, MpuCtrl, Scr, mpu_regions};

    fn positions<I: Iterator<Item = u32>>(flags: I) -> Vec<u32> {
        flags.map(|b| b.trailing_zeros()).collect()
    }

    #[test]
    fn every_bit_position() {
        assert_eq!(
            positions(Ccr::all().iter().map(|f| f.bits())),
            [0, 1, 3, 4, 8, 9, 10, 16, 17, 18]
        );
        assert_eq!(positions(Scr::all().iter().map(|f| f.bits())), [1, 2, 3, 4]);
        assert_eq!(
            positions(Fpccr::all().iter().map(|f| f.bits())),
            [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 26, 27, 28, 29, 30, 31]
        );
        assert_eq!(
            positions(Dhcsr::all().iter().map(|f| f.bits())),
            [0, 1, 2, 3, 5, 16, 17, 18, 19, 24, 25]
        );
        assert_eq!(
            positions(Demcr::all().iter().map(|f| f.bits())),
            [0, 4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 18, 19, 24]
        );
        assert_eq!(
            positions(MpuCtrl::all().iter().map(|f| f.bits())),
            [0, 1, 2]
        );
    }

    #[test]
    fn qemu_values() {
        // netduinoplus2: CCR 0x200 (STKALIGN); with UNALIGN_TRP set by c-unaligned 0x208.
        assert_eq!(
            Ccr::from_bits_retain(0x208),
            Ccr::STKALIGN | Ccr::UNALIGN_TRP
        );
        // c-psp-fp at BusFault_Handler: FPCCR 0xC0000059.
        let f = Fpccr::from_bits_retain(0xC000_0059);
        assert!(f.contains(
            Fpccr::ASPEN
                | Fpccr::LSPEN
                | Fpccr::LSPACT
                | Fpccr::THREAD
                | Fpccr::HFRDY
                | Fpccr::BFRDY
        ));
        assert!(Dhcsr::from_bits_retain(0x0008_0000).contains(Dhcsr::S_LOCKUP));
        assert_eq!(Demcr::FAULT_CATCHES.iter().count(), 7);
        assert_eq!(mpu_regions(0x0000_0800), 8);
        assert_eq!(mpu_regions(0), 0);
    }
}

#[test]
fn qemu_cpuids_and_mvfr0() {
    // netduinoplus2, mps2-an385, mps2-an500, mps2-an505, microbit.
    assert_eq!(CpuId::decode(0x410f_c240).core, Core::M4);
    assert_eq!(CpuId::decode(0x410f_c231).core, Core::M3);
    let m7 = CpuId::decode(0x411f_c272);
    assert_eq!((m7.core, m7.variant, m7.revision), (Core::M7, 1, 2));
    assert_eq!(Fpu::from_mvfr0(0x1011_0221), Fpu::DoublePrecision);
    assert_eq!(
        CpuId::decode(0x410f_d213).profile,
        Some(Profile::V8MMainline)
    );
    assert_eq!(CpuId::decode(0x410c_c200).profile, Some(Profile::V6M));
    assert_eq!(Fpu::from_mvfr0(0), Fpu::None);
}
