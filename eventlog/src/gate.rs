//! A gate before the writer's group commit, for the deterministic
//! simulator: which jobs share a batch is otherwise a matter of thread
//! timing (the writer takes every job waiting when it wakes). A simulator
//! running requests concurrently closes the gate, lets its clients queue
//! their jobs, and opens it for one batch at a time once every client that
//! has not been answered is waiting on the writer; so one seed gives one
//! grouping, one order, and one sequence of disk operations.
//!
//! Open (the default), the gate changes nothing: the writer goes on as
//! without one. The gate is not part of what a log promises: another
//! backend need not have one.

use std::sync::{Arc, Condvar, Mutex};

/// Shared by a log's callers, its writer thread and the simulator.
#[derive(Clone, Default)]
pub struct BatchGate(Arc<(Mutex<GateState>, Condvar)>);

#[derive(Default)]
struct GateState {
    /// The writer waits for a permit before each batch.
    closed: bool,
    /// Batches the writer may take while closed.
    permits: u64,
    /// Jobs delivered to the writer's queue so far.
    submitted: u64,
    /// Jobs the writer has taken into batches so far.
    taken: u64,
    /// Jobs of batches the writer has run (committed or failed) and
    /// answered, every job of each.
    answered: u64,
}

impl std::fmt::Debug for BatchGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.state();
        write!(f, "BatchGate(closed {}, waiting {}, answered {})", s.closed, s.waiting(), s.answered)
    }
}

impl GateState {
    fn waiting(&self) -> u64 {
        // Open, the writer may take a job before its sender counts it.
        self.submitted.saturating_sub(self.taken)
    }
}

impl BatchGate {
    fn state(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.0.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// From now on the writer runs a batch only when [`Self::run_batch`]
    /// lets it. Waits until the writer has finished with every job
    /// delivered so far (callers answered, it may not have said so yet).
    pub fn close(&self) {
        let mut s = self.state();
        s.closed = true;
        while s.answered < s.submitted {
            s = self.0.1.wait(s).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// The writer goes on by itself again.
    pub fn open(&self) {
        self.state().closed = false;
        self.0.1.notify_all();
    }

    /// Jobs delivered to the writer and not yet taken into a batch.
    pub fn waiting(&self) -> u64 {
        self.state().waiting()
    }

    /// Lets the writer take every job waiting as one batch and blocks
    /// until it has run it and answered each job. Returns at once when no
    /// job waits.
    pub fn run_batch(&self) {
        let mut s = self.state();
        let target = s.submitted;
        if s.answered >= target {
            return;
        }
        s.permits += 1;
        self.0.1.notify_all();
        while s.answered < target {
            s = self.0.1.wait(s).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// A caller's job is in the writer's queue (counted once sent, in the
    /// same turn of the caller's task as the send: a task that counts as
    /// waiting can do nothing else until answered).
    pub(crate) fn submitted(&self) {
        self.state().submitted += 1;
    }

    /// The writer holds a job: waits for a permit if the gate is closed.
    pub(crate) fn wait_turn(&self) {
        let mut s = self.state();
        while s.closed && s.permits == 0 {
            s = self.0.1.wait(s).unwrap_or_else(|p| p.into_inner());
        }
        if s.permits > 0 {
            s.permits -= 1;
        }
    }

    /// The writer took `jobs` into its batch.
    pub(crate) fn took(&self, jobs: usize) {
        self.state().taken += jobs as u64;
    }

    /// The writer ran its batch of `jobs` and answered every one.
    pub(crate) fn batch_done(&self, jobs: usize) {
        self.state().answered += jobs as u64;
        self.0.1.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::BatchGate;
    use crate::tests::{meta, one};
    use crate::{EventLog, ExpectedVersion, LogOptions};

    /// Closed, the gate holds every job until the simulator runs a batch,
    /// and then the writer takes exactly the jobs waiting, in the order
    /// they were sent, as one commit.
    #[tokio::test(flavor = "current_thread")]
    async fn a_closed_gate_runs_the_jobs_waiting_as_one_batch_in_their_order() {
        let dir = tempfile::tempdir().unwrap();
        let gate = BatchGate::default();
        let options = LogOptions { gate: Some(gate.clone()), ..LogOptions::default() };
        let log = EventLog::open(&dir.path().join("events.redb"), options).unwrap();
        log.append(meta("open"), one("s/0", ExpectedVersion::Any, &[b"0"])).await.unwrap();
        let commits = log.commits();
        gate.close();
        let mut tasks = Vec::new();
        for n in 1..=3u8 {
            let log = log.clone();
            let stream = format!("s/{n}");
            tasks.push(tokio::spawn(async move {
                log.append(meta(&format!("r{n}")), one(&stream, ExpectedVersion::Any, &[&[n]])).await
            }));
            // Each sends its job before the next is spawned.
            while gate.waiting() < u64::from(n) {
                tokio::task::yield_now().await;
            }
        }
        // Nothing runs while the gate is closed.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!((log.head(), log.commits()), (1, commits));
        assert!(tasks.iter().all(|t| !t.is_finished()));
        gate.run_batch();
        assert_eq!(gate.waiting(), 0);
        assert_eq!(log.commits(), commits + 1, "one commit for the three jobs");
        let mut positions = Vec::new();
        for task in tasks {
            positions.push(task.await.unwrap().unwrap().first);
        }
        assert_eq!(positions, vec![2, 3, 4], "in the order they were sent");
        // Open again, the writer goes on by itself.
        gate.open();
        log.append(meta("after"), one("s/4", ExpectedVersion::Any, &[b"4"])).await.unwrap();
        assert_eq!(log.head(), 5);
        gate.run_batch(); // nothing waits: returns at once
    }
}
