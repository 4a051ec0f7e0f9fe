//! `?proof=true`: a domain answer with the proof bundle of the state it was derived from.
//!
//! The answer is derived on one RocksDB snapshot, through a reader that remembers every entry
//! the view reads; each is then proved (present or absent) under that snapshot's head, and the
//! bundle waits for the head's commit certificate, which the voters' signatures complete within
//! moments of the block.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use serde::Deserialize;
use xinlian_contracts::StateReader;
use xinlian_contracts::views::verify::VerifiedAnswer;
use xinlian_core::proof::{
    BUNDLE_ENTRIES_MAX, ProofBundle, ProofError, ProvenEntry, ProvenQuery, Trust,
};
use xinlian_core::types::BlockHeader;

use super::{ApiError, blocking};
use crate::chain::Chain;

/// How long a proven answer waits for its block's certificate.
const CERTIFICATE_WAIT: Duration = Duration::from_secs(3);
/// How often it looks.
const CERTIFICATE_POLL: Duration = Duration::from_millis(20);

/// `?proof=true` on a domain read.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct ProofParam {
    /// Also return the proof bundle: the state entries the answer was derived from, their
    /// proofs, the block header and its commit certificate. The answer then holds as of that
    /// block.
    #[serde(default)]
    pub proof: bool,
}

/// An answer with its proved entries, waiting for its block's certificate.
pub(super) struct Proving<T> {
    pub answer: T,
    header: BlockHeader,
    entries: Vec<ProvenEntry>,
}

/// Derives an answer on one snapshot of state as of its head (`derive` gets the state and the
/// head block's time) and proves every entry it read.
pub(super) async fn derive<T: Send + 'static>(
    chain: &Arc<Chain>,
    derive: impl FnOnce(&dyn StateReader, u64) -> Result<T, ApiError> + Send + 'static,
) -> Result<Proving<T>, ApiError> {
    blocking(chain, move |c| {
        let suite = c.suite();
        let view = c.storage().state_view()?;
        let height = view.head().height;
        if height == 0 {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "no_certified_block",
                "the chain has no block yet to prove an answer against".into(),
            ));
        }
        let (answer, read) = view.record(|state| derive(state, view.head().timestamp_ms));
        let answer = answer?;
        if read.len() > BUNDLE_ENTRIES_MAX {
            // A bundle a verifier would refuse is not sent: say so instead.
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "proof_too_large",
                format!(
                    "this answer is derived from {} state entries, more than a proof bundle carries ({BUNDLE_ENTRIES_MAX}); ask without proof=true, or for a smaller part",
                    read.len()
                ),
            ));
        }
        let header = c
            .storage()
            .block(height)?
            .ok_or_else(|| ApiError::internal(format!("block {height} is missing")))?
            .header;
        let entries = view.prove_all(suite, read)?;
        Ok(Proving {
            answer,
            header,
            entries,
        })
    })
    .await
}

impl<T> Proving<T> {
    /// The bundle for `query`, once this node holds the certificate of the answer's block.
    pub(super) async fn certify(
        self,
        chain: &Arc<Chain>,
        query: ProvenQuery,
    ) -> Result<(T, ProofBundle), ApiError> {
        let height = self.header.height;
        #[allow(clippy::disallowed_methods)] // a bound on waiting, not a measurement
        let deadline = tokio::time::Instant::now() + CERTIFICATE_WAIT;
        let certificate = loop {
            if let Some(certificate) = chain.storage().certificate(height)? {
                break certificate;
            }
            #[allow(clippy::disallowed_methods)] // a bound on waiting, not a measurement
            if tokio::time::Instant::now() >= deadline {
                return Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "certificate_pending",
                    format!(
                        "this node has no commit certificate for block {height} yet (a quorum of the voters has not signed it here); ask again"
                    ),
                ));
            }
            tokio::time::sleep(CERTIFICATE_POLL).await;
        };
        Ok((
            self.answer,
            ProofBundle {
                query,
                header: self.header,
                certificate,
                entries: self.entries,
            },
        ))
    }
}

impl<T> Proving<Option<T>> {
    /// For an answer that may be absent: `None` at once (an absence the handler reports, with
    /// no certificate to wait for), else the answer with its bundle.
    pub(super) async fn certify_found(
        self,
        chain: &Arc<Chain>,
        query: ProvenQuery,
    ) -> Result<Option<(T, ProofBundle)>, ApiError> {
        if self.answer.is_none() {
            return Ok(None);
        }
        let (answer, bundle) = self.certify(chain, query).await?;
        Ok(answer.map(|answer| (answer, bundle)))
    }
}

/// What the trust of a verifier at `height` is on this node: the chain of its genesis and the
/// voters in force there, as this node recorded them when they changed.
pub(super) fn trust_at(chain: &Chain, height: u64) -> Trust {
    let (since, voters) = chain.voters_since(height);
    Trust {
        chain_id: chain.genesis().chain_id.clone(),
        suite: chain.suite(),
        voters,
        since,
    }
}

/// How a page's answer stands against the voters' signatures.
pub(super) enum PageProof<T> {
    /// The answer derived again from entries proven under a certified block.
    Verified(VerifiedAnswer<T>),
    /// No proof could be had now (no certificate yet, no block, an answer too large to prove):
    /// the page shows this node's answer and says it is unverified, and why.
    Unavailable(ApiError),
    /// The proof failed: what this node's store holds is not what the voters certified.
    Failed(ProofError),
}

/// Checks a proven answer for a page as a client would (`xinlian_sdk::proof`): `verify`
/// attaches the bundle and runs the SDK's check against the trust at the bundle's height.
/// A page runs this on its own node's answer, so a store altered under the node, or state that
/// went astray, shows as a failed proof instead of as fact; it cannot, of course, protect a
/// reader from a node whose operator changed its code; for that the reader verifies the bundle
/// (`?proof=true`) with their own copy of the genesis.
pub(super) async fn check_for_page<T: Send + 'static>(
    chain: &Arc<Chain>,
    proven: Result<(T, ProofBundle), ApiError>,
    verify: impl FnOnce(T, ProofBundle, &Trust) -> Result<VerifiedAnswer<T>, ProofError>
    + Send
    + 'static,
) -> PageProof<T> {
    let (answer, bundle) = match proven {
        Ok(proven) => proven,
        Err(unavailable) => return PageProof::Unavailable(unavailable),
    };
    let checked = blocking(chain, move |c| {
        let trust = trust_at(c, bundle.header.height);
        Ok(verify(answer, bundle, &trust))
    })
    .await;
    match checked {
        Ok(Ok(verified)) => PageProof::Verified(verified),
        Ok(Err(failed)) => PageProof::Failed(failed),
        Err(unavailable) => PageProof::Unavailable(unavailable),
    }
}
