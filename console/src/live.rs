//! Live pages: server-sent events that carry a page's live part (the
//! instance list's rows, an instance's status, the volume and snapshot
//! lists' rows, the bucket list's rows) rendered again whenever
//! the read models move past the position the page was rendered at. No
//! timer re-fetches anything: a stream sleeps until the read models apply
//! a new batch of the log (`Projections::wait_for`), renders its part from
//! them, and sends it only if it changed. `static/console.js` puts what
//! arrives in place.
//!
//! A stream ends when its session is over (it sends `signed-out` first, and
//! the page reloads into the sign-in form), when the server stops, or when
//! the read models stop following the log. Watching does not keep a
//! session alive: only what the user does does.
//!
//! A session has at most [`STREAMS_PER_SESSION`] streams open: a new one
//! ends the session's oldest (most likely a tab left behind the longest),
//! which sends `superseded` first; its page then stops following until it
//! is shown again, and opens a stream anew then (`static/console.js`).
//! Refusing the new one instead would leave the tab the user is looking at
//! without updates, and a browser's EventSource would retry it for ever.

use crate::Console;
use crate::pages::instances::{ListQuery, Rows, Status, detail, page_of};
use crate::pages::{PageQuery, Signed};
use crate::pages::{buckets, snapshots as snaps, volumes as vols};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures::Stream;
use projections::ReadModels;
use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// Live streams one session may have open at once.
pub(crate) const STREAMS_PER_SESSION: usize = 8;

/// The open live streams of each session (by its token's SHA-256), oldest
/// first, each with the signal that ends it.
#[derive(Default)]
pub(crate) struct Streams {
    table: Mutex<StreamTable>,
}

#[derive(Default)]
struct StreamTable {
    next: u64,
    open: HashMap<[u8; 32], VecDeque<(u64, oneshot::Sender<()>)>>,
}

impl Streams {
    fn table(&self) -> std::sync::MutexGuard<'_, StreamTable> {
        self.table.lock().expect("live streams lock")
    }

    /// A new stream of `token`'s session, ending its oldest if it has
    /// [`STREAMS_PER_SESSION`]: its id, and the signal it is ended on.
    fn open(&self, token: &str) -> (u64, oneshot::Receiver<()>) {
        let mut table = self.table();
        let id = table.next;
        table.next += 1;
        let streams = table.open.entry(crate::sessions::digest(token)).or_default();
        while streams.len() >= STREAMS_PER_SESSION {
            if let Some((_, end)) = streams.pop_front() {
                let _ = end.send(());
            }
        }
        let (end, ended) = oneshot::channel();
        streams.push_back((id, end));
        (id, ended)
    }

    /// Stream `id` of `token`'s session is over.
    fn close(&self, token: &str, id: u64) {
        let mut table = self.table();
        let key = crate::sessions::digest(token);
        if let Some(streams) = table.open.get_mut(&key) {
            streams.retain(|(i, _)| *i != id);
            if streams.is_empty() {
                table.open.remove(&key);
            }
        }
    }

    /// How many streams `token`'s session has open.
    #[cfg(test)]
    pub(crate) fn count(&self, token: &str) -> usize {
        self.table().open.get(&crate::sessions::digest(token)).map_or(0, VecDeque::len)
    }
}

/// A stream's place among its session's, given back when the stream is
/// dropped (the browser went away, or it ended).
struct Registered {
    console: Arc<Console>,
    token: String,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.console.streams.close(&self.token, self.id);
    }
}

pub(crate) fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route("/live/instances", get(list))
        .route("/live/instances/{id}", get(one))
        .route("/live/volumes", get(volumes))
        .route("/live/snapshots", get(snapshots))
        .route("/live/buckets", get(bucket_list))
}

#[derive(serde::Deserialize)]
struct Since {
    /// The read models' position the page was rendered at.
    #[serde(default)]
    since: u64,
}

/// Where a stream is.
struct Watch<R> {
    console: Arc<Console>,
    token: String,
    render: R,
    /// The position last rendered at.
    position: u64,
    last: Option<String>,
    over: bool,
    /// Fires when a newer stream of the session takes this one's place.
    ended: oneshot::Receiver<()>,
    _registered: Registered,
}

/// The events of one live part: `render` of the read models each time
/// they move past `since` and it changed.
fn updates<R>(
    console: Arc<Console>,
    token: String,
    since: u64,
    render: R,
) -> impl Stream<Item = Result<Event, Infallible>>
where
    R: Fn(&ReadModels) -> Option<String> + Send + 'static,
{
    let (id, ended) = console.streams.open(&token);
    let registered = Registered { console: console.clone(), token: token.clone(), id };
    let start = Watch {
        console,
        token,
        render,
        position: since,
        last: None,
        over: false,
        ended,
        _registered: registered,
    };
    let superseded = || Ok(Event::default().event("superseded").data("-"));
    futures::stream::unfold(start, move |mut w| async move {
        if w.over {
            return None;
        }
        loop {
            if w.ended.try_recv().is_ok() {
                w.over = true;
                return Some((superseded(), w));
            }
            let projections = w.console.app.projections.clone();
            if projections.position() <= w.position {
                let mut stopping = w.console.stopping.clone();
                tokio::select! {
                    moved = projections.wait_for(w.position + 1) => {
                        if moved.is_err() {
                            return None;
                        }
                    }
                    Ok(()) = &mut w.ended => {
                        w.over = true;
                        return Some((superseded(), w));
                    }
                    _ = stopping.wait_for(|s| *s) => return None,
                }
            }
            if !w.console.signed_in(&w.token) {
                w.over = true;
                return Some((Ok(Event::default().event("signed-out").data("-")), w));
            }
            let (position, html) = {
                let models = projections.read();
                (models.position, (w.render)(&models))
            };
            w.position = position;
            let Some(html) = html else {
                w.over = true;
                return Some((Ok(Event::default().event("gone").data("-")), w));
            };
            if w.last.as_ref() != Some(&html) {
                w.last = Some(html.clone());
                return Some((Ok(Event::default().event("update").data(html)), w));
            }
        }
    })
}

fn rendered(template: &impl Template) -> Option<String> {
    template.render().map_err(|e| tracing::error!(error = %e, "a live part did not render")).ok()
}

/// The rows of the instance list for these filters and this page.
async fn list(
    State(console): State<Arc<Console>>,
    signed: Signed,
    Query(query): Query<ListQuery>,
    Query(since): Query<Since>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let (tr, account, size) = (signed.tr, signed.session.account.clone(), console.config.page_size);
    let render = move |models: &ReadModels| {
        let (rows, _) = page_of(&tr, models, &account, &query, size);
        rendered(&Rows { t: tr, rows })
    };
    Sse::new(updates(console, signed.token, since.since, render)).keep_alive(KeepAlive::default())
}

/// One instance's status and actions.
async fn one(
    State(console): State<Arc<Console>>,
    signed: Signed,
    Path(id): Path<String>,
    Query(since): Query<Since>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let (tr, account, csrf) = (signed.tr, signed.session.account.clone(), signed.session.csrf.clone());
    let render = move |models: &ReadModels| {
        let d = detail(&tr, models, &account, &id)?;
        rendered(&Status { t: tr, csrf: csrf.clone(), d })
    };
    Sse::new(updates(console, signed.token, since.since, render)).keep_alive(KeepAlive::default())
}

/// The rows of the volume list.
async fn volumes(
    State(console): State<Arc<Console>>,
    signed: Signed,
    Query(page): Query<PageQuery>,
    Query(since): Query<Since>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let (tr, account, csrf) = (signed.tr, signed.session.account.clone(), signed.session.csrf.clone());
    let size = console.config.page_size;
    let render = move |models: &ReadModels| {
        let (volumes, _) = vols::volumes_of(&tr, models, &account, &page, size);
        rendered(&vols::Rows { t: tr, csrf: csrf.clone(), volumes, devices: vols::DEVICES })
    };
    Sse::new(updates(console, signed.token, since.since, render)).keep_alive(KeepAlive::default())
}

/// The rows of the snapshot list.
async fn snapshots(
    State(console): State<Arc<Console>>,
    signed: Signed,
    Query(page): Query<PageQuery>,
    Query(since): Query<Since>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let (tr, account, csrf) = (signed.tr, signed.session.account.clone(), signed.session.csrf.clone());
    let size = console.config.page_size;
    let render =
        move |models: &ReadModels| rendered(&snaps::rows(tr, csrf.clone(), models, &account, &page, size).0);
    Sse::new(updates(console, signed.token, since.since, render)).keep_alive(KeepAlive::default())
}

/// The rows of the bucket list (objects' counts and sizes as they change).
async fn bucket_list(
    State(console): State<Arc<Console>>,
    signed: Signed,
    Query(since): Query<Since>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let (tr, account, csrf) = (signed.tr, signed.session.account.clone(), signed.session.csrf.clone());
    let render = move |models: &ReadModels| {
        let buckets = buckets::buckets_of(&tr, models, &account);
        rendered(&buckets::Rows { t: tr, csrf: csrf.clone(), buckets })
    };
    Sse::new(updates(console, signed.token, since.since, render)).keep_alive(KeepAlive::default())
}
