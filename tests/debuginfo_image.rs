//! The ELF image: typed load errors, layout (sections, symbols, regions, vector
//! table), and symbolization checked against binutils' addr2line.

mod unwind_support;

use std::process::Command;

use isrscope::debuginfo::*;
use unwind_support::*;

fn fixture_bytes() -> Option<Vec<u8>> {
    Some(std::fs::read(asm_fixture()?).unwrap())
}

#[test]
fn a_text_file_is_not_elf() {
    let err = Image::from_bytes(b"hello world, not an ELF".to_vec()).unwrap_err();
    assert!(matches!(err, ImageError::NotElf { .. }), "{err}");
}

#[test]
fn a_missing_file_is_an_io_error_naming_the_path() {
    let err = Image::open("/nonexistent/fw.elf").unwrap_err();
    assert!(matches!(err, ImageError::Io { .. }));
    assert!(err.to_string().contains("/nonexistent/fw.elf"));
}

#[test]
fn a_64_bit_host_binary_is_rejected_as_not_32_bit() {
    let exe = std::env::current_exe().unwrap();
    let err = Image::open(exe).unwrap_err();
    assert!(matches!(err, ImageError::Not32Bit { .. }), "{err}");
}

#[test]
fn wrong_machine_and_endianness_are_named() {
    let Some(mut bytes) = fixture_bytes() else { return };
    let mut x86 = bytes.clone();
    x86[18] = 3;
    x86[19] = 0;
    let err = Image::from_bytes(x86).unwrap_err();
    assert!(matches!(err, ImageError::WrongArchitecture { machine: 3, .. }), "{err}");
    assert!(err.to_string().contains("x86"));
    bytes[5] = 2;
    let err = Image::from_bytes(bytes).unwrap_err();
    assert!(matches!(err, ImageError::BigEndian { .. }), "{err}");
}

#[test]
fn a_truncated_file_says_truncated() {
    let Some(bytes) = fixture_bytes() else { return };
    for len in [10, 40, 200, bytes.len() / 2] {
        let err = Image::from_bytes(bytes[..len].to_vec()).unwrap_err();
        assert!(matches!(err, ImageError::Truncated { .. }), "len {len}: {err}");
    }
}

#[test]
fn layout_of_the_assembly_fixture() {
    let Some(path) = asm_fixture() else { return };
    let image = Image::open(path).unwrap();
    assert!(image.warnings().is_empty(), "{:?}", image.warnings());
    assert!(image.has_debug_info());

    let reset = image.symbols().by_name("Reset_Handler").unwrap();
    assert_eq!(reset.kind, SymbolKind::Function);
    assert!(reset.thumb);
    assert_eq!(reset.address & 1, 0);
    assert_eq!(reset.size, 6);
    assert_eq!(image.entry(), reset.address);
    let leaf = sym(&image, "leaf");
    assert_eq!(image.symbols().function_at(leaf + 4).unwrap().name, "leaf");
    assert_eq!(image.symbols().function_at(leaf + 1).unwrap().name, "leaf");

    let vt = image.vector_table().expect("vector table");
    assert_eq!(vt.source, VectorTableSource::Section(".isr_vector".into()));
    assert_eq!(vt.address, 0x0800_0000);
    assert_eq!(vt.initial_sp(), Some(0x2002_0000));
    assert_eq!(vt.words.len(), 17);
    assert_eq!(vt.words[1], reset.address | 1);
    assert_eq!(vt.handler(3), Some(sym(&image, "HardFaultTrampoline")));
    assert_eq!(vt.handler(7), None, "reserved entry");

    let stack = image.stack_region().unwrap();
    assert_eq!((stack.top, stack.top_symbol.as_str()), (0x2002_0000, "_estack"));
    assert_eq!(stack.bottom, Some(0x2001_C000));
    assert_eq!(stack.bottom_symbol.as_deref(), Some("_sstack"));

    let flash = image.memory_regions().iter().find(|r| r.kind == RegionKind::Flash).unwrap();
    assert!(flash.contains(0x0800_0000) && flash.contains(reset.address));
    let ram = image.memory_regions().iter().find(|r| r.kind == RegionKind::Ram).unwrap();
    assert!(ram.contains(0x2001_FFFC), "RAM extends to the stack top: {ram:?}");

    let text = image.section(".text").unwrap();
    assert!(text.executable && text.alloc && !text.writable);
    assert_eq!(image.read_static_u32(0x0800_0004), Some(reset.address | 1));
}

#[test]
fn without_debug_info_there_are_warnings_and_symbol_table_names() {
    let Some(path) = asm_fixture_nodebug() else { return };
    let image = Image::open(path).unwrap();
    assert!(!image.has_debug_info());
    let w = image.warnings().join("\n");
    assert!(w.contains(".debug_info") && w.contains(".debug_frame"), "{w}");
    let s = image.symbolize(sym(&image, "leaf_body"));
    assert_eq!(s.source, NameSource::SymbolTable);
    assert_eq!(s.function(), Some("leaf"));
    assert_eq!(s.offset, Some(2));
    assert_eq!(s.frames[0].file, None);
}

#[test]
fn an_address_outside_every_function_has_no_name() {
    let Some(path) = asm_fixture() else { return };
    let image = Image::open(path).unwrap();
    let s = image.symbolize(0x1000_0000);
    assert_eq!(s.source, NameSource::None);
    assert_eq!(s.function(), None);
    assert_eq!(s.frames.len(), 1);
}

/// Every address of the C fixture's functions, symbolized by isrscope and by
/// arm-none-eabi-addr2line -f -i: same functions (inline chain included) and lines.
#[test]
fn symbolization_agrees_with_binutils_addr2line() {
    let Some(path) = c_fixture() else { return };
    let image = Image::open(path).unwrap();
    let mut addrs = Vec::new();
    for f in ["level3", "level2", "level1", "main"] {
        let s = image.symbols().by_name(f).unwrap();
        addrs.extend((s.address..s.address + s.size).step_by(2));
    }
    let out = Command::new("arm-none-eabi-addr2line")
        .args(["-f", "-i", "-a", "-e"])
        .arg(path)
        .args(addrs.iter().map(|a| format!("{a:#x}")))
        .output();
    let Ok(out) = out else { return };
    let text = String::from_utf8(out.stdout).unwrap();
    // Output: "0x..." line, then (function, file:line) pairs.
    let mut expected: Vec<Vec<(String, u32)>> = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(l) = lines.next() {
        if l.starts_with("0x") {
            expected.push(Vec::new());
            continue;
        }
        let loc = lines.next().unwrap();
        let line: u32 = loc.rsplit(':').next().unwrap().split(' ').next().unwrap().parse().unwrap_or(0);
        expected.last_mut().unwrap().push((l.to_string(), line));
    }
    assert_eq!(expected.len(), addrs.len());
    let mut saw_inline = false;
    for (a, exp) in addrs.iter().zip(&expected) {
        let got = image.symbolize(*a);
        let got: Vec<(String, u32)> = got
            .frames
            .iter()
            .map(|f| (f.function.clone().unwrap_or_else(|| "??".into()), f.line.unwrap_or(0)))
            .collect();
        assert_eq!(&got, exp, "address {a:#x}");
        saw_inline |= got.len() > 1;
    }
    assert!(saw_inline, "the fixture inlines poke() into level3");
    let s = image.symbolize(addrs[0]);
    assert!(s.frames[0].file.as_deref().unwrap().ends_with("fixture.c"));
}

#[test]
fn demangles_rust_and_cpp() {
    assert_eq!(demangle("_ZN8isrscope4main17h0123456789abcdefE"), "isrscope::main");
    assert_eq!(demangle("_ZN3foo3barEv"), "foo::bar()");
    assert_eq!(demangle("_RNvCs1234_7mycrate4main"), "mycrate::main");
    assert_eq!(demangle("HardFault_Handler"), "HardFault_Handler");
}

mod corrupt {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        /// Flipped bytes anywhere in a real ELF: loading fails with a typed error or
        /// succeeds, and symbolizing never panics.
        #[test]
        fn corrupted_elf_never_panics(flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..40)) {
            let Some(bytes) = fixture_bytes() else { return Ok(()) };
            let mut b = bytes.clone();
            for (i, v) in flips {
                let i = i.index(b.len());
                b[i] = v;
            }
            if let Ok(image) = Image::from_bytes(b) {
                for a in [0x0800_0000u32, 0x0800_0044, 0x0800_0060, 0x2000_0000] {
                    let _ = image.symbolize(a);
                }
            }
        }
    }
}

#[test]
fn function_lookup_handles_aliases_and_unsized_symbols() {
    let f = |name: &str, address: u32, size: u32, global: bool| Symbol {
        name: name.into(),
        demangled: name.into(),
        address,
        size,
        kind: SymbolKind::Function,
        thumb: true,
        global,
        defined: true,
        absolute: false,
    };
    let table = SymbolTable::new(vec![
        f("Default_Handler", 0x100, 4, true),
        f("WWDG_IRQHandler", 0x100, 4, false),
        f("asm_blob", 0x200, 0, true),
        f("after", 0x240, 8, true),
    ]);
    assert_eq!(table.function_at(0x102).unwrap().name, "Default_Handler");
    assert!(table.function_at(0x104).is_none(), "past the sized function");
    assert_eq!(table.function_at(0x23e).unwrap().name, "asm_blob", "unsized: up to the next function");
    assert_eq!(table.function_at(0x241).unwrap().name, "after");
    assert!(table.function_at(0x10).is_none());
}
