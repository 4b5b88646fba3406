//! probe-rs coredumps of an isrscope dump's state, written by probe-rs' own
//! `CoreDump::store` (probe-rs is a dev-dependency): fixtures for isrscope's reader
//! (tests/coredump_probe_rs.rs) and the input of the unwinder comparison with
//! probe-rs-debug (tests/bench_unwind_peers.rs).

use std::collections::HashMap;
use std::path::Path;

use isrscope::coredump::CoreDump;
use probe_rs::{CoreType, InstructionSet, RegisterId, RegisterValue};

/// probe-rs' Cortex-M register ids for isrscope's register names.
pub fn probe_rs_registers(regs: &std::collections::BTreeMap<String, u32>) -> HashMap<RegisterId, RegisterValue> {
    let mut out = HashMap::new();
    let mut put = |id: u16, v: u32| {
        out.insert(RegisterId(id), RegisterValue::U32(v));
    };
    for (name, &v) in regs {
        match name.as_str() {
            "sp" => put(13, v),
            "lr" => put(14, v),
            "pc" => put(15, v),
            "xpsr" => put(16, v),
            "msp" => put(17, v),
            "psp" => put(18, v),
            "fpscr" => put(33, v),
            n if n.starts_with('r') => put(n[1..].parse().unwrap(), v),
            n if n.starts_with('s') => put(64 + n[1..].parse::<u16>().unwrap(), v),
            _ => {}
        }
    }
    let g = |n: &str| regs.get(n).copied().unwrap_or(0);
    put(20, g("control") << 24 | g("faultmask") << 16 | g("basepri") << 8 | g("primask"));
    out
}

/// Writes a probe-rs coredump of `dump`'s state (memory filtered by `keep`) with
/// probe-rs' own writer.
pub fn store_probe_rs(dump: &CoreDump, path: &Path, core_type: CoreType, keep: impl Fn(u32) -> bool) {
    let data = dump
        .memory
        .segments()
        .iter()
        .filter(|s| keep(s.start))
        .map(|s| (u64::from(s.start)..s.end(), s.data.clone()))
        .collect();
    let fpu = dump.meta.registers.contains_key("s0");
    let pr = probe_rs::CoreDump {
        registers: probe_rs_registers(&dump.meta.registers),
        data,
        instruction_set: InstructionSet::Thumb2,
        supports_native_64bit_access: false,
        core_type,
        // A core without an FPU has no S registers in isrscope's dump.
        fpu_support: fpu,
        floating_point_register_count: fpu.then_some(32),
    };
    pr.store(path).unwrap();
}
