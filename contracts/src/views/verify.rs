//! Checking an answer against its proof bundle: the bundle against a [`Trust`] (the commit
//! certificate's quorum of voters, the header, every entry's state proof), then the answer
//! derived again from the proven entries alone, which must be the one served. The SDK
//! (`xinlian_sdk::proof`) offers these to clients; the node's own pages run them on the answers
//! they show, so a store altered under the node is caught there too.

use serde::Serialize;
use xinlian_core::Hash;
use xinlian_core::api::auth::GrantView;
use xinlian_core::api::licence::{LicenceRecord, Verdict, VerifyRequest};
use xinlian_core::api::trace::CodeTrace;
use xinlian_core::api::{MemberResponse, VoterChange};
use xinlian_core::calendar::china_date;
use xinlian_core::certificate::VoterSet;
use xinlian_core::proof::{ProofBundle, ProofError, ProvenQuery, Trust, VerifiedState};
use xinlian_core::trace::TraceCode;

use super::ProvenReader;
use super::licence::LicenceReader;
use crate::{ExecError, StateReader};

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

impl<T> VerifiedAnswer<T> {
    /// The same verification of another form of the answer.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> VerifiedAnswer<U> {
        VerifiedAnswer {
            answer: f(self.answer),
            height: self.height,
            block_hash: self.block_hash,
            block_time_ms: self.block_time_ms,
            signers: self.signers,
            voters: self.voters,
            entries: self.entries,
        }
    }
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
        super::trace::CodeReader::new(state).code(code)
    })
}

/// Checks that the trace code `code` is not on chain: `bundle` (as a node proves the answer it
/// found absent, query `trace_code`) must give no answer for it.
pub fn verify_trace_absent(
    code: TraceCode,
    bundle: &ProofBundle,
    trust: &Trust,
) -> Result<VerifiedAnswer<()>, ProofError> {
    if bundle.query != (ProvenQuery::TraceCode { code }) {
        return Err(query_mismatch(&bundle.query, &code.to_string()));
    }
    let state = bundle.verify(trust)?;
    let reader = ProvenReader::new(&state);
    let derived = super::trace::CodeReader::new(&reader).code(code);
    match reader.finish(derived)? {
        None => Ok(verified((), &state)),
        Some(_) => Err(ProofError::AnswerMismatch(format!(
            "the proven state holds trace code {code}, which the node said is not on chain"
        ))),
    }
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
        super::auth::grant_page(state, &id, from, limit)
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
        super::member(state, trust.suite, key)
    })
}

fn query_mismatch(query: &ProvenQuery, answer: &str) -> ProofError {
    ProofError::QueryMismatch {
        bundle: serde_json::to_string(query).unwrap_or_default(),
        answer: answer.to_string(),
    }
}

/// Follows one change of the voters, as `GET /v1/gov/voter-changes` serves it: the registry
/// proved under the block that changed it, certified by the voters `trust` holds (a block is
/// certified by the voters it was committed under, so the change block by the old ones). The
/// voters the change names must be the ones its proven registry gives. Returns the trust in the
/// new voters, from the block after the change. A change older than `trust` is refused, so a node
/// cannot lead a client back to voters that were since removed.
pub fn follow_voter_change(trust: &Trust, change: &VoterChange) -> Result<Trust, ProofError> {
    let bundle = &change.proof;
    if bundle.query != ProvenQuery::Voters || bundle.header.height != change.height {
        return Err(query_mismatch(
            &bundle.query,
            &format!("the voters after block {}", change.height),
        ));
    }
    if change.height < trust.since {
        return Err(ProofError::StaleVoterChange {
            height: change.height,
            since: trust.since,
        });
    }
    let state = bundle.verify(trust)?;
    let reader = ProvenReader::new(&state);
    let derived = super::voters(&reader);
    let voters = reader.finish(derived)?;
    let named = VoterSet::new(
        change
            .voters
            .iter()
            .map(|v| (v.node_id.clone(), v.public_key.clone())),
    );
    if named != voters {
        return Err(ProofError::AnswerMismatch(
            "the voters named are not the ones the proven registry gives".into(),
        ));
    }
    if voters.is_empty() {
        return Err(ProofError::Undecodable(
            "the proven registry leaves no voter".into(),
        ));
    }
    Ok(Trust {
        chain_id: trust.chain_id.clone(),
        suite: trust.suite,
        voters,
        since: change.height + 1,
    })
}

/// Follows `changes` in order (oldest first) from `trust`: see [`follow_voter_change`].
pub fn follow_voter_changes(trust: &Trust, changes: &[VoterChange]) -> Result<Trust, ProofError> {
    changes.iter().try_fold(trust.clone(), |trust, change| {
        follow_voter_change(&trust, change)
    })
}
