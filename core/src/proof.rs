//! Proof bundles: what a node sends with a domain answer so that a client trusts the consortium's
//! signatures instead of the node.
//!
//! ```text
//!   genesis ──▶ Trust { chain, suite, voters }
//!                  │
//!   bundle.certificate ── a quorum of voters signed ──▶ bundle.header (its hash)
//!                                                        │ state_root
//!   bundle.entries[i]: (space, key, value | absent) ── state proof ──▶ verified
//! ```
//!
//! [`ProofBundle::verify`] checks the chain of trust and returns the entries it proved as a
//! [`VerifiedState`]; the domain answer is then derived again from those entries alone (see
//! `xinlian_contracts::views`), so a node can neither alter a value nor leave one out: a read of
//! an entry the bundle does not prove fails.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::certificate::{CertificateError, CommitCertificate, VoterSet};
use crate::crypto::PublicKey;
use crate::genesis::Genesis;
use crate::licence::LicenceId;
use crate::state_tree;
use crate::trace::TraceCode;
use crate::types::BlockHeader;
use crate::{Hash, HashSuite};

/// Most entries in one bundle: a licence with its whole history, a lot with its events.
pub const BUNDLE_ENTRIES_MAX: usize = 4_096;

/// Which keyspace an entry is in, as the state tree's key hash includes it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    BorshSerialize,
    BorshDeserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum StateSpace {
    /// Contract state.
    State,
    /// Query indexes.
    Index,
}

impl StateSpace {
    /// The byte the tree's key hash starts from.
    pub fn byte(self) -> u8 {
        match self {
            StateSpace::State => 0,
            StateSpace::Index => 1,
        }
    }
}

/// Bytes carried as lowercase hex in JSON.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Default, BorshSerialize, BorshDeserialize)]
pub struct HexBytes(pub Vec<u8>);

impl fmt::Display for HexBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(&self.0))
    }
}

impl fmt::Debug for HexBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{self}")
    }
}

impl FromStr for HexBytes {
    type Err = crate::Error;
    fn from_str(text: &str) -> crate::Result<Self> {
        hex::decode(text)
            .map(HexBytes)
            .map_err(|e| crate::Error::Hex {
                field: "bytes",
                reason: e.to_string(),
            })
    }
}

crate::text_serde::serde_as_text!(HexBytes, "^([0-9a-f]{2})*$", "Bytes in lowercase hex");

/// One state entry and the proof of it under the header's state root.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvenEntry {
    /// Its keyspace.
    pub space: StateSpace,
    /// Its key.
    pub key: HexBytes,
    /// Its value; null when the proof shows the key absent.
    pub value: Option<HexBytes>,
    /// The state tree proof (`docs/formats.md`).
    pub proof: HexBytes,
}

/// The question a bundle answers, so a verifier derives the same answer again from the proven
/// entries. Answers hold as of the bundle's block: dates in them (a licence's expiry) are judged
/// on the block's day, China time.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ProvenQuery {
    /// `GET /v1/licences/{id}`: the public record.
    Licence {
        /// The identifier asked about.
        id: LicenceId,
    },
    /// `POST /v1/licences/verify`: the verdict on an identifier and a presented document.
    LicenceVerdict {
        /// The identifier presented.
        id: LicenceId,
        /// The presented document's digest, if one was presented.
        document_digest: Option<Hash>,
    },
    /// `GET /v1/trace/codes/{code}`: a trace code's lineage and status.
    TraceCode {
        /// The code asked about.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        code: TraceCode,
    },
    /// `GET /v1/auth/grants/{id}` (signed): a grant and its uses `from..from + limit`.
    Grant {
        /// The grant.
        id: Hash,
        /// The first use's sequence number.
        from: u32,
        /// Most uses.
        limit: u32,
    },
    /// `GET /v1/members/{public_key}`: the organisation and role of a member key.
    Member {
        /// The key asked about.
        public_key: PublicKey,
    },
    /// `GET /v1/gov/voter-changes`: the voters in force after a block that changed them, proved
    /// under that block, which the voters before the change certify.
    Voters,
}

/// The state entries an answer was derived from, with their proofs, the header whose state root
/// proves them and the commit certificate of that header.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofBundle {
    /// What was asked.
    pub query: ProvenQuery,
    /// The header of the block after which the entries hold.
    pub header: BlockHeader,
    /// A quorum of the voters' signatures on that header's hash.
    pub certificate: CommitCertificate,
    /// The entries read, each proved present with its value or proved absent.
    pub entries: Vec<ProvenEntry>,
}

/// What a verifier trusts: the chain, its hash suite and the voters whose quorum it accepts.
#[derive(Clone, Debug)]
pub struct Trust {
    /// The chain id.
    pub chain_id: String,
    /// Its hash suite.
    pub suite: HashSuite,
    /// The voters in force at the heights it checks.
    pub voters: VoterSet,
    /// The height from which they are in force: 0 for the genesis voters, the block after the
    /// last change followed (`xinlian_contracts::views::verify::follow_voter_change`).
    pub since: u64,
}

impl Trust {
    /// Trust in the founding voters of `genesis`. After governance changes the voters, a client
    /// follows the changes from here, each proved under the block that made it and certified by
    /// the voters before it (`GET /v1/gov/voter-changes`).
    pub fn from_genesis(genesis: &Genesis) -> Self {
        Trust {
            chain_id: genesis.chain_id.clone(),
            suite: genesis.hash_suite(),
            voters: VoterSet::from_genesis(genesis),
            since: 0,
        }
    }
}

/// Why a bundle was refused; each way has its own variant and code.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProofError {
    /// The header is for another chain.
    #[error("the header is for chain {got:?}, not {expected:?}")]
    WrongChain {
        /// The trusted chain.
        expected: String,
        /// The header's.
        got: String,
    },
    /// The certificate does not certify the header.
    #[error("the certificate does not certify block {height}: {source}")]
    Certificate {
        /// The header's height.
        height: u64,
        /// Why.
        source: CertificateError,
    },
    /// Too many entries.
    #[error("the bundle carries {0} entries, more than {BUNDLE_ENTRIES_MAX}")]
    TooManyEntries(usize),
    /// One entry twice.
    #[error("the bundle carries {space:?} key {key} twice")]
    DuplicateEntry {
        /// Its space.
        space: StateSpace,
        /// Its key.
        key: HexBytes,
    },
    /// An entry's proof does not hold under the header's state root.
    #[error("{space:?} key {key}: {reason}")]
    Entry {
        /// Its space.
        space: StateSpace,
        /// Its key.
        key: HexBytes,
        /// Why.
        reason: String,
    },
    /// The answer reads an entry the bundle does not prove.
    #[error("the bundle does not prove {space:?} key {key}, which the answer depends on")]
    Missing {
        /// Its space.
        space: StateSpace,
        /// Its key.
        key: HexBytes,
    },
    /// The proven entries do not decode as the answer needs.
    #[error("the proven state does not decode: {0}")]
    Undecodable(String),
    /// The answer came without a bundle.
    #[error("the answer carries no proof bundle (ask with ?proof=true)")]
    NoBundle,
    /// The bundle answers another question than the answer beside it.
    #[error("the bundle answers {bundle}, the answer is about {answer}")]
    QueryMismatch {
        /// What the bundle's query names.
        bundle: String,
        /// What the answer names.
        answer: String,
    },
    /// The answer sent beside the bundle is not the one the proven entries give.
    #[error("the answer differs from the one its proven state gives: {0}")]
    AnswerMismatch(String),
    /// A change of the voters older than the voters already trusted.
    #[error(
        "the voter change at block {height} is older than the voters trusted from block {since}"
    )]
    StaleVoterChange {
        /// The change's block.
        height: u64,
        /// Where the trusted voters took over.
        since: u64,
    },
}

impl ProofError {
    /// A stable code for scripts and pages.
    pub fn code(&self) -> &'static str {
        match self {
            ProofError::WrongChain { .. } => "wrong_chain",
            ProofError::Certificate { .. } => "bad_certificate",
            ProofError::TooManyEntries(_) => "too_many_entries",
            ProofError::DuplicateEntry { .. } => "duplicate_entry",
            ProofError::Entry { .. } => "bad_state_proof",
            ProofError::Missing { .. } => "entry_missing",
            ProofError::Undecodable(_) => "undecodable_state",
            ProofError::NoBundle => "no_bundle",
            ProofError::QueryMismatch { .. } => "query_mismatch",
            ProofError::AnswerMismatch(_) => "answer_mismatch",
            ProofError::StaleVoterChange { .. } => "stale_voter_change",
        }
    }
}

/// The entries a bundle proved, and the block they hold after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedState {
    /// The block's height.
    pub height: u64,
    /// Its hash.
    pub block_hash: Hash,
    /// Its timestamp (milliseconds since the Unix epoch): how fresh the answer is.
    pub timestamp_ms: u64,
    /// How many voters signed the certificate.
    pub signers: usize,
    /// How many voters there are.
    pub voters: usize,
    entries: BTreeMap<(StateSpace, Vec<u8>), Option<Vec<u8>>>,
}

impl VerifiedState {
    /// The proven value of `key` in `space`: `Ok(None)` when proven absent, an error when the
    /// bundle does not prove it at all.
    pub fn get(&self, space: StateSpace, key: &[u8]) -> Result<Option<&[u8]>, ProofError> {
        match self.entries.get(&(space, key.to_vec())) {
            Some(value) => Ok(value.as_deref()),
            None => Err(ProofError::Missing {
                space,
                key: HexBytes(key.to_vec()),
            }),
        }
    }

    /// How many entries were proved.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether none were.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl ProofBundle {
    /// Checks the bundle against `trust`: the header is the trusted chain's, the certificate
    /// carries a quorum of the voters' signatures on that header, and every entry's proof holds
    /// under its state root. Returns the proven entries.
    pub fn verify(&self, trust: &Trust) -> Result<VerifiedState, ProofError> {
        let header = &self.header;
        if header.chain_id != trust.chain_id {
            return Err(ProofError::WrongChain {
                expected: trust.chain_id.clone(),
                got: header.chain_id.clone(),
            });
        }
        let block_hash = header.hash(trust.suite);
        self.certificate
            .verify(&trust.chain_id, header.height, &block_hash, &trust.voters)
            .map_err(|source| ProofError::Certificate {
                height: header.height,
                source,
            })?;
        if self.entries.len() > BUNDLE_ENTRIES_MAX {
            return Err(ProofError::TooManyEntries(self.entries.len()));
        }
        let mut entries = BTreeMap::new();
        for entry in &self.entries {
            let key_hash = state_tree::key_hash(trust.suite, entry.space.byte(), &entry.key.0);
            state_tree::verify(
                trust.suite,
                &header.state_root,
                key_hash,
                entry.value.as_ref().map(|v| v.0.as_slice()),
                &entry.proof.0,
            )
            .map_err(|e| ProofError::Entry {
                space: entry.space,
                key: entry.key.clone(),
                reason: e.to_string(),
            })?;
            let previous = entries.insert(
                (entry.space, entry.key.0.clone()),
                entry.value.as_ref().map(|v| v.0.clone()),
            );
            if previous.is_some() {
                return Err(ProofError::DuplicateEntry {
                    space: entry.space,
                    key: entry.key.clone(),
                });
            }
        }
        Ok(VerifiedState {
            height: header.height,
            block_hash,
            timestamp_ms: header.timestamp_ms,
            signers: self.certificate.votes.len(),
            voters: trust.voters.len(),
            entries,
        })
    }
}
