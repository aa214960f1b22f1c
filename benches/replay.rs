//! The replay benchmark (issue 5): on a synthetic but realistic log of 10
//! million events (a cloud's history made by the real `domain::decide`
//! and encoders, see `replay_tools::synth`), it measures
//!
//! 1. replay rate: the read models folded from the whole log, against a
//!    bare scan of the same log (checksums, decoding of the envelope);
//!    also the usage fold and a full audit scan;
//! 2. `state --at` latency (time → position, then the read models as of
//!    it) with time-travel snapshots every 100,000 events and without,
//!    and the disk a snapshot takes against the log's size;
//! 3. audit of one resource through the stream index, against a full scan
//!    with the same filter;
//! 4. a controller's restart on this log: the log opened for writing (its
//!    stream index completed) and the read models ready (the checkpoint
//!    loaded, the tail folded), after a clean stop and after a kill -9
//!    (the checkpoint up to 100,000 events behind), against the same
//!    log's full replay (issue 14, target 3).
//!
//! Every figure has its baseline measured in the same run. Run:
//! `cargo bench --bench replay` (about 7 minutes the first time, of which
//! 3–4 make the log; about 4 minutes when the log of an earlier run is
//! reused; 6.5 GB under `target/bench-data/replay`), `-- --fresh` to make
//! the log again, `-- --quick` (500,000 events, 15 s), or `-- --replay-only`
//! (the scan and the replays of part 1 only).

#[allow(dead_code)]
#[path = "foundation/report.rs"]
mod report;

use anyhow::{Context, Result};
use replay_tools::audit::{self, AuditFilter};
use replay_tools::snapshots::SnapshotStore;
use replay_tools::source::{Offline, Records};
use replay_tools::{Progress, state, synth, usage};
use report::{Table, ms, rate, ratio, speedup, thousands};
use std::ops::ControlFlow;
use std::process::ExitCode;
use std::time::{Duration, Instant};

struct Config {
    events: u64,
    every: u64,
    live: usize,
    samples: usize,
    /// Stop after the scan and the replays (`--replay-only`).
    replay_only: bool,
}

fn step(what: &str) {
    eprintln!("[replay] {what}");
}

fn main() -> ExitCode {
    let quick = std::env::args().any(|a| a == "--quick");
    let replay_only = std::env::args().any(|a| a == "--replay-only");
    let config = if quick {
        Config { events: 500_000, every: 100_000, live: 5_000, samples: 3, replay_only }
    } else {
        Config { events: 10_000_000, every: 100_000, live: 20_000, samples: 9, replay_only }
    };
    match run(&config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("replay benchmark failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn timed<T>(f: impl FnOnce() -> Result<T>) -> Result<(T, Duration)> {
    let started = Instant::now();
    let value = f()?;
    Ok((value, started.elapsed()))
}

fn median(mut d: Vec<Duration>) -> Duration {
    d.sort();
    d[d.len() / 2]
}

fn dir_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| entries.flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum())
        .unwrap_or(0)
}

/// The instance of the last `InstanceRequested` record.
fn last_instance(offline: &Offline, head: u64) -> Result<String> {
    let tail = offline.read(head.saturating_sub(5_000).max(1), 5_001)?;
    let record = tail.iter().rev().find(|r| r.event_type == "InstanceRequested").context("no instance")?;
    Ok(domain::ParsedStream::instance(&record.stream).context("not an instance stream")?.to_string())
}

/// The controller's start on the log at `data` (what `yukari up` does
/// before it serves: the log opened for writing with its options, the read
/// models from their checkpoint with the tail folded), after a clean stop
/// (the checkpoint at the head) and after a kill -9 (the checkpoint as the
/// controller last saved it, up to 100,000 events behind).
fn restart(
    data: &std::path::Path,
    offline: Offline,
    head: u64,
    full_replay: Duration,
    table: &mut Table,
) -> Result<()> {
    let behind = head.saturating_sub(99_999).max(1);
    let (at_head, _) = state::state_at(&offline, None, head, &Progress::hidden())?;
    let (before, _) = state::state_at(&offline, None, behind, &Progress::hidden())?;
    drop(offline);
    let checkpoint = data.join("restart.snapshot");
    let mut cases = Vec::new();
    // The clean stop last: its checkpoint (at the head) serves the node's
    // start below.
    for (name, models) in [("a kill -9, 99,999 events to fold", before), ("a clean stop", at_head)] {
        projections::save_snapshot(&checkpoint, &models)?;
        let position = models.position;
        drop(models);
        let mut best = Duration::MAX;
        for _ in 0..3 {
            let (ready, took) = timed(|| {
                let log =
                    eventlog::EventLog::open(&data.join("events.redb"), eventlog::LogOptions::default())?;
                let projections = projections::Projections::open(&log, Some(checkpoint.clone()))?;
                let ready = projections.position();
                drop(projections);
                log.close();
                Ok(ready)
            })?;
            anyhow::ensure!(ready == head, "the restarted models reached {ready} of {head}");
            best = best.min(took);
        }
        eprintln!("[replay]   restart after {name} (checkpoint at {position}): {}", ms(best));
        cases.push((name, best));
    }

    // The embedded node executor's start on the same log: the records it
    // folds before it acts, read through the node feed in process (the
    // stream index, `controller_link::node_feed::LocalFeed`, what `yukari
    // up` uses) against a scan of the whole log (`LocalSource`, what it
    // used before).
    let log = eventlog::EventLog::open(&data.join("events.redb"), eventlog::LogOptions::default())?;
    let projections = projections::Projections::open(&log, Some(checkpoint.clone()))?;
    let _ = std::fs::remove_file(&checkpoint);
    let master = api::secrets::MasterKey::load_or_create(&data.join("restart-master.key"))?;
    let config = api::app::AppConfig { ec2_url: "http://localhost/".into() };
    let app = std::sync::Arc::new(api::app::App::new(log.clone(), projections, master, config));
    let (node, _) = app.first_node().context("the log has no node")?;
    let mut replays = Vec::new();
    for indexed in [true, false] {
        let mut best = Duration::MAX;
        let mut seen = (0u64, 0u64);
        for _ in 0..2 {
            let mut source: Box<dyn node_executor::RecordSource> = if indexed {
                Box::new(controller_link::node_feed::LocalFeed::new(app.clone(), node.clone()))
            } else {
                Box::new(node_executor::LocalSource::new(log.clone()))
            };
            let started = Instant::now();
            // On this thread, outside the runtime, as on the executor's
            // blocking thread.
            let mut visited = 0u64;
            let last = source.replay(&mut |_| visited += 1)?;
            best = best.min(started.elapsed());
            seen = (visited, last);
        }
        anyhow::ensure!(seen.1 == head, "the node's replay stopped at {} of {head}", seen.1);
        eprintln!("[replay]   node start, indexed {indexed}: {} records in {}", thousands(seen.0), ms(best));
        replays.push((seen.0, best));
    }
    drop(app);
    log.close();
    let _ = std::fs::remove_file(data.join("restart-master.key"));
    for (name, took) in cases {
        table
            .row(
                &format!("restart after {name}: log open, read models ready"),
                ms(took),
                ms(full_replay),
                speedup(took, full_replay),
            )
            .target("< 3 s", took < Duration::from_secs(3));
    }
    let ((fed, fed_time), (scanned, scan_time)) = (replays[0], replays[1]);
    table.row(
        &format!("embedded node executor's start: its {} records through the stream index", thousands(fed)),
        ms(fed_time),
        ms(scan_time),
        speedup(fed_time, scan_time),
    );
    table.note(format!(
        "(the baseline: a scan of all {} records, as the node started before)",
        thousands(scanned)
    ));
    Ok(())
}

fn run(config: &Config) -> Result<()> {
    let began = Instant::now();
    let name = if config.events < 10_000_000 { "replay-quick" } else { "replay" };
    let data = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data").join(name);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let mut table = Table::default();
    let spec = synth::Spec {
        events: config.events,
        accounts: 50,
        live_instances: config.live,
        seed: 2026,
        batch: 2_000,
    };
    // The log is made once per spec and kept (it takes minutes); `--fresh`
    // makes it again. Snapshots are always made anew.
    let marker = data.join("spec.txt");
    let wanted = format!("{spec:?} {} history-clock\n", env!("CARGO_PKG_VERSION"));
    let fresh = std::env::args().any(|a| a == "--fresh");
    let reuse = !fresh && std::fs::read_to_string(&marker).is_ok_and(|s| s == wanted);
    let summary_path = data.join("summary.txt");
    let (instances, generated) = if reuse {
        step("reusing the log made by an earlier run (--fresh to make it again)");
        let _ = std::fs::remove_dir_all(data.join("snapshots"));
        let text = std::fs::read_to_string(&summary_path)?;
        let mut parts = text.split_whitespace();
        let instances: u64 = parts.next().context("summary")?.parse()?;
        let seconds: f64 = parts.next().context("summary")?.parse()?;
        (instances, Duration::from_secs_f64(seconds))
    } else {
        let _ = std::fs::remove_dir_all(&data);
        std::fs::create_dir_all(&data).with_context(|| format!("cannot create {}", data.display()))?;
        step(&format!("generating a log of {} events", thousands(config.events)));
        let (summary, generated) = timed(|| {
            // A page cache as large as a replay tool's: with the controller's
            // 64 MiB, writing slows down as the file outgrows it.
            // Record times follow the synthetic history (weeks), as in the
            // cloud it imitates: terminated instances leave the read models
            // an hour after they ended.
            let history = synth::HistoryClock::default();
            let options =
                eventlog::LogOptions { clock: history.log_clock(), ..eventlog::LogOptions::for_replay() };
            let log = eventlog::EventLog::open(&data.join("events.redb"), options)?;
            let progress = Progress::new("generate", config.events);
            let summary = runtime.block_on(synth::generate_with(&log, &spec, &progress, Some(&history)))?;
            log.close();
            Ok(summary)
        })?;
        std::fs::write(&summary_path, format!("{} {}\n", summary.instances, generated.as_secs_f64()))?;
        std::fs::write(&marker, &wanted)?;
        (summary.instances, generated)
    };
    let log_bytes = std::fs::metadata(data.join("events.redb"))?.len();
    let _guard = runtime.enter();
    let offline = Offline::open(&data)?;
    let head = offline.head()?;
    table.note(format!(
        "log: {} events, {} instances, {} accounts, {:.0} MiB on disk, generated in {:.0} s ({})",
        thousands(head),
        thousands(instances),
        spec.accounts + 1,
        log_bytes as f64 / 1048576.0,
        generated.as_secs_f64(),
        rate(head as f64 / generated.as_secs_f64())
    ));

    step("1. bare scan (baseline) and replay");
    let bare = || -> Result<u64> {
        let mut n = 0u64;
        offline.visit(1, &mut |_, r| {
            n += u64::from(r.is_ok());
            ControlFlow::Continue(())
        })?;
        Ok(n)
    };
    bare()?; // warms the caches
    // The fold as it was before it decoded on a second thread: each record
    // decoded and folded in turn, on one thread.
    let one_thread_fold = || {
        let mut models = projections::ReadModels::default();
        let mut failure = None;
        replay_tools::source::scan(&offline, 1, |e| match models.apply(e) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                failure = Some(e);
                ControlFlow::Break(())
            }
        })?;
        failure.map_or(Ok(models), |e| Err(e.into()))
    };
    // The three in turn, `ROUNDS` times, each figure the fastest of its
    // rounds: on a shared machine a single run of each moves by ±15% with
    // what else runs at that moment, and the ratio with it.
    const ROUNDS: usize = 3;
    let (mut scan, mut one_thread, mut fold) = (Duration::MAX, Duration::MAX, Duration::MAX);
    let mut spread = Vec::new();
    let mut models = None;
    for round in 1..=ROUNDS {
        let (scanned, scan_time) = timed(bare)?;
        anyhow::ensure!(scanned == head, "the scan saw {scanned} of {head} events");
        let (one_thread_models, one_thread_time) = timed(one_thread_fold)?;
        let ((two_thread_models, _), fold_time) =
            timed(|| Ok(state::state_at(&offline, None, head, &Progress::hidden())?))?;
        anyhow::ensure!(two_thread_models == one_thread_models, "the two folds of the log differ");
        step(&format!(
            "  round {round}: scan {}, one thread {}, two threads {} ({})",
            ms(scan_time),
            ms(one_thread_time),
            ms(fold_time),
            ratio(scan_time.as_secs_f64(), fold_time.as_secs_f64())
        ));
        spread.push(scan_time.as_secs_f64() / fold_time.as_secs_f64());
        (scan, one_thread, fold) =
            (scan.min(scan_time), one_thread.min(one_thread_time), fold.min(fold_time));
        models = Some(two_thread_models);
    }
    let models = models.expect("at least one round");
    let scan_rate = head as f64 / scan.as_secs_f64();
    table.row("bare scan of the log (baseline)", rate(scan_rate), "-".into(), "-".into());
    let one_thread_rate = head as f64 / one_thread.as_secs_f64();
    table.row(
        "replay on one thread (decode and fold in turn)",
        rate(one_thread_rate),
        rate(scan_rate),
        ratio(one_thread_rate, scan_rate),
    );
    let (low, high) = spread.iter().fold((f64::MAX, 0f64), |(l, h), r| (l.min(*r), h.max(*r)));
    table.note(format!(
        "scan and replays: the fastest of {ROUNDS} rounds each; the two-thread replay's share of the scan in each round: {:.2}–{:.2}×",
        low, high
    ));
    let fold_rate = head as f64 / fold.as_secs_f64();
    table
        .row(
            "replay: read models folded from the whole log (decoding on a second thread)",
            rate(fold_rate),
            rate(scan_rate),
            ratio(fold_rate, scan_rate),
        )
        .target(
            "≥ 1,000,000 /s, ≥ 0.65× the scan",
            fold_rate >= 1_000_000.0 && fold_rate >= 0.65 * scan_rate,
        );
    table.row(
        "replay: two threads against one",
        rate(fold_rate),
        rate(one_thread_rate),
        ratio(fold_rate, one_thread_rate),
    );
    table.note(format!(
        "read models at the head: {} instances",
        thousands(models.instances.rows.len() as u64)
    ));
    drop(models);
    if config.replay_only {
        print_table(config, head, began, &table);
        return Ok(());
    }
    let (_, usage_time) = timed(|| Ok(usage::usage(&offline, i64::MIN / 2, i64::MAX, &Progress::hidden())?))?;
    let usage_rate = head as f64 / usage_time.as_secs_f64();
    table.row("usage fold of the whole log", rate(usage_rate), rate(scan_rate), ratio(usage_rate, scan_rate));
    let (entries, audit_time) = timed(|| {
        let mut n = 0u64;
        audit::audit(&offline, &AuditFilter::default(), &Progress::hidden(), |_| {
            n += 1;
            ControlFlow::Continue(())
        })?;
        Ok(n)
    })?;
    let audit_rate = head as f64 / audit_time.as_secs_f64();
    table.row(
        "audit of the whole log (every request)",
        rate(audit_rate),
        rate(scan_rate),
        ratio(audit_rate, scan_rate),
    );
    table.note(format!("{} audit entries (requests)", thousands(entries)));

    step(&format!("2. time-travel snapshots every {} events", thousands(config.every)));
    let store = SnapshotStore::in_data_dir(&data);
    let (rebuilt, rebuild_time) = timed(|| {
        Ok(replay_tools::rebuild::rebuild(&offline, &store, config.every, None, &Progress::hidden())?)
    })?;
    table.row(
        "rebuild with time-travel snapshots",
        rate(head as f64 / rebuild_time.as_secs_f64()),
        rate(fold_rate),
        ratio(head as f64 / rebuild_time.as_secs_f64(), fold_rate),
    );
    let snapshot_bytes = dir_size(store.dir());
    let per_snapshot = snapshot_bytes as f64 / rebuilt.snapshots.len().max(1) as f64;
    table.note(format!(
        "{} snapshots, {:.0} MiB in all ({:.1} MiB each, {:.2}% of the log's size each, {:.0}% for all), written in {:.1} s",
        rebuilt.snapshots.len(),
        snapshot_bytes as f64 / 1048576.0,
        per_snapshot / 1048576.0,
        100.0 * per_snapshot / log_bytes as f64,
        100.0 * snapshot_bytes as f64 / log_bytes as f64,
        rebuild_time.as_secs_f64()
    ));

    step("2. state --at, with and without snapshots");
    let mut with = Vec::new();
    let mut without = Vec::new();
    for i in 0..config.samples {
        // Times spread over the log, none on a snapshot's position.
        let position = head * (2 * i as u64 + 1) / (2 * config.samples as u64) + 12_345;
        let at = offline.read(position.min(head), 1)?[0].recorded_at;
        let (a, t_with) = timed(|| {
            let p = state::position_at(&offline, at)?;
            Ok(state::state_at(&offline, Some(&store), p, &Progress::hidden())?.0)
        })?;
        let (b, t_without) = timed(|| {
            let p = state::position_at(&offline, at)?;
            Ok(state::state_at(&offline, None, p, &Progress::hidden())?.0)
        })?;
        anyhow::ensure!(a == b, "the state at {at} differs with and without snapshots");
        eprintln!("[replay]   at position {}: {} with, {} without", a.position, ms(t_with), ms(t_without));
        with.push(t_with);
        without.push(t_without);
    }
    let (w, wo) = (median(with.clone()), median(without.clone()));
    table.row("state --at, no snapshots (median)", ms(wo), "-".into(), "-".into());
    table
        .row("state --at, with snapshots (median)", ms(w), ms(wo), speedup(w, wo))
        .target("< 200 ms", w < Duration::from_millis(200));
    table.row(
        "state --at, with snapshots (slowest)",
        ms(*with.iter().max().expect("samples")),
        ms(*without.iter().max().expect("samples")),
        "-".into(),
    );

    step("3. audit of one resource");
    // The last instance launched (touched by its launch and its running report).
    let id = last_instance(&offline, head)?;
    let filter = AuditFilter { resource: Some(id.clone()), ..AuditFilter::default() };
    let mut indexed = Vec::new();
    let mut found = Vec::new();
    for _ in 0..3 {
        let (f, t) = timed(|| Ok(audit::audit_resource(&offline, &filter, &Progress::hidden())?))?;
        found = f;
        indexed.push(t);
    }
    let (scanned, full) = timed(|| {
        let mut out = Vec::new();
        audit::audit(&offline, &filter, &Progress::hidden(), |e| {
            out.push(e);
            ControlFlow::Continue(())
        })?;
        Ok(out)
    })?;
    anyhow::ensure!(found == scanned && !found.is_empty(), "the index and the scan disagree for {id}");
    let best = *indexed.iter().min().expect("three runs");
    table.row(
        &format!("audit --resource (one instance, {} request(s))", found.len()),
        ms(best),
        ms(full),
        speedup(best, full),
    );

    step("4. a controller's restart on this log");
    restart(&data, offline, head, fold, &mut table)?;
    print_table(config, head, began, &table);
    Ok(())
}

fn print_table(config: &Config, head: u64, began: Instant, table: &Table) {
    println!();
    println!(
        "Replay benchmark: {} events ({} run{}, {:.0} s)",
        thousands(head),
        if config.events < 10_000_000 { "quick" } else { "full" },
        if config.replay_only { ", the replays only" } else { "" },
        began.elapsed().as_secs_f64()
    );
    table.print();
}
