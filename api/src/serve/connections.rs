//! The open connections of one listener: which are answering a request
//! and, for the others, since when they have been idle, so that at the
//! cap the connection idle the longest makes room for a new one.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;

/// One listener's connections.
#[derive(Default)]
pub(super) struct Connections {
    table: Mutex<Table>,
    /// A connection closed or went idle: there may be room now.
    changed: Notify,
}

#[derive(Default)]
struct Table {
    next: u64,
    open: HashMap<u64, Slot>,
    /// The idle connections (answering no request), oldest first.
    idle: BTreeSet<(Instant, u64)>,
    /// Connections asked to close that have not closed yet.
    closing: usize,
}

struct Slot {
    /// When it went idle (opened or answered its last request); `None`
    /// while it answers one.
    idle_since: Option<Instant>,
    answering: usize,
    /// Requests handed to the router so far.
    requests: u64,
    /// Tells the connection to close; taken when it is asked to.
    close: Option<oneshot::Sender<()>>,
}

/// A connection let in: its place in the table (given back on drop) and
/// the signal it is asked to close on.
pub(super) struct Admitted {
    pub tracker: Tracker,
    pub close: oneshot::Receiver<()>,
    /// A connection idle the longest was asked to close to make room.
    pub evicted: bool,
}

impl Table {
    fn live(&self) -> usize {
        self.open.len() - self.closing
    }

    /// Asks the connection idle the longest to close; false if none is idle.
    fn evict_idlest(&mut self) -> bool {
        let Some((_, id)) = self.idle.pop_first() else { return false };
        let slot = self.open.get_mut(&id).expect("an idle connection is open");
        slot.idle_since = None;
        if let Some(close) = slot.close.take() {
            let _ = close.send(());
            self.closing += 1;
        }
        true
    }

    fn ask_to_close(&mut self, id: u64) {
        let slot = self.open.get_mut(&id).expect("an open connection");
        if let Some(since) = slot.idle_since.take() {
            self.idle.remove(&(since, id));
        }
        if let Some(close) = slot.close.take() {
            let _ = close.send(());
            self.closing += 1;
        }
    }
}

impl Connections {
    fn table(&self) -> MutexGuard<'_, Table> {
        self.table.lock().expect("connections lock")
    }

    /// Lets a new connection in once fewer than `cap` are open (not
    /// counting those asked to close), asking the one idle the longest to
    /// close if there are `cap`. Waits while all `cap` answer requests.
    pub async fn admit(self: &Arc<Self>, cap: usize) -> Admitted {
        let cap = cap.max(1);
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let mut table = self.table();
                let evicted = table.live() >= cap && table.evict_idlest();
                if table.live() < cap {
                    let id = table.next;
                    table.next += 1;
                    let now = Instant::now();
                    let (tell, close) = oneshot::channel();
                    table.open.insert(
                        id,
                        Slot { idle_since: Some(now), answering: 0, requests: 0, close: Some(tell) },
                    );
                    table.idle.insert((now, id));
                    let tracker = Tracker { connections: self.clone(), id };
                    return Admitted { tracker, close, evicted };
                }
            }
            changed.await;
        }
    }

    /// Asks the connection idle the longest to close (to free its file
    /// descriptor); false if none is idle.
    pub fn evict_idlest(&self) -> bool {
        self.table().evict_idlest()
    }

    /// Asks every connection to close.
    pub fn close_all(&self) {
        let mut table = self.table();
        let ids: Vec<u64> = table.open.keys().copied().collect();
        for id in ids {
            table.ask_to_close(id);
        }
    }

    /// Returns once no connection is open.
    pub async fn all_closed(&self) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.table().open.is_empty() {
                return;
            }
            changed.await;
        }
    }
}

/// A connection's place in the table, given back when dropped.
pub(super) struct Tracker {
    connections: Arc<Connections>,
    id: u64,
}

impl Tracker {
    /// A request starts: the connection is busy until the guard (held by
    /// the response body, which the server drops once it is sent) drops.
    pub fn answering(self: &Arc<Self>) -> Answering {
        let mut table = self.connections.table();
        let table = &mut *table;
        let slot = table.open.get_mut(&self.id).expect("a tracked connection is open");
        slot.answering += 1;
        slot.requests += 1;
        if let Some(since) = slot.idle_since.take() {
            table.idle.remove(&(since, self.id));
        }
        Answering(self.clone())
    }

    /// Has no request reached the router on this connection yet?
    pub fn untouched(&self) -> bool {
        self.connections.table().open.get(&self.id).is_some_and(|slot| slot.requests == 0)
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        let mut table = self.connections.table();
        if let Some(slot) = table.open.remove(&self.id) {
            if let Some(since) = slot.idle_since {
                table.idle.remove(&(since, self.id));
            }
            if slot.close.is_none() {
                table.closing -= 1;
            }
        }
        drop(table);
        self.connections.changed.notify_waiters();
    }
}

/// A request being answered on a connection.
pub(super) struct Answering(Arc<Tracker>);

impl Drop for Answering {
    fn drop(&mut self) {
        let tracker = &self.0;
        let idle = {
            let mut guard = tracker.connections.table();
            let table = &mut *guard;
            let Some(slot) = table.open.get_mut(&tracker.id) else { return };
            slot.answering -= 1;
            // One asked to close is not idle: it closes once this answer is sent.
            let idle = slot.answering == 0 && slot.close.is_some();
            if idle {
                let now = Instant::now();
                slot.idle_since = Some(now);
                table.idle.insert((now, tracker.id));
            }
            idle
        };
        if idle {
            tracker.connections.changed.notify_waiters();
        }
    }
}
