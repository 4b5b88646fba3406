//! Stacked exception frames: the words the hardware pushes on exception entry.
//!
//! Layout, from the frame address (the SP after stacking) upward:
//! - ARMv8-M additional state context when EXC_RETURN.DCRS = 0 (0x28 bytes):
//!   integrity signature, reserved, R4-R11;
//! - the basic frame (0x20 bytes): R0, R1, R2, R3, R12, LR, PC (return address), xPSR;
//! - for an extended frame (FType = 0, 0x48 bytes more): S0-S15, FPSCR, reserved;
//! - ARMv8-M, secure context with FPCCR_S.TS = 1 (0x40 bytes more): S16-S31;
//! - 4 bytes of alignment padding when stacked xPSR bit 9 is set.
//!
//! Lazy FP stacking: while FPCCR.LSPACT = 1 and FPCAR points at this frame's S0
//! slot, the slots hold stale memory and the true values are still in the FPU.

use std::fmt;

use serde::Serialize;

use super::exc_return::ExcReturn;
use super::exception::ExceptionNumber;
use super::regs::{fpu, word_le};

/// Bytes in the basic frame.
pub const BASIC_FRAME_SIZE: u32 = 0x20;
/// Bytes in the extended frame (basic + S0-S15 + FPSCR + reserved).
pub const EXTENDED_FRAME_SIZE: u32 = 0x68;
/// Bytes of S16-S31, stacked after the extended frame for a secure context with FPCCR_S.TS = 1.
pub const FP_HIGH_SIZE: u32 = 0x40;
/// Bytes of the ARMv8-M additional state context.
pub const STATE_CONTEXT_SIZE: u32 = 0x28;
/// Integrity signature of the additional state context (bit 0 clear in
/// ARMv8.1-M when the frame is extended).
pub const INTEGRITY_SIGNATURE: u32 = 0xFEFA_125B;

/// Where the pieces of a frame are, relative to the frame address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FrameLayout {
    pub state_context: bool,
    pub extended: bool,
    /// S16-S31 follow the extended frame (ARMv8-M, secure stack, FPCCR_S.TS = 1).
    pub fp_high: bool,
}

impl FrameLayout {
    /// The layout when FPCCR is not known (TS taken as 0).
    pub fn for_exc_return(exc_return: &ExcReturn) -> FrameLayout {
        FrameLayout::new(exc_return, None)
    }

    /// The layout given the (secure) FPCCR, whose TS bit adds S16-S31 to secure FP frames.
    pub fn new(exc_return: &ExcReturn, fpccr: Option<u32>) -> FrameLayout {
        let extended = exc_return.extended_frame;
        let secure = exc_return.security.is_some_and(|s| s.secure_stack);
        let ts = fpccr.is_some_and(|f| f & fpu::FPCCR_TS != 0);
        FrameLayout {
            state_context: exc_return.has_state_context(),
            extended,
            fp_high: extended && secure && ts,
        }
    }

    /// Offset of stacked R0.
    pub fn basic_offset(&self) -> u32 {
        if self.state_context {
            STATE_CONTEXT_SIZE
        } else {
            0
        }
    }

    /// Offset of the S0 slot, for extended frames.
    pub fn s0_offset(&self) -> Option<u32> {
        self.extended
            .then(|| self.basic_offset() + BASIC_FRAME_SIZE)
    }

    /// Size without the alignment pad (which depends on the stacked xPSR).
    pub fn size(&self) -> u32 {
        let frame = if self.extended {
            EXTENDED_FRAME_SIZE
        } else {
            BASIC_FRAME_SIZE
        };
        let high = if self.fp_high { FP_HIGH_SIZE } else { 0 };
        self.basic_offset() + frame + high
    }
}

/// Frame size in bytes for this EXC_RETURN, without the alignment pad (FPCCR.TS
/// taken as 0; use [`FrameLayout::new`] on ARMv8-M secure FP frames).
pub fn frame_size(exc_return: &ExcReturn) -> u32 {
    FrameLayout::for_exc_return(exc_return).size()
}

/// How many bytes a caller must read at the frame address, in one request, to
/// decode the frame with [`StackedFrame::decode`]. The pad word need not be read.
pub fn bytes_to_read(exc_return: &ExcReturn) -> u32 {
    frame_size(exc_return)
}

/// [`bytes_to_read`] when FPCCR is known (needed on ARMv8-M with the Security Extension).
pub fn bytes_to_read_with_fpccr(exc_return: &ExcReturn, fpccr: u32) -> u32 {
    FrameLayout::new(exc_return, Some(fpccr)).size()
}

/// The FPU state that decides whether lazily stacked FP slots are stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LazyFpState {
    pub fpccr: u32,
    pub fpcar: u32,
    /// Live S0-S15 and FPSCR, if the caller read them.
    pub live: Option<FpRegisters>,
}

/// S0-S15 and FPSCR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FpRegisters {
    pub s: [u32; 16],
    pub fpscr: u32,
}

/// Where the FP values of the interrupted context were taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FpSource {
    /// The frame in memory (FP state was stacked).
    Stacked,
    /// The live FP registers: lazy stacking reserved the space but had not written it.
    Registers,
    /// Lazy stacking was pending but the live registers were not given: the values
    /// are the stale memory in the frame and must not be trusted.
    StaleMemory,
}

impl fmt::Display for FpSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FpSource::Stacked => "stacked",
            FpSource::Registers => "live registers (lazy stacking pending)",
            FpSource::StaleMemory => {
                "STALE memory (lazy stacking pending, live registers not read)"
            }
        })
    }
}

/// The interrupted context's S0-S15 and FPSCR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FpContext {
    pub source: FpSource,
    pub s: [u32; 16],
    pub fpscr: u32,
    /// S16-S31 when the frame holds them (ARMv8-M secure, FPCCR_S.TS = 1) and the
    /// values came from memory. Under pending lazy stacking they are still in the
    /// FPU: read S16-S31 live.
    pub s_high: Option<[u32; 16]>,
}

/// The ARMv8-M additional state context (EXC_RETURN.DCRS = 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StateContext {
    pub integrity_signature: u32,
    /// The signature is 0xFEFA125B, or 0xFEFA125A (ARMv8.1-M, extended frame).
    pub signature_valid: bool,
    /// R4..R11, in order.
    pub r4_r11: [u32; 8],
}

/// A decoded exception frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StackedFrame {
    /// The frame address: the SP after stacking.
    pub address: u32,
    pub r0: u32,
    pub r1: u32,
    pub r2: u32,
    pub r3: u32,
    pub r12: u32,
    pub lr: u32,
    /// The return address: the faulting instruction for a precise fault, the
    /// next instruction for an interrupt.
    pub pc: u32,
    pub xpsr: u32,
    pub extended: bool,
    /// xPSR bit 9: 4 bytes of alignment padding above the frame.
    pub padded: bool,
    pub fp: Option<FpContext>,
    pub state_context: Option<StateContext>,
    /// SP of the interrupted context: address + size (+ 4 if padded).
    pub interrupted_sp: u32,
}

impl StackedFrame {
    /// The exception that was running when this frame was pushed (0 = thread).
    pub fn interrupted_exception(&self) -> ExceptionNumber {
        ExceptionNumber::from_xpsr(self.xpsr)
    }

    /// The stacked EPSR.T bit; clear means the interrupted code was about to fault with INVSTATE.
    pub fn thumb_bit(&self) -> bool {
        self.xpsr & (1 << 24) != 0
    }

    /// R0-R15 of the interrupted context as far as the frame tells: R0-R3, R12,
    /// LR, PC, SP (= `interrupted_sp`), and R4-R11 when the v8-M state context holds them.
    pub fn interrupted_registers(&self) -> [Option<u32>; 16] {
        let mut r = [None; 16];
        for (i, v) in [self.r0, self.r1, self.r2, self.r3].into_iter().enumerate() {
            r[i] = Some(v);
        }
        if let Some(sc) = &self.state_context {
            for (i, v) in sc.r4_r11.into_iter().enumerate() {
                r[4 + i] = Some(v);
            }
        }
        r[12] = Some(self.r12);
        r[13] = Some(self.interrupted_sp);
        r[14] = Some(self.lr);
        r[15] = Some(self.pc);
        r
    }

    /// Total bytes of the frame including the pad.
    pub fn size(&self) -> u32 {
        self.interrupted_sp.wrapping_sub(self.address)
    }

    /// Decodes the little-endian `bytes` read at `address` (at least
    /// [`bytes_to_read`] bytes). `lazy_fp` is needed only for extended frames; its
    /// FPCCR also decides, on ARMv8-M, whether S16-S31 are in the frame.
    pub fn decode(
        address: u32,
        bytes: &[u8],
        exc_return: &ExcReturn,
        lazy_fp: Option<&LazyFpState>,
    ) -> Result<StackedFrame, FrameError> {
        let layout = FrameLayout::new(exc_return, lazy_fp.map(|l| l.fpccr));
        let size = layout.size();
        if address % 4 != 0 {
            return Err(FrameError::Misaligned { address });
        }
        if (bytes.len() as u64) < u64::from(size) {
            return Err(FrameError::TooShort {
                needed: size,
                got: bytes.len(),
            });
        }
        let w = |offset: u32| word_le(bytes, offset as usize).unwrap_or(0);
        let base = layout.basic_offset();
        let xpsr = w(base + 0x1C);
        let padded = xpsr & (1 << 9) != 0;
        let total = u64::from(size) + if padded { 4 } else { 0 };
        let end = u64::from(address) + total;
        let interrupted_sp = u32::try_from(end).map_err(|_| FrameError::AddressOverflow {
            address,
            size: total as u32,
        })?;

        let state_context = layout.state_context.then(|| {
            let signature = w(0);
            StateContext {
                integrity_signature: signature,
                signature_valid: signature | 1 == INTEGRITY_SIGNATURE,
                r4_r11: std::array::from_fn(|i| w(8 + 4 * i as u32)),
            }
        });
        let fp = layout.s0_offset().map(|s0| {
            let stacked = FpContext {
                source: FpSource::Stacked,
                s: std::array::from_fn(|i| w(s0 + 4 * i as u32)),
                fpscr: w(s0 + 0x40),
                s_high: layout
                    .fp_high
                    .then(|| std::array::from_fn(|i| w(s0 + 0x48 + 4 * i as u32))),
            };
            match lazy_fp {
                Some(lazy) if lazy_pending_for(lazy, address.wrapping_add(s0)) => match lazy.live {
                    Some(live) => FpContext {
                        source: FpSource::Registers,
                        s: live.s,
                        fpscr: live.fpscr,
                        s_high: None,
                    },
                    None => FpContext {
                        source: FpSource::StaleMemory,
                        ..stacked
                    },
                },
                _ => stacked,
            }
        });
        Ok(StackedFrame {
            address,
            r0: w(base),
            r1: w(base + 4),
            r2: w(base + 8),
            r3: w(base + 0xC),
            r12: w(base + 0x10),
            lr: w(base + 0x14),
            pc: w(base + 0x18),
            xpsr,
            extended: layout.extended,
            padded,
            fp,
            state_context,
            interrupted_sp,
        })
    }
}

/// Lazy stacking is pending for the frame whose S0 slot is at `s0_slot`.
pub fn lazy_pending_for(lazy: &LazyFpState, s0_slot: u32) -> bool {
    lazy.fpccr & fpu::FPCCR_LSPACT != 0 && lazy.fpcar & fpu::FPCAR_ADDRESS_MASK == s0_slot
}

impl fmt::Display for StackedFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "frame at {:#010x}: pc={:#010x} lr={:#010x} xpsr={:#010x} r0={:#010x} r1={:#010x} r2={:#010x} r3={:#010x} r12={:#010x}, interrupted sp={:#010x}",
            self.address,
            self.pc,
            self.lr,
            self.xpsr,
            self.r0,
            self.r1,
            self.r2,
            self.r3,
            self.r12,
            self.interrupted_sp
        )?;
        if self.padded {
            f.write_str(" (padded)")?;
        }
        if let Some(fp) = &self.fp {
            write!(f, ", FP context from {}", fp.source)?;
        }
        Ok(())
    }
}

/// Why a frame could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, thiserror::Error)]
pub enum FrameError {
    #[error("exception frame needs {needed} bytes, only {got} were read")]
    TooShort { needed: u32, got: usize },
    #[error("exception frame address {address:#010x} is not word aligned")]
    Misaligned { address: u32 },
    #[error(
        "exception frame at {address:#010x} of {size} bytes runs past the end of the address space"
    )]
    AddressOverflow { address: u32, size: u32 },
}
