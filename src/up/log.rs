//! Opening the controller's event log, and what the operator is told when
//! it cannot be: in use, damaged (with the position and how to salvage),
//! or unreadable.

use eventlog::{Damage, EventLog, Health, LogOptions, OpenError, ReadError};
use projections::{ProjectionError, Projections};
use std::path::Path;
use std::sync::Arc;

/// Opens `DIR/events.redb` and the read models. A damaged log (found by
/// opening, or by the read models' catching up since their checkpoint)
/// stops the start. With `read_only` (--allow-damaged-log, for a log found
/// damaged now or earlier, e.g. by the node executor, which reads it all),
/// the log is opened read-only whatever its state, and the read models are
/// as far as it can be folded.
pub fn open_log(dir: &Path, read_only: bool) -> anyhow::Result<(EventLog, Arc<Projections>)> {
    let path = dir.join("events.redb");
    let snapshot = Some(dir.join("projections.snapshot"));
    if read_only {
        let log = EventLog::open_read_only(&path, LogOptions::default()).map_err(|e| cannot_open(dir, e))?;
        let (projections, stopped) = Projections::open_partial(&log, snapshot);
        tracing::warn!(
            health = ?log.health(),
            read_models_at = projections.position(),
            stopped = ?stopped.map(|e| e.to_string()),
            "running read-only (--allow-damaged-log): every change is refused"
        );
        return Ok((log, projections));
    }
    let damage = match EventLog::open(&path, LogOptions::default()) {
        Ok(log) => match Projections::open(&log, snapshot) {
            Ok(projections) => return Ok((log, projections)),
            Err(e) => match damage_of(&log, &e) {
                Some(damage) => {
                    log.close();
                    damage
                }
                None => return Err(e.into()),
            },
        },
        Err(OpenError::Damaged(damage)) => damage,
        Err(e) => return Err(cannot_open(dir, e)),
    };
    anyhow::bail!(damaged(dir, &damage))
}

/// The damage behind a failure of the read models to catch up, if that is
/// what it was (the log has noted it then).
fn damage_of(log: &EventLog, e: &ProjectionError) -> Option<Damage> {
    match (log.health(), e) {
        (Health::Damaged(damage), _) => Some(damage),
        (_, ProjectionError::Read(ReadError::Corrupt { position, reason })) => {
            Some(Damage { position: Some(*position), reason: reason.clone() })
        }
        // An event this build does not know (a newer Yukari wrote it) is
        // not damage: the error says what it is.
        _ => None,
    }
}

/// What to do about a damaged log.
pub fn damaged(dir: &Path, damage: &Damage) -> String {
    let dir = dir.display();
    say!(
        "the event log in {dir} is damaged ({damage}). Salvage its readable records into a new log with \
         `yukari replay salvage --data-dir {dir} --to NEW` and put it in place as its report says, or \
         start read-only (every change refused) with --allow-damaged-log",
        "{dir} のイベントログが損傷しています({damage})。`yukari replay salvage --data-dir {dir} --to NEW` \
         で読めるレコードを新しいログに救出し、その報告のとおりに置き換えるか、--allow-damaged-log で読み取り\
         専用(変更はすべて拒否)で起動してください"
    )
}

/// Why the log did not open, with the hint that fits what failed.
fn cannot_open(dir: &Path, e: OpenError) -> anyhow::Error {
    let shown = dir.display();
    let message = match &e {
        OpenError::InUse { .. } => say!(
            "cannot open the event log in {shown}: it is in use (is another yukari using it?)",
            "{shown} のイベントログを開けません: 使用中です(ほかの yukari が使っていませんか?)"
        ),
        OpenError::Damaged(damage) => damaged(dir, damage),
        OpenError::NotClosedCleanly { .. } => say!(
            "cannot open the damaged event log in {shown} read-only: it was not closed cleanly, and recovering \
             it would write to it. Salvage it: `yukari replay salvage --data-dir {shown} --to NEW`",
            "{shown} の損傷したイベントログを読み取り専用で開けません: 正しく閉じられておらず、回復には書き込みが\
             必要です。救出してください: `yukari replay salvage --data-dir {shown} --to NEW`"
        ),
        OpenError::Unavailable { reason, .. } => say!(
            "cannot open the event log in {shown}: {reason}",
            "{shown} のイベントログを開けません: {reason}"
        ),
        OpenError::Database { .. } | OpenError::Storage(_) => {
            say!("cannot open the event log in {shown}", "{shown} のイベントログを開けません")
        }
    };
    anyhow::Error::new(e).context(message)
}
