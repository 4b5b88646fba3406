//! The Cortex-M system register map, written down once for every layer.
//!
//! Addresses come from the ARMv6-M, ARMv7-M and ARMv8-M Architecture Reference
//! Manuals (System Control Space at 0xE000E000). Field masks live next to the
//! register they belong to. [`ScbBlock`] lets a caller fetch the whole SCB fault
//! block (0xE000ED00..=0xE000ED3F) in one memory read and decode it here.

use serde::Serialize;

/// Auxiliary control and interrupt controller type registers.
pub mod scs {
    /// Interrupt Controller Type Register: INTLINESNUM in `[3:0]`.
    pub const ICTR: u32 = 0xE000_E004;
    /// Auxiliary Control Register (implementation defined).
    pub const ACTLR: u32 = 0xE000_E008;
    /// ICTR.INTLINESNUM: implemented IRQ lines are at most 32 * (INTLINESNUM + 1).
    pub const ICTR_INTLINESNUM_MASK: u32 = 0xF;
    /// ACTLR.DISMCYCINT (Cortex-M3/M4).
    pub const ACTLR_DISMCYCINT: u32 = 1 << 0;
    /// ACTLR.DISDEFWBUF (Cortex-M3/M4): disables the write buffer so imprecise BusFaults become precise.
    pub const ACTLR_DISDEFWBUF: u32 = 1 << 1;
    /// ACTLR.DISFOLD (Cortex-M3/M4).
    pub const ACTLR_DISFOLD: u32 = 1 << 2;
}

/// System Control Block.
pub mod scb {
    /// CPU ID Base Register.
    pub const CPUID: u32 = 0xE000_ED00;
    /// Interrupt Control and State Register.
    pub const ICSR: u32 = 0xE000_ED04;
    /// Vector Table Offset Register.
    pub const VTOR: u32 = 0xE000_ED08;
    /// Application Interrupt and Reset Control Register.
    pub const AIRCR: u32 = 0xE000_ED0C;
    /// System Control Register.
    pub const SCR: u32 = 0xE000_ED10;
    /// Configuration and Control Register.
    pub const CCR: u32 = 0xE000_ED14;
    /// System Handler Priority Register 1 (MemManage, BusFault, UsageFault, SecureFault).
    pub const SHPR1: u32 = 0xE000_ED18;
    /// System Handler Priority Register 2 (SVCall).
    pub const SHPR2: u32 = 0xE000_ED1C;
    /// System Handler Priority Register 3 (DebugMonitor, PendSV, SysTick).
    pub const SHPR3: u32 = 0xE000_ED20;
    /// System Handler Control and State Register.
    pub const SHCSR: u32 = 0xE000_ED24;
    /// Configurable Fault Status Register (MMFSR, BFSR, UFSR).
    pub const CFSR: u32 = 0xE000_ED28;
    /// MemManage Fault Status Register: byte 0 of CFSR.
    pub const MMFSR: u32 = 0xE000_ED28;
    /// BusFault Status Register: byte 1 of CFSR.
    pub const BFSR: u32 = 0xE000_ED29;
    /// UsageFault Status Register: halfword at CFSR + 2.
    pub const UFSR: u32 = 0xE000_ED2A;
    /// HardFault Status Register.
    pub const HFSR: u32 = 0xE000_ED2C;
    /// Debug Fault Status Register.
    pub const DFSR: u32 = 0xE000_ED30;
    /// MemManage Fault Address Register.
    pub const MMFAR: u32 = 0xE000_ED34;
    /// BusFault Address Register.
    pub const BFAR: u32 = 0xE000_ED38;
    /// Auxiliary Fault Status Register (implementation defined).
    pub const AFSR: u32 = 0xE000_ED3C;
    /// Coprocessor Access Control Register.
    pub const CPACR: u32 = 0xE000_ED88;
    /// SecureFault Status Register (ARMv8-M with the Security Extension).
    pub const SFSR: u32 = 0xE000_EDE4;
    /// SecureFault Address Register (ARMv8-M with the Security Extension).
    pub const SFAR: u32 = 0xE000_EDE8;
    /// Auxiliary Bus Fault Status Register (Cortex-M7 only).
    pub const ABFSR: u32 = 0xE000_EFA8;

    /// ICSR fields.
    pub const ICSR_VECTACTIVE_MASK: u32 = 0x1FF;
    pub const ICSR_RETTOBASE: u32 = 1 << 11;
    pub const ICSR_VECTPENDING_SHIFT: u32 = 12;
    pub const ICSR_VECTPENDING_MASK: u32 = 0x1FF << 12;
    pub const ICSR_ISRPENDING: u32 = 1 << 22;
    pub const ICSR_ISRPREEMPT: u32 = 1 << 23;
    pub const ICSR_STTNS: u32 = 1 << 24;
    pub const ICSR_PENDSTCLR: u32 = 1 << 25;
    pub const ICSR_PENDSTSET: u32 = 1 << 26;
    pub const ICSR_PENDSVCLR: u32 = 1 << 27;
    pub const ICSR_PENDSVSET: u32 = 1 << 28;
    pub const ICSR_PENDNMICLR: u32 = 1 << 30;
    pub const ICSR_NMIPENDSET: u32 = 1 << 31;

    /// VTOR.TBLOFF: bits `[31:7]`.
    pub const VTOR_TBLOFF_MASK: u32 = 0xFFFF_FF80;

    /// AIRCR fields.
    pub const AIRCR_VECTRESET: u32 = 1 << 0;
    pub const AIRCR_VECTCLRACTIVE: u32 = 1 << 1;
    pub const AIRCR_SYSRESETREQ: u32 = 1 << 2;
    pub const AIRCR_SYSRESETREQS: u32 = 1 << 3;
    pub const AIRCR_PRIGROUP_SHIFT: u32 = 8;
    pub const AIRCR_PRIGROUP_MASK: u32 = 0x7 << 8;
    pub const AIRCR_BFHFNMINS: u32 = 1 << 13;
    pub const AIRCR_PRIS: u32 = 1 << 14;
    pub const AIRCR_ENDIANNESS: u32 = 1 << 15;
    /// Key that must be written to AIRCR`[31:16]`; reads return 0xFA05.
    pub const AIRCR_VECTKEY: u32 = 0x05FA << 16;

    /// SCR fields.
    pub const SCR_SLEEPONEXIT: u32 = 1 << 1;
    pub const SCR_SLEEPDEEP: u32 = 1 << 2;
    pub const SCR_SLEEPDEEPS: u32 = 1 << 3;
    pub const SCR_SEVONPEND: u32 = 1 << 4;

    /// CCR fields.
    pub const CCR_NONBASETHRDENA: u32 = 1 << 0;
    pub const CCR_USERSETMPEND: u32 = 1 << 1;
    pub const CCR_UNALIGN_TRP: u32 = 1 << 3;
    pub const CCR_DIV_0_TRP: u32 = 1 << 4;
    pub const CCR_BFHFNMIGN: u32 = 1 << 8;
    pub const CCR_STKALIGN: u32 = 1 << 9;
    pub const CCR_STKOFHFNMIGN: u32 = 1 << 10;
    pub const CCR_DC: u32 = 1 << 16;
    pub const CCR_IC: u32 = 1 << 17;
    pub const CCR_BP: u32 = 1 << 18;

    /// CPACR: CP10 and CP11 (the FPU) access fields, bits `[23:20]`.
    pub const CPACR_CP10_SHIFT: u32 = 20;
    pub const CPACR_CP11_SHIFT: u32 = 22;
    pub const CPACR_FP_MASK: u32 = 0xF << 20;
}

/// Floating-point extension registers.
pub mod fpu {
    /// Floating-point Context Control Register.
    pub const FPCCR: u32 = 0xE000_EF34;
    /// Floating-point Context Address Register: address of the S0 slot reserved by lazy stacking.
    pub const FPCAR: u32 = 0xE000_EF38;
    /// Floating-point Default Status Control Register.
    pub const FPDSCR: u32 = 0xE000_EF3C;
    /// Media and FP Feature Registers.
    pub const MVFR0: u32 = 0xE000_EF40;
    pub const MVFR1: u32 = 0xE000_EF44;
    pub const MVFR2: u32 = 0xE000_EF48;

    /// FPCCR fields.
    pub const FPCCR_LSPACT: u32 = 1 << 0;
    pub const FPCCR_USER: u32 = 1 << 1;
    pub const FPCCR_S: u32 = 1 << 2;
    pub const FPCCR_THREAD: u32 = 1 << 3;
    pub const FPCCR_HFRDY: u32 = 1 << 4;
    pub const FPCCR_MMRDY: u32 = 1 << 5;
    pub const FPCCR_BFRDY: u32 = 1 << 6;
    pub const FPCCR_SFRDY: u32 = 1 << 7;
    pub const FPCCR_MONRDY: u32 = 1 << 8;
    pub const FPCCR_SPLIMVIOL: u32 = 1 << 9;
    pub const FPCCR_UFRDY: u32 = 1 << 10;
    pub const FPCCR_TS: u32 = 1 << 26;
    pub const FPCCR_CLRONRETS: u32 = 1 << 27;
    pub const FPCCR_CLRONRET: u32 = 1 << 28;
    pub const FPCCR_LSPENS: u32 = 1 << 29;
    pub const FPCCR_LSPEN: u32 = 1 << 30;
    pub const FPCCR_ASPEN: u32 = 1 << 31;
    /// FPCAR.ADDRESS: bits `[31:3]`.
    pub const FPCAR_ADDRESS_MASK: u32 = 0xFFFF_FFF8;
    /// MVFR0 single- and double-precision fields.
    pub const MVFR0_SP_SHIFT: u32 = 4;
    pub const MVFR0_DP_SHIFT: u32 = 8;
}

/// Memory Protection Unit.
pub mod mpu {
    pub const TYPE: u32 = 0xE000_ED90;
    pub const CTRL: u32 = 0xE000_ED94;
    pub const RNR: u32 = 0xE000_ED98;
    pub const RBAR: u32 = 0xE000_ED9C;
    /// RASR on ARMv6-M/ARMv7-M; RLAR on ARMv8-M.
    pub const RASR: u32 = 0xE000_EDA0;
    pub const RLAR: u32 = 0xE000_EDA0;
    /// TYPE.DREGION: number of data regions, bits `[15:8]`.
    pub const TYPE_DREGION_SHIFT: u32 = 8;
    pub const TYPE_DREGION_MASK: u32 = 0xFF << 8;
    pub const CTRL_ENABLE: u32 = 1 << 0;
    pub const CTRL_HFNMIENA: u32 = 1 << 1;
    pub const CTRL_PRIVDEFENA: u32 = 1 << 2;
    pub const RASR_ENABLE: u32 = 1 << 0;
    pub const RASR_SIZE_SHIFT: u32 = 1;
    pub const RASR_SIZE_MASK: u32 = 0x1F << 1;
}

/// Debug Control Block.
pub mod dcb {
    /// Debug Halting Control and Status Register.
    pub const DHCSR: u32 = 0xE000_EDF0;
    /// Debug Core Register Selector Register.
    pub const DCRSR: u32 = 0xE000_EDF4;
    /// Debug Core Register Data Register.
    pub const DCRDR: u32 = 0xE000_EDF8;
    /// Debug Exception and Monitor Control Register.
    pub const DEMCR: u32 = 0xE000_EDFC;

    /// DHCSR fields.
    pub const DHCSR_C_DEBUGEN: u32 = 1 << 0;
    pub const DHCSR_C_HALT: u32 = 1 << 1;
    pub const DHCSR_C_STEP: u32 = 1 << 2;
    pub const DHCSR_C_MASKINTS: u32 = 1 << 3;
    pub const DHCSR_C_SNAPSTALL: u32 = 1 << 5;
    pub const DHCSR_S_REGRDY: u32 = 1 << 16;
    pub const DHCSR_S_HALT: u32 = 1 << 17;
    pub const DHCSR_S_SLEEP: u32 = 1 << 18;
    pub const DHCSR_S_LOCKUP: u32 = 1 << 19;
    pub const DHCSR_S_RETIRE_ST: u32 = 1 << 24;
    pub const DHCSR_S_RESET_ST: u32 = 1 << 25;
    /// Key that must be written to DHCSR`[31:16]`.
    pub const DHCSR_DBGKEY: u32 = 0xA05F << 16;

    /// DCRSR fields.
    pub const DCRSR_REGSEL_MASK: u32 = 0x7F;
    pub const DCRSR_REGWNR: u32 = 1 << 16;

    /// DEMCR vector catch and monitor bits.
    pub const DEMCR_VC_CORERESET: u32 = 1 << 0;
    pub const DEMCR_VC_MMERR: u32 = 1 << 4;
    pub const DEMCR_VC_NOCPERR: u32 = 1 << 5;
    pub const DEMCR_VC_CHKERR: u32 = 1 << 6;
    pub const DEMCR_VC_STATERR: u32 = 1 << 7;
    pub const DEMCR_VC_BUSERR: u32 = 1 << 8;
    pub const DEMCR_VC_INTERR: u32 = 1 << 9;
    pub const DEMCR_VC_HARDERR: u32 = 1 << 10;
    pub const DEMCR_VC_SFERR: u32 = 1 << 11;
    pub const DEMCR_MON_EN: u32 = 1 << 16;
    pub const DEMCR_MON_PEND: u32 = 1 << 17;
    pub const DEMCR_MON_STEP: u32 = 1 << 18;
    pub const DEMCR_MON_REQ: u32 = 1 << 19;
    pub const DEMCR_TRCENA: u32 = 1 << 24;
    /// Every vector catch bit that stops the core on a fault (all but VC_CORERESET).
    pub const DEMCR_VC_ALL_FAULTS: u32 = DEMCR_VC_MMERR
        | DEMCR_VC_NOCPERR
        | DEMCR_VC_CHKERR
        | DEMCR_VC_STATERR
        | DEMCR_VC_BUSERR
        | DEMCR_VC_INTERR
        | DEMCR_VC_HARDERR;
}

/// Nested Vectored Interrupt Controller. Each table is indexed by IRQ number:
/// word `n / 32`, bit `n % 32` (priority: byte `n`).
pub mod nvic {
    /// Interrupt Set-Enable Registers.
    pub const ISER: u32 = 0xE000_E100;
    /// Interrupt Clear-Enable Registers.
    pub const ICER: u32 = 0xE000_E180;
    /// Interrupt Set-Pending Registers.
    pub const ISPR: u32 = 0xE000_E200;
    /// Interrupt Clear-Pending Registers.
    pub const ICPR: u32 = 0xE000_E280;
    /// Interrupt Active Bit Registers (not on ARMv6-M).
    pub const IABR: u32 = 0xE000_E300;
    /// Interrupt Target Non-secure Registers (ARMv8-M with the Security Extension).
    pub const ITNS: u32 = 0xE000_E380;
    /// Interrupt Priority Registers, one byte per IRQ.
    pub const IPR: u32 = 0xE000_E400;
    /// Software Trigger Interrupt Register (not on ARMv6-M).
    pub const STIR: u32 = 0xE000_EF00;

    /// Address of the 32-bit word holding `irq`'s bit in a bit table such as [`ISER`].
    pub const fn bit_word(table: u32, irq: u16) -> u32 {
        table + 4 * (irq as u32 / 32)
    }

    /// Address of `irq`'s priority byte.
    pub const fn priority_byte(irq: u16) -> u32 {
        IPR + irq as u32
    }
}

/// First address of the SCB fault block that [`ScbBlock`] decodes.
pub const SCB_BLOCK_START: u32 = scb::CPUID;
/// Length in bytes of the SCB fault block (0xE000ED00..=0xE000ED3F).
pub const SCB_BLOCK_LEN: usize = 0x40;

/// The SCB registers from CPUID to AFSR, read in one contiguous request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ScbBlock {
    pub cpuid: u32,
    pub icsr: u32,
    pub vtor: u32,
    pub aircr: u32,
    pub scr: u32,
    pub ccr: u32,
    /// SHPR1, SHPR2, SHPR3.
    pub shpr: [u32; 3],
    pub shcsr: u32,
    pub cfsr: u32,
    pub hfsr: u32,
    pub dfsr: u32,
    pub mmfar: u32,
    pub bfar: u32,
    pub afsr: u32,
}

impl ScbBlock {
    /// Decodes the little-endian bytes read from [`SCB_BLOCK_START`]. Returns `None`
    /// when fewer than [`SCB_BLOCK_LEN`] bytes are given; extra bytes are ignored.
    pub fn from_bytes(bytes: &[u8]) -> Option<ScbBlock> {
        if bytes.len() < SCB_BLOCK_LEN {
            return None;
        }
        let w = |i: usize| word_le(bytes, i * 4).unwrap_or(0);
        Some(ScbBlock {
            cpuid: w(0),
            icsr: w(1),
            vtor: w(2),
            aircr: w(3),
            scr: w(4),
            ccr: w(5),
            shpr: [w(6), w(7), w(8)],
            shcsr: w(9),
            cfsr: w(10),
            hfsr: w(11),
            dfsr: w(12),
            mmfar: w(13),
            bfar: w(14),
            afsr: w(15),
        })
    }

    /// The priority byte of system exception `number` (4..=15) from SHPR1-3.
    pub fn system_priority(&self, number: u16) -> Option<u8> {
        system_priority(&self.shpr, number)
    }
}

/// The priority byte of system exception `number` (4..=15) given SHPR1-3.
pub fn system_priority(shpr: &[u32; 3], number: u16) -> Option<u8> {
    if !(4..=15).contains(&number) {
        return None;
    }
    let index = usize::from(number - 4);
    Some(shpr[index / 4].to_le_bytes()[index % 4])
}

/// Reads a little-endian word at byte `offset`; `None` past the end.
pub fn word_le(bytes: &[u8], offset: usize) -> Option<u32> {
    let end = offset.checked_add(4)?;
    let b = bytes.get(offset..end)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}
