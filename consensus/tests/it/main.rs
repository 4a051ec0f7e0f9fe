//! The consensus crate's main test: a whole cluster in one process, driven by a seed.

// Tests fail by panicking; unwrapping is how they say what went wrong.
#![allow(clippy::unwrap_used)]

mod checks;
mod crash;
mod sim;
