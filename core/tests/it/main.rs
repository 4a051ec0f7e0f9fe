//! Integration tests of the core crate: OpenSSL interoperability, frozen format fixtures, and
//! property tests of the encodings.

// Tests fail by panicking; unwrapping is how they say what went wrong.
#![allow(clippy::unwrap_used)]

mod conformance;
mod fixtures;
mod openssl;
mod properties;
