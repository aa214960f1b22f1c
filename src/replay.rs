//! `yukari replay …`: the replay tools on the command line. Offline they
//! read `DIR/events.redb` of a stopped controller (redb allows one process
//! per file, so not while a controller runs on it); with `--controller URL`
//! they read a running controller's log through its admin API, signed
//! with the admin's key from `DIR/eucarc` (or `AWS_ACCESS_KEY_ID` and
//! `AWS_SECRET_ACCESS_KEY`). Both give the same answers on the same log.

mod online;
mod salvage;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use online::Online;
use replay_tools::audit::{self, AuditFilter};
use replay_tools::output::{self, Format};
use replay_tools::snapshots::SnapshotStore;
use replay_tools::source::{Offline, Records};
use replay_tools::usage::{self, PriceSheet};
use replay_tools::verify::{Checks, LiveModels};
use replay_tools::{Progress, ReplayError, diff, rebuild, state, tail, time, tree};
use std::io::Write;
use std::ops::ControlFlow;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// The data directory: its log is read offline (the controller must be
    /// stopped); with --controller, its eucarc gives the admin's key.
    #[arg(long, global = true, default_value = "yukari-data")]
    data_dir: PathBuf,
    /// Read the log of a running controller through its admin API
    /// (http://HOST:8773) instead of opening the file.
    #[arg(long, global = true)]
    controller: Option<String>,
    #[command(subcommand)]
    command: ReplayCommand,
}

#[derive(Args, Debug)]
struct AuditArgs {
    /// Account id or name.
    #[arg(long)]
    account: Option<String>,
    /// Only this user name.
    #[arg(long)]
    user: Option<String>,
    /// A resource id (i-…, r-…, emi-…, an account id, …) or a stream id;
    /// answered through the stream index, without reading the whole log.
    #[arg(long)]
    resource: Option<String>,
    /// An action (RunInstances, TerminateInstances, ReportInstanceRunning, …).
    #[arg(long)]
    action: Option<String>,
    /// From this time (RFC 3339, Unix seconds, now, -2h …).
    #[arg(long)]
    from: Option<String>,
    /// Before this time.
    #[arg(long)]
    to: Option<String>,
    /// table, json (one object per line) or csv.
    #[arg(long, default_value = "table")]
    format: Format,
}

#[derive(Subcommand, Debug)]
enum ReplayCommand {
    /// Every call that changed something, one line per request: time,
    /// account, user, access key, source address, action, outcome, request
    /// id and the resources it touched.
    Audit(AuditArgs),
    /// What each account used over a period: instance-seconds by instance
    /// type, from the real transitions in the log (running to anything
    /// else); with --price-sheet, invoices in integer milli-units.
    ///
    /// A price sheet is JSON: milli-units of the currency per unit-hour, by
    /// resource kind and unit, `*` for any other unit of a kind:
    /// {"currency": "JPY", "per_hour": {"instance": {"m1.small": 12000, "*": 20000}}}
    Usage {
        /// Start of the period (default: the start of the log).
        #[arg(long)]
        from: Option<String>,
        /// End of the period (default, and at the latest: now).
        #[arg(long)]
        to: Option<String>,
        /// Only this account (id or name).
        #[arg(long)]
        account: Option<String>,
        /// Turn usage into invoices (see above).
        #[arg(long)]
        price_sheet: Option<PathBuf>,
        /// Draw what each account held over the period to FILE.svg or FILE.png.
        #[arg(long)]
        plot: Option<PathBuf>,
        /// table, json (one object per line) or csv.
        #[arg(long, default_value = "table")]
        format: Format,
    },
    /// The whole cloud as it was at a time or position: accounts, zones,
    /// nodes and what was placed on them, instances and their states,
    /// images (and every other read model).
    State {
        /// A time (RFC 3339, Unix seconds, now, -2h …).
        #[arg(long, conflicts_with = "position", required_unless_present = "position")]
        at: Option<String>,
        /// A log position.
        #[arg(long)]
        position: Option<u64>,
        /// tree or json.
        #[arg(long, default_value = "tree", value_parser = ["tree", "json"])]
        format: String,
        /// Fold from the start of the log, not from the nearest snapshot.
        #[arg(long)]
        no_snapshots: bool,
    },
    /// What changed between two moments, resource by resource.
    Diff {
        /// The earlier time (or use --from-position).
        #[arg(long, required_unless_present = "from_position")]
        from: Option<String>,
        /// The later time (or use --to-position).
        #[arg(long, required_unless_present = "to_position")]
        to: Option<String>,
        /// The earlier log position.
        #[arg(long, conflicts_with = "from")]
        from_position: Option<u64>,
        /// The later log position.
        #[arg(long, conflicts_with = "to")]
        to_position: Option<u64>,
        /// text or json.
        #[arg(long, default_value = "text", value_parser = ["text", "json"])]
        format: String,
    },
    /// Check every record's checksum and position, stream versions, that
    /// every event decodes, and that read models rebuilt from the log equal
    /// the live ones and the time-travel snapshots; exits with status 1 and
    /// a report naming each bad record otherwise.
    Verify,
    /// Drop and rebuild what is derived from the log: the read-model
    /// snapshot (offline) and the time-travel snapshots in DIR/snapshots.
    Rebuild {
        /// A time-travel snapshot every N events.
        #[arg(long, default_value_t = 100_000)]
        every: u64,
    },
    /// Copy every readable record of a damaged log (offline) into a new
    /// log, renumbered without gaps, and say what was lost; the damaged
    /// log is only read. Works when redb cannot open the file, from its
    /// bytes. The new log is verified; put it in place of DIR/events.redb
    /// to use it (see the report)
    Salvage {
        /// Where to write the new log: a file that does not exist yet, or
        /// a directory (made if the path ends with /) to write events.redb
        /// into
        #[arg(long)]
        to: PathBuf,
    },
    /// Print the log as readable lines; with --follow (online), keep
    /// printing new records as they are stored.
    Tail {
        /// Start at this position (default: the last --last records).
        #[arg(long)]
        from_position: Option<u64>,
        /// How many of the last records to start with.
        #[arg(long, default_value_t = 20)]
        last: u64,
        /// Keep printing new records as they are stored (online only).
        #[arg(long)]
        follow: bool,
        /// Only streams starting with this (instance/, instance/i-…, cluster/).
        #[arg(long)]
        stream: Option<String>,
        /// Only this account id.
        #[arg(long)]
        account: Option<String>,
        /// Only records of this action (RunInstances, …).
        #[arg(long)]
        action: Option<String>,
        /// Only this event type (InstanceRunning, …).
        #[arg(long = "type")]
        event_type: Option<String>,
    },
}

enum Source {
    Offline(Offline),
    Online(Online),
}

impl Source {
    fn records(&self) -> &dyn Records {
        match self {
            Source::Offline(o) => o,
            Source::Online(o) => o,
        }
    }
}

fn open(args: &ReplayArgs) -> anyhow::Result<Source> {
    match &args.controller {
        Some(url) => Ok(Source::Online(Online::connect(url, &args.data_dir)?)),
        None => Ok(Source::Offline(Offline::open(&args.data_dir).map_err(offline_error)?)),
    }
}

/// Why the log cannot be opened offline, in the user's language.
fn offline_error(e: ReplayError) -> anyhow::Error {
    match e {
        ReplayError::InUse(path) => anyhow::anyhow!(say!(
            "the event log {path} is in use: a running controller holds its log file (redb allows one \
             process per file): stop it, or replay online with --controller URL",
            "イベントログ {path} は使用中です: 動いているコントローラーがログファイルを開いています\
             (redb は 1 ファイルに 1 プロセスだけ): 止めるか、--controller URL でオンラインで再生してください"
        )),
        ReplayError::NotClosedCleanly(path) => anyhow::anyhow!(say!(
            "the event log {path} was not closed cleanly (the controller crashed); the replay tools only \
             read it: start the controller once to recover it, or salvage it (yukari replay salvage)",
            "イベントログ {path} は正しく閉じられていません(コントローラーが異常終了しました)。再生ツールは\
             読むだけです: コントローラーを一度起動して回復させるか、救出してください(yukari replay salvage)"
        )),
        other => other.into(),
    }
}

/// Time-travel snapshots, when the data directory has them (online too,
/// when the tool runs on the controller's machine: each is checked against
/// the log before use).
fn snapshots(args: &ReplayArgs) -> Option<SnapshotStore> {
    let store = SnapshotStore::in_data_dir(&args.data_dir);
    store.dir().is_dir().then_some(store)
}

fn time_arg(text: &Option<String>) -> anyhow::Result<Option<time::Micros>> {
    Ok(text.as_deref().map(time::parse).transpose()?)
}

/// Writes to stdout; a closed pipe (`| head`) ends the command quietly.
struct Out(std::io::BufWriter<std::io::Stdout>);

impl Out {
    fn new() -> Out {
        Out(std::io::BufWriter::new(std::io::stdout()))
    }

    fn put(&mut self, text: &str) -> ControlFlow<()> {
        match self.0.write_all(text.as_bytes()) {
            Ok(()) => ControlFlow::Continue(()),
            Err(_) => ControlFlow::Break(()),
        }
    }

    fn flush(&mut self) {
        let _ = self.0.flush();
    }
}

pub fn run(args: ReplayArgs) -> anyhow::Result<()> {
    if let ReplayCommand::Salvage { to } = &args.command {
        if args.controller.is_some() {
            bail!(say!(
                "salvage reads the log file of a stopped controller: leave out --controller",
                "salvage は停止したコントローラーのログファイルを読みます: --controller を外してください"
            ));
        }
        return salvage::run(&args.data_dir, to);
    }
    let source = open(&args)?;
    let records = source.records();
    let head = records.head()?;
    let mut out = Out::new();
    match &args.command {
        ReplayCommand::Audit(a) => {
            let filter = AuditFilter {
                account: a.account.clone(),
                user: a.user.clone(),
                resource: a.resource.clone(),
                action: a.action.clone(),
                from: time_arg(&a.from)?,
                to: time_arg(&a.to)?,
            };
            let _ = out.put(&output::audit_header(a.format));
            if filter.resource.is_some() {
                for e in audit::audit_resource(records, &filter, &Progress::new("audit", head))? {
                    if out.put(&output::audit_line(&e, a.format)).is_break() {
                        break;
                    }
                }
            } else {
                audit::audit(records, &filter, &Progress::new("audit", head), |e| {
                    out.put(&output::audit_line(&e, a.format))
                })?;
            }
        }
        ReplayCommand::Usage { from, to, account, price_sheet, plot, format } => {
            let from = time_arg(from)?.unwrap_or(i64::MIN / 2);
            // Usage is what happened: a period ending in the future ends now.
            let to = time_arg(to)?.unwrap_or(i64::MAX).min(time::now());
            let sheet = price_sheet.as_deref().map(PriceSheet::load).transpose()?;
            let mut report = usage::usage(records, from, to, &Progress::new("usage", head))?;
            if from == i64::MIN / 2 {
                report.from = records.read(1, 1)?.first().map_or(to, |r| r.recorded_at).min(to);
            }
            if let Some(account) = account {
                let names = report.names.clone();
                let keep = |id: &String| id == account || names.get(id) == Some(account);
                report.lines.retain(|k, _| keep(&k.account));
                report.steps.retain(|s| keep(&s.account));
            }
            let _ = out.put(&output::usage(&report, *format));
            if let Some(sheet) = &sheet {
                let invoices = usage::invoices(&report, sheet);
                let _ = out.put(&output::invoices(&invoices, *format));
            }
            if let Some(path) = plot {
                replay_tools::plot::plot(&report, path)?;
                eprintln!("{}", say!("plot written to {}", "グラフを {} に書き出しました", path.display()));
            }
        }
        ReplayCommand::State { at, position, format, no_snapshots } => {
            let position = match (position, time_arg(at)?) {
                (Some(p), _) => *p,
                (None, Some(t)) => state::position_at(records, t)?,
                (None, None) => {
                    bail!(say!("give --at or --position", "--at か --position を指定してください"))
                }
            };
            let store = if *no_snapshots { None } else { snapshots(&args) };
            let (models, folded) =
                state::state_at(records, store.as_ref(), position, &Progress::new("state", position))?;
            let at = records
                .read(models.position, 1)?
                .first()
                .map(|r| r.recorded_at)
                .filter(|_| models.position > 0);
            if format == "json" {
                let value = serde_json::json!({
                    "position": models.position,
                    "time": at.map(time::format),
                    "state": state::to_json(&models),
                });
                let _ = out.put(&format!("{}\n", serde_json::to_string_pretty(&value)?));
            } else {
                let _ = out.put(&tree::tree(&models, at).render());
            }
            let (events, source, snapshot) = (folded.events, records.describe(), folded.from_snapshot);
            eprintln!(
                "{}",
                if snapshot > 0 {
                    say!(
                        "folded {events} events after the snapshot at {snapshot} from {source}",
                        "{source} から、位置 {snapshot} のスナップショットのあとの {events} 件のイベントを畳み込みました"
                    )
                } else {
                    say!(
                        "folded {events} events from {source}",
                        "{source} から {events} 件のイベントを畳み込みました"
                    )
                }
            );
        }
        ReplayCommand::Diff { from, to, from_position, to_position, format } => {
            let p1 = match from_position {
                Some(p) => *p,
                None => state::position_at(records, time_arg(from)?.context("--from")?)?,
            };
            let p2 = match to_position {
                Some(p) => *p,
                None => state::position_at(records, time_arg(to)?.context("--to")?)?,
            };
            if p2 < p1 {
                bail!(say!("--to ({p2}) is before --from ({p1})", "--to({p2})が --from({p1})より前です"));
            }
            let store = snapshots(&args);
            let (mut models, _) = state::state_at(records, store.as_ref(), p1, &Progress::new("diff", p1))?;
            let before = models.clone();
            state::advance(&mut models, records, p2, &Progress::new("diff", p2 - p1))?;
            let changes = diff::diff_models(&before, &models);
            if format == "json" {
                let value = serde_json::json!({ "from_position": p1, "to_position": models.position, "changes": changes });
                let _ = out.put(&format!("{}\n", serde_json::to_string_pretty(&value)?));
            } else {
                let _ = out.put(&format!(
                    "{} change(s) from position {p1} to {}\n{}",
                    changes.len(),
                    models.position,
                    diff::render(&changes)
                ));
            }
        }
        ReplayCommand::Verify => {
            let mut not_checked = Vec::new();
            let live = match &source {
                Source::Offline(_) => {
                    match LiveModels::from_snapshot_file(&args.data_dir.join("projections.snapshot"))? {
                        Ok(live) => live,
                        Err(why) => {
                            not_checked.push(why);
                            None
                        }
                    }
                }
                Source::Online(o) => {
                    let (position, bytes) = o.block_on(o.client.models())?;
                    Some(LiveModels {
                        origin: "the running controller's read models".into(),
                        position,
                        bytes,
                    })
                }
            };
            let store = snapshots(&args);
            let checks = Checks {
                live,
                not_checked,
                snapshots: store.as_ref(),
                stream_index: matches!(source, Source::Offline(_)),
            };
            let report = replay_tools::verify::verify(records, checks, &Progress::new("verify", head))?;
            let _ = out.put(&report.to_string());
            out.flush();
            if !report.ok() {
                std::process::exit(1);
            }
        }
        ReplayCommand::Rebuild { every } => {
            let store = SnapshotStore::in_data_dir(&args.data_dir);
            let projection = match &source {
                Source::Offline(_) => Some(args.data_dir.join("projections.snapshot")),
                Source::Online(_) => None,
            };
            let done = rebuild::rebuild(
                records,
                &store,
                *every,
                projection.as_deref(),
                &Progress::new("rebuild", head),
            )?;
            let _ = out.put(&format!(
                "rebuilt from {} events: {} time-travel snapshot(s) in {} (every {every} events; {} removed){}\n",
                done.position,
                done.snapshots.len(),
                store.dir().display(),
                done.removed,
                projection.map(|p| format!("; read models saved to {}", p.display())).unwrap_or_default()
            ));
        }
        ReplayCommand::Salvage { .. } => unreachable!("salvage opens no source"),
        ReplayCommand::Tail { from_position, last, follow, stream, account, action, event_type } => {
            let filter = tail::TailFilter {
                stream: stream.clone(),
                account: account.clone(),
                action: action.clone(),
                event_type: event_type.clone(),
            };
            let start = from_position.unwrap_or_else(|| head.saturating_sub(*last) + 1);
            let mut next = start;
            let mut failure = None;
            records.visit(start, &mut |position, record| {
                next = position + 1;
                match record {
                    Ok(e) if filter.matches(&e) => out.put(&format!("{}\n", tail::line(&e))),
                    Ok(_) => ControlFlow::Continue(()),
                    Err(e) => {
                        failure = Some(e);
                        ControlFlow::Break(())
                    }
                }
            })?;
            if let Some(e) = failure {
                return Err(e.into());
            }
            if *follow {
                let Source::Online(o) = &source else {
                    bail!(say!(
                        "--follow needs --controller URL: a stopped controller's log does not grow",
                        "--follow には --controller URL が必要です: 停止したコントローラーのログは増えません"
                    ));
                };
                out.flush();
                loop {
                    let page = o.block_on(o.client.follow(next, 1000, 5))?;
                    for (position, bytes) in &page.records {
                        let e = eventlog::decode_record(*position, bytes)?;
                        next = position + 1;
                        if filter.matches(&e) && out.put(&format!("{}\n", tail::line(&e))).is_break() {
                            return Ok(());
                        }
                    }
                    out.flush();
                }
            }
        }
    }
    out.flush();
    Ok(())
}
