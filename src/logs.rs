//! The firmware's defmt frames, decoded with defmt-decoder against the ELF's `.defmt`
//! table, and printed one line each by a template (`--log-format`, in the manner of
//! probe-rs' presets).

use std::collections::BTreeMap;

use defmt_decoder::{DecodeError, Frame, Locations, StreamDecoder, Table};

/// `{t} {L} {s} ({f}:{l})`: timestamp, level, message, file name and line.
pub const DEFAULT_FORMAT: &str = "{t} {L} {s} ({f}:{l})";

/// A decoder for one stream of defmt frames.
pub struct DefmtLog {
    decoder: Box<dyn StreamDecoder + Send + Sync>,
    table: &'static Table,
    locations: Locations,
    format: String,
    /// Bytes that did not decode: the stream is out of step (the firmware was reset,
    /// or the table is another build's).
    pub malformed: usize,
}

impl DefmtLog {
    /// `None` when the ELF has no defmt table. The table lives as long as the process:
    /// a run decodes one ELF's frames.
    pub fn new(elf: &[u8], format: &str) -> anyhow::Result<Option<DefmtLog>> {
        let table = match Table::parse(elf) {
            // A table with no frames: defmt linked in but never used.
            Ok(Some(t)) if t.is_empty() => return Ok(None),
            Ok(Some(t)) => t,
            Ok(None) => return Ok(None),
            // defmt.x linked in, defmt not used by this binary: no table, nothing to decode.
            Err(e) if e.to_string().contains("no defmt version symbol") => return Ok(None),
            Err(e) => return Err(e),
        };
        let locations = table.get_locations(elf).unwrap_or_else(|_| BTreeMap::new());
        let table: &'static Table = Box::leak(Box::new(table));
        let decoder = table.new_stream_decoder();
        Ok(Some(DefmtLog { decoder, table, locations, format: format.to_string(), malformed: 0 }))
    }

    /// Feeds bytes from the transport; returns the lines of the frames now complete.
    pub fn received(&mut self, bytes: &[u8]) -> Vec<String> {
        self.decoder.received(bytes);
        let mut lines = Vec::new();
        loop {
            match self.decoder.decode() {
                Ok(frame) => lines.push(render(&self.format, &frame, &self.locations)),
                Err(DecodeError::UnexpectedEof) => break,
                Err(DecodeError::Malformed) => {
                    self.malformed += 1;
                    if !self.table.encoding().can_recover() {
                        break;
                    }
                }
            }
        }
        lines
    }
}

/// One frame by the template: `{t}` timestamp, `{L}` level (upper case, padded to 5),
/// `{s}` message, `{F}` file path, `{f}` file name, `{l}` line, `{m}` module path.
pub fn render(format: &str, frame: &Frame<'_>, locations: &Locations) -> String {
    let loc = locations.get(&frame.index());
    let level = frame.level().map(|l| l.as_str().to_uppercase()).unwrap_or_else(|| "PRINT".into());
    let timestamp = frame.display_timestamp().map(|t| t.to_string()).unwrap_or_default();
    let file = loc.map(|l| l.file.display().to_string()).unwrap_or_else(|| "?".into());
    let name = loc.and_then(|l| l.file.file_name()).map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "?".into());
    let line = loc.map(|l| l.line.to_string()).unwrap_or_else(|| "?".into());
    let module = loc.map(|l| l.module.clone()).unwrap_or_default();
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '{' {
            out.push(c);
            continue;
        }
        let key: String = chars.by_ref().take_while(|&c| c != '}').collect();
        match key.as_str() {
            "t" => out.push_str(&timestamp),
            "L" => out.push_str(&format!("{level:<5}")),
            "s" => out.push_str(&frame.display_message().to_string()),
            "F" => out.push_str(&file),
            "f" => out.push_str(&name),
            "l" => out.push_str(&line),
            "m" => out.push_str(&module),
            other => {
                out.push('{');
                out.push_str(other);
                out.push('}');
            }
        }
    }
    out.trim_start().to_string()
}
