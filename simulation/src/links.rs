//! What stands for the wire between the controller and a simulated host:
//! the views it is handed, as the controller's long polls give them, and
//! the reports it makes, waiting in an outbox (with whatever carries their
//! answer) until the simulator delivers them.

use controller_link::volume_sync::{RECONCILE_EVERY, View};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::watch;

/// The views the controller handed a host, the last one kept.
pub struct Views<V>(watch::Sender<Option<V>>);

impl<V: View + Clone + Send + Sync> Views<V> {
    pub fn new() -> (Views<V>, watch::Receiver<Option<V>>) {
        let (sender, receiver) = watch::channel(None);
        (Views(sender), receiver)
    }

    /// Hands over `view` if it is newer than the last one.
    pub fn hand(&self, view: V) {
        self.0.send_if_modified(|now| {
            let newer = now.as_ref().is_none_or(|n| n.position() < view.position());
            if newer {
                *now = Some(view);
            }
            newer
        });
    }
}

/// A view newer than `have` once there is one, or the last one after a
/// while (as the controller's long poll answers).
pub async fn next_view<V: View + Clone>(
    mut views: watch::Receiver<Option<V>>,
    have: u64,
) -> anyhow::Result<V> {
    let newer = views.wait_for(|v| v.as_ref().is_some_and(|v| v.position() > have));
    if let Ok(Ok(view)) = tokio::time::timeout(RECONCILE_EVERY, newer).await {
        return Ok(view.clone().expect("a view"));
    }
    views.borrow().clone().ok_or_else(|| anyhow::anyhow!("no view handed over yet"))
}

/// Reports on their way to the controller.
pub struct Outbox<T>(Arc<Mutex<Vec<T>>>);

impl<T> Clone for Outbox<T> {
    fn clone(&self) -> Self {
        Outbox(self.0.clone())
    }
}

impl<T> Default for Outbox<T> {
    fn default() -> Self {
        Outbox(Arc::default())
    }
}

impl<T> Outbox<T> {
    fn lock(&self) -> MutexGuard<'_, Vec<T>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn push(&self, report: T) {
        self.lock().push(report);
    }

    /// The next report to deliver, drawn by `pick` (of the number
    /// waiting), if any.
    pub fn take(&self, pick: impl FnOnce(usize) -> usize) -> Option<T> {
        let mut waiting = self.lock();
        if waiting.is_empty() {
            return None;
        }
        let index = pick(waiting.len());
        Some(waiting.swap_remove(index))
    }
}

/// Waits for a report's answer; a lost one (the simulator dropped it) is
/// `lost`.
pub async fn answer<A>(answered: tokio::sync::oneshot::Receiver<A>, lost: impl FnOnce() -> A) -> A {
    answered.await.unwrap_or_else(|_| lost())
}
