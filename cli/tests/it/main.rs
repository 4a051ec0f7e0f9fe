//! End-to-end tests against real `xinlian` node processes with RocksDB in temporary directories,
//! driven over real HTTP.

// Tests fail by panicking; unwrapping is how they say what went wrong.
#![allow(clippy::unwrap_used)]

mod bad_input;
mod crash;
mod happy_path;
mod harness;
