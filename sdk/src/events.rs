//! The node's event stream, `GET /v1/events` (Server-Sent Events): committed blocks with their
//! receipts, and transactions the mempool dropped.

use std::pin::Pin;

use eventsource_stream::{EventStreamError, Eventsource};
use futures_util::{Stream, StreamExt};
use xinlian_core::api::{BlockEvent, ErrorBody, LaggedEvent, RejectedEvent};

use crate::{Result, SdkError};

/// One event from a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainEvent {
    /// A committed block, with a receipt per transaction.
    Block(BlockEvent),
    /// A transaction left the mempool without entering a block.
    Rejected(RejectedEvent),
    /// The stream fell behind and missed some rejections (never blocks).
    Lagged(LaggedEvent),
}

type RawEvents = Pin<
    Box<
        dyn Stream<
                Item = std::result::Result<
                    eventsource_stream::Event,
                    EventStreamError<reqwest::Error>,
                >,
            > + Send,
    >,
>;

/// An open event stream; [`EventStream::next`] waits for the next event.
pub struct EventStream {
    inner: RawEvents,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EventStream")
    }
}

impl EventStream {
    pub(crate) fn new(response: reqwest::Response) -> Self {
        EventStream {
            inner: Box::pin(response.bytes_stream().eventsource()),
        }
    }

    /// The next event; `None` when the node closed the stream. Keep-alive comments are skipped.
    pub async fn next(&mut self) -> Option<Result<ChainEvent>> {
        loop {
            let event = match self.inner.next().await? {
                Ok(event) => event,
                Err(EventStreamError::Transport(e)) => {
                    return Some(Err(crate::client::transport(e)));
                }
                Err(e) => return Some(Err(SdkError::Decode(e.to_string()))),
            };
            let parsed = match event.event.as_str() {
                "block" => decode(&event.data).map(ChainEvent::Block),
                "rejected" => decode(&event.data).map(ChainEvent::Rejected),
                "lagged" => decode(&event.data).map(ChainEvent::Lagged),
                "error" => decode::<ErrorBody>(&event.data).and_then(|error| {
                    Err(SdkError::Node {
                        status: 200,
                        code: error.code,
                        message: error.message,
                    })
                }),
                // Event kinds a newer node may add are not this client's business.
                _ => continue,
            };
            return Some(parsed);
        }
    }
}

fn decode<T: serde::de::DeserializeOwned>(data: &str) -> Result<T> {
    serde_json::from_str(data).map_err(|e| SdkError::Decode(format!("event data: {e}")))
}
