//! Tests only: the command an action builds, caught before it is decided.
//! `Ctx::execute` hands each command here first; while a test captures
//! (on its own thread: `#[tokio::test]` runs on one), the command is kept
//! and the action stops with an error instead of running it.

use domain::Command;
use std::cell::RefCell;

thread_local! {
    static CAPTURED: RefCell<Option<Vec<Command>>> = const { RefCell::new(None) };
}

/// Keeps `command` if a capture is under way on this thread.
pub(crate) fn keep(command: &Command) -> bool {
    CAPTURED.with(|c| match c.borrow_mut().as_mut() {
        Some(kept) => {
            kept.push(command.clone());
            true
        }
        None => false,
    })
}

/// Runs `f`, keeping (instead of executing) the commands it builds.
pub(crate) async fn commands_of<F: std::future::Future>(f: F) -> (Vec<Command>, F::Output) {
    CAPTURED.with(|c| *c.borrow_mut() = Some(Vec::new()));
    let out = f.await;
    let kept = CAPTURED.with(|c| c.borrow_mut().take()).unwrap_or_default();
    (kept, out)
}
