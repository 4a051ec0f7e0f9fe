//! Offline checks of what a node served.
//!
//! - **Proven answers** (`?proof=true`): [`verify_licence_record`], [`verify_verdict`],
//!   [`verify_trace_code`], [`verify_grant`], [`verify_member`] and, for
//!   any saved response, [`verify_answer`] check the bundle against a [`Trust`] made from the
//!   genesis (the commit certificate's quorum of voters, the header, every entry's state proof)
//!   and derive the answer again from the proven entries alone; the node's answer must be that
//!   one. Nothing of the node that served it is trusted.
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
use xinlian_contracts::views::ProvenReader;
use xinlian_contracts::views::licence::LicenceReader;
use xinlian_contracts::{ExecError, StateReader};
use xinlian_core::api::auth::GrantView;
use xinlian_core::api::licence::{LicenceRecord, Verdict, VerifyRequest};
use xinlian_core::api::trace::CodeTrace;
use xinlian_core::api::{BlockResponse, MemberResponse};
use xinlian_core::calendar::china_date;
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

/// An answer checked against the consortium's signatures, and the block it holds as of.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedAnswer<T> {
    /// The answer, as derived again from the proven state (the same as the node's).
    pub answer: T,
    /// The certified block's height.
    pub height: u64,
    /// Its hash.
    pub block_hash: Hash,
    /// Its time (milliseconds since the Unix epoch): the answer holds as of then.
    pub block_time_ms: u64,
    /// How many voters (departments' nodes) signed its certificate.
    pub signers: usize,
    /// How many voters there are.
    pub voters: usize,
    /// How many state entries were proved.
    pub entries: usize,
}

fn verified<T>(answer: T, state: &VerifiedState) -> VerifiedAnswer<T> {
    VerifiedAnswer {
        answer,
        height: state.height,
        block_hash: state.block_hash,
        block_time_ms: state.timestamp_ms,
        signers: state.signers,
        voters: state.voters,
        entries: state.len(),
    }
}

/// The top-level fields in which two answers differ, to say what a node altered.
fn differing_fields<T: Serialize>(served: &T, derived: &T) -> String {
    let (served, derived) = (
        serde_json::to_value(served).unwrap_or_default(),
        serde_json::to_value(derived).unwrap_or_default(),
    );
    match (served.as_object(), derived.as_object()) {
        (Some(served), Some(derived)) => {
            let keys: std::collections::BTreeSet<&String> =
                served.keys().chain(derived.keys()).collect();
            let differing: Vec<&str> = keys
                .into_iter()
                .filter(|key| served.get(*key) != derived.get(*key))
                .map(String::as_str)
                .collect();
            format!("field(s) {}", differing.join(", "))
        }
        _ => "the whole answer".into(),
    }
}

/// Checks `bundle` against `trust`, derives the answer again from its proven entries with
/// `derive` (given the block's day, China time) and requires it to be `served` (its own proof
/// field emptied).
fn verify_with<T: PartialEq + Serialize>(
    served: T,
    bundle: &ProofBundle,
    trust: &Trust,
    derive: impl FnOnce(&dyn StateReader, u32) -> std::result::Result<Option<T>, ExecError>,
) -> std::result::Result<VerifiedAnswer<T>, ProofError> {
    let state = bundle.verify(trust)?;
    let reader = ProvenReader::new(&state);
    let derived = derive(&reader, china_date(state.timestamp_ms));
    let derived = reader.finish(derived)?.ok_or_else(|| {
        ProofError::AnswerMismatch("the proven state holds nothing to answer with".into())
    })?;
    if derived != served {
        return Err(ProofError::AnswerMismatch(differing_fields(
            &served, &derived,
        )));
    }
    Ok(verified(derived, &state))
}

/// Checks a licence record served with `?proof=true`: the bundle against `trust`, then the
/// record derived again from its proven entries (status as of the block's day, China time) must
/// be the one served.
pub fn verify_licence_record(
    record: &LicenceRecord,
    trust: &Trust,
) -> std::result::Result<VerifiedAnswer<LicenceRecord>, ProofError> {
    let bundle = record.proof.as_deref().ok_or(ProofError::NoBundle)?;
    let id = match &bundle.query {
        ProvenQuery::Licence { id } if *id == record.licence.id => id,
        other => return Err(query_mismatch(other, &record.licence.id.to_string())),
    };
    let served = LicenceRecord {
        proof: None,
        ..record.clone()
    };
    verify_with(served, bundle, trust, |state, day| {
        LicenceReader::new(state).record(id, day)
    })
}

/// Checks a verdict served with `?proof=true` (the window's verify call), as
/// [`verify_licence_record`] checks a record: an unknown licence's verdict is proved by the
/// licence's absence.
pub fn verify_verdict(
    verdict: &Verdict,
    trust: &Trust,
) -> std::result::Result<VerifiedAnswer<Verdict>, ProofError> {
    let bundle = verdict.proof.as_deref().ok_or(ProofError::NoBundle)?;
    let request = match &bundle.query {
        ProvenQuery::LicenceVerdict {
            id,
            document_digest,
        } if *id == verdict.id => VerifyRequest {
            id: id.clone(),
            document_digest: *document_digest,
            window: None,
        },
        other => return Err(query_mismatch(other, &verdict.id.to_string())),
    };
    let served = Verdict {
        proof: None,
        ..verdict.clone()
    };
    verify_with(served, bundle, trust, |state, day| {
        LicenceReader::new(state).verify(&request, day).map(Some)
    })
}

/// Checks a trace code's answer served with `?proof=true`: its lineage, hops, holder and status
/// derived again from the proven lots, events and holder lists.
pub fn verify_trace_code(
    trace: &CodeTrace,
    trust: &Trust,
) -> std::result::Result<VerifiedAnswer<CodeTrace>, ProofError> {
    let bundle = trace.proof.as_deref().ok_or(ProofError::NoBundle)?;
    let code = match &bundle.query {
        ProvenQuery::TraceCode { code } if *code == trace.code => *code,
        other => return Err(query_mismatch(other, &trace.code.to_string())),
    };
    let served = CodeTrace {
        proof: None,
        ..trace.clone()
    };
    verify_with(served, bundle, trust, |state, _| {
        xinlian_contracts::views::trace::CodeReader::new(state).code(code)
    })
}

/// Checks a page of a grant's uses served with `?proof=true` (the grantor's, grantee's or an
/// overseer's signed query): the grant with its count of uses, and each use of the page, derived
/// again from the proven entries, so a node cannot hide a use inside the page's range, and the
/// count says how many there are in all.
pub fn verify_grant(
    view: &GrantView,
    trust: &Trust,
) -> std::result::Result<VerifiedAnswer<GrantView>, ProofError> {
    let bundle = view.proof.as_deref().ok_or(ProofError::NoBundle)?;
    let (id, from, limit) = match &bundle.query {
        ProvenQuery::Grant { id, from, limit } if *id == view.grant.id => (*id, *from, *limit),
        other => return Err(query_mismatch(other, &view.grant.id.to_string())),
    };
    let served = GrantView {
        proof: None,
        ..view.clone()
    };
    verify_with(served, bundle, trust, |state, _| {
        xinlian_contracts::views::auth::grant_page(state, &id, from, limit)
    })
}

/// Checks a member's key and role served with `?proof=true`.
pub fn verify_member(
    member: &MemberResponse,
    trust: &Trust,
) -> std::result::Result<VerifiedAnswer<MemberResponse>, ProofError> {
    let bundle = member.proof.as_deref().ok_or(ProofError::NoBundle)?;
    let key = match &bundle.query {
        ProvenQuery::Member { public_key } if *public_key == member.public_key => public_key,
        other => return Err(query_mismatch(other, &member.public_key.to_string())),
    };
    let served = MemberResponse {
        proof: None,
        ..member.clone()
    };
    verify_with(served, bundle, trust, |state, _| {
        xinlian_contracts::views::member(state, trust.suite, key)
    })
}

fn query_mismatch(query: &ProvenQuery, answer: &str) -> ProofError {
    ProofError::QueryMismatch {
        bundle: serde_json::to_string(query).unwrap_or_default(),
        answer: answer.to_string(),
    }
}

fn as_json<T: Serialize>(v: VerifiedAnswer<T>) -> VerifiedAnswer<serde_json::Value> {
    VerifiedAnswer {
        answer: serde_json::to_value(&v.answer).unwrap_or_default(),
        height: v.height,
        block_hash: v.block_hash,
        block_time_ms: v.block_time_ms,
        signers: v.signers,
        voters: v.voters,
        entries: v.entries,
    }
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
