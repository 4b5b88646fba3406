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
    /// Its offset in a `g` reply is known: it was described before any annex that was
    /// left unread (see [`TargetDescription::load_deferring`]).
    pub g_placed: bool,
}

/// A parsed description: registers ordered by number, and the architecture string.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TargetDescription {
    pub architecture: Option<String>,
    pub registers: Vec<RegDef>,
    /// Every `<feature name=...>`, registers or not (QEMU's own start with `org.qemu.`).
    pub features: Vec<String>,
    /// Every annex `xi:include`d, read or not, in document order.
    pub includes: Vec<String>,
    /// Annexes left unread by [`TargetDescription::load_deferring`]: their registers are
    /// not in `registers` until [`TargetDescription::complete`].
    pub deferred: Vec<String>,
    /// The documents read so far (`target.xml` first), to complete without reading any
    /// of them again.
    sources: Vec<(String, String)>,
    /// A register was numbered by its order after a deferred annex.
    numbering_unsure: bool,
}

/// Nesting allowed for `xi:include` (QEMU uses one level).
const MAX_INCLUDE_DEPTH: u32 = 4;

type Fetch<'a> = dyn FnMut(&str) -> Result<String, crate::target::TargetError> + 'a;

impl TargetDescription {
    /// Parses `target.xml`, fetching each included annex through `fetch`.
    pub fn load(root: &str, fetch: &mut Fetch) -> Result<Self, crate::target::TargetError> {
        Self::load_deferring(root, fetch, &|_| false)
    }

    /// [`TargetDescription::load`], leaving unread the annexes `defer` names (by their
    /// `href`), each one request saved on the link: QEMU's FP bank (`arm-vfp.xml`) is
    /// needed only when lazy FP stacking is pending. Sound only while the annexes that
    /// are read number their registers themselves (`regnum`) after a deferred one, as
    /// QEMU's and gdb's do: where one numbers by order, everything is read at once.
    /// Registers described after a deferred annex have no known place in a `g` reply.
    pub fn load_deferring(
        root: &str,
        fetch: &mut Fetch,
        defer: &dyn Fn(&str) -> bool,
    ) -> Result<Self, crate::target::TargetError> {
        let mut sources = vec![("target.xml".to_string(), root.to_string())];
        let mut reading = |annex: &str| -> Result<String, crate::target::TargetError> {
            let text = fetch(annex)?;
            sources.push((annex.to_string(), text.clone()));
            Ok(text)
        };
        let mut out = parse(root, &mut reading, defer)?;
        if out.numbering_unsure {
            // A register numbered by order follows an annex left unread: read them all.
            out = parse(root, &mut reading, &|_| false)?;
        }
        out.sources = sources;
        Ok(out)
    }

    /// Reads the deferred annexes (through `fetch`) except those `keep` still defers,
    /// and describes their registers (everything, if numbering by order needs it).
    pub fn complete(
        &mut self,
        fetch: &mut Fetch,
        keep: &dyn Fn(&str) -> bool,
    ) -> Result<(), crate::target::TargetError> {
        if !self.deferred.iter().any(|d| !keep(d)) {
            return Ok(());
        }
        let mut sources = self.sources.clone();
        let root = sources[0].1.clone();
        let mut cached = |annex: &str| -> Result<String, crate::target::TargetError> {
            if let Some((_, text)) = sources.iter().find(|(a, _)| a == annex) {
                return Ok(text.clone());
            }
            let text = fetch(annex)?;
            sources.push((annex.to_string(), text.clone()));
            Ok(text)
        };
        // Only what is still unread stays deferred.
        let deferred = self.deferred.clone();
        let still = |href: &str| keep(href) && deferred.iter().any(|d| d == href);
        let mut full = parse(&root, &mut cached, &still)?;
        if full.numbering_unsure {
            full = parse(&root, &mut cached, &|_| false)?;
        }
        full.sources = sources;
        *self = full;
        Ok(())
    }

    pub fn find(&self, name: &str) -> Option<&RegDef> {
        self.registers.iter().find(|r| r.name == name)
    }

    /// The layout of a `g` reply (GDB's rule): registers in number order, each at the
    /// sum of the sizes before it. Returns (register, byte offset) pairs, as far as
    /// the description read so far places them.
    pub fn g_layout(&self) -> Vec<(&RegDef, usize)> {
        let mut offset = 0;
        self.registers
            .iter()
            .take_while(|r| r.g_placed)
            .map(|r| {
                let here = offset;
                offset += (r.bitsize as usize).div_ceil(8);
                (r, here)
            })
            .collect()
    }
}

/// One pass over `target.xml` and its annexes.
fn parse(
    root: &str,
    fetch: &mut Fetch,
    defer: &dyn Fn(&str) -> bool,
) -> Result<TargetDescription, crate::target::TargetError> {
    let mut walk = Walk {
        out: TargetDescription::default(),
        next_regnum: 0,
        seen: HashSet::new(),
        feature: String::new(),
        defer,
    };
    walk.document("target.xml", root, fetch, 0)?;
    let mut out = walk.out;
    out.registers.sort_by_key(|r| r.regnum);
    out.registers.dedup_by_key(|r| r.regnum);
    Ok(out)
}

fn bad(annex: &str, message: impl std::fmt::Display) -> crate::target::TargetError {
    crate::target::TargetError::Protocol {
        doing: format!("reading the target description ({annex})"),
        message: message.to_string(),
    }
}

struct Walk<'d> {
    out: TargetDescription,
    next_regnum: u32,
    seen: HashSet<String>,
    /// The `<feature name=...>` being read.
    feature: String,
    defer: &'d dyn Fn(&str) -> bool,
}

impl Walk<'_> {
    fn document(
        &mut self,
        annex: &str,
        text: &str,
        fetch: &mut Fetch,
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
        let doc =
            roxmltree::Document::parse_with_options(&text, options).map_err(|e| bad(annex, e))?;
        self.node(doc.root_element(), annex, fetch, depth)
    }

    fn node(
        &mut self,
        node: roxmltree::Node,
        annex: &str,
        fetch: &mut Fetch,
        depth: u32,
    ) -> Result<(), crate::target::TargetError> {
        match node.tag_name().name() {
            "architecture" => {
                self.out.architecture = node.text().map(|t| t.trim().to_string());
            }
            "feature" => {
                self.feature = node.attribute("name").unwrap_or_default().to_string();
                self.out.features.push(self.feature.clone());
            }
            "include" => {
                let href = node
                    .attribute("href")
                    .ok_or_else(|| bad(annex, "xi:include without href"))?;
                if self.seen.insert(href.to_string()) {
                    self.out.includes.push(href.to_string());
                    if (self.defer)(href) {
                        self.out.deferred.push(href.to_string());
                    } else {
                        let text = fetch(href)?;
                        self.document(href, &text, fetch, depth + 1)?;
                    }
                }
                return Ok(());
            }
            "reg" => return self.register(node, annex),
            _ => {}
        }
        for child in node.children().filter(|n| n.is_element()) {
            self.node(child, annex, fetch, depth)?;
        }
        Ok(())
    }

    fn register(
        &mut self,
        node: roxmltree::Node,
        annex: &str,
    ) -> Result<(), crate::target::TargetError> {
        let name = node
            .attribute("name")
            .ok_or_else(|| bad(annex, "<reg> without a name"))?;
        let bitsize = node
            .attribute("bitsize")
            .and_then(|b| b.parse().ok())
            // RSP registers are at most a 512-bit vector: more is a broken description.
            .filter(|b| (1..=512).contains(b))
            .ok_or_else(|| bad(annex, format!("register {name} has no valid bitsize")))?;
        let after_deferred = !self.out.deferred.is_empty();
        let regnum = match node.attribute("regnum") {
            Some(n) => n
                .parse()
                .map_err(|_| bad(annex, format!("register {name}: bad regnum {n:?}")))?,
            None => {
                // Numbered by order after registers that were not read: unknown.
                self.out.numbering_unsure |= after_deferred;
                self.next_regnum
            }
        };
        self.next_regnum = regnum.saturating_add(1);
        self.out.registers.push(RegDef {
            name: name.to_ascii_lowercase(),
            bitsize,
            regnum,
            feature: self.feature.clone(),
            g_placed: !after_deferred,
        });
        Ok(())
    }
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
    fn completing_for_the_fp_bank_leaves_qemus_system_registers_unread() {
        // QEMU 10's order: the FP bank and its (empty, on M-profile) system-register
        // feature before arm-m-system.xml, whose registers carry explicit numbers.
        let root = r#"<target><architecture>arm</architecture><xi:include href="arm-m-profile.xml"/><xi:include href="arm-vfp.xml"/><xi:include href="system-registers.xml"/><xi:include href="arm-m-system.xml"/></target>"#;
        let asked = std::cell::RefCell::new(Vec::new());
        let mut fetch = |n: &str| {
            asked.borrow_mut().push(n.to_string());
            Ok(match n {
                "system-registers.xml" => r#"<feature name="org.qemu.gdb.arm.sys.regs"></feature>"#.to_string(),
                _ => annex(n),
            })
        };
        let fp = |h: &str| h.contains("vfp");
        let mut td = TargetDescription::load_deferring(root, &mut fetch, &|h| fp(h) || h == "system-registers.xml").unwrap();
        assert_eq!(*asked.borrow(), ["arm-m-profile.xml", "arm-m-system.xml"]);
        td.complete(&mut fetch, &|h| !fp(h)).unwrap();
        assert_eq!(*asked.borrow(), ["arm-m-profile.xml", "arm-m-system.xml", "arm-vfp.xml"]);
        assert_eq!(td.deferred, ["system-registers.xml"]);
        assert_eq!(td.find("d0").unwrap().regnum, 26);
        assert_eq!(td.find("fpscr").unwrap().regnum, 42);
        assert_eq!(td.find("msp").unwrap().regnum, 43);
    }

    #[test]
    fn a_deferred_fp_annex_is_read_only_on_completion() {
        let asked = std::cell::RefCell::new(Vec::new());
        let mut fetch = |n: &str| {
            asked.borrow_mut().push(n.to_string());
            Ok(annex(n))
        };
        let mut td =
            TargetDescription::load_deferring(QEMU_TARGET, &mut fetch, &|h| h.contains("vfp"))
                .unwrap();
        assert_eq!(*asked.borrow(), ["arm-m-profile.xml", "arm-m-system.xml"]);
        assert_eq!(td.deferred, ["arm-vfp.xml"]);
        assert_eq!(td.find("msp").unwrap().regnum, 43, "explicit numbers hold");
        assert!(td.find("d0").is_none());
        let g: Vec<&str> = td.g_layout().iter().map(|(r, _)| r.name.as_str()).collect();
        assert_eq!(g.len(), 17, "only r0-pc and xpsr have a known place in g: {g:?}");
        td.complete(&mut fetch, &|_| false).unwrap();
        assert_eq!(
            *asked.borrow(),
            ["arm-m-profile.xml", "arm-m-system.xml", "arm-vfp.xml"]
        );
        assert!(td.deferred.is_empty());
        assert_eq!(td.find("d0").unwrap().regnum, 26);
        assert_eq!(td.find("msp").unwrap().regnum, 43);
        assert_eq!(td.g_layout().len(), td.registers.len());
    }

    #[test]
    fn registers_numbered_by_order_after_a_deferred_annex_read_everything() {
        let root = r#"<target><xi:include href="arm-m-profile.xml"/><xi:include href="arm-vfp.xml"/><xi:include href="late.xml"/></target>"#;
        let mut fetch = |n: &str| {
            Ok(match n {
                "late.xml" => r#"<feature name="x"><reg name="msp" bitsize="32"/></feature>"#.into(),
                other => annex(other),
            })
        };
        let td = TargetDescription::load_deferring(root, &mut fetch, &|h| h.contains("vfp")).unwrap();
        assert!(td.deferred.is_empty());
        assert_eq!(td.find("msp").unwrap().regnum, 43, "after d0-d15 and fpscr");
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
