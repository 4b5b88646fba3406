//! The `isrscope` binary: parse the command line, run one command, map the outcome to
//! an exit code (documented in docs/inspect.md). All work lives in the library.

use std::process::ExitCode;

use clap::Parser;
use isrscope::cli::{self, Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Inspect(args) => cli::inspect::run(args),
        Command::Attach(args) => cli::attach::run(args),
        Command::Capture(args) => cli::capture::run(args),
        Command::Analyze(args) => cli::analyze::run(args),
        Command::Vectors(args) => cli::vectors::run(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("isrscope: error: {e:#}");
            ExitCode::from(cli::EXIT_TOOL_ERROR)
        }
    }
}
