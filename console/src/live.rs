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
use std::convert::Infallible;
use std::sync::Arc;

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
    let start = Watch { console, token, render, position: since, last: None, over: false };
    futures::stream::unfold(start, |mut w| async move {
        if w.over {
            return None;
        }
        loop {
            let projections = w.console.app.projections.clone();
            if projections.position() <= w.position {
                let mut stopping = w.console.stopping.clone();
                tokio::select! {
                    moved = projections.wait_for(w.position + 1) => {
                        if moved.is_err() {
                            return None;
                        }
                    }
                    _ = stopping.wait_for(|s| *s) => return None,
                }
            }
            if !w.console.sessions.alive_token(&w.token) {
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
