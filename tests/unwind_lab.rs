//! The unwinder on every lab scenario in real QEMU: the backtrace must contain the
//! manifest's, frame kind and stack must match, and where gdb-multiarch can unwind the
//! same stopped core, both must name the same functions in the same order.

mod common;

use std::time::Duration;

use common::lab::Qemu;
use common::manifest::{self, Scenario, is_subsequence};
use common::oracle;
use isrscope::debuginfo::Image;
use isrscope::model::frame::FpSource;
use isrscope::target::gdb::{ConnectOptions, GdbTarget};
use isrscope::target::{BreakpointKind, StopReason, Target, TargetError};
use isrscope::unwind::{Backtrace, Frame, UnwindOptions, unwind};

fn connect(qemu: &Qemu) -> GdbTarget {
    let address = format!("unix:{}", qemu.socket().display());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match GdbTarget::connect(&address, &ConnectOptions::default()) {
            Ok(t) => return t,
            Err(TargetError::Connect { .. }) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(e) => panic!("connect to QEMU's gdbstub: {e}"),
        }
    }
}

/// Runs the scenario to `stop_at` and unwinds; returns the backtrace and the QEMU
/// left halted there (for gdb).
fn stop_and_unwind(s: &Scenario, image: &Image) -> Result<(Backtrace, Qemu), String> {
    let entry = image.symbols().by_name(&s.stop_at).ok_or(format!("{}: no symbol {}", s.name, s.stop_at))?.address;
    let qemu = Qemu::start(&s.machine, &s.elf_path());
    let mut t = connect(&qemu);
    let err = |what: &str, e: TargetError| format!("{}: {what}: {e}; QEMU: {}", s.name, qemu.stderr());
    t.set_breakpoint(entry, BreakpointKind::Software).map_err(|e| err("break", e))?;
    t.resume().map_err(|e| err("resume", e))?;
    let stop = t.wait_for_stop(Duration::from_secs(20)).map_err(|e| err("wait", e))?;
    if stop != Some(StopReason::Breakpoint { pc: entry }) {
        return Err(format!("{}: stopped for {stop:?}, not at {} {entry:#x}", s.name, s.stop_at));
    }
    let bt = unwind(image, &mut t, &UnwindOptions::default()).map_err(|e| format!("{}: unwind: {e}", s.name))?;
    t.detach(false).map_err(|e| err("detach", e))?;
    Ok((bt, qemu))
}

fn describe(bt: &Backtrace) -> String {
    let mut out = String::new();
    for f in &bt.frames {
        match f {
            Frame::Frame(f) => out.push_str(&format!(
                "  {:#010x} {}{} ({:?})\n",
                f.pc,
                f.function.as_deref().unwrap_or("??"),
                if f.inlined { " [inlined]" } else { "" },
                f.method
            )),
            Frame::Exception(e) => out.push_str(&format!(
                "  <exception {} exc_return={:x?} stack={} recovered={}>\n",
                e.exception, e.exc_return, e.stack, e.recovered
            )),
        }
    }
    out.push_str(&format!("  end: {}\n  warnings: {:?}\n", bt.termination, bt.warnings));
    out
}

fn check(s: &Scenario) -> Result<(), String> {
    let image = Image::open(s.elf_path()).map_err(|e| e.to_string())?;
    let (bt, qemu) = stop_and_unwind(s, &image)?;
    let names = bt.function_names();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let fail = |what: String| Err(format!("{}: {what}\n{}", s.name, describe(&bt)));
    let wanted: Vec<&str> = s.backtrace.iter().map(String::as_str).collect();
    if names.first() != wanted.first() {
        return fail(format!("innermost frame is {:?}, not {:?}", names.first(), wanted.first()));
    }
    if !is_subsequence(&wanted, &names) {
        return fail(format!("backtrace {names:?} does not contain the manifest's {wanted:?}"));
    }
    let overflow = s.recursion.is_some();
    if let Some(e) = bt.exceptions().next().filter(|_| matches!(s.kind.as_str(), "fault" | "svc")) {
        let frame = e.frame.as_ref();
        if !overflow {
            let Some(frame) = frame else { return fail("no stacked frame".into()) };
            if frame.extended != s.extended_frame {
                return fail(format!("extended frame {} != manifest {}", frame.extended, s.extended_frame));
            }
            if s.lazy_fp && frame.fp.map(|f| f.source) != Some(FpSource::Registers) {
                return fail(format!("lazy FP: FP context from {:?}", frame.fp.map(|f| f.source)));
            }
            if let Some(stack) = &s.stack {
                let base = e.stack.split('_').next().unwrap_or_default();
                if !base.eq_ignore_ascii_case(stack) {
                    return fail(format!("frame on {} not {stack}", e.stack));
                }
            }
            if !s.fp_values.is_empty() {
                let interrupted = bt.function_frames().find(|f| f.registers.is_some() && f.method == isrscope::unwind::UnwindMethod::ExceptionFrame).unwrap();
                let regs = interrupted.registers.as_ref().unwrap();
                let got: Vec<Option<f32>> = (0..16).map(|i| regs.s(i).map(f32::from_bits)).collect();
                let want: Vec<Option<f32>> = s.fp_values.iter().map(|v| Some(*v)).collect();
                if got != want {
                    return fail(format!("S0-S15 of the interrupted context {got:?} != {want:?}"));
                }
            }
        }
    }
    if let Some(r) = &s.recursion {
        let Some(so) = &bt.stack_overflow else { return fail("no stack overflow reported".into()) };
        if so.recursion.as_ref().map(|r| r.function.as_str()) != Some(r.as_str()) {
            return fail(format!("recursion {:?}, expected {r}", so.recursion));
        }
    }
    // gdb-multiarch on the same stopped core.
    if !s.gdb_backtrace.is_empty() {
        let view = oracle::stop_at(&qemu, &s.elf_path(), None, &[]);
        // Exception entries included: gdb's `<signal handler called>` must sit where ours do.
        let gdb: Vec<&str> = view.backtrace.iter().map(String::as_str).collect();
        let ours: Vec<&str> = names.clone();
        let mut gdb_known: Vec<&str> = gdb.iter().copied().take_while(|n| *n != "??").collect();
        // Where the manifest says gdb is wrong by the architecture, compare up to there.
        if let Some(w) = s.gdb_wrong_frame {
            let mut functions = 0;
            let cut = gdb_known.iter().position(|n| {
                let at = *n != "<exception>" && functions == w;
                functions += usize::from(*n != "<exception>");
                at
            });
            gdb_known.truncate(cut.unwrap_or(gdb_known.len()));
        }
        if ours.len() < gdb_known.len() || ours[..gdb_known.len()] != gdb_known[..] {
            return fail(format!("gdb-multiarch's bt {gdb:?} disagrees with ours {ours:?}\n{}", view.raw));
        }
    }
    eprintln!("{}: ok\n{}", s.name, describe(&bt));
    Ok(())
}

#[test]
fn every_lab_scenario_unwinds_as_the_manifest_and_gdb_say() {
    let scenarios: Vec<Scenario> = manifest::load().into_iter().filter(|s| !s.backtrace.is_empty()).collect();
    let only = std::env::var("ISRSCOPE_SCENARIO").ok();
    let scenarios: Vec<Scenario> =
        scenarios.into_iter().filter(|s| only.as_deref().is_none_or(|o| s.name.contains(o))).collect();
    let failures = common::run_all(&scenarios, 2, check);
    assert!(failures.is_empty(), "{} of {} scenarios failed:\n{}", failures.len(), scenarios.len(), failures.join("\n\n"));
}
