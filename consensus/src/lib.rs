//! Xinlian consensus: the Raft driver around tikv's raft-rs and the deterministic cluster
//! simulation.
//!
//! Not built yet: it arrives with the consensus issue. Until then a chain runs on one node, whose
//! block producer (`xinlian-node`) commits each block directly. The boundary is fixed already: a
//! block is one log entry, and a committed entry is applied by the same `Chain` code path.
