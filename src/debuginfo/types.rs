//! Structure layouts from DWARF: the members of a C struct (name, offset, size), found by
//! its tag or a typedef of it. What RTOS awareness reads kernel objects with, so that
//! any configuration of the kernel works (docs/rtos.md), never hard-coded offsets.

use gimli::{AttributeValue, EndianReader, Reader as _, RunTimeEndian, UnitOffset};

use super::bytes::SharedBytes;
use super::image::Image;

type Reader = EndianReader<RunTimeEndian, SharedBytes>;
type Unit = gimli::Unit<Reader>;

/// One member of a structure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    pub offset: u32,
    /// The member's size in bytes, where DWARF says (arrays: elements x count).
    pub size: Option<u32>,
}

/// A structure as DWARF describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StructLayout {
    pub name: String,
    pub size: u32,
    pub members: Vec<Member>,
}

impl StructLayout {
    pub fn member(&self, name: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.name == name)
    }

    pub fn offset(&self, name: &str) -> Option<u32> {
        self.member(name).map(|m| m.offset)
    }
}

/// Depth bound for following typedef/const/volatile chains (a cycle in bad DWARF).
const TYPE_CHAIN_MAX: usize = 16;

impl Image {
    /// The layout of the first structure (with members, not a declaration) whose tag or
    /// typedef is one of `names`, searching every compilation unit. `None` without
    /// DWARF or without such a structure.
    pub fn struct_layout(&self, names: &[&str]) -> Option<StructLayout> {
        self.struct_layouts(&[names]).pop().flatten()
    }

    /// [`Image::struct_layout`] for several structures in one pass over the DWARF: one
    /// result per entry of `wanted`, each a list of the names it may go by.
    pub fn struct_layouts(&self, wanted: &[&[&str]]) -> Vec<Option<StructLayout>> {
        let mut found: Vec<Option<StructLayout>> = vec![None; wanted.len()];
        if !self.has_debug_info() {
            return found;
        }
        let load = |id: gimli::SectionId| -> Result<Reader, gimli::Error> {
            let bytes = self.debug_sections.get(id.name()).cloned().unwrap_or_else(SharedBytes::empty);
            Ok(EndianReader::new(bytes, RunTimeEndian::Little))
        };
        let Ok(dwarf) = gimli::Dwarf::load(load) else { return found };
        let mut headers = dwarf.units();
        while let Ok(Some(header)) = headers.next() {
            let Ok(unit) = dwarf.unit(header) else { continue };
            let mut entries = unit.entries();
            while let Ok(Some(e)) = entries.next_dfs() {
                let tag = e.tag();
                if tag != gimli::DW_TAG_structure_type && tag != gimli::DW_TAG_typedef {
                    continue;
                }
                let Some(name) = die_name(&dwarf, &unit, e) else { continue };
                let Some(i) = (0..wanted.len()).find(|&i| found[i].is_none() && wanted[i].contains(&name.as_str())) else {
                    continue;
                };
                let offset = if tag == gimli::DW_TAG_typedef { strip_to_struct(&unit, e.offset()) } else { Some(e.offset()) };
                found[i] = offset.and_then(|o| read_struct(&dwarf, &unit, o, &name));
                if found.iter().all(Option::is_some) {
                    return found;
                }
            }
        }
        found
    }
}

fn die_name(dwarf: &gimli::Dwarf<Reader>, unit: &Unit, e: &gimli::DebuggingInformationEntry<Reader>) -> Option<String> {
    let v = e.attr_value(gimli::DW_AT_name)?;
    let s = dwarf.attr_string(unit, v).ok()?;
    Some(s.to_string_lossy().ok()?.into_owned())
}

fn type_ref(e: &gimli::DebuggingInformationEntry<Reader>) -> Option<UnitOffset> {
    match e.attr_value(gimli::DW_AT_type)? {
        AttributeValue::UnitRef(o) => Some(o),
        _ => None,
    }
}

/// Follows typedef/const/volatile from `offset` to a structure type.
fn strip_to_struct(unit: &Unit, mut offset: UnitOffset) -> Option<UnitOffset> {
    for _ in 0..TYPE_CHAIN_MAX {
        let e = unit.entry(offset).ok()?;
        match e.tag() {
            gimli::DW_TAG_structure_type => return Some(offset),
            gimli::DW_TAG_typedef | gimli::DW_TAG_const_type | gimli::DW_TAG_volatile_type => offset = type_ref(&e)?,
            _ => return None,
        }
    }
    None
}

fn read_struct(dwarf: &gimli::Dwarf<Reader>, unit: &Unit, offset: UnitOffset, name: &str) -> Option<StructLayout> {
    let e = unit.entry(offset).ok()?;
    if e.attr_value(gimli::DW_AT_declaration).is_some() {
        return None;
    }
    let size = e.attr_value(gimli::DW_AT_byte_size)?.udata_value()? as u32;
    let mut tree = unit.entries_tree(Some(offset)).ok()?;
    let root = tree.root().ok()?;
    let mut children = root.children();
    let mut members = Vec::new();
    while let Ok(Some(child)) = children.next() {
        let m = child.entry();
        if m.tag() != gimli::DW_TAG_member {
            continue;
        }
        let Some(member) = die_name(dwarf, unit, m) else { continue };
        let Some(at) = m.attr_value(gimli::DW_AT_data_member_location).and_then(|v| v.udata_value()) else {
            continue;
        };
        let size = type_ref(m).and_then(|t| type_size(unit, t, 0));
        members.push(Member { name: member, offset: at as u32, size });
    }
    Some(StructLayout { name: name.to_string(), size, members })
}

/// The size of the type at `offset`: its byte size, through typedefs and qualifiers;
/// an array's element size times its count.
fn type_size(unit: &Unit, offset: UnitOffset, depth: usize) -> Option<u32> {
    if depth > TYPE_CHAIN_MAX {
        return None;
    }
    let e = unit.entry(offset).ok()?;
    if let Some(n) = e.attr_value(gimli::DW_AT_byte_size).and_then(|v| v.udata_value()) {
        return Some(n as u32);
    }
    match e.tag() {
        gimli::DW_TAG_typedef | gimli::DW_TAG_const_type | gimli::DW_TAG_volatile_type => type_size(unit, type_ref(&e)?, depth + 1),
        gimli::DW_TAG_pointer_type => Some(unit.encoding().address_size as u32),
        gimli::DW_TAG_array_type => {
            let element = type_size(unit, type_ref(&e)?, depth + 1)?;
            let mut tree = unit.entries_tree(Some(offset)).ok()?;
            let root = tree.root().ok()?;
            let mut children = root.children();
            let mut count: u64 = 1;
            while let Ok(Some(child)) = children.next() {
                let s = child.entry();
                if s.tag() != gimli::DW_TAG_subrange_type {
                    continue;
                }
                let n = match (s.attr_value(gimli::DW_AT_count), s.attr_value(gimli::DW_AT_upper_bound)) {
                    (Some(c), _) => c.udata_value()?,
                    (None, Some(u)) => u.udata_value()? + 1,
                    _ => return None,
                };
                count = count.checked_mul(n)?;
            }
            u32::try_from(count.checked_mul(u64::from(element))?).ok()
        }
        _ => None,
    }
}
