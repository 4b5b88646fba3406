//! Which addresses hold code the linker kept: the one rule every lookup of code uses.
//!
//! An address is code ([`CodeMap::is_code`]) when it lies in an allocated, executable
//! section: the question for a PC or a call site.
//!
//! A stricter question decides which debug information describes live code
//! ([`CodeMap::starts_code`]): with `--gc-sections` the linker drops unused functions but
//! leaves their DWARF (line sequences, subprogram and unit ranges, FDEs) behind, resolved
//! to address 0 (GNU ld) or to a tombstone (lld: 0xffffffff, 0xfffffffe, 1). A range is
//! live only if its first address is code and no data object of the symbol table
//! (STT_OBJECT) occupies it. On parts whose flash starts at 0 the dead ranges overlap
//! real code; their first address is the vector table, which is not code: outside any
//! executable section, or, when a linker script puts it inside `.text`, the object
//! `__isr_vector`/`g_pfnVectors`/`__RESET_VECTOR`. (ARM mapping symbols would say the
//! same of the table, but they also mark instructions written as data, like the lab's
//! `.short` UDF, whose function's range starts there: they are not used.)

use std::sync::Arc;

/// The image's code spans; cheap to clone (shared).
#[derive(Clone, Debug, Default)]
pub struct CodeMap(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    /// Executable sections `[start, end)`, sorted.
    sections: Vec<(u32, u32)>,
    /// Data objects inside executable sections, `[start, end)`, sorted.
    objects: Vec<(u32, u32)>,
    /// No section is executable (a raw image converted to ELF): fall back to `fallback`.
    fallback: Vec<(u32, u32)>,
}

impl CodeMap {
    /// `sections`: executable sections as `[start, end)`; `objects`: data objects of the
    /// symbol table as `[start, end)`; `fallback`: flash regions, used only when no
    /// section is executable.
    pub(crate) fn new(mut sections: Vec<(u32, u32)>, mut objects: Vec<(u32, u32)>, fallback: Vec<(u32, u32)>) -> Self {
        sections.retain(|(s, e)| e > s);
        sections.sort_unstable();
        objects.retain(|(s, e)| e > s && sections.iter().any(|(a, b)| s >= a && s < b));
        objects.sort_unstable();
        CodeMap(Arc::new(Inner { sections, objects, fallback }))
    }

    /// The executable section `[start, end)` holding `a`.
    fn section(&self, a: u32) -> Option<(u32, u32)> {
        let sections = &self.0.sections;
        let i = sections.partition_point(|(s, _)| *s <= a);
        let &(start, end) = sections.get(i.checked_sub(1)?)?;
        (a < end).then_some((start, end))
    }

    /// Is `address` (Thumb bit ignored) in code the image holds?
    pub fn is_code(&self, address: u32) -> bool {
        let a = address & !1;
        let inner = &*self.0;
        if inner.sections.is_empty() {
            return inner.fallback.iter().any(|(s, e)| a >= *s && a < *e);
        }
        self.section(a).is_some()
    }

    /// Can debug information for a range starting at `address` describe live code: is
    /// it code, and not inside a data object (the vector table in `.text`)?
    pub fn starts_code(&self, address: u32) -> bool {
        let a = address & !1;
        let inner = &*self.0;
        if inner.sections.is_empty() {
            return self.is_code(a);
        }
        if self.section(a).is_none() {
            return false;
        }
        let i = inner.objects.partition_point(|(s, _)| *s <= a);
        !inner.objects[..i].iter().any(|(_, e)| a < *e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_executable_sections_are_code() {
        let map = CodeMap::new(vec![(0x100, 0x200)], vec![], vec![]);
        assert!(!map.is_code(0));
        assert!(!map.is_code(0xff));
        assert!(map.is_code(0x100));
        assert!(map.is_code(0x1ff));
        assert!(!map.is_code(0x200));
        assert!(!map.is_code(0xffff_ffff), "lld's tombstone");
    }

    #[test]
    fn ranges_cannot_start_in_data_objects() {
        // A vector table object at the start of .text, code from 0xc0.
        let map = CodeMap::new(vec![(0, 0x400)], vec![(0, 0xc0), (0x600, 0x700)], vec![]);
        assert!(!map.starts_code(0), "the vector table inside .text");
        assert!(!map.starts_code(0xbc));
        assert!(map.starts_code(0xc0));
        assert!(map.is_code(0), "a PC there is still in an executable section");
        assert!(!map.starts_code(0x400) && !map.is_code(0x400));
    }

    #[test]
    fn without_executable_sections_flash_counts() {
        let map = CodeMap::new(vec![], vec![], vec![(0x0800_0000, 0x0810_0000)]);
        assert!(map.is_code(0x0800_0400));
        assert!(map.starts_code(0x0800_0400));
        assert!(!map.is_code(0x2000_0000));
    }
}
