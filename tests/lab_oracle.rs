//! Tests of the lab itself: every sample in firmware-samples/scenarios.toml runs in QEMU
//! and gdb-multiarch, the independent oracle, confirms that it stops where the manifest
//! says, with the documented fault bits, frame kind and backtrace. Later tests trust the
//! manifest because this one holds.

mod common;

use common::lab::Qemu;
use common::manifest::{self, Scenario, is_subsequence};
use common::oracle::{self, GdbView, Probe};

const CFSR_BITS: &[(&str, u32)] = &[
    ("IACCVIOL", 0), ("DACCVIOL", 1), ("MUNSTKERR", 3), ("MSTKERR", 4), ("MLSPERR", 5),
    ("MMARVALID", 7), ("IBUSERR", 8), ("PRECISERR", 9), ("IMPRECISERR", 10), ("UNSTKERR", 11),
    ("STKERR", 12), ("LSPERR", 13), ("BFARVALID", 15), ("UNDEFINSTR", 16), ("INVSTATE", 17),
    ("INVPC", 18), ("NOCP", 19), ("STKOF", 20), ("UNALIGNED", 24), ("DIVBYZERO", 25),
];
const HFSR_BITS: &[(&str, u32)] = &[("VECTTBL", 1), ("FORCED", 30), ("DEBUGEVT", 31)];

fn mask(table: &[(&str, u32)], names: &[String], what: &str) -> Result<u32, String> {
    names.iter().try_fold(0, |m, n| {
        let bit = table.iter().find(|(b, _)| b == n).ok_or(format!("unknown {what} bit {n}"))?.1;
        Ok(m | 1 << bit)
    })
}

fn exception_number(name: &str) -> u32 {
    match name {
        "NMI" => 2, "HardFault" => 3, "MemManage" => 4, "BusFault" => 5, "UsageFault" => 6,
        "SecureFault" => 7, "SVCall" => 11, "DebugMonitor" => 12, "PendSV" => 14, "SysTick" => 15,
        irq => 16 + irq.strip_prefix("IRQ").and_then(|n| n.parse::<u32>().ok()).expect("exception name"),
    }
}

fn check(s: &Scenario) -> Result<(), String> {
    let qemu = Qemu::start(&s.machine, &s.elf_path());
    let stop_expr = format!("(unsigned)&{}", s.stop_at);
    let mut probes = vec![
        Probe::Expr("stop", &stop_expr),
        Probe::Word("cfsr", "0xE000ED28"),
        Probe::Word("hfsr", "0xE000ED2C"),
        Probe::Word("mmfar", "0xE000ED34"),
        Probe::Word("bfar", "0xE000ED38"),
        Probe::Word("vtor", "0xE000ED08"),
    ];
    if s.core == "cortex-m4" {
        probes.push(Probe::Word("fpccr", "0xE000EF34"));
        probes.push(Probe::Word("fpcar", "0xE000EF38"));
    }
    let mmfar_expr = s.mmfar_symbol.as_ref().map(|sym| format!("(unsigned)&{sym} + {}", s.mmfar_offset));
    if let Some(e) = &mmfar_expr {
        probes.push(Probe::Expr("mmfar_expected", e));
    }
    let frame: Vec<(String, String)> = (0..8).map(|i| (format!("frame{i}"), format!("$sp + {}", 4 * i))).collect();
    let svc_insn = "*(unsigned short *)(*(unsigned int *)($sp + 24) - 2)";
    if s.kind == "svc" {
        probes.extend(frame.iter().map(|(l, a)| Probe::Word(l, a)));
        probes.push(Probe::Expr("svc_insn", svc_insn));
    }
    let vectors: Vec<(String, String)> =
        (0..16).map(|i| (format!("vec{i}"), format!("*(unsigned *)0xE000ED08 + {}", 4 * i))).collect();
    let flash_vectors: Vec<(String, String)> =
        (0..16).map(|i| (format!("elfvec{i}"), format!("(unsigned)&{} + {}", vector_symbol(s), 4 * i))).collect();
    if s.kind == "vectors" {
        probes.extend(vectors.iter().map(|(l, a)| Probe::Word(l, a)));
        probes.extend(flash_vectors.iter().map(|(l, a)| Probe::Word(l, a)));
    }
    let nvic = nvic_probes(s)?;
    probes.extend(nvic.iter().map(|(l, a)| Probe::Word(l, a)));
    let view = oracle::stop_at(&qemu, &s.elf_path(), Some(&s.stop_at), &probes);
    let fail = |msg: String| Err(format!("{}: {msg}\n--- gdb said:\n{}\n--- qemu said:\n{}", s.name, view.raw, qemu.stderr()));

    let pc = view.reg("pc");
    if pc != view.exprs["stop"] & !1 {
        return fail(format!("stopped at {pc:#x}, not at {}", s.stop_at));
    }
    if let Some(exc) = &s.exception {
        let ipsr = view.reg("xpsr") & 0x1ff;
        if ipsr != exception_number(exc) {
            return fail(format!("IPSR is {ipsr}, expected {exc}"));
        }
    }
    let cfsr = view.word("cfsr");
    let want = mask(CFSR_BITS, &s.cfsr, "CFSR")?;
    if cfsr & want != want || (s.cfsr_exact && cfsr != want) {
        return fail(format!("CFSR {cfsr:#010x}, expected bits {:?} ({want:#010x})", s.cfsr));
    }
    let hfsr = view.word("hfsr");
    let want = mask(HFSR_BITS, &s.hfsr, "HFSR")?;
    if hfsr != want {
        return fail(format!("HFSR {hfsr:#010x}, expected {:?}", s.hfsr));
    }
    if let Some(bfar) = s.bfar {
        if view.word("bfar") != bfar {
            return fail(format!("BFAR {:#x}, expected {bfar:#x}", view.word("bfar")));
        }
    }
    if mmfar_expr.is_some() && view.word("mmfar") != view.exprs["mmfar_expected"] {
        return fail(format!("MMFAR {:#x}, expected {:#x}", view.word("mmfar"), view.exprs["mmfar_expected"]));
    }
    if matches!(s.kind.as_str(), "fault" | "svc") {
        check_entry_state(s, &view).or_else(fail)?;
    }
    if s.kind == "svc" {
        let insn = view.exprs["svc_insn"];
        if insn & 0xff00 != 0xdf00 || Some(insn & 0xff) != s.svc_number {
            return fail(format!("instruction before the stacked PC is {insn:#06x}, expected SVC #{:?}", s.svc_number));
        }
        let args: Vec<u32> = (0..4).map(|i| view.word(&format!("frame{i}"))).collect();
        if args != s.svc_args {
            return fail(format!("stacked r0-r3 {args:x?}, expected {:x?}", s.svc_args));
        }
        check_second_svc(s)?;
        check_svc_log(s)?;
    }
    check_active_and_priorities(s, &view).or_else(fail)?;
    if s.kind == "vectors" {
        check_vectors(s, &view, &qemu).or_else(fail)?;
    }
    if s.kind == "lockup" {
        check_lockup(s)?;
    }
    let functions = view.functions();
    let wanted: Vec<&str> = s.gdb_backtrace.iter().map(String::as_str).collect();
    if !is_subsequence(&wanted, &functions) || functions.first() != wanted.first().or(functions.first()) {
        return fail(format!("gdb backtrace {functions:?} does not hold {wanted:?}"));
    }
    if wanted.is_empty() && s.oracle.as_deref() == Some("dwarf") {
        // gdb is no oracle here because it names discarded code: check that it does, so
        // the sample keeps reproducing what it is for.
        let data = std::fs::read(s.elf_path()).map_err(|e| e.to_string())?;
        let last = |n: &str| n.rsplit("::").next().unwrap_or(n).to_string();
        let kept: std::collections::HashSet<String> =
            common::dwarf::function_symbols(&data).iter().map(|f| last(&isrscope::debuginfo::demangle(&f.2))).collect();
        if !functions.iter().any(|f| !kept.contains(&last(f))) {
            return fail(format!("oracle = dwarf, but gdb names only functions the image holds: {functions:?}"));
        }
    } else if wanted.is_empty() && functions.len() > 2 {
        return fail(format!("the manifest says gdb cannot unwind here, but it showed {functions:?}"));
    }
    Ok(())
}

/// The SVC handler's second entry (the sample's second call, another immediate): the
/// number from the instruction before the stacked PC, the stacked r0-r3.
fn check_second_svc(s: &Scenario) -> Result<(), String> {
    let Some(number) = s.svc2_number else { return Ok(()) };
    let qemu = Qemu::start(&s.machine, &s.elf_path());
    let stop_expr = format!("(unsigned)&{}", s.stop_at);
    let frame: Vec<(String, String)> = (0..8).map(|i| (format!("frame{i}"), format!("$sp + {}", 4 * i))).collect();
    let mut probes = vec![
        Probe::Expr("stop", &stop_expr),
        Probe::Expr("svc_insn", "*(unsigned short *)(*(unsigned int *)($sp + 24) - 2)"),
    ];
    probes.extend(frame.iter().map(|(l, a)| Probe::Word(l, a)));
    let view = oracle::stop_at_hit(&qemu, &s.elf_path(), &s.stop_at, 2, &probes);
    let fail = |msg: String| Err(format!("{} (second SVC): {msg}\n--- gdb said:\n{}\n--- qemu said:\n{}", s.name, view.raw, qemu.stderr()));
    if view.reg("pc") != view.exprs["stop"] & !1 {
        return fail(format!("stopped at {:#x}, not at {}", view.reg("pc"), s.stop_at));
    }
    if view.reg("xpsr") & 0x1ff != exception_number("SVCall") {
        return fail(format!("IPSR is {}, not SVCall", view.reg("xpsr") & 0x1ff));
    }
    let insn = view.exprs["svc_insn"];
    if insn & 0xff00 != 0xdf00 || insn & 0xff != number {
        return fail(format!("instruction before the stacked PC is {insn:#06x}, expected SVC #{number:#x}"));
    }
    if Some(number) == s.svc_number {
        return fail("svc2_number equals svc_number: the second call must use another immediate".into());
    }
    let args: Vec<u32> = (0..4).map(|i| view.word(&format!("frame{i}"))).collect();
    if args != s.svc2_args {
        return fail(format!("stacked r0-r3 {args:x?}, expected {:x?}", s.svc2_args));
    }
    Ok(())
}

/// After the last SVC returned, what the handler recorded: it must have read each
/// call's number and stacked r0-r3 (the manifest's words hold number and argument sum
/// of both calls, in order).
fn check_svc_log(s: &Scenario) -> Result<(), String> {
    let (Some(done_at), Some(symbol)) = (&s.svc_done_at, &s.svc_log_symbol) else { return Ok(()) };
    let sum = |args: &[u32]| args.iter().fold(0u32, |a, b| a.wrapping_add(*b));
    let promised = [s.svc_number.unwrap_or(0), sum(&s.svc_args), s.svc2_number.unwrap_or(0), sum(&s.svc2_args)];
    if !is_subsequence(&promised.map(|v| v.to_string()).iter().map(String::as_str).collect::<Vec<_>>(),
        &s.svc_log.iter().map(|v| v.to_string()).collect::<Vec<_>>().iter().map(String::as_str).collect::<Vec<_>>())
    {
        return Err(format!("{}: the manifest's svc_log {:x?} does not record {promised:x?} (numbers and argument sums)", s.name, s.svc_log));
    }
    let qemu = Qemu::start(&s.machine, &s.elf_path());
    let words: Vec<(String, String)> =
        (0..s.svc_log.len()).map(|i| (format!("log{i}"), format!("(unsigned)&{symbol} + {}", 4 * i))).collect();
    let probes: Vec<Probe> = words.iter().map(|(l, a)| Probe::Word(l, a)).collect();
    let view = oracle::stop_at(&qemu, &s.elf_path(), Some(done_at), &probes);
    let got: Vec<u32> = (0..s.svc_log.len()).map(|i| view.word(&format!("log{i}"))).collect();
    if got != s.svc_log {
        return Err(format!("{}: at {done_at}, {symbol} = {got:x?}, expected {:x?}\n--- gdb said:\n{}", s.name, s.svc_log, view.raw));
    }
    Ok(())
}

/// SHCSR's active bits for the system exceptions that have one (ARMv7-M).
const SHCSR_ACTIVE: &[(&str, u32)] = &[
    ("MemManage", 0), ("BusFault", 1), ("UsageFault", 3), ("SVCall", 7), ("DebugMonitor", 8), ("PendSV", 10), ("SysTick", 11),
];

/// Words to read for `active_exceptions` (NVIC IABR0-7, SHCSR) and `priorities`
/// (the NVIC_IPR or SHPR word holding each priority byte).
fn nvic_probes(s: &Scenario) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    if !s.active_exceptions.is_empty() {
        if s.core == "cortex-m0" {
            return Err(format!("{}: active_exceptions on ARMv6-M (no IABR, no SHCSR active bits)", s.name));
        }
        out.extend((0..8).map(|i| (format!("iabr{i}"), format!("{:#x}", 0xE000_E300u32 + 4 * i))));
        out.push(("shcsr".into(), "0xE000ED24".into()));
    }
    for name in s.priorities.keys() {
        out.push((format!("prio_{name}"), format!("{:#x}", priority_address(name) & !3)));
    }
    Ok(out)
}

/// The address of an exception's priority byte: NVIC_IPR for IRQn, SHPR1-3 for the
/// configurable system exceptions.
fn priority_address(name: &str) -> u32 {
    let n = exception_number(name);
    if n >= 16 { 0xE000_E400 + (n - 16) } else { 0xE000_ED18 + (n - 4) }
}

/// `active_exceptions` against the NVIC's and SCB's active bits (exactly those, and the
/// innermost is the current IPSR), `priorities` against the priority bytes, and each
/// nested exception more urgent than the one it preempted.
fn check_active_and_priorities(s: &Scenario, view: &GdbView) -> Result<(), String> {
    if let Some(innermost) = s.active_exceptions.last() {
        let ipsr = view.reg("xpsr") & 0x1ff;
        if ipsr != exception_number(innermost) {
            return Err(format!("IPSR is {ipsr}, but the innermost active exception should be {innermost}"));
        }
        let mut irqs_active = Vec::new();
        for i in 0..8 {
            let word = view.word(&format!("iabr{i}"));
            irqs_active.extend((0..32).filter(|b| word & (1 << b) != 0).map(|b| format!("IRQ{}", 32 * i + b)));
        }
        let irqs_wanted: Vec<String> = {
            let mut v: Vec<(u32, String)> = s.active_exceptions.iter().filter(|e| e.starts_with("IRQ")).map(|e| (exception_number(e), e.clone())).collect();
            v.sort();
            v.into_iter().map(|(_, e)| e).collect()
        };
        if irqs_active != irqs_wanted {
            return Err(format!("NVIC IABR says {irqs_active:?} are active, the manifest {:?}", s.active_exceptions));
        }
        let shcsr = view.word("shcsr");
        for (name, bit) in SHCSR_ACTIVE {
            let active = shcsr & (1 << bit) != 0;
            if active != s.active_exceptions.iter().any(|e| e == name) {
                return Err(format!("SHCSR {shcsr:#010x}: {name} active {active}, the manifest {:?}", s.active_exceptions));
            }
        }
    }
    for (name, want) in &s.priorities {
        let word = view.word(&format!("prio_{name}"));
        let got = (word >> (8 * (priority_address(name) & 3))) & 0xff;
        if got != *want {
            return Err(format!("{name}'s priority byte is {got:#04x}, the manifest says {want:#04x}"));
        }
    }
    for pair in s.active_exceptions.windows(2) {
        if let (Some(outer), Some(inner)) = (s.priorities.get(&pair[0]), s.priorities.get(&pair[1])) {
            if inner >= outer {
                return Err(format!("{} (priority {inner:#04x}) cannot preempt {} ({outer:#04x})", pair[1], pair[0]));
            }
        }
    }
    Ok(())
}

/// At a handler's first instruction LR still holds EXC_RETURN: check the frame kind.
fn check_entry_state(s: &Scenario, view: &GdbView) -> Result<(), String> {
    let lr = view.reg("lr");
    if lr >> 24 != 0xff {
        return Err(format!("LR {lr:#x} at handler entry is not EXC_RETURN"));
    }
    let on_psp = lr & 4 != 0;
    if on_psp != (s.stack.as_deref() == Some("psp")) {
        return Err(format!("EXC_RETURN {lr:#x}: frame on {}, manifest says {:?}", if on_psp { "psp" } else { "msp" }, s.stack));
    }
    let extended = lr & 0x10 == 0;
    if extended != s.extended_frame {
        return Err(format!("EXC_RETURN {lr:#x}: extended frame {extended}, manifest says {}", s.extended_frame));
    }
    if s.core == "cortex-m4" {
        let lspact = view.word("fpccr") & 1 != 0;
        if lspact != s.lazy_fp {
            return Err(format!("FPCCR.LSPACT {lspact}, manifest says lazy_fp {}", s.lazy_fp));
        }
        if s.lazy_fp {
            // The reserved S0 slot is 0x20 above the frame, on the stack EXC_RETURN names.
            let frame = if on_psp { view.reg("psp") } else { view.reg("msp") };
            if view.word("fpcar") != frame + 0x20 {
                return Err(format!("FPCAR {:#x}, expected frame {frame:#x} + 0x20", view.word("fpcar")));
            }
        }
    }
    for (i, want) in s.fp_values.iter().enumerate() {
        let got = view.reg(&format!("s{i}"));
        if got != want.to_bits() {
            return Err(format!("live s{i} = {:#x}, expected {want} ({:#x})", got, want.to_bits()));
        }
    }
    Ok(())
}

fn vector_symbol(s: &Scenario) -> &'static str {
    if s.family == "c" && s.core == "cortex-m4" { "g_pfnVectors" } else if s.family == "c" { "__isr_vector" } else { "__vector_table" }
}

/// The lab's broken tables: each defect the manifest promises is really in the table
/// the core uses, and the good samples have none of them.
fn check_vectors(s: &Scenario, view: &GdbView, qemu: &Qemu) -> Result<(), String> {
    let live: Vec<u32> = (0..16).map(|i| view.word(&format!("vec{i}"))).collect();
    let elf: Vec<u32> = (0..16).map(|i| view.word(&format!("elfvec{i}"))).collect();
    let expected: Vec<&str> = s.expect_findings.iter().chain(&s.expect_live_findings).map(String::as_str).collect();
    let missing_thumb = elf[1..].iter().chain(&live[1..]).any(|&v| v != 0 && v & 1 == 0);
    let misaligned = elf[0] % 8 != 0;
    let mismatch = live != elf;
    // Entries that point past a function's start: ask gdb which symbol holds each address.
    let cmds: Vec<String> = std::iter::once(format!("target remote {}", qemu.socket().display()))
        .chain(elf[2..].iter().filter(|&&v| v != 0).map(|v| format!("info symbol {:#x}", v & !1)))
        .collect();
    let symbols = oracle::run_batch(&s.elf_path(), &cmds);
    let mid_function = symbols.lines().any(|l| l.contains(" + ") && l.contains(" in section "));
    for (code, present) in [
        ("vector-missing-thumb-bit", missing_thumb),
        ("initial-sp-misaligned", misaligned),
        ("vector-table-mismatch", mismatch),
        ("vector-not-function-start", mid_function),
    ] {
        if present != expected.contains(&code) {
            return Err(format!("{code}: present {present}, manifest expects {:?} (live {live:x?}, elf {elf:x?}, symbols {symbols})", expected));
        }
    }
    Ok(())
}

/// Run freely, the sample locks up, which QEMU answers by aborting with its own message.
fn check_lockup(s: &Scenario) -> Result<(), String> {
    let mut qemu = Qemu::start(&s.machine, &s.elf_path());
    let cmds = vec![format!("target remote {}", qemu.socket().display()), "continue".to_string()];
    let said = oracle::run_batch(&s.elf_path(), &cmds);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !qemu.exited() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    if !qemu.exited() || !qemu.stderr().contains("Lockup") {
        return Err(format!("{}: QEMU did not abort on lockup.\n--- gdb said:\n{said}\n--- qemu said:\n{}", s.name, qemu.stderr()));
    }
    Ok(())
}

#[test]
fn every_lab_scenario_stops_where_the_manifest_says() {
    let scenarios = manifest::load();
    assert!(scenarios.len() >= 20, "the manifest lists {} scenarios", scenarios.len());
    let failures = common::run_all(&scenarios, 3, check);
    assert!(failures.is_empty(), "{} of {} scenarios failed:\n\n{}", failures.len(), scenarios.len(), failures.join("\n\n"));
}

#[test]
fn the_manifest_covers_every_scenario_of_issue_2() {
    let scenarios = manifest::load();
    let has = |family: &str, pred: &dyn Fn(&Scenario) -> bool| scenarios.iter().any(|s| s.family == family && pred(s));
    let finding = |s: &Scenario, code: &str| s.kind == "vectors" && s.expect_findings.iter().chain(&s.expect_live_findings).any(|f| f == code);
    const BOTH: &[&str] = &["c", "rust"];
    type Case<'a> = (&'a str, &'a [&'a str], &'a dyn Fn(&Scenario) -> bool);
    // Each family covers each scenario unless it cannot express it: the lockup and the
    // misaligned initial SP are C-only (cortex-m-rt checks and aligns its stack), the
    // cortex-m-rt HardFault trampoline (scenario 10) is Rust-only.
    let cases: [Case; 21] = [
        ("lockup", &["c"], &|s| s.kind == "lockup"),
        ("precise BusFault", BOTH, &|s| s.exception.as_deref() == Some("BusFault") && s.cfsr.contains(&"PRECISERR".into())),
        ("FORCED HardFault", BOTH, &|s| s.hfsr.contains(&"FORCED".into())),
        ("UNDEFINSTR", BOTH, &|s| s.cfsr == ["UNDEFINSTR"]),
        ("INVSTATE", BOTH, &|s| s.cfsr == ["INVSTATE"]),
        ("DIVBYZERO", BOTH, &|s| s.cfsr == ["DIVBYZERO"]),
        ("UNALIGNED", BOTH, &|s| s.cfsr == ["UNALIGNED"]),
        ("MemManage", BOTH, &|s| s.cfsr.contains(&"DACCVIOL".into()) && s.cfsr.contains(&"MMARVALID".into())),
        ("fault in an ISR", BOTH, &|s| s.kind == "fault" && s.backtrace.iter().filter(|f| *f == "<exception>").count() >= 2),
        ("PSP with lazy FP", BOTH, &|s| s.stack.as_deref() == Some("psp") && s.extended_frame && s.lazy_fp),
        ("stack overflow", BOTH, &|s| s.cfsr.contains(&"STKERR".into())),
        ("SVC", BOTH, &|s| s.kind == "svc"),
        ("two SVCs with different immediates", BOTH, &|s| s.kind == "svc" && s.svc2_number.is_some() && s.svc2_number != s.svc_number && s.svc2_args.len() == 4),
        ("nested interrupts", BOTH, &|s| s.kind == "break" && s.backtrace.iter().filter(|f| *f == "<exception>").count() >= 2),
        ("nested interrupts at two priorities", BOTH, &|s| s.kind == "break" && s.active_exceptions.len() >= 2 && s.active_exceptions.iter().all(|e| s.priorities.contains_key(e))),
        ("cortex-m-rt HardFault trampoline", &["rust"], &|s| s.kind == "fault" && s.stop_at == "HardFault" && s.exception.as_deref() == Some("HardFault")),
        ("inside the user's #[exception] HardFault", &["rust"], &|s| s.backtrace.iter().any(|f| f.ends_with("__cortex_m_rt_HardFault"))),
        ("vector without the Thumb bit", BOTH, &|s| finding(s, "vector-missing-thumb-bit")),
        ("vector into the middle of a function", BOTH, &|s| finding(s, "vector-not-function-start")),
        ("initial SP not 8-byte aligned", &["c"], &|s| finding(s, "initial-sp-misaligned")),
        ("RAM-relocated table differing from the ELF", BOTH, &|s| finding(s, "vector-table-mismatch")),
    ];
    let mut missing = Vec::new();
    for (name, families, pred) in &cases {
        for family in *families {
            if !has(family, *pred) {
                missing.push(format!("{family}: {name}"));
            }
        }
    }
    assert!(missing.is_empty(), "the manifest lacks {missing:?}");
    // The C family's SVC sample also proves the handler read the stacked frames.
    assert!(has("c", &|s| s.kind == "svc" && s.svc_done_at.is_some() && !s.svc_log.is_empty()), "c: no svc_log check");
    for core in ["cortex-m0", "cortex-m3", "cortex-m7", "cortex-m33"] {
        assert!(scenarios.iter().any(|s| s.core == core), "no sample for {core}");
    }
}
