//! Traceability queries over HTTP (`/v1/trace/...`), answered from RocksDB indexes. A code's
//! trace is public (what a consumer scanning a package should see); recall lists and stock name
//! enterprises and what they hold, and answer only signed queries of regulators (and of an
//! enterprise for its own stock).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::{Extension, Json};
use serde::Deserialize;
use xinlian_contracts::Overlay;
use xinlian_contracts::system;
use xinlian_contracts::views::trace::CodeReader;
use xinlian_core::Hash;
use xinlian_core::api::trace::{CodeTrace, CodedLot, LotsResponse, RecallList, StockResponse};
use xinlian_core::ids::Uscc;
use xinlian_core::proof::ProvenQuery;
use xinlian_core::trace::{EnterpriseKind, LotCode, TraceCode};
use xinlian_core::types::OrgRole;

use super::paging::{next_link, page};
use super::proof::{self, ProofParam};
use super::signed::Guard;
use super::{ApiError, ApiPath, ApiQuery, blocking};
use crate::chain::Chain;
use crate::trace::{
    HolderFilter, LotQuery, RECALL_PAGE_LOTS_MAX, STOCK_PAGE_MAX, StockCursor, TraceReader,
    parse_date,
};

/// Most lots one search returns.
const LOTS_LIMIT_MAX: usize = 500;

pub(super) fn parse_code(text: &str) -> Result<TraceCode, ApiError> {
    text.parse()
        .map_err(|e: xinlian_core::Error| ApiError::bad_request("invalid_code", e.to_string()))
}

/// A request for a view that names enterprises and what they hold (a recall list, a stock),
/// which only regulators, and an enterprise for itself, may read.
pub(super) struct EnterpriseView<'a> {
    pub(super) guard: &'a Guard,
    pub(super) method: &'a Method,
    pub(super) uri: &'a Uri,
    pub(super) headers: &'a HeaderMap,
}

impl EnterpriseView<'_> {
    /// Checks the request is signed (see [`super::signed`]) by a member of a regulator
    /// organisation, or of `own` when the view is an enterprise's own; `what` names the view in
    /// the refusal.
    pub(super) fn authorise(
        &self,
        chain: &Chain,
        own: Option<&Uscc>,
        what: &str,
    ) -> Result<(), ApiError> {
        let signer = self
            .guard
            .verify(chain, self.method, self.uri, self.headers, &[])?;
        if own == Some(&signer.org) {
            return Ok(());
        }
        let regulates = system::org_has_role(
            &Overlay::new(chain.storage()),
            &signer.org,
            OrgRole::Regulator,
        )
        .map_err(|e| ApiError::internal(e.to_string()))?;
        if regulates {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "not_allowed",
                format!(
                    "{what} may be read by regulators only (organisation {} is not one)",
                    signer.org
                ),
            ))
        }
    }
}

/// A region filter: a six-digit administrative division code (GB/T 2260).
fn region(region: Option<u32>) -> Result<Option<u32>, ApiError> {
    match region {
        Some(code) if !(100_000..=999_999).contains(&code) => Err(ApiError::bad_request(
            "invalid_query",
            format!("region must be a six-digit division code, got {code}"),
        )),
        other => Ok(other),
    }
}

fn code_not_found(code: &TraceCode) -> ApiError {
    ApiError::not_found(
        "code_not_found",
        format!("no lot or package has the code {code}"),
    )
}

/// A code's lineage back to the first station, its hops, certificates and status.
#[utoipa::path(get, path = "/v1/trace/codes/{code}", tag = "trace",
    params(("code" = String, Path, description = "Lot or package code with its check character"), ProofParam),
    responses(
        (status = 200, description = "The code's trace; with proof=true also its proof bundle, the trace then holding as of the bundle's block", body = CodeTrace),
        (status = 400, description = "Malformed code or bad check character", body = xinlian_core::api::ErrorResponse),
        (status = 404, description = "No such code", body = xinlian_core::api::ErrorResponse),
        (status = 503, description = "proof=true and this node holds no certificate for its head yet (certificate_pending) or no block (no_certified_block)", body = xinlian_core::api::ErrorResponse),
        (status = 422, description = "proof=true and the answer is derived from more state entries than a proof bundle carries (proof_too_large)", body = xinlian_core::api::ErrorResponse),
    ))]
pub(super) async fn code(
    State(chain): State<Arc<Chain>>,
    ApiPath(code): ApiPath<String>,
    ApiQuery(param): ApiQuery<ProofParam>,
) -> Result<Json<CodeTrace>, ApiError> {
    let code = parse_code(&code)?;
    if !param.proof {
        let trace = blocking(&chain, move |c| {
            Ok(TraceReader::new(c.storage(), c.suite()).code(code)?)
        })
        .await?;
        return trace.map(Json).ok_or_else(|| code_not_found(&code));
    }
    let (mut trace, bundle) = proof::derive(&chain, move |state, _| {
        Ok(CodeReader::new(state).code(code)?)
    })
    .await?
    .certify_found(&chain, ProvenQuery::TraceCode { code })
    .await?
    .ok_or_else(|| code_not_found(&code))?;
    trace.proof = Some(Box::new(bundle));
    Ok(Json(trace))
}

/// Filters of a recall list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct HoldersQuery {
    /// Only enterprises in this region (6 digits).
    #[param(minimum = 100_000, maximum = 999_999)]
    region: Option<u32>,
    /// Only enterprises of this kind (`importer`, `cold_store`, `processor`, `wholesaler`,
    /// `supermarket`, `restaurant`, `ecommerce`, `other`).
    kind: Option<EnterpriseKind>,
    /// Most lots on this page (1 to 10000, default 1000).
    #[param(minimum = 1, maximum = 10_000)]
    limit: Option<usize>,
    /// The cursor of the page before (use the `next` link as given).
    after: Option<String>,
}

/// Paging of a stock list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct StockQuery {
    /// Most stock lines and incoming shipments on this page together (1 to 10000, default
    /// 1000).
    #[param(minimum = 1, maximum = 10_000)]
    limit: Option<usize>,
    /// The cursor of the page before (use the `next` link as given).
    after: Option<String>,
}

fn not_our_cursor() -> ApiError {
    ApiError::bad_request(
        "invalid_cursor",
        "not a cursor this node gave for this list (use the next link as it is)".into(),
    )
}

/// The recall list of the code's lot and all lots split from it.
#[utoipa::path(get, path = "/v1/trace/codes/{code}/holders", tag = "trace",
    params(("code" = String, Path, description = "Lot or package code"), HoldersQuery),
    responses(
        (status = 200, description = "Every holder, with quantities and stock", body = RecallList),
        (status = 400, description = "Malformed code or filter", body = xinlian_core::api::ErrorResponse),
        (status = 401, description = "Not a signed query, stale, replayed or signed for another node", body = xinlian_core::api::ErrorResponse),
        (status = 403, description = "The signer's organisation is not a regulator", body = xinlian_core::api::ErrorResponse),
        (status = 404, description = "No such code", body = xinlian_core::api::ErrorResponse),
    ))]
pub(super) async fn holders(
    State(chain): State<Arc<Chain>>,
    Extension(guard): Extension<Arc<Guard>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    ApiPath(code): ApiPath<String>,
    ApiQuery(query): ApiQuery<HoldersQuery>,
) -> Result<Json<RecallList>, ApiError> {
    let code = parse_code(&code)?;
    EnterpriseView {
        guard: &guard,
        method: &method,
        uri: &uri,
        headers: &headers,
    }
    .authorise(&chain, None, "a recall list")?;
    let filter = HolderFilter {
        region: region(query.region)?,
        kind: query.kind,
    };
    let (cursor, limit) = page(
        query.after.as_ref(),
        query.limit,
        1_000,
        RECALL_PAGE_LOTS_MAX,
    )?;
    let after = cursor
        .map(|bytes| <[u8; 8]>::try_from(bytes.as_slice()).map(u64::from_be_bytes))
        .transpose()
        .map_err(|_| not_our_cursor())?;
    let list = blocking(&chain, move |c| {
        Ok(TraceReader::new(c.storage(), c.suite()).holders(code.lot, &filter, after, limit)?)
    })
    .await?;
    let (mut list, next) = list.ok_or_else(|| code_not_found(&code))?;
    list.next = next_link(&uri, next.map(|seq| seq.to_be_bytes().to_vec()));
    Ok(Json(list))
}

/// Filters of a lot search.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct LotsQuery {
    /// Exact product name.
    product: Option<String>,
    /// Origin country (ISO 3166-1 alpha-2).
    origin: Option<String>,
    /// Coded (imported) on or after this date in China (UTC+8), `YYYY-MM-DD`.
    from: Option<String>,
    /// Coded on or before this date in China (UTC+8), `YYYY-MM-DD`.
    to: Option<String>,
    /// Region of the first station (6 digits).
    #[param(minimum = 100_000, maximum = 999_999)]
    region: Option<u32>,
    /// Most lots (1 to 500, default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<usize>,
    /// The cursor of the page before (use the `next` link as given).
    after: Option<String>,
}

/// Parses an optional `YYYY-MM-DD` query parameter into days since the epoch.
pub(super) fn date(field: &str, text: Option<&String>) -> Result<Option<u32>, ApiError> {
    text.map(|t| {
        parse_date(t).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_query",
                format!("{field} must be a date, YYYY-MM-DD or YYYYMMDD, got {t:?}"),
            )
        })
    })
    .transpose()
}

/// First-station lots by product, origin, date range and region.
#[utoipa::path(get, path = "/v1/trace/lots", tag = "trace",
    params(LotsQuery),
    responses(
        (status = 200, description = "Matching lots, oldest first", body = LotsResponse),
        (status = 400, description = "Bad filter", body = xinlian_core::api::ErrorResponse),
    ))]
pub(super) async fn lots(
    State(chain): State<Arc<Chain>>,
    uri: Uri,
    ApiQuery(query): ApiQuery<LotsQuery>,
) -> Result<Json<LotsResponse>, ApiError> {
    let (cursor, limit) = page(query.after.as_ref(), query.limit, 100, LOTS_LIMIT_MAX)?;
    let lot_query = LotQuery {
        from_day: date("from", query.from.as_ref())?,
        to_day: date("to", query.to.as_ref())?,
        product: query.product,
        origin: query.origin,
        region: region(query.region)?,
        limit,
    };
    let (lots, next) = blocking(&chain, move |c| {
        Ok(TraceReader::new(c.storage(), c.suite()).search(&lot_query, cursor.as_deref())?)
    })
    .await?;
    Ok(Json(LotsResponse {
        lots,
        next: next_link(&uri, next),
    }))
}

/// The lot a commissioning or split transaction coded.
#[utoipa::path(get, path = "/v1/trace/lots/by-tx/{hash}", tag = "trace",
    params(("hash" = String, Path, description = "Transaction hash")),
    responses(
        (status = 200, description = "The lot", body = CodedLot),
        (status = 400, description = "Malformed transaction hash", body = xinlian_core::api::ErrorResponse),
        (status = 404, description = "The transaction coded no lot (or is not committed)", body = xinlian_core::api::ErrorResponse),
    ))]
pub(super) async fn lot_by_tx(
    State(chain): State<Arc<Chain>>,
    ApiPath(hash): ApiPath<String>,
) -> Result<Json<CodedLot>, ApiError> {
    let tx =
        Hash::from_hex(&hash).map_err(|e| ApiError::bad_request("invalid_hash", e.to_string()))?;
    let lot = blocking(&chain, move |c| {
        Ok(TraceReader::new(c.storage(), c.suite()).lot_of_tx(&tx)?)
    })
    .await?;
    lot.map(|lot| Json(CodedLot { lot: LotCode(lot) }))
        .ok_or_else(|| {
            ApiError::not_found("lot_not_found", format!("transaction {tx} coded no lot"))
        })
}

/// What an enterprise holds now, and shipments on their way to it.
#[utoipa::path(get, path = "/v1/trace/enterprises/{uscc}/stock", tag = "trace",
    params(("uscc" = String, Path, description = "The enterprise's USCC"), StockQuery),
    responses(
        (status = 200, description = "Stock and incoming shipments", body = StockResponse),
        (status = 400, description = "Malformed USCC", body = xinlian_core::api::ErrorResponse),
        (status = 401, description = "Not a signed query, stale, replayed or signed for another node", body = xinlian_core::api::ErrorResponse),
        (status = 403, description = "Neither a regulator nor the enterprise itself", body = xinlian_core::api::ErrorResponse),
        (status = 404, description = "Not a registered enterprise", body = xinlian_core::api::ErrorResponse),
    ))]
pub(super) async fn stock(
    State(chain): State<Arc<Chain>>,
    Extension(guard): Extension<Arc<Guard>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    ApiPath(uscc): ApiPath<String>,
    ApiQuery(query): ApiQuery<StockQuery>,
) -> Result<Json<StockResponse>, ApiError> {
    let uscc =
        Uscc::parse(&uscc).map_err(|e| ApiError::bad_request("invalid_uscc", e.to_string()))?;
    EnterpriseView {
        guard: &guard,
        method: &method,
        uri: &uri,
        headers: &headers,
    }
    .authorise(&chain, Some(&uscc), "an enterprise's stock")?;
    let (cursor, limit) = page(query.after.as_ref(), query.limit, 1_000, STOCK_PAGE_MAX)?;
    let after = cursor
        .map(|bytes| StockCursor::from_bytes(&bytes).ok_or_else(not_our_cursor))
        .transpose()?;
    let shown = uscc.clone();
    let stock = blocking(&chain, move |c| {
        Ok(TraceReader::new(c.storage(), c.suite()).stock(&uscc, after.as_ref(), limit)?)
    })
    .await?;
    let (mut stock, next) = stock.ok_or_else(|| {
        ApiError::not_found(
            "enterprise_not_found",
            format!("{shown} is not a registered enterprise"),
        )
    })?;
    stock.next = next_link(&uri, next.map(StockCursor::to_bytes));
    Ok(Json(stock))
}
