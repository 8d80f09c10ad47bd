//! The `pingyi` binary: parse the command line and hand over to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = pingyi::cli::Cli::parse();
    pingyi::cli::run(cli)
}
