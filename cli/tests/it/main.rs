//! End-to-end tests against real `xinlian` node processes with RocksDB in temporary directories,
//! driven over real HTTP.

// Tests fail by panicking; unwrapping is how they say what went wrong.
#![allow(clippy::unwrap_used)]
// End-to-end tests measure real time against real processes.
#![allow(clippy::disallowed_methods)]

mod auth;
mod backup;
mod bad_input;
mod bench;
mod certificates;
mod cli_errors;
mod cluster;
mod coldchain;
mod console;
mod crash;
mod examples;
mod flood;
mod happy_path;
mod harness;
mod kill_campaign;
mod licence;
mod limits;
mod partition;
mod peer_input;
mod pipeline;
mod proofs;
mod readme;
mod signed;
mod state_sync;
mod sweep;
mod testnet_cli;
mod tls;
mod voter_changes;
