//! The HTTP API (axum): JSON under `/v1/`, `/healthz`, `/metrics`, `/openapi.json`.
//!
//! Every failure is `{"error": {"code", "message"}}` with a fitting status, including the ones
//! axum's extractors would otherwise answer in plain text (malformed JSON, wrong types, oversized
//! bodies, bad paths, unknown routes).

mod auth;
mod console;
mod error;
mod events;
mod gov;
mod html;
mod licence;
mod limits;
mod openapi;
mod paging;
mod proof;
mod scan;
mod signed;
mod trace;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use xinlian_core::Hash;
use xinlian_core::api::{
    BlockResponse, NodeMembership, StatusResponse, SubmitTxResponse, TxState, TxStatusResponse,
};
use xinlian_core::types::SignedTransaction;

pub use error::{ApiError, ApiJson, ApiPath, ApiQuery};
pub use limits::Limits;

use crate::chain::{Chain, TxLookup};

/// Builds the router over a running chain (it reads the signed requests accepted before a
/// restart, hence the `Result`).
pub fn router(
    chain: Arc<Chain>,
    body_bytes_max: usize,
    limits: Limits,
    admin: crate::admin::AdminToken,
    fault: crate::fault::FaultSwitch,
    https: bool,
) -> crate::Result<Router> {
    // What it accepted before a restart stays refused as a replay.
    let guard = signed::Guard::restore(chain.storage())?;
    let routes = Router::new()
        .merge(crate::admin::routes(admin, fault))
        .route("/v1/txs", post(submit_tx))
        .route("/v1/txs/{hash}", get(get_tx))
        .route("/v1/blocks/latest", get(latest_block))
        .route("/v1/blocks/{height}", get(get_block))
        .route("/v1/blocks/{height}/certificate", get(block_certificate))
        .route("/v1/status", get(status))
        .route("/v1/events", get(events::events))
        .route("/v1/members/{public_key}", get(member))
        .route("/v1/gov/nodes", get(gov::nodes))
        .route("/v1/gov/voters", get(gov::voters))
        .route("/v1/gov/voter-changes", get(gov::voter_changes))
        .route("/v1/gov/proposals", get(gov::proposals))
        .route("/v1/gov/proposals/{id}", get(gov::proposal))
        .route("/v1/trace/codes/{code}", get(trace::code))
        .route("/v1/trace/codes/{code}/holders", get(trace::holders))
        .route("/v1/trace/lots", get(trace::lots))
        .route("/v1/trace/lots/by-tx/{hash}", get(trace::lot_by_tx))
        .route("/v1/trace/enterprises/{uscc}/stock", get(trace::stock))
        .route("/v1/trace/codes/{code}/qr.svg", get(scan::qr))
        .route("/scan/{code}", get(scan::page))
        .route("/v1/licences/verify", post(licence::verify))
        .route("/v1/licences/verify-qr", post(licence::verify_qr))
        .route("/v1/licences/{id}", get(licence::record))
        .route("/verify/{id}", get(licence::page))
        .route("/v1/auth/grants", get(auth::given))
        .route("/v1/auth/grants/{id}", get(auth::grant))
        .route("/v1/auth/held", get(auth::held))
        .route("/v1/auth/report", get(auth::report))
        .route("/v1/auth/resolve", post(auth::resolve))
        .route("/v1/console/challenge", post(console::challenge))
        .route("/v1/console/login", post(console::login))
        .route("/v1/console/logout", post(console::logout))
        .route("/v1/console/session", get(console::current))
        .route("/v1/console/overview", get(console::overview))
        .route("/v1/console/coldchain", get(console::coldchain))
        .route("/v1/console/lots/{lot}/flow", get(console::flow))
        .route("/v1/console/licences", get(console::licences))
        .route("/v1/console/auth", get(console::auth))
        .route("/v1/console/blocks", get(console::blocks))
        .route("/console", get(console::redirect))
        .route("/console/", get(console::index))
        .route("/console/{file}", get(console::asset))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi::serve))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_bytes_max))
        .layer(axum::Extension(Arc::new(guard)))
        .layer(axum::Extension(events::EventStreams::default()))
        .layer(axum::Extension(Arc::new(
            crate::console::session::Sessions::default(),
        )))
        .layer(axum::Extension(Arc::new(
            crate::console::Verifications::default(),
        )))
        .layer(axum::Extension(console::SecureCookie(https)))
        .layer(axum::middleware::from_fn_with_state(
            limits.clone(),
            limits::time_limit,
        ))
        .layer(axum::Extension(limits.clone()))
        .layer(axum::Extension(scan::Https(https)))
        .with_state(chain);
    // Outermost, so a client over its rate costs the node nothing more.
    Ok(match limits.client_layer() {
        Some(layer) => routes.layer(layer),
        None => routes,
    })
}

/// Runs blocking store work off the async threads.
async fn blocking<T: Send + 'static>(
    chain: &Arc<Chain>,
    work: impl FnOnce(&Chain) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let chain = chain.clone();
    tokio::task::spawn_blocking(move || work(&chain))
        .await
        .map_err(|e| ApiError::internal(format!("worker failed: {e}")))?
}

/// Submit a signed transaction.
#[utoipa::path(post, path = "/v1/txs", tag = "transactions",
    request_body(content = SignedTransaction, description = "A signed transaction, hex byte fields"),
    responses(
        (status = 202, description = "Admitted to the mempool", body = SubmitTxResponse),
        (status = 400, description = "Malformed, bad signature, wrong chain, expired window", body = xinlian_core::api::ErrorResponse),
        (status = 403, description = "Unknown sender or role forbids the call", body = xinlian_core::api::ErrorResponse),
        (status = 409, description = "Already pending or committed", body = xinlian_core::api::ErrorResponse),
        (status = 413, description = "Body too large", body = xinlian_core::api::ErrorResponse),
        (status = 415, description = "Not Content-Type: application/json", body = xinlian_core::api::ErrorResponse),
        (status = 429, description = "The sender's rate or mempool share is used up (Retry-After)", body = xinlian_core::api::ErrorResponse),
        (status = 503, description = "Mempool full", body = xinlian_core::api::ErrorResponse),
    ))]
async fn submit_tx(
    State(chain): State<Arc<Chain>>,
    axum::Extension(limits): axum::Extension<Limits>,
    ApiJson(tx): ApiJson<SignedTransaction>,
) -> Result<impl IntoResponse, ApiError> {
    limits.take_sender(&tx.tx.sender)?;
    // On the admission threads, below consensus in priority (node/src/workers.rs).
    let tx_hash = crate::workers::admit(move || chain.submit_from_client(tx))
        .await
        .ok_or_else(|| ApiError::internal("admission worker failed".to_string()))?
        .map_err(ApiError::from)?;
    Ok((StatusCode::ACCEPTED, Json(SubmitTxResponse { tx_hash })))
}

/// A transaction's status, height and receipt.
#[utoipa::path(get, path = "/v1/txs/{hash}", tag = "transactions",
    params(("hash" = String, Path, description = "Transaction hash, 64 hex digits")),
    responses(
        (status = 200, description = "Pending, committed or rejected", body = TxStatusResponse),
        (status = 400, description = "Malformed hash", body = xinlian_core::api::ErrorResponse),
        (status = 404, description = "Never seen", body = xinlian_core::api::ErrorResponse),
    ))]
async fn get_tx(
    State(chain): State<Arc<Chain>>,
    ApiPath(hash): ApiPath<String>,
) -> Result<Json<TxStatusResponse>, ApiError> {
    let tx_hash =
        Hash::from_hex(&hash).map_err(|e| ApiError::bad_request("invalid_hash", e.to_string()))?;
    let response = blocking(&chain, move |c| {
        let empty = TxStatusResponse {
            tx_hash,
            status: TxState::Pending,
            height: None,
            receipt: None,
            error: None,
            tx: None,
        };
        Ok(match c.lookup_tx(&tx_hash)? {
            TxLookup::Committed(location, receipt) => {
                let block = c.storage().block(location.height)?;
                let tx = block.and_then(|b| b.txs.into_iter().nth(location.index as usize));
                TxStatusResponse {
                    status: TxState::Committed,
                    height: Some(location.height),
                    receipt,
                    tx,
                    ..empty
                }
            }
            TxLookup::Pending => empty,
            TxLookup::Rejected(reason) => TxStatusResponse {
                status: TxState::Rejected,
                error: Some(reason),
                ..empty
            },
            TxLookup::Unknown => {
                return Err(ApiError::not_found(
                    "tx_not_found",
                    format!("transaction {tx_hash} is not known to this node"),
                ));
            }
        })
    })
    .await?;
    Ok(Json(response))
}

/// The block at a height.
#[utoipa::path(get, path = "/v1/blocks/{height}", tag = "blocks",
    params(("height" = u64, Path, description = "Block height, from 1")),
    responses(
        (status = 200, description = "The block", body = BlockResponse),
        (status = 400, description = "Malformed height", body = xinlian_core::api::ErrorResponse),
        (status = 404, description = "No block at that height yet", body = xinlian_core::api::ErrorResponse),
    ))]
async fn get_block(
    State(chain): State<Arc<Chain>>,
    ApiPath(height): ApiPath<String>,
) -> Result<Json<BlockResponse>, ApiError> {
    block_at(&chain, parse_height(&height)?).await
}

/// A height in a path: a whole number, or 400 `invalid_height`.
fn parse_height(text: &str) -> Result<u64, ApiError> {
    text.parse().map_err(|_| {
        ApiError::bad_request(
            "invalid_height",
            format!("height {text:?} is not a whole number"),
        )
    })
}

/// The latest block.
#[utoipa::path(get, path = "/v1/blocks/latest", tag = "blocks",
    responses(
        (status = 200, description = "The latest block", body = BlockResponse),
        (status = 404, description = "No block yet", body = xinlian_core::api::ErrorResponse),
    ))]
async fn latest_block(State(chain): State<Arc<Chain>>) -> Result<Json<BlockResponse>, ApiError> {
    let height = chain.head().height;
    block_at(&chain, height).await
}

async fn block_at(chain: &Arc<Chain>, height: u64) -> Result<Json<BlockResponse>, ApiError> {
    let found = blocking(chain, move |c| {
        Ok((c.storage().block(height)?, c.certificate(height)?))
    })
    .await?;
    let (Some(block), certificate) = found else {
        return Err(ApiError::not_found(
            "block_not_found",
            format!("no block at height {height}"),
        ));
    };
    let mut response = BlockResponse::new(block, chain.suite());
    response.certificate = certificate;
    Ok(Json(response))
}

/// The commit certificate of a block: the signatures of a quorum of the voters.
#[utoipa::path(get, path = "/v1/blocks/{height}/certificate", tag = "blocks",
    params(("height" = String, Path, description = "Block height")),
    responses(
        (status = 200, description = "The certificate", body = xinlian_core::certificate::CommitCertificate),
        (status = 400, description = "Not a height", body = xinlian_core::api::ErrorResponse),
        (status = 404, description = "No block there, or no quorum of votes reached this node yet", body = xinlian_core::api::ErrorResponse),
    ))]
async fn block_certificate(
    State(chain): State<Arc<Chain>>,
    ApiPath(height): ApiPath<String>,
) -> Result<Json<xinlian_core::certificate::CommitCertificate>, ApiError> {
    let height = parse_height(&height)?;
    let certificate = blocking(&chain, move |c| Ok(c.certificate(height)?)).await?;
    certificate.map(Json).ok_or_else(|| {
        ApiError::not_found(
            "certificate_not_found",
            format!(
                "no certificate of height {height} here: the block is not there yet, or a quorum of voters' votes has not reached this node"
            ),
        )
    })
}

/// A registered member: its organisation and role.
#[utoipa::path(get, path = "/v1/members/{public_key}", tag = "node",
    params(("public_key" = String, Path, description = "sm2:04… or ed25519:…"), proof::ProofParam),
    responses(
        (status = 200, description = "The member; with proof=true also its proof bundle, the answer then holding as of the bundle's block", body = xinlian_core::api::MemberResponse),
        (status = 400, description = "Malformed key", body = xinlian_core::api::ErrorResponse),
        (status = 404, description = "Not a member", body = xinlian_core::api::ErrorResponse),
        (status = 503, description = "proof=true and this node holds no certificate for its head yet (certificate_pending) or no block (no_certified_block)", body = xinlian_core::api::ErrorResponse),
        (status = 422, description = "proof=true and the answer is derived from more state entries than a proof bundle carries (proof_too_large)", body = xinlian_core::api::ErrorResponse),
    ))]
async fn member(
    State(chain): State<Arc<Chain>>,
    ApiPath(public_key): ApiPath<String>,
    ApiQuery(param): ApiQuery<proof::ProofParam>,
) -> Result<Json<xinlian_core::api::MemberResponse>, ApiError> {
    let key: xinlian_core::crypto::PublicKey =
        public_key.parse().map_err(|e: xinlian_core::Error| {
            ApiError::bad_request("invalid_public_key", e.to_string())
        })?;
    let shown = key.to_string();
    let not_found = || {
        ApiError::not_found(
            "member_not_found",
            format!("{shown} is not a registered member"),
        )
    };
    let suite = chain.suite();
    if !param.proof {
        let member = blocking(&chain, move |c| {
            Ok(xinlian_contracts::views::member(c.storage(), suite, &key)?)
        })
        .await?;
        return member.map(Json).ok_or_else(not_found);
    }
    let query = xinlian_core::proof::ProvenQuery::Member {
        public_key: key.clone(),
    };
    let (mut member, bundle) = proof::derive(&chain, move |state, _| {
        Ok(xinlian_contracts::views::member(state, suite, &key)?)
    })
    .await?
    .certify_found(&chain, query)
    .await?
    .ok_or_else(not_found)?;
    member.proof = Some(Box::new(bundle));
    Ok(Json(member))
}

/// Chain and node status.
#[utoipa::path(get, path = "/v1/status", tag = "node",
    responses((status = 200, description = "Status", body = StatusResponse)))]
async fn status(State(chain): State<Arc<Chain>>) -> Result<Json<StatusResponse>, ApiError> {
    let head = chain.head();
    let genesis = chain.genesis();
    let membership = match chain.own_record() {
        None => NodeMembership::Joining,
        Some(record) if record.removed => NodeMembership::Removed,
        Some(record) if record.learner => NodeMembership::Learner,
        Some(_) => NodeMembership::Voter,
    };
    let signature_schemes = blocking(&chain, |c| Ok(c.accepted_schemes()?)).await?;
    Ok(Json(StatusResponse {
        chain_id: genesis.chain_id.clone(),
        node_id: chain.node_id().to_string(),
        height: head.height,
        latest_hash: head.hash,
        genesis_hash: genesis.hash(),
        leader: chain.leader(),
        membership,
        halted: chain.halted(),
        suite: genesis.suite,
        signature_schemes,
        mempool_txs: chain.mempool_len(),
        version: env!("CARGO_PKG_VERSION").to_string(),
    }))
}

/// Liveness.
#[utoipa::path(get, path = "/healthz", tag = "node", responses((status = 200, description = "The node is serving", body = String)))]
async fn healthz() -> &'static str {
    "ok"
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "node", responses((status = 200, description = "OpenMetrics text format", body = String, content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8")))]
async fn metrics(State(chain): State<Arc<Chain>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        chain.metrics().render(),
    )
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found("route_not_found", format!("no route for {}", uri.path()))
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed on {}", uri.path()),
    )
}
