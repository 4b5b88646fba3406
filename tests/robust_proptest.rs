//! Property tests over everything that parses bytes from outside: the RSP connection
//! (framing, acks, checksums, run-length, escapes) over arbitrary streams; the whole
//! GDB client (handshake, registers, memory, breakpoints, run control, the report and
//! the unwinder behind it) against a server whose answers are arbitrary or corrupted;
//! target descriptions with arbitrary registers and include graphs; stop replies; and
//! the core-dump readers (isrscope's ELF core, probe-rs MessagePack) on arbitrary,
//! mutated and generated files, with each readable dump analysed. None may panic or
//! hang. Bounded for CI (a few hundred cases each, seconds in all); raise
//! `PROPTEST_CASES` to run longer. Counts and durations: docs/robustness.md.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use isrscope::coredump::{self, CoreDump, DumpFormat, MemoryImage, Metadata};
use isrscope::debuginfo::Image;
use isrscope::report::{self, CollectOptions};
use isrscope::target::gdb::conn::{Connection, Transport};
use isrscope::target::gdb::packet;
use isrscope::target::gdb::stop::StopReply;
use isrscope::target::gdb::tdesc::TargetDescription;
use isrscope::target::gdb::{ConnectOptions, GdbTarget};
use isrscope::target::{BreakpointKind, Target, TargetError};
use proptest::prelude::*;

fn lab_image() -> Option<Image> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("firmware-samples/build/c/isr-fault.elf");
    Image::open(p).ok()
}

/// Every error must say something.
fn said(e: &TargetError) {
    assert!(!e.to_string().trim().is_empty(), "{e:?}");
}

// ---- An in-memory peer ----------------------------------------------------------

/// Hands `data` to the client `chunk` bytes at a time, then reports the peer closed.
struct Stream {
    data: VecDeque<u8>,
    chunk: usize,
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.chunk.min(buf.len()).min(self.data.len());
        for b in buf.iter_mut().take(n) {
            *b = self.data.pop_front().unwrap();
        }
        Ok(n)
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for Stream {
    fn set_read_timeout(&self, _: Option<Duration>) -> io::Result<()> {
        Ok(())
    }
    fn shutdown(&self) {}
}

/// What the scripted server answers to one request.
#[derive(Clone, Debug)]
enum Answer {
    /// What a QEMU-like server would say.
    Plausible,
    /// This payload, framed correctly.
    Payload(Vec<u8>),
    /// These bytes as they are.
    Raw(Vec<u8>),
    /// This payload with a wrong checksum.
    BadChecksum(Vec<u8>),
    /// The plausible answer cut short, then the peer closes.
    Truncated(usize),
}

const CORE_XML_DEFAULT: &str = concat!(
    r#"<?xml version="1.0"?><feature name="org.gnu.gdb.arm.m-profile">"#,
    r#"<reg name="r0" bitsize="32"/><reg name="r1" bitsize="32"/><reg name="r2" bitsize="32"/>"#,
    r#"<reg name="r3" bitsize="32"/><reg name="r4" bitsize="32"/><reg name="r5" bitsize="32"/>"#,
    r#"<reg name="r6" bitsize="32"/><reg name="r7" bitsize="32"/><reg name="r8" bitsize="32"/>"#,
    r#"<reg name="r9" bitsize="32"/><reg name="r10" bitsize="32"/><reg name="r11" bitsize="32"/>"#,
    r#"<reg name="r12" bitsize="32"/><reg name="sp" bitsize="32"/><reg name="lr" bitsize="32"/>"#,
    r#"<reg name="pc" bitsize="32"/><reg name="xpsr" bitsize="32" regnum="25"/></feature>"#
);

/// A QEMU-like server: answers the handshake, then each request from `answers` (then
/// plausibly), with memory filled from `seed` so the unwinder walks varied stacks.
struct Server {
    inbox: Vec<u8>,
    outbox: VecDeque<u8>,
    chunk: usize,
    answers: VecDeque<Answer>,
    core_xml: String,
    seed: u64,
    closed: bool,
}

impl Server {
    fn plausible(&mut self, req: &str) -> Vec<u8> {
        let mut rng = self.seed ^ (req.len() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let s = if req.starts_with("qSupported") {
            "PacketSize=1000;qXfer:features:read+;vContSupported+".to_string()
        } else if let Some(rest) = req.strip_prefix("qXfer:features:read:") {
            match rest.split(':').next().unwrap_or("") {
                "target.xml" => r#"l<?xml version="1.0"?><target><architecture>arm</architecture><xi:include href="core.xml"/></target>"#.to_string(),
                "core.xml" => format!("l{}", self.core_xml),
                _ => "E00".into(),
            }
        } else if req == "vCont?" {
            "vCont;c;C;s;S".into()
        } else if req == "?" || req.starts_with("vCont;") || req == "c" || req == "s" {
            "T05thread:01;".into()
        } else if req == "g" {
            // In BusFault, PC in the lab ELF's code, SP in RAM, the rest random.
            let mut regs: Vec<u32> = (0..13).map(|_| next() as u32).collect();
            regs.extend([0x2001_ff00 + (next() as u32 & 0xf8), 0xffff_fff9, 0x0800_0200 + (next() as u32 & 0x7e), 0x0100_0005]);
            regs.iter().map(|r| packet::to_hex(&r.to_le_bytes())).collect()
        } else if let Some(rest) = req.strip_prefix('m') {
            let len = rest.split(',').nth(1).and_then(|l| usize::from_str_radix(l, 16).ok()).unwrap_or(0);
            let bytes: Vec<u8> = (0..len.min(0x800))
                .map(|i| match next() % 4 {
                    // Plausible words: code addresses, EXC_RETURN, RAM; else noise.
                    0 if i % 4 == 0 => 0x01,
                    1 => 0xff,
                    _ => next() as u8,
                })
                .collect();
            packet::to_hex(&bytes)
        } else if req.starts_with('p') {
            packet::to_hex(&(next() as u32).to_le_bytes())
        } else if req.starts_with(['Z', 'z', 'D', 'M', 'X', 'P']) {
            "OK".into()
        } else {
            String::new()
        };
        s.into_bytes()
    }

    fn answer(&mut self, req: &[u8]) {
        let text = String::from_utf8_lossy(req).into_owned();
        let handshake = text.starts_with("qSupported") || text.starts_with("qXfer") || text == "vCont?";
        let answer = if handshake { Answer::Plausible } else { self.answers.pop_front().unwrap_or(Answer::Plausible) };
        self.outbox.push_back(b'+');
        match answer {
            Answer::Plausible => {
                let p = self.plausible(&text);
                self.outbox.extend(packet::frame(&p));
            }
            Answer::Payload(p) => self.outbox.extend(packet::frame(&p)),
            Answer::Raw(r) => self.outbox.extend(r),
            Answer::BadChecksum(p) => {
                let mut f = packet::frame(&p);
                let n = f.len();
                f[n - 1] = if f[n - 1] == b'0' { b'1' } else { b'0' };
                self.outbox.extend(f);
            }
            Answer::Truncated(at) => {
                let p = self.plausible(&text);
                let f = packet::frame(&p);
                self.outbox.extend(&f[..at.min(f.len() - 1)]);
                self.closed = true;
            }
        }
    }
}

impl Read for Server {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.chunk.min(buf.len()).min(self.outbox.len());
        for b in buf.iter_mut().take(n) {
            *b = self.outbox.pop_front().unwrap();
        }
        Ok(n) // 0: the peer has nothing more to say and hangs up
    }
}

impl Write for Server {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.closed {
            return Err(io::Error::new(io::ErrorKind::BrokenPipe, "closed"));
        }
        self.inbox.extend_from_slice(buf);
        loop {
            // Acks and the interrupt byte before the next packet.
            while let Some(&b) = self.inbox.first() {
                match b {
                    b'$' => break,
                    0x03 => {
                        self.inbox.remove(0);
                        self.outbox.extend(packet::frame(b"T02thread:01;"));
                    }
                    _ => {
                        self.inbox.remove(0);
                    }
                }
            }
            let Some(hash) = self.inbox.iter().position(|&b| b == b'#') else { break };
            if self.inbox.len() < hash + 3 {
                break;
            }
            let req = self.inbox[1..hash].to_vec();
            self.inbox.drain(..hash + 3);
            self.answer(&req);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for Server {
    fn set_read_timeout(&self, _: Option<Duration>) -> io::Result<()> {
        Ok(())
    }
    fn shutdown(&self) {}
}

fn answer() -> impl Strategy<Value = Answer> {
    let bytes = proptest::collection::vec(any::<u8>(), 0..48);
    let hexish = proptest::collection::vec(prop_oneof![Just(b'0'), Just(b'f'), Just(b'*'), Just(b'}'), Just(b'E'), Just(b'T'), Just(b';'), Just(b':'), any::<u8>()], 0..48);
    prop_oneof![
        60 => Just(Answer::Plausible),
        1 => bytes.clone().prop_map(Answer::Payload),
        1 => hexish.prop_map(Answer::Payload),
        1 => Just(Answer::Payload(b"E14".to_vec())),
        1 => Just(Answer::Payload(b"".to_vec())),
        1 => Just(Answer::Payload(b"T05thread:01;".to_vec())),
        1 => Just(Answer::Payload(b"W00".to_vec())),
        1 => bytes.clone().prop_map(Answer::Raw),
        1 => bytes.prop_map(Answer::BadChecksum),
        1 => (0usize..40).prop_map(Answer::Truncated),
    ]
}

// ---- Target descriptions ---------------------------------------------------------

fn reg_xml() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        Just("r0"), Just("sp"), Just("pc"), Just("xpsr"), Just("xPSR"), Just("msp"), Just("d0"), Just("s3"),
        Just(""), Just("\u{e9}t\u{e9}"), Just("r0"),
    ];
    let bits = prop_oneof![Just("32"), Just("64"), Just("1"), Just("0"), Just("128"), Just("4294967295"), Just("-1"), Just("x"), Just("99999999999")];
    let num = prop_oneof![Just(None), Just(Some("0")), Just(Some("25")), Just(Some("4294967295")), Just(Some("-3")), Just(Some("zz")), Just(Some("17"))];
    (name, bits, num).prop_map(|(n, b, r)| match r {
        Some(r) => format!(r#"<reg name="{n}" bitsize="{b}" regnum="{r}"/>"#),
        None => format!(r#"<reg name="{n}" bitsize="{b}"/>"#),
    })
}

fn tdesc_doc(annexes: usize) -> impl Strategy<Value = String> {
    let item = prop_oneof![
        3 => proptest::collection::vec(reg_xml(), 0..6).prop_map(|regs| format!(r#"<feature name="org.gnu.gdb.arm.m-profile">{}</feature>"#, regs.concat())),
        1 => (0..annexes.max(1)).prop_map(|i| format!(r#"<xi:include href="a{i}.xml"/>"#)),
        1 => Just("<architecture>arm</architecture>".to_string()),
        1 => Just("<feature><reg/></feature>".to_string()),
        1 => "[<>/=\"a-z ]{0,12}".prop_map(|s| s),
    ];
    (proptest::collection::vec(item, 0..6), any::<bool>(), 0usize..400).prop_map(|(items, feature_root, cut)| {
        let body = items.concat();
        let doc = if feature_root {
            format!(r#"<?xml version="1.0"?><feature name="x">{body}</feature>"#)
        } else {
            format!(r#"<?xml version="1.0"?><!DOCTYPE target SYSTEM "gdb-target.dtd"><target>{body}</target>"#)
        };
        // Sometimes cut short (a truncated transfer).
        if cut < doc.len() && cut % 3 == 0 { doc.chars().take(cut).collect() } else { doc }
    })
}

// ---- Core dumps --------------------------------------------------------------------

fn sample_dump(regs: &[(String, u32)], pieces: Vec<(u32, Vec<u8>)>) -> CoreDump {
    let mut meta = Metadata { format: coredump::meta::FORMAT_VERSION, tool: "robust_proptest".into(), ..Metadata::default() };
    for (n, v) in regs {
        meta.registers.insert(n.clone(), *v);
    }
    CoreDump { format: DumpFormat::Isrscope, memory: MemoryImage::from_pieces(pieces), meta, warnings: Vec::new() }
}

fn register_name() -> impl Strategy<Value = String> {
    prop_oneof![
        (0usize..13).prop_map(|i| format!("r{i}")),
        Just("sp".to_string()), Just("lr".to_string()), Just("pc".to_string()), Just("xpsr".to_string()),
        Just("msp".to_string()), Just("psp".to_string()), Just("control".to_string()), Just("fpscr".to_string()),
        (0usize..40).prop_map(|i| format!("s{i}")),
        "[a-z]{1,6}",
    ]
}

/// The fields of probe-rs 0.32's `CoreDump`, for writing MessagePack like it does.
#[derive(Debug, serde::Serialize)]
struct ProbeRsDump {
    registers: HashMap<u16, ProbeRsValue>,
    data: Vec<(std::ops::Range<u64>, Vec<u8>)>,
    instruction_set: Option<String>,
    supports_native_64bit_access: bool,
    core_type: Option<String>,
    fpu_support: bool,
    floating_point_register_count: Option<u32>,
}

#[derive(Debug, serde::Serialize)]
enum ProbeRsValue {
    U32(u32),
    U64(u64),
    U128(u128),
}

fn probe_rs_dump() -> impl Strategy<Value = ProbeRsDump> {
    let value = prop_oneof![
        any::<u32>().prop_map(ProbeRsValue::U32),
        any::<u64>().prop_map(ProbeRsValue::U64),
        any::<u128>().prop_map(ProbeRsValue::U128),
    ];
    let id = prop_oneof![0u16..21, Just(33u16), 64u16..96, any::<u16>()];
    let start = prop_oneof![Just(0x2000_0000u64), Just(0xe000_ed00), Just(0xffff_fff0), any::<u64>()];
    let range = (start, 0u64..0x200, any::<bool>(), proptest::collection::vec(any::<u8>(), 0..0x100))
        .prop_map(|(s, len, lie, data)| {
            let end = if lie { s.wrapping_add(len * 1000) } else { s.saturating_add(data.len() as u64) };
            (s..end, data)
        });
    let core = prop_oneof![Just(Some("armv7em".to_string())), Just(Some("armv6m".to_string())), Just(Some("riscv".to_string())), Just(None), "[a-z0-9]{0,8}".prop_map(Some)];
    (proptest::collection::hash_map(id, value, 0..40), proptest::collection::vec(range, 0..6), core, any::<bool>())
        .prop_map(|(registers, data, core_type, fpu)| ProbeRsDump {
            registers,
            data,
            instruction_set: Some("Thumb2".into()),
            supports_native_64bit_access: false,
            core_type,
            fpu_support: fpu,
            floating_point_register_count: fpu.then_some(32),
        })
}

/// Analyses a readable dump as `isrscope analyze` does: must not panic.
fn analyse(dump: CoreDump, image: Option<&Image>) {
    match coredump::analyze::analyze(dump, "dump", image, None) {
        Ok(r) => {
            let _ = serde_json::to_string(&r).unwrap();
            let _ = report::text::render(&r, false);
        }
        Err(e) => said(&e),
    }
}

fn mutate(mut bytes: Vec<u8>, edits: &[(usize, u8, u8)]) -> Vec<u8> {
    for &(at, kind, v) in edits {
        if bytes.is_empty() {
            break;
        }
        let at = at % bytes.len();
        match kind % 4 {
            0 => bytes[at] = v,
            1 => bytes[at] ^= 1 << (v % 8),
            // A 32-bit field set to a huge or boundary value (sizes, offsets, counts).
            2 => {
                let w = [0xffff_ffffu32, 0x8000_0000, 0x7fff_ffff, 0xffff_fff0, 0][usize::from(v) % 5];
                let end = (at + 4).min(bytes.len());
                bytes[at..end].copy_from_slice(&w.to_le_bytes()[..end - at]);
            }
            _ => bytes.truncate(at),
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Any byte stream in reply to a request: a payload or an error, never a panic; and
    /// a connection that failed stays failed.
    #[test]
    fn rsp_connection_over_any_stream(data in proptest::collection::vec(any::<u8>(), 0..300), chunk in 1usize..64) {
        let mut c = Connection::new(Box::new(Stream { data: data.into(), chunk }), Duration::from_millis(50), 4096);
        let started = Instant::now();
        for _ in 0..4 {
            match c.request(b"g", "reading the registers") {
                Ok(_) => {}
                Err(e) => said(&e),
            }
        }
        prop_assert!(started.elapsed() < Duration::from_secs(2));
    }

    /// Well-formed frames with any payload (run-length and escapes included), preceded
    /// by acks and possibly corrupted: a correct frame decodes to exactly what
    /// `packet::decode` says; a corrupted one is an error.
    #[test]
    fn rsp_frames_decode_or_fail_cleanly(
        payload in proptest::collection::vec(prop_oneof![any::<u8>().prop_filter("no framing bytes", |b| !matches!(b, b'$' | b'#')), Just(b'*'), Just(b'}')], 0..120),
        corrupt in proptest::option::of(0usize..130),
        chunk in 1usize..16,
    ) {
        let mut bytes = b"+".to_vec();
        bytes.extend(packet::frame(&payload));
        let mut corrupted = false;
        if let Some(at) = corrupt {
            let at = 1 + at % (bytes.len() - 1);
            if bytes[at] != b'0' {
                bytes[at] = b'0';
                corrupted = true;
            }
        }
        let mut c = Connection::new(Box::new(Stream { data: bytes.into(), chunk }), Duration::from_millis(50), 4096);
        match c.request(b"g", "reading the registers") {
            Ok(got) if !corrupted => prop_assert_eq!(Ok(got), packet::decode(&payload)),
            Ok(_) => {}
            Err(e) => {
                said(&e);
                prop_assert!(corrupted || packet::decode(&payload).is_err(), "{e}");
            }
        }
    }

    /// The whole client against a server whose answers may be anything: connect, read,
    /// break, run, report (with the lab ELF: symbolize and unwind) and detach.
    #[test]
    fn gdb_client_and_report_against_any_answers(
        answers in proptest::collection::vec(answer(), 0..40),
        chunk in prop_oneof![Just(4096usize), 1usize..32],
        seed in any::<u64>(),
        odd_tdesc in proptest::option::weighted(0.1, tdesc_doc(0)),
    ) {
        let server = Server {
            inbox: Vec::new(),
            outbox: VecDeque::new(),
            chunk,
            answers: answers.into(),
            core_xml: odd_tdesc.unwrap_or_else(|| CORE_XML_DEFAULT.to_string()),
            seed: seed | 1,
            closed: false,
        };
        let options = ConnectOptions { timeout: Duration::from_millis(50), ..ConnectOptions::default() };
        let started = Instant::now();
        let mut t = match GdbTarget::over(Box::new(server), "unix:/fake".parse().unwrap(), &options) {
            Ok(t) => t,
            Err(e) => {
                said(&e);
                if std::env::var_os("ROBUST_VERBOSE").is_some() {
                    eprintln!("connect: {e}");
                }
                return Ok(());
            }
        };
        if let Err(e) = t.read_registers() { said(&e) }
        let mut buf = [0u8; 64];
        if let Err(e) = t.read_memory(0xe000_ed00, &mut buf) { said(&e) }
        if let Err(e) = t.set_breakpoint(0x0800_0100, BreakpointKind::Software) { said(&e) }
        if let Err(e) = t.resume() { said(&e) }
        if let Err(e) = t.wait_for_stop(Duration::from_millis(50)) { said(&e) }
        let image = lab_image();
        match report::collect(&mut t, image.as_ref(), &CollectOptions::default()) {
            Ok(r) => {
                let _ = report::text::render(&r, false);
                if std::env::var_os("ROBUST_VERBOSE").is_some() {
                    eprintln!("report: {} frames, {}", r.backtrace.len(), r.summary);
                }
            }
            Err(e) => {
                said(&e);
                if std::env::var_os("ROBUST_VERBOSE").is_some() {
                    eprintln!("error: {e}");
                }
            }
        }
        if let Err(e) = t.detach(false) { said(&e) }
        prop_assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    }

    /// Target descriptions with any registers, sizes, numbers and include graphs
    /// (cycles, missing annexes, truncated XML): parsed or refused, never a panic.
    #[test]
    fn target_descriptions_of_any_shape(root in tdesc_doc(3), annexes in proptest::collection::vec(tdesc_doc(3), 3)) {
        let mut fetch = |name: &str| -> Result<String, TargetError> {
            let i: usize = name.trim_start_matches('a').trim_end_matches(".xml").parse().map_err(|_| TargetError::Other(format!("no annex {name}")))?;
            annexes.get(i).cloned().ok_or_else(|| TargetError::Other(format!("no annex {name}")))
        };
        match TargetDescription::load(&root, &mut fetch) {
            Ok(d) => {
                let layout = d.g_layout();
                prop_assert!(layout.windows(2).all(|w| w[0].1 <= w[1].1));
            }
            Err(e) => said(&e),
        }
    }

    #[test]
    fn stop_replies_of_any_bytes(raw in proptest::collection::vec(prop_oneof![any::<u8>(), Just(b';'), Just(b':'), Just(b'T'), Just(b'0')], 0..80)) {
        if let Ok(s) = StopReply::parse(&raw) {
            let _ = s.describe();
        }
    }

    /// Any bytes, and ELF-looking or MessagePack-looking prefixes of them.
    #[test]
    fn core_dump_reader_on_any_bytes(tail in proptest::collection::vec(any::<u8>(), 0..400), head in 0u8..3) {
        let mut bytes = match head { 0 => b"\x7fELF\x01\x01\x01\0".to_vec(), 1 => vec![0x87], _ => Vec::new() };
        bytes.extend(tail);
        if let Ok(d) = CoreDump::parse(&bytes, "fuzz") {
            analyse(d, None);
        }
    }

    /// isrscope's own ELF core, written from any registers and memory and then
    /// mutated (bytes, bits, huge 32-bit fields, truncation): read back or refused; a
    /// dump that reads back is analysed with the lab ELF.
    #[test]
    fn isrscope_core_files_mutated(
        regs in proptest::collection::vec((register_name(), any::<u32>()), 0..30),
        pieces in proptest::collection::vec((prop_oneof![Just(0x2001_ff00u32), Just(0xe000_ed00), Just(0xffff_ff00), any::<u32>()], proptest::collection::vec(any::<u8>(), 0..0x200)), 0..4),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 0..6),
    ) {
        // pc, sp and xpsr are what every dump holds; the rest is arbitrary.
        let mut regs = regs;
        regs.extend([("pc".to_string(), 0x0800_0220), ("sp".to_string(), 0x2001_ff00), ("xpsr".to_string(), 0x0100_0005)]);
        let dump = sample_dump(&regs, pieces);
        let clean = dump.to_elf();
        if edits.is_empty() {
            let back = CoreDump::parse(&clean, "clean").unwrap();
            prop_assert_eq!(&back.memory, &dump.memory);
        }
        let bytes = mutate(clean, &edits);
        match CoreDump::parse(&bytes, "mutated") {
            Ok(d) => analyse(d, lab_image().as_ref()),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    /// probe-rs coredumps (both MessagePack struct encodings) with any registers, memory
    /// ranges that disagree with their data, foreign core types, and byte mutations.
    #[test]
    fn probe_rs_coredumps_generated_and_mutated(
        dump in probe_rs_dump(),
        named in any::<bool>(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 0..4),
    ) {
        let bytes = if named { rmp_serde::to_vec_named(&dump).unwrap() } else { rmp_serde::to_vec(&dump).unwrap() };
        for b in [bytes.clone(), mutate(bytes, &edits)] {
            match CoreDump::parse(&b, "probe-rs") {
                Ok(d) => analyse(d, lab_image().as_ref()),
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }
    }
}

/// The register values of a probe-rs dump land where the reader says.
#[test]
fn a_generated_probe_rs_dump_reads_back() {
    let mut registers = HashMap::new();
    registers.insert(15u16, ProbeRsValue::U32(0x0800_0220));
    registers.insert(13, ProbeRsValue::U32(0x2001_ffc0));
    registers.insert(16, ProbeRsValue::U32(0x0100_0005));
    let dump = ProbeRsDump {
        registers,
        data: vec![(0x2001_ffc0..0x2001_ffc8, vec![1, 2, 3, 4, 5, 6, 7, 8])],
        instruction_set: Some("Thumb2".into()),
        supports_native_64bit_access: false,
        core_type: Some("armv7em".into()),
        fpu_support: false,
        floating_point_register_count: None,
    };
    for bytes in [rmp_serde::to_vec(&dump).unwrap(), rmp_serde::to_vec_named(&dump).unwrap()] {
        let d = CoreDump::parse(&bytes, "gen").unwrap();
        assert_eq!(d.format, DumpFormat::ProbeRs);
        assert_eq!(d.meta.registers.get("pc"), Some(&0x0800_0220));
        let _: &BTreeMap<String, u32> = &d.meta.registers;
    }
}

/// Regression: `regnum="4294967295"` overflowed the next register number (a panic in
/// debug builds) and a 4-gigabit `bitsize` was accepted.
#[test]
fn a_huge_regnum_or_bitsize_in_a_target_description_is_not_a_crash() {
    let mut no_annex = |n: &str| -> Result<String, TargetError> { Err(TargetError::Other(format!("no {n}"))) };
    let huge_num = r#"<target><feature name="f"><reg name="r0" bitsize="32" regnum="4294967295"/><reg name="r1" bitsize="32"/></feature></target>"#;
    let d = TargetDescription::load(huge_num, &mut no_annex).unwrap();
    assert_eq!(d.registers.len(), 1, "r1 takes the same (saturated) number: {:?}", d.registers);
    let huge_bits = r#"<target><feature name="f"><reg name="r0" bitsize="4294967295"/></feature></target>"#;
    let e = TargetDescription::load(huge_bits, &mut no_annex).unwrap_err();
    assert!(e.to_string().contains("no valid bitsize"), "{e}");
}
