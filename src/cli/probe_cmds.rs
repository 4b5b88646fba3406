//! The probe-rs side of the command line: the options every command shares to reach a
//! chip through a debug probe (`--probe`, `--speed`, `--protocol`,
//! `--connect-under-reset`; `--chip` itself is in `TargetArgs`), the default chip from
//! the environment, and the `list` and `chips` commands. See docs/probe-rs.md.

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};

use crate::target::probe::open::{self, NO_PROBE_ADVICE};
use crate::target::probe::{ProbeConfig, Protocol};

/// Environment variables naming the default chip, first found wins: isrscope's own,
/// then the one probe-rs' tools read.
pub const CHIP_ENV: [&str; 2] = ["ISRSCOPE_CHIP", "PROBE_RS_CHIP"];

/// How to drive the debug probe (with --chip). No group of its own: flattened into
/// `TargetArgs`, a group would join that one-of group and conflict with --chip.
#[derive(Args, Debug, Clone, Default, PartialEq, Eq)]
#[group(skip)]
pub struct ProbeArgs {
    /// The debug probe to use when several are connected: VID:PID[:SERIAL], hex, as
    /// `isrscope list` shows.
    #[arg(long, value_name = "VID:PID[:SERIAL]")]
    pub probe: Option<String>,
    /// SWD/JTAG clock in kHz (default: the probe's).
    #[arg(long, value_name = "KHZ", value_parser = clap::value_parser!(u32).range(1..))]
    pub speed: Option<u32>,
    /// The wire protocol (default: SWD where the probe has it).
    #[arg(long, value_enum, value_name = "swd|jtag")]
    pub protocol: Option<ProtocolArg>,
    /// Hold the chip in reset while attaching (needed when the firmware disables the
    /// debug pins or sleeps deeply). The core is then halted at the reset vector.
    #[arg(long)]
    pub connect_under_reset: bool,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolArg {
    Swd,
    Jtag,
}

impl ProbeArgs {
    /// The probe options given without --chip (or a chip from the environment) do
    /// nothing: said rather than ignored.
    pub fn any(&self) -> bool {
        *self != ProbeArgs::default()
    }

    pub fn config(&self, chip: &str) -> ProbeConfig {
        ProbeConfig {
            chip: chip.to_string(),
            probe: self.probe.clone(),
            speed_khz: self.speed,
            protocol: self.protocol.map(|p| match p {
                ProtocolArg::Swd => Protocol::Swd,
                ProtocolArg::Jtag => Protocol::Jtag,
            }),
            connect_under_reset: self.connect_under_reset,
        }
    }
}

/// The chip named by the environment ([`CHIP_ENV`]), with the variable's name.
pub fn chip_from_env() -> Option<(&'static str, String)> {
    chip_from(|name| std::env::var(name).ok())
}

fn chip_from(get: impl Fn(&str) -> Option<String>) -> Option<(&'static str, String)> {
    CHIP_ENV.iter().find_map(|name| {
        get(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .map(|v| (*name, v))
    })
}

/// The command line, with the target group of every command made optional when the
/// environment names a chip (clap's `env` would make `--gdb` conflict with it, so the
/// default is applied in `connect` instead).
pub fn command() -> clap::Command {
    command_for(chip_from_env().is_some())
}

fn command_for(chip_in_env: bool) -> clap::Command {
    use clap::CommandFactory;
    let mut cmd = super::Cli::command();
    if chip_in_env {
        let names: Vec<String> = cmd
            .get_subcommands()
            .map(|s| s.get_name().to_string())
            .collect();
        for name in names {
            cmd = cmd.mut_subcommand(name, |sub| {
                if sub.get_groups().any(|g| g.get_id() == super::TARGET_GROUP) {
                    sub.mut_group(super::TARGET_GROUP, |g| g.required(false))
                } else {
                    sub
                }
            });
        }
    }
    cmd
}

#[derive(Args, Debug)]
pub struct ListArgs {}

/// `isrscope list`: the debug probes on this machine.
pub fn list(_: &ListArgs) -> Result<u8> {
    let probes = open::probes();
    if probes.is_empty() {
        bail!("no debug probe found (probe-rs saw none on USB). {NO_PROBE_ADVICE}");
    }
    println!(
        "{} debug probe{} found:",
        probes.len(),
        if probes.len() == 1 { "" } else { "s" }
    );
    for p in &probes {
        println!("  --probe {:<40} {p}", p.selector());
    }
    if probes.iter().any(|p| p.permission_denied) {
        eprintln!(
            "isrscope: warning: some probes cannot be opened by this user: install the probe-rs udev rules \
             (https://probe.rs/docs/getting-started/probe-setup/) and replug them"
        );
    }
    Ok(0)
}

#[derive(Args, Debug)]
pub struct ChipsArgs {
    /// Show only chips whose name contains this (case-insensitive), e.g. stm32f407.
    pub filter: Option<String>,
}

/// `isrscope chips [FILTER]`: the chip names probe-rs knows, for --chip.
pub fn chips(args: &ChipsArgs) -> Result<u8> {
    let chips = open::chips(args.filter.as_deref());
    if chips.is_empty() {
        bail!(
            "probe-rs knows no chip whose name contains {:?}; try a shorter filter (e.g. the family: stm32f4, nrf52, rp2040)",
            args.filter.as_deref().unwrap_or_default()
        );
    }
    let width = chips.iter().map(|c| c.name.len()).max().unwrap_or(0);
    for c in &chips {
        let cores: Vec<String> = c
            .cores
            .iter()
            .map(|t| format!("{t:?}").to_ascii_lowercase())
            .collect();
        let packages = if c.packages.is_empty() {
            String::new()
        } else {
            format!("  ({})", c.packages.join(", "))
        };
        println!(
            "{:<width$}  {:<14}  {}{packages}",
            c.name,
            cores.join(","),
            c.family
        );
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isrscope_chip_wins_over_probe_rs_chip() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(chip_from(env(&[])), None);
        assert_eq!(
            chip_from(env(&[("PROBE_RS_CHIP", "nRF52840_xxAA")])),
            Some(("PROBE_RS_CHIP", "nRF52840_xxAA".into()))
        );
        assert_eq!(
            chip_from(env(&[
                ("PROBE_RS_CHIP", "nRF52840_xxAA"),
                ("ISRSCOPE_CHIP", "STM32F407VG")
            ])),
            Some(("ISRSCOPE_CHIP", "STM32F407VG".into()))
        );
        assert_eq!(
            chip_from(env(&[("ISRSCOPE_CHIP", "  "), ("PROBE_RS_CHIP", "X")])),
            Some(("PROBE_RS_CHIP", "X".into())),
            "blank is unset"
        );
    }

    fn parse(
        chip_in_env: bool,
        args: &[&str],
    ) -> Result<super::super::Cli, clap::error::ErrorKind> {
        use clap::FromArgMatches;
        let argv = std::iter::once("isrscope").chain(args.iter().copied());
        let matches = command_for(chip_in_env)
            .try_get_matches_from(argv)
            .map_err(|e| e.kind())?;
        super::super::Cli::from_arg_matches(&matches).map_err(|e| e.kind())
    }

    #[test]
    fn the_command_line_is_well_formed() {
        command_for(false).debug_assert();
        command_for(true).debug_assert();
    }

    #[test]
    fn one_target_is_required_unless_the_environment_names_a_chip() {
        use clap::error::ErrorKind;
        assert_eq!(
            parse(false, &["inspect"]).err(),
            Some(ErrorKind::MissingRequiredArgument)
        );
        assert!(parse(true, &["inspect"]).is_ok());
        for env in [false, true] {
            assert_eq!(
                parse(env, &["inspect", "--gdb", "h:1", "--chip", "X"]).err(),
                Some(ErrorKind::ArgumentConflict)
            );
            assert_eq!(
                parse(env, &["capture", "--qemu", "m", "--chip", "X"]).err(),
                Some(ErrorKind::ArgumentConflict)
            );
            assert_eq!(
                parse(
                    env,
                    &["vectors", "--elf", "f", "--gdb", "h:1", "--qemu", "m"]
                )
                .err(),
                Some(ErrorKind::ArgumentConflict)
            );
            assert!(
                parse(env, &["vectors", "--elf", "f"]).is_ok(),
                "vectors needs no target"
            );
            assert!(parse(env, &["list"]).is_ok());
            assert!(parse(env, &["chips", "stm32"]).is_ok());
        }
    }

    #[test]
    fn probe_options_go_beside_chip() {
        let cli = parse(
            false,
            &[
                "inspect",
                "--chip",
                "STM32F407VG",
                "--probe",
                "0483:374b",
                "--speed",
                "4000",
                "--protocol",
                "jtag",
                "--connect-under-reset",
            ],
        )
        .unwrap();
        let super::super::Command::Inspect(args) = cli.command else {
            panic!("inspect")
        };
        assert_eq!(args.target.chip.as_deref(), Some("STM32F407VG"));
        assert_eq!(
            args.target.probe,
            ProbeArgs {
                probe: Some("0483:374b".into()),
                speed: Some(4000),
                protocol: Some(ProtocolArg::Jtag),
                connect_under_reset: true
            }
        );
        let cli = parse(
            false,
            &["vectors", "--elf", "f", "--chip", "X", "--speed", "100"],
        )
        .unwrap();
        let super::super::Command::Vectors(args) = cli.command else {
            panic!("vectors")
        };
        assert_eq!(args.target.probe.speed, Some(100));
        assert_eq!(
            parse(false, &["inspect", "--chip", "X", "--speed", "0"]).err(),
            Some(clap::error::ErrorKind::ValueValidation)
        );
    }

    #[test]
    fn probe_options_become_a_probe_config() {
        let args = ProbeArgs {
            probe: Some("0483:374b".into()),
            speed: Some(4000),
            protocol: Some(ProtocolArg::Swd),
            connect_under_reset: true,
        };
        assert!(args.any());
        assert!(!ProbeArgs::default().any());
        let c = args.config("STM32F407VG");
        assert_eq!(c.chip, "STM32F407VG");
        assert_eq!(c.probe.as_deref(), Some("0483:374b"));
        assert_eq!(c.speed_khz, Some(4000));
        assert_eq!(c.protocol, Some(Protocol::Swd));
        assert!(c.connect_under_reset);
    }
}
