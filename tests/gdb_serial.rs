//! The Black Magic Probe over its serial port, without the hardware: a pseudo-terminal
//! whose master side is the fake server (tests/support_fake_gdb, `Flavour::BlackMagic`)
//! and whose slave (`/dev/pts/N`) isrscope opens as it would `/dev/ttyACM0`. Pins the
//! scan and attach before the session, the errors when no target is found, and that a
//! probe which stops answering gives a timeout, not a hang.

mod support_fake_gdb;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use isrscope::target::gdb::{ConnectOptions, GdbTarget, ServerKind};
use isrscope::target::{Target, TargetError, reg};
use support_fake_gdb::fake::{self, Act, Flavour, blackmagic_console, frame, qrcmd};

const TIMEOUT: Duration = Duration::from_millis(400);

fn options() -> ConnectOptions {
    ConnectOptions {
        timeout: TIMEOUT,
        ..Default::default()
    }
}

fn bmp(script: Vec<(&'static str, Act)>) -> fake::FakeServer {
    fake::start_pty_as(Flavour::BlackMagic, script, b"")
}

/// Script triggers need `'static` strings.
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn failed_swd_scan() -> (&'static str, Act) {
    (
        leak(qrcmd("swdp_scan")),
        blackmagic_console(&["Target voltage: 0.0V", "SW-DP scan failed!"], false),
    )
}

/// [`support_fake_gdb::fails_in_time`] with this file's request timeout.
fn fails_in_time<T: std::fmt::Debug>(f: impl FnOnce() -> Result<T, TargetError>) -> (TargetError, String) {
    support_fake_gdb::fails_in_time(TIMEOUT, f)
}

#[test]
fn a_probe_on_a_serial_port_is_scanned_attached_then_read() {
    let server = bmp(vec![]);
    let address = server.address();
    assert!(address.starts_with("/dev/pts/"), "{address}");
    let mut t = GdbTarget::connect(&address, &options()).unwrap();
    assert_eq!(t.server(), &ServerKind::BlackMagic);
    let description = &t.capabilities().description;
    assert!(
        description.contains("Black Magic Probe")
            && description.contains("target 1 STM32F40x M4 found by swdp_scan")
            && description.contains(&address),
        "{description}"
    );
    assert_eq!(
        t.read_registers().unwrap().get(reg::XPSR),
        Some(0x0100_0000)
    );
    let mut buf = [1u8; 16];
    t.read_memory(0x2000_0000, &mut buf).unwrap();
    assert_eq!(buf, [0u8; 16]);

    // The scan and the attach come right after qSupported, before anything that needs
    // a target (the description, `?`), and the JTAG scan is not needed.
    let received = server.received();
    assert!(received[0].starts_with("qSupported"), "{received:?}");
    assert_eq!(received[1], qrcmd("swdp_scan"), "{received:?}");
    assert_eq!(received[2], "vAttach;1", "{received:?}");
    assert!(
        received[3].starts_with("qXfer:features:read:target.xml"),
        "{received:?}"
    );
    assert!(!received.contains(&qrcmd("jtag_scan")), "{received:?}");
    t.detach(true).unwrap();
    assert_eq!(server.received().last().map(String::as_str), Some("D"));
}

#[test]
fn serial_prefix_names_a_port_outside_dev() {
    // `serial:PATH` takes any path; the pty is under /dev, but the prefix must work.
    let server = bmp(vec![]);
    let address = format!("serial:{}", server.address());
    let t = GdbTarget::connect(&address, &options()).unwrap();
    assert_eq!(t.server(), &ServerKind::BlackMagic);
}

#[test]
fn a_failed_swd_scan_falls_back_to_jtag_and_says_so() {
    let server = bmp(vec![
        failed_swd_scan(),
        (
            leak(qrcmd("jtag_scan")),
            blackmagic_console(
                &[
                    "Target voltage: 3.3V",
                    "Device  IR Len  IDCODE      Description",
                    "0\t   4  0x4ba00477  ARM Limited: ADIv5 JTAG-DP port.",
                    "Available Targets:",
                    "No. Att Driver",
                    " 1      STM32F40x M4",
                ],
                true,
            ),
        ),
    ]);
    let t = GdbTarget::connect(&server.address(), &options()).unwrap();
    let description = &t.capabilities().description;
    assert!(description.contains("found by jtag_scan"), "{description}");
    let received = server.received();
    assert_eq!(
        &received[1..4],
        [qrcmd("swdp_scan"), qrcmd("jtag_scan"), "vAttach;1".into()],
        "{received:?}"
    );
}

#[test]
fn no_target_found_says_what_to_check() {
    let server = bmp(vec![failed_swd_scan()]);
    let (err, text) = fails_in_time(|| GdbTarget::connect(&server.address(), &options()));
    assert!(matches!(err, TargetError::Other(_)), "{err:?}");
    assert!(
        text.contains("no target found by swdp_scan")
            && text.contains("is the board powered and SWD")
            && text.contains("SW-DP scan failed!")
            && text.contains("Target voltage: 0.0V")
            && text.contains("JTAG device scan failed!"),
        "{text}"
    );
    assert!(
        !server.received().iter().any(|p| p.starts_with("vAttach")),
        "nothing to attach to"
    );
}

#[test]
fn another_target_number_is_attached_when_asked() {
    let two_targets = blackmagic_console(
        &[
            "Target voltage: 3.3V",
            "Available Targets:",
            "No. Att Driver",
            " 1      STM32H7 M7",
            " 2      STM32H7 M4",
        ],
        true,
    );
    let server = bmp(vec![(leak(qrcmd("swdp_scan")), two_targets.clone())]);
    let options = ConnectOptions {
        scan_target: 2,
        ..options()
    };
    let t = GdbTarget::connect(&server.address(), &options).unwrap();
    let description = &t.capabilities().description;
    assert!(
        description.contains("target 2 STM32H7 M4 found by swdp_scan"),
        "{description}"
    );
    assert!(
        server.received().contains(&"vAttach;2".to_string()),
        "{:?}",
        server.received()
    );

    let server = bmp(vec![(leak(qrcmd("swdp_scan")), two_targets)]);
    let options = ConnectOptions {
        scan_target: 3,
        ..self::options()
    };
    let (_, text) = fails_in_time(|| GdbTarget::connect(&server.address(), &options));
    assert!(
        text.contains("no target numbered 3") && text.contains("1 STM32H7 M7, 2 STM32H7 M4"),
        "{text}"
    );
}

#[test]
fn a_refused_attach_is_an_error_naming_the_target() {
    let server = bmp(vec![("vAttach;1", Act::Reply("E01".into()))]);
    let (err, text) = fails_in_time(|| GdbTarget::connect(&server.address(), &options()));
    assert!(matches!(err, TargetError::Refused { .. }), "{err:?}");
    assert!(
        text.contains("attaching to target 1 (STM32F40x M4)"),
        "{text}"
    );
}

#[test]
fn a_probe_that_stops_answering_the_scan_times_out() {
    let server = bmp(vec![(leak(qrcmd("swdp_scan")), Act::Silence)]);
    let (err, text) = fails_in_time(|| GdbTarget::connect(&server.address(), &options()));
    assert!(matches!(err, TargetError::Timeout { .. }), "{err:?}");
    assert!(text.contains("swdp_scan"), "{text}");
}

#[test]
fn a_probe_that_stops_answering_mid_session_times_out() {
    let server = bmp(vec![("m", Act::StallMidPacket)]);
    let mut t = GdbTarget::connect(&server.address(), &options()).unwrap();
    let mut buf = [0u8; 64];
    let (err, text) = fails_in_time(|| t.read_memory(0x2000_0000, &mut buf));
    assert!(matches!(err, TargetError::Timeout { .. }), "{err:?}");
    assert!(text.contains("0x20000000"), "{text}");
}

#[test]
fn a_probe_unplugged_mid_session_is_a_disconnect() {
    let server = bmp(vec![("m", Act::Close)]);
    let mut t = GdbTarget::connect(&server.address(), &options()).unwrap();
    let mut buf = [0u8; 64];
    let (err, text) = fails_in_time(|| t.read_memory(0x2000_0000, &mut buf));
    assert!(matches!(err, TargetError::Disconnected { .. }), "{err:?}");
    assert!(text.contains("hung up"), "{text}");
}

#[test]
fn input_pending_at_open_is_flushed() {
    // A whole reply left in the port's input: taken as the answer to qSupported, it
    // would fail the connection.
    let server = fake::start_pty_as(Flavour::BlackMagic, vec![], &frame(b"E01"));
    std::thread::sleep(Duration::from_millis(100));
    GdbTarget::connect(&server.address(), &options()).unwrap();
}

#[test]
fn a_path_that_is_not_a_serial_port_is_a_connect_error() {
    let err = GdbTarget::connect("/dev/null", &options()).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, TargetError::Connect { .. }), "{err:?}");
    assert!(
        text.contains("/dev/null") && text.contains("not a serial port"),
        "{text}"
    );
}

#[test]
fn the_binary_inspects_a_core_behind_a_probe_on_a_serial_port() {
    // xPSR 0x01000003 (HardFault active), SP 0x20000f00, LR 0xfffffffd, PC 0x08000100.
    let mut g = "00000000".repeat(13);
    g.push_str("000f0020fdffffff0001000803000001");
    let server = bmp(vec![
        ("g", Act::Reply(g)),
        ("p19", Act::Reply("03000001".into())),
        ("pf", Act::Reply("00010008".into())),
        ("pd", Act::Reply("000f0020".into())),
        ("pe", Act::Reply("fdffffff".into())),
    ]);
    let address = server.address();
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_isrscope"))
        .args([
            "inspect",
            "--gdb",
            &address,
            "--no-wait",
            "--format",
            "json",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(started.elapsed() < Duration::from_secs(20), "{err}");
    assert_eq!(out.status.code(), Some(10), "HardFault; stderr:\n{err}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}); stderr:\n{err}"));
    assert_eq!(json["outcome"], "hard-fault", "{json}");
    let description = json["target"]["description"].to_string();
    assert!(
        description.contains("Black Magic Probe") && description.contains(&address),
        "{description}"
    );
    assert_eq!(
        json["registers"]["pc"].as_u64(),
        Some(0x0800_0100),
        "{json}"
    );
    let received = server.received();
    assert_eq!(received[1], qrcmd("swdp_scan"), "{received:?}");
    assert_eq!(received[2], "vAttach;1", "{received:?}");
}

#[test]
fn a_large_write_to_a_probe_that_stopped_reading_times_out() {
    // A pty holds a few KiB: a 64 KiB `M` packet fills it once the fake stops reading
    // (after answering the `X` probe with "": no binary writes, so `M`).
    let server = bmp(vec![
        (
            "qSupported",
            Act::Reply("PacketSize=100000;qXfer:features:read+;vContSupported+".into()),
        ),
        ("X", Act::ReplyThenStopReading(String::new())),
    ]);
    let mut t = GdbTarget::connect(&server.address(), &options()).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let data = vec![0x5Au8; 0x8000];
        let started = Instant::now();
        let result = t.write_memory(0x2000_0000, &data);
        let _ = tx.send((result, started.elapsed()));
    });
    let (result, elapsed) = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the write hung: no write timeout on the serial port");
    let err = result.expect_err("the write must fail");
    assert!(
        elapsed < TIMEOUT * 3 + Duration::from_millis(500),
        "took {elapsed:?}: {err}"
    );
    assert!(matches!(err, TargetError::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains("stopped reading"), "{err}");
}

#[test]
fn a_serial_server_without_swdp_scan_is_used_as_it_is() {
    // The QEMU-like fake answers "" to every monitor command: not a Black Magic Probe,
    // so nothing is attached and the session goes on.
    let server = fake::start_pty_as(Flavour::Qemu, vec![], b"");
    let mut t = GdbTarget::connect(&server.address(), &options()).unwrap();
    assert_ne!(t.server(), &ServerKind::BlackMagic);
    assert_eq!(t.read_register(reg::PC).unwrap(), 0);
    let received = server.received();
    assert_eq!(received[1], qrcmd("swdp_scan"), "{received:?}");
    assert!(
        !received.iter().any(|p| p.starts_with("vAttach")),
        "{received:?}"
    );
}

#[test]
fn a_scan_answered_with_an_error_code_falls_back_to_jtag() {
    let server = bmp(vec![
        (leak(qrcmd("swdp_scan")), Act::Reply("E01".into())),
        (
            leak(qrcmd("jtag_scan")),
            blackmagic_console(
                &["Available Targets:", "No. Att Driver", " 1      LPC43xx M4"],
                true,
            ),
        ),
    ]);
    let t = GdbTarget::connect(&server.address(), &options()).unwrap();
    let description = &t.capabilities().description;
    assert!(
        description.contains("target 1 LPC43xx M4 found by jtag_scan"),
        "{description}"
    );
}
