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
    let (mut all, mut seeds) = (simulation::Report::default(), 0);
    while all.steps < total {
        let seed = first + seeds;
        match simulation::run(&simulation::Config::new(seed, per_seed.min(total - all.steps))) {
            Ok(r) => all.add(&r),
            Err(v) => {
                println!("VIOLATION {v}");
                std::process::exit(1);
            }
        }
        seeds += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    let r = &all;
    println!(
        "simulation: {} steps over {seeds} seeds ({first}..{}) in {secs:.1} s = {:.0} steps/s; \
         {} requests, {} node reports, {} storage reports; faults: {} power cuts, {} failed writes/syncs, \
         {} full disks, {} partitions; {} concurrent steps ({} requests in flight together, \
         {} shared commits, {} retries in flight, {} histories checked against the log's order, {} reads answered again from the log); \
         {} node and storage controller crashes, {} expired by the storage monitor; \
         moved instances seen by the node on another host: {} placements elsewhere of its own, {} histories read; 0 violations",
        r.steps,
        first + seeds - 1,
        r.steps as f64 / secs,
        r.requests,
        r.node_reports,
        r.storage_reports,
        r.restarts,
        r.disk.failed_writes + r.disk.failed_syncs,
        r.full_disks,
        r.partitions,
        r.concurrent_steps,
        r.concurrent_requests,
        r.shared_commits,
        r.retries_in_flight,
        r.history_checks,
        r.reads_checked,
        r.node_crashes + r.storage_crashes,
        r.expired,
        r.moves_away,
        r.moves_here,
    );
}
