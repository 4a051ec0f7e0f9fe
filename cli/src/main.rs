//! `xinlian`: one binary for every role. This file parses arguments and launches; the work is in
//! the SDK, the node and the testnet crates.

// First, so that `outln!` is in scope in every module below.
#[macro_use]
mod report;

mod auth_cli;
mod bench_cli;
mod cli;
mod commands;
mod console_cli;
mod inputs;
mod licence_cli;
mod testnet_cli;
mod trace_cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    commands::init_tracing(&args);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    report::finish(runtime.block_on(commands::run(args)))
}
