//! The GDB remote backend over TCP (`--gdb HOST:PORT`, as OpenOCD, the J-Link GDB
//! server and pyOCD are reached), and bounded writes: a peer that stops reading cannot
//! hang isrscope. The fake server (tests/support_fake_gdb) listens on 127.0.0.1 at a
//! port the system picks, so tests run in parallel without colliding.

mod support_fake_gdb;

use std::io::Read;
use std::net::TcpListener;
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use isrscope::target::gdb::conn::Connection;
use isrscope::target::gdb::{ConnectOptions, GdbTarget, ServerKind};
use isrscope::target::{Target, TargetError, reg};
use support_fake_gdb::fake::{self, Act};

const TIMEOUT: Duration = Duration::from_millis(400);

fn options() -> ConnectOptions {
    ConnectOptions {
        timeout: TIMEOUT,
        ..Default::default()
    }
}

/// More than any socket buffer holds (unix and loopback TCP buffers are a few hundred
/// KiB to a few MiB): a write of this many bytes blocks on a peer that does not read.
const HUGE: usize = 32 << 20;

#[test]
fn a_well_behaved_fake_connects_and_reads_over_tcp() {
    let server = fake::start_tcp(vec![]);
    let address = server.address();
    assert!(address.starts_with("127.0.0.1:"), "{address}");
    let mut t = GdbTarget::connect(&address, &options()).unwrap();
    assert!(
        t.capabilities().description.contains(&address),
        "{}",
        t.capabilities().description
    );
    assert_eq!(
        t.read_registers().unwrap().get(reg::XPSR),
        Some(0x0100_0000)
    );
    let mut buf = [1u8; 16];
    t.read_memory(0x2000_0000, &mut buf).unwrap();
    assert_eq!(buf, [0u8; 16]);
    assert_eq!(
        t.capabilities().breakpoints,
        None,
        "QEMU does not say: unknown, not guessed"
    );
    t.detach(false).unwrap();
    let received = server.received();
    assert!(
        received.iter().any(|p| p.starts_with("qSupported")),
        "{received:?}"
    );
    assert!(
        !received.iter().any(|p| p.starts_with("me0002000")),
        "FP_CTRL is read from OpenOCD only: {received:?}"
    );
    assert!(received.iter().any(|p| p == "g"), "{received:?}");
    assert!(
        received.iter().any(|p| p.starts_with("m20000000,")),
        "{received:?}"
    );
}

#[test]
fn an_openocd_like_server_over_tcp_gets_no_ack_mode_and_its_numbering() {
    // FP_CTRL of a Cortex-M4: 6 code comparators, 2 literal ones, enabled.
    let server = fake::start_tcp_as(
        fake::Flavour::OpenOcd,
        vec![("me0002000,4", Act::Reply("61020000".into()))],
    );
    let mut t = GdbTarget::connect(&server.address(), &options()).unwrap();
    assert_eq!(t.server(), &ServerKind::OpenOcd);
    assert_eq!(
        t.capabilities().breakpoints,
        Some(6),
        "OpenOCD: FP_CTRL.NUM_CODE"
    );
    let regs = t.read_registers().unwrap();
    assert_eq!(regs.get("xpsr"), Some(0x2100_0003));
    assert_eq!(regs.get("pc"), Some(0x0800_0100));
    assert_eq!(regs.get("basepri"), Some(0x80));
    assert!(server.received().iter().any(|p| p == "QStartNoAckMode"));
}

#[test]
fn nothing_listening_on_the_port_is_a_connect_error_naming_it() {
    // A port that was free a moment ago: bound, then released.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    let err = GdbTarget::connect(&address, &options()).expect_err("refused");
    assert!(matches!(err, TargetError::Connect { .. }), "{err:?}");
    assert!(err.to_string().contains(&address), "{err}");
}

/// `xpsr` = 0x01000003 (HardFault active), PC 0x08000100, SP 0x20000f00, LR
/// 0xfffffffd: a core already in its HardFault handler, reported at once.
fn faulted_core_script() -> Vec<(&'static str, Act)> {
    let mut g = "00000000".repeat(13);
    g.push_str("000f0020fdffffff0001000803000001");
    vec![
        ("g", Act::Reply(g)),
        ("p19", Act::Reply("03000001".into())),
        ("pf", Act::Reply("00010008".into())),
        ("pd", Act::Reply("000f0020".into())),
        ("pe", Act::Reply("fdffffff".into())),
    ]
}

#[test]
fn the_binary_inspects_a_core_behind_a_tcp_gdb_server() {
    let server = fake::start_tcp(faulted_core_script());
    let address = server.address();
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_isrscope"))
        .args(["inspect", "--gdb", &address, "--format", "json"])
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
    assert!(description.contains(&address), "{description}");
    assert_eq!(
        json["registers"]["pc"].as_u64(),
        Some(0x0800_0100),
        "{json}"
    );
}

/// Checks that `f` failed (in bounded time: the link's write timeout plus building a large
/// packet), with a timeout that says the server stopped reading. `f` runs on its own
/// thread so that a regression (a write that blocks forever) fails here, not hangs.
#[track_caller]
fn a_timely_write_timeout<S: Send + 'static>(
    subject: S,
    f: impl FnOnce(&mut S) -> Result<(), TargetError> + Send + 'static,
) -> S {
    let started = Instant::now();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut subject = subject;
        let result = f(&mut subject);
        let _ = tx.send((result, subject));
    });
    let (result, subject) = rx
        .recv_timeout(Duration::from_secs(40))
        .expect("the write hung: no write timeout on the link");
    let err = result.expect_err("the write must fail");
    let elapsed = started.elapsed();
    // Generous: building a many-MiB packet takes seconds in a debug build on a busy
    // machine. A write without a timeout never ends (the watchdog above catches it).
    assert!(elapsed < Duration::from_secs(20), "took {elapsed:?}: {err}");
    assert!(matches!(err, TargetError::Timeout { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("stopped reading"), "{text}");
    subject
}

/// A fake whose PacketSize lets one `M` packet exceed the socket buffer, which stops
/// reading after answering the `X` probe (with "": no binary writes, so `M`).
fn deaf_after_handshake(tcp: bool) -> fake::FakeServer {
    let script = vec![
        (
            "qSupported",
            Act::Reply("PacketSize=8000000;qXfer:features:read+;vContSupported+".into()),
        ),
        ("X", Act::ReplyThenStopReading(String::new())),
    ];
    if tcp {
        fake::start_tcp(script)
    } else {
        fake::start(script)
    }
}

#[test]
fn a_large_write_to_a_peer_that_stopped_reading_times_out_over_tcp() {
    let server = deaf_after_handshake(true);
    let t = GdbTarget::connect(&server.address(), &options()).unwrap();
    let data = vec![0x5Au8; HUGE / 2];
    let mut t = a_timely_write_timeout(t, move |t| t.write_memory(0x2000_0000, &data));
    // The stream is out of step (part of a packet went out): later use is refused.
    let err = t.read_register(reg::PC).expect_err("unusable");
    assert!(err.to_string().contains("no longer usable"), "{err}");
}

#[test]
fn a_large_write_to_a_peer_that_stopped_reading_times_out_over_a_unix_socket() {
    let server = deaf_after_handshake(false);
    let t = GdbTarget::connect(&server.address(), &options()).unwrap();
    let data = vec![0x5Au8; HUGE / 2];
    a_timely_write_timeout(t, move |t| t.write_memory(0x2000_0000, &data));
}

#[test]
fn the_connection_bounds_a_write_that_cannot_progress() {
    // The bare connection over a socket pair whose other end is never read.
    let (ours, theirs) = UnixStream::pair().unwrap();
    let conn = Connection::new(Box::new(ours), TIMEOUT, 0x20000);
    let payload = vec![b'0'; HUGE];
    let conn = a_timely_write_timeout(conn, move |c| c.send(&payload, "writing a huge packet"));
    assert!(conn.is_broken());
    // The peer got a prefix only, and nothing is sent after the failure.
    drop(conn);
    let mut got = Vec::new();
    let mut theirs = theirs;
    theirs.read_to_end(&mut got).unwrap();
    assert!(!got.is_empty() && got.len() < HUGE, "{}", got.len());
}

#[test]
fn openocd_breakpoint_units_are_unknown_when_fp_ctrl_is_refused_or_zero() {
    for answer in ["E01", "00000000"] {
        let server = fake::start_tcp_as(
            fake::Flavour::OpenOcd,
            vec![("me0002000,4", Act::Reply(answer.into()))],
        );
        let t = GdbTarget::connect(&server.address(), &options()).unwrap();
        assert_eq!(
            t.capabilities().breakpoints,
            None,
            "FP_CTRL answered {answer}"
        );
    }
}
