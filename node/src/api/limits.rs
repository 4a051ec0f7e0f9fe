//! Bounds on what one client can ask of the HTTP API, each answered in the JSON error shape:
//! - a request rate per client address (`http_client_requests_per_second`, burst
//!   `http_client_request_burst`): tower_governor's GCRA in front of every route, 429
//!   `rate_limited` with `Retry-After`;
//! - a transaction rate per sender (`sender_txs_per_second`, burst `sender_tx_burst`): governor
//!   keyed by the sender's key, checked before admission, 429 `sender_rate_limited` with
//!   `Retry-After`, so one member's terminals cannot take a node's admission for themselves;
//! - a time limit per request (`http_request_timeout_ms`; the event stream, which is meant to
//!   stay open, excepted): 503 `request_timeout`.
//!
//! Rates are per node: a client that spreads its requests over four nodes gets four times as much,
//! as it would from four separate services.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tower_governor::GovernorLayer;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::PeerIpKeyExtractor;
use xinlian_core::crypto::PublicKey;

use super::ApiError;
use crate::config::Config;

/// How often the limiters forget clients and senders that have their whole burst back.
const FORGET_EVERY: Duration = Duration::from_secs(60);

/// The per-client layer's type, as the router holds it.
pub(super) type ClientLayer = GovernorLayer<
    PeerIpKeyExtractor,
    governor::middleware::NoOpMiddleware<governor::clock::QuantaInstant>,
    Body,
>;

/// The limits of one node's API, from its config.
#[derive(Clone)]
pub struct Limits {
    client: Option<ClientLayer>,
    senders: Option<Arc<DefaultKeyedRateLimiter<PublicKey>>>,
    timeout: Duration,
}

impl Limits {
    /// The limits `config` names; a rate of 0 turns that limit off.
    pub fn from_config(config: &Config) -> Limits {
        let client = NonZeroU32::new(config.http_client_requests_per_second).map(|rate| {
            let period = Duration::from_nanos(1_000_000_000 / u64::from(rate.get()));
            let governor = GovernorConfigBuilder::default()
                .period(period)
                .burst_size(config.http_client_request_burst.max(1))
                .finish()
                .expect("a non-zero period and burst make a quota");
            let governor = Arc::new(governor);
            let limiter = governor.limiter().clone();
            forget_idle(move || limiter.retain_recent());
            GovernorLayer::new(governor).error_handler(|error| {
                let wait = match error {
                    tower_governor::GovernorError::TooManyRequests { wait_time, .. } => wait_time,
                    _ => 1,
                };
                ApiError::rate_limited(
                    "rate_limited",
                    "this client sent more requests than the node takes from one address; wait and send again"
                        .into(),
                    Duration::from_secs(wait),
                )
                .into_response()
            })
        });
        let senders = NonZeroU32::new(config.sender_txs_per_second).map(|rate| {
            let burst = NonZeroU32::new(config.sender_tx_burst).unwrap_or(rate);
            let limiter = Arc::new(RateLimiter::keyed(
                Quota::per_second(rate).allow_burst(burst),
            ));
            let forget = limiter.clone();
            forget_idle(move || forget.retain_recent());
            limiter
        });
        Limits {
            client,
            senders,
            timeout: Duration::from_millis(config.http_request_timeout_ms),
        }
    }

    /// The per-client rate layer, when that limit is on.
    pub(super) fn client_layer(&self) -> Option<ClientLayer> {
        self.client.clone()
    }

    /// Takes one transaction from `sender`'s rate, or says how long to wait.
    pub(super) fn take_sender(&self, sender: &PublicKey) -> Result<(), ApiError> {
        let Some(limiter) = &self.senders else {
            return Ok(());
        };
        limiter.check_key(sender).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::rate_limited(
                "sender_rate_limited",
                format!(
                    "{sender} sent more transactions than this node takes from one sender; wait {} ms and send again",
                    wait.as_millis()
                ),
                wait,
            )
        })
    }
}

/// Runs `forget` every [`FORGET_EVERY`] while the runtime runs, so the limiters' memory follows
/// the clients of the last minute rather than every client ever seen.
fn forget_idle(forget: impl Fn() + Send + 'static) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            let mut every = tokio::time::interval(FORGET_EVERY);
            loop {
                every.tick().await;
                forget();
            }
        });
    }
}

/// The per-request time limit (middleware): the event stream is left alone.
pub(super) async fn time_limit(
    State(limits): State<Limits>,
    request: Request,
    next: Next,
) -> Response {
    if request.uri().path() == "/v1/events" {
        return next.run(request).await;
    }
    match tokio::time::timeout(limits.timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "request_timeout",
            format!(
                "the node did not answer within {} ms; try again",
                limits.timeout.as_millis()
            ),
        )
        .into_response(),
    }
}

/// `Retry-After` for `wait`, rounded up to whole seconds, at least 1 (governor's waits are often
/// below a second, and a 0 would invite an immediate retry).
pub(super) fn retry_after(wait: Duration) -> HeaderValue {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    HeaderValue::from(seconds.max(1))
}

/// Sets `Retry-After` on a response.
pub(super) fn with_retry_after(mut response: Response, wait: Duration) -> Response {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, retry_after(wait));
    response
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::routing::get;

    use super::*;

    /// A slow answer becomes 503 `request_timeout` in the JSON shape; the event stream's path
    /// is left to run.
    #[tokio::test]
    async fn a_slow_request_is_cut_off_but_not_the_event_stream() {
        let limits = Limits {
            client: None,
            senders: None,
            timeout: Duration::from_millis(100),
        };
        let slow = || async {
            tokio::time::sleep(Duration::from_millis(400)).await;
            "late"
        };
        let app = Router::new()
            .route("/v1/status", get(slow))
            .route("/v1/events", get(slow))
            .layer(axum::middleware::from_fn_with_state(limits, time_limit));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        // reqwest has no TLS provider of its own; the SDK installs ring's.
        xinlian_sdk::tls::use_ring();
        let status = reqwest::get(format!("{url}/v1/status")).await.unwrap();
        assert_eq!(status.status(), 503);
        let body: serde_json::Value = status.json().await.unwrap();
        assert_eq!(body["error"]["code"], "request_timeout");
        let events = reqwest::get(format!("{url}/v1/events")).await.unwrap();
        assert_eq!(events.status(), 200);
        assert_eq!(events.text().await.unwrap(), "late");
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after(Duration::from_millis(1)), "1");
        assert_eq!(retry_after(Duration::ZERO), "1");
        assert_eq!(retry_after(Duration::from_millis(2_001)), "3");
        assert_eq!(retry_after(Duration::from_secs(2)), "2");
    }
}
