//! Authorisation queries over HTTP. Each reveals a person's grants or uses, so each is a signed
//! request (see [`super::signed`]): by the person, by a member of the department concerned, or by
//! an organisation with the audit or regulator role.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::{Extension, Json};
use serde::Deserialize;
use xinlian_contracts::Overlay;
use xinlian_contracts::system::{self, Member};
use xinlian_core::Hash;
use xinlian_core::api::auth::{GrantView, GrantsResponse, ResolveRequest, UsageReport};
use xinlian_core::auth::{Grantee, is_use_code, use_code_digest};
use xinlian_core::crypto::PublicKey;
use xinlian_core::ids::Uscc;
use xinlian_core::proof::ProvenQuery;
use xinlian_core::types::OrgRole;

use super::paging::{next_link, page};
use super::proof;
use super::signed::Guard;
use super::{ApiError, ApiPath, ApiQuery, blocking};
use crate::auth::{AuthReader, GRANTS_PAGE_MAX, USES_PAGE_MAX};
use crate::chain::Chain;

fn forbidden(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "not_allowed",
        format!("the signer may not read {what}"),
    )
}

/// Whether the signer's organisation audits or regulates.
fn oversees(chain: &Chain, member: &Member) -> Result<bool, ApiError> {
    let state = Overlay::new(chain.storage());
    let has = |role| {
        system::org_has_role(&state, &member.org, role)
            .map_err(|e| ApiError::internal(e.to_string()))
    };
    Ok(has(OrgRole::Audit)? || has(OrgRole::Regulator)?)
}

/// Filters of `GET /v1/auth/grants`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GrantsQuery {
    /// The grantor's public key.
    grantor: String,
    /// The cursor of the page before (from `next`).
    after: Option<String>,
    /// Grants per page (1 to 1,000; 100 if absent).
    limit: Option<usize>,
}

/// Where a page starts and how long it is.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PageQuery {
    /// The cursor of the page before (from `uses_next`).
    after: Option<String>,
    /// Items per page (1 to 1,000; 1,000 if absent).
    limit: Option<usize>,
    /// Also return the proof bundle of the page (`docs/formats.md`).
    #[serde(default)]
    proof: bool,
}

/// The grants a holder has given and every use of them (signed by the holder, an auditor or a
/// regulator).
pub(super) async fn given(
    State(chain): State<Arc<Chain>>,
    Extension(guard): Extension<Arc<Guard>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<GrantsQuery>,
) -> Result<Json<GrantsResponse>, ApiError> {
    let grantor: PublicKey = query
        .grantor
        .parse()
        .map_err(|e: xinlian_core::Error| ApiError::bad_request("invalid_query", e.to_string()))?;
    let signer = guard.verify(&chain, &method, &uri, &headers, &[])?;
    if signer.public_key != grantor && !oversees(&chain, &signer)? {
        return Err(forbidden("another person's grants"));
    }
    let (cursor, limit) = page(query.after.as_ref(), query.limit, 100, GRANTS_PAGE_MAX)?;
    let grants = blocking(&chain, move |c| {
        Ok(AuthReader::new(c.storage(), c.suite()).given_by(&grantor, cursor.as_deref(), limit)?)
    })
    .await?;
    Ok(Json(GrantsResponse {
        grants: grants.items,
        next: next_link(&uri, grants.next),
    }))
}

/// One grant and its uses (signed by its grantor, a member of the grantee department, an
/// auditor or a regulator).
pub(super) async fn grant(
    State(chain): State<Arc<Chain>>,
    Extension(guard): Extension<Arc<Guard>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<GrantView>, ApiError> {
    let id = Hash::from_hex(&id)
        .map_err(|e| ApiError::bad_request("invalid_grant_id", e.to_string()))?;
    let (cursor, limit) = page(
        query.after.as_ref(),
        query.limit,
        USES_PAGE_MAX,
        USES_PAGE_MAX,
    )?;
    let signer = guard.verify(&chain, &method, &uri, &headers, &[])?;
    let not_found = || ApiError::not_found("grant_not_found", format!("no grant {id}"));
    let allowed = |view: &GrantView| -> Result<(), ApiError> {
        let grantee = match &view.grant.grantee {
            Grantee::Org(org) => *org == signer.org,
            Grantee::Member(key) => *key == signer.public_key,
        };
        if view.grant.grantor != signer.public_key && !grantee && !oversees(&chain, &signer)? {
            return Err(forbidden("this grant"));
        }
        Ok(())
    };
    if !query.proof {
        let view = blocking(&chain, move |c| {
            Ok(AuthReader::new(c.storage(), c.suite()).view(&id, cursor.as_deref(), limit)?)
        })
        .await?
        .ok_or_else(not_found)?;
        allowed(&view)?;
        return Ok(Json(view));
    }
    // A page by sequence number: the cursor is the last use's, as `uses_next` gives it.
    let from = match cursor.as_deref() {
        None => 0,
        Some(cursor) => <[u8; 4]>::try_from(cursor)
            .map(|seq| u32::from_be_bytes(seq).saturating_add(1))
            .map_err(|_| {
                ApiError::bad_request("invalid_cursor", "not a cursor of this grant's uses".into())
            })?,
    };
    let limit = u32::try_from(limit).unwrap_or(u32::MAX);
    let proving = proof::derive(&chain, move |state, _| {
        Ok(xinlian_contracts::views::auth::grant_page(
            state, &id, from, limit,
        )?)
    })
    .await?;
    allowed(proving.answer.as_ref().ok_or_else(not_found)?)?;
    let (view, bundle) = proving
        .certify(&chain, ProvenQuery::Grant { id, from, limit })
        .await?;
    let mut view = view.ok_or_else(not_found)?;
    view.proof = Some(Box::new(bundle));
    Ok(Json(view))
}

/// Filters of the department queries.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OrgQuery {
    /// The department.
    org: String,
    /// First day, `YYYY-MM-DD` (reports).
    from: Option<String>,
    /// Last day, `YYYY-MM-DD` (reports).
    to: Option<String>,
    /// The cursor of the page before (listings).
    after: Option<String>,
    /// Grants per page (listings; 1 to 1,000, 100 if absent).
    limit: Option<usize>,
}

fn department(chain: &Chain, signer: &Member, org: &str) -> Result<Uscc, ApiError> {
    let org: Uscc = org
        .parse()
        .map_err(|e: xinlian_core::Error| ApiError::bad_request("invalid_query", e.to_string()))?;
    if signer.org != org && !oversees(chain, signer)? {
        return Err(forbidden("another department's grants"));
    }
    Ok(org)
}

/// The grants a department holds (signed by one of its members, an auditor or a regulator).
pub(super) async fn held(
    State(chain): State<Arc<Chain>>,
    Extension(guard): Extension<Arc<Guard>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<OrgQuery>,
) -> Result<Json<GrantsResponse>, ApiError> {
    let signer = guard.verify(&chain, &method, &uri, &headers, &[])?;
    let org = department(&chain, &signer, &query.org)?;
    let (cursor, limit) = page(query.after.as_ref(), query.limit, 100, GRANTS_PAGE_MAX)?;
    let grants = blocking(&chain, move |c| {
        Ok(AuthReader::new(c.storage(), c.suite()).held_by(&org, cursor.as_deref(), limit)?)
    })
    .await?;
    Ok(Json(GrantsResponse {
        grants: grants.items,
        next: next_link(&uri, grants.next),
    }))
}

/// A department's usage report for a period: counts by matter and licence type.
pub(super) async fn report(
    State(chain): State<Arc<Chain>>,
    Extension(guard): Extension<Arc<Guard>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<OrgQuery>,
) -> Result<Json<UsageReport>, ApiError> {
    let signer = guard.verify(&chain, &method, &uri, &headers, &[])?;
    let org = department(&chain, &signer, &query.org)?;
    let from = super::trace::date("from", query.from.as_ref())?.unwrap_or(0);
    let to = super::trace::date("to", query.to.as_ref())?.unwrap_or(u32::MAX - 1);
    let shown = (query.from.unwrap_or_default(), query.to.unwrap_or_default());
    let report = blocking(&chain, move |c| {
        Ok(AuthReader::new(c.storage(), c.suite()).report(&org, from, to, shown)?)
    })
    .await?;
    Ok(Json(report))
}

/// The grant behind a use code the holder told the window (signed by a member of the window's
/// department). Wrong codes are counted, and a key with too many is refused for a while.
pub(super) async fn resolve(
    State(chain): State<Arc<Chain>>,
    Extension(guard): Extension<Arc<Guard>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<GrantView>, ApiError> {
    let signer = guard.verify(&chain, &method, &uri, &headers, &body)?;
    let request: ResolveRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request("invalid_field", e.to_string()))?;
    let key = signer.public_key.to_string();
    let org = signer.org.to_string();
    guard.take_attempt(&chain, &key, &org)?;
    if !is_use_code(&request.code) {
        chain
            .metrics()
            .count_signed_query_refused("use_code_not_found");
        return Err(ApiError::bad_request(
            "invalid_use_code",
            "a use code is 8 digits".into(),
        ));
    }
    let suite = chain.suite();
    let digests = [
        use_code_digest(suite, &Grantee::Org(signer.org.clone()), &request.code),
        use_code_digest(
            suite,
            &Grantee::Member(signer.public_key.clone()),
            &request.code,
        ),
    ];
    let view = blocking(&chain, move |c| {
        Ok(AuthReader::new(c.storage(), c.suite()).resolve(&digests)?)
    })
    .await?;
    match view {
        Some(view) => {
            guard.refund(&key, &org);
            Ok(Json(view))
        }
        None => {
            chain
                .metrics()
                .count_signed_query_refused("use_code_not_found");
            Err(ApiError::not_found(
                "use_code_not_found",
                "no grant for this use code and department".into(),
            ))
        }
    }
}
