//! Run control over RSP: breakpoints, stepping (with the step off a breakpoint under
//! the PC), stop replies turned into the trait's terms, and OpenOCD's vector catch.

use std::time::Instant;

use super::{GdbTarget, RunState, VCATCH, refused};
use crate::model::regs::scb;
use crate::target::gdb::packet::{console_output, error_code};
use crate::target::gdb::stop::StopReply;
use crate::target::{BreakpointKind, CatchKind, Result, StopReason, Target, TargetError, reg};

impl GdbTarget {
    pub(super) fn breakpoint_packet(
        &mut self,
        insert: bool,
        address: u32,
        kind: BreakpointKind,
    ) -> Result<()> {
        let (z, what) = match kind {
            BreakpointKind::Software => ('0', "software"),
            BreakpointKind::Hardware => ('1', "hardware"),
        };
        let op = if insert { 'Z' } else { 'z' };
        let doing = format!(
            "{} a {what} breakpoint at {address:#010x}",
            if insert { "setting" } else { "clearing" }
        );
        // Kind 2: a 16-bit Thumb breakpoint instruction, what GDB uses for M-profile.
        let reply = self.request(&format!("{op}{z},{address:x},2"), &doing)?;
        match reply.as_slice() {
            b"OK" => Ok(()),
            b"" => Err(TargetError::Unsupported(format!(
                "{what} breakpoints ({op}{z})"
            ))),
            r => match error_code(r) {
                Some(code) => Err(TargetError::Refused {
                    doing,
                    message: refused(&code, &[]),
                }),
                None => Err(self.malformed(&doing, r)),
            },
        }
    }

    /// Waits for a stop reply until `deadline`, collecting console output on the way.
    pub(super) fn wait_stop_reply(
        &mut self,
        deadline: Instant,
        doing: &str,
    ) -> Result<Option<StopReply>> {
        loop {
            let Some(reply) = self.conn.recv(deadline, doing)? else {
                return Ok(None);
            };
            if let Some(out) = console_output(&reply) {
                self.console.extend(out);
                continue;
            }
            if let Some(req) = super::fileio::Request::parse(&reply) {
                self.serve_file_io(&req, doing)?;
                continue;
            }
            return self.parse_stop(&reply, doing).map(Some);
        }
    }

    /// Turns a stop reply into the trait's terms and records the new state.
    pub(super) fn on_stop(
        &mut self,
        reply: StopReply,
        stepping: bool,
        interrupted: bool,
    ) -> Result<StopReason> {
        self.forget_state();
        let reason = match &reply {
            StopReply::Signal { signal: 5, .. } if stepping => StopReason::Step,
            StopReply::Signal { signal: 2, .. } if interrupted => StopReason::Requested,
            StopReply::Signal { signal, .. } => {
                self.state = RunState::Halted(StopReason::Requested);
                let pc = if *signal == 5 && (!self.breakpoints.is_empty() || self.caps.vector_catch)
                {
                    // One g rather than p: whoever stopped here wants the rest next.
                    self.read_g()?;
                    Some(self.read_register(reg::PC)?)
                } else {
                    None
                };
                match pc {
                    Some(pc) if self.breakpoints.contains_key(&pc) => StopReason::Breakpoint { pc },
                    Some(_)
                        if self.vector_catch_restore.is_some() && self.vector_catch_fired()? =>
                    {
                        StopReason::VectorCatch
                    }
                    _ => StopReason::Other {
                        description: reply.describe(),
                    },
                }
            }
            other => {
                let why = other.describe();
                self.state = RunState::Exited(why.clone());
                self.last_stop = Some(reply);
                return Ok(StopReason::Other { description: why });
            }
        };
        self.state = RunState::Halted(reason.clone());
        self.last_stop = Some(reply);
        Ok(reason)
    }

    pub(super) fn vector_catch_fired(&mut self) -> Result<bool> {
        let mut dfsr = [0u8; 4];
        self.read_memory(scb::DFSR, &mut dfsr)?;
        // DFSR.VCATCH tells a vector catch from a breakpoint on hardware.
        if u32::from_le_bytes(dfsr) & VCATCH != 0 {
            return Ok(true);
        }
        // OpenOCD clears DFSR when it sees the core halt, before gdb can read it. A core
        // halted at the first instruction of the handler of the fault it is in (IPSR)
        // was caught there: found through the virtual probe with OpenOCD 0.12.
        let ipsr = self.read_register(reg::XPSR)? & 0x1FF;
        if !(3..=7).contains(&ipsr) {
            return Ok(false);
        }
        let pc = self.read_register(reg::PC)?;
        let mut vtor = [0u8; 4];
        self.read_memory(scb::VTOR, &mut vtor)?;
        let mut vector = [0u8; 4];
        self.read_memory((u32::from_le_bytes(vtor) & scb::VTOR_TBLOFF_MASK) + 4 * ipsr, &mut vector)?;
        Ok(u32::from_le_bytes(vector) & !1 == pc & !1)
    }

    /// Sends the `z` of a breakpoint the caller cleared (see `lifted`).
    pub(super) fn put_down(&mut self, address: u32) -> Result<()> {
        if let Some(kind) = self.lifted.remove(&address) {
            self.breakpoint_packet(false, address, kind)?;
        }
        Ok(())
    }

    /// Sends every deferred `z`: the core is about to run.
    pub(super) fn put_down_all(&mut self) -> Result<()> {
        while let Some((&address, _)) = self.lifted.iter().next() {
            self.put_down(address)?;
        }
        Ok(())
    }

    /// `c`, the core halted and nothing left to do before it runs. `c` and `s`, not
    /// vCont: every server has them, and asking `vCont?` costs a request on every
    /// connection.
    pub(super) fn send_continue(&mut self) -> Result<()> {
        self.forget_state();
        self.conn.send(b"c", "resuming the core")?;
        self.conn.stats_round_trip();
        self.state = RunState::Running;
        Ok(())
    }

    /// One instruction, without the breakpoint dance.
    pub(super) fn raw_step(&mut self) -> Result<StopReason> {
        self.put_down_all()?;
        let doing = "single-stepping";
        self.forget_state();
        self.conn.send(b"s", doing)?;
        self.conn.stats_round_trip();
        self.state = RunState::Running;
        let deadline = Instant::now() + self.conn.timeout;
        if let Some(reply) = self.wait_stop_reply(deadline, doing)? {
            return self.on_stop(reply, true, false);
        }
        // A step over WFI (or WFE) with nothing pending never completes: the core sleeps.
        // Stop it as gdb does, with an interrupt, instead of giving up on the link.
        let doing = "single-stepping (the core did not come back: interrupting it, e.g. asleep in WFI)";
        self.conn.send_interrupt(doing)?;
        let deadline = Instant::now() + self.conn.timeout;
        match self.wait_stop_reply(deadline, doing)? {
            Some(reply) => self.on_stop(reply, false, true),
            None => Err(self.conn.fail(TargetError::Timeout {
                doing: doing.into(),
                timeout: self.conn.timeout,
            })),
        }
    }

    /// Runs `f` with the breakpoint at the current PC (if any) lifted for one step.
    pub(super) fn step_off_breakpoint(&mut self) -> Result<Option<StopReason>> {
        if self.breakpoints.is_empty() {
            return Ok(None);
        }
        let pc = self.read_register(reg::PC)?;
        let Some(&kind) = self.breakpoints.get(&pc) else {
            return Ok(None);
        };
        self.breakpoint_packet(false, pc, kind)?;
        let stepped = self.raw_step();
        self.breakpoint_packet(true, pc, kind)?;
        stepped.map(Some)
    }

    pub(super) fn restore_vector_catch(&mut self) -> Result<()> {
        if let Some(previous) = self.vector_catch_restore.take() {
            self.monitor(&format!("cortex_m vector_catch {previous}"))?;
        }
        Ok(())
    }
}

/// OpenOCD's `cortex_m vector_catch` words for one kind of fault.
pub(super) fn openocd_catch_words(kind: CatchKind) -> &'static [&'static str] {
    match kind {
        CatchKind::HardFault => &["hard_err"],
        CatchKind::MemManage => &["mm_err"],
        CatchKind::BusFault => &["bus_err"],
        CatchKind::UsageFault => &["state_err", "chk_err", "nocp_err"],
        CatchKind::SecureFault => &[],
        CatchKind::CoreReset => &["reset"],
    }
}

/// The words to give `cortex_m vector_catch` to restore what its listing shows
/// (lines such as `hard_err: catch` / `bus_err: ignore`).
pub(super) fn openocd_vector_catch_state(listing: &str) -> String {
    let caught: Vec<&str> = listing
        .lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(_, v)| v.trim() == "catch")
        .map(|(k, _)| k.trim())
        .collect();
    if caught.is_empty() {
        "none".into()
    } else {
        caught.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(super) fn openocd_vector_catch_listing_is_restored_as_words() {
        let listing = "bus_err: catch\nstate_err: ignore\nhard_err: catch\n";
        assert_eq!(openocd_vector_catch_state(listing), "bus_err hard_err");
        assert_eq!(openocd_vector_catch_state("reset: ignore\n"), "none");
    }
}
