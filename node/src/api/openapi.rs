//! The OpenAPI document, generated from the handlers and the API types.

use axum::Json;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Xinlian node API",
        description = "Signed transactions in, blocks and receipts out. Errors are {\"error\": {\"code\", \"message\"}}."
    ),
    paths(
        super::submit_tx,
        super::get_tx,
        super::get_block,
        super::block_certificate,
        super::latest_block,
        super::status,
        super::events::events,
        super::member,
        super::gov::nodes,
        super::gov::voters,
        super::gov::voter_changes,
        super::gov::proposals,
        super::gov::proposal,
        super::trace::code,
        super::trace::holders,
        super::trace::lots,
        super::trace::lot_by_tx,
        super::trace::stock,
        super::licence::record,
        super::licence::verify,
        super::licence::verify_qr,
        super::console::challenge,
        super::console::login,
        super::console::logout,
        super::console::current,
        super::console::overview,
        super::console::coldchain,
        super::console::flow,
        super::console::licences,
        super::console::auth,
        super::console::blocks,
        super::healthz,
        super::metrics
    ),
    components(schemas(
        xinlian_core::api::BlockEvent,
        xinlian_core::api::RejectedEvent,
        xinlian_core::api::LaggedEvent
    ))
)]
struct ApiDoc;

/// The document as JSON.
pub(super) async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
