//! Answers derived from state: what the node's API returns, and what a client derives again from
//! the entries of a proof bundle to check that answer (`xinlian_sdk::proof`).
//!
//! Views read state only through point reads of [`StateReader::get`] (a list by its count in
//! state and sequence-numbered keys), so every entry an answer depends on can be proved, and an
//! answer derived from a bundle that lacks one fails rather than comes out short.

pub mod auth;
pub mod licence;
pub mod trace;
pub mod verify;

use std::cell::RefCell;

use xinlian_core::api::MemberResponse;
use xinlian_core::certificate::VoterSet;
use xinlian_core::crypto::PublicKey;
use xinlian_core::proof::{ProofError, StateSpace, VerifiedState};
use xinlian_core::{Hash, HashSuite};

use crate::{ExecError, Space, StateReader};

/// `GET /v1/members/{public_key}`: the organisation and role of a member key, if registered.
pub fn member(
    state: &dyn StateReader,
    suite: HashSuite,
    key: &PublicKey,
) -> Result<Option<MemberResponse>, ExecError> {
    Ok(
        crate::system::read_member(state, suite, key)?.map(|member| MemberResponse {
            public_key: member.public_key,
            org: member.org,
            name: member.name,
            role: member.role,
            registered_at: member.registered_at,
            proof: None,
        }),
    )
}

/// The voters after the state's block: the registry's nodes that are neither removed nor
/// learners, the set whose quorum certifies the blocks after it (`docs/consensus.md`). Read
/// through the registry's list of node ids and each node's record, so a proof of it is complete.
pub fn voters(state: &dyn StateReader) -> Result<VoterSet, ExecError> {
    let nodes = crate::governance::list_nodes(&crate::Overlay::new(state))?;
    Ok(VoterSet::new(
        nodes
            .into_iter()
            .filter(|node| !node.removed && !node.learner)
            .map(|node| (node.id, node.public_key)),
    ))
}

/// The proof bundle's space of a contracts space.
pub fn state_space(space: Space) -> StateSpace {
    match space {
        Space::State => StateSpace::State,
        Space::Index => StateSpace::Index,
    }
}

/// The entries a bundle proved, read as state: a read of an entry the bundle does not prove
/// fails, and the first such failure is kept for [`ProvenReader::finish`].
pub struct ProvenReader<'a> {
    state: &'a VerifiedState,
    failure: RefCell<Option<ProofError>>,
}

impl<'a> ProvenReader<'a> {
    /// A reader over `state`.
    pub fn new(state: &'a VerifiedState) -> Self {
        ProvenReader {
            state,
            failure: RefCell::new(None),
        }
    }

    /// The outcome of a derivation over this reader: its error, told as the proof's failure
    /// that caused it (an entry missing from the bundle) when there was one.
    pub fn finish<T>(self, derived: Result<T, ExecError>) -> Result<T, ProofError> {
        match (self.failure.into_inner(), derived) {
            (Some(failure), _) => Err(failure),
            (None, Ok(value)) => Ok(value),
            (None, Err(e)) => Err(ProofError::Undecodable(e.to_string())),
        }
    }
}

impl StateReader for ProvenReader<'_> {
    fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>, ExecError> {
        match self.state.get(state_space(space), key) {
            Ok(value) => Ok(value.map(<[u8]>::to_vec)),
            Err(e) => {
                let reason = e.to_string();
                self.failure.borrow_mut().get_or_insert(e);
                Err(ExecError::Storage(reason))
            }
        }
    }

    fn tx_committed(&self, _tx_hash: &Hash) -> Result<bool, ExecError> {
        Err(ExecError::Storage(
            "a proof bundle proves state entries, not transactions".into(),
        ))
    }
}
