//! The `isrscope` binary: parse the command line, run one command, map the outcome to
//! an exit code (documented in docs/inspect.md). All work lives in the library.

use std::process::ExitCode;

use clap::FromArgMatches;
use isrscope::cli::{self, Cli, Command};

fn main() -> ExitCode {
    // Cli::parse(), with the target made optional when $ISRSCOPE_CHIP names a chip.
    let cli = Cli::from_arg_matches(&cli::probe_cmds::command().get_matches()).unwrap_or_else(|e| e.exit());
    let result = match &cli.command {
        Command::Inspect(args) => cli::inspect::run(args),
        Command::Attach(args) => cli::attach::run(args),
        Command::Capture(args) => cli::capture::run(args),
        Command::Analyze(args) => cli::analyze::run(args),
        Command::Vectors(args) => cli::vectors::run(args),
        Command::Run(args) => cli::run::run(args),
        Command::List(args) => cli::probe_cmds::list(args),
        Command::Chips(args) => cli::probe_cmds::chips(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("isrscope: error: {e:#}");
            ExitCode::from(cli::EXIT_TOOL_ERROR)
        }
    }
}
