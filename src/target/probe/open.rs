//! Finding things before a session exists: chip names in probe-rs' target registry,
//! the debug probes on USB, and opening one of them on a chip. Every failure a user
//! without the right probe, chip name or udev rules meets is a [`ProbeError`] that
//! says what to do.

use probe_rs::config::{Registry, RegistryError};
use probe_rs::probe::list::{Accessibility, Lister};
use probe_rs::probe::{DebugProbeInfo, DebugProbeSelector, Probe, WireProtocol};
use probe_rs::{CoreType, Permissions, Session};

use super::convert::error_chain;

/// How to reach the chip: what `--chip`, `--probe`, `--speed`, `--protocol` and
/// `--connect-under-reset` resolve to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProbeConfig {
    /// A probe-rs target name, matched as probe-rs does (case-insensitive prefix).
    pub chip: String,
    /// `VID:PID[:SERIAL]`, hex.
    pub probe: Option<String>,
    pub speed_khz: Option<u32>,
    pub protocol: Option<Protocol>,
    pub connect_under_reset: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Swd,
    Jtag,
}

/// What can go wrong before isrscope holds a session, each with what to check.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error(
        "unknown chip {name:?}: probe-rs has no target of that name{}",
        similar_hint(similar)
    )]
    UnknownChip { name: String, similar: Vec<String> },
    #[error(
        "the chip name {name:?} is ambiguous; probe-rs matches: {suggestions}. Give the full name with --chip (`isrscope chips {name}` lists them)"
    )]
    AmbiguousChip { name: String, suggestions: String },
    #[error(
        "{name} has a {core:?} core: isrscope inspects Cortex-M (ARMv6-M, ARMv7-M, ARMv8-M) cores only"
    )]
    NotCortexM { name: String, core: CoreType },
    #[error("probe-rs cannot load the target description of {name:?}: {message}")]
    Registry { name: String, message: String },
    #[error(
        "--probe {given:?}: {message}; expected VID:PID[:SERIAL] in hex, e.g. 0483:374b or 0483:374b:066DFF485550755187121723 (`isrscope list` shows them)"
    )]
    BadSelector { given: String, message: String },
    #[error("no debug probe found (probe-rs saw none on USB). {NO_PROBE_ADVICE}")]
    NoProbe,
    #[error("no connected debug probe matches --probe {selector}; connected: {connected}")]
    NoMatchingProbe { selector: String, connected: String },
    #[error(
        "several debug probes are connected; choose one with --probe VID:PID[:SERIAL]:\n{list}"
    )]
    SeveralProbes { list: String },
    #[error("cannot open the debug probe {probe}: {message}{}", if *permission { PERMISSION_ADVICE } else { "" })]
    Open {
        probe: String,
        message: String,
        permission: bool,
    },
    #[error("the debug probe {probe} refused {what}: {message}")]
    Configure {
        probe: String,
        what: String,
        message: String,
    },
    #[error(
        "cannot attach to {chip} through {probe}: {message}. Check the SWD/JTAG wiring and the target's power, try a lower --speed, or --connect-under-reset if the firmware disables the debug pins or sleeps"
    )]
    Attach {
        chip: String,
        probe: String,
        message: String,
    },
    #[error("the session on {chip} has no usable core: {message}")]
    Core { chip: String, message: String },
    #[error("loading {elf} into {chip} with probe-rs' flashing failed: {message}")]
    Download { chip: String, elf: String, message: String },
}

/// What to check when no probe shows up: said by `isrscope list` too.
pub const NO_PROBE_ADVICE: &str = "Check that the probe is plugged in (a data cable, not a charge-only one) and \
     shows in `lsusb`; on Linux that the probe-rs udev rules are installed \
     (https://probe.rs/docs/getting-started/probe-setup/) and you are in the group \
     they name (e.g. plugdev), then unplug and replug it";

const PERMISSION_ADVICE: &str = ". The probe is there but this user may not open it: install the probe-rs udev rules \
     (https://probe.rs/docs/getting-started/probe-setup/), add yourself to their group, log in again and replug the probe";

fn similar_hint(similar: &[String]) -> String {
    if similar.is_empty() {
        ". `isrscope chips FILTER` lists the names it knows".into()
    } else {
        format!(
            "; similar names: {}. `isrscope chips FILTER` lists the names it knows",
            similar.join(", ")
        )
    }
}

/// A chip of probe-rs' registry: its name, family and core types.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChipEntry {
    pub name: String,
    pub family: String,
    pub cores: Vec<CoreType>,
    /// Package variants (e.g. STM32F407VGTx), also accepted by --chip.
    pub packages: Vec<String>,
}

/// probe-rs' built-in chips whose name (or package variant) contains `filter`,
/// ignoring case; all of them without a filter. Sorted by name.
pub fn chips(filter: Option<&str>) -> Vec<ChipEntry> {
    let registry = Registry::from_builtin_families();
    let filter = filter.map(str::to_ascii_lowercase);
    let mut out: Vec<ChipEntry> = Vec::new();
    for family in registry.families() {
        for chip in &family.variants {
            let matches = filter.as_deref().is_none_or(|f| {
                chip.package_variants()
                    .any(|n| n.to_ascii_lowercase().contains(f))
            });
            if matches {
                out.push(ChipEntry {
                    name: chip.name.clone(),
                    family: family.name.clone(),
                    cores: chip.cores.iter().map(|c| c.core_type).collect(),
                    packages: chip.package_variants.clone(),
                });
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out.dedup_by(|a, b| a.name == b.name);
    out
}

/// Resolves a chip name the way probe-rs does ("STM32F407VG" and "STM32F407VGTx" both
/// name the same chip), with errors a user can act on; checks the core is a Cortex-M.
pub fn resolve_chip(name: &str) -> Result<probe_rs::Target, ProbeError> {
    let registry = Registry::from_builtin_families();
    let target = registry.get_target_by_name(name).map_err(|e| match e {
        RegistryError::ChipNotFound(_) => ProbeError::UnknownChip {
            name: name.into(),
            similar: similar_names(&registry, name),
        },
        RegistryError::ChipNotUnique(_, suggestions) => ProbeError::AmbiguousChip {
            name: name.into(),
            suggestions,
        },
        other => ProbeError::Registry {
            name: name.into(),
            message: error_chain(&other),
        },
    })?;
    match target.cores.first().map(|c| c.core_type) {
        Some(CoreType::Armv6m | CoreType::Armv7m | CoreType::Armv7em | CoreType::Armv8m) => {
            Ok(target)
        }
        Some(core) => Err(ProbeError::NotCortexM {
            name: target.name.clone(),
            core,
        }),
        None => Err(ProbeError::Registry {
            name: name.into(),
            message: "the target description has no core".into(),
        }),
    }
}

/// Up to 8 chip names sharing the longest prefix of `name` that any chip has (at
/// least 5 characters): "STM32F407ZZ" suggests the STM32F407... chips. When more share
/// it, the last entry says how many and how to list them.
fn similar_names(registry: &Registry, name: &str) -> Vec<String> {
    let all: Vec<String> = registry
        .families()
        .iter()
        .flat_map(|f| f.variants.iter().map(|c| c.name.clone()))
        .collect();
    let lower = name.to_ascii_lowercase();
    for len in (5..=lower.len()).rev() {
        let Some(prefix) = lower.get(..len) else {
            continue;
        };
        let mut found: Vec<String> = all
            .iter()
            .filter(|n| n.to_ascii_lowercase().starts_with(prefix))
            .cloned()
            .collect();
        if !found.is_empty() {
            found.sort();
            found.dedup();
            if found.len() > 8 {
                let more = found.len() - 7;
                found.truncate(7);
                found.push(format!(
                    "and {more} more (`isrscope chips {}`)",
                    name.get(..len).unwrap_or(prefix)
                ));
            }
            return found;
        }
    }
    Vec::new()
}

/// One connected probe as `isrscope list` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeEntry {
    pub identifier: String,
    pub vendor_id: u16,
    pub product_id: u16,
    pub serial: Option<String>,
    /// The probe is there but this user may not open it (udev rules).
    pub permission_denied: bool,
}

impl ProbeEntry {
    /// The `--probe` selector naming exactly this probe.
    pub fn selector(&self) -> String {
        match &self.serial {
            Some(s) => format!("{:04x}:{:04x}:{s}", self.vendor_id, self.product_id),
            None => format!("{:04x}:{:04x}", self.vendor_id, self.product_id),
        }
    }
}

impl std::fmt::Display for ProbeEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({:04x}:{:04x}",
            self.identifier, self.vendor_id, self.product_id
        )?;
        match &self.serial {
            Some(s) => write!(f, ", serial {s})")?,
            None => write!(f, ", no serial)")?,
        }
        if self.permission_denied {
            write!(f, " [no permission: udev rules?]")?;
        }
        Ok(())
    }
}

fn entry(info: &DebugProbeInfo, access: Accessibility) -> ProbeEntry {
    ProbeEntry {
        identifier: info.identifier.clone(),
        vendor_id: info.vendor_id,
        product_id: info.product_id,
        serial: info.serial_number.clone(),
        permission_denied: access == Accessibility::PermissionDenied,
    }
}

/// The debug probes probe-rs finds on this machine.
pub fn probes() -> Vec<ProbeEntry> {
    Lister::new()
        .list_all_with_access()
        .iter()
        .map(|p| entry(&p.info, p.accessibility))
        .collect()
}

/// Parses `VID:PID[:SERIAL]` (hex ids) as probe-rs does.
pub fn parse_selector(given: &str) -> Result<DebugProbeSelector, ProbeError> {
    given
        .parse::<DebugProbeSelector>()
        .map_err(|e| ProbeError::BadSelector {
            given: given.into(),
            message: e.to_string(),
        })
}

/// Opens the probe `config` names (or the only one connected), configures it and
/// attaches to the chip. The chip name is checked first, so a typo is reported even
/// without a probe.
pub fn open(config: &ProbeConfig) -> Result<(Session, String), ProbeError> {
    let target = resolve_chip(&config.chip)?;
    let chip = target.name.clone();
    let lister = Lister::new();
    let listed = match &config.probe {
        Some(given) => {
            let selector = parse_selector(given)?;
            let found = lister.list_with_access(Some(&selector));
            if found.is_empty() {
                let connected: Vec<String> = probes().iter().map(ToString::to_string).collect();
                return Err(ProbeError::NoMatchingProbe {
                    selector: given.clone(),
                    connected: if connected.is_empty() {
                        "none".into()
                    } else {
                        connected.join("; ")
                    },
                });
            }
            found
        }
        None => lister.list_all_with_access(),
    };
    let item = match listed.as_slice() {
        [] => return Err(ProbeError::NoProbe),
        [one] => one,
        several => {
            let list = several
                .iter()
                .map(|p| {
                    let e = entry(&p.info, p.accessibility);
                    format!("  --probe {}   {e}", e.selector())
                })
                .collect::<Vec<_>>()
                .join("\n");
            return Err(ProbeError::SeveralProbes { list });
        }
    };
    let shown = entry(&item.info, item.accessibility).to_string();
    let mut probe: Probe = item.info.open().map_err(|e| ProbeError::Open {
        probe: shown.clone(),
        message: error_chain(&e),
        permission: item.accessibility == Accessibility::PermissionDenied || is_permission(&e),
    })?;
    if let Some(protocol) = config.protocol {
        let wire = match protocol {
            Protocol::Swd => WireProtocol::Swd,
            Protocol::Jtag => WireProtocol::Jtag,
        };
        probe
            .select_protocol(wire)
            .map_err(|e| ProbeError::Configure {
                probe: shown.clone(),
                what: format!("the {wire} protocol"),
                message: error_chain(&e),
            })?;
    }
    if let Some(khz) = config.speed_khz {
        probe.set_speed(khz).map_err(|e| ProbeError::Configure {
            probe: shown.clone(),
            what: format!("a speed of {khz} kHz"),
            message: error_chain(&e),
        })?;
    }
    let under_reset = config.connect_under_reset;
    let attached = without_panics(move || {
        if under_reset {
            probe.attach_under_reset(target, Permissions::default())
        } else {
            probe.attach(target, Permissions::default())
        }
    })
    .map_err(|panic| ProbeError::Attach {
        chip: chip.clone(),
        probe: shown.clone(),
        message: format!("probe-rs gave up with a panic on what the probe answered ({panic})"),
    })?;
    let session = attached.map_err(|e| ProbeError::Attach {
        chip: chip.clone(),
        probe: shown.clone(),
        message: error_chain(&e),
    })?;
    Ok((session, format!("probe-rs ({chip} via {shown})")))
}

/// Runs `f`, turning a panic in it into an error carrying the panic's message (and
/// keeping the default hook from printing it meanwhile). probe-rs unwraps some of a
/// probe's answers (0.32: `debug_port_start(..).unwrap()` in its Black Magic Probe
/// driver), so a probe that answers what it does not expect would otherwise end the
/// process with a panic.
fn without_panics<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    let caught = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let keep = caught.clone();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let what = info
            .payload()
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| info.payload().downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        let place = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        if let Ok(mut m) = keep.lock() {
            *m = format!("{what}{place}");
        }
    }));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(previous);
    result.map_err(|_| caught.lock().map(|m| m.clone()).unwrap_or_default())
}

fn is_permission(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::PermissionDenied
        {
            return true;
        }
        cur = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_of_the_f407_resolve_to_one_chip() {
        let short = resolve_chip("STM32F407VG").unwrap();
        let full = resolve_chip("STM32F407VGTx").unwrap();
        // probe-rs names the target after the spelling matched, one chip behind both.
        assert_eq!(
            (short.name.as_str(), full.name.as_str()),
            ("STM32F407VG", "STM32F407VGTx")
        );
        assert_eq!(
            format!("{:?}", short.memory_map),
            format!("{:?}", full.memory_map)
        );
        assert_eq!(
            resolve_chip("stm32f407vgtx").unwrap().name,
            full.name,
            "case does not matter"
        );
        assert_eq!(full.cores[0].core_type, CoreType::Armv7em);
    }

    #[test]
    fn an_ambiguous_name_carries_probe_rs_suggestions() {
        match resolve_chip("STM32F407") {
            Err(ProbeError::AmbiguousChip { suggestions, .. }) => {
                assert!(suggestions.contains("STM32F407VGTx"), "{suggestions}");
                let e = resolve_chip("STM32F407").unwrap_err().to_string();
                assert!(e.contains("ambiguous") && e.contains("--chip"), "{e}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_unknown_name_says_so_and_suggests_neighbours() {
        match resolve_chip("STM32F407ZZ") {
            Err(ProbeError::UnknownChip { similar, .. }) => assert!(
                similar.iter().any(|s| s.starts_with("STM32F407")),
                "{similar:?}"
            ),
            other => panic!("{other:?}"),
        }
        let e = resolve_chip("NOSUCHCHIP9000").unwrap_err();
        assert!(matches!(&e, ProbeError::UnknownChip { similar, .. } if similar.is_empty()));
        assert!(e.to_string().contains("isrscope chips"), "{e}");
    }

    #[test]
    fn non_cortex_m_chips_are_refused() {
        let riscv = chips(None)
            .into_iter()
            .find(|c| c.cores.first() == Some(&CoreType::Riscv))
            .expect("probe-rs knows some RISC-V chip");
        match resolve_chip(&riscv.name) {
            Err(ProbeError::NotCortexM { .. }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_chip_list_filters_by_substring() {
        let f4 = chips(Some("stm32f407vg"));
        let vg = f4
            .iter()
            .find(|c| c.name == "STM32F407VG")
            .expect("the F407VG");
        assert!(vg.packages.iter().any(|p| p == "STM32F407VGTx"), "{vg:?}");
        assert!(
            chips(Some("VGTx")).iter().any(|c| c.name == "STM32F407VG"),
            "packages match the filter too"
        );
        assert!(
            f4.iter()
                .all(|c| c.name.to_ascii_lowercase().contains("stm32f407vg"))
        );
        assert!(chips(Some("no-such-chip-anywhere")).is_empty());
        assert!(chips(None).len() > 1000);
    }

    #[test]
    fn probe_selectors_parse_as_probe_rs_does() {
        let s = parse_selector("0483:374b").unwrap();
        assert_eq!(
            (s.vendor_id, s.product_id, s.serial_number),
            (0x0483, 0x374b, None)
        );
        let s = parse_selector("0483:374b:066DFF48").unwrap();
        assert_eq!(s.serial_number.as_deref(), Some("066DFF48"));
        let e = parse_selector("stlink").unwrap_err().to_string();
        assert!(e.contains("VID:PID"), "{e}");
        assert!(parse_selector("zz:374b").is_err());
    }

    #[test]
    fn probe_entries_name_their_selector() {
        let e = ProbeEntry {
            identifier: "STLink V2".into(),
            vendor_id: 0x0483,
            product_id: 0x3748,
            serial: Some("ABC".into()),
            permission_denied: false,
        };
        assert_eq!(e.selector(), "0483:3748:ABC");
        assert_eq!(e.to_string(), "STLink V2 (0483:3748, serial ABC)");
        let e = ProbeEntry {
            serial: None,
            permission_denied: true,
            ..e
        };
        assert_eq!(e.selector(), "0483:3748");
        assert!(e.to_string().contains("udev"));
    }
}
