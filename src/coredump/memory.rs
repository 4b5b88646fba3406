//! The memory a dump holds: sorted, non-overlapping segments, merged from whatever
//! pieces were read (RAM regions, system blocks, the reads the analysis made).

/// One contiguous run of captured bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub start: u32,
    pub data: Vec<u8>,
}

impl Segment {
    /// Exclusive end, as u64 so a segment may end at 4 GiB.
    pub fn end(&self) -> u64 {
        u64::from(self.start) + self.data.len() as u64
    }
}

/// A span of target addresses, `[start, start + len)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Span {
    pub start: u32,
    pub len: u32,
}

impl Span {
    pub fn end(&self) -> u64 {
        u64::from(self.start) + u64::from(self.len)
    }
    /// Whether `[address, address + len)` lies inside this span.
    pub fn covers(&self, address: u32, len: usize) -> bool {
        address >= self.start && u64::from(address) + len as u64 <= self.end()
    }
}

/// Captured memory: segments sorted by address, never overlapping or touching
/// (touching pieces are merged), so a read is inside one segment or not captured.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryImage {
    segments: Vec<Segment>,
}

impl MemoryImage {
    /// Merges `pieces` (in any order, possibly overlapping; where they overlap the
    /// first piece given wins, which for a halted core are the same bytes anyway).
    pub fn from_pieces(pieces: impl IntoIterator<Item = (u32, Vec<u8>)>) -> Self {
        let mut pieces: Vec<(usize, u32, Vec<u8>)> = pieces
            .into_iter()
            .filter(|(_, d)| !d.is_empty())
            .enumerate()
            .map(|(i, (a, mut d))| {
                // Clip anything past the 32-bit address space.
                let room = (1u64 << 32) - u64::from(a);
                d.truncate(room.min(d.len() as u64) as usize);
                (i, a, d)
            })
            .collect();
        pieces.sort_by_key(|(i, a, _)| (*a, *i));
        let mut segments: Vec<Segment> = Vec::new();
        for (_, start, data) in pieces {
            match segments.last_mut() {
                Some(last) if u64::from(start) <= last.end() => {
                    let skip = (last.end() - u64::from(start)) as usize;
                    if skip < data.len() {
                        last.data.extend_from_slice(&data[skip..]);
                    }
                }
                _ => segments.push(Segment { start, data }),
            }
        }
        MemoryImage { segments }
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Total captured bytes.
    pub fn len(&self) -> u64 {
        self.segments.iter().map(|s| s.data.len() as u64).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// The segment holding `address`, if any.
    fn segment_at(&self, address: u32) -> Option<&Segment> {
        let i = self.segments.partition_point(|s| s.start <= address);
        let s = self.segments.get(i.checked_sub(1)?)?;
        (u64::from(address) < s.end()).then_some(s)
    }

    /// The captured bytes `[address, address + len)`, whole or `None`.
    pub fn get(&self, address: u32, len: usize) -> Option<&[u8]> {
        let s = self.segment_at(address)?;
        let off = (address - s.start) as usize;
        s.data.get(off..off.checked_add(len)?)
    }

    /// How many bytes from `address` on (at most `len`) are captured.
    pub fn readable_prefix(&self, address: u32, len: usize) -> usize {
        match self.segment_at(address) {
            Some(s) => ((s.end() - u64::from(address)) as usize).min(len),
            None => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_and_touching_pieces_merge() {
        let m = MemoryImage::from_pieces([
            (0x2000_0010, vec![2; 0x10]),
            (0x2000_0000, vec![1; 0x18]),
            (0x2000_0020, vec![3; 4]),
            (0xE000_ED00, vec![4; 0x40]),
        ]);
        assert_eq!(m.segments().len(), 2);
        let s = &m.segments()[0];
        assert_eq!((s.start, s.data.len()), (0x2000_0000, 0x24));
        assert_eq!(&s.data[0x10..0x18], &[1; 8], "the first piece given wins");
        assert_eq!(s.data[0x18], 2);
        assert_eq!(s.data[0x20], 3);
        assert_eq!(m.get(0x2000_0020, 4), Some(&[3u8; 4][..]));
        assert_eq!(m.get(0x2000_0022, 4), None, "runs past the segment");
        assert_eq!(m.get(0x1fff_fffc, 4), None);
        assert_eq!(m.readable_prefix(0x2000_0020, 16), 4);
        assert_eq!(m.readable_prefix(0x3000_0000, 16), 0);
        assert_eq!(m.len(), 0x24 + 0x40);
    }

    #[test]
    fn a_piece_at_the_top_of_the_address_space_is_clipped() {
        let m = MemoryImage::from_pieces([(0xffff_fffc, vec![9; 8])]);
        assert_eq!(m.segments()[0].data.len(), 4);
        assert_eq!(m.get(0xffff_fffc, 4), Some(&[9u8; 4][..]));
        assert_eq!(m.get(0xffff_fffc, 8), None);
    }
}
