//! The regulator's console: its pages (embedded in the binary, see `node/build.rs`), its signed
//! login, and the figures behind each page. Every `/v1/console/` read needs a session; the cold
//! chain's needs a regulator's.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use xinlian_core::api::console::{
    AuthStats, BlockList, ColdChainStats, ConsoleSession, ConsoleView, LicenceStats,
    LoginChallenge, LoginRequest, LotFlow, OverviewStats,
};
use xinlian_core::trace::LotCode;

use super::{ApiError, ApiJson, ApiPath, ApiQuery, blocking};
use crate::chain::Chain;
use crate::console::session::{COOKIE, LoginError, SESSION_TTL_MS, Sessions};
use crate::console::{self, ConsoleReader, Verifications};
use crate::trace::TraceReader;

/// Whether the node serves HTTPS (then the session cookie is `Secure`).
#[derive(Clone, Copy)]
pub(super) struct SecureCookie(pub bool);

/// `?days=N`: the last N China days, today included (1 to 92; 30 when absent).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(super) struct DaysQuery {
    /// How many days, today included (1 to 92; default 30).
    days: Option<u32>,
}

impl DaysQuery {
    fn span(&self) -> Result<(u32, u32), ApiError> {
        let days = self.days.unwrap_or(30);
        if !(1..=console::DAYS_MAX).contains(&days) {
            return Err(ApiError::bad_request(
                "invalid_days",
                format!("days is 1 to {}, not {days}", console::DAYS_MAX),
            ));
        }
        Ok(console::day_span(crate::now_ms(), days))
    }
}

fn token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

/// The caller's session, if it may see `needs`.
fn session(
    headers: &HeaderMap,
    sessions: &Sessions,
    needs: ConsoleView,
) -> Result<ConsoleSession, ApiError> {
    let session = token(headers)
        .and_then(|token| sessions.session(token, crate::now_ms()))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "login_required",
                "log in to the console first: sign a challenge (POST /v1/console/challenge, then POST /v1/console/login)".into(),
            )
        })?;
    if needs == ConsoleView::Regulator && session.view != ConsoleView::Regulator {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "regulator_only",
            format!(
                "this view is for regulators; {} of {} has the department view",
                session.name, session.org
            ),
        ));
    }
    Ok(session)
}

fn login_error(e: LoginError) -> ApiError {
    let status = match e {
        LoginError::UnknownChallenge | LoginError::BadSignature => StatusCode::UNAUTHORIZED,
        LoginError::NotMember(_) => StatusCode::FORBIDDEN,
        LoginError::Busy => StatusCode::SERVICE_UNAVAILABLE,
    };
    ApiError::new(status, e.code(), e.to_string())
}

/// A call that takes no body: the body is read (within the API's body limit) and refused when
/// not empty. Read first, because answering while a client still sends resets its connection.
pub(super) struct NoBody;

impl<S: Send + Sync> FromRequest<S> for NoBody {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let body =
            Bytes::from_request(request, state)
                .await
                .map_err(|rejection: BytesRejection| {
                    let code = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        "body_too_large"
                    } else {
                        "unreadable_body"
                    };
                    ApiError::new(rejection.status(), code, rejection.body_text())
                })?;
        if body.is_empty() {
            return Ok(NoBody);
        }
        Err(ApiError::bad_request(
            "unexpected_body",
            format!("this call takes no body; got {} bytes", body.len()),
        ))
    }
}

/// A challenge for a member's key to sign.
#[utoipa::path(post, path = "/v1/console/challenge", tag = "console",
    responses(
        (status = 200, description = "Sign `message` with the member's key within two minutes", body = LoginChallenge),
        (status = 400, description = "A body was sent (unexpected_body)", body = xinlian_core::api::ErrorResponse),
        (status = 413, description = "Body too large", body = xinlian_core::api::ErrorResponse),
        (status = 503, description = "Too many logins in progress", body = xinlian_core::api::ErrorResponse),
    ))]
pub(super) async fn challenge(
    State(chain): State<Arc<Chain>>,
    Extension(sessions): Extension<Arc<Sessions>>,
    _: NoBody,
) -> Result<Json<LoginChallenge>, ApiError> {
    let chain_id = &chain.genesis().chain_id;
    sessions
        .challenge(chain_id, crate::now_ms())
        .map(Json)
        .map_err(login_error)
}

/// Logs in with a signed challenge: sets the session cookie (HttpOnly, SameSite=Strict).
#[utoipa::path(post, path = "/v1/console/login", tag = "console",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in; the session cookie is set", body = ConsoleSession),
        (status = 400, description = "Malformed request", body = xinlian_core::api::ErrorResponse),
        (status = 401, description = "Unknown, used or expired challenge (unknown_challenge), or a signature that does not verify (bad_signature)", body = xinlian_core::api::ErrorResponse),
        (status = 403, description = "The key is not a registered member", body = xinlian_core::api::ErrorResponse),
        (status = 415, description = "Not Content-Type: application/json", body = xinlian_core::api::ErrorResponse),
        (status = 503, description = "Too many sessions", body = xinlian_core::api::ErrorResponse),
    ))]
pub(super) async fn login(
    State(chain): State<Arc<Chain>>,
    Extension(sessions): Extension<Arc<Sessions>>,
    Extension(SecureCookie(secure)): Extension<SecureCookie>,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let outcome = blocking(&chain, move |c| {
        let key = request.public_key.clone();
        let lookup = || {
            let member = xinlian_contracts::system::read_member(c.storage(), c.suite(), &key)?;
            let Some(member) = member else {
                return Ok(None);
            };
            let org = xinlian_contracts::Overlay::new(c.storage()).get_value(
                xinlian_contracts::Space::State,
                &xinlian_contracts::system::org_key(&member.org),
            )?;
            Ok(Some((member, org)))
        };
        Ok(sessions.login(&c.genesis().chain_id, &request, crate::now_ms(), lookup)?)
    })
    .await?;
    let (token, session) = outcome.map_err(login_error)?;
    let cookie = format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        SESSION_TTL_MS / 1000,
        if secure { "; Secure" } else { "" }
    );
    let cookie = HeaderValue::from_str(&cookie)
        .map_err(|e| ApiError::internal(format!("session cookie: {e}")))?;
    Ok(([(header::SET_COOKIE, cookie)], Json(session)).into_response())
}

/// Ends the caller's session.
#[utoipa::path(post, path = "/v1/console/logout", tag = "console",
    responses(
        (status = 204, description = "Logged out (also when no session was open)"),
        (status = 400, description = "A body was sent (unexpected_body)", body = xinlian_core::api::ErrorResponse),
        (status = 413, description = "Body too large", body = xinlian_core::api::ErrorResponse),
    ))]
pub(super) async fn logout(
    headers: HeaderMap,
    Extension(sessions): Extension<Arc<Sessions>>,
    _: NoBody,
) -> Response {
    if let Some(token) = token(&headers) {
        sessions.logout(token);
    }
    let expired = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(value) = HeaderValue::from_str(&expired) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// The caller's session, if any: the page asks this first, and a visitor not logged in is no
/// error.
#[utoipa::path(get, path = "/v1/console/session", tag = "console",
    responses(
        (status = 200, description = "The session", body = ConsoleSession),
        (status = 204, description = "No live session: log in"),
    ))]
pub(super) async fn current(
    headers: HeaderMap,
    Extension(sessions): Extension<Arc<Sessions>>,
) -> Response {
    match session(&headers, &sessions, ConsoleView::Department) {
        Ok(session) => Json(session).into_response(),
        Err(_) => StatusCode::NO_CONTENT.into_response(),
    }
}

/// Transactions per day, by call and outcome.
#[utoipa::path(get, path = "/v1/console/overview", tag = "console", params(DaysQuery),
    responses(
        (status = 200, description = "The overview's figures", body = OverviewStats),
        (status = 400, description = "days out of range", body = xinlian_core::api::ErrorResponse),
        (status = 401, description = "No session", body = xinlian_core::api::ErrorResponse),
    ))]
pub(super) async fn overview(
    State(chain): State<Arc<Chain>>,
    headers: HeaderMap,
    Extension(sessions): Extension<Arc<Sessions>>,
    ApiQuery(query): ApiQuery<DaysQuery>,
) -> Result<Json<OverviewStats>, ApiError> {
    session(&headers, &sessions, ConsoleView::Department)?;
    figures(&chain, &query, |c, first, last| {
        Ok(ConsoleReader::new(c.storage(), c.suite()).overview(first, last)?)
    })
    .await
}

/// A page's figures over the days `query` asks for, read off the async threads.
async fn figures<T: Send + 'static>(
    chain: &Arc<Chain>,
    query: &DaysQuery,
    read: impl FnOnce(&Chain, u32, u32) -> Result<T, ApiError> + Send + 'static,
) -> Result<Json<T>, ApiError> {
    let (first, last) = query.span()?;
    blocking(chain, move |c| read(c, first, last))
        .await
        .map(Json)
}

/// Cold chain: lots coded and movements per day by region and kind, the open orders with what
/// is still in stock.
#[utoipa::path(get, path = "/v1/console/coldchain", tag = "console", params(DaysQuery),
    responses(
        (status = 200, description = "The cold-chain page's figures", body = ColdChainStats),
        (status = 400, description = "days out of range", body = xinlian_core::api::ErrorResponse),
        (status = 401, description = "No session", body = xinlian_core::api::ErrorResponse),
        (status = 403, description = "Not a regulator's session", body = xinlian_core::api::ErrorResponse),
    ))]
pub(super) async fn coldchain(
    State(chain): State<Arc<Chain>>,
    headers: HeaderMap,
    Extension(sessions): Extension<Arc<Sessions>>,
    ApiQuery(query): ApiQuery<DaysQuery>,
) -> Result<Json<ColdChainStats>, ApiError> {
    session(&headers, &sessions, ConsoleView::Regulator)?;
    figures(&chain, &query, |c, first, last| {
        Ok(ConsoleReader::new(c.storage(), c.suite()).coldchain(first, last)?)
    })
    .await
}

/// Where a lot and the lots split from it went, holder by holder, the recalled part marked.
#[utoipa::path(get, path = "/v1/console/lots/{lot}/flow", tag = "console",
    params(("lot" = String, Path, description = "Lot code (16 digits and a check character)")),
    responses(
        (status = 200, description = "The flow", body = LotFlow),
        (status = 400, description = "Malformed lot code", body = xinlian_core::api::ErrorResponse),
        (status = 401, description = "No session", body = xinlian_core::api::ErrorResponse),
        (status = 403, description = "Not a regulator's session", body = xinlian_core::api::ErrorResponse),
        (status = 404, description = "No such lot", body = xinlian_core::api::ErrorResponse),
    ))]
pub(super) async fn flow(
    State(chain): State<Arc<Chain>>,
    headers: HeaderMap,
    Extension(sessions): Extension<Arc<Sessions>>,
    ApiPath(lot): ApiPath<String>,
) -> Result<Json<LotFlow>, ApiError> {
    session(&headers, &sessions, ConsoleView::Regulator)?;
    let code: LotCode = lot
        .parse()
        .map_err(|e: xinlian_core::Error| ApiError::bad_request("invalid_lot", e.to_string()))?;
    let flow = blocking(&chain, move |c| {
        Ok(TraceReader::new(c.storage(), c.suite()).flow(code.0)?)
    })
    .await?;
    flow.map(Json)
        .ok_or_else(|| ApiError::not_found("lot_not_found", format!("no lot {code}")))
}

/// Licences: recorded per day by type, by state now, expiring within 30 days, verifications
/// this node answered.
#[utoipa::path(get, path = "/v1/console/licences", tag = "console", params(DaysQuery),
    responses(
        (status = 200, description = "The licence page's figures", body = LicenceStats),
        (status = 400, description = "days out of range", body = xinlian_core::api::ErrorResponse),
        (status = 401, description = "No session", body = xinlian_core::api::ErrorResponse),
    ))]
pub(super) async fn licences(
    State(chain): State<Arc<Chain>>,
    headers: HeaderMap,
    Extension(sessions): Extension<Arc<Sessions>>,
    ApiQuery(query): ApiQuery<DaysQuery>,
) -> Result<Json<LicenceStats>, ApiError> {
    session(&headers, &sessions, ConsoleView::Department)?;
    let today = xinlian_core::calendar::china_date(crate::now_ms());
    figures(&chain, &query, move |c, first, last| {
        let verifications = Verifications::daily(c.storage(), first, last)?;
        Ok(ConsoleReader::new(c.storage(), c.suite()).licences(
            first,
            last,
            today,
            verifications,
        )?)
    })
    .await
}

/// Authorisation: grants per day, live grants, uses per department and matter, refused uses by
/// reason.
#[utoipa::path(get, path = "/v1/console/auth", tag = "console", params(DaysQuery),
    responses(
        (status = 200, description = "The authorisation page's figures", body = AuthStats),
        (status = 400, description = "days out of range", body = xinlian_core::api::ErrorResponse),
        (status = 401, description = "No session", body = xinlian_core::api::ErrorResponse),
    ))]
pub(super) async fn auth(
    State(chain): State<Arc<Chain>>,
    headers: HeaderMap,
    Extension(sessions): Extension<Arc<Sessions>>,
    ApiQuery(query): ApiQuery<DaysQuery>,
) -> Result<Json<AuthStats>, ApiError> {
    session(&headers, &sessions, ConsoleView::Department)?;
    figures(&chain, &query, |c, first, last| {
        Ok(ConsoleReader::new(c.storage(), c.suite()).auth(first, last)?)
    })
    .await
}

/// `?before=H&limit=N` of the block list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(super) struct BlocksQuery {
    /// List blocks below this height (default: from the head).
    before: Option<u64>,
    /// How many (1 to 100; default 20).
    limit: Option<u64>,
}

/// The explorer's block list, newest first.
#[utoipa::path(get, path = "/v1/console/blocks", tag = "console", params(BlocksQuery),
    responses(
        (status = 200, description = "A page of blocks", body = BlockList),
        (status = 400, description = "Malformed query", body = xinlian_core::api::ErrorResponse),
        (status = 401, description = "No session", body = xinlian_core::api::ErrorResponse),
    ))]
pub(super) async fn blocks(
    State(chain): State<Arc<Chain>>,
    headers: HeaderMap,
    Extension(sessions): Extension<Arc<Sessions>>,
    ApiQuery(query): ApiQuery<BlocksQuery>,
) -> Result<Json<BlockList>, ApiError> {
    session(&headers, &sessions, ConsoleView::Department)?;
    let limit = query.limit.unwrap_or(20);
    if !(1..=console::BLOCKS_PAGE_MAX).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_limit",
            format!("limit is 1 to {}", console::BLOCKS_PAGE_MAX),
        ));
    }
    let head = chain.head().height;
    let list = blocking(&chain, move |c| {
        Ok(ConsoleReader::new(c.storage(), c.suite()).blocks(head, query.before, limit)?)
    })
    .await?;
    Ok(Json(list))
}

/// The console's files, built from `console/` by `scripts/build-console.sh` and embedded at
/// compile time (a node on an isolated network needs no CDN).
mod assets {
    include!(concat!(env!("OUT_DIR"), "/console_assets.rs"));
}

/// `/console` → `/console/`.
pub(super) async fn redirect() -> Redirect {
    Redirect::permanent("/console/")
}

/// The console's page.
pub(super) async fn index() -> Response {
    asset_response("index.html")
}

/// One of the console's files.
pub(super) async fn asset(ApiPath(name): ApiPath<String>) -> Response {
    asset_response(&name)
}

fn asset_response(name: &str) -> Response {
    let Some((_, bytes)) = assets::FILES.iter().find(|(file, _)| *file == name) else {
        return ApiError::not_found("not_found", format!("no console file {name}")).into_response();
    };
    let kind = match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            // The page runs only its own scripts: no inline code, nothing from elsewhere (the charts
            // set element styles, hence inline styles).
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
            ),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        *bytes,
    )
        .into_response()
}
