//! Commit certificates: the signatures of at least a quorum of the chain's voters on one
//! committed block, so a client that trusts the voters' keys (from genesis and governance) can
//! trust a header without trusting the node that served it.
//!
//! A voter signs `(domain, chain id, height, block hash)` with its node key after it applied the
//! block. Raft commits one block per height, and a voter signs only what it applied, so a quorum
//! of signatures on a hash means a majority of the departments' nodes hold that block at that
//! height; one node cannot forge it (docs/formats.md, "Commit certificates").

use std::collections::BTreeMap;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::crypto::{PrivateKey, PublicKey, Signature};
use crate::encoding::{decode, encode};
use crate::hash::{Hash, HashSuite, domains};

/// Most votes a certificate carries: far above any consortium's voters, so a hostile
/// certificate cannot make a verifier check signatures without end.
pub const CERTIFICATE_VOTES_MAX: usize = 256;

/// One voter's signature on a committed block.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct CommitVote {
    /// The voter's node id in the registry.
    pub node_id: String,
    /// Its node key's signature over [`commit_vote_bytes`].
    pub signature: Signature,
}

/// What a voter signs for the block `block_hash` at `height` of `chain_id`.
pub fn commit_vote_bytes(chain_id: &str, height: u64, block_hash: &Hash) -> Vec<u8> {
    encode(&(domains::COMMIT_VOTE.as_str(), chain_id, height, block_hash))
}

impl CommitVote {
    /// `node_id`'s vote, signed with its node key.
    pub fn sign(
        key: &PrivateKey,
        node_id: &str,
        chain_id: &str,
        height: u64,
        block_hash: &Hash,
    ) -> Self {
        CommitVote {
            node_id: node_id.to_string(),
            signature: key.sign(&commit_vote_bytes(chain_id, height, block_hash)),
        }
    }
}

/// The votes of at least a quorum of the voters on one block.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct CommitCertificate {
    /// The chain.
    pub chain_id: String,
    /// The block's height.
    pub height: u64,
    /// The block's hash (its header's).
    pub block_hash: Hash,
    /// The votes, ordered by node id, one per voter.
    pub votes: Vec<CommitVote>,
}

impl CommitCertificate {
    /// A certificate of the given votes, put in their canonical order (by node id, one each).
    pub fn new(chain_id: &str, height: u64, block_hash: Hash, votes: Vec<CommitVote>) -> Self {
        let by_node: BTreeMap<String, CommitVote> = votes
            .into_iter()
            .map(|vote| (vote.node_id.clone(), vote))
            .collect();
        CommitCertificate {
            chain_id: chain_id.to_string(),
            height,
            block_hash,
            votes: by_node.into_values().collect(),
        }
    }

    /// Canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(self)
    }

    /// Decodes canonical bytes (at most 64 KiB: a certificate of the most votes fits).
    pub fn from_bytes(bytes: &[u8]) -> crate::Result<Self> {
        decode(bytes, "commit certificate", 64 * 1024)
    }

    /// The certificate's hash, under the chain's suite.
    pub fn hash(&self, suite: HashSuite) -> Hash {
        suite.digest_tagged(&domains::COMMIT_CERTIFICATE, &self.to_bytes())
    }

    /// Checks that this certifies `block_hash` at `height` of `chain_id` with valid signatures of
    /// at least a quorum of `voters`. Each way it can fail has its own error.
    pub fn verify(
        &self,
        chain_id: &str,
        height: u64,
        block_hash: &Hash,
        voters: &VoterSet,
    ) -> Result<(), CertificateError> {
        if self.chain_id != chain_id {
            return Err(CertificateError::WrongChain {
                expected: chain_id.to_string(),
                got: self.chain_id.clone(),
            });
        }
        if self.height != height {
            return Err(CertificateError::WrongHeight {
                expected: height,
                got: self.height,
            });
        }
        if self.block_hash != *block_hash {
            return Err(CertificateError::WrongBlock {
                expected: *block_hash,
                got: self.block_hash,
            });
        }
        if self.votes.len() > CERTIFICATE_VOTES_MAX {
            return Err(CertificateError::TooManyVotes(self.votes.len()));
        }
        // The same bytes for every vote; checked in order, so a duplicate or an unordered
        // certificate (which could repeat a voter) is refused before its signature costs a check.
        let message = commit_vote_bytes(chain_id, height, block_hash);
        let mut previous: Option<&str> = None;
        for vote in &self.votes {
            if previous.is_some_and(|p| p >= vote.node_id.as_str()) {
                return Err(CertificateError::NotCanonical(vote.node_id.clone()));
            }
            previous = Some(&vote.node_id);
            let key = voters
                .key(&vote.node_id)
                .ok_or_else(|| CertificateError::NotAVoter(vote.node_id.clone()))?;
            key.verify(&message, &vote.signature)
                .map_err(|_| CertificateError::BadSignature(vote.node_id.clone()))?;
        }
        let quorum = voters.quorum();
        if self.votes.len() < quorum {
            return Err(CertificateError::BelowQuorum {
                votes: self.votes.len(),
                quorum,
                voters: voters.len(),
            });
        }
        Ok(())
    }
}

/// The voters in force at a height: node id and node key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VoterSet {
    voters: BTreeMap<String, PublicKey>,
}

impl VoterSet {
    /// The set of these voters.
    pub fn new(voters: impl IntoIterator<Item = (String, PublicKey)>) -> Self {
        VoterSet {
            voters: voters.into_iter().collect(),
        }
    }

    /// The founding voters: every node of the genesis.
    pub fn from_genesis(genesis: &crate::genesis::Genesis) -> Self {
        Self::new(
            genesis
                .organisations
                .iter()
                .flat_map(|org| &org.nodes)
                .map(|node| (node.id.clone(), node.public_key.clone())),
        )
    }

    /// The voters, by node id.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &PublicKey)> {
        self.voters.iter()
    }

    /// A voter's key.
    pub fn key(&self, node_id: &str) -> Option<&PublicKey> {
        self.voters.get(node_id)
    }

    /// How many voters.
    pub fn len(&self) -> usize {
        self.voters.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.voters.is_empty()
    }

    /// Votes needed: a majority, as Raft's commit needs.
    pub fn quorum(&self) -> usize {
        self.voters.len() / 2 + 1
    }
}

/// Why a certificate does not certify a block.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// It is for another chain.
    #[error("the certificate is for chain {got:?}, not {expected:?}")]
    WrongChain {
        /// The chain checked.
        expected: String,
        /// The chain it names.
        got: String,
    },
    /// It is for another height.
    #[error("the certificate is for height {got}, not {expected}")]
    WrongHeight {
        /// The height checked.
        expected: u64,
        /// The height it names.
        got: u64,
    },
    /// It is for another block.
    #[error("the certificate is for block {got}, not {expected}")]
    WrongBlock {
        /// The block checked.
        expected: Hash,
        /// The block it names.
        got: Hash,
    },
    /// It carries more votes than any certificate may.
    #[error("the certificate carries {0} votes, more than {CERTIFICATE_VOTES_MAX}")]
    TooManyVotes(usize),
    /// Its votes are not ordered by node id, one per voter.
    #[error("the certificate's votes are not one per voter in node-id order (at {0:?})")]
    NotCanonical(String),
    /// A vote is by a node that is not a voter at this height.
    #[error("{0:?} is not a voter at this height")]
    NotAVoter(String),
    /// A vote's signature does not verify with the voter's key.
    #[error("the vote of {0:?} does not verify")]
    BadSignature(String),
    /// Fewer valid votes than a quorum.
    #[error("{votes} votes of {voters} voters, fewer than the quorum of {quorum}")]
    BelowQuorum {
        /// Valid votes.
        votes: usize,
        /// Votes needed.
        quorum: usize,
        /// Voters at this height.
        voters: usize,
    },
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::crypto::SignatureScheme;

    const CHAIN: &str = "xinlian-test";

    fn voters(n: u8) -> (Vec<(String, PrivateKey)>, VoterSet) {
        let keys: Vec<(String, PrivateKey)> = (0..n)
            .map(|i| {
                let scheme = if i % 2 == 0 {
                    SignatureScheme::Sm2
                } else {
                    SignatureScheme::Ed25519
                };
                (
                    format!("node{i}"),
                    PrivateKey::from_seed(scheme, [i + 1; 32]).unwrap(),
                )
            })
            .collect();
        let set = VoterSet::new(keys.iter().map(|(id, k)| (id.clone(), k.public_key())));
        (keys, set)
    }

    fn certificate(keys: &[(String, PrivateKey)], height: u64, block: Hash) -> CommitCertificate {
        let votes = keys
            .iter()
            .map(|(id, key)| CommitVote::sign(key, id, CHAIN, height, &block))
            .collect();
        CommitCertificate::new(CHAIN, height, block, votes)
    }

    #[test]
    fn a_quorum_of_voters_certifies_and_each_fault_is_refused_with_its_reason() {
        let (keys, set) = voters(4);
        assert_eq!(set.quorum(), 3);
        let block = Hash([9; 32]);
        let good = certificate(&keys[..3], 7, block);
        assert_eq!(good.verify(CHAIN, 7, &block, &set), Ok(()));
        let all = certificate(&keys, 7, block);
        assert_eq!(all.verify(CHAIN, 7, &block, &set), Ok(()));

        // Fewer than a quorum.
        let two = certificate(&keys[..2], 7, block);
        assert_eq!(
            two.verify(CHAIN, 7, &block, &set),
            Err(CertificateError::BelowQuorum {
                votes: 2,
                quorum: 3,
                voters: 4
            })
        );
        // A non-voter's signature, even with a quorum beside it.
        let stranger = PrivateKey::from_seed(SignatureScheme::Sm2, [99; 32]).unwrap();
        let mut with_stranger = keys[..3].to_vec();
        with_stranger.push(("node9".into(), stranger));
        assert_eq!(
            certificate(&with_stranger, 7, block).verify(CHAIN, 7, &block, &set),
            Err(CertificateError::NotAVoter("node9".into()))
        );
        // Votes signed for another height, relabelled: the signatures do not verify.
        let mut moved = certificate(&keys[..3], 8, block);
        moved.height = 7;
        assert!(matches!(
            moved.verify(CHAIN, 7, &block, &set),
            Err(CertificateError::BadSignature(_))
        ));
        // A certificate of another height, block or chain is not this block's.
        assert_eq!(
            certificate(&keys[..3], 8, block).verify(CHAIN, 7, &block, &set),
            Err(CertificateError::WrongHeight {
                expected: 7,
                got: 8
            })
        );
        assert!(matches!(
            good.verify(CHAIN, 7, &Hash([8; 32]), &set),
            Err(CertificateError::WrongBlock { .. })
        ));
        assert!(matches!(
            good.verify("another-chain", 7, &block, &set),
            Err(CertificateError::WrongChain { .. })
        ));
        // One voter's signature under another voter's name.
        let mut swapped = good.clone();
        swapped.votes[0].signature = swapped.votes[1].signature;
        assert_eq!(
            swapped.verify(CHAIN, 7, &block, &set),
            Err(CertificateError::BadSignature("node0".into()))
        );
        // One voter counted twice, or votes out of order.
        let mut doubled = certificate(&keys[..2], 7, block);
        doubled.votes.push(doubled.votes[1].clone());
        assert_eq!(
            doubled.verify(CHAIN, 7, &block, &set),
            Err(CertificateError::NotCanonical("node1".into()))
        );
        let mut reversed = good.clone();
        reversed.votes.reverse();
        assert!(matches!(
            reversed.verify(CHAIN, 7, &block, &set),
            Err(CertificateError::NotCanonical(_))
        ));
        // A flipped bit anywhere in a signature.
        for byte in [0, 31, 63] {
            let mut flipped = good.clone();
            flipped.votes[2].signature.0[byte] ^= 1;
            assert!(flipped.verify(CHAIN, 7, &block, &set).is_err());
        }
    }

    #[test]
    fn certificates_round_trip_their_canonical_bytes_and_refuse_trailing_ones() {
        let (keys, _) = voters(3);
        let cert = certificate(&keys, 1, Hash([1; 32]));
        let bytes = cert.to_bytes();
        assert_eq!(CommitCertificate::from_bytes(&bytes).unwrap(), cert);
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(CommitCertificate::from_bytes(&longer).is_err());
        let json = serde_json::to_string(&cert).unwrap();
        assert_eq!(
            serde_json::from_str::<CommitCertificate>(&json).unwrap(),
            cert
        );
    }
}
