// memory.x for the QEMU machine of the target (both have flash at 0x00000000), and
// device.x naming the one device interrupt the samples use (IRQ 8: TIMER0 on both the
// MPS2 AN385 and the nRF51 of the micro:bit).
use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    let target = env::var("TARGET").unwrap();
    let memory = if target.starts_with("thumbv6m") {
        // BBC micro:bit (nRF51822): 256 KiB flash, 16 KiB RAM.
        "MEMORY {\n  FLASH : ORIGIN = 0x00000000, LENGTH = 256K\n  RAM : ORIGIN = 0x20000000, LENGTH = 16K\n}\n"
    } else {
        // MPS2 AN385 (Cortex-M3): code in SSRAM1 at 0, data at 0x20000000.
        "MEMORY {\n  FLASH : ORIGIN = 0x00000000, LENGTH = 4M\n  RAM : ORIGIN = 0x20000000, LENGTH = 256K\n}\n"
    };
    fs::write(out.join("memory.x"), memory).unwrap();
    fs::write(out.join("device.x"), "PROVIDE(TIMER0 = DefaultHandler);\n").unwrap();
    // ARMv6-M has no configurable fault handlers: the samples skip enabling them.
    println!("cargo:rustc-check-cfg=cfg(armv6m)");
    if target.starts_with("thumbv6m") {
        println!("cargo:rustc-cfg=armv6m");
    }
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=build.rs");
}
