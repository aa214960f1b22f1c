//! Concurrent clients: a step where several requests are in flight at
//! once, deterministically. The log's batch gate is closed (see
//! `eventlog::gate`): requests are started one by one, each runs until it
//! waits on the log's writer, and batches are let through at moments drawn
//! from the seed, each holding exactly the jobs then waiting, in the order
//! they were sent. So requests overlap (a later one can be invoked before
//! an earlier one is answered, and several share a group commit), and one
//! seed still gives one run.
//!
//! Now and then a request is sent again while the first is in flight (a
//! client retrying after a timeout, say): a RunInstances with the same
//! ClientToken, or a second stop, start or terminate of the same instance.
//! What the answers must then agree on is checked by `history.rs`.

use crate::history::{Flight, History};
use crate::{Sim, Violation, controller, workload};
use api::ec2::error::Ec2Error;
use rand::Rng;
use tokio::task::JoinHandle;

/// The most requests in flight at once.
const MOST: usize = 4;

struct InFlight {
    flight: Flight,
    request: workload::Request,
    task: Option<JoinHandle<Result<String, Ec2Error>>>,
    answer: Option<Result<String, Ec2Error>>,
}

/// One step of 2 to [`MOST`] overlapping requests.
pub async fn step(sim: &mut Sim, clients: &mut [workload::Known], image: &str) -> Result<(), Violation> {
    let app = sim.controller().app.clone();
    let gate = sim.controller().gate.clone();
    let from = app.log.head();
    gate.close();
    let count = sim.rng.gen_range(2..=MOST);
    let mut flights: Vec<InFlight> = Vec::new();
    let mut commits = vec![from];
    let mut seq = 0u64;
    let mut outcome = Ok(());
    for _ in 0..count {
        let request = match flights.last() {
            Some(last) if sim.rng.gen_ratio(1, 3) && workload::retried(&last.request) => {
                sim.report.retries_in_flight += 1;
                last.request.clone()
            }
            _ => workload::next(&mut sim.rng, clients, image, sim.zone.as_str()),
        };
        let params = crate::request_params(sim, &request)?;
        let request_id = sim.request_id();
        let meta = controller::meta(controller::admin(&clients[request.client].account), request_id.clone());
        let invoked = app.log.head();
        let task_app = app.clone();
        let task = tokio::spawn(async move { api::ec2::invoke(&task_app, &params, meta).await });
        seq += 1;
        let flight = Flight {
            request_id,
            account: clients[request.client].account.clone(),
            invoked,
            answered: invoked,
            invoked_seq: seq,
            answered_seq: u64::MAX,
            outcome: None,
        };
        flights.push(InFlight { flight, request, task: Some(task), answer: None });
        outcome = settle(&gate, &mut flights, &app, &mut seq).await;
        if outcome.is_err() {
            break;
        }
        if sim.rng.gen_ratio(1, 2) {
            sim.report.shared_commits += u64::from(gate.waiting() > 1);
            gate.run_batch();
            commits.push(app.log.head());
            outcome = settle(&gate, &mut flights, &app, &mut seq).await;
            if outcome.is_err() {
                break;
            }
        }
    }
    while outcome.is_ok() && flights.iter().any(|f| f.task.is_some()) {
        sim.report.shared_commits += u64::from(gate.waiting() > 1);
        gate.run_batch();
        commits.push(app.log.head());
        outcome = settle(&gate, &mut flights, &app, &mut seq).await;
    }
    gate.open();
    outcome.map_err(|what| sim.violation(what))?;
    sim.report.concurrent_steps += 1;
    sim.report.concurrent_requests += flights.len() as u64;
    let mut done = Vec::new();
    for f in flights {
        let answer = f.answer.expect("every request was answered");
        let xml = answer.as_ref().ok().cloned();
        let kind = crate::answered(sim, clients, &f.request, answer)?;
        done.push((Flight { outcome: Some((kind, xml)), ..f.flight }, f.request));
    }
    // Checked after the step's restart, if the disk lost its power.
    commits.dedup();
    sim.histories.push(History { from, to: app.log.head(), commits, flights: done });
    Ok(())
}

/// Lets every request run until it is answered or waits on the log's
/// writer (then the next batch is decided by the seed alone), and notes
/// the log's head when each was answered.
async fn settle(
    gate: &eventlog::gate::BatchGate,
    flights: &mut [InFlight],
    app: &api::app::App,
    seq: &mut u64,
) -> Result<(), String> {
    for round in 0..50_000u32 {
        // Wake-ups from the writer thread are queued before `run_batch`
        // returns; these turns of the runtime let every woken task run.
        for _ in 0..16 {
            tokio::task::yield_now().await;
        }
        let head = app.log.head();
        for f in flights.iter_mut() {
            if f.task.as_ref().is_some_and(JoinHandle::is_finished) {
                let task = f.task.take().expect("a running request");
                let answer = task.await.map_err(|e| format!("a request panicked: {e}"))?;
                f.answer = Some(answer);
                f.flight.answered = head;
                *seq += 1;
                f.flight.answered_seq = *seq;
            }
        }
        let running = flights.iter().filter(|f| f.task.is_some()).count() as u64;
        if running == gate.waiting() {
            return Ok(());
        }
        // Something waits on another thread (the read models reading the
        // disk after a restart): give it time; it decides no order.
        if round > 64 {
            tokio::time::sleep(std::time::Duration::from_micros(200)).await;
        }
    }
    Err("requests were neither answered nor waiting on the log".to_owned())
}
