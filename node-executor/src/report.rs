//! The reporting seam: how the executor tells the controller what really
//! happened to a guest, and how long it waits before trying again.
//!
//! It must not know how reports travel (in-process call now, HTTP later)
//! nor how the controller decides them.

use domain::command::NodeReport;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// Sends node reports to the controller.
pub trait Reporter: Send + Sync + 'static {
    /// Submits a node report as a command to the controller; resolves when
    /// it was decided and stored.
    fn report(
        &self,
        report: NodeReport,
    ) -> Pin<Box<dyn Future<Output = Result<(), ReportError>> + Send + '_>>;
}

/// Why a report did not go through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    /// The controller refused it (e.g. stale: the instance is no longer in
    /// that state). Logged, never retried.
    #[error("report refused: {0}")]
    Refused(String),
    /// The controller could not be reached or failed. Retried with backoff.
    #[error("controller unavailable: {0}")]
    Unavailable(String),
}

/// Capped exponential backoff: 50 ms, 100 ms, 200 ms … up to 5 s.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    next: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(50);
    const MAX: Duration = Duration::from_secs(5);

    pub(crate) fn new() -> Self {
        Backoff { next: Self::FIRST }
    }

    /// The delay to wait now; the following one is twice as long, capped.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let mut b = Backoff::new();
        let delays: Vec<_> = (0..10).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(delays, vec![50, 100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
    }
}
