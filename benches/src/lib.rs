//! Xinlian benchmarks (criterion) of the hot paths: signature verification, hashing, Merkle
//! roots, encoding and block validation.
//!
//! Not built yet: they arrive with the SDK and benchmarks issue. Benchmarks are measured and
//! reported, never asserted as timed tests.
