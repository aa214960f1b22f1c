//! Refused requests as audit records: an authenticated caller's refused
//! attempt is appended, as a `RequestRefused` event, to the `refused`
//! stream (docs/adr/0006-refusals-and-time-travel-in-the-controller.md).
//! It goes through the same group commit as every decision, so it is
//! durable before the error answer leaves, and it changes no aggregate
//! and no read model.

use crate::app::{App, RequestMeta};
use domain::event::RequestRefused;
use domain::{Event, StreamId};
use eventlog::{AppendError, ExpectedVersion, NewEvent, StreamAppend};

impl App {
    /// Stores that `meta`'s caller was refused `action`; returns the
    /// record's position once it is durable.
    pub async fn record_refusal(
        &self,
        action: &str,
        meta: &RequestMeta,
        refusal: RequestRefused,
    ) -> Result<u64, AppendError> {
        let event = Event::RequestRefused(refusal);
        let append = StreamAppend {
            stream: StreamId::refused().to_string(),
            // No decision reads this stream: refusals never conflict.
            expected: ExpectedVersion::Any,
            events: vec![NewEvent {
                event_type: event.type_name().to_owned(),
                schema: event.schema(),
                payload: event.encode(),
            }],
        };
        Ok(self.log.append(meta.metadata(action), vec![append]).await?.last)
    }
}
