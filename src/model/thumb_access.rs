//! The data access a decoded Thumb load/store makes: address (from the base,
//! offset and index registers), element size and count, direction.

use serde::Serialize;
use yaxpeax_arm::armv7::{Instruction, Opcode, Operand, Reg, RegShiftStyle, ShiftStyle};

use super::v6m::CoreRegisters;

/// A data access an instruction makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Access {
    pub address: u32,
    /// Bytes per element.
    pub size: u8,
    /// Elements (registers for LDM/STM/PUSH/POP).
    pub count: u8,
    pub write: bool,
}

impl Access {
    pub fn len(&self) -> u32 {
        u32::from(self.size) * u32::from(self.count)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn is_aligned(&self) -> bool {
        self.address % u32::from(self.size.max(1)) == 0
    }
}

/// The data access `inst` makes: `None` if it makes none, `Err(reg)` if a
/// register it needs is unknown.
pub fn access_of(inst: &Instruction, regs: &CoreRegisters) -> Option<Result<Access, u8>> {
    let (size, write) = match inst.opcode {
        Opcode::LDR | Opcode::LDREX | Opcode::LDRT => (4, false),
        Opcode::STR | Opcode::STREX | Opcode::STRT => (4, true),
        Opcode::LDRH | Opcode::LDRSH | Opcode::LDRHT | Opcode::LDRSHT | Opcode::LDREXH => {
            (2, false)
        }
        Opcode::STRH | Opcode::STRHT | Opcode::STREXH => (2, true),
        Opcode::LDRB | Opcode::LDRSB | Opcode::LDRBT | Opcode::LDRSBT | Opcode::LDREXB => {
            (1, false)
        }
        Opcode::STRB | Opcode::STRBT | Opcode::STREXB => (1, true),
        Opcode::LDRD => (4, false),
        Opcode::STRD => (4, true),
        Opcode::PUSH | Opcode::POP | Opcode::LDM(..) | Opcode::STM(..) => {
            return Some(multiple(inst, regs));
        }
        _ => return None,
    };
    let count = if matches!(inst.opcode, Opcode::LDRD | Opcode::STRD) {
        2
    } else {
        1
    };
    let memory = inst.operands.iter().find(|o| is_memory_operand(o))?;
    Some(address_of(memory, regs).map(|address| Access {
        address,
        size,
        count,
        write,
    }))
}

fn is_memory_operand(op: &Operand) -> bool {
    matches!(
        op,
        Operand::RegDeref(_)
            | Operand::RegShift(_)
            | Operand::RegDerefPostindexRegShift(..)
            | Operand::RegDerefPreindexRegShift(..)
            | Operand::RegDerefPostindexOffset(..)
            | Operand::RegDerefPreindexOffset(..)
            | Operand::RegDerefPostindexReg(..)
            | Operand::RegDerefPreindexReg(..)
    )
}

fn reg_value(reg: Reg, regs: &CoreRegisters) -> Result<u32, u8> {
    let n = reg.number();
    let v = regs.r.get(usize::from(n)).copied().flatten().ok_or(n)?;
    // Reading PC in Thumb gives the instruction address + 4, word-aligned for loads.
    Ok(if n == 15 { v.wrapping_add(4) & !3 } else { v })
}

fn offset(base: u32, amount: u32, add: bool) -> u32 {
    if add {
        base.wrapping_add(amount)
    } else {
        base.wrapping_sub(amount)
    }
}

fn address_of(op: &Operand, regs: &CoreRegisters) -> Result<u32, u8> {
    match *op {
        Operand::RegDeref(base)
        | Operand::RegDerefPostindexOffset(base, ..)
        | Operand::RegDerefPostindexReg(base, ..)
        | Operand::RegDerefPostindexRegShift(base, ..) => reg_value(base, regs),
        Operand::RegDerefPreindexOffset(base, imm, add, _) => {
            Ok(offset(reg_value(base, regs)?, u32::from(imm), add))
        }
        Operand::RegDerefPreindexReg(base, index, add, _) => {
            Ok(offset(reg_value(base, regs)?, reg_value(index, regs)?, add))
        }
        Operand::RegDerefPreindexRegShift(base, shift, add, _) => {
            let amount = match shift.into_shift() {
                RegShiftStyle::RegImm(s) => {
                    let v = reg_value(s.shiftee(), regs)?;
                    match s.stype() {
                        ShiftStyle::LSL => v.checked_shl(u32::from(s.imm())).unwrap_or(0),
                        _ => return Err(s.shiftee().number()),
                    }
                }
                RegShiftStyle::RegReg(s) => return Err(s.shifter().number()),
            };
            Ok(offset(reg_value(base, regs)?, amount, add))
        }
        _ => Err(15),
    }
}

fn multiple(inst: &Instruction, regs: &CoreRegisters) -> Result<Access, u8> {
    let list = inst
        .operands
        .iter()
        .find_map(|o| match o {
            Operand::RegList(l) => Some(*l),
            _ => None,
        })
        .unwrap_or(0);
    let count = list.count_ones() as u8;
    let bytes = 4 * u32::from(count);
    let (address, write) = match inst.opcode {
        Opcode::PUSH => (reg_value(Reg::from_u8(13), regs)?.wrapping_sub(bytes), true),
        Opcode::POP => (reg_value(Reg::from_u8(13), regs)?, false),
        Opcode::LDM(add, ..) | Opcode::STM(add, ..) => {
            let base = match inst.operands[0] {
                Operand::Reg(r) | Operand::RegWBack(r, _) => reg_value(r, regs)?,
                _ => return Err(15),
            };
            let write = matches!(inst.opcode, Opcode::STM(..));
            (if add { base } else { base.wrapping_sub(bytes) }, write)
        }
        _ => return Err(15),
    };
    Ok(Access {
        address,
        size: 4,
        count,
        write,
    })
}
