//! Xinlian benchmarks. `trace-bench` (`src/bin/trace_bench.rs`) loads a city's worth of cold-chain
//! codes through the node's block path and measures the traceability queries; figures and how to
//! reproduce them are in `docs/BENCHMARKS.md`. Benchmarks are measured and reported, never
//! asserted as timed tests.
