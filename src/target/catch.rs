//! Fault catching that works on any backend.
//!
//! Hardware vector catch (DEMCR) halts the core on fault entry, but QEMU has no DEMCR
//! and not every server exposes it. So the portable way is used unless the backend
//! says it has vector catch: read VTOR and the vector table from the target, and put a
//! breakpoint at the exact entry address of each fault handler (Thumb bit cleared), so
//! the core stops before the handler's first instruction, with the exception frame
//! untouched. (gdb's `break FUNC` stops after the prologue, too late.)

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::model::arch::{CpuId, Profile};
use crate::model::regs::scb;
use crate::target::{BreakpointKind, CatchKind, Result, StopReason, Target, TargetError, reg};

/// How [`arm`] should catch.
#[derive(Clone, Debug)]
pub struct CatchOptions<'a> {
    /// The firmware's vector table words (index 0 = initial SP) from the ELF, to
    /// cross-check what the target holds at VTOR.
    pub elf_vectors: Option<&'a [u32]>,
    /// The architecture profile, when known; otherwise read from CPUID.
    pub profile: Option<Profile>,
    /// Breakpoint kind for the handler entries.
    pub breakpoint: BreakpointKind,
    /// Use hardware vector catch when the backend has it (default).
    pub vector_catch: bool,
}

impl Default for CatchOptions<'_> {
    fn default() -> Self {
        Self {
            elf_vectors: None,
            profile: None,
            breakpoint: BreakpointKind::Software,
            vector_catch: true,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CatchMethod {
    /// Breakpoints at the handler entries.
    Breakpoints,
    /// The backend's hardware vector catch.
    VectorCatch,
}

/// One handler entry and the faults whose vectors point at it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FaultHandler {
    /// Entry address, Thumb bit cleared.
    pub entry: u32,
    pub faults: Vec<CatchKind>,
}

/// Which fault handler a stop is at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct CaughtFault {
    pub kind: CatchKind,
    /// The handler's entry address.
    pub handler: u32,
    /// The core reached the entry with EPSR.T clear (the vector lacks the Thumb bit):
    /// the handler does not run, an INVSTATE fault is taken first.
    pub invalid_state: bool,
}

/// What [`run_to_fault`] stopped at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FaultStop {
    pub stop: StopReason,
    /// The fault handler entered, if the stop is one.
    pub fault: Option<CaughtFault>,
    /// Handler entries passed on the way (reached in an invalid state).
    pub notes: Vec<String>,
}

/// An armed fault catch; [`FaultCatch::disarm`] undoes it.
#[derive(Clone, Debug, Serialize)]
pub struct FaultCatch {
    pub method: CatchMethod,
    pub profile: Profile,
    /// The vector table base the handlers were read from.
    pub vtor: u32,
    pub handlers: Vec<FaultHandler>,
    /// What a user should know: vectors that are 0 or lack the Thumb bit, a table
    /// that differs from the ELF's.
    pub warnings: Vec<String>,
    /// Breakpoints this catch added (others were there before and stay).
    #[serde(skip)]
    added: Vec<u32>,
}

/// The fault exceptions by vector number.
const FAULTS: [(usize, CatchKind); 5] = [
    (3, CatchKind::HardFault),
    (4, CatchKind::MemManage),
    (5, CatchKind::BusFault),
    (6, CatchKind::UsageFault),
    (7, CatchKind::SecureFault),
];

/// xPSR bit 24: EPSR.T, the Thumb state bit.
const EPSR_T: u32 = 1 << 24;

fn exists(kind: CatchKind, profile: Profile) -> bool {
    match kind {
        CatchKind::HardFault => true,
        CatchKind::MemManage | CatchKind::BusFault | CatchKind::UsageFault => {
            profile.has_configurable_faults()
        }
        CatchKind::SecureFault => profile.may_have_securefault(),
        CatchKind::CoreReset => false,
    }
}

fn vector_number(kind: CatchKind) -> Option<usize> {
    FAULTS.iter().find(|(_, k)| *k == kind).map(|(n, _)| *n)
}

fn word(bytes: &[u8], index: usize) -> u32 {
    u32::from_le_bytes(bytes[index * 4..index * 4 + 4].try_into().expect("4 bytes"))
}

/// Reads the vector table from the target and arms a catch for every fault handler
/// the profile has. The core must be halted.
pub fn arm(target: &mut dyn Target, options: &CatchOptions) -> Result<FaultCatch> {
    // CPUID, ICSR, VTOR: one read.
    let mut scb_head = [0u8; 12];
    target.read_memory(scb::CPUID, &mut scb_head)?;
    let profile = match options.profile {
        Some(p) => p,
        None => CpuId::decode(word(&scb_head, 0)).profile.ok_or_else(|| {
            TargetError::Other(format!(
                "CPUID {:#010x} names no known M-profile core; give the profile to catch faults",
                word(&scb_head, 0)
            ))
        })?,
    };
    let vtor = word(&scb_head, 2) & scb::VTOR_TBLOFF_MASK;
    let mut table = [0u8; 8 * 4];
    target.read_memory(vtor, &mut table)?;

    let mut warnings = Vec::new();
    let mut handlers: Vec<FaultHandler> = Vec::new();
    for (n, kind) in FAULTS.into_iter().filter(|(_, k)| exists(*k, profile)) {
        let vector = word(&table, n);
        if let Some(elf) = options.elf_vectors.and_then(|v| v.get(n))
            && *elf != vector
        {
            warnings.push(format!(
                "the vector table at {vtor:#010x} differs from the ELF's: {kind:?} is {vector:#010x} on the \
                 target, {elf:#010x} in the ELF (the target's is used)"
            ));
        }
        if vector == 0 {
            warnings.push(format!(
                "the {kind:?} vector is 0: that fault cannot be caught at its handler"
            ));
            continue;
        }
        if vector & 1 == 0 {
            warnings.push(format!(
                "the {kind:?} vector {vector:#010x} has the Thumb bit clear: taking it faults (INVSTATE) \
                 before the handler runs"
            ));
            continue;
        }
        let entry = vector & !1;
        match handlers.iter_mut().find(|h| h.entry == entry) {
            Some(h) => h.faults.push(kind),
            None => handlers.push(FaultHandler {
                entry,
                faults: vec![kind],
            }),
        }
    }

    let mut catch = FaultCatch {
        method: CatchMethod::Breakpoints,
        profile,
        vtor,
        handlers,
        warnings,
        added: Vec::new(),
    };
    if options.vector_catch && target.capabilities().vector_catch {
        let kinds: Vec<CatchKind> = FAULTS
            .iter()
            .map(|(_, k)| *k)
            .filter(|k| exists(*k, profile))
            .collect();
        target.set_vector_catch(&kinds)?;
        catch.method = CatchMethod::VectorCatch;
        return Ok(catch);
    }
    if catch.handlers.is_empty() {
        return Err(TargetError::Other(format!(
            "no fault handler can be caught: the vector table at {vtor:#010x} has no valid fault vector ({})",
            catch.warnings.join("; ")
        )));
    }
    let existing = target.breakpoints();
    for h in &catch.handlers {
        if !existing.contains(&h.entry) {
            if let Err(e) = target.set_breakpoint(h.entry, options.breakpoint) {
                let _ = catch.disarm(target);
                return Err(e);
            }
            catch.added.push(h.entry);
        }
    }
    Ok(catch)
}

impl FaultCatch {
    /// Removes what [`arm`] set: its breakpoints, or the vector catch.
    pub fn disarm(&mut self, target: &mut dyn Target) -> Result<()> {
        let mut first_error = None;
        for entry in std::mem::take(&mut self.added) {
            if let Err(e) = target.clear_breakpoint(entry) {
                first_error.get_or_insert(e);
            }
        }
        if self.method == CatchMethod::VectorCatch
            && let Err(e) = target.set_vector_catch(&[])
        {
            first_error.get_or_insert(e);
        }
        first_error.map_or(Ok(()), Err)
    }

    /// The handler entered at `pc` (a stop there means its fault was taken), with the
    /// faults that share it.
    pub fn handler_at(&self, pc: u32) -> Option<&FaultHandler> {
        self.handlers.iter().find(|h| h.entry == pc & !1)
    }

    /// Which fault was entered, from the stop PC and xPSR: the handler at `pc`; when
    /// several faults share it, IPSR (the active exception number) tells them apart.
    pub fn fault_entered(&self, pc: u32, xpsr: u32) -> Option<CaughtFault> {
        let ipsr = (xpsr & 0x1FF) as usize;
        let invalid_state = xpsr & EPSR_T == 0;
        let by_ipsr = FAULTS.iter().find(|(n, _)| *n == ipsr).map(|(_, k)| *k);
        match self.handler_at(pc) {
            Some(h) => {
                let kind = match by_ipsr {
                    Some(k) if h.faults.contains(&k) => k,
                    _ => h.faults[0],
                };
                Some(CaughtFault {
                    kind,
                    handler: h.entry,
                    invalid_state,
                })
            }
            // Vector catch halts on entry to a handler that may not be in the table we
            // read (a VTOR change since): trust IPSR.
            None if self.method == CatchMethod::VectorCatch => by_ipsr.map(|kind| CaughtFault {
                kind,
                handler: pc & !1,
                invalid_state,
            }),
            None => None,
        }
    }

    /// Reads PC and xPSR from the halted target and tells which fault `stop` caught,
    /// `None` if the stop was something else.
    pub fn classify(
        &self,
        target: &mut dyn Target,
        stop: &StopReason,
    ) -> Result<Option<CaughtFault>> {
        match stop {
            StopReason::Breakpoint { .. } | StopReason::VectorCatch => {}
            _ => return Ok(None),
        }
        let regs = target.read_register_set(&[reg::PC, reg::XPSR])?;
        let pc = regs
            .get(reg::PC)
            .ok_or_else(|| TargetError::NoSuchRegister(reg::PC.into()))?;
        let xpsr = regs
            .get(reg::XPSR)
            .ok_or_else(|| TargetError::NoSuchRegister(reg::XPSR.into()))?;
        Ok(self.fault_entered(pc, xpsr))
    }

    /// The entry address of the handler for `kind`, if armed.
    pub fn entry_of(&self, kind: CatchKind) -> Option<u32> {
        vector_number(kind)?;
        self.handlers
            .iter()
            .find(|h| h.faults.contains(&kind))
            .map(|h| h.entry)
    }
}

/// Resumes the halted core and waits, at most `timeout` in all, until it enters a fault
/// handler the catch is armed for, or stops for another reason. A handler address
/// reached in an invalid state (vector without the Thumb bit) is noted and passed:
/// the fault it raises is the one to stop at. `Ok(None)`: still running at the end.
pub fn run_to_fault(
    target: &mut dyn Target,
    catch: &FaultCatch,
    timeout: Duration,
) -> Result<Option<FaultStop>> {
    let deadline = Instant::now() + timeout;
    let mut notes = Vec::new();
    let mut checked = false;
    loop {
        resume(target, checked)?;
        let Some(stop) =
            target.wait_for_stop(deadline.saturating_duration_since(Instant::now()))?
        else {
            return Ok(None);
        };
        // From here the core sits at a stop of its own: resuming must step over a
        // breakpoint there (a handler entered with EPSR.T = 0 stops on it again).
        checked = true;
        if catch.entered_in_thread_mode(target, &stop)? {
            continue;
        }
        let fault = catch.classify(target, &stop)?;
        match fault {
            Some(f) if f.invalid_state => notes.push(format!(
                "the core branched to the {:?} handler at {:#010x} with the Thumb bit clear (its vector \
                 lacks bit 0): an INVSTATE fault follows",
                f.kind, f.handler
            )),
            _ => return Ok(Some(FaultStop { stop, fault, notes })),
        }
    }
}

/// The first resume of a catch does not look for a breakpoint at the PC (over a GDB
/// server that is a request): a stop at once at a handler's entry in thread mode is
/// recognised afterwards ([`FaultCatch::entered_in_thread_mode`]) and stepped over.
pub fn resume(target: &mut dyn Target, checked: bool) -> Result<()> {
    if checked {
        target.resume()
    } else {
        target.resume_unchecked()
    }
}

impl FaultCatch {
    /// A breakpoint stop at a handler's entry with IPSR 0: no exception was taken (the
    /// core was there already when it resumed, or the firmware calls the handler as a
    /// function). Not a fault: resume (stepping over it) and wait on.
    pub fn entered_in_thread_mode(&self, target: &mut dyn Target, stop: &StopReason) -> Result<bool> {
        let StopReason::Breakpoint { pc } = stop else {
            return Ok(false);
        };
        if self.method != CatchMethod::Breakpoints || self.handler_at(*pc).is_none() {
            return Ok(false);
        }
        // PC and xPSR together: one `g` over a GDB server, which the report reuses.
        let regs = target.read_register_set(&[reg::PC, reg::XPSR])?;
        Ok(regs.get(reg::XPSR).is_some_and(|x| x & 0x1FF == 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catch(handlers: Vec<FaultHandler>, method: CatchMethod) -> FaultCatch {
        FaultCatch {
            method,
            profile: Profile::V7M,
            vtor: 0,
            handlers,
            warnings: vec![],
            added: vec![],
        }
    }

    #[test]
    fn shared_handlers_are_told_apart_by_ipsr() {
        let c = catch(
            vec![FaultHandler {
                entry: 0x100,
                faults: vec![CatchKind::HardFault, CatchKind::BusFault],
            }],
            CatchMethod::Breakpoints,
        );
        assert_eq!(
            c.fault_entered(0x100, 0x6100_0005).unwrap().kind,
            CatchKind::BusFault
        );
        assert!(!c.fault_entered(0x100, 0x6100_0005).unwrap().invalid_state);
        assert!(
            c.fault_entered(0x100, 0x6000_0005).unwrap().invalid_state,
            "EPSR.T clear"
        );
        assert_eq!(
            c.fault_entered(0x101, 0x6100_0003).unwrap().kind,
            CatchKind::HardFault
        );
        // IPSR of an exception not sharing it: the first listed.
        assert_eq!(
            c.fault_entered(0x100, 0x0000_000F).unwrap().kind,
            CatchKind::HardFault
        );
        assert!(c.fault_entered(0x200, 3).is_none());
    }

    #[test]
    fn vector_catch_trusts_ipsr_outside_the_table() {
        let c = catch(vec![], CatchMethod::VectorCatch);
        assert_eq!(
            c.fault_entered(0x400, 6).unwrap().kind,
            CatchKind::UsageFault
        );
        assert!(c.fault_entered(0x400, 0).is_none());
    }

    #[test]
    fn profiles_decide_which_faults_exist() {
        assert!(!exists(CatchKind::BusFault, Profile::V6M));
        assert!(exists(CatchKind::BusFault, Profile::V7M));
        assert!(!exists(CatchKind::SecureFault, Profile::V7M));
        assert!(exists(CatchKind::SecureFault, Profile::V8MMainline));
    }
}
