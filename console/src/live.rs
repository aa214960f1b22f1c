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
//! A session has at most [`STREAMS_PER_SESSION`] streams open, and a user
//! (an account's user name) at most [`STREAMS_PER_USER`] across all of its
//! sessions, so that one user signed in many times cannot hold the
//! server's connections (its cap is for everyone) and lock the others out.
//! A new stream beyond either cap ends the oldest of that session, or of
//! that user (most likely a tab left behind the longest), which sends
//! `superseded` first; its page then stops following until it is shown
//! again, and opens a stream anew then (`static/console.js`). Refusing the
//! new one instead would leave the tab the user is looking at without
//! updates, and a browser's EventSource would retry it for ever.

use crate::Console;
use crate::pages::instances::{ListQuery, Rows, Status, detail, page_of};
use crate::pages::{PageQuery, Signed};
use crate::pages::{buckets, snapshots as snaps, volumes as vols};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use domain::{AccountId, UserName};
use futures::Stream;
use projections::ReadModels;
use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// Live streams one session may have open at once.
pub(crate) const STREAMS_PER_SESSION: usize = 8;

/// Live streams one user may have open at once, all its sessions together.
pub(crate) const STREAMS_PER_USER: usize = 32;

/// Whose a stream is: its session (its token's SHA-256) and its user.
#[derive(Clone, Debug)]
pub(crate) struct Owner {
    session: [u8; 32],
    user: (AccountId, UserName),
}

impl Owner {
    pub(crate) fn of(token: &str, account: &AccountId, user: &UserName) -> Owner {
        Owner { session: crate::sessions::digest(token), user: (account.clone(), user.clone()) }
    }
}

/// The open live streams, each with the signal that ends it, and their ids
/// by session and by user, oldest first.
#[derive(Default)]
pub(crate) struct Streams {
    table: Mutex<StreamTable>,
}

#[derive(Default)]
struct StreamTable {
    next: u64,
    ends: HashMap<u64, (Owner, oneshot::Sender<()>)>,
    by_session: HashMap<[u8; 32], VecDeque<u64>>,
    by_user: HashMap<(AccountId, UserName), VecDeque<u64>>,
}

impl StreamTable {
    /// Forgets stream `id`; its signal, if it was open.
    fn remove(&mut self, id: u64) -> Option<oneshot::Sender<()>> {
        let (owner, end) = self.ends.remove(&id)?;
        forget(&mut self.by_session, &owner.session, id);
        forget(&mut self.by_user, &owner.user, id);
        Some(end)
    }

    /// Ends the oldest of `ids` while there are `cap` or more.
    fn make_room(&mut self, ids: impl Fn(&Self) -> Option<&VecDeque<u64>>, cap: usize) {
        while let Some(oldest) = ids(self).filter(|ids| ids.len() >= cap).and_then(|ids| ids.front().copied())
        {
            if let Some(end) = self.remove(oldest) {
                let _ = end.send(());
            }
        }
    }
}

/// Takes `id` out of `key`'s ids (and `key` out of `map` when none are left).
fn forget<K: Eq + std::hash::Hash>(map: &mut HashMap<K, VecDeque<u64>>, key: &K, id: u64) {
    if let Some(ids) = map.get_mut(key) {
        ids.retain(|i| *i != id);
        if ids.is_empty() {
            map.remove(key);
        }
    }
}

impl Streams {
    fn table(&self) -> std::sync::MutexGuard<'_, StreamTable> {
        self.table.lock().expect("live streams lock")
    }

    /// A new stream of `owner`, ending its session's oldest if that has
    /// [`STREAMS_PER_SESSION`] and its user's oldest if that has
    /// [`STREAMS_PER_USER`]: its id, and the signal it is ended on.
    fn open(&self, owner: Owner) -> (u64, oneshot::Receiver<()>) {
        let mut table = self.table();
        let id = table.next;
        table.next += 1;
        table.make_room(|t| t.by_session.get(&owner.session), STREAMS_PER_SESSION);
        table.make_room(|t| t.by_user.get(&owner.user), STREAMS_PER_USER);
        table.by_session.entry(owner.session).or_default().push_back(id);
        table.by_user.entry(owner.user.clone()).or_default().push_back(id);
        let (end, ended) = oneshot::channel();
        table.ends.insert(id, (owner, end));
        (id, ended)
    }

    /// Stream `id` is over.
    fn close(&self, id: u64) {
        self.table().remove(id);
    }

    /// How many streams `token`'s session has open.
    #[cfg(test)]
    pub(crate) fn count(&self, token: &str) -> usize {
        self.table().by_session.get(&crate::sessions::digest(token)).map_or(0, VecDeque::len)
    }

    /// How many streams `user` of `account` has open, all its sessions together.
    #[cfg(test)]
    pub(crate) fn count_of_user(&self, account: &AccountId, user: &UserName) -> usize {
        self.table().by_user.get(&(account.clone(), user.clone())).map_or(0, VecDeque::len)
    }

    /// How many streams are open in all.
    #[cfg(test)]
    pub(crate) fn total(&self) -> usize {
        self.table().ends.len()
    }
}

/// A stream's place among its session's and its user's, given back when
/// the stream is dropped (the browser went away, or it ended).
struct Registered {
    console: Arc<Console>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.console.streams.close(self.id);
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
    /// Fires when a newer stream of the session or of the user takes this
    /// one's place.
    ended: oneshot::Receiver<()>,
    _registered: Registered,
}

/// The events of one live part for `signed`: `render` of the read models
/// each time they move past `since` and it changed.
fn updates<R>(
    console: Arc<Console>,
    signed: Signed,
    since: u64,
    render: R,
) -> impl Stream<Item = Result<Event, Infallible>>
where
    R: Fn(&ReadModels) -> Option<String> + Send + 'static,
{
    let owner = Owner::of(&signed.token, &signed.session.account, &signed.session.user);
    let (id, ended) = console.streams.open(owner);
    let registered = Registered { console: console.clone(), id };
    let start = Watch {
        console,
        token: signed.token,
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
    Sse::new(updates(console, signed, since.since, render)).keep_alive(KeepAlive::default())
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
    Sse::new(updates(console, signed, since.since, render)).keep_alive(KeepAlive::default())
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
    Sse::new(updates(console, signed, since.since, render)).keep_alive(KeepAlive::default())
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
    Sse::new(updates(console, signed, since.since, render)).keep_alive(KeepAlive::default())
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
    Sse::new(updates(console, signed, since.since, render)).keep_alive(KeepAlive::default())
}
