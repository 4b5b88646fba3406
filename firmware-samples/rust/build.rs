// Put memory.x and device.x where the linker (driven by cortex-m-rt's link.x) finds them.
// device.x names the two device interrupts the samples use (EXTI0 = IRQ6, EXTI1 = IRQ7 on
// the STM32F407); every other interrupt vector in `fwlab::__INTERRUPTS` points straight at
// `DefaultHandler`, so no alias symbols crowd DefaultHandler's address.
use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    fs::write(out.join("memory.x"), include_bytes!("memory.x")).unwrap();
    fs::write(
        out.join("device.x"),
        "PROVIDE(EXTI0 = DefaultHandler);\nPROVIDE(EXTI1 = DefaultHandler);\n",
    )
    .unwrap();
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=build.rs");
}
