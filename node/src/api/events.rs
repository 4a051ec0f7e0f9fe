//! `GET /v1/events`: committed blocks with their transactions' outcomes, and mempool rejections,
//! as Server-Sent Events. A client resumes from a height with `?from_height=` or the standard
//! `Last-Event-ID` header (a block event's id is its height), so nothing committed is missed.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::Deserialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast, watch};
use utoipa::IntoParams;
use xinlian_core::api::{BlockEvent, LaggedEvent, RejectedEvent};

use super::{ApiError, ApiQuery, blocking};
use crate::chain::{Chain, Rejection};

/// How many event streams a node serves at once; more are refused with 503, so idle
/// connections cannot exhaust the node.
pub(super) const EVENT_STREAMS_MAX: usize = 256;

/// How often an idle stream carries a comment: it keeps proxies from closing it, and writing it
/// is how the node notices a client that went away and frees its place.
const KEEP_ALIVE: Duration = Duration::from_secs(5);

/// The node's limit on concurrent event streams.
#[derive(Clone)]
pub(super) struct EventStreams(Arc<Semaphore>);

impl Default for EventStreams {
    fn default() -> Self {
        EventStreams(Arc::new(Semaphore::new(EVENT_STREAMS_MAX)))
    }
}

/// One Server-Sent Event as the stream carries it (documentation only): `event` names the
/// kind, `data` is the JSON of a `BlockEvent`, `RejectedEvent` or `LaggedEvent`, and a block's
/// `id` is its height.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(super) struct StreamedEvent {
    /// `block`, `rejected` or `lagged`.
    event: String,
    /// The event's JSON (see `BlockEvent`, `RejectedEvent`, `LaggedEvent`).
    data: String,
    /// The block's height, for `block` events (what `Last-Event-ID` resumes from).
    id: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct EventsQuery {
    /// First block height to send (at most the head's height + 1). Without it (and without a
    /// `Last-Event-ID` header) the stream starts with the next block.
    from_height: Option<u64>,
}

/// Stream committed blocks (`event: block`, id = height) and mempool rejections
/// (`event: rejected`, live only; `event: lagged` when some were missed).
#[utoipa::path(get, path = "/v1/events", tag = "events", params(EventsQuery),
    responses(
        (status = 200, description = "text/event-stream; each event's data is the JSON of a BlockEvent, RejectedEvent or LaggedEvent", body = StreamedEvent, content_type = "text/event-stream"),
        (status = 400, description = "from_height beyond the next block, or a bad Last-Event-ID", body = xinlian_core::api::ErrorResponse),
        (status = 503, description = "Too many event streams open", body = xinlian_core::api::ErrorResponse),
    ))]
pub(super) async fn events(
    State(chain): State<Arc<Chain>>,
    axum::Extension(streams): axum::Extension<EventStreams>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let permit = streams.0.try_acquire_owned().map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_streams",
            format!("this node serves at most {EVENT_STREAMS_MAX} event streams at once"),
        )
    })?;
    let head = chain.head().height;
    let next = start_height(&headers, query.from_height, head)?;
    let state = StreamState {
        chain: chain.clone(),
        next,
        heights: chain.watch_height(),
        rejections: chain.subscribe_rejections(),
        _permit: permit,
    };
    let stream = futures_util::stream::unfold(state, |mut state| async move {
        let event = state.next_event().await?;
        Some((Ok(event), state))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// Where a stream starts: `from_height`, else one past `Last-Event-ID`, else the next block.
fn start_height(headers: &HeaderMap, from_height: Option<u64>, head: u64) -> Result<u64, ApiError> {
    let last_event_id = headers
        .get("last-event-id")
        .map(|value| {
            value
                .to_str()
                .ok()
                .and_then(|text| text.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "bad_request",
                        "Last-Event-ID must be a block height".to_string(),
                    )
                })
        })
        .transpose()?;
    let next = match (from_height, last_event_id) {
        (Some(height), _) => height.max(1),
        (None, Some(seen)) => seen.saturating_add(1).max(1),
        (None, None) => head + 1,
    };
    if next > head + 1 {
        return Err(ApiError::bad_request(
            "bad_request",
            format!(
                "cannot start at height {next}: the head is at {head}, so {} is the next block",
                head + 1
            ),
        ));
    }
    Ok(next)
}

struct StreamState {
    chain: Arc<Chain>,
    next: u64,
    heights: watch::Receiver<u64>,
    rejections: broadcast::Receiver<Rejection>,
    _permit: OwnedSemaphorePermit,
}

impl StreamState {
    /// The next event: the next stored block if there is one, else whichever comes first of a
    /// new block and a rejection. The stream ends with the connection (the node's shutdown
    /// drops the server and every stream with it).
    async fn next_event(&mut self) -> Option<Event> {
        loop {
            if self.next <= *self.heights.borrow_and_update() {
                let height = self.next;
                self.next += 1;
                return Some(self.block_event(height).await);
            }
            tokio::select! {
                changed = self.heights.changed() => changed.ok()?,
                rejection = self.rejections.recv() => match rejection {
                    Ok(rejection) => return Some(rejected_event(rejection)),
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        return Some(json_event("lagged", &LaggedEvent { missed }));
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
            }
        }
    }

    async fn block_event(&self, height: u64) -> Event {
        let read = blocking(&self.chain, move |chain| read_block_event(chain, height)).await;
        match read {
            Ok(event) => json_event("block", &event).id(height.to_string()),
            // A store failure is reported in the stream; the client may resume from `height`.
            Err(e) => json_event("error", &e.body()),
        }
    }
}

fn read_block_event(chain: &Chain, height: u64) -> Result<BlockEvent, ApiError> {
    let storage = chain.storage();
    let block = storage
        .block(height)
        .map_err(|e| ApiError::internal(e.to_string()))?
        .ok_or_else(|| ApiError::internal(format!("block {height} is not stored")))?;
    let suite = chain.suite();
    let receipts = block
        .txs
        .iter()
        .map(|tx| {
            let hash = tx.hash(suite);
            storage
                .receipt(&hash)
                .map_err(|e| ApiError::internal(e.to_string()))?
                .ok_or_else(|| ApiError::internal(format!("no receipt for {hash}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(BlockEvent {
        height,
        hash: block.header.hash(suite),
        timestamp_ms: block.header.timestamp_ms,
        receipts,
    })
}

fn rejected_event(rejection: Rejection) -> Event {
    json_event(
        "rejected",
        &RejectedEvent {
            tx_hash: rejection.tx_hash,
            error: rejection.error,
        },
    )
}

fn json_event<T: serde::Serialize>(name: &str, data: &T) -> Event {
    let data =
        serde_json::to_string(data).unwrap_or_else(|e| format!("{{\"encode_error\":{e:?}}}"));
    Event::default().event(name).data(data)
}
