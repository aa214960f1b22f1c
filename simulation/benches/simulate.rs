//! The long run: many seeds, `SIM_STEPS` steps in all (default 1,000,000),
//! `SIM_STEPS_PER_SEED` each (default 20,000), from `SIM_FIRST_SEED`
//! (default 1000). Prints steps/s, seeds, faults and violations; exits
//! non-zero on the first violation, naming its seed.
//!
//! `cargo bench -p yukari-simulation` (release build).

use std::time::Instant;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let total = env("SIM_STEPS", 1_000_000);
    let per_seed = env("SIM_STEPS_PER_SEED", 20_000).max(1);
    let first = env("SIM_FIRST_SEED", 1000);
    let started = Instant::now();
    let (mut steps, mut seeds, mut restarts, mut partitions, mut full, mut failed_io) = (0, 0, 0, 0, 0, 0);
    let (mut requests, mut reports, mut storage) = (0, 0, 0);
    let (mut concurrent, mut overlapping, mut shared, mut retried, mut histories) = (0, 0, 0, 0, 0);
    let (mut reads, mut crashes, mut expired) = (0, 0, 0);
    while steps < total {
        let seed = first + seeds;
        match simulation::run(&simulation::Config::new(seed, per_seed.min(total - steps))) {
            Ok(r) => {
                steps += r.steps;
                restarts += r.restarts;
                partitions += r.partitions;
                full += r.full_disks;
                failed_io += r.disk.failed_writes + r.disk.failed_syncs;
                requests += r.requests;
                reports += r.node_reports;
                storage += r.storage_reports;
                concurrent += r.concurrent_steps;
                overlapping += r.concurrent_requests;
                shared += r.shared_commits;
                retried += r.retries_in_flight;
                histories += r.history_checks;
                reads += r.reads_checked;
                crashes += r.node_crashes + r.storage_crashes;
                expired += r.expired;
            }
            Err(v) => {
                println!("VIOLATION {v}");
                std::process::exit(1);
            }
        }
        seeds += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "simulation: {steps} steps over {seeds} seeds ({first}..{}) in {secs:.1} s = {:.0} steps/s; \
         {requests} requests, {reports} node reports, {storage} storage reports; faults: {restarts} power cuts, {failed_io} failed writes/syncs, \
         {full} full disks, {partitions} partitions; {concurrent} concurrent steps ({overlapping} requests in flight together, \
         {shared} shared commits, {retried} retries in flight, {histories} histories checked against the log's order, {reads} reads answered again from the log); \
         {crashes} node and storage controller crashes, {expired} expired by the storage monitor; 0 violations",
        first + seeds - 1,
        steps as f64 / secs
    );
}
