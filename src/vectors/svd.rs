//! IRQ names and the chip's IRQ count from a CMSIS-SVD file (via `svd-parser`).

use std::collections::BTreeMap;
use std::path::Path;

/// What the vector checks take from an SVD: the device name and its interrupts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceIrqs {
    pub device: String,
    /// IRQ number -> name (e.g. 28 -> "TIM2").
    pub names: BTreeMap<u16, String>,
    /// Number of IRQ lines: the highest IRQ number + 1.
    pub count: u16,
}

impl DeviceIrqs {
    pub fn name(&self, irq: u16) -> Option<&str> {
        self.names.get(&irq).map(String::as_str)
    }

    /// Builds from (number, name) pairs.
    pub fn from_pairs(device: impl Into<String>, pairs: impl IntoIterator<Item = (u16, String)>) -> Self {
        let names: BTreeMap<u16, String> = pairs.into_iter().collect();
        let count = names.keys().next_back().map_or(0, |n| n + 1);
        DeviceIrqs { device: device.into(), names, count }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SvdError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a usable CMSIS-SVD file: {message}")]
    Parse { path: String, message: String },
}

/// Reads the interrupts of every peripheral in the SVD at `path`.
pub fn load(path: &Path) -> Result<DeviceIrqs, SvdError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| SvdError::Io { path: path.display().to_string(), source })?;
    parse(&text).map_err(|message| SvdError::Parse { path: path.display().to_string(), message })
}

/// Parses SVD text. Validation is relaxed: vendors' files are often slightly off, and
/// only the interrupts matter here.
pub fn parse(text: &str) -> Result<DeviceIrqs, String> {
    let config = svd_parser::Config::default().validate_level(svd_parser::ValidateLevel::Disabled);
    let device = svd_parser::parse_with_config(text, &config).map_err(|e| format!("{e:#}"))?;
    let mut pairs = Vec::new();
    for p in &device.peripherals {
        for irq in &p.interrupt {
            if let Ok(n) = u16::try_from(irq.value) {
                pairs.push((n, irq.name.clone()));
            }
        }
    }
    if pairs.is_empty() {
        return Err(format!("device {} declares no interrupts", device.name));
    }
    Ok(DeviceIrqs::from_pairs(device.name, pairs))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SVD: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<device schemaVersion="1.1" xmlns:xs="http://www.w3.org/2001/XMLSchema-instance" xs:noNamespaceSchemaLocation="CMSIS-SVD.xsd">
  <name>TESTCHIP</name>
  <version>1.0</version>
  <description>test</description>
  <addressUnitBits>8</addressUnitBits>
  <width>32</width>
  <size>32</size>
  <resetValue>0</resetValue>
  <resetMask>0xFFFFFFFF</resetMask>
  <peripherals>
    <peripheral>
      <name>TIM2</name>
      <baseAddress>0x40000000</baseAddress>
      <interrupt><name>TIM2</name><value>28</value></interrupt>
      <registers>
        <register><name>CR1</name><addressOffset>0</addressOffset></register>
      </registers>
    </peripheral>
    <peripheral>
      <name>WWDG</name>
      <baseAddress>0x40002C00</baseAddress>
      <interrupt><name>WWDG</name><value>0</value></interrupt>
      <registers>
        <register><name>CR</name><addressOffset>0</addressOffset></register>
      </registers>
    </peripheral>
  </peripherals>
</device>"#;

    #[test]
    fn reads_interrupt_names_and_count() {
        let d = parse(SVD).unwrap();
        assert_eq!(d.device, "TESTCHIP");
        assert_eq!(d.name(28), Some("TIM2"));
        assert_eq!(d.name(0), Some("WWDG"));
        assert_eq!(d.name(1), None);
        assert_eq!(d.count, 29);
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse("not xml").is_err());
    }
}
