//! Governance reads: the node registry, the voters and their changes, and proposals.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use xinlian_contracts::{Overlay, governance};
use xinlian_core::Hash;
use xinlian_core::api::{
    GovNodesResponse, ProposalStatus, ProposalView, ProposalsResponse, VoterChangesResponse,
    VoterEntry, VotersResponse,
};
use xinlian_core::types::Proposal;

use super::paging::{next_link, page};
use super::{ApiError, ApiPath, ApiQuery, blocking};
use crate::chain::Chain;

/// Most proposals one listing returns.
pub(super) const PROPOSALS_LIMIT_MAX: usize = 500;

/// Filters of `GET /v1/gov/proposals`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct ProposalsQuery {
    /// Only proposals in this state (`open`, `executed`, `expired`); all when absent.
    status: Option<ProposalStatus>,
    /// Most proposals to return (1 to 500, default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<usize>,
    /// The cursor of the page before (use the `next` link as given).
    after: Option<String>,
}

/// The node registry and Raft's members as this node sees them.
#[utoipa::path(get, path = "/v1/gov/nodes", tag = "governance",
    responses((status = 200, description = "Registry and Raft members", body = GovNodesResponse)))]
pub(super) async fn nodes(State(chain): State<Arc<Chain>>) -> Json<GovNodesResponse> {
    let membership = chain.membership();
    Json(GovNodesResponse {
        nodes: membership.nodes().to_vec(),
        raft_voters: membership.raft_voters().to_vec(),
        raft_learners: membership.raft_learners().to_vec(),
    })
}

/// Height of `GET /v1/gov/voters`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct VotersQuery {
    /// The height (default: the head); at most the head.
    #[param(minimum = 0)]
    height: Option<u64>,
}

/// The voters in force at a height, whose votes certify its block. As this node recorded them:
/// a client that trusts no node follows the governance blocks' certificates from genesis.
#[utoipa::path(get, path = "/v1/gov/voters", tag = "governance",
    params(VotersQuery),
    responses(
        (status = 200, description = "The voters at the height", body = VotersResponse),
        (status = 400, description = "Not a height", body = xinlian_core::api::ErrorResponse),
        (status = 404, description = "Above the head: the voters of a block not applied yet are not known", body = xinlian_core::api::ErrorResponse),
    ))]
pub(super) async fn voters(
    State(chain): State<Arc<Chain>>,
    ApiQuery(query): ApiQuery<VotersQuery>,
) -> Result<Json<VotersResponse>, ApiError> {
    let head = chain.head().height;
    let height = query.height.unwrap_or(head);
    if height > head {
        return Err(ApiError::not_found(
            "block_not_found",
            format!("no block at height {height} yet (the head is {head})"),
        ));
    }
    let (since_height, set) = chain.voters_since(height);
    Ok(Json(VotersResponse {
        height,
        since_height,
        quorum: set.quorum(),
        voters: set
            .iter()
            .map(|(node_id, public_key)| VoterEntry {
                node_id: node_id.clone(),
                public_key: public_key.clone(),
            })
            .collect(),
    }))
}

/// `GET /v1/gov/voter-changes`: which changes.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct VoterChangesQuery {
    /// Only changes made by blocks above this height (default 0: every change since genesis).
    #[param(minimum = 0)]
    after: Option<u64>,
}

/// Changes of the voters in one answer: governance changes them a few times a year.
const VOTER_CHANGES_PAGE: usize = 64;

/// Every change of the voters after a height, oldest first, each with the proof of the new
/// voters: the node registry proved under the block that changed it, whose certificate the
/// voters before the change signed. A client that trusts only the genesis follows them in order
/// (`xinlian_sdk::proof::follow_voter_changes`) to the voters of today, trusting no node.
#[utoipa::path(get, path = "/v1/gov/voter-changes", tag = "governance",
    params(VoterChangesQuery),
    responses(
        (status = 200, description = "The changes, oldest first; next_after when there are more", body = VoterChangesResponse),
        (status = 400, description = "Not a height", body = xinlian_core::api::ErrorResponse),
        (status = 404, description = "Above the head (block_not_found)", body = xinlian_core::api::ErrorResponse),
        (status = 503, description = "The next change's block has no certificate on this node yet (certificate_pending)", body = xinlian_core::api::ErrorResponse),
    ))]
pub(super) async fn voter_changes(
    State(chain): State<Arc<Chain>>,
    ApiQuery(query): ApiQuery<VoterChangesQuery>,
) -> Result<Json<VoterChangesResponse>, ApiError> {
    let after = query.after.unwrap_or(0);
    let head = chain.head().height;
    if after > head {
        return Err(ApiError::not_found(
            "block_not_found",
            format!("no block at height {after} yet (the head is {head})"),
        ));
    }
    let (changes, more) = blocking(&chain, move |c| {
        Ok(c.voter_changes(after, VOTER_CHANGES_PAGE)?)
    })
    .await?;
    if changes.is_empty() && more {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "certificate_pending",
            format!(
                "the next change of the voters after block {after} has no commit certificate on this node yet; ask again"
            ),
        ));
    }
    let next_after = more.then(|| changes.last().map_or(after, |c| c.height));
    Ok(Json(VoterChangesResponse {
        changes,
        next_after,
    }))
}

/// Proposals, newest first.
#[utoipa::path(get, path = "/v1/gov/proposals", tag = "governance",
    params(ProposalsQuery),
    responses(
        (status = 200, description = "Proposals, newest first", body = ProposalsResponse),
        (status = 400, description = "Bad filter", body = xinlian_core::api::ErrorResponse),
    ))]
pub(super) async fn proposals(
    State(chain): State<Arc<Chain>>,
    uri: axum::http::Uri,
    ApiQuery(query): ApiQuery<ProposalsQuery>,
) -> Result<Json<ProposalsResponse>, ApiError> {
    let (cursor, limit) = page(query.after.as_ref(), query.limit, 50, PROPOSALS_LIMIT_MAX)?;
    let (proposals, next) = blocking(&chain, move |c| {
        // The listing index is ordered by height; proposals are few (a consortium makes a
        // handful a month), so reading them all and filtering is cheap. Newest first: a page
        // goes on below the cursor, the index key of the last proposal of the page before.
        let keys = c
            .storage()
            .index_keys(governance::PROPOSALS_INDEX_PREFIX, usize::MAX)?;
        let mut out = Vec::new();
        let older = keys.iter().rev().filter(|key| {
            cursor
                .as_ref()
                .is_none_or(|c| key.as_slice() < c.as_slice())
        });
        let mut older = older.peekable();
        while let Some(key) = older.next() {
            let Some(id) = key.get(8..).and_then(|b| <[u8; 32]>::try_from(b).ok()) else {
                continue;
            };
            let Some(view) = view_of(c, &Hash(id))? else {
                continue;
            };
            if query.status.is_none_or(|s| s == view.status) {
                out.push(view);
            }
            if out.len() >= limit {
                return Ok((out, older.peek().map(|_| key.clone())));
            }
        }
        Ok((out, None))
    })
    .await?;
    Ok(Json(ProposalsResponse {
        proposals,
        next: next_link(&uri, next),
    }))
}

/// One proposal.
#[utoipa::path(get, path = "/v1/gov/proposals/{id}", tag = "governance",
    params(("id" = String, Path, description = "Proposal id (the proposing transaction's hash)")),
    responses(
        (status = 200, description = "The proposal", body = ProposalView),
        (status = 400, description = "Malformed id", body = xinlian_core::api::ErrorResponse),
        (status = 404, description = "No such proposal", body = xinlian_core::api::ErrorResponse),
    ))]
pub(super) async fn proposal(
    State(chain): State<Arc<Chain>>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ProposalView>, ApiError> {
    let id = Hash::from_hex(&id).map_err(|e| ApiError::bad_request("invalid_id", e.to_string()))?;
    let view = blocking(&chain, move |c| Ok(view_of(c, &id)?)).await?;
    view.map(Json)
        .ok_or_else(|| ApiError::not_found("proposal_not_found", format!("no proposal {id}")))
}

fn view_of(chain: &Chain, id: &Hash) -> crate::Result<Option<ProposalView>> {
    let state = Overlay::new(chain.storage());
    let Some(proposal) = governance::proposal(&state, id)? else {
        return Ok(None);
    };
    let needed = governance::approvals_needed(governance::electorate(&state)?);
    let status = status_of(&proposal, chain.head().height + 1);
    Ok(Some(ProposalView {
        proposal,
        status,
        approvals_needed: needed,
    }))
}

/// Where a proposal stands for a transaction in block `next_height`.
fn status_of(proposal: &Proposal, next_height: u64) -> ProposalStatus {
    if proposal.executed_height.is_some() {
        ProposalStatus::Executed
    } else if next_height > proposal.expires_at_height {
        ProposalStatus::Expired
    } else {
        ProposalStatus::Open
    }
}
