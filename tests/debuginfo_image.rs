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
    // binutils-arm-none-eabi is part of the test setup (scripts/setup.sh): without it
    // this test fails rather than passing without having compared anything.
    let out = out.expect("arm-none-eabi-addr2line not found: run scripts/setup.sh");
    assert!(out.status.success(), "addr2line failed: {}", String::from_utf8_lossy(&out.stderr));
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

/// Columns come from the DWARF line table: in the one-line `level2` of the C fixture,
/// the call to level3 and the `counter++` after it are on the same line and told apart
/// by their columns.
#[test]
fn symbolization_gives_the_column_of_each_statement() {
    let Some(path) = c_fixture() else { return };
    let image = Image::open(path).unwrap();
    let source = std::fs::read_to_string(std::path::Path::new(DIR).join("fixture.c")).unwrap();
    let (line_no, text) = source.lines().enumerate().find(|(_, l)| l.contains("void level2")).unwrap();
    let column_of = |what: &str| text.find(what).unwrap() as u32 + 1;
    let (call, increment) = (column_of("level3(x + 1)"), column_of("counter++"));
    let f = image.symbols().by_name("level2").unwrap();
    let mut columns = Vec::new();
    for a in (f.address..f.address + f.size).step_by(2) {
        let s = image.symbolize(a);
        let frame = s.frames.last().unwrap();
        if frame.line == Some(line_no as u32 + 1) {
            let c = frame.column.unwrap_or_else(|| panic!("no column at {a:#x}"));
            assert!(c >= 1 && c as usize <= text.len(), "column {c} at {a:#x} outside the line");
            columns.push(c);
        }
    }
    assert!(columns.contains(&call), "the call to level3 at column {call}: {columns:?}");
    // GCC puts a postincrement at its operator: anywhere in `counter++` will do.
    let within_increment = increment..increment + "counter++".len() as u32;
    assert!(columns.iter().any(|c| within_increment.contains(c)), "counter++ at columns {within_increment:?}: {columns:?}");
}

/// The GNU build-id note when the linker writes one (`-Wl,--build-id`), as readelf
/// shows it; none without.
#[test]
fn the_build_id_note_is_read() {
    let Some(plain) = asm_fixture() else { return };
    assert_eq!(Image::open(plain).unwrap().build_id(), None);
    let path = build("fixture-asm-build-id", &["fixture.S"], &["-g", "-Wl,--build-id"]).unwrap();
    let image = Image::open(&path).unwrap();
    let out = Command::new("arm-none-eabi-readelf").arg("-n").arg(&path).output().expect("arm-none-eabi-readelf");
    let notes = String::from_utf8(out.stdout).unwrap();
    let expected = notes.lines().find_map(|l| l.trim().strip_prefix("Build ID: ")).expect("readelf shows a build id");
    let got: String = image.build_id().expect("build id").iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(got, expected);
    assert_eq!(got.len(), 40, "SHA-1, the linker's default");
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

/// The lab's Clang/LLVM sample (clang 14 + ld.lld, DWARF 5: `.debug_addr`,
/// `.debug_str_offsets`, `.debug_line_str`, `.debug_loclists`): symbols, the inline
/// chain, file:line:column and the CFI all come through as from GCC's ELFs.
#[test]
fn a_clang_and_lld_elf_symbolizes_with_its_inline_chain() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("firmware-samples/build/c/clang-busfault.elf");
    let image = Image::open(&path).expect("the lab's clang-busfault.elf: run firmware-samples/build.sh");
    assert!(image.warnings().is_empty(), "{:?}", image.warnings());
    assert!(image.debug_section(".debug_addr").is_some(), "clang's DWARF 5");
    assert!(image.debug_section(".debug_frame").is_some());
    let vt = image.vector_table().unwrap();
    assert_eq!(vt.source, VectorTableSource::Section(".isr_vector".into()));
    // level3's load through the inlined sensor_read.
    let level3 = image.symbols().by_name("level3").unwrap();
    let inlined = (level3.address..level3.address + level3.size)
        .step_by(2)
        .map(|a| image.symbolize(a))
        .find(|s| s.frames.len() == 2)
        .expect("an address of level3 inside the inlined sensor_read");
    let names: Vec<_> = inlined.frames.iter().map(|f| f.function.as_deref().unwrap_or("??")).collect();
    assert_eq!(names, ["sensor_read", "level3"]);
    let f = &inlined.frames[0];
    assert!(f.file.as_deref().unwrap().ends_with("busfault.c"));
    assert_eq!(f.line, Some(12));
    assert!(f.column.is_some_and(|c| c > 1), "{f:?}");
}
