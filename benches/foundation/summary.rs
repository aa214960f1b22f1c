//! Turns the measurements of one run into the results table: each figure
//! with its same-run baseline, the ratio, the target and whether it is met.

use crate::Config;
use crate::disk::{AppendRate, FsyncRate};
use crate::moto::MotoOutcome;
use crate::replay::{Fold, Replay};
use crate::report::{Table, bytes, mib, ms, rate, ratio, speedup, thousands};
use crate::yukari::CloudResults;
use std::time::Duration;

pub struct Results<'a> {
    pub config: &'a Config,
    pub fsync: FsyncRate,
    pub one: AppendRate,
    pub many: AppendRate,
    pub cloud: CloudResults,
    pub replayed: Replay,
    pub fold: Fold,
    pub moto: MotoOutcome,
}

const MEMORY_TARGET: f64 = 2048.0;

pub fn heading(r: &Results<'_>) -> String {
    format!(
        "Yukari foundation benchmark ({} run, {} CPUs, data on {}). Ratios compare figures of this run only.",
        if r.config.quick { "quick" } else { "full" },
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        r.config.data.display()
    )
}

pub fn table(r: &Results<'_>) -> Table {
    let mut t = Table::default();
    disk_rows(&mut t, r);
    run_instances_rows(&mut t, r);
    describe_rows(&mut t, r);
    memory_rows(&mut t, r);
    replay_rows(&mut t, r);
    moto_rows(&mut t, r);
    t
}

fn disk_rows(t: &mut Table, r: &Results<'_>) {
    let fsync = r.fsync.per_sec();
    let fsync_label = format!("fsync {}", rate(fsync));
    t.row("1. raw 4 KiB append+fdatasync", rate(fsync), "(the baseline)".into(), "1.00×".into());
    for a in [&r.one, &r.many] {
        let writers = if a.writers == 1 { "1 writer".to_owned() } else { format!("{} writers", a.writers) };
        t.row(
            &format!("2. EventLog appends, {writers}"),
            rate(a.per_sec()),
            fsync_label.clone(),
            ratio(a.per_sec(), fsync),
        );
        t.row(
            &format!("2. events per commit, {writers}"),
            format!("{:.1}", a.per_commit()),
            format!("{} appends", thousands(a.appends)),
            format!("{} commits", thousands(a.commits)),
        );
    }
    t.row(
        "2. appends 64 writers vs 1",
        rate(r.many.per_sec()),
        format!("1 writer {}", rate(r.one.per_sec())),
        ratio(r.many.per_sec(), r.one.per_sec()),
    )
    .target("≥ 20×", r.many.per_sec() >= 20.0 * r.one.per_sec());
}

fn run_instances_rows(t: &mut Table, r: &Results<'_>) {
    let ours = r.cloud.throughput.per_sec();
    let label = format!("3. RunInstances/s, {} clients", r.cloud.throughput.clients);
    match &r.moto {
        Ok(m) => {
            let theirs = m.throughput.per_sec();
            t.row(&label, rate(ours), format!("moto {}", rate(theirs)), ratio(ours, theirs))
                .target("≥ 100× moto", ours >= 100.0 * theirs);
        }
        Err(why) => t.skipped(&format!("{label} vs moto"), "≥ 100× moto", why),
    }
    let cpu = |who: &str, x: &crate::workload::Throughput| {
        format!(
            "{who} RunInstances: CPU per call {:.0} µs server + {:.0} µs client (bench process); \
             both together kept {:.0}% of the machine's CPUs busy",
            x.server_us_per_call(),
            x.client_us_per_call(),
            100.0 * x.cpu_busy()
        )
    };
    t.note(cpu("yukari", &r.cloud.throughput));
    t.note(writer_note(&r.cloud.writer));
    if let Ok(m) = &r.moto {
        t.note(cpu("moto", &m.throughput));
    }
    let fsync = r.fsync.per_sec();
    t.row(&format!("{label} vs disk"), rate(ours), format!("fsync {}", rate(fsync)), ratio(ours, fsync))
        .target("≥ 2× fsync", ours >= 2.0 * fsync);
    // The machine's other limit: its CPUs, at this run's CPU per call.
    let x = &r.cloud.throughput;
    let (cpus, limit) = (crate::workload::cpus(), x.cpu_limit());
    t.row(&format!("{label} vs CPU"), rate(ours), format!("CPU limit {}", rate(limit)), ratio(ours, limit));
    t.note(format!(
        "CPU limit: {:.0} CPUs ÷ ({:.0} µs server + {:.0} µs client per call) = {}, the most this \
         machine's CPUs allow at this CPU per call",
        cpus,
        x.server_us_per_call(),
        x.client_us_per_call(),
        rate(limit)
    ));
    if let Ok(m) = &r.moto {
        let wanted = 100.0 * m.throughput.per_sec();
        let server_budget = cpus * 1e6 / wanted - x.client_us_per_call();
        t.note(format!(
            "100× moto is {}: with {:.0} µs of client CPU per call, the CPUs allow at most {:.0} µs of server CPU \
             per call at that rate (this run: {:.0} µs)",
            rate(wanted),
            x.client_us_per_call(),
            server_budget.max(0.0),
            x.server_us_per_call()
        ));
    }
}

fn describe_rows(t: &mut Table, r: &Results<'_>) {
    let sizes = &r.cloud.sizes;
    let (Some(small), Some(large)) = (sizes.first(), sizes.last()) else {
        return;
    };
    let n = |s: usize| thousands(s as u64);
    // By id at the small size, against moto.
    let label = format!("4. DescribeInstances id p50 @{}", n(small.instances));
    match &r.moto {
        Ok(m) => {
            t.row(
                &label,
                ms(small.by_id.p50),
                format!("moto {}", ms(m.by_id.p50)),
                speedup(small.by_id.p50, m.by_id.p50),
            )
            .target("≥ 100× moto", small.by_id.p50 * 100 <= m.by_id.p50);
            t.row(
                &format!("4. DescribeInstances id p99 @{}", n(small.instances)),
                ms(small.by_id.p99),
                format!("moto {}", ms(m.by_id.p99)),
                speedup(small.by_id.p99, m.by_id.p99),
            );
        }
        Err(why) => {
            t.skipped(&format!("{label} vs moto"), "≥ 100× moto", why);
            t.row(&label, ms(small.by_id.p50), "-".into(), "-".into());
        }
    }
    // By id at the large size, against the small size.
    let base = format!("@{} {}", n(small.instances), ms(small.by_id.p50));
    t.row(
        &format!("4. DescribeInstances id p50 @{}", n(large.instances)),
        ms(large.by_id.p50),
        base,
        ratio(large.by_id.p50.as_secs_f64(), small.by_id.p50.as_secs_f64()),
    )
    .target("< 2 ms", large.by_id.p50 < Duration::from_millis(2));
    let base = format!("@{} {}", n(small.instances), ms(small.by_id.p99));
    t.row(
        &format!("4. DescribeInstances id p99 @{}", n(large.instances)),
        ms(large.by_id.p99),
        base,
        ratio(large.by_id.p99.as_secs_f64(), small.by_id.p99.as_secs_f64()),
    );
    let why = match &r.moto {
        Ok(m) => {
            let estimate = m.by_id_p50_estimate(large.instances);
            format!(
                "moto fills at {:.0} instances/s (and slows as it grows), so {} would take at least {:.1} min. \
                 Its by-id p50 grew from {} at {} to {} at {}; extrapolated linearly (its DescribeInstances \
                 walks every instance) it would be ~{} at {}, which would make yukari ~{} (an estimate, \
                 not a measurement)",
                m.fill.per_sec(),
                n(large.instances),
                large.instances as f64 / m.fill.per_sec() / 60.0,
                ms(m.by_id_tenth.p50),
                n(m.fill.instances / 10),
                ms(m.by_id.p50),
                n(m.fill.instances),
                ms(estimate),
                n(large.instances),
                speedup(large.by_id.p50, estimate)
            )
        }
        Err(why) => why.clone(),
    };
    t.skipped(&format!("4. DescribeInstances id p50 @{} vs moto", n(large.instances)), "≥ 100× moto", &why);
    // Pages of 1,000: the small size against one instance, the large against the small.
    let page = |s: usize| format!("4. page of 1,000 p50 @{}", n(s));
    t.row(
        &page(small.instances),
        ms(small.page.p50),
        format!("by id {}", ms(small.by_id.p50)),
        ratio(small.page.p50.as_secs_f64(), small.by_id.p50.as_secs_f64()),
    )
    .target("< 15 ms", small.page.p50 < Duration::from_millis(15));
    t.row(
        &page(large.instances),
        ms(large.page.p50),
        format!("@{} {}", n(small.instances), ms(small.page.p50)),
        ratio(large.page.p50.as_secs_f64(), small.page.p50.as_secs_f64()),
    )
    .target("< 15 ms", large.page.p50 < Duration::from_millis(15));
    for s in [small, large] {
        t.row(
            &format!("4. page of 1,000 p99 @{}", n(s.instances)),
            ms(s.page.p99),
            format!("p50 {}", ms(s.page.p50)),
            ratio(s.page.p99.as_secs_f64(), s.page.p50.as_secs_f64()),
        );
    }
    t.note(format!(
        "DescribeInstances: {} sequential requests per figure from one client; the yukari cloud was filled \
         at {} instances/s",
        small.by_id.requests,
        thousands(large.fill.per_sec().round() as u64)
    ));
    let floor = &r.cloud.floor;
    let mut split = format!(
        "where DescribeInstances time goes: round-trip floor (unsigned request refused at once) p50 {} \
         ({:.0} µs server CPU); by id {:.0} µs server CPU @{} and {:.0} µs @{}; page of 1,000 {:.0} µs @{}",
        ms(floor.p50),
        floor.server_us,
        small.by_id.server_us,
        n(small.instances),
        large.by_id.server_us,
        n(large.instances),
        large.page.server_us,
        n(large.instances)
    );
    if let Ok(m) = &r.moto {
        split.push_str(&format!(
            "; moto by id {:.0} µs server CPU @{}",
            m.by_id.server_us,
            n(m.fill.instances)
        ));
    }
    t.note(split);
}

fn memory_rows(t: &mut Table, r: &Results<'_>) {
    let f = &r.fold;
    let log_per_instance = r.cloud.log_bytes as f64 / f.instances.max(1) as f64;
    t.row(
        &format!("5. read models B/instance ({})", thousands(f.instances)),
        bytes(f.per_instance()),
        format!("log {}/instance", bytes(log_per_instance)),
        ratio(f.per_instance(), log_per_instance),
    )
    .target("≤ 2,048 B", f.per_instance() <= MEMORY_TARGET);
    let largest = r.cloud.sizes.last().map_or(1, |s| s.instances) as f64;
    let grown = r.cloud.rss_full.saturating_sub(r.cloud.rss_boot) as f64 / largest;
    t.row(
        &format!("5. controller VmRSS B/instance ({})", thousands(largest as u64)),
        bytes(grown),
        format!("read models {}", bytes(f.per_instance())),
        ratio(grown, f.per_instance()),
    )
    .target("≤ 2,048 B", grown <= MEMORY_TARGET);
    t.note(format!(
        "memory: controller VmRSS {} after bootstrap, {} with {} instances; fold process VmRSS {} at start, \
         {} after scanning the log (+{} of redb cache for a {} log file), {} after a second scan, {} after the fold",
        mib(r.cloud.rss_boot),
        mib(r.cloud.rss_full),
        thousands(largest as u64),
        mib(f.rss_start),
        mib(f.rss_scanned),
        mib(f.log_cache()),
        mib(r.cloud.log_bytes),
        mib(f.rss_rescanned),
        mib(f.rss_folded)
    ));
}

fn replay_rows(t: &mut Table, r: &Results<'_>) {
    let p = &r.replayed;
    t.row(
        &format!("6. replay: rebuild ({} events)", thousands(p.events)),
        rate(p.rebuild_per_sec()),
        format!("bare scan {}", rate(p.scan_per_sec())),
        ratio(p.rebuild_per_sec(), p.scan_per_sec()),
    )
    .target("≥ 1,000,000 /s", p.rebuild_per_sec() >= 1e6);
    t.row("6. replay: bare scan", rate(p.scan_per_sec()), "-".into(), "-".into());
    t.note(format!(
        "replay: {} events, {} instances; scan {:.3} s, rebuild {:.3} s (best of 2, warm cache)",
        thousands(p.events),
        thousands(p.instances as u64),
        p.scan_secs,
        p.rebuild_secs
    ));
}

fn moto_rows(t: &mut Table, r: &Results<'_>) {
    let m = match &r.moto {
        Ok(m) => m,
        Err(why) => {
            t.skipped("7. moto_server comparison", "-", why);
            return;
        }
    };
    t.row(
        &format!("7. moto RunInstances/s, {} clients", m.throughput.clients),
        rate(m.throughput.per_sec()),
        "-".into(),
        "-".into(),
    );
    t.row(
        &format!("7. moto fill, RunInstances of 1,000 ({})", thousands(m.fill.instances as u64)),
        format!("{} instances/s", thousands(m.fill.per_sec().round() as u64)),
        format!(
            "yukari {} /s",
            thousands(r.cloud.sizes.first().map_or(0.0, |s| s.fill.per_sec()).round() as u64)
        ),
        ratio(m.fill.per_sec(), r.cloud.sizes.first().map_or(0.0, |s| s.fill.per_sec())),
    );
    t.row(
        &format!("7. moto DescribeInstances id p50 @{}", thousands(m.fill.instances as u64)),
        ms(m.by_id.p50),
        format!("p99 {}", ms(m.by_id.p99)),
        "-".into(),
    );
    t.note(format!(
        "moto: image {}, {} DescribeInstances-by-id requests (time-boxed)",
        m.image, m.by_id.requests
    ));
}

/// Where the log's writer spent the RunInstances phase (`GET /admin/writer`
/// before and after it).
fn writer_note(w: &api::admin::WriterReport) -> String {
    let awake = (w.waiting_us + w.running_us + w.committing_us).max(1) as f64;
    let share = |us: u64| 100.0 * us as f64 / awake;
    let per = |n: u64, of: u64| n as f64 / of.max(1) as f64;
    format!(
        "yukari's log writer in the RunInstances phase: waiting for work {:.0}% of its time, running jobs {:.0}%, \
         committing {:.0}% (syncing {:.0}%); {} commits of {:.1} jobs (calls and node reports) and {:.1} records each, \
         {:.1} file writes and a {:.0} µs sync per commit, jobs {:.0} µs and commit {:.0} µs per commit",
        share(w.waiting_us),
        share(w.running_us),
        share(w.committing_us),
        share(w.syncing_us),
        w.commits,
        per(w.jobs, w.commits),
        per(w.records, w.commits),
        per(w.writes, w.commits),
        per(w.syncing_us, w.syncs),
        per(w.running_us, w.commits),
        per(w.committing_us, w.commits),
    )
}
