//! The `egd` binary: parses the command line and hands over to [`egd::cli`].
#![forbid(unsafe_code)]

use clap::Parser;

fn main() -> std::process::ExitCode {
    egd::cli::run(egd::cli::Cli::parse())
}
