//! The genesis document: the chain's identity, suite, accepted schemes, founding organisations
//! with their admin keys and nodes. Node software reads it from TOML; its hash (over the canonical
//! encoding) is the parent of block 1, so nodes with different genesis files cannot agree.

use std::collections::HashSet;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::crypto::{PublicKey, SignatureScheme};
use crate::encoding::encode;
use crate::hash::domains;
use crate::ids::Uscc;
use crate::limits::{CHAIN_ID_BYTES_MAX, GENESIS_ORGS_MAX, NAME_BYTES_MAX};
use crate::types::OrgRole;
use crate::{Error, Hash, HashSuite, Result};

/// A cryptographic suite: which hash the chain uses.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "lowercase")]
#[borsh(use_discriminant = true)]
pub enum Suite {
    /// National: SM3 hashing (SM2 signatures by default).
    Gm = 0,
    /// International: BLAKE3 hashing (Ed25519 signatures by default).
    Intl = 1,
}

impl Suite {
    /// The chain's hash function.
    pub fn hash_suite(self) -> HashSuite {
        match self {
            Suite::Gm => HashSuite::Sm3,
            Suite::Intl => HashSuite::Blake3,
        }
    }

    /// The suite's own signature scheme.
    pub fn default_scheme(self) -> SignatureScheme {
        match self {
            Suite::Gm => SignatureScheme::Sm2,
            Suite::Intl => SignatureScheme::Ed25519,
        }
    }
}

/// The genesis document.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// The chain's id; every transaction and block names it.
    pub chain_id: String,
    /// The hash suite.
    pub suite: Suite,
    /// Signature schemes the chain accepts from senders and nodes.
    pub signature_schemes: Vec<SignatureScheme>,
    /// Time of genesis (ms since the Unix epoch); block timestamps start from it.
    pub genesis_time_ms: u64,
    /// The founding organisations.
    pub organisations: Vec<GenesisOrganisation>,
}

/// One founding organisation.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisOrganisation {
    /// Its unified social credit code.
    pub uscc: Uscc,
    /// Its name.
    pub name: String,
    /// What it is on the chain.
    pub roles: Vec<OrgRole>,
    /// Keys of its admins (members with the admin role from the start).
    pub admins: Vec<PublicKey>,
    /// The consensus nodes it runs.
    #[serde(default)]
    pub nodes: Vec<GenesisNode>,
}

/// One consensus node.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisNode {
    /// A short unique name, e.g. `samr-node0`.
    pub id: String,
    /// The key it signs blocks with.
    pub public_key: PublicKey,
    /// Its libp2p peer id (base58, from its Ed25519 transport key). Connections from peers not
    /// listed here are refused.
    pub p2p_peer_id: String,
}

impl Genesis {
    /// The chain's hash function.
    pub fn hash_suite(&self) -> HashSuite {
        self.suite.hash_suite()
    }

    /// The genesis hash: the parent of block 1.
    pub fn hash(&self) -> Hash {
        self.hash_suite()
            .digest_tagged(&domains::GENESIS, &encode(self))
    }

    /// Whether the chain accepts keys of `scheme`.
    pub fn accepts(&self, scheme: SignatureScheme) -> bool {
        self.signature_schemes.contains(&scheme)
    }

    /// All nodes, with their organisation.
    pub fn nodes(&self) -> impl Iterator<Item = (&GenesisOrganisation, &GenesisNode)> {
        self.organisations
            .iter()
            .flat_map(|o| o.nodes.iter().map(move |n| (o, n)))
    }

    /// Checks every rule a genesis must keep; the error names the offending value.
    pub fn validate(&self) -> Result<()> {
        let fail = |m: String| Err(Error::InvalidGenesis(m));
        if self.chain_id.is_empty() || self.chain_id.len() > CHAIN_ID_BYTES_MAX {
            return fail(format!("chain_id must be 1 to {CHAIN_ID_BYTES_MAX} bytes"));
        }
        if self.signature_schemes.is_empty() {
            return fail("signature_schemes is empty".to_string());
        }
        if self.organisations.is_empty() || self.organisations.len() > GENESIS_ORGS_MAX {
            return fail(format!(
                "there must be 1 to {GENESIS_ORGS_MAX} organisations"
            ));
        }
        if self.nodes().next().is_none() {
            return fail("no organisation runs a node".to_string());
        }
        let mut usccs = HashSet::new();
        let mut keys = HashSet::new();
        let mut node_ids = HashSet::new();
        let mut peer_ids = HashSet::new();
        for org in &self.organisations {
            if !usccs.insert(org.uscc.clone()) {
                return fail(format!("organisation {} appears twice", org.uscc));
            }
            if org.name.is_empty() || org.name.len() > NAME_BYTES_MAX {
                return fail(format!(
                    "organisation {}: name must be 1 to {NAME_BYTES_MAX} bytes",
                    org.uscc
                ));
            }
            if org.admins.is_empty() {
                return fail(format!("organisation {} has no admin key", org.uscc));
            }
            let node_keys = org.nodes.iter().map(|n| &n.public_key);
            for key in org.admins.iter().chain(node_keys) {
                if !self.accepts(key.scheme()) {
                    return fail(format!(
                        "key {key} uses scheme {}, which the chain does not accept",
                        key.scheme()
                    ));
                }
                if !keys.insert(key.clone()) {
                    return fail(format!("key {key} appears twice"));
                }
            }
            for node in &org.nodes {
                if node.p2p_peer_id.is_empty()
                    || node.p2p_peer_id.len() > NAME_BYTES_MAX
                    || !peer_ids.insert(node.p2p_peer_id.clone())
                {
                    return fail(format!(
                        "node {:?}: p2p_peer_id is empty, too long or not unique",
                        node.id
                    ));
                }
                if node.id.is_empty()
                    || node.id.len() > NAME_BYTES_MAX
                    || !node_ids.insert(node.id.clone())
                {
                    return fail(format!(
                        "node id {:?} is empty, too long or not unique",
                        node.id
                    ));
                }
            }
        }
        Ok(())
    }
}
