//! Offline checks of what a node served.
//!
//! - **Proven answers** (`?proof=true`): [`verify_licence_record`], [`verify_verdict`],
//!   [`verify_trace_code`], [`verify_grant`], [`verify_member`] and, for
//!   any saved response, [`verify_answer`] check the bundle against a [`Trust`] made from the
//!   genesis (the commit certificate's quorum of voters, the header, every entry's state proof)
//!   and derive the answer again from the proven entries alone; the node's answer must be that
//!   one. Nothing of the node that served it is trusted.
//! - **Voters over time**: a [`Trust`] from the genesis follows governance's changes of the
//!   voters with [`follow_voter_changes`] (or [`crate::Client::follow_voter_changes`], which asks
//!   any node for them): each change is proved under the block that made it, certified by the
//!   voters before it, so the node that serves them is not trusted either.
//! - **Inclusion**: that a transaction is in a block, proven against the block header's
//!   transaction root, and that the header is signed by its proposer.
//!
//! ```
//! use xinlian_core::HashSuite;
//! use xinlian_core::merkle;
//! # use xinlian_core::Hash;
//! // A block's transaction hashes, as `GET /v1/blocks/{height}` lists them.
//! let tx_hashes: Vec<Hash> = (0..5u8).map(|i| HashSuite::Sm3.digest(&[i])).collect();
//! let leaves: Vec<Hash> = tx_hashes
//!     .iter()
//!     .map(|h| merkle::leaf_hash(HashSuite::Sm3, h.as_bytes()))
//!     .collect();
//! let tx_root = merkle::root_of_leaf_hashes(HashSuite::Sm3, &leaves);
//!
//! let proof = xinlian_sdk::proof::prove_inclusion(HashSuite::Sm3, &tx_hashes, &tx_hashes[3])?;
//! xinlian_sdk::proof::verify_inclusion(HashSuite::Sm3, &tx_root, &tx_hashes[3], &proof)?;
//! // The same proof does not prove another transaction.
//! assert!(xinlian_sdk::proof::verify_inclusion(HashSuite::Sm3, &tx_root, &tx_hashes[2], &proof).is_err());
//! # Ok::<(), xinlian_sdk::SdkError>(())
//! ```

use serde::Serialize;
pub use xinlian_contracts::views::verify::{
    VerifiedAnswer, follow_voter_change, follow_voter_changes, verify_grant, verify_licence_record,
    verify_member, verify_trace_absent, verify_trace_code, verify_verdict,
};
use xinlian_core::api::auth::GrantView;
use xinlian_core::api::licence::{LicenceRecord, Verdict};
use xinlian_core::api::trace::CodeTrace;
use xinlian_core::api::{BlockResponse, MemberResponse};
use xinlian_core::merkle::{self, InclusionProof};
pub use xinlian_core::proof::{ProofBundle, ProofError, ProvenQuery, Trust, VerifiedState};
use xinlian_core::{Hash, HashSuite};

use crate::{Result, SdkError};

/// The proof that `tx` is among `tx_hashes` (a block's transactions, in order).
pub fn prove_inclusion(suite: HashSuite, tx_hashes: &[Hash], tx: &Hash) -> Result<InclusionProof> {
    let index = tx_hashes
        .iter()
        .position(|hash| hash == tx)
        .ok_or_else(|| SdkError::Decode(format!("transaction {tx} is not in this block")))?;
    let leaves: Vec<Hash> = tx_hashes
        .iter()
        .map(|hash| merkle::leaf_hash(suite, hash.as_bytes()))
        .collect();
    Ok(merkle::prove(suite, &leaves, index)?)
}

/// Checks that `proof` leads from `tx` to a header's `tx_root`.
pub fn verify_inclusion(
    suite: HashSuite,
    tx_root: &Hash,
    tx: &Hash,
    proof: &InclusionProof,
) -> Result<()> {
    let leaf = merkle::leaf_hash(suite, tx.as_bytes());
    Ok(proof.verify(suite, &leaf, tx_root)?)
}

/// Checks a block as served: its hash is its header's, the proposer's signature verifies, and
/// its transaction list matches the header's root. Whether the proposer may propose is the
/// chain's registry's business (`GET /v1/gov/nodes`).
pub fn verify_block(suite: HashSuite, block: &BlockResponse) -> Result<()> {
    if block.header.hash(suite) != block.hash {
        return Err(SdkError::Decode(format!(
            "block {} does not hash to its header",
            block.hash
        )));
    }
    block.header.verify_signature(&block.signature)?;
    let hashes: Vec<Hash> = block.txs.iter().map(|tx| tx.hash(suite)).collect();
    if hashes != block.tx_hashes {
        return Err(SdkError::Decode(
            "the block's transaction hashes do not match its transactions".into(),
        ));
    }
    let leaves: Vec<Hash> = hashes
        .iter()
        .map(|hash| merkle::leaf_hash(suite, hash.as_bytes()))
        .collect();
    if merkle::root_of_leaf_hashes(suite, &leaves) != block.header.tx_root {
        return Err(SdkError::Decode(
            "the block's transactions do not match its header's root".into(),
        ));
    }
    Ok(())
}

fn as_json<T: Serialize>(v: VerifiedAnswer<T>) -> VerifiedAnswer<serde_json::Value> {
    v.map(|answer| serde_json::to_value(&answer).unwrap_or_default())
}

/// Checks any proven answer as it came over HTTP (a saved response): which kind it is comes from
/// its bundle's query. Returns the answer derived from the proven state, as JSON.
pub fn verify_answer(
    answer: &serde_json::Value,
    trust: &Trust,
) -> std::result::Result<VerifiedAnswer<serde_json::Value>, ProofError> {
    let kind = answer
        .get("proof")
        .and_then(|p| p.get("query"))
        .and_then(|q| q.get("kind"))
        .and_then(serde_json::Value::as_str)
        .ok_or(ProofError::NoBundle)?;
    let undecodable = |e: serde_json::Error| ProofError::Undecodable(format!("the answer: {e}"));
    match kind {
        "licence" => {
            let record: LicenceRecord =
                serde_json::from_value(answer.clone()).map_err(undecodable)?;
            verify_licence_record(&record, trust).map(as_json)
        }
        "licence_verdict" => {
            let verdict: Verdict = serde_json::from_value(answer.clone()).map_err(undecodable)?;
            verify_verdict(&verdict, trust).map(as_json)
        }
        "trace_code" => {
            let trace: CodeTrace = serde_json::from_value(answer.clone()).map_err(undecodable)?;
            verify_trace_code(&trace, trust).map(as_json)
        }
        "grant" => {
            let view: GrantView = serde_json::from_value(answer.clone()).map_err(undecodable)?;
            verify_grant(&view, trust).map(as_json)
        }
        "member" => {
            let member: MemberResponse =
                serde_json::from_value(answer.clone()).map_err(undecodable)?;
            verify_member(&member, trust).map(as_json)
        }
        other => Err(ProofError::Undecodable(format!(
            "no verifier for answers of kind {other:?}"
        ))),
    }
}

impl crate::Client {
    /// `GET /v1/gov/voter-changes`: follows the changes of the voters after `trust`'s as this
    /// node serves them, checking each against the voters before it (see
    /// [`follow_voter_changes`]); with `below`, only those made by blocks below that height
    /// (the voters of an older block). Ends, with the voters reached, where the node can prove no
    /// further (a change whose certificate has not formed there yet). The node is not trusted:
    /// a change it forged fails, and
    /// one it withholds leaves the client trusting the voters before it, so an answer it then
    /// accepts still carries a quorum of signatures of voters the consortium admitted.
    pub async fn follow_voter_changes(&self, trust: &Trust, below: Option<u64>) -> Result<Trust> {
        let mut trust = trust.clone();
        loop {
            let after = trust.since.saturating_sub(1);
            let page: xinlian_core::api::VoterChangesResponse = match self
                .get(&format!("/v1/gov/voter-changes?after={after}"))
                .await
            {
                Ok(page) => page,
                // The next change's certificate has not formed at this node yet, or the node is
                // behind the voters already followed: the changes it can prove end here.
                Err(crate::SdkError::Node { code, .. })
                    if code == "certificate_pending" || code == "block_not_found" =>
                {
                    return Ok(trust);
                }
                Err(e) => return Err(e),
            };
            let served = page.changes.len();
            let wanted: Vec<_> = page
                .changes
                .into_iter()
                .take_while(|change| below.is_none_or(|below| change.height < below))
                .collect();
            let done = wanted.is_empty() || wanted.len() < served || page.next_after.is_none();
            trust = follow_voter_changes(&trust, &wanted)?;
            if done {
                return Ok(trust);
            }
        }
    }
}
