//! The DWARF line tables read directly with gimli, as an oracle independent of isrscope's
//! lookups, under a rule of its own: a line sequence is live when it starts where the
//! symbol table has a function (isrscope's rule uses executable sections and data objects).

use std::path::{Path, PathBuf};

use gimli::{EndianSlice, LittleEndian};
use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};

/// One row of a line table: address, file path (directory joined), line, is a statement.
pub type Row = (u64, PathBuf, u64, bool);

pub struct Sequence {
    pub start: u64,
    pub end: u64,
    pub rows: Vec<Row>,
}

pub fn sequences(data: &[u8]) -> Vec<Sequence> {
    let file = object::File::parse(data).unwrap();
    let load = |id: gimli::SectionId| -> Result<EndianSlice<'_, LittleEndian>, gimli::Error> {
        let bytes = file.section_by_name(id.name()).and_then(|s| s.data().ok()).unwrap_or(&[]);
        Ok(EndianSlice::new(bytes, LittleEndian))
    };
    let dwarf = gimli::Dwarf::load(load).unwrap();
    let mut out = Vec::new();
    let mut units = dwarf.units();
    while let Some(header) = units.next().unwrap() {
        let unit = dwarf.unit(header).unwrap();
        let Some(program) = unit.line_program.clone() else { continue };
        let comp_dir = unit.comp_dir.map(|d| PathBuf::from(d.to_string_lossy().into_owned())).unwrap_or_default();
        let mut rows = program.rows();
        let mut current: Vec<Row> = Vec::new();
        while let Some((header, row)) = rows.next_row().unwrap() {
            if row.end_sequence() {
                if let Some(start) = current.first().map(|r| r.0) {
                    out.push(Sequence { start, end: row.address(), rows: std::mem::take(&mut current) });
                }
                continue;
            }
            let path = row.file(header).map(|f| {
                let name = dwarf.attr_string(&unit, f.path_name()).unwrap().to_string_lossy().into_owned();
                let dir = f.directory(header).and_then(|d| dwarf.attr_string(&unit, d).ok())
                    .map(|d| d.to_string_lossy().into_owned()).unwrap_or_default();
                comp_dir.join(dir).join(name)
            });
            current.push((row.address(), path.unwrap_or_default(), row.line().map_or(0, |l| l.get()), row.is_stmt()));
        }
    }
    out
}

pub fn function_symbols(data: &[u8]) -> Vec<(u64, u64, String)> {
    let file = object::File::parse(data).unwrap();
    file.symbols()
        .filter(|s| s.kind() == SymbolKind::Text && s.size() > 0 && s.is_definition())
        .map(|s| (s.address() & !1, s.size(), s.name().unwrap_or("").to_string()))
        .collect()
}

/// `a` ends with the path `b` (b may be relative to a directory `a` spells out).
pub fn same_file(a: &str, b: &Path) -> bool {
    let a = Path::new(a);
    a == b || b.components().count() > 0 && a.ends_with(b.strip_prefix("/").unwrap_or(b))
        || b.ends_with(a.strip_prefix("/").unwrap_or(a))
}

/// The live line tables of an ELF: sequences that start at a function symbol.
pub struct LiveLines {
    pub live: Vec<Sequence>,
    pub dead: Vec<Sequence>,
    pub functions: Vec<(u64, u64, String)>,
}

impl LiveLines {
    pub fn read(data: &[u8]) -> LiveLines {
        let functions = function_symbols(data);
        let starts: std::collections::HashSet<u64> = functions.iter().map(|f| f.0).collect();
        let (live, dead) = sequences(data).into_iter().partition(|s| starts.contains(&s.start));
        LiveLines { live, dead, functions }
    }

    /// The live sequence covering `a` and its row there (`None`: no live line table
    /// covers `a`; a row with line 0 is compiler-generated code). Of several rows at
    /// one address (GCC's location views) the last statement row counts, as in gdb.
    pub fn row(&self, a: u64) -> Option<Option<&Row>> {
        let seq = self.live.iter().find(|s| s.start <= a && a < s.end)?;
        let Some(at) = seq.rows.iter().rev().find(|r| r.0 <= a).map(|r| r.0) else { return Some(None) };
        let same = || seq.rows.iter().rev().filter(move |r| r.0 == at);
        Some(same().find(|r| r.3).or_else(|| same().next()))
    }
}

/// A report's backtrace against the live line tables (`oracle = "dwarf"`): the innermost
/// frame at each PC has the file:line of the live line table's row at its `lookup_pc`
/// (outer inline frames carry call sites, which the line table does not hold).
pub fn check_report_lines(elf: &Path, r: &serde_json::Value) -> Result<(), String> {
    let data = std::fs::read(elf).map_err(|e| e.to_string())?;
    let lines = LiveLines::read(&data);
    let mut previous_pc = None;
    let mut checked = 0;
    for f in r["backtrace"].as_array().into_iter().flatten().filter(|e| e["kind"] == "frame") {
        let pc = f["pc"].as_u64();
        let innermost = pc != previous_pc;
        previous_pc = pc;
        if !innermost {
            continue;
        }
        let lookup = f["lookup_pc"].as_u64().ok_or("a frame without lookup_pc")? & !1;
        let (file, line) = (f["file"].as_str(), f["line"].as_u64());
        match lines.row(lookup) {
            None if line.is_some() => return Err(format!("{}: no live line table covers {lookup:#x}, isrscope says {file:?}:{line:?}", f["function"])),
            Some(Some(row)) if row.2 != 0 => {
                if line != Some(row.2) || !file.is_some_and(|of| same_file(of, &row.1)) {
                    return Err(format!("{} at {lookup:#x}: isrscope {file:?}:{line:?}, the live line table {}:{}", f["function"], row.1.display(), row.2));
                }
                checked += 1;
            }
            _ => {}
        }
    }
    if checked == 0 {
        return Err("no frame was checked against the line tables".into());
    }
    Ok(())
}

