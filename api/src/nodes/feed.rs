//! `GET /node/feed?from=N&wait=S`: the stored records of the instances
//! placed on the calling node, and the placements elsewhere of those that
//! were (see [`concerns`]), from position `N` (see
//! docs/adr/0007-node-protocol.md).
//!
//! Two ways to find them, one answer:
//!
//! - **Near the head** (at most one page behind, or caught up and long
//!   polling): the records from `N` are scanned (or waited for) and those
//!   of the node's instances kept. `x-yukari-next` is one past the last
//!   record looked at.
//! - **Far behind** (a node starting on a long log): the node's instances
//!   are read from the read models, once they have folded the log up to
//!   its head `H` as it was when the call came in, and their streams'
//!   records within `N..=H` are found through the stream index and merged
//!   by position ([`eventlog::EventLog::raw_stream_records`]). The cost is
//!   that of the node's records, not of the log. `x-yukari-next` is one
//!   past the last record sent when the page is full, else `H + 1`.
//!
//! Why nothing is skipped: an instance is placed in the same append as its
//! first record, so every instance with a record at or below `H` is known
//! to the read models once they reach `H`; one placed later has all its
//! records above `H`, hence at or after `next`. One moved to another node
//! (started there after a stop) is served as the read models place it when
//! the page is made: its later records go to its new node, which reads the
//! earlier ones through `GET /node/history`, and its placements elsewhere
//! to the nodes it left.

use crate::admin::Refusal;
use crate::admin::wire as frames;
use crate::app::App;
use axum::http::StatusCode;
use domain::{NodeId, ParsedStream, StreamId};
use std::time::Duration;

/// Records per page: looked at (scan) or sent (index).
pub const FEED_PAGE: usize = 8192;

/// How a node far behind is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Through the stream index when more than a page behind.
    Auto,
    /// Always by scanning the log (as before the index; the benchmark's
    /// baseline).
    ScanOnly,
}

/// One answer of the feed: frames of the node's records, and where to ask
/// next.
#[derive(Debug)]
pub struct FeedPage {
    /// The node's records, in the frames of `/admin/log`.
    pub body: Vec<u8>,
    /// How many records `body` holds.
    pub sent: usize,
    pub next: u64,
    /// Found through the stream index.
    pub indexed: bool,
}

fn unavailable(e: impl ToString) -> Refusal {
    Refusal(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
}

/// The page of `node`'s records from `from`, `page` records at most,
/// waiting up to `wait` when there is nothing new.
pub async fn page(
    app: &App,
    node: &NodeId,
    from: u64,
    wait: Duration,
    page: usize,
    lookup: Lookup,
) -> Result<FeedPage, Refusal> {
    let from = from.max(1);
    let head = app.log.head();
    let far_behind = lookup == Lookup::Auto && from <= head && head - from >= page as u64;
    let (records, next) = if far_behind {
        indexed(app, node, from, head, page).await?
    } else {
        near_head(app, from, head, wait, page).await?
    };
    // Placements are read from the read models: they must have seen these
    // records (an instance is placed in the same append as its request).
    if let Some((last, _)) = records.last() {
        app.projections.wait_for(*last).await.map_err(unavailable)?;
    }
    let (mut body, mut sent) = (Vec::new(), 0);
    let models = app.projections.read();
    for (position, record) in &records {
        let envelope = eventlog::decode_record(*position, record)
            .map_err(|e| Refusal(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        if concerns(&models, node, &envelope) {
            frames::encode(&mut body, *position, record);
            sent += 1;
        }
    }
    Ok(FeedPage { body, sent, next, indexed: far_behind })
}

/// Is the record `envelope` one for `node`'s feed: a record of an instance
/// placed on `node`, or the placement elsewhere of one that was (a stopped
/// instance started on another node while `node` was cut off), which tells
/// `node` to let its guest go. Placements are those of the read models now:
/// the instance's earlier records go to the node it is on (which adopts
/// them, see `GET /node/history`), not to the one it left.
pub fn concerns(
    models: &projections::ReadModels,
    node: &NodeId,
    envelope: &eventlog::EnvelopeRef<'_>,
) -> bool {
    let Some(row) = ParsedStream::instance(envelope.stream).and_then(|id| models.instances.get(id.as_str()))
    else {
        return false;
    };
    if row.node.as_ref() == Some(node) {
        return true;
    }
    row.moved_from.contains(node)
        && envelope.event_type == "InstancePlaced"
        && matches!(
            domain::Event::decode(envelope.event_type, envelope.schema, envelope.payload),
            Ok(domain::Event::InstancePlaced(placed)) if &placed.node != node
        )
}

type Records = Vec<(u64, std::sync::Arc<[u8]>)>;

/// Every record of `node`'s instances up to the log's head as it is now,
/// in log order, through the stream index in one pass, with that head:
/// what the node of `yukari up` (in the controller's process) folds when
/// it starts, before it follows the log. Its cost is that of the node's
/// records, not the log's length.
pub async fn catch_up(app: &App, node: &NodeId) -> Result<(Records, u64), Refusal> {
    let head = app.log.head();
    let (records, _) = indexed(app, node, 1, head, usize::MAX).await?;
    Ok((records, head))
}

/// Every record from `from` (up to `page`), waiting for new ones when
/// caught up; `next` is one past the last.
async fn near_head(
    app: &App,
    from: u64,
    head: u64,
    wait: Duration,
    page: usize,
) -> Result<(Records, u64), Refusal> {
    let records: Records = if from > head {
        if wait.is_zero() {
            Vec::new()
        } else {
            let mut subscription = app.log.subscribe(from).with_batch(page);
            match tokio::time::timeout(wait, subscription.next_batch()).await {
                Ok(Ok(batch)) => batch.raw().map(|(p, r)| (p, std::sync::Arc::from(r))).collect(),
                Ok(Err(e)) => return Err(unavailable(e)),
                Err(_) => Vec::new(),
            }
        }
    } else {
        let log = app.log.clone();
        tokio::task::spawn_blocking(move || log.raw_records(from, page))
            .await
            .map_err(unavailable)?
            .map_err(unavailable)?
    };
    let next = records.last().map_or(from, |(p, _)| p + 1);
    Ok((records, next))
}

/// The records of `node`'s instances within `from..=head` (up to `page`),
/// through the stream index.
async fn indexed(
    app: &App,
    node: &NodeId,
    from: u64,
    head: u64,
    page: usize,
) -> Result<(Records, u64), Refusal> {
    app.projections.wait_for(head).await.map_err(unavailable)?;
    // A pass over the instances in memory (no index by node in the read
    // models: their snapshot format stays as it is).
    let streams: Vec<String> = {
        let models = app.projections.read();
        models
            .instances
            .rows
            .values()
            .filter(|row| row.node.as_ref() == Some(node) || row.moved_from.contains(node))
            .map(|row| StreamId::instance(&row.id).as_str().to_owned())
            .collect()
    };
    let log = app.log.clone();
    let records = tokio::task::spawn_blocking(move || log.raw_stream_records(&streams, from, head, page))
        .await
        .map_err(unavailable)?
        .map_err(unavailable)?;
    let next = match records.last() {
        Some((last, _)) if records.len() >= page => last + 1,
        _ => head + 1,
    };
    Ok((records, next))
}
