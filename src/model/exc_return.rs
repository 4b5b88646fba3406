//! EXC_RETURN: the value in LR on handler entry, for ARMv6-M, v7-M and v8-M.
//!
//! It says where the exception frame is (MSP or PSP, and on v8-M the secure or
//! non-secure stack), whether it is an extended FP frame, what mode the core
//! returns to, and on v8-M whether the additional state context was stacked.

use std::fmt;

use serde::Serialize;

use super::arch::Profile;

/// The mode the exception returns to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Mode {
    Handler,
    Thread,
}

/// Which stack pointer holds the exception frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum StackPointer {
    Main,
    Process,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Handler => "handler",
            Mode::Thread => "thread",
        })
    }
}

impl fmt::Display for StackPointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StackPointer::Main => "MSP",
            StackPointer::Process => "PSP",
        })
    }
}

/// The ARMv8-M security bits of EXC_RETURN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SecurityBits {
    /// ES, bit 0: the exception was taken to the Secure state.
    pub secure_exception: bool,
    /// DCRS, bit 5: default callee register stacking. `false` means the additional
    /// state context (integrity signature, R4-R11) is on the stack below the frame.
    pub default_callee_stacking: bool,
    /// S, bit 6: the frame is on a Secure stack.
    pub secure_stack: bool,
}

/// A valid exception-return EXC_RETURN, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ExcReturn {
    pub value: u32,
    pub profile: Profile,
    pub mode: Mode,
    pub stack: StackPointer,
    /// FType = 0: the frame is an extended frame with S0-S15, FPSCR and a reserved word.
    pub extended_frame: bool,
    /// Present on ARMv8-M only.
    pub security: Option<SecurityBits>,
}

impl ExcReturn {
    /// The additional state context (v8-M, DCRS = 0) is stacked below the basic frame.
    pub fn has_state_context(&self) -> bool {
        self.security.is_some_and(|s| !s.default_callee_stacking)
    }

    /// Short register name of the stack holding the frame: "MSP", "PSP",
    /// and on v8-M "MSP_S", "PSP_NS", ...
    pub fn stack_name(&self) -> &'static str {
        match (self.stack, self.security.map(|s| s.secure_stack)) {
            (StackPointer::Main, None) => "MSP",
            (StackPointer::Process, None) => "PSP",
            (StackPointer::Main, Some(true)) => "MSP_S",
            (StackPointer::Main, Some(false)) => "MSP_NS",
            (StackPointer::Process, Some(true)) => "PSP_S",
            (StackPointer::Process, Some(false)) => "PSP_NS",
        }
    }
}

impl fmt::Display for ExcReturn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:#010x}: return to {} mode, frame on {}",
            self.value,
            self.mode,
            self.stack_name()
        )?;
        if self.extended_frame {
            f.write_str(", extended FP frame")?;
        }
        if let Some(s) = self.security {
            let es = if s.secure_exception {
                "secure"
            } else {
                "non-secure"
            };
            write!(f, ", {es} exception")?;
            if !s.default_callee_stacking {
                f.write_str(", additional state context stacked")?;
            }
        }
        Ok(())
    }
}

/// Why a value is not a usable EXC_RETURN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum InvalidReason {
    /// Bits `[31:24]` are not 0xFF: this is an ordinary address.
    NoPrefix,
    /// Reserved bits hold the wrong value (bits `[27:5]` on v6-M/v7-M, `[23:7]` and bit 1 on v8-M).
    ReservedBits,
    /// Return to handler mode with the process stack (Mode = 0, SPSEL = 1).
    HandlerWithProcessStack,
    /// An extended FP frame on a profile without an FPU (FType = 0).
    FpFrameWithoutFpu,
    /// A v6-M/v7-M value whose low nibble is not 0x1, 0x9 or 0xD.
    BadLowNibble,
    /// FNC_RETURN on a profile without the Security Extension.
    FncReturnNotV8M,
}

impl fmt::Display for InvalidReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InvalidReason::NoPrefix => "bits [31:24] are not 0xFF",
            InvalidReason::ReservedBits => "reserved bits have the wrong value",
            InvalidReason::HandlerWithProcessStack => {
                "returns to handler mode on the process stack, which is not allowed"
            }
            InvalidReason::FpFrameWithoutFpu => {
                "says extended FP frame (FType = 0) on a profile without an FPU"
            }
            InvalidReason::BadLowNibble => "bits [3:0] are not 0b0001, 0b1001 or 0b1101",
            InvalidReason::FncReturnNotV8M => "FNC_RETURN exists only on ARMv8-M",
        })
    }
}

/// What a value found in LR (or loaded into PC) means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ExcReturnKind {
    /// A valid exception return.
    Exception(ExcReturn),
    /// ARMv8-M FNC_RETURN (0xFEFFFFFE/0xFEFFFFFF): a return from a non-secure
    /// function called by secure code; the return address is on the secure stack.
    FncReturn { value: u32 },
    /// Not a valid EXC_RETURN on this profile.
    Invalid { value: u32, reason: InvalidReason },
}

impl fmt::Display for ExcReturnKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExcReturnKind::Exception(e) => e.fmt(f),
            ExcReturnKind::FncReturn { value } => write!(f, "{value:#010x}: FNC_RETURN"),
            ExcReturnKind::Invalid { value, reason } => {
                write!(f, "{value:#010x}: invalid EXC_RETURN ({reason})")
            }
        }
    }
}

/// The quick test an unwinder uses on a return address: the 0xFF EXC_RETURN
/// prefix, or one of the two FNC_RETURN values.
pub fn looks_like_exc_return(value: u32) -> bool {
    value >> 24 == 0xFF || is_fnc_return(value)
}

/// 0xFEFFFFFE or 0xFEFFFFFF.
pub fn is_fnc_return(value: u32) -> bool {
    value | 1 == 0xFEFF_FFFF
}

impl ExcReturn {
    /// Decodes `value` under the rules of `profile`.
    pub fn decode(value: u32, profile: Profile) -> ExcReturnKind {
        let invalid = |reason| ExcReturnKind::Invalid { value, reason };
        if is_fnc_return(value) {
            return if profile.is_v8m() {
                ExcReturnKind::FncReturn { value }
            } else {
                invalid(InvalidReason::FncReturnNotV8M)
            };
        }
        if value >> 24 != 0xFF {
            return invalid(InvalidReason::NoPrefix);
        }
        let extended_frame = value & (1 << 4) == 0;
        let mode = if value & (1 << 3) != 0 {
            Mode::Thread
        } else {
            Mode::Handler
        };
        let stack = if value & (1 << 2) != 0 {
            StackPointer::Process
        } else {
            StackPointer::Main
        };
        let security = if profile.is_v8m() {
            // `[23:7]` RES1, bit 1 RES0.
            if value & 0x00FF_FF80 != 0x00FF_FF80 || value & 0b10 != 0 {
                return invalid(InvalidReason::ReservedBits);
            }
            Some(SecurityBits {
                secure_exception: value & 1 != 0,
                default_callee_stacking: value & (1 << 5) != 0,
                secure_stack: value & (1 << 6) != 0,
            })
        } else {
            if value & 0xFFFF_FFE0 != 0xFFFF_FFE0 {
                return invalid(InvalidReason::ReservedBits);
            }
            if !matches!(value & 0xF, 0x1 | 0x9 | 0xD) {
                return invalid(InvalidReason::BadLowNibble);
            }
            None
        };
        if mode == Mode::Handler && stack == StackPointer::Process {
            return invalid(InvalidReason::HandlerWithProcessStack);
        }
        if extended_frame && !profile.may_have_fpu() {
            return invalid(InvalidReason::FpFrameWithoutFpu);
        }
        ExcReturnKind::Exception(ExcReturn {
            value,
            profile,
            mode,
            stack,
            extended_frame,
            security,
        })
    }
}
