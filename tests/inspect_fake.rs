//! `inspect` on states the QEMU lab cannot produce, served by the scriptable fake GDB
//! server (tests/support_fake_gdb): a core already halted in a handler with chosen
//! fault status registers. Pins the findings and exit codes of those paths.

mod support_fake_gdb;

use std::process::Command;

use serde_json::Value;
use support_fake_gdb::fake::{self, Act, FakeServer};

/// The `g` reply: r0-r12 zero, SP 0x20000f00, LR EXC_RETURN 0xfffffff9, PC 0x08000100,
/// then xPSR.
fn g_reply(xpsr: u32) -> String {
    let mut regs = "00000000".repeat(13);
    for v in [0x2000_0f00u32, 0xffff_fff9, 0x0800_0100, xpsr] {
        regs.push_str(&hex_le(v));
    }
    regs
}

fn hex_le(v: u32) -> String {
    v.to_le_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// The SCB block CPUID..AFSR (16 words at 0xE000ED00) with the given CPUID, ICSR,
/// SHCSR, CFSR and HFSR, served by length as a real server does.
fn scb_block(cpuid: u32, icsr: u32, shcsr: u32, cfsr: u32, hfsr: u32) -> Act {
    let mut words = [0u32; 16];
    words[0] = cpuid;
    words[1] = icsr;
    words[9] = shcsr;
    words[10] = cfsr;
    words[11] = hfsr;
    Act::words(0xE000_ED00, &words)
}

/// A fake core halted in exception `ipsr`; `script` is tried before these answers.
fn halted_in(ipsr: u32, mut script: Vec<(&'static str, Act)>) -> FakeServer {
    let xpsr = 0x0100_0000 | ipsr;
    script.extend([
        ("g", Act::Reply(g_reply(xpsr))),
        ("p19", Act::Reply(hex_le(xpsr))),
        ("pf", Act::Reply(hex_le(0x0800_0100))),
        ("pd", Act::Reply(hex_le(0x2000_0f00))),
        ("pe", Act::Reply(hex_le(0xffff_fff9))),
    ]);
    fake::start(script)
}

fn inspect(server: &FakeServer) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_isrscope"))
        .args(["inspect", "--format", "json", "--gdb", &server.address()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("no JSON ({e}); stderr:\n{err}"));
    (out.status.code().unwrap_or(-1), json)
}

fn finding<'a>(r: &'a Value, code: &str) -> &'a Value {
    r["findings"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["code"] == code))
        .unwrap_or_else(|| panic!("no {code} finding: {r:#}"))
}

/// Cortex-M4 r0p1.
const CPUID_M4: u32 = 0x410f_c241;
/// Cortex-M33 r0p4 (ARMv8-M Mainline).
const CPUID_M33: u32 = 0x410f_d214;
const IMPRECISERR: u32 = 1 << 10;
const BUSFAULTACT: u32 = 1 << 1;
const BUSFAULTENA: u32 = 1 << 17;

#[test]
fn an_imprecise_bus_fault_warns_that_the_stacked_pc_is_late_and_exits_12() {
    let server = halted_in(
        5,
        vec![("me000ed00,", scb_block(CPUID_M4, 5, BUSFAULTACT | BUSFAULTENA, IMPRECISERR, 0))],
    );
    let (code, r) = inspect(&server);
    assert_eq!(code, 12, "BusFault: {r:#}");
    assert_eq!(r["outcome"], "bus-fault");
    assert_eq!(r["fault"]["causes"], serde_json::json!(["IMPRECISERR"]), "{r:#}");
    assert!(r["fault"]["bfar"].is_null(), "BFAR is not the culprit for IMPRECISERR");
    let f = finding(&r, "imprecise-bus-fault");
    assert_eq!(f["severity"], "warning");
    assert!(f["message"].as_str().unwrap().contains("DISDEFWBUF"), "{f}");
    // A Cortex-M4 has neither SFSR nor ABFSR: not read, null in the report.
    assert!(r["fault"]["sfsr"].is_null() && r["fault"]["sfar"].is_null() && r["fault"]["abfsr"].is_null(), "{r:#}");
    let received = server.received();
    assert!(!received.iter().any(|p| p.starts_with("me000ede4") || p.starts_with("me000efa8")), "{received:?}");
}

#[test]
fn a_secure_fault_is_decoded_from_sfsr_and_exits_14() {
    // SFSR: INVEP (bit 0) and SFARVALID (bit 6); SFAR 0x10000040.
    let server = halted_in(
        7,
        vec![
            ("me000ed00,", scb_block(CPUID_M33, 7, 0, 0, 0)),
            ("me000ede4,", Act::Reply(format!("{}{}", hex_le(0x41), hex_le(0x1000_0040)))),
        ],
    );
    let (code, r) = inspect(&server);
    assert_eq!(code, 14, "SecureFault: {r:#}");
    assert_eq!(r["outcome"], "secure-fault");
    assert_eq!(r["exception"]["name"], "SecureFault");
    assert_eq!(r["fault"]["sfsr"], 0x41, "{r:#}");
    assert_eq!(r["fault"]["sfar"], 0x1000_0040, "{r:#}");
    assert!(r["fault"]["abfsr"].is_null(), "no ABFSR on a Cortex-M33");
    let causes = r["fault"]["causes"].to_string();
    assert!(causes.contains("INVEP") && causes.contains("SFARVALID"), "{causes}");
}

#[test]
fn sfar_is_null_without_sfarvalid_and_an_unreadable_sfsr_is_tolerated() {
    // SFSR = INVEP only: SFAR holds nothing valid.
    let server = halted_in(
        7,
        vec![
            ("me000ed00,", scb_block(CPUID_M33, 7, 0, 0, 0)),
            ("me000ede4,", Act::Reply(format!("{}{}", hex_le(0x01), hex_le(0x1000_0040)))),
        ],
    );
    let (code, r) = inspect(&server);
    assert_eq!(code, 14, "{r:#}");
    assert_eq!(r["fault"]["sfsr"], 1);
    assert!(r["fault"]["sfar"].is_null(), "{r:#}");

    let server = halted_in(
        7,
        vec![
            ("me000ed00,", scb_block(CPUID_M33, 7, 0, 0, 0)),
            ("me000ede4,", Act::Reply("E14".into())),
        ],
    );
    let (code, r) = inspect(&server);
    assert_eq!(code, 14, "the report is made without SFSR: {r:#}");
    assert!(r["fault"]["sfsr"].is_null() && r["fault"]["sfar"].is_null(), "{r:#}");
}
