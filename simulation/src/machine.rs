//! A simulated host's machine: a current-thread runtime whose clock is
//! paused, where a host's processes (the node executor, the storage
//! controller) run their real loops. Time moves only when the simulator
//! lets the machine run for a while: its tasks run until none is ready,
//! the clock jumps to the next timer, and so on. One thread runs at a
//! time, in one order, so the seed decides everything the machine does:
//! nothing may run on the blocking pool, whose threads would race the
//! simulator's (the simulated hypervisor, store and record feed say they
//! do not block, and the loops call them in line).

use std::future::Future;
use std::time::Duration;
use tokio::task::JoinHandle;

pub struct Machine {
    /// Taken only when the machine is dropped.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Machine {
    pub fn new() -> Result<Machine, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .map_err(|e| format!("a simulated machine's runtime: {e}"))?;
        Ok(Machine { runtime: Some(runtime) })
    }

    fn runtime(&self) -> &tokio::runtime::Runtime {
        self.runtime.as_ref().expect("the runtime lives as long as the machine")
    }

    /// Starts a task; it runs when the machine does.
    pub fn spawn<F>(&self, task: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.runtime().spawn(task)
    }

    /// Runs the machine until `until` is done (on a thread of its own: the
    /// simulator's thread is inside its own runtime, where another cannot
    /// be entered; the simulator waits for it).
    pub fn block_on<F: Future + Send>(&self, until: F) -> Result<F::Output, String>
    where
        F::Output: Send,
    {
        let runtime = self.runtime();
        std::thread::scope(|s| s.spawn(|| runtime.block_on(until)).join())
            .map_err(|_| "a simulated machine's runtime panicked".to_owned())
    }

    /// Runs the machine for `time` of its clock.
    pub fn run_for(&self, time: Duration) -> Result<(), String> {
        self.block_on(async { tokio::time::sleep(time).await })
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        // Not on the simulator's thread, inside its runtime, where a
        // runtime cannot be dropped.
        if let Some(runtime) = self.runtime.take() {
            let _ = std::thread::scope(|s| s.spawn(move || drop(runtime)).join());
        }
    }
}
