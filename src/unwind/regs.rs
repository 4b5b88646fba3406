//! The registers of one frame: which are known, and their values.

use std::collections::BTreeMap;

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use crate::target::Registers;

/// Core registers r0-r15, xPSR and the FP registers s0-s31, each known or not.
/// In a caller's frame only what the unwinder could prove is known: callee-saved
/// registers the callee did not touch or saved, SP, PC; r0-r3/r12 after a call are
/// unknown, and in a frame interrupted by an exception everything stacked is known.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegisterSet {
    pub(crate) r: [Option<u32>; 16],
    pub(crate) xpsr: Option<u32>,
    pub(crate) s: [Option<u32>; 32],
    pub(crate) fpscr: Option<u32>,
}

pub(crate) const SP: usize = 13;
pub(crate) const LR: usize = 14;
pub(crate) const PC: usize = 15;

const NAMES: [&str; 16] = [
    "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "sp", "lr", "pc",
];

impl RegisterSet {
    /// The live registers as a target reports them. `sp` is the active stack pointer.
    pub fn from_target(regs: &Registers) -> Self {
        let mut set = RegisterSet::default();
        for (i, name) in NAMES.iter().enumerate() {
            set.r[i] = regs.get(name);
        }
        set.xpsr = regs.get("xpsr");
        for i in 0..32 {
            set.s[i] = regs.get(&format!("s{i}"));
        }
        set.fpscr = regs.get("fpscr");
        set
    }

    pub fn get(&self, n: usize) -> Option<u32> {
        self.r.get(n).copied().flatten()
    }
    pub fn set(&mut self, n: usize, v: Option<u32>) {
        self.r[n] = v;
    }
    pub fn pc(&self) -> Option<u32> {
        self.r[PC]
    }
    pub fn sp(&self) -> Option<u32> {
        self.r[SP]
    }
    pub fn lr(&self) -> Option<u32> {
        self.r[LR]
    }
    pub fn xpsr(&self) -> Option<u32> {
        self.xpsr
    }
    pub fn s(&self, n: usize) -> Option<u32> {
        self.s.get(n).copied().flatten()
    }

    /// Known registers by name.
    pub fn known(&self) -> BTreeMap<String, u32> {
        let mut m = BTreeMap::new();
        for (i, v) in self.r.iter().enumerate() {
            if let Some(v) = v {
                m.insert(NAMES[i].to_string(), *v);
            }
        }
        if let Some(x) = self.xpsr {
            m.insert("xpsr".into(), x);
        }
        for (i, v) in self.s.iter().enumerate() {
            if let Some(v) = v {
                m.insert(format!("s{i}"), *v);
            }
        }
        if let Some(x) = self.fpscr {
            m.insert("fpscr".into(), x);
        }
        m
    }

    /// Names of the core registers (r0-pc, xpsr) whose value is not known.
    pub fn unknown_core(&self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> =
            self.r.iter().enumerate().filter(|(_, r)| r.is_none()).map(|(i, _)| NAMES[i]).collect();
        if self.xpsr.is_none() {
            v.push("xpsr");
        }
        v
    }
}

impl Serialize for RegisterSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut st = serializer.serialize_struct("RegisterSet", 2)?;
        st.serialize_field("known", &self.known())?;
        st.serialize_field("unknown", &self.unknown_core())?;
        st.end()
    }
}
