//! The firmware image: ELF layout (sections, segments, symbols, memory regions, vector
//! table) and DWARF symbolization.
//!
//! Like addr2line, loading is cheap and lookups are lazy: [`Image::open`] maps the file
//! and reads the headers and symbol table; DWARF is parsed only for the addresses
//! [`Image::symbolize`] is asked about. Missing debug info is a warning, not an error.

mod bytes;
mod code;
mod image;
mod layout;
mod symbolize;
mod symbols;
pub mod types;

pub use bytes::{Reader, SharedBytes};
pub use code::CodeMap;
pub use image::{Image, ImageError, Section, Segment};
pub use layout::{MemoryRegion, RegionKind, StackRegion, VectorTable, VectorTableSource};
pub use symbolize::{NameSource, SourceFrame, Symbolized, demangle};
pub use symbols::{Symbol, SymbolKind, SymbolTable};
