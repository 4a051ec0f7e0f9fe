//! Named bounds on everything that enters the chain. Units come last in each name.
//!
//! Limits that are part of the consensus rules live here as constants, so every node enforces the
//! same ones; operational limits (mempool size, HTTP bodies) are node configuration.

/// Largest canonical encoding of one signed transaction.
pub const TX_BYTES_MAX: usize = 64 * 1024;
/// Most transactions one block may carry.
pub const BLOCK_TXS_MAX: usize = 10_000;
/// Largest canonical encoding of one block; every node refuses a larger one. A leader cuts
/// blocks at its configured `block_bytes_max`, at most this.
pub const BLOCK_BYTES_MAX: usize = 8 * 1024 * 1024;
/// Most milliseconds a block's timestamp may lie after its parent's. Block time is the leader's
/// word; this bounds how far one block can move it. An idle leader cuts an empty block every
/// half of this, so an honest chain never needs a larger step.
pub const BLOCK_TIME_STEP_MS_MAX: u64 = 10 * 60 * 1000;
/// Most commit certificates of earlier blocks one block carries.
pub const CARRIED_CERTIFICATES_MAX: usize = 8;
/// How far back a carried certificate may be: no further than the votes a node keeps, so every
/// node that applies the block holds the blocks and voters to check it against.
pub const CERTIFICATE_CARRY_WINDOW: u64 = 1_024;
/// Longest chain id.
pub const CHAIN_ID_BYTES_MAX: usize = 64;
/// Longest SM2 user ID (distinguishing identifier); GB/T 32918 allows 8191 bytes, no real ID
/// comes close.
pub const SM2_USER_ID_BYTES_MAX: usize = 128;
/// Longest display name of an organisation, member or node.
pub const NAME_BYTES_MAX: usize = 256;
/// Longest free-text field (a memo, a reason).
pub const TEXT_BYTES_MAX: usize = 4096;
/// How far beyond the current height a transaction's `valid_until_height` may reach. Bounds the
/// window within which its hash must stay unique, and how long a signed transaction stays usable.
pub const TX_VALIDITY_BLOCKS_MAX: u64 = 100_000;
/// Most organisations a genesis may name.
pub const GENESIS_ORGS_MAX: usize = 1_000;

const _: () = assert!(
    BLOCK_TXS_MAX * 64 < BLOCK_BYTES_MAX,
    "a block of minimal txs must fit"
);
const _: () = assert!(TX_BYTES_MAX < BLOCK_BYTES_MAX);
