//! The `pingyi` binary: parse the command line and hand over to the library.

use clap::Parser;

/// mimalloc instead of the system allocator: under rating load glibc's malloc and free were about
/// a tenth of the server's CPU; with mimalloc a rating costs the server 15-30 % less CPU
/// (`pingyi bench ratings`, BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = pingyi::cli::Cli::parse();
    pingyi::cli::run(cli)
}
