//! Reading a halted target into a [`HaltedView`]: the report (the same
//! `report::collect` that `inspect` uses), and for each backtrace frame its source
//! lines, disassembly and recovered registers. Runs on the poller thread only.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::debuginfo::Image;
use crate::model::v6m::decode_thumb;
use crate::report::{self, CollectOptions};
use crate::target::{Target, TargetError};
use crate::unwind::{Backtrace, Frame};

use super::snapshot::{DisasmLine, FrameDetail, HaltedView};
use super::vectors;

/// Source lines kept on each side of a frame's line (the pane shows what fits).
const SOURCE_CONTEXT: u32 = 12;
/// Instructions kept on each side of a frame's PC.
const DISASM_CONTEXT: usize = 10;

/// Reads source files once per session.
#[derive(Default)]
pub struct SourceCache {
    files: HashMap<String, Result<Vec<String>, String>>,
}

impl SourceCache {
    fn lines(&mut self, path: &str) -> &Result<Vec<String>, String> {
        self.files.entry(path.to_string()).or_insert_with(|| {
            std::fs::read_to_string(PathBuf::from(path))
                .map(|t| t.lines().map(|l| l.replace('\t', "    ")).collect())
                .map_err(|e| format!("{path}: {e}"))
        })
    }
}

/// Builds everything the UI shows about the halted core behind `target`.
pub fn halted_view(
    target: &mut dyn Target,
    image: Option<&Image>,
    opts: &CollectOptions,
    sources: &mut SourceCache,
) -> Result<HaltedView, TargetError> {
    // The report keeps only what the JSON contract has; the registers each frame was
    // unwound with come from the unwinder's own result of the same walk.
    let (report, backtrace) = report::collect_with_backtrace(target, image, opts)?;
    let frame_regs = backtrace.map(|bt| frame_registers(&bt, &report)).unwrap_or_default();
    let mut frames = frame_details(target, image, &report.backtrace, sources);
    for (d, regs) in frames.iter_mut().zip(frame_regs) {
        if let (Some(d), Some(regs)) = (d, regs) {
            d.registers = regs;
        }
    }
    // Each task's frames; the first one's registers are those of its saved context.
    let task_frames = report
        .tasks
        .iter()
        .flat_map(|l| l.tasks.iter())
        .map(|t| {
            let mut details = frame_details(target, image, &t.backtrace, sources);
            if let (Some(Some(d)), Some(c)) = (details.first_mut(), &t.context) {
                d.registers = REGISTER_ORDER.iter().map(|n| (n.to_string(), c.registers.get(n))).collect();
            }
            details
        })
        .collect();
    let vectors = vectors::read(target, image).ok();
    Ok(HaltedView { report, frames, task_frames, vectors })
}

/// The registers a frame's detail lists, in this order.
const REGISTER_ORDER: [&str; 17] =
    ["r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "sp", "lr", "pc", "xpsr"];

/// Source lines and disassembly for each frame entry (`None` for exception entries).
fn frame_details(
    target: &mut dyn Target,
    image: Option<&Image>,
    entries: &[report::BacktraceEntry],
    sources: &mut SourceCache,
) -> Vec<Option<FrameDetail>> {
    entries
        .iter()
        .map(|entry| {
            let pc = entry.pc?;
            let mut d = FrameDetail { pc, ..FrameDetail::default() };
            match (&entry.file, entry.line) {
                (Some(file), Some(line)) => match sources.lines(file) {
                    Ok(lines) => {
                        let first = line.saturating_sub(SOURCE_CONTEXT).max(1);
                        let last = (line + SOURCE_CONTEXT).min(lines.len() as u32);
                        d.source = (first..=last).map(|n| (n, lines[n as usize - 1].clone())).collect();
                        d.source_line = Some(line);
                    }
                    Err(e) => d.source_note = Some(format!("source not readable: {e}")),
                },
                _ => d.source_note = Some("no source line for this address".into()),
            }
            d.disassembly = disassemble_around(target, image, pc);
            Some(d)
        })
        .collect()
}

type RegList = Vec<(String, Option<u32>)>;

/// The registers recovered for each backtrace entry (index as in the report);
/// an inlined frame shows the registers of the physical frame it is inlined into.
fn frame_registers(bt: &Backtrace, report: &report::Report) -> Vec<Option<RegList>> {
    if bt.frames.len() != report.backtrace.len() {
        return Vec::new();
    }
    let mut out: Vec<Option<RegList>> = vec![None; bt.frames.len()];
    let mut pending_inlined: Vec<usize> = Vec::new();
    for (i, f) in bt.frames.iter().enumerate() {
        let Frame::Frame(f) = f else { continue };
        if f.inlined {
            pending_inlined.push(i);
            continue;
        }
        let list = f.registers.as_ref().map(|set| {
            let mut list: RegList =
                REGISTER_ORDER[..16].iter().enumerate().map(|(n, name)| (name.to_string(), set.get(n))).collect();
            list.push(("xpsr".into(), set.xpsr()));
            list
        });
        for j in pending_inlined.drain(..) {
            out[j] = list.clone();
        }
        out[i] = list;
    }
    out
}

/// Thumb instructions around `pc`: decoded from the start of its function (Thumb
/// cannot be decoded backwards reliably), or from `pc` when no symbol covers it.
fn disassemble_around(target: &mut dyn Target, image: Option<&Image>, pc: u32) -> Vec<DisasmLine> {
    let pc = pc & !1;
    let start = image
        .and_then(|i| i.symbols().function_at(pc))
        .map(|s| s.address & !1)
        .filter(|&s| s <= pc && pc - s <= 4096)
        .unwrap_or(pc);
    let len = (pc - start) as usize + 2 * 4 * DISASM_CONTEXT;
    let bytes = match image.and_then(|i| i.read_static(start, len)) {
        Some(b) => b.to_vec(),
        None => {
            let mut buf = vec![0u8; len];
            match target.read_memory_partial(start, &mut buf) {
                Ok(n) => buf.truncate(n),
                Err(_) => return Vec::new(),
            }
            buf
        }
    };
    let lines = decode_all(start, &bytes);
    let at = lines.iter().position(|l| l.address >= pc).unwrap_or(lines.len());
    let from = at.saturating_sub(DISASM_CONTEXT);
    let to = (at + DISASM_CONTEXT).min(lines.len());
    lines[from..to].to_vec()
}

/// Linear Thumb decoding of `bytes` loaded at `address`.
pub fn decode_all(address: u32, bytes: &[u8]) -> Vec<DisasmLine> {
    let mut out = Vec::new();
    let mut off = 0usize;
    while off + 2 <= bytes.len() {
        let half = u16::from_le_bytes([bytes[off], bytes[off + 1]]);
        let wide = matches!(half >> 11, 0b11101..=0b11111);
        let size = if wide { 4 } else { 2 };
        if off + size > bytes.len() {
            break;
        }
        let raw = &bytes[off..off + size];
        let text = match decode_thumb(raw) {
            Ok(inst) => inst.to_string(),
            Err(_) => "(not decoded)".to_string(),
        };
        let hex = if wide { format!("{:04x} {:04x}", half, u16::from_le_bytes([raw[2], raw[3]])) } else { format!("{half:04x}") };
        out.push(DisasmLine { address: address + off as u32, bytes: hex, text });
        off += size;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumb_widths_follow_the_first_halfword() {
        // movs r0, #1 ; bl (32-bit) ; bx lr
        let code = [0x01, 0x20, 0x00, 0xf0, 0x01, 0xf8, 0x70, 0x47];
        let lines = decode_all(0x100, &code);
        assert_eq!(lines.iter().map(|l| l.address).collect::<Vec<_>>(), [0x100, 0x102, 0x106]);
        assert_eq!(lines[1].bytes, "f000 f801");
        assert!(lines[2].text.contains("bx"), "{:?}", lines[2]);
    }
}
