//! Scenario 6: a fault in thread mode on the PSP with an active FP context.
//!
//! main points PSP at the top of a static, RTOS-like task stack, sets CONTROL.SPSEL and
//! jumps to `task_entry` (never returns). The task does FP math (CONTROL.FPCA = 1), then
//! `sample_adc` loads S0..S15 = 1.0 .. 16.0 and reads 0x6000_0000 -> BusFault (enabled).
//! Exception entry pushes the extended frame (26 words) on the PSP, EXC_RETURN =
//! 0xFFFFFFED, and with FPCCR.ASPEN|LSPEN (reset values) only reserves the FP slots:
//! FPCCR.LSPACT = 1 at the handler entry, FPCAR = frame + 0x20; the real S0..S15 are still
//! in the FPU registers. CFSR = PRECISERR | BFARVALID.
#![no_std]
#![no_main]

use core::hint::black_box;
use cortex_m_rt::entry;
use fwlab::*;

const TASK_STACK_WORDS: usize = 512;

#[repr(C, align(8))]
struct Stack([u32; TASK_STACK_WORDS]);

#[no_mangle]
static mut TASK_STACK: Stack = Stack([0; TASK_STACK_WORDS]);

#[inline(never)]
#[no_mangle]
fn sample_adc(addr: usize) -> u32 {
    let v: u32;
    unsafe {
        core::arch::asm!(
            "vmov.f32 s0, #1.0", "vmov.f32 s1, #2.0", "vmov.f32 s2, #3.0", "vmov.f32 s3, #4.0",
            "vmov.f32 s4, #5.0", "vmov.f32 s5, #6.0", "vmov.f32 s6, #7.0", "vmov.f32 s7, #8.0",
            "vmov.f32 s8, #9.0", "vmov.f32 s9, #10.0", "vmov.f32 s10, #11.0", "vmov.f32 s11, #12.0",
            "vmov.f32 s12, #13.0", "vmov.f32 s13, #14.0", "vmov.f32 s14, #15.0", "vmov.f32 s15, #16.0",
            "ldr {v}, [{a}]",
            v = out(reg) v, a = in(reg) addr,
            out("s0") _, out("s1") _, out("s2") _, out("s3") _, out("s4") _, out("s5") _,
            out("s6") _, out("s7") _, out("s8") _, out("s9") _, out("s10") _, out("s11") _,
            out("s12") _, out("s13") _, out("s14") _, out("s15") _,
            options(readonly, nostack),
        )
    };
    black_box(v).wrapping_add(1)
}

#[inline(never)]
#[no_mangle]
fn task_filter(gain: f32) -> f32 {
    let mut acc = black_box(0.25f32);
    for i in 0..4 {
        acc = acc * gain + black_box(i as f32);
    }
    let raw = sample_adc(black_box(BAD_ADDR));
    acc + raw as f32
}

#[no_mangle]
extern "C" fn task_entry() -> ! {
    loop {
        black_box(task_filter(black_box(1.5)));
    }
}

#[entry]
fn main() -> ! {
    enable_fault_handlers(SHCSR_BUSFAULTENA);
    let top = core::ptr::addr_of_mut!(TASK_STACK) as usize + TASK_STACK_WORDS * 4;
    unsafe {
        core::arch::asm!(
            "msr psp, r0",
            "mrs r1, control",
            "orr r1, r1, #2", // SPSEL: thread mode uses PSP
            "msr control, r1",
            "isb",
            "b {task}",
            in("r0") top,
            in("r1") 0u32, // scratch (the block never returns)
            task = sym task_entry,
            options(noreturn),
        )
    }
}

#[no_mangle]
pub unsafe extern "C" fn BusFault() -> ! {
    halt()
}
