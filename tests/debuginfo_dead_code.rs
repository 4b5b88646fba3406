//! Line tables of code the linker discarded (`--gc-sections`), on lab firmware whose code
//! starts at 0x00000000: the dead sequences sit at address 0 over live code, and no
//! lookup may answer from them.
//!
//! The oracle is the DWARF itself, read here with gimli under a rule independent of
//! isrscope's (which uses executable sections and ARM mapping symbols): a line sequence
//! is live when it starts where the symbol table has a function. For every halfword of
//! every function, isrscope's innermost file:line must be that live sequence's row, and
//! its outermost function must be the symbol's.

mod common;

use std::path::{Path, PathBuf};

use common::dwarf::{LiveLines, same_file};
use isrscope::debuginfo::Image;

fn check(elf: &Path) -> Result<usize, String> {
    let data = std::fs::read(elf).map_err(|e| format!("{}: {e}", elf.display()))?;
    let lines = LiveLines::read(&data);
    let (dead, functions) = (&lines.dead, &lines.functions);
    // The precondition that makes this test mean something: dead sequences overlap
    // live functions.
    let overlapping = dead.iter().filter(|d| functions.iter().any(|f| d.start <= f.0 && f.0 < d.end)).count();
    if overlapping == 0 {
        return Err(format!("{}: no discarded line sequence overlaps a live function (the sample lost its point)", elf.display()));
    }
    let image = Image::open(elf).map_err(|e| e.to_string())?;
    let mut checked = 0;
    let mut errors = Vec::new();
    for (start, size, name) in functions {
        for a in (*start..start + size).step_by(2) {
            let sym = image.symbolize(a as u32);
            let inner = &sym.frames[0];
            match lines.row(a) {
                // Code no live line table covers (assembly, naked functions): no line.
                None => {
                    if inner.line.is_some() {
                        errors.push(format!("{a:#x} in {name}: no live line table covers it, isrscope says {:?}:{:?} ({:?})", inner.file, inner.line, inner.function));
                    }
                }
                Some(row) => {
                    let Some(row) = row else { continue };
                    if row.2 == 0 {
                        continue; // line 0: compiler-generated, no source line to compare
                    }
                    let ok_file = inner.file.as_deref().is_some_and(|f| same_file(f, &row.1));
                    if !ok_file || inner.line != Some(row.2 as u32) {
                        errors.push(format!("{a:#x} in {name}: isrscope {:?}:{:?}, the live line table {}:{}", inner.file, inner.line, row.1.display(), row.2));
                    }
                }
            }
            // Any function symbol holding the address names it (aliases share code).
            // The DWARF name, or the linkage name it stands for (`#[export_name]`).
            let outer = sym.frames.last().and_then(|f| f.function.clone()).unwrap_or_default();
            let linkage = sym.frames.last().and_then(|f| f.raw_name.clone()).unwrap_or_default();
            let names = functions.iter().filter(|f| f.0 <= a && a < f.0 + f.1).map(|f| isrscope::debuginfo::demangle(&f.2));
            if !names.clone().any(|n| n == outer || n == linkage || n == isrscope::debuginfo::demangle(&linkage)) {
                errors.push(format!("{a:#x} in {name}: isrscope says function {outer:?}, the symbol table {:?}", names.collect::<Vec<_>>()));
            }
            checked += 1;
        }
    }
    if errors.is_empty() {
        Ok(checked)
    } else {
        errors.truncate(20);
        Err(format!("{}: {} dead sequences ({overlapping} over live code):\n  {}", elf.display(), dead.len(), errors.join("\n  ")))
    }
}

#[test]
fn lookups_never_answer_from_line_tables_of_discarded_code() {
    let root = common::repo_root().join("firmware-samples/build");
    let elves: Vec<PathBuf> = ["c/gc-busfault.elf", "rust-release/noreturn-main.elf", "rust-release/hardfault-helpers.elf",
        "rust-release/svc-hardfault.elf", "rust-release/irq-tailcall.elf", "rust-release/m0-noreturn-main.elf"]
        .iter().map(|p| root.join(p)).collect();
    let results: Vec<Result<usize, String>> = elves.iter().map(|e| check(e)).collect();
    let failures: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(failures.is_empty(), "{}", failures.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n\n"));
    let total: usize = results.iter().filter_map(|r| r.as_ref().ok()).sum();
    assert!(total > 200, "only {total} addresses checked");
}

