//! The ARMv7-M debug view of QEMU's core.
//!
//! QEMU implements the core and the memory map but none of the debug registers: no
//! DHCSR, DCRSR/DCRDR, DEMCR, FPB, DWT comparators, ROM table or component IDs. They
//! are modelled here on top of the gdbstub: halting, stepping, register transfers,
//! resets and breakpoints become gdbstub requests; every other address is QEMU's
//! memory. The gdbstub is all-stop, so a memory access while the modelled core runs
//! pauses QEMU, does the access and resumes it, invisibly to the client.
//!
//! Approximations (docs/virtual-probe.md): vector catch is a breakpoint at each
//! caught handler's entry from the live vector table, so it also fires when that code
//! is reached another way (a handler shared with other vectors); DWT comparators are
//! stored but do not trigger; S_SLEEP is never set; S_RETIRE_ST is set whenever the core
//! was resumed since the last DHCSR read.

use std::collections::BTreeSet;
use std::time::Duration;

use isrscope::target::{BreakpointKind, CoreState, StopReason, Target, TargetError};

/// `ISRSCOPE_VPROBE_TRACE=1` logs the core's debug events (halts, runs, breakpoints,
/// resets) on stderr, and the BMP door's ADIv5 commands (what a client's round trips
/// go to).
pub(crate) fn trace(what: std::fmt::Arguments) {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *ON.get_or_init(|| std::env::var_os("ISRSCOPE_VPROBE_TRACE").is_some_and(|v| v == "1")) {
        eprintln!("vprobe: {what}");
    }
}

/// A failed memory access (the AP answers FAULT and sets STICKYERR).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusError(pub String);

pub const DHCSR: u32 = 0xE000_EDF0;
pub const DCRSR: u32 = 0xE000_EDF4;
pub const DCRDR: u32 = 0xE000_EDF8;
pub const DEMCR: u32 = 0xE000_EDFC;
pub const DFSR: u32 = 0xE000_ED30;
pub const AIRCR: u32 = 0xE000_ED0C;
pub const VTOR: u32 = 0xE000_ED08;
pub const FP_CTRL: u32 = 0xE000_2000;
pub const DWT_CTRL: u32 = 0xE000_1000;
pub const DBGMCU_IDCODE: u32 = 0xE004_2000;
pub const DBGMCU_CR: u32 = 0xE004_2004;
pub const ROM_TABLE: u32 = 0xE00F_F000;

const DBGKEY: u32 = 0xA05F << 16;
const C_DEBUGEN: u32 = 1 << 0;
const C_HALT: u32 = 1 << 1;
const C_STEP: u32 = 1 << 2;
const C_MASKINTS: u32 = 1 << 3;
const S_REGRDY: u32 = 1 << 16;
const S_HALT: u32 = 1 << 17;
const S_LOCKUP: u32 = 1 << 19;
const S_RETIRE_ST: u32 = 1 << 24;
const S_RESET_ST: u32 = 1 << 25;

const DFSR_HALTED: u32 = 1 << 0;
const DFSR_BKPT: u32 = 1 << 1;
const DFSR_VCATCH: u32 = 1 << 3;

const VC_CORERESET: u32 = 1 << 0;
/// DEMCR vector-catch bits and the exception each halts at.
const VECTOR_CATCH: [(u32, u32); 7] = [
    (1 << 4, 4),  // VC_MMERR: MemManage
    (1 << 5, 6),  // VC_NOCPERR: UsageFault
    (1 << 6, 6),  // VC_CHKERR: UsageFault
    (1 << 7, 6),  // VC_STATERR: UsageFault
    (1 << 8, 5),  // VC_BUSERR: BusFault
    (1 << 9, 3),  // VC_INTERR: HardFault (exception entry/return errors)
    (1 << 10, 3), // VC_HARDERR: HardFault
];

/// FPB: 6 instruction comparators, 2 literal ones, FPv1 (Cortex-M3/M4).
const FP_NUM_CODE: u32 = 6;
const FP_NUM_LIT: u32 = 2;
const FP_COMPARATORS: usize = (FP_NUM_CODE + FP_NUM_LIT) as usize;
/// DWT: 4 comparators, cycle counter present.
const DWT_NUMCOMP: u32 = 4;

/// CoreSight component identification (PIDR4..7, PIDR0..3, CIDR0..3 at 0xFD0..0xFFC).
struct Component {
    base: u32,
    /// PIDR0..PIDR4 (part number, designer, revision), as a Cortex-M4 has them.
    pidr: [u32; 5],
    /// CIDR1's class nibble: 0x1 ROM table, 0xE generic IP (the SCS, DWT, FPB, ITM).
    class: u32,
}

/// The Cortex-M4 r0p1's components, as its ROM table lists them.
const COMPONENTS: [Component; 5] = [
    Component { base: ROM_TABLE, pidr: [0xC4, 0xB4, 0x0B, 0x00, 0x04], class: 0x1 },
    Component { base: 0xE000_E000, pidr: [0x0C, 0xB0, 0x0B, 0x00, 0x04], class: 0xE },
    Component { base: 0xE000_1000, pidr: [0x02, 0xB0, 0x3B, 0x00, 0x04], class: 0xE },
    Component { base: 0xE000_2000, pidr: [0x03, 0xB0, 0x2B, 0x00, 0x04], class: 0xE },
    Component { base: 0xE000_0000, pidr: [0x01, 0xB0, 0x3B, 0x00, 0x04], class: 0xE },
];
/// ROM table entries (offset from the table, present, 32-bit format): SCS, DWT, FPB,
/// ITM, then the end marker.
const ROM_ENTRIES: [u32; 4] = [0xFFF0_F003, 0xFFF0_2003, 0xFFF0_3003, 0xFFF0_1003];

/// What a client left set (see [`Core::debug_state`]).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DebugState {
    pub running: bool,
    pub c_debugen: bool,
    pub demcr: u32,
    pub fpb_enabled: bool,
    pub fp_comparators_enabled: usize,
    /// BKPT instructions the client wrote into code and has not taken out.
    pub software_breakpoints: usize,
}

/// The core behind the debug port.
pub struct Core {
    target: Box<dyn Target + Send>,
    /// The core as the client sees it: running or halted.
    running: bool,
    /// DHCSR's control bits (C_DEBUGEN, C_HALT, C_STEP, C_MASKINTS).
    control: u32,
    /// DHCSR's sticky status bits (S_RETIRE_ST, S_RESET_ST) until read.
    sticky: u32,
    regrdy: bool,
    dcrdr: u32,
    demcr: u32,
    dfsr: u32,
    fp_ctrl_enable: bool,
    fp_comp: [u32; FP_COMPARATORS],
    fp_remap: u32,
    dwt: [u32; 4 * DWT_NUMCOMP as usize],
    dwt_ctrl: u32,
    dwt_cyccnt: u32,
    dbgmcu_cr: u32,
    /// Breakpoints set in QEMU for the FPB comparators and for vector catch.
    armed: BTreeSet<u32>,
    /// Addresses of the armed vector-catch breakpoints.
    catch_at: BTreeSet<u32>,
    /// BKPT instructions a client wrote into code (software breakpoints), by address,
    /// with the halfword they replaced. QEMU would turn an executed BKPT into a
    /// HardFault (it models no halting debug), so they stay out of QEMU's memory: reads
    /// see them, and QEMU breaks there instead, halting with DFSR.BKPT as silicon does
    /// with C_DEBUGEN set.
    soft_bkpts: std::collections::BTreeMap<u32, (u16, u16)>,
    /// The firmware's own BKPT instructions (semihosting's `BKPT 0xAB`, `bkpt` in a
    /// panic handler), from its ELF. Silicon halts on them while C_DEBUGEN is set
    /// (DFSR.BKPT) and raises a HardFault otherwise; QEMU always does the latter, so
    /// while C_DEBUGEN is set they are breakpoints in QEMU. Exact: QEMU stops only at
    /// an instruction's first byte, so a 0xBExx halfword that is data or the second
    /// half of a 32-bit instruction never stops the core.
    firmware_bkpts: BTreeSet<u32>,
    /// STM32F4's DBGMCU (IDCODE 0x10076413) answers; off for other machines.
    stm32: bool,
    /// The link to QEMU is gone (QEMU exited, e.g. on lockup).
    dead: Option<String>,
}

impl Core {
    /// `target` must be halted (QEMU starts halted); `running` says whether the
    /// modelled core should start running.
    pub fn new(target: Box<dyn Target + Send>, stm32: bool) -> Core {
        Core {
            target,
            running: false,
            control: 0,
            sticky: S_RESET_ST,
            regrdy: true,
            dcrdr: 0,
            demcr: 0,
            dfsr: 0,
            fp_ctrl_enable: false,
            fp_comp: [0; FP_COMPARATORS],
            fp_remap: 0,
            dwt: [0; 4 * DWT_NUMCOMP as usize],
            dwt_ctrl: DWT_NUMCOMP << 28,
            dwt_cyccnt: 0,
            dbgmcu_cr: 0,
            armed: BTreeSet::new(),
            catch_at: BTreeSet::new(),
            soft_bkpts: std::collections::BTreeMap::new(),
            firmware_bkpts: BTreeSet::new(),
            stm32,
            dead: None,
        }
    }

    /// Lets the modelled core run (used at start-up unless `--start-halted`).
    pub fn start(&mut self) -> Result<(), BusError> {
        self.resume_core(false)
    }

    /// The addresses of the firmware's BKPT instructions (every 0xBExx halfword of its
    /// code): they halt the core while a debugger has C_DEBUGEN set.
    pub fn set_firmware_bkpts(&mut self, sites: BTreeSet<u32>) {
        self.firmware_bkpts = sites;
    }

    /// Holds the core halted as a debugger that halted it at reset and left would
    /// (`--start-halted`): C_DEBUGEN and C_HALT set, DFSR.HALTED.
    pub fn hold_halted(&mut self) {
        self.control = C_DEBUGEN | C_HALT;
        self.dfsr |= DFSR_HALTED;
    }

    pub fn is_running(&self) -> bool {
        self.running
    }

    /// The debug state a client can leave behind, for the non-intrusiveness checks.
    pub fn debug_state(&mut self) -> DebugState {
        self.poll();
        DebugState {
            running: self.running,
            c_debugen: self.control & C_DEBUGEN != 0,
            demcr: self.demcr,
            fpb_enabled: self.fp_ctrl_enable,
            fp_comparators_enabled: self.fp_comp.iter().filter(|c| *c & 1 != 0).count(),
            software_breakpoints: self.soft_bkpts.len(),
        }
    }

    /// The client went away: take every breakpoint out, and leave the core running
    /// unless it was halted on purpose (a debugger's detach resumes too).
    pub fn disconnect(&mut self) {
        if self.dead.is_some() {
            return;
        }
        let _ = self.with_halted(|t| {
            for a in t.breakpoints() {
                t.clear_breakpoint(a)?;
            }
            Ok(())
        });
        self.armed.clear();
        self.catch_at.clear();
        // Software breakpoints a client forgot are not written back: the code in QEMU
        // never changed.
        self.soft_bkpts.clear();
    }

    pub fn target(&mut self) -> &mut dyn Target {
        self.target.as_mut()
    }

    fn fail(e: TargetError) -> BusError {
        BusError(e.to_string())
    }

    /// Runs `f` with QEMU halted, resuming it afterwards if the modelled core runs.
    fn with_halted<R>(&mut self, f: impl FnOnce(&mut dyn Target) -> Result<R, TargetError>) -> Result<R, BusError> {
        if let Some(why) = &self.dead {
            return Err(BusError(why.clone()));
        }
        if self.running {
            self.poll();
        }
        let pause = self.running;
        if pause {
            self.target.halt(Duration::from_secs(5)).map_err(Self::fail)?;
        }
        let r = f(self.target.as_mut());
        if pause {
            self.target.resume().map_err(Self::fail)?;
        }
        r.map_err(Self::fail)
    }

    /// While running: has the core stopped by itself (a breakpoint, vector catch, BKPT)?
    fn poll(&mut self) {
        if !self.running {
            return;
        }
        match self.target.state() {
            Ok(CoreState::Halted { reason }) => self.on_halt(&reason),
            Ok(CoreState::Exited { description }) => {
                self.running = false;
                self.dead = Some(description);
            }
            Ok(CoreState::LockedUp) => self.running = false,
            Ok(_) => {}
            Err(e) => self.dead = Some(e.to_string()),
        }
    }

    fn on_halt(&mut self, reason: &StopReason) {
        trace(format_args!("halted: {reason:?}"));
        self.running = false;
        self.dfsr |= match reason {
            StopReason::Breakpoint { pc } if self.catch_at.contains(pc) && !self.soft_bkpts.contains_key(pc) => DFSR_VCATCH,
            StopReason::Breakpoint { .. } => DFSR_BKPT,
            StopReason::Other { description } if description.contains("SIGTRAP") => DFSR_BKPT,
            _ => DFSR_HALTED,
        };
    }

    fn halt_core(&mut self) -> Result<(), BusError> {
        self.poll();
        if self.running {
            let reason = self.target.halt(Duration::from_secs(5)).map_err(Self::fail)?;
            trace(format_args!("halt requested: {reason:?}"));
            self.running = false;
            self.dfsr |= DFSR_HALTED;
        }
        Ok(())
    }

    /// Arms the FPB comparators and the vector catch as breakpoints, then runs (or
    /// steps one instruction).
    fn resume_core(&mut self, step: bool) -> Result<(), BusError> {
        if self.running {
            return Ok(());
        }
        self.arm()?;
        if step {
            let reason = self.target.step().map_err(Self::fail)?;
            self.sticky |= S_RETIRE_ST;
            self.on_halt(&reason);
            // A step is a halt for DFSR: HALTED, not the breakpoint it may land on.
            self.dfsr |= DFSR_HALTED;
            return Ok(());
        }
        trace(format_args!("run (breakpoints {:x?}, catch {:x?})", self.armed, self.catch_at));
        self.target.resume().map_err(Self::fail)?;
        self.running = true;
        self.sticky |= S_RETIRE_ST;
        Ok(())
    }

    /// The breakpoints QEMU must have: enabled FPB code comparators (FPv1: COMP[28:2]
    /// with REPLACE selecting the halfword) and the handlers DEMCR catches.
    fn arm(&mut self) -> Result<(), BusError> {
        let mut want = BTreeSet::new();
        if self.fp_ctrl_enable {
            for &c in &self.fp_comp[..FP_NUM_CODE as usize] {
                if c & 1 == 0 {
                    continue;
                }
                let base = c & 0x1FFF_FFFC;
                match c >> 30 {
                    1 => {
                        want.insert(base);
                    }
                    2 => {
                        want.insert(base + 2);
                    }
                    3 => {
                        want.insert(base);
                        want.insert(base + 2);
                    }
                    _ => {}
                }
            }
        }
        let mut catch = BTreeSet::new();
        let caught: Vec<u32> = VECTOR_CATCH.iter().filter(|(bit, _)| self.demcr & bit != 0).map(|(_, e)| *e).collect();
        if !caught.is_empty() {
            let t = self.target.as_mut();
            let mut w = [0u8; 4];
            t.read_memory(VTOR, &mut w).map_err(Self::fail)?;
            let vtor = u32::from_le_bytes(w);
            for e in caught {
                t.read_memory(vtor + 4 * e, &mut w).map_err(Self::fail)?;
                let handler = u32::from_le_bytes(w) & !1;
                if handler != 0 {
                    catch.insert(handler);
                }
            }
        }
        want.extend(catch.iter().copied());
        want.extend(self.soft_bkpts.keys().copied());
        if self.control & C_DEBUGEN != 0 {
            want.extend(self.firmware_bkpts.iter().copied());
        }
        let t = self.target.as_mut();
        for a in self.armed.difference(&want) {
            t.clear_breakpoint(*a).map_err(Self::fail)?;
        }
        for a in want.difference(&self.armed) {
            t.set_breakpoint(*a, BreakpointKind::Hardware).map_err(Self::fail)?;
        }
        self.armed = want;
        self.catch_at = catch;
        Ok(())
    }

    fn dhcsr(&mut self) -> u32 {
        self.poll();
        let mut v = self.control | self.sticky;
        if !self.running {
            v |= S_HALT;
        }
        if self.regrdy {
            v |= S_REGRDY;
        }
        if self.dead.as_deref().is_some_and(|d| d.to_lowercase().contains("lockup")) {
            v |= S_LOCKUP;
        }
        self.sticky = 0;
        v
    }

    fn write_dhcsr(&mut self, value: u32) -> Result<(), BusError> {
        if value & 0xFFFF_0000 != DBGKEY {
            return Ok(()); // writes without the key are ignored
        }
        let was = self.control;
        self.control = value & (C_DEBUGEN | C_HALT | C_STEP | C_MASKINTS);
        if (was ^ self.control) & C_DEBUGEN != 0 && !self.firmware_bkpts.is_empty() {
            // The firmware's BKPTs halt from now on (or no longer): re-arm a running core.
            self.poll();
            if self.running {
                self.target.halt(Duration::from_secs(5)).map_err(Self::fail)?;
                self.arm()?;
                self.target.resume().map_err(Self::fail)?;
            }
        }
        if self.control & C_DEBUGEN == 0 {
            // Debug disabled: a halted core runs on.
            self.control = 0;
            return self.resume_core(false);
        }
        if self.control & C_HALT != 0 {
            self.halt_core()
        } else if was & C_HALT != 0 || !self.running {
            self.resume_core(self.control & C_STEP != 0)
        } else {
            Ok(())
        }
    }

    /// DCRSR: a register transfer between DCRDR and the register `REGSEL` names.
    fn write_dcrsr(&mut self, value: u32) -> Result<(), BusError> {
        let sel = value & 0x7F;
        let write = value & (1 << 16) != 0;
        let Some(name) = register_name(sel) else {
            self.regrdy = true;
            return Ok(());
        };
        let dcrdr = self.dcrdr;
        let result = self.with_halted(|t| {
            if name == "packed" {
                let regs = t.read_register_set(&["control", "faultmask", "basepri", "primask"])?;
                let get = |n| regs.get(n).unwrap_or(0) & 0xFF;
                if write {
                    for (n, shift) in [("control", 24), ("faultmask", 16), ("basepri", 8), ("primask", 0)] {
                        if regs.get(n).is_some() {
                            t.write_register(n, (dcrdr >> shift) & 0xFF)?;
                        }
                    }
                    Ok(dcrdr)
                } else {
                    Ok(get("control") << 24 | get("faultmask") << 16 | get("basepri") << 8 | get("primask"))
                }
            } else if write {
                t.write_register(&name, dcrdr)?;
                Ok(dcrdr)
            } else {
                t.read_register(&name)
            }
        });
        self.regrdy = true;
        match result {
            Ok(v) => {
                self.dcrdr = v;
                Ok(())
            }
            // A register the core does not have (FP registers on an M3) reads as 0.
            Err(_) if !write => {
                self.dcrdr = 0;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn write_aircr(&mut self, value: u32) -> Result<(), BusError> {
        let key = value >> 16 == 0x05FA;
        if key && value & 0b101 != 0 {
            // SYSRESETREQ or VECTRESET: reset, halting at the reset vector with VC_CORERESET.
            let halt = self.demcr & VC_CORERESET != 0;
            self.halt_core()?;
            self.dfsr = 0;
            self.target.reset(true).map_err(Self::fail)?;
            self.sticky |= S_RESET_ST;
            self.armed.clear();
            self.catch_at.clear();
            if halt {
                self.dfsr |= DFSR_VCATCH;
                return Ok(());
            }
            return self.resume_core(false);
        }
        self.with_halted(|t| t.write_memory(AIRCR, &value.to_le_bytes()))
    }

    /// A modelled register's value, or `None` when `address` is QEMU's.
    fn read_model(&mut self, address: u32) -> Option<u32> {
        let a = address & !3;
        Some(match a {
            DHCSR => self.dhcsr(),
            DCRSR => 0,
            DCRDR => self.dcrdr,
            DEMCR => self.demcr,
            DFSR => self.dfsr,
            FP_CTRL => {
                // NUM_CODE[6:4] and [14:12], NUM_LIT[11:8], REV 0 (FPv1), KEY reads 0.
                (FP_NUM_CODE & 0xF) << 4 | (FP_NUM_CODE >> 4) << 12 | FP_NUM_LIT << 8 | u32::from(self.fp_ctrl_enable)
            }
            0xE000_2004 => self.fp_remap,
            0xE000_2008..=0xE000_2024 => self.fp_comp[((a - 0xE000_2008) / 4) as usize],
            DWT_CTRL => self.dwt_ctrl,
            0xE000_1004 => self.dwt_cyccnt,
            0xE000_1008..=0xE000_101C => 0,
            0xE000_1020..=0xE000_105C => self.dwt[((a - 0xE000_1020) / 4) as usize],
            0xE000_0000..=0xE000_0EFF => 0, // ITM stimulus, trace enable/privilege/control
            DBGMCU_IDCODE if self.stm32 => 0x1007_6413,
            DBGMCU_CR if self.stm32 => self.dbgmcu_cr,
            ROM_TABLE..=0xE00F_FFFF => rom_table(a),
            _ => return component_id(a),
        })
    }

    fn write_model(&mut self, address: u32, value: u32) -> Option<Result<(), BusError>> {
        let a = address & !3;
        if (0xE000_0000..0xE010_0000).contains(&a) {
            trace(format_args!("write {a:#010x} = {value:#010x}"));
        }
        Some(match a {
            DHCSR => self.write_dhcsr(value),
            DCRSR => self.write_dcrsr(value),
            DCRDR => {
                self.dcrdr = value;
                Ok(())
            }
            DEMCR => {
                self.demcr = value & 0x010F_07F1;
                trace(format_args!("DEMCR = {:#010x}", self.demcr));
                Ok(())
            }
            DFSR => {
                self.dfsr &= !value; // write one to clear
                Ok(())
            }
            AIRCR => self.write_aircr(value),
            FP_CTRL => {
                if value & 2 != 0 {
                    self.fp_ctrl_enable = value & 1 != 0; // KEY must be set
                }
                Ok(())
            }
            0xE000_2004 => {
                self.fp_remap = value & 0x1FFF_FFE0;
                Ok(())
            }
            0xE000_2008..=0xE000_2024 => {
                self.fp_comp[((a - 0xE000_2008) / 4) as usize] = value & 0xDFFF_FFFD;
                Ok(())
            }
            DWT_CTRL => {
                self.dwt_ctrl = DWT_NUMCOMP << 28 | (value & 0x0FFF_FFFF);
                Ok(())
            }
            0xE000_1004 => {
                self.dwt_cyccnt = value;
                Ok(())
            }
            0xE000_1008..=0xE000_101C => Ok(()),
            0xE000_1020..=0xE000_105C => {
                self.dwt[((a - 0xE000_1020) / 4) as usize] = value;
                Ok(())
            }
            0xE000_0000..=0xE000_0EFF => Ok(()),
            DBGMCU_IDCODE if self.stm32 => Ok(()),
            DBGMCU_CR if self.stm32 => {
                self.dbgmcu_cr = value & 0x0000_00E7;
                Ok(())
            }
            ROM_TABLE..=0xE00F_FFFF => Ok(()),
            _ if component_id(a).is_some() => Ok(()),
            _ => return None,
        })
    }

    /// Reads `len` (1, 2 or 4) bytes at `address` as the bus would.
    pub fn read(&mut self, address: u32, len: usize) -> Result<u32, BusError> {
        if let Some(word) = self.read_model(address) {
            let shift = 8 * (address & 3);
            return Ok((word >> shift) & mask(len));
        }
        let mut b = [0u8; 4];
        self.with_halted(|t| t.read_memory(address, &mut b[..len]))?;
        self.overlay(address, &mut b[..len]);
        Ok(u32::from_le_bytes(b))
    }

    /// Shows the client's BKPT instructions in bytes read from `address`.
    fn overlay(&self, address: u32, bytes: &mut [u8]) {
        let end = address.saturating_add(bytes.len() as u32);
        for (&at, &(bkpt, _)) in self.soft_bkpts.range(address.saturating_sub(1)..end) {
            for (i, b) in bkpt.to_le_bytes().iter().enumerate() {
                let a = at + i as u32;
                if a >= address && a < end {
                    bytes[(a - address) as usize] = *b;
                }
            }
        }
    }

    /// A write of BKPT halfwords into code, or of something else over one: keeps the
    /// software breakpoints out of QEMU's memory. True when the write was taken here.
    fn software_breakpoint(&mut self, address: u32, value: u32, len: usize) -> Result<bool, BusError> {
        if address & 1 != 0 || len == 1 || !self.is_code(address) {
            return Ok(false);
        }
        let halves: Vec<(u32, u16)> = (0..len as u32 / 2).map(|i| (address + 2 * i, (value >> (16 * i)) as u16)).collect();
        let touches = halves.iter().any(|(a, h)| h & 0xFF00 == 0xBE00 || self.soft_bkpts.contains_key(a));
        if !touches {
            return Ok(false);
        }
        for (a, h) in halves {
            if h & 0xFF00 == 0xBE00 {
                if !self.soft_bkpts.contains_key(&a) {
                    let mut b = [0u8; 2];
                    self.with_halted(|t| t.read_memory(a, &mut b))?;
                    self.soft_bkpts.insert(a, (h, u16::from_le_bytes(b)));
                } else if let Some(e) = self.soft_bkpts.get_mut(&a) {
                    e.0 = h;
                }
            } else if let Some((_, original)) = self.soft_bkpts.remove(&a) {
                if h != original {
                    self.with_halted(|t| t.write_memory(a, &h.to_le_bytes()))?;
                }
            } else {
                self.with_halted(|t| t.write_memory(a, &h.to_le_bytes()))?;
            }
        }
        trace(format_args!("software breakpoints {:x?}", self.soft_bkpts.keys()));
        Ok(true)
    }

    /// Code memory: below the peripheral region (flash, SRAM, code aliases).
    fn is_code(&self, address: u32) -> bool {
        address < 0x4000_0000
    }

    /// Writes the low `len` (1, 2 or 4) bytes of `value` at `address`.
    pub fn write(&mut self, address: u32, value: u32, len: usize) -> Result<(), BusError> {
        // Modelled registers take word writes; narrower writes merge into the word.
        let word = if len == 4 {
            value
        } else {
            let shift = 8 * (address & 3);
            let old = self.read_model_quiet(address & !3);
            (old & !(mask(len) << shift)) | ((value & mask(len)) << shift)
        };
        if let Some(r) = self.write_model(address, word) {
            return r;
        }
        trace(format_args!("memory write {address:#010x} = {value:#x} ({len} bytes)"));
        if self.software_breakpoint(address, value, len)? {
            return Ok(());
        }
        let bytes = value.to_le_bytes();
        self.with_halted(|t| t.write_memory(address, &bytes[..len]))
    }

    /// A modelled register's value without read side effects (DHCSR's sticky bits).
    fn read_model_quiet(&mut self, address: u32) -> u32 {
        if address == DHCSR {
            return self.control;
        }
        self.read_model(address).unwrap_or(0)
    }

    /// Reads a block of QEMU memory (or modelled registers, word by word).
    pub fn read_block(&mut self, address: u32, buf: &mut [u8]) -> Result<(), BusError> {
        if (0xE000_0000..0xE010_0000).contains(&address) || address.saturating_add(buf.len() as u32) > 0xE000_0000 {
            for (i, chunk) in buf.chunks_mut(4).enumerate() {
                let v = self.read(address + 4 * i as u32, chunk.len().min(4))?;
                chunk.copy_from_slice(&v.to_le_bytes()[..chunk.len()]);
            }
            return Ok(());
        }
        self.with_halted(|t| t.read_memory(address, buf))?;
        self.overlay(address, buf);
        Ok(())
    }
}

fn mask(len: usize) -> u32 {
    if len >= 4 { u32::MAX } else { (1u32 << (8 * len)) - 1 }
}

/// DCRSR.REGSEL -> isrscope's register name ("packed" for CONTROL/FAULTMASK/BASEPRI/PRIMASK).
fn register_name(sel: u32) -> Option<String> {
    Some(match sel {
        0..=12 => format!("r{sel}"),
        13 => "sp".into(),
        14 => "lr".into(),
        15 => "pc".into(),
        16 => "xpsr".into(),
        17 => "msp".into(),
        18 => "psp".into(),
        20 => "packed".into(),
        33 => "fpscr".into(),
        64..=95 => format!("s{}", sel - 64),
        _ => return None,
    })
}

fn rom_table(a: u32) -> u32 {
    let off = a - ROM_TABLE;
    match off {
        0x000..=0x00C => ROM_ENTRIES[(off / 4) as usize],
        0x010 => 0, // end of the table
        0xFCC => 1, // MEMTYPE: system memory present
        _ => component_id(a).unwrap_or(0),
    }
}

/// PIDR/CIDR registers (0xFD0..0xFFC) of the modelled components.
fn component_id(a: u32) -> Option<u32> {
    let c = COMPONENTS.iter().find(|c| a & !0xFFF == c.base)?;
    let off = a & 0xFFF;
    Some(match off {
        0xFD0 => c.pidr[4],
        0xFD4..=0xFDC => 0,
        0xFE0..=0xFEC => c.pidr[((off - 0xFE0) / 4) as usize],
        0xFF0 => 0x0D,
        0xFF4 => c.class << 4,
        0xFF8 => 0x05,
        0xFFC => 0xB1,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rom_table_lists_the_cortex_m4_components() {
        let entries: Vec<u32> = (0..5).map(|i| rom_table(ROM_TABLE + 4 * i)).collect();
        assert_eq!(entries, vec![0xFFF0_F003, 0xFFF0_2003, 0xFFF0_3003, 0xFFF0_1003, 0]);
        // Each entry points at a component with the CoreSight preamble and its class.
        for e in &entries[..4] {
            let base = ROM_TABLE.wrapping_add(e & !0xFFF);
            let cidr: Vec<u32> = (0..4).map(|i| component_id(base + 0xFF0 + 4 * i).unwrap()).collect();
            assert_eq!((cidr[0], cidr[2], cidr[3]), (0x0D, 0x05, 0xB1));
            assert_eq!(cidr[1], 0xE0, "generic IP class at {base:#x}");
        }
        // The SCS: ARM (JEP106 0x3B, continuation 4), part 0x00C: what pyOCD looks for.
        let pidr = |o: u32| component_id(0xE000_E000 + o).unwrap();
        assert_eq!(pidr(0xFE0) | (pidr(0xFE4) & 0xF) << 8, 0x00C);
        assert_eq!((pidr(0xFE4) >> 4) | (pidr(0xFE8) & 7) << 4, 0x3B);
        assert_eq!(pidr(0xFD0) & 0xF, 4);
        assert_eq!(component_id(ROM_TABLE + 0xFF4), Some(0x10), "the ROM table is class 1");
    }

    #[test]
    fn register_selectors_name_every_register() {
        assert_eq!(register_name(15).as_deref(), Some("pc"));
        assert_eq!(register_name(20).as_deref(), Some("packed"));
        assert_eq!(register_name(64 + 31).as_deref(), Some("s31"));
        assert_eq!(register_name(19), None);
    }
}
