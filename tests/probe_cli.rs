//! What a user of `--chip` meets through the real binary, on a machine without a debug
//! probe (ours): every mistake and every missing piece gives a message that says what
//! to do, and a non-zero exit; nothing panics.
//!
//! On a machine with a probe the no-probe cases are skipped, the rest still hold.

use std::process::{Command, Output};

use isrscope::target::probe::open;

const ELF: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/firmware-samples/build/c/busfault.elf"
);

fn isrscope(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_isrscope"));
    cmd.args(args)
        .env_remove("ISRSCOPE_CHIP")
        .env_remove("PROBE_RS_CHIP")
        .env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run isrscope")
}

/// Exits with `code` and says `needles` on stderr, without a panic.
fn fails(out: &Output, code: i32, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    for n in needles {
        assert!(stderr.contains(n), "{n:?} not in: {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn no_probe_here() -> bool {
    let none = open::probes().is_empty();
    if !none {
        eprintln!("a debug probe is connected: the no-probe cases are skipped");
    }
    none
}

#[test]
fn list_without_a_probe_says_what_to_check() {
    let out = isrscope(&["list"], &[]);
    if no_probe_here() {
        fails(
            &out,
            1,
            &["no debug probe found", "udev", "cable", "plugdev"],
        );
    } else {
        assert_eq!(out.status.code(), Some(0));
        assert!(String::from_utf8_lossy(&out.stdout).contains("--probe "));
    }
}

#[test]
fn inspect_on_a_known_chip_without_a_probe_says_so() {
    if !no_probe_here() {
        return;
    }
    fails(
        &isrscope(&["inspect", "--chip", "STM32F407VG", "--elf", ELF], &[]),
        1,
        &["--chip STM32F407VG", "no debug probe found", "udev"],
    );
    // Every option parses, and the full package name is as good.
    fails(
        &isrscope(
            &[
                "inspect",
                "--chip",
                "STM32F407VGTx",
                "--speed",
                "4000",
                "--protocol",
                "swd",
                "--connect-under-reset",
                "--elf",
                ELF,
            ],
            &[],
        ),
        1,
        &["no debug probe found"],
    );
    fails(
        &isrscope(
            &["inspect", "--chip", "STM32F407VG", "--probe", "0483:374b"],
            &[],
        ),
        1,
        &[
            "no connected debug probe matches --probe 0483:374b",
            "connected: none",
        ],
    );
    fails(
        &isrscope(
            &[
                "capture",
                "--chip",
                "STM32F407VG",
                "--elf",
                ELF,
                "-o",
                "/dev/null",
            ],
            &[],
        ),
        1,
        &["no debug probe found"],
    );
    fails(
        &isrscope(
            &[
                "vectors",
                "--elf",
                ELF,
                "--chip",
                "STM32F407VG",
                "--speed",
                "1000",
            ],
            &[],
        ),
        1,
        &["probe-rs", "no debug probe found"],
    );
}

#[test]
fn unknown_and_ambiguous_chips_are_reported_before_looking_for_a_probe() {
    fails(
        &isrscope(&["inspect", "--chip", "STM32F999XX"], &[]),
        1,
        &["unknown chip \"STM32F999XX\"", "isrscope chips"],
    );
    fails(
        &isrscope(&["inspect", "--chip", "STM32F407ZZ"], &[]),
        1,
        &["unknown chip", "similar names: STM32F407"],
    );
    fails(
        &isrscope(&["inspect", "--chip", "STM32F407"], &[]),
        1,
        &["ambiguous", "STM32F407VG", "STM32F407VGTx", "--chip"],
    );
    fails(
        &isrscope(&["inspect", "--chip", "RP2040", "--elf", ELF], &[]),
        1,
        &[],
    );
}

#[test]
fn the_default_chip_comes_from_the_environment() {
    fails(
        &isrscope(&["inspect"], &[("ISRSCOPE_CHIP", "NOSUCHCHIP")]),
        1,
        &["$ISRSCOPE_CHIP", "unknown chip \"NOSUCHCHIP\""],
    );
    fails(
        &isrscope(&["inspect"], &[("PROBE_RS_CHIP", "NOSUCHCHIP")]),
        1,
        &["$PROBE_RS_CHIP", "unknown chip"],
    );
    fails(
        &isrscope(
            &["inspect"],
            &[("ISRSCOPE_CHIP", "OURCHIP"), ("PROBE_RS_CHIP", "THEIRCHIP")],
        ),
        1,
        &["$ISRSCOPE_CHIP", "OURCHIP"],
    );
    // --chip and --gdb win over the environment, without a conflict.
    fails(
        &isrscope(
            &["inspect", "--chip", "ALSONOSUCH"],
            &[("ISRSCOPE_CHIP", "NOSUCHCHIP")],
        ),
        1,
        &["ALSONOSUCH"],
    );
    fails(
        &isrscope(
            &["inspect", "--gdb", "unix:/nonexistent.sock"],
            &[("ISRSCOPE_CHIP", "STM32F407VG")],
        ),
        1,
        &["/nonexistent.sock"],
    );
}

#[test]
fn option_mistakes_are_usage_errors_or_say_what_goes_with_what() {
    fails(
        &isrscope(&["inspect"], &[]),
        2,
        &["--gdb", "--qemu", "--chip"],
    );
    fails(
        &isrscope(
            &[
                "inspect",
                "--chip",
                "STM32F407VG",
                "--gdb",
                "localhost:3333",
            ],
            &[],
        ),
        2,
        &["cannot be used with"],
    );
    fails(
        &isrscope(
            &[
                "vectors",
                "--elf",
                ELF,
                "--chip",
                "STM32F407VG",
                "--qemu",
                "m",
            ],
            &[],
        ),
        2,
        &["cannot be used with"],
    );
    fails(
        &isrscope(
            &["inspect", "--chip", "STM32F407VG", "--protocol", "spi"],
            &[],
        ),
        2,
        &["swd", "jtag"],
    );
    fails(
        &isrscope(&["inspect", "--chip", "STM32F407VG", "--speed", "0"], &[]),
        2,
        &["--speed"],
    );
    fails(
        &isrscope(
            &["inspect", "--chip", "STM32F407VG", "--probe", "stlink"],
            &[],
        ),
        1,
        &["--probe \"stlink\"", "VID:PID[:SERIAL]", "isrscope list"],
    );
    fails(
        &isrscope(&["inspect", "--gdb", "localhost:1", "--speed", "4000"], &[]),
        1,
        &["go with --chip"],
    );
}

#[test]
fn chips_lists_probe_rs_names_filtered() {
    let out = isrscope(&["chips", "stm32f407v"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.lines().any(|l| l.starts_with("STM32F407VG ")
            && l.contains("STM32F407VGTx")
            && l.contains("armv7em")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .all(|l| l.to_ascii_lowercase().contains("stm32f407v")),
        "{stdout}"
    );
    fails(
        &isrscope(&["chips", "no-such-chip-anywhere"], &[]),
        1,
        &["knows no chip", "shorter filter"],
    );
    let all = isrscope(&["chips"], &[]);
    assert_eq!(all.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&all.stdout).lines().count() > 1000);
}
