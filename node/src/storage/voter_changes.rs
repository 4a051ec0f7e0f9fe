//! The proofs of the voters' changes: when a block changes who votes, the node proves the node
//! registry under that block while it is the head (the state tree keeps no older values) and
//! keeps the proof, so any client can later follow the voters from genesis, each change
//! certified by the voters before it (`GET /v1/gov/voter-changes`, `docs/formats.md`).

use borsh::{BorshDeserialize, BorshSerialize};
use rocksdb::{Direction, IteratorMode};
use xinlian_core::crypto::PublicKey;
use xinlian_core::encoding;
use xinlian_core::proof::ProvenEntry;
use xinlian_core::types::BlockHeader;

use super::{CF_META, Storage};
use crate::{Error, Result};

/// Prefix of the voter changes (`voter-change/` ‖ height).
const META_VOTER_CHANGE: &[u8] = b"voter-change/";

/// A change of the voters as proved by its own block.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct VoterChangeRecord {
    /// The header of the block that changed them.
    pub header: BlockHeader,
    /// The voters after it, by node id.
    pub voters: Vec<(String, PublicKey)>,
    /// The registry's entries, proved under the header's state root.
    pub entries: Vec<ProvenEntry>,
}

impl Storage {
    /// Keeps the proof of the change made by the block of `record.header`.
    pub fn put_voter_change(&self, record: &VoterChangeRecord) -> Result<()> {
        let key = [META_VOTER_CHANGE, &record.header.height.to_be_bytes()].concat();
        self.db
            .put_cf(self.cf(CF_META), key, encoding::encode(record))?;
        Ok(())
    }

    /// The kept changes above height `after`, oldest first, at most `limit`.
    pub fn voter_changes(&self, after: u64, limit: usize) -> Result<Vec<VoterChangeRecord>> {
        let start = [META_VOTER_CHANGE, &after.saturating_add(1).to_be_bytes()].concat();
        let mut changes = Vec::new();
        for item in self.db.iterator_cf(
            self.cf(CF_META),
            IteratorMode::From(&start, Direction::Forward),
        ) {
            let (key, value) = item?;
            if !key.starts_with(META_VOTER_CHANGE) || changes.len() == limit {
                break;
            }
            let record: VoterChangeRecord = encoding::decode(&value, "voter change", 16 << 20)
                .map_err(|e| Error::Corrupt(format!("a voter change: {e}")))?;
            changes.push(record);
        }
        Ok(changes)
    }
}
