//! The unwinder on stacks laid out word by word over the assembly fixture, whose
//! prologues and CFI are explicit: every exception transition kind, LR overwritten
//! by the handler, corrupted stacks, and images without CFI.

mod unwind_support;

use isrscope::debuginfo::Image;
use isrscope::model::arch::Profile;
use isrscope::unwind::*;
use unwind_support::*;

const TOP: u32 = 0x2002_0000;
const BOTTOM: u32 = 0x2001_C000;
const SCB: u32 = 0xE000_ED00;
const FPCCR: u32 = 0xE000_EF34;

struct Fx {
    image: Image,
    t: MemTarget,
    st: Stack,
}

fn fx_from(path: Option<&'static std::path::Path>) -> Option<Fx> {
    let image = Image::open(path?).unwrap();
    let mut t = MemTarget::new();
    t.map(BOTTOM, TOP - BOTTOM);
    t.map(SCB, 0x100);
    t.map(0xE000_EF30, 0x10);
    Some(Fx { image, t, st: Stack::new(TOP) })
}

fn fx() -> Option<Fx> {
    fx_from(asm_fixture())
}

impl Fx {
    fn a(&self, name: &str) -> u32 {
        sym(&self.image, name)
    }
    /// A return address into `label` (Thumb bit set).
    fn ra(&self, label: &str) -> u32 {
        self.a(label) | 1
    }
    /// Reset_Handler -> thread_main -> mid -> (call to leaf): returns LR for leaf.
    fn thread_to_leaf(&mut self) -> u32 {
        let ra_reset = (self.a("Reset_Handler") + 4) | 1;
        self.st.push(&mut self.t, &[0x44, 0x55, 0x66, ra_reset]);
        let ra_main = self.ra("ra_main");
        self.st.push(&mut self.t, &[0x77, ra_main]);
        self.st.reserve(8);
        self.ra("ra_mid")
    }
    /// Hardware stacking of a basic (or extended) frame at the current SP, with the
    /// alignment pad when SP is not 8-byte aligned.
    fn stack_exception(&mut self, pc: u32, lr: u32, xpsr: u32, fp: Option<([u32; 16], u32)>) -> u32 {
        let mut xpsr = xpsr;
        if self.st.sp % 8 != 0 {
            self.st.reserve(4);
            xpsr |= 1 << 9;
        }
        if let Some((s, fpscr)) = fp {
            let mut words: Vec<u32> = s.to_vec();
            words.push(fpscr);
            words.push(0);
            self.st.push(&mut self.t, &words);
        }
        self.st.push(&mut self.t, &[0xA0, 0xA1, 0xA2, 0xA3, 0xAC, lr, pc, xpsr])
    }
    fn live(&mut self, pc: u32, lr: u32, ipsr: u32) {
        let sp = self.st.sp;
        self.t.set("pc", pc);
        self.t.set("lr", lr);
        self.t.set("sp", sp);
        self.t.set("msp", sp);
        self.t.set("psp", 0x2001_C100);
        self.t.set("xpsr", 0x0100_0000 | ipsr);
        self.t.set("control", 0);
        for (i, n) in ["r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12"].iter().enumerate() {
            self.t.set(n, 0x1000 + i as u32);
        }
    }
    fn unwind(&mut self) -> Backtrace {
        self.unwind_with(Profile::V7M)
    }
    fn unwind_with(&mut self, profile: Profile) -> Backtrace {
        let opts = UnwindOptions { profile: Some(profile), ..Default::default() };
        unwind(&self.image, &mut self.t, &opts).unwrap()
    }
}

fn names(bt: &Backtrace) -> Vec<String> {
    bt.function_names()
}

fn frame<'b>(bt: &'b Backtrace, name: &str) -> &'b FunctionFrame {
    bt.function_frames().find(|f| f.function.as_deref() == Some(name)).unwrap_or_else(|| panic!("no frame {name}"))
}

const THREAD_TAIL: [&str; 4] = ["leaf", "mid", "thread_main", "Reset_Handler"];

fn expect(parts: &[&[&str]]) -> Vec<String> {
    parts.iter().flat_map(|p| p.iter().map(|s| s.to_string())).collect()
}

#[test]
fn plain_call_chain_ends_at_the_reset_handler() {
    plain_call_chain(fx());
}

fn plain_call_chain(f: Option<Fx>) {
    let Some(mut f) = f else { return };
    let lr = f.thread_to_leaf();
    f.live(f.a("leaf_body"), lr, 0);
    let bt = f.unwind();
    assert_eq!(names(&bt), expect(&[&THREAD_TAIL]));
    assert_eq!(bt.termination, Termination::ResetHandler { function: "Reset_Handler".into() });
    assert_eq!(frame(&bt, "leaf").method, UnwindMethod::Registers);
    assert_eq!(frame(&bt, "mid").method, UnwindMethod::Cfi);
    let main = frame(&bt, "thread_main").registers.as_ref().unwrap();
    assert_eq!(main.get(4), Some(0x1004), "r4 untouched by mid: same value");
    assert_eq!(main.get(7), Some(0x77), "r7 restored from mid's save slot");
    assert_eq!(main.get(0), None, "r0 is not preserved across calls");
    let reset = frame(&bt, "Reset_Handler").registers.as_ref().unwrap();
    assert_eq!((reset.get(4), reset.get(5), reset.get(6)), (Some(0x44), Some(0x55), Some(0x66)));
    assert_eq!(reset.sp(), Some(TOP));
    assert!(bt.stack_overflow.is_none());
    assert!(bt.warnings.is_empty(), "{:?}", bt.warnings);
}

#[test]
fn basic_frame_on_msp_deep_inside_a_handler() {
    basic_frame_deep_in_handler(fx());
}

fn basic_frame_deep_in_handler(f: Option<Fx>) {
    let Some(mut f) = f else { return };
    let lr = f.thread_to_leaf();
    let thread_sp = f.st.sp;
    let frame_addr = f.stack_exception(f.a("leaf_body"), lr, 0x0100_0000, None);
    f.st.push(&mut f.t, &[0x1004, 0xFFFF_FFF9]);
    let ra = f.ra("ra_systick");
    f.st.push(&mut f.t, &[0x1003, ra]);
    f.live(f.a("isr_work_body"), ra, 15);
    let bt = f.unwind();
    assert_eq!(names(&bt), expect(&[&["isr_work", "systick_handler", "<exception>"], &THREAD_TAIL]));
    assert_eq!(bt.termination, Termination::ResetHandler { function: "Reset_Handler".into() });
    let e = bt.exceptions().next().unwrap();
    assert_eq!(e.exception.0, 15);
    assert_eq!(e.exc_return, Some(0xFFFF_FFF9));
    assert_eq!(e.stack, "MSP");
    assert!(!e.recovered);
    let sf = e.frame.unwrap();
    assert_eq!(sf.address, frame_addr);
    assert_eq!(sf.interrupted_sp, thread_sp);
    assert!(!sf.padded && !sf.extended);
    assert_eq!(e.interrupted.unwrap().0, 0);
    let leaf = frame(&bt, "leaf");
    assert_eq!(leaf.method, UnwindMethod::ExceptionFrame);
    assert_eq!(leaf.pc, f.a("leaf_body"));
    let r = leaf.registers.as_ref().unwrap();
    assert_eq!((r.get(0), r.get(3), r.get(12)), (Some(0xA0), Some(0xA3), Some(0xAC)));
    assert_eq!(r.get(4), Some(0x1004), "r4 restored from the handler's push");
    assert_eq!(r.sp(), Some(thread_sp));
    assert_eq!(r.xpsr(), Some(0x0100_0000));
}

#[test]
fn alignment_padding_is_skipped() {
    let Some(mut f) = fx() else { return };
    let lr = f.thread_to_leaf();
    f.st.push(&mut f.t, &[0xDEAD]); // thread SP now 4 mod 8
    let thread_sp = f.st.sp;
    assert_eq!(thread_sp % 8, 4);
    // leaf "pushed" one word: describe it as an interrupted leaf whose SP is lower.
    f.stack_exception(f.a("leaf"), lr, 0x0100_0000, None);
    f.live(f.a("fault_handler"), 0xFFFF_FFF9, 5);
    let bt = f.unwind();
    let e = bt.exceptions().next().unwrap();
    let sf = e.frame.unwrap();
    assert!(sf.padded);
    assert_eq!(sf.interrupted_sp, thread_sp, "frame + 0x20 + 4 bytes of pad");
    assert_eq!(frame(&bt, "leaf").sp, Some(thread_sp));
}

#[test]
fn stop_at_the_handler_entry_with_lr_still_exc_return() {
    let Some(mut f) = fx() else { return };
    let lr = f.thread_to_leaf();
    f.stack_exception(f.a("leaf_body"), lr, 0x0100_0000, None);
    f.live(f.a("systick_handler"), 0xFFFF_FFF9, 15);
    let bt = f.unwind();
    assert_eq!(names(&bt), expect(&[&["systick_handler", "<exception>"], &THREAD_TAIL]));
}

fn fp_values(base: u32) -> [u32; 16] {
    std::array::from_fn(|i| base + i as u32)
}

#[test]
fn extended_frame_gives_the_interrupted_fp_registers() {
    extended_frame(fx());
}

fn extended_frame(f: Option<Fx>) {
    let Some(mut f) = f else { return };
    let lr = f.thread_to_leaf();
    let thread_sp = f.st.sp;
    f.stack_exception(f.a("leaf_body"), lr, 0x0100_0000, Some((fp_values(0x5000), 0x0300_0000)));
    f.live(f.a("systick_handler"), 0xFFFF_FFE9, 15);
    let bt = f.unwind();
    assert_eq!(names(&bt), expect(&[&["systick_handler", "<exception>"], &THREAD_TAIL]));
    let sf = bt.exceptions().next().unwrap().frame.unwrap();
    assert!(sf.extended);
    assert_eq!(sf.size(), 0x68, "26 words");
    assert_eq!(sf.interrupted_sp, thread_sp);
    let r = frame(&bt, "leaf").registers.as_ref().unwrap();
    assert_eq!(r.s(0), Some(0x5000));
    assert_eq!(r.s(15), Some(0x500F));
}

#[test]
fn lazy_fp_takes_the_values_from_the_live_registers() {
    let Some(mut f) = fx() else { return };
    let lr = f.thread_to_leaf();
    let frame_addr = f.stack_exception(f.a("leaf_body"), lr, 0x0100_0000, Some((fp_values(0xBAD0), 0)));
    f.live(f.a("systick_handler"), 0xFFFF_FFE9, 15);
    // LSPACT set, FPCAR at this frame's S0 slot: memory holds stale words.
    f.t.write_u32(FPCCR, 0xC000_0001);
    f.t.write_u32(FPCCR + 4, frame_addr + 0x20);
    for i in 0..16 {
        f.t.set(&format!("s{i}"), 0x7000 + i);
    }
    f.t.set("fpscr", 0x0400_0000);
    let bt = f.unwind();
    let sf = bt.exceptions().next().unwrap().frame.unwrap();
    let fp = sf.fp.unwrap();
    assert_eq!(fp.source, isrscope::model::frame::FpSource::Registers);
    let r = frame(&bt, "leaf").registers.as_ref().unwrap();
    assert_eq!(r.s(0), Some(0x7000));
    assert_eq!(r.s(15), Some(0x700F));
    assert_eq!(names(&bt), expect(&[&["systick_handler", "<exception>"], &THREAD_TAIL]));
}

#[test]
fn thread_on_psp_is_read_from_the_process_stack() {
    thread_on_psp(fx());
}

fn thread_on_psp(f: Option<Fx>) {
    let Some(mut f) = f else { return };
    // The task's stack lives elsewhere (PSP); the handler runs on MSP near the top.
    let psp_top = 0x2001_D000;
    let mut task = Stack::new(psp_top);
    task.push(&mut f.t, &[0x44, 0x55, 0x66, 0xFFFF_FFFF]); // thread_main's frame: task entry, LR reset-like
    let ra_main = f.ra("ra_main");
    task.push(&mut f.t, &[0x77, ra_main]);
    task.reserve(8);
    let task_sp = task.sp;
    let ra_mid = f.ra("ra_mid");
    let leaf_body = f.a("leaf_body");
    let frame_addr = task.push(&mut f.t, &[0xA0, 0xA1, 0xA2, 0xA3, 0xAC, ra_mid, leaf_body, 0x0100_0000]);
    // Garbage that looks like a frame on the MSP, to catch a tool reading the wrong stack.
    let nmi = f.a("nmi_handler");
    f.st.push(&mut f.t, &[0, 0, 0, 0, 0, 0, nmi, 0x0100_0000]);
    f.st.push(&mut f.t, &[0x1004, 0xFFFF_FFFD]);
    f.live(f.a("systick_handler") + 2, 0xFFFF_FFFD, 15);
    f.t.set("psp", frame_addr);
    let bt = f.unwind();
    assert_eq!(names(&bt), vec!["systick_handler", "<exception>", "leaf", "mid", "thread_main"]);
    let e = bt.exceptions().next().unwrap();
    assert_eq!(e.stack, "PSP");
    assert_eq!(e.frame.unwrap().address, frame_addr);
    assert_eq!(frame(&bt, "leaf").sp, Some(task_sp));
    assert_eq!(bt.termination, Termination::ResetLr);
}

#[test]
fn nested_exceptions_and_a_fault_inside_an_isr_unwind_to_reset() {
    nested_exceptions(fx());
}

fn nested_exceptions(f: Option<Fx>) {
    let Some(mut f) = f else { return };
    let lr = f.thread_to_leaf();
    // SysTick interrupts the thread in leaf.
    f.stack_exception(f.a("leaf_body"), lr, 0x0100_0000, None);
    f.st.push(&mut f.t, &[0x1004, 0xFFFF_FFF9]);
    let ra_systick = f.ra("ra_systick");
    f.st.push(&mut f.t, &[0x1003, ra_systick]);
    // IRQ0 interrupts SysTick's isr_work (handler to handler: MSP, 0xFFFFFFF1).
    f.stack_exception(f.a("isr_work_body"), ra_systick, 0x0100_000F, None);
    f.st.push(&mut f.t, &[0x1004, 0xFFFF_FFF1]);
    let ra_irq0 = f.ra("ra_irq0");
    f.st.push(&mut f.t, &[0x1003, ra_irq0]);
    // isr_work faults (BusFault, 5); stop at the fault handler's first instruction.
    f.stack_exception(f.a("isr_work_body"), ra_irq0, 0x0100_0010, None);
    f.live(f.a("fault_handler"), 0xFFFF_FFF1, 5);
    let bt = f.unwind();
    assert_eq!(
        names(&bt),
        expect(&[
            &["fault_handler", "<exception>", "isr_work", "irq0_handler", "<exception>"],
            &["isr_work", "systick_handler", "<exception>"],
            &THREAD_TAIL
        ])
    );
    let ex: Vec<(u16, Option<u16>)> = bt.exceptions().map(|e| (e.exception.0, e.interrupted.map(|i| i.0))).collect();
    assert_eq!(ex, vec![(5, Some(16)), (16, Some(15)), (15, Some(0))]);
    assert_eq!(bt.termination, Termination::ResetHandler { function: "Reset_Handler".into() });
    assert!(bt.warnings.is_empty(), "{:?}", bt.warnings);
}

#[test]
fn v8m_additional_state_context_supplies_r4_to_r11() {
    let Some(mut f) = fx() else { return };
    let lr = f.thread_to_leaf();
    let thread_sp = f.st.sp;
    let leaf_body = f.a("leaf_body");
    f.st.push(&mut f.t, &[0xA0, 0xA1, 0xA2, 0xA3, 0xAC, lr, leaf_body, 0x0100_0000]);
    let frame_addr = f.st.push(&mut f.t, &[0xFEFA_125B, 0, 0x4, 0x5, 0x6, 0x7, 0x8, 0x9, 0xA, 0xB]);
    // Non-secure handler, frame on the secure main stack, DCRS = 0.
    let exc_return = 0xFFFF_FFD8;
    let handler_sp = 0x2001_C800;
    f.live(f.a("systick_handler"), exc_return, 15);
    f.t.set("sp", handler_sp);
    f.t.set("msp", handler_sp);
    f.t.set("msp_ns", handler_sp);
    f.t.set("msp_s", frame_addr);
    let bt = f.unwind_with(Profile::V8MMainline);
    assert_eq!(names(&bt), expect(&[&["systick_handler", "<exception>"], &THREAD_TAIL]));
    let e = bt.exceptions().next().unwrap();
    assert_eq!(e.stack, "MSP_S");
    let sf = e.frame.unwrap();
    assert!(sf.state_context.unwrap().signature_valid);
    assert_eq!(sf.interrupted_sp, thread_sp);
    let r = frame(&bt, "leaf").registers.as_ref().unwrap();
    assert_eq!((r.get(4), r.get(11)), (Some(0x4), Some(0xB)));
}

#[test]
fn cortex_m_rt_hardfault_that_overwrote_lr_is_recovered() {
    overwritten_lr_recovered(fx());
}

fn overwritten_lr_recovered(f: Option<Fx>) {
    let Some(mut f) = f else { return };
    let lr = f.thread_to_leaf();
    let frame_addr = f.stack_exception(f.a("leaf_body"), lr, 0x0100_0000, None);
    // HardFault (reached by `b` from the trampoline) reserves 8 bytes, never saves LR,
    // and calls hf_helper: LR now points into HardFault.
    f.st.reserve(8);
    let ra = f.ra("ra_hardfault");
    f.st.push(&mut f.t, &[0x1007, ra]);
    f.live(f.a("hf_helper_body"), ra, 3);
    let bt = f.unwind();
    assert_eq!(names(&bt), expect(&[&["hf_helper", "HardFault", "<exception>"], &THREAD_TAIL]));
    let e = bt.exceptions().next().unwrap();
    assert!(e.recovered);
    assert_eq!(e.exc_return, None);
    assert_eq!(e.frame.unwrap().address, frame_addr);
    assert!(bt.warnings.iter().any(|w| w.contains("recovered")), "{:?}", bt.warnings);
}

#[test]
fn stop_at_the_cortex_m_rt_trampoline_entry() {
    let Some(mut f) = fx() else { return };
    let lr = f.thread_to_leaf();
    f.stack_exception(f.a("leaf_body"), lr, 0x0100_0000, None);
    f.live(f.a("HardFaultTrampoline"), 0xFFFF_FFF9, 3);
    let bt = f.unwind();
    assert_eq!(names(&bt), expect(&[&["HardFaultTrampoline", "<exception>"], &THREAD_TAIL]));
}

#[test]
fn a_return_address_loop_is_detected() {
    let Some(mut f) = fx() else { return };
    f.st.reserve(64);
    let pc = f.a("leaf_body");
    f.live(pc, pc | 1, 0);
    let bt = f.unwind();
    assert!(matches!(bt.termination, Termination::Loop { .. }), "{:?}", bt.termination);
    assert_eq!(names(&bt), vec!["leaf"]);
}

#[test]
fn sp_in_unmapped_memory_ends_with_unreadable_memory_and_an_overflow_report() {
    let Some(mut f) = fx() else { return };
    f.st = Stack::new(0x1000_0000);
    f.live(f.a("ra_mid"), 0, 0);
    let bt = f.unwind();
    assert_eq!(names(&bt), vec!["mid"]);
    assert!(matches!(bt.termination, Termination::UnreadableMemory { .. }), "{:?}", bt.termination);
    let so = bt.stack_overflow.as_ref().expect("SP outside RAM is reported");
    assert_eq!(so.sp, 0x1000_0000);
}

#[test]
fn a_garbage_return_address_stops_with_the_reason() {
    let Some(mut f) = fx() else { return };
    f.st.push(&mut f.t, &[0x77, 0x1234_5679]);
    f.st.reserve(8);
    f.live(f.a("leaf_body"), f.ra("ra_mid"), 0);
    let bt = f.unwind();
    assert_eq!(names(&bt), vec!["leaf", "mid"]);
    assert!(
        matches!(bt.termination, Termination::InvalidReturnAddress { address: 0x1234_5679, .. }),
        "{:?}",
        bt.termination
    );
}

#[test]
fn a_call_through_a_bad_pointer_continues_from_lr_marked_heuristic() {
    let Some(mut f) = fx() else { return };
    let lr = f.thread_to_leaf();
    f.stack_exception(0x3000_0000, lr, 0x0100_0000, None);
    f.live(f.a("fault_handler"), 0xFFFF_FFF9, 3);
    let bt = f.unwind();
    assert_eq!(names(&bt), vec!["fault_handler", "<exception>", "??", "mid", "thread_main", "Reset_Handler"]);
    assert!(matches!(frame(&bt, "mid").method, UnwindMethod::Heuristic(_)));
    assert!(bt.warnings.iter().any(|w| w.contains("bad pointer")), "{:?}", bt.warnings);
}

#[test]
fn a_function_without_cfi_is_unwound_by_prologue_analysis() {
    let Some(mut f) = fx() else { return };
    let ra_reset = (f.a("Reset_Handler") + 4) | 1;
    f.st.push(&mut f.t, &[0x44, 0x55, 0x66, ra_reset]);
    let ra_main2 = f.ra("ra_main2");
    f.st.push(&mut f.t, &[0x4444, ra_main2]);
    f.st.reserve(8);
    f.live(f.a("leaf_body"), f.ra("ra_nocfi"), 0);
    let bt = f.unwind();
    assert_eq!(names(&bt), vec!["leaf", "nocfi", "thread_main", "Reset_Handler"]);
    match &frame(&bt, "thread_main").method {
        UnwindMethod::Heuristic(how) => assert!(how.contains("prologue analysis of nocfi"), "{how}"),
        m => panic!("thread_main found by {m:?}"),
    }
    assert_eq!(frame(&bt, "thread_main").registers.as_ref().unwrap().get(4), Some(0x4444));
    assert!(bt.warnings.iter().any(|w| w.contains("no CFI")), "{:?}", bt.warnings);
}

#[test]
fn an_image_without_cfi_unwinds_by_heuristics_through_an_exception() {
    let Some(mut f) = fx_from(asm_fixture_nodebug()) else { return };
    let lr = f.thread_to_leaf();
    f.stack_exception(f.a("leaf_body"), lr, 0x0100_0000, None);
    f.st.push(&mut f.t, &[0x1004, 0xFFFF_FFF9]);
    let ra = f.ra("ra_systick");
    f.st.push(&mut f.t, &[0x1003, ra]);
    f.live(f.a("isr_work_body"), ra, 15);
    let bt = f.unwind();
    assert_eq!(names(&bt), expect(&[&["isr_work", "systick_handler", "<exception>"], &THREAD_TAIL]));
    assert!(bt.warnings.iter().any(|w| w.contains("no CFI")));
    assert!(bt.function_frames().skip(1).filter(|f| f.method != UnwindMethod::ExceptionFrame).all(|f| matches!(f.method, UnwindMethod::Heuristic(_))));
}

#[test]
fn stack_overflow_reports_region_amount_and_recursion() {
    let Some(mut f) = fx() else { return };
    // recurse frames fill the whole stack region: [16 bytes locals, r4, lr].
    let ra = f.ra("ra_recurse");
    while f.st.sp - BOTTOM >= 24 {
        f.st.push(&mut f.t, &[ra]);
        f.st.push(&mut f.t, &[0x44]);
        f.st.reserve(16);
    }
    // The next push fell below the region (unmapped): STKERR, frame lost.
    f.st = Stack::new(BOTTOM - 0x20);
    f.live(f.a("fault_handler"), 0xFFFF_FFF9, 3);
    f.t.write_u32(SCB + 0x28, 1 << 12);
    let bt = f.unwind();
    assert_eq!(names(&bt), vec!["fault_handler", "<exception>"]);
    assert!(matches!(bt.termination, Termination::UnreadableMemory { .. }));
    let so = bt.stack_overflow.as_ref().unwrap();
    assert_eq!(so.overflow_bytes, 0x20);
    assert!(so.stacking_error);
    assert_eq!((so.region_bottom, so.region_top), (Some(BOTTOM), Some(TOP)));
    let rec = so.recursion.as_ref().unwrap();
    assert_eq!(rec.function, "recurse");
    // The scan stops at 8 KiB above the stack's bottom with the recursion still going:
    // a lower bound, said in the explanation.
    assert!(rec.count >= 300, "{}", rec.count);
    assert!(rec.at_least, "{rec:?}");
    assert_eq!(rec.scanned_bytes, 8 * 1024);
    assert!(rec.heuristic);
    assert!(so.explanation.contains("32 bytes below"), "{}", so.explanation);
    assert!(so.explanation.contains("recurse appears at least"), "{}", so.explanation);
    assert!(so.explanation.contains("the 8 KiB above SP scanned"), "{}", so.explanation);
}

/// Fills `[bottom, top)` with `recurse` frames (24 bytes: 16 of locals, r4, lr), the
/// outermost returning into `outer`; returns the number of frames.
fn fill_with_recursion(f: &mut Fx, bottom: u32, top: u32, outer: u32) -> usize {
    let ra = f.ra("ra_recurse");
    f.st = Stack::new(top);
    let mut n = 0;
    while f.st.sp - bottom >= 24 {
        f.st.push(&mut f.t, &[0x44, if n == 0 { outer } else { ra }]);
        f.st.reserve(16);
        n += 1;
    }
    n
}

#[test]
fn the_recursion_scan_reads_a_window_not_the_whole_stack() {
    // The lab's case: recursion through the whole stack, SP below it, STKERR.
    let Some(mut f) = fx() else { return };
    let outer = f.ra("ra_main");
    let frames = fill_with_recursion(&mut f, BOTTOM, TOP, outer);
    f.st = Stack::new(BOTTOM - 0x48);
    f.live(f.a("fault_handler"), 0xFFFF_FFF9, 3);
    f.t.write_u32(SCB + 0x28, 1 << 12);
    f.t.bytes_read = 0;
    let bt = f.unwind();
    let so = bt.stack_overflow.as_ref().unwrap();
    assert_eq!(so.overflow_bytes, 0x48);
    let rec = so.recursion.as_ref().unwrap();
    assert_eq!(rec.function, "recurse");
    assert!(rec.at_least, "{rec:?}");
    // The frames whose return address lies in the 8 KiB scanned; the stack holds more.
    let lowest = TOP - 24 * frames as u32;
    let in_window = (0..frames as u32).filter(|i| lowest + 24 * i + 20 < BOTTOM + 8 * 1024).count();
    assert_eq!(rec.count, in_window);
    assert!(rec.count < frames);
    // 8 KiB of stack plus the exception frame and registers, not the 16 KiB stack.
    assert!(f.t.bytes_read <= 10 * 1024, "{} bytes read", f.t.bytes_read);
}

#[test]
fn a_recursion_that_ends_inside_the_first_window_is_counted_exactly() {
    // 40 recursive frames above the lowest SP, then thread_main's (the caller of the
    // outermost recurse), then a large buffer of main's up to the top of RAM.
    let Some(mut f) = fx() else { return };
    let frames_top = BOTTOM + 40 * 24;
    let outer = f.ra("ra_main");
    assert_eq!(fill_with_recursion(&mut f, BOTTOM, frames_top, outer), 40);
    f.st = Stack::new(BOTTOM - 0x20);
    f.live(f.a("fault_handler"), 0xFFFF_FFF9, 3);
    f.t.write_u32(SCB + 0x28, 1 << 12);
    let bt = f.unwind();
    let rec = bt.stack_overflow.as_ref().unwrap().recursion.as_ref().unwrap().clone();
    assert_eq!((rec.function.as_str(), rec.count, rec.at_least), ("recurse", 39, false), "{rec:?}");
    assert_eq!(rec.scanned_bytes, 2 * 1024, "the pattern ended in the first window");
    let so = bt.stack_overflow.as_ref().unwrap();
    assert!(so.explanation.contains("recurse appears 39 times"), "{}", so.explanation);
}

#[test]
fn depth_limit_ends_a_deep_recursion() {
    let Some(mut f) = fx() else { return };
    let ra = f.ra("ra_recurse");
    for _ in 0..40 {
        f.st.push(&mut f.t, &[0x44, ra]);
        f.st.reserve(16);
    }
    f.live(f.a("ra_recurse"), ra, 0);
    let opts = UnwindOptions { profile: Some(Profile::V7M), max_depth: 10, ..Default::default() };
    let bt = unwind(&f.image, &mut f.t, &opts).unwrap();
    assert_eq!(bt.termination, Termination::DepthLimit { limit: 10 });
    assert_eq!(bt.frames.len(), 10);
}

#[test]
fn memory_is_read_in_blocks_not_words() {
    let Some(mut f) = fx() else { return };
    let lr = f.thread_to_leaf();
    f.stack_exception(f.a("leaf_body"), lr, 0x0100_0000, None);
    f.st.push(&mut f.t, &[0x1004, 0xFFFF_FFF9]);
    let ra = f.ra("ra_systick");
    f.st.push(&mut f.t, &[0x1003, ra]);
    f.live(f.a("isr_work_body"), ra, 15);
    f.t.reads = 0;
    let bt = f.unwind();
    assert_eq!(bt.function_frames().count(), 6);
    assert!(f.t.reads <= 4, "{} target reads", f.t.reads);
}

#[test]
fn the_profile_comes_from_cpuid_when_not_given() {
    let Some(mut f) = fx() else { return };
    f.t.write_u32(SCB, 0x410F_C241); // Cortex-M4 r0p1
    let lr = f.thread_to_leaf();
    f.live(f.a("leaf_body"), lr, 0);
    let bt = unwind(&f.image, &mut f.t, &UnwindOptions::default()).unwrap();
    assert!(bt.warnings.is_empty(), "{:?}", bt.warnings);
    assert_eq!(bt.function_frames().count(), 4);
}

#[test]
fn the_backtrace_serializes_to_json() {
    let Some(mut f) = fx() else { return };
    let lr = f.thread_to_leaf();
    f.stack_exception(f.a("leaf_body"), lr, 0x0100_0000, None);
    f.live(f.a("systick_handler"), 0xFFFF_FFF9, 15);
    let bt = f.unwind();
    let v = serde_json::to_value(&bt).unwrap();
    assert_eq!(v["frames"][0]["kind"], "frame");
    assert_eq!(v["frames"][1]["kind"], "exception");
    assert_eq!(v["frames"][1]["exception"]["name"], "SysTick");
    assert_eq!(v["frames"][2]["method"]["method"], "exception-frame");
    assert_eq!(v["termination"]["kind"], "reset-handler");
    assert!(v["frames"][2]["registers"]["known"]["r0"].is_number());
}

mod garbage {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        /// Random stack contents and registers: the unwinder never panics, always ends
        /// with a reason, and never exceeds its depth limit.
        #[test]
        fn any_stack_ends_with_a_reason(
            words in proptest::collection::vec(any::<u32>(), 64),
            code_words in proptest::collection::vec(0usize..40, 64),
            exc in proptest::collection::vec(0usize..6, 64),
            pc_pick in 0usize..40,
            lr in any::<u32>(),
            sp_off in 0u32..200,
            ipsr in prop_oneof![Just(0u32), Just(3), Just(5), Just(15), Just(16)],
            v8 in any::<bool>(),
        ) {
            let Some(mut f) = fx() else { return Ok(()) };
            // A mix of random words, plausible return addresses and EXC_RETURN values.
            let code: Vec<u32> = f.image.symbols().functions().map(|s| s.address).collect();
            let excs = [0xFFFF_FFF1, 0xFFFF_FFF9, 0xFFFF_FFFD, 0xFFFF_FFE9, 0xFFFF_FFED, 0xFFFF_FFFF];
            let base = TOP - 64 * 4;
            for i in 0..64 {
                let w = match (exc[i], code_words[i] % 3) {
                    (0, _) => excs[i % excs.len()],
                    (_, 0) => (code[code_words[i] % code.len()] + 4) | 1,
                    _ => words[i],
                };
                f.t.write_u32(base + 4 * i as u32, w);
            }
            f.st = Stack::new(base + 4 * (sp_off % 64));
            let pc = code[pc_pick % code.len()] + 2;
            f.live(pc, lr, ipsr);
            f.t.set("psp", base + 4 * (words[0] % 64));
            let opts = UnwindOptions {
                profile: Some(if v8 { Profile::V8MMainline } else { Profile::V7M }),
                max_depth: 64,
                ..Default::default()
            };
            let bt = unwind(&f.image, &mut f.t, &opts).unwrap();
            prop_assert!(bt.frames.len() <= 64 + 8);
            prop_assert!(!bt.frames.is_empty());
            let _ = serde_json::to_string(&bt).unwrap();
        }
    }
}

#[test]
fn without_cfi_a_stop_at_the_handler_entry_still_crosses_the_exception() {
    let Some(mut f) = fx_from(asm_fixture_nodebug()) else { return };
    let lr = f.thread_to_leaf();
    f.stack_exception(f.a("leaf_body"), lr, 0x0100_0000, None);
    f.live(f.a("fault_handler"), 0xFFFF_FFF9, 5);
    let bt = f.unwind();
    assert_eq!(names(&bt), expect(&[&["fault_handler", "<exception>"], &THREAD_TAIL]));
    assert_eq!(bt.exceptions().next().unwrap().exc_return, Some(0xFFFF_FFF9));
}

/// The same cases on the fixture whose CFI is in `.eh_frame` (pc-relative FDEs, as
/// compilers emit with -fasynchronous-unwind-tables) instead of `.debug_frame`.
mod eh_frame {
    use super::*;

    fn fx_eh() -> Option<Fx> {
        fx_from(asm_fixture_eh_frame())
    }

    #[test]
    fn the_fixture_has_only_eh_frame_cfi_and_it_is_indexed() {
        let Some(f) = fx_eh() else { return };
        assert!(f.image.debug_section(".eh_frame").is_some());
        assert!(f.image.debug_section(".debug_frame").is_none());
        // Every function of the fixture but `nocfi` has an FDE.
        let with_cfi = f.image.symbols().functions().filter(|s| s.name != "nocfi").count();
        assert_eq!(Unwinder::new(&f.image).fde_count(), with_cfi);
    }

    #[test]
    fn plain_call_chain_ends_at_the_reset_handler() {
        plain_call_chain(fx_eh());
    }

    #[test]
    fn basic_frame_on_msp_deep_inside_a_handler() {
        basic_frame_deep_in_handler(fx_eh());
    }

    #[test]
    fn extended_frame_gives_the_interrupted_fp_registers() {
        extended_frame(fx_eh());
    }

    #[test]
    fn thread_on_psp_is_read_from_the_process_stack() {
        thread_on_psp(fx_eh());
    }

    #[test]
    fn nested_exceptions_and_a_fault_inside_an_isr_unwind_to_reset() {
        nested_exceptions(fx_eh());
    }

    #[test]
    fn cortex_m_rt_hardfault_that_overwrote_lr_is_recovered() {
        overwritten_lr_recovered(fx_eh());
    }
}

#[test]
fn a_caller_sp_above_the_stack_top_ends_at_the_bottom_of_the_stack() {
    // mid's frame straddles the top of the stack region: its CFA (the caller's SP) is
    // 8 bytes above the initial MSP, so the caller cannot be on this stack.
    let Some(mut f) = fx() else { return };
    f.t.map(TOP, 0x100); // memory goes on above the stack (more RAM, another region)
    f.st = Stack::new(TOP - 8);
    f.t.write_u32(TOP + 4, f.ra("ra_main")); // mid's saved LR at CFA - 4
    f.live(f.a("ra_mid"), 0, 0);
    let bt = f.unwind();
    assert_eq!(names(&bt), vec!["mid"]);
    assert_eq!(bt.termination, Termination::BottomOfStack { sp: TOP + 8 });
    assert!(bt.stack_overflow.is_none());
}

#[test]
fn a_caller_sp_outside_every_ram_region_ends_the_unwind() {
    // A thread on the PSP whose stack is in memory the image knows nothing of (below
    // 0x10000000 here): mid's caller would have SP = 0x10000000, outside RAM.
    let Some(mut f) = fx() else { return };
    let psp = 0x1000_0000 - 16;
    f.t.map(0x0FFF_FF00, 0x100);
    f.t.write_u32(0x1000_0000 - 4, f.ra("ra_main"));
    f.live(f.a("ra_mid"), 0, 0);
    f.t.set("sp", psp);
    f.t.set("psp", psp);
    f.t.set("control", 2);
    let bt = f.unwind();
    assert_eq!(names(&bt), vec!["mid"]);
    assert_eq!(bt.termination, Termination::SpOutsideRam { sp: 0x1000_0000 });
    assert!(bt.stack_overflow.is_none(), "the main stack is fine: {:?}", bt.stack_overflow);
}

#[test]
fn without_cfi_or_a_saved_lr_the_caller_is_found_by_a_labelled_stack_scan() {
    // No CFI, and leaf pushes nothing: prologue analysis would take the return address
    // from LR, which is unknown here, so the stack is scanned for a word that follows a
    // BL. The first one is thread_main's return address saved by mid (mid is skipped:
    // the scan is a guess and says so).
    let Some(mut f) = fx_from(asm_fixture_nodebug()) else { return };
    f.thread_to_leaf();
    f.live(f.a("leaf_body"), 0, 0);
    let mut regs = isrscope::target::Registers::new();
    for (name, value) in f.t.regs.iter().filter(|(n, _)| *n != "lr") {
        regs.insert(name, value);
    }
    f.t.regs = regs;
    let sp = f.st.sp;
    let ra_main = f.ra("ra_main");
    let bt = f.unwind();
    assert_eq!(names(&bt), vec!["leaf", "thread_main", "Reset_Handler"]);
    let main = frame(&bt, "thread_main");
    assert_eq!(
        main.method,
        UnwindMethod::Heuristic(format!(
            "stack scan: return address {ra_main:#010x} found at {:#010x} (12 bytes above SP)",
            sp + 12
        ))
    );
    assert_eq!(main.sp, Some(sp + 16));
    assert!(bt.warnings.iter().any(|w| w.contains("no CFI") && w.contains("stack scan")), "{:?}", bt.warnings);
}

/// A caller whose call is the last instruction of `.text`: its return address is the
/// end of code. Symbol, CFI row and the "in code" check use the call site (ra - 1).
#[test]
fn a_call_that_ends_text_is_looked_up_at_its_call_site() {
    let Some(mut f) = fx() else { return };
    let end = f.a("end_of_text");
    let text = f.image.section(".text").unwrap();
    assert_eq!(text.address + text.size, end, "the fixture's last_caller must end .text");
    // last_caller pushed {r7, lr = reset's 0xFFFFFFFF}; hf_helper pushed {r7, lr = end}.
    f.st.push(&mut f.t, &[0x77, 0xFFFF_FFFF]);
    f.st.push(&mut f.t, &[0x1007, end | 1]);
    f.live(f.a("hf_helper_body"), end | 1, 0);
    let bt = f.unwind();
    assert_eq!(names(&bt), vec!["hf_helper", "last_caller"]);
    assert_eq!(bt.termination, Termination::ResetLr, "{:?}", bt.warnings);
    let caller = frame(&bt, "last_caller");
    assert_eq!(caller.pc, end, "the frame keeps its return address");
    assert_eq!(caller.lookup_pc, end - 1, "and is looked up inside the call");
    assert_eq!(caller.method, UnwindMethod::Cfi);
}
