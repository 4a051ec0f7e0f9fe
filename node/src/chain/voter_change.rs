//! Changes of the voters, kept with their proofs so a client can follow the voters from genesis
//! without trusting any node: the block that changes them is certified by the voters before it
//! (`certify.rs`), and the registry proved under that block names the voters after it.

use xinlian_core::api::{VoterChange, VoterEntry};
use xinlian_core::certificate::VoterSet;
use xinlian_core::crypto::PublicKey;
use xinlian_core::proof::{ProofBundle, ProvenQuery};

use super::Chain;
use crate::storage::VoterChangeRecord;
use crate::{Error, Result};

impl Chain {
    /// Proves the registry under the block at `height`, just applied and still the head, and
    /// keeps the proof as that of the change of voters it made.
    pub(super) fn record_voter_change(&self, height: u64) -> Result<()> {
        let view = self.storage.state_view()?;
        if view.head().height != height {
            // Only the apply thread moves the head, and it calls this before the next block;
            // should that ever change, the chain goes on and clients miss this one proof.
            tracing::error!(
                height,
                head = view.head().height,
                "the voters changed at a block that is no longer the head: no proof of the change is kept"
            );
            return Ok(());
        }
        let (voters, reads) = view.record(|state| xinlian_contracts::views::voters(state));
        let voters = voters?;
        let entries = view.prove_all(self.suite(), reads)?;
        let header = self
            .storage
            .block(height)?
            .ok_or_else(|| Error::Corrupt(format!("block {height} is missing")))?
            .header;
        tracing::info!(
            height,
            voters = voters.len(),
            "the voters changed; the proof of the change is kept"
        );
        self.storage.put_voter_change(&VoterChangeRecord {
            header,
            voters: voters
                .iter()
                .map(|(id, key)| (id.clone(), key.clone()))
                .collect(),
            entries,
        })
    }

    /// The kept changes of the voters above height `after`, oldest first, each with the
    /// certificate of its block, at most `limit`; the list stops before a change whose
    /// certificate this node does not hold (yet). Also whether more may follow.
    pub fn voter_changes(&self, after: u64, limit: usize) -> Result<(Vec<VoterChange>, bool)> {
        let records = self.storage.voter_changes(after, limit + 1)?;
        let more = records.len() > limit;
        let mut changes = Vec::with_capacity(limit);
        for record in records.into_iter().take(limit) {
            let height = record.header.height;
            let Some(certificate) = self.storage.certificate(height)? else {
                return Ok((changes, true));
            };
            changes.push(VoterChange {
                height,
                voters: record
                    .voters
                    .into_iter()
                    .map(|(node_id, public_key)| VoterEntry {
                        node_id,
                        public_key,
                    })
                    .collect(),
                proof: ProofBundle {
                    query: ProvenQuery::Voters,
                    header: record.header,
                    certificate,
                    entries: record.entries,
                },
            });
        }
        Ok((changes, more))
    }

    /// Keeps the changes of the voters a certified snapshot's offer carried, already checked
    /// (`crate::state_sync`), as if this node had applied their blocks: their proofs and
    /// certificates to serve, and the voters by height.
    pub(crate) fn adopt_voter_changes(&self, changes: &[VoterChange]) -> Result<()> {
        for change in changes {
            let proof = &change.proof;
            if self.storage.certificate(change.height)?.is_none() {
                self.storage.put_certificate(&proof.certificate)?;
            }
            let voters: Vec<(String, PublicKey)> = change
                .voters
                .iter()
                .map(|v| (v.node_id.clone(), v.public_key.clone()))
                .collect();
            self.storage.put_voter_change(&VoterChangeRecord {
                header: proof.header.clone(),
                voters: voters.clone(),
                entries: proof.entries.clone(),
            })?;
            self.storage
                .put_voters(change.height + 1, &VoterSet::new(voters))?;
        }
        if !changes.is_empty() {
            self.load_voter_history()?;
        }
        Ok(())
    }
}
