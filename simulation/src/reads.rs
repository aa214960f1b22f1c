//! Reads checked against the log: an acknowledged Describe* is answered
//! again from read models folded, record by record, from the log alone
//! (the checker's own copy, not the controller's), at each commit the
//! read may have seen (`history.rs`); one of them must give the same
//! answer, byte for byte. So a read never shows a write that was not
//! committed, nor misses one its client saw acknowledged, and the live
//! read models answer as the log says.

use crate::controller;
use crate::history::{History, Read, Unchecked};
use api::app::time_travel::Past;
use eventlog::{EventLog, decode_record};
use projections::ReadModels;
use std::collections::BTreeSet;
use std::sync::Arc;

/// The checker's read models, folded from the log up to where the last
/// read checked looked.
#[derive(Default)]
pub struct Shadow {
    models: ReadModels,
}

impl Shadow {
    /// Folds the log's records up to `position`.
    fn fold_to(&mut self, log: &EventLog, position: u64) -> Result<(), Unchecked> {
        if position < self.models.position {
            return Err(Unchecked::Violation(format!(
                "reads checked out of order: at {position} after {}",
                self.models.position
            )));
        }
        while self.models.position < position {
            let from = self.models.position + 1;
            let max = usize::try_from(position - self.models.position).unwrap_or(1024).min(1024);
            let records = log.raw_records(from, max).map_err(Unchecked::Unreadable)?;
            if records.is_empty() {
                return Err(Unchecked::Violation(format!("the log ends before {position}")));
            }
            for (p, bytes) in &records {
                let envelope = decode_record(*p, bytes).map_err(|e| e.to_string())?;
                self.models.apply(&envelope).map_err(|e| format!("folding {p}: {e}"))?;
            }
        }
        Ok(())
    }
}

/// Answers each read again at each position it may have seen; one must
/// match.
pub async fn check(
    shadow: &mut Shadow,
    app: &api::app::App,
    history: &History,
    reads: &[Read],
) -> Result<(), Unchecked> {
    let positions: BTreeSet<u64> = reads.iter().flat_map(|r| r.positions.iter().copied()).collect();
    let mut matched = vec![false; reads.len()];
    let mut differences = vec![Vec::new(); reads.len()];
    for position in positions {
        shadow.fold_to(&app.log, position)?;
        // Lent to the reads at this position, not copied.
        let models = std::mem::take(&mut shadow.models);
        let past = Arc::new(Past { models, from_snapshot: 0 });
        for (i, read) in reads.iter().enumerate() {
            if matched[i] || !read.positions.contains(&position) {
                continue;
            }
            let (flight, request) = &history.flights[read.flight];
            let live = flight.outcome.as_ref().and_then(|(_, xml)| xml.as_deref()).unwrap_or_default();
            let params = api::ec2::params::Params::from_request(request.params.clone())
                .map_err(|e| format!("the simulator built a bad request: {e:?}"))?;
            let meta = controller::meta(controller::admin(&flight.account), flight.request_id.clone());
            match api::ec2::read_from(app, &params, meta, past.clone()).await {
                Ok(again) if again == live => matched[i] = true,
                Ok(again) => {
                    differences[i].push(format!("at {position}: {}", first_difference(live, &again)))
                }
                Err(e) => differences[i].push(format!("at {position}: {} ({})", e.code, e.message)),
            }
        }
        shadow.models = Arc::try_unwrap(past)
            .map(|past| past.models)
            .map_err(|_| "a read kept the checker's read models".to_owned())?;
    }
    for (i, read) in reads.iter().enumerate() {
        if !matched[i] {
            let (flight, request) = &history.flights[read.flight];
            return Err(Unchecked::Violation(format!(
                "{} ({}), invoked at {}, answered what the log had at none of {:?}: {}",
                request.action(),
                flight.request_id,
                flight.invoked,
                read.positions,
                differences[i].join("; ")
            )));
        }
    }
    Ok(())
}

/// Where two answers part, with a little of each.
fn first_difference(live: &str, again: &str) -> String {
    let at = live.bytes().zip(again.bytes()).take_while(|(a, b)| a == b).count();
    let from = live[..at].char_indices().rev().nth(60).map_or(0, |(i, _)| i);
    let cut = |s: &str| s[from..].chars().take(160).collect::<String>();
    format!("the live answer has …{}, the log's …{}", cut(live), cut(again))
}
