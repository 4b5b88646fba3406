//! Shared, cheaply clonable views into the ELF file's bytes.
//!
//! The file is memory-mapped once; every DWARF section handed to gimli is a
//! [`SharedBytes`] window into that mapping, so loading a 50 MB ELF copies nothing.
//! Compressed debug sections are the exception: they are inflated into owned buffers.

use std::ops::{Deref, Range};
use std::sync::Arc;

/// Where the file's bytes live.
#[derive(Debug)]
pub(crate) enum Backing {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl Deref for Backing {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Backing::Mapped(m) => m,
            Backing::Owned(v) => v,
        }
    }
}

/// A window `range` into bytes kept alive by an `Arc`.
#[derive(Clone)]
pub struct SharedBytes {
    owner: Arc<dyn Deref<Target = [u8]> + Send + Sync>,
    range: Range<usize>,
}

impl SharedBytes {
    pub(crate) fn window(owner: Arc<Backing>, range: Range<usize>) -> Self {
        Self { owner, range }
    }
    pub(crate) fn owned(bytes: Vec<u8>) -> Self {
        let len = bytes.len();
        Self { owner: Arc::new(Backing::Owned(bytes)), range: 0..len }
    }
    pub(crate) fn empty() -> Self {
        Self::owned(Vec::new())
    }
}

impl std::fmt::Debug for SharedBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SharedBytes({:?})", self.range)
    }
}

impl Deref for SharedBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.owner[self.range.clone()]
    }
}

// SAFETY: the bytes are owned by the `Arc`'s pointee (a read-only mapping or a Vec that
// is never mutated), whose address does not change when the `SharedBytes` moves or is
// cloned: dereferencing any clone yields the same, stable slice.
unsafe impl gimli::StableDeref for SharedBytes {}
unsafe impl gimli::CloneStableDeref for SharedBytes {}

/// The gimli reader every DWARF consumer in isrscope uses.
pub type Reader = gimli::EndianReader<gimli::RunTimeEndian, SharedBytes>;
