//! A node executor's link to a controller on another host: the node feed
//! as the executor's record source, node reports over HTTP, and the
//! heartbeat that also pushes console output. All signed with the node's
//! own credentials (see docs/adr/0007-node-protocol.md).
//!
//! Not in `node-executor` (which must not know HTTP) nor in `api` (the
//! server side): it is the glue between the two, using `api`'s signing
//! client and wire types.

use api::admin::client::{AdminClient, AdminClientError};
use api::nodes::wire::{HeartbeatBody, HeartbeatReply, ReportBody};
use domain::InstanceId;
use domain::command::NodeReport;
use eventlog::{EnvelopeRef, decode_record};
use node_executor::{HypervisorDriver, RecordSource, Records, ReportError, Reporter, SourceError};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Longest long poll of the feed (the controller caps it too).
const FEED_WAIT_SECS: u64 = 10;
/// Longest pause between retries of an unreachable controller.
const MAX_RETRY: Duration = Duration::from_secs(5);

/// Is this a refusal that retrying cannot fix (credentials refused)?
fn fatal(e: &AdminClientError) -> bool {
    matches!(e, AdminClientError::Refused { status: 401 | 403, .. } | AdminClientError::BadUrl(_))
}

/// `call`'s answer, retrying an unreachable (or not yet ready) controller
/// with backoff; only a refusal that retrying cannot fix is an error.
/// `what` names what is read, for the log.
pub(crate) async fn retrying<T, F, Fut>(what: &str, mut call: F) -> Result<T, AdminClientError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AdminClientError>>,
{
    let mut pause = Duration::from_millis(100);
    loop {
        match call().await {
            Ok(answer) => return Ok(answer),
            Err(e) if fatal(&e) => return Err(e),
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?pause, "cannot read {what} from the controller");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_RETRY);
            }
        }
    }
}

/// The controller's node feed, as the executor's record source.
pub struct RemoteFeed {
    client: AdminClient,
    next: u64,
    handle: tokio::runtime::Handle,
}

impl RemoteFeed {
    pub fn new(client: AdminClient) -> Self {
        RemoteFeed { client, next: 1, handle: tokio::runtime::Handle::current() }
    }

    /// One page from `self.next`, retrying an unreachable controller.
    async fn page(&mut self, wait: u64) -> Result<api::admin::client::FeedPage, SourceError> {
        let (client, next) = (&self.client, self.next);
        retrying("the node feed", || client.node_feed(next, wait))
            .await
            .map_err(|e| SourceError::Remote(e.to_string()))
    }
}

impl RecordSource for RemoteFeed {
    fn replay(&mut self, visit: &mut dyn FnMut(&EnvelopeRef<'_>)) -> Result<u64, SourceError> {
        let handle = self.handle.clone();
        loop {
            let page = handle.block_on(self.page(0))?;
            for (position, bytes) in &page.records {
                visit(&decode_record(*position, bytes)?);
            }
            self.next = page.next;
            if page.next > page.head {
                return Ok(page.next - 1);
            }
        }
    }

    fn next_batch(&mut self) -> Pin<Box<dyn Future<Output = Result<Records, SourceError>> + Send + '_>> {
        Box::pin(async move {
            let page = self.page(FEED_WAIT_SECS).await?;
            self.next = page.next;
            Ok(Records::Raw(page.records))
        })
    }

    fn history(
        &mut self,
        stream: String,
        to: u64,
    ) -> Pin<Box<dyn Future<Output = Result<Records, SourceError>> + Send + '_>> {
        Box::pin(async move {
            let client = &self.client;
            let records = retrying("an instance's history", || client.node_history(&stream, to))
                .await
                .map_err(|e| SourceError::Remote(e.to_string()))?;
            Ok(Records::Raw(records))
        })
    }
}

/// The embedded node's record source (the node of `yukari up`, in the
/// controller's process): its start reads its own instances' records
/// through the stream index in one pass (`api::nodes::feed::catch_up`: a
/// start costs the node's records, not the log's length), then it follows
/// the log (`LocalSource`; the fold ignores other nodes' records). As a
/// node on another host, which the feed gives only records the read
/// models hold, it hands on a batch once the read models have folded it:
/// what it then asks of the controller (a bundled image's download
/// manifest, checked against the instance's placement) finds the
/// placement there. (Before, a second guest of a bundled image was once
/// refused as "not placed on this node", in tests/images.rs.)
pub struct LocalFeed {
    app: Arc<api::app::App>,
    node: domain::NodeId,
    following: Option<node_executor::LocalSource>,
    handle: tokio::runtime::Handle,
}

impl LocalFeed {
    pub fn new(app: Arc<api::app::App>, node: domain::NodeId) -> Self {
        LocalFeed { app, node, following: None, handle: tokio::runtime::Handle::current() }
    }
}

impl RecordSource for LocalFeed {
    fn replay(&mut self, visit: &mut dyn FnMut(&EnvelopeRef<'_>)) -> Result<u64, SourceError> {
        let (records, head) = self
            .handle
            .block_on(api::nodes::feed::catch_up(&self.app, &self.node))
            .map_err(|refusal| SourceError::Remote(refusal.1))?;
        for (position, bytes) in &records {
            visit(&decode_record(*position, bytes)?);
        }
        self.following = Some(node_executor::LocalSource::following(self.app.log.clone(), head + 1));
        Ok(head)
    }

    fn next_batch(&mut self) -> Pin<Box<dyn Future<Output = Result<Records, SourceError>> + Send + '_>> {
        Box::pin(async move {
            let log = &self.app.log;
            let following =
                self.following.get_or_insert_with(|| node_executor::LocalSource::following(log.clone(), 1));
            let records = following.next_batch().await?;
            if let Records::Log(batch) = &records {
                self.app
                    .projections
                    .wait_for(batch.last_position())
                    .await
                    .map_err(|stalled| SourceError::Remote(stalled.to_string()))?;
            }
            Ok(records)
        })
    }

    fn history(
        &mut self,
        stream: String,
        to: u64,
    ) -> Pin<Box<dyn Future<Output = Result<Records, SourceError>> + Send + '_>> {
        Box::pin(node_executor::history_in(self.app.log.clone(), stream, to))
    }
}

/// Node reports posted to the controller.
pub struct HttpReporter(pub AdminClient);

impl Reporter for HttpReporter {
    fn report(
        &self,
        report: NodeReport,
    ) -> Pin<Box<dyn Future<Output = Result<(), ReportError>> + Send + '_>> {
        Box::pin(async move {
            let body = serde_json::to_vec(&ReportBody::from_report(&report)).expect("a report encodes");
            match self.0.call("POST", "/node/report", "", body).await {
                Ok(_) => Ok(()),
                Err(AdminClientError::Refused { status: 400..=499, message, .. }) => {
                    Err(ReportError::Refused(message))
                }
                Err(e) => Err(ReportError::Unavailable(e.to_string())),
            }
        })
    }
}

/// Heartbeats every `every` until `stop`; after each, pushes the console
/// output of guests that changed (all of them again after the controller
/// restarted: it keeps consoles in memory only).
pub async fn heartbeat(
    client: AdminClient,
    driver: Arc<dyn HypervisorDriver>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut epoch = None;
    let mut pushed: HashMap<InstanceId, usize> = HashMap::new();
    let mut warned = false;
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            _ = tick.tick() => {}
        }
        let d = driver.clone();
        let guests =
            tokio::task::spawn_blocking(move || d.list().unwrap_or_default()).await.unwrap_or_default();
        let body = serde_json::to_vec(&HeartbeatBody { guests: guests.len() as u32 }).expect("encodes");
        let reply = match client.call("POST", "/node/heartbeat", "", body).await {
            Ok(r) => r.bytes().await.ok().and_then(|b| serde_json::from_slice::<HeartbeatReply>(&b).ok()),
            Err(e) => {
                if !warned {
                    tracing::warn!(error = %e, "heartbeat not delivered; the controller may mark this node unreachable");
                }
                warned = true;
                continue;
            }
        };
        if warned {
            tracing::info!("heartbeats delivered again");
            warned = false;
        }
        if let Some(reply) = reply
            && epoch != Some(reply.epoch)
        {
            epoch = Some(reply.epoch);
            pushed.clear();
        }
        pushed.retain(|id, _| guests.contains(id));
        for id in guests {
            let (d, guest) = (driver.clone(), id.clone());
            let output = tokio::task::spawn_blocking(move || d.console_output(&guest)).await;
            let Ok(Ok(bytes)) = output else { continue };
            if pushed.get(&id) == Some(&bytes.len()) {
                continue;
            }
            let tail = bytes[bytes.len().saturating_sub(api::nodes::liveness::CONSOLE_LIMIT)..].to_vec();
            match client.call("POST", "/node/console", &format!("instance={id}"), tail).await {
                Ok(_) => {
                    pushed.insert(id, bytes.len());
                }
                Err(e) => tracing::debug!(instance = %id, error = %e, "console output not pushed"),
            }
        }
    }
}

/// The metadata token of a guest of this node, from the controller (empty
/// when it cannot be had: the guest then finds no metadata).
pub async fn metadata_token(client: &AdminClient, instance: &InstanceId) -> String {
    let query = format!("instance={instance}");
    match client.call("GET", "/node/metadata-token", &query, Vec::new()).await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(e) => {
            tracing::warn!(%instance, error = %e, "no metadata token for the guest");
            String::new()
        }
    }
}
