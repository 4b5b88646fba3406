//! The Black Magic Probe starts with no target: until `monitor swdp_scan` (or
//! `jtag_scan`) has listed what is on the wire and `vAttach;N` has picked one, it has no
//! target description and `?` answers `W00`. This runs between `qSupported` and the
//! target description, on a serial port or when the caller says the server is a BMP.

use super::GdbTarget;
use crate::target::{Result, TargetError};

/// The scans tried in order: SWD first (what almost every Cortex-M board wires).
const SCANS: [&str; 2] = ["swdp_scan", "jtag_scan"];

/// One line of the probe's numbered target list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct ScannedTarget {
    pub number: u32,
    /// The probe's driver and core names, e.g. `STM32F40x M4`.
    pub driver: String,
}

/// The target attached, for the capabilities' description.
#[derive(Clone, Debug)]
pub(super) struct Attached {
    pub scan: &'static str,
    pub target: ScannedTarget,
}

impl Attached {
    pub fn describe(&self) -> String {
        format!(
            "target {} {} found by {}",
            self.target.number, self.target.driver, self.scan
        )
    }
}

impl GdbTarget {
    /// Scans for targets and attaches to the one numbered `number`. `Ok(None)` when the
    /// server does not know `swdp_scan` (not a Black Magic Probe): nothing to do.
    pub(super) fn scan_and_attach(&mut self, number: u32) -> Result<Option<Attached>> {
        let mut outputs = Vec::new();
        let mut found = None;
        for scan in SCANS {
            let out = match self.run_monitor(scan) {
                Ok(out) => out,
                Err(TargetError::Unsupported(_)) if outputs.is_empty() => return Ok(None),
                // An error code is one more way to say the scan failed: try the next.
                Err(TargetError::Refused { message, .. }) => {
                    outputs.push(format!("{scan}: {message}"));
                    continue;
                }
                Err(e) => return Err(e),
            };
            let targets = parse_target_list(&out);
            if !targets.is_empty() {
                found = Some((scan, targets));
                break;
            }
            outputs.push(format!("{scan}: {}", summary(&out)));
        }
        let Some((scan, targets)) = found else {
            return Err(TargetError::Other(format!(
                "no target found by swdp_scan nor by jtag_scan: is the board powered and SWD \
                 (or JTAG) wired to the Black Magic Probe? The probe said: {}",
                outputs.join("; ")
            )));
        };
        let Some(target) = targets.iter().find(|t| t.number == number).cloned() else {
            let list: Vec<String> = targets
                .iter()
                .map(|t| format!("{} {}", t.number, t.driver))
                .collect();
            return Err(TargetError::Other(format!(
                "the Black Magic Probe's {scan} found no target numbered {number}, only: {}",
                list.join(", ")
            )));
        };
        let doing = format!(
            "attaching to target {number} ({}) found by {scan} (vAttach)",
            target.driver
        );
        let reply = self.request(&format!("vAttach;{number:x}"), &doing)?;
        // A stop reply on success; an error code is turned into `Refused` here.
        self.parse_stop(&reply, &doing)?;
        Ok(Some(Attached { scan, target }))
    }
}

/// The numbered list after the probe's `Available Targets:` heading:
/// ` 1      STM32F40x M4` (a `*` after the number marks one already attached).
pub(super) fn parse_target_list(output: &str) -> Vec<ScannedTarget> {
    let mut in_list = false;
    let mut targets = Vec::new();
    for line in output.lines().map(str::trim) {
        // jtag_scan prints a numbered device list of its own first: only the one
        // under this heading names targets.
        if line.starts_with("Available Targets") {
            in_list = true;
            continue;
        }
        if !in_list {
            continue;
        }
        let (first, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let Ok(number) = first.parse::<u32>() else {
            continue; // the "No. Att Driver" header, "No usable targets found."
        };
        let rest = rest.trim_start();
        let driver = rest.strip_prefix('*').unwrap_or(rest).trim();
        targets.push(ScannedTarget {
            number,
            driver: driver.to_string(),
        });
    }
    targets
}

/// The probe's own words, on one line, for an error message.
fn summary(output: &str) -> String {
    let lines: Vec<&str> = output
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "Failed")
        .collect();
    if lines.is_empty() {
        "nothing".into()
    } else {
        format!("{:?}", lines.join(" / "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(number: u32, driver: &str) -> ScannedTarget {
        ScannedTarget {
            number,
            driver: driver.into(),
        }
    }

    #[test]
    fn the_swd_scan_list_gives_numbers_and_drivers() {
        let out = "Target voltage: 3.3V\nAvailable Targets:\nNo. Att Driver\n 1      STM32F40x M4\n 2   *  STM32F40x M4 (core 2)\n";
        assert_eq!(
            parse_target_list(out),
            [
                target(1, "STM32F40x M4"),
                target(2, "STM32F40x M4 (core 2)")
            ]
        );
    }

    #[test]
    fn a_failed_scan_lists_nothing() {
        assert!(parse_target_list("Target voltage: 0.0V\nSW-DP scan failed!\nFailed\n").is_empty());
        let none = "Available Targets:\nNo. Att Driver\nNo usable targets found.\n";
        assert!(parse_target_list(none).is_empty());
        assert_eq!(
            summary("Target voltage: 0.0V\nSW-DP scan failed!\nFailed\n"),
            "\"Target voltage: 0.0V / SW-DP scan failed!\""
        );
    }

    #[test]
    fn the_jtag_device_list_is_not_taken_for_targets() {
        let out = "Target voltage: 3.3V\nDevice  IR Len  IDCODE      Description\n0\t   4  0x4ba00477  ARM Limited: ADIv5 JTAG-DP port.\n1\t   5  0x06413041  ST Microelectronics: STM32F4xx.\nAvailable Targets:\nNo. Att Driver\n 1      STM32F40x M4\n";
        assert_eq!(parse_target_list(out), [target(1, "STM32F40x M4")]);
    }
}
