//! GDB target descriptions (`target.xml` and the annexes it `xi:include`s): the
//! register names, sizes and numbers a server uses. Nothing is hard-coded: QEMU numbers
//! xpsr 25 and its system registers after the FP ones, OpenOCD numbers xPSR 16.

use std::collections::HashSet;

/// One register as the server describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegDef {
    /// Lower-cased name (OpenOCD says `xPSR`).
    pub name: String,
    pub bitsize: u32,
    pub regnum: u32,
    /// The `<feature name=...>` it belongs to.
    pub feature: String,
}

/// A parsed description: registers ordered by number, and the architecture string.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TargetDescription {
    pub architecture: Option<String>,
    pub registers: Vec<RegDef>,
    /// Every `<feature name=...>`, registers or not (QEMU's own start with `org.qemu.`).
    pub features: Vec<String>,
}

/// Nesting allowed for `xi:include` (QEMU uses one level).
const MAX_INCLUDE_DEPTH: u32 = 4;

impl TargetDescription {
    /// Parses `target.xml`, fetching each included annex through `fetch`.
    pub fn load(
        root: &str,
        fetch: &mut dyn FnMut(&str) -> Result<String, crate::target::TargetError>,
    ) -> Result<Self, crate::target::TargetError> {
        let mut out = TargetDescription::default();
        let mut next_regnum = 0u32;
        let mut seen = HashSet::new();
        parse_document(
            "target.xml",
            root,
            fetch,
            &mut out,
            &mut next_regnum,
            &mut seen,
            0,
        )?;
        out.registers.sort_by_key(|r| r.regnum);
        out.registers.dedup_by_key(|r| r.regnum);
        Ok(out)
    }

    pub fn find(&self, name: &str) -> Option<&RegDef> {
        self.registers.iter().find(|r| r.name == name)
    }

    /// The layout of a `g` reply (GDB's rule): registers in number order, each at the
    /// sum of the sizes before it. Returns (register, byte offset) pairs.
    pub fn g_layout(&self) -> Vec<(&RegDef, usize)> {
        let mut offset = 0;
        self.registers
            .iter()
            .map(|r| {
                let here = offset;
                offset += (r.bitsize as usize).div_ceil(8);
                (r, here)
            })
            .collect()
    }
}

fn bad(annex: &str, message: impl std::fmt::Display) -> crate::target::TargetError {
    crate::target::TargetError::Protocol {
        doing: format!("reading the target description ({annex})"),
        message: message.to_string(),
    }
}

fn parse_document(
    annex: &str,
    text: &str,
    fetch: &mut dyn FnMut(&str) -> Result<String, crate::target::TargetError>,
    out: &mut TargetDescription,
    next_regnum: &mut u32,
    seen: &mut HashSet<String>,
    depth: u32,
) -> Result<(), crate::target::TargetError> {
    if depth > MAX_INCLUDE_DEPTH {
        return Err(bad(annex, "xi:include nested too deeply"));
    }
    let text = declare_xinclude(text);
    // Servers send `<!DOCTYPE target SYSTEM "gdb-target.dtd">`; the DTD is never fetched.
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(&text, options).map_err(|e| bad(annex, e))?;
    let mut feature = String::new();
    walk(
        doc.root_element(),
        annex,
        fetch,
        out,
        next_regnum,
        seen,
        depth,
        &mut feature,
    )
}

#[allow(clippy::too_many_arguments)]
fn walk(
    node: roxmltree::Node,
    annex: &str,
    fetch: &mut dyn FnMut(&str) -> Result<String, crate::target::TargetError>,
    out: &mut TargetDescription,
    next_regnum: &mut u32,
    seen: &mut HashSet<String>,
    depth: u32,
    feature: &mut String,
) -> Result<(), crate::target::TargetError> {
    match node.tag_name().name() {
        "architecture" => out.architecture = node.text().map(|t| t.trim().to_string()),
        "feature" => {
            *feature = node.attribute("name").unwrap_or_default().to_string();
            out.features.push(feature.clone());
        }
        "include" => {
            let href = node
                .attribute("href")
                .ok_or_else(|| bad(annex, "xi:include without href"))?;
            if seen.insert(href.to_string()) {
                let text = fetch(href)?;
                parse_document(href, &text, fetch, out, next_regnum, seen, depth + 1)?;
            }
            return Ok(());
        }
        "reg" => {
            let name = node
                .attribute("name")
                .ok_or_else(|| bad(annex, "<reg> without a name"))?;
            let bitsize = node
                .attribute("bitsize")
                .and_then(|b| b.parse().ok())
                // RSP registers are at most a 512-bit vector: more is a broken description.
                .filter(|b| (1..=512).contains(b))
                .ok_or_else(|| bad(annex, format!("register {name} has no valid bitsize")))?;
            let regnum = match node.attribute("regnum") {
                Some(n) => n
                    .parse()
                    .map_err(|_| bad(annex, format!("register {name}: bad regnum {n:?}")))?,
                None => *next_regnum,
            };
            *next_regnum = regnum.saturating_add(1);
            out.registers.push(RegDef {
                name: name.to_ascii_lowercase(),
                bitsize,
                regnum,
                feature: feature.clone(),
            });
            return Ok(());
        }
        _ => {}
    }
    for child in node.children().filter(|n| n.is_element()) {
        walk(child, annex, fetch, out, next_regnum, seen, depth, feature)?;
    }
    Ok(())
}

/// Servers write `<xi:include>` without declaring the `xi` prefix; a conforming XML
/// parser rejects that, so declare it on the root element.
fn declare_xinclude(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("xi:include") || text.contains("xmlns:xi") {
        return text.into();
    }
    let Some(root) = ["<target", "<feature"]
        .iter()
        .filter_map(|t| text.find(t).map(|p| p + t.len()))
        .min()
    else {
        return text.into();
    };
    let mut s = text.to_string();
    s.insert_str(root, r#" xmlns:xi="http://www.w3.org/2001/XInclude""#);
    s.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const QEMU_TARGET: &str = r#"<?xml version="1.0"?><!DOCTYPE target SYSTEM "gdb-target.dtd"><target><architecture>arm</architecture><xi:include href="arm-m-profile.xml"/><xi:include href="arm-vfp.xml"/><xi:include href="arm-m-system.xml"/></target>"#;

    fn annex(name: &str) -> String {
        match name {
            "arm-m-profile.xml" => {
                let mut s = String::from(r#"<?xml version="1.0"?><!DOCTYPE feature SYSTEM "gdb-target.dtd"><feature name="org.gnu.gdb.arm.m-profile">"#);
                for i in 0..13 {
                    s.push_str(&format!(r#"<reg name="r{i}" bitsize="32"/>"#));
                }
                s.push_str(r#"<reg name="sp" bitsize="32" type="data_ptr"/><reg name="lr" bitsize="32"/><reg name="pc" bitsize="32" type="code_ptr"/><reg name="xpsr" bitsize="32" regnum="25"/></feature>"#);
                s
            }
            "arm-vfp.xml" => {
                let mut s = String::from(r#"<feature name="org.gnu.gdb.arm.vfp">"#);
                for i in 0..16 {
                    s.push_str(&format!(r#"<reg name="d{i}" bitsize="64" type="float"/>"#));
                }
                s.push_str(r#"<reg name="fpscr" bitsize="32" type="int" group="float"/></feature>"#);
                s
            }
            "arm-m-system.xml" => r#"<feature name="org.gnu.gdb.arm.m-system"><reg name="msp" bitsize="32" regnum="43" type="int"/><reg name="psp" bitsize="32" regnum="44" type="int"/></feature>"#.into(),
            _ => panic!("unexpected annex {name}"),
        }
    }

    #[test]
    fn qemu_numbering_follows_regnum_and_order_across_includes() {
        let td = TargetDescription::load(QEMU_TARGET, &mut |n| Ok(annex(n))).unwrap();
        assert_eq!(td.architecture.as_deref(), Some("arm"));
        assert_eq!(td.find("pc").unwrap().regnum, 15);
        assert_eq!(td.find("xpsr").unwrap().regnum, 25);
        assert_eq!(td.find("d0").unwrap().regnum, 26);
        assert_eq!(td.find("fpscr").unwrap().regnum, 42);
        assert_eq!(td.find("msp").unwrap().regnum, 43);
        let layout = td.g_layout();
        let xpsr = layout.iter().find(|(r, _)| r.name == "xpsr").unwrap();
        assert_eq!(xpsr.1, 64, "xpsr follows pc directly in a g reply");
    }

    #[test]
    fn openocd_style_inline_description_with_mixed_case() {
        let xml = r#"<?xml version="1.0"?><target version="1.0"><feature name="org.gnu.gdb.arm.m-profile"><reg name="r0" bitsize="32" regnum="0"/><reg name="pc" bitsize="32" regnum="15"/><reg name="xPSR" bitsize="32" regnum="16"/></feature><feature name="org.gnu.gdb.arm.m-system"><reg name="msp" bitsize="32" regnum="17"/></feature></target>"#;
        let td = TargetDescription::load(xml, &mut |n| panic!("no annex expected, asked for {n}"))
            .unwrap();
        assert_eq!(td.find("xpsr").unwrap().regnum, 16);
        assert_eq!(td.find("msp").unwrap().regnum, 17);
    }

    #[test]
    fn broken_xml_is_a_protocol_error_naming_the_annex() {
        let err =
            TargetDescription::load("<target><feature>", &mut |_| unreachable!()).unwrap_err();
        assert!(err.to_string().contains("target.xml"), "{err}");
    }
}
