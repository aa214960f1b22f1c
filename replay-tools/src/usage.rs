//! `yukari replay usage`: what each account used over a period, from the
//! real state transitions in the log.
//!
//! Each metered stream is folded with the domain's own
//! [`domain::Aggregate::evolve`]; after every event, [`meter`] says what the
//! stream's state costs while it lasts (a running instance: one instance of
//! its type). Usage accrues from the record that put the state in place to
//! the record that changed it, clipped to the period, in microseconds of
//! the log's record time. This is written against states, not event names,
//! so new transitions (stop, start) are metered without a change here.
//!
//! Amounts are integers (STYLE.md rule 12): quantity × microseconds, shown
//! as whole seconds; money in milli-units of the price sheet's currency.

use crate::error::ReplayError;
use crate::progress::Progress;
use crate::source::{Records, scan};
use crate::time::{MICROS_PER_SECOND, Micros};
use domain::volumes::{SnapshotState, VolumeState};
use domain::{Aggregate, Event, InstanceState, StreamKind};
use eventlog::EnvelopeRef;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;
use std::path::Path;

/// What a stream's current state is charged as, while it lasts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meter {
    pub account: String,
    /// The kind of resource: `instance`, `volume` or `snapshot`.
    pub resource: &'static str,
    /// What is counted within the kind: the instance type, the volume type,
    /// `standard` for snapshots.
    pub unit: String,
    /// How many units: 1 instance; a volume's or snapshot's GiB (so a
    /// line's quantity-seconds are GiB-seconds).
    pub quantity: u64,
}

/// Streams whose state can be metered; others are not folded at all.
pub fn metered(stream: &str) -> bool {
    // EXTENSION POINT: add the elastic IP stream kind (addresses held).
    matches!(
        StreamKind::of(stream),
        StreamKind::Instance | StreamKind::Volume | StreamKind::Snapshot | StreamKind::Bucket
    )
}

#[cfg(test)]
#[test]
fn metered_agrees_with_the_domains_stream_kinds() {
    use domain::StreamId;
    for s in
        ["instance/i-1", "cluster/z", "cloud", "account/1", "reservation/r-1", "token/1/t", "instancex/1"]
    {
        assert_eq!(metered(s), StreamId::from_stored(s).kind() == StreamKind::Instance, "{s}");
    }
    for s in ["volume/vol-1", "snapshot/snap-1", "bucket/photos"] {
        assert!(metered(s), "{s}");
    }
}

/// EXTENSION POINT: what a folded state costs. An instance is charged while
/// it is running (not while pending, stopping, stopped, shutting down or
/// terminated); a volume by its size from the moment it is made until it
/// is being deleted (not while creating, nor in error); a snapshot by its
/// volume's size once completed until deleted (its chunks are shared and
/// zeros not stored, so this is what the user is shown, not what the disk
/// holds); a bucket by the MiB its object versions hold (blobs shared by
/// copies are counted for each copy, as S3 bills them). Addresses held (an elastic IP from allocation to release) go
/// here too when they are priced: e.g.
/// `Aggregate::ElasticIp(a) if !a.released => Meter { resource: "address",
/// unit: "elastic-ip", quantity: 1, .. }`.
pub fn meter(aggregate: &Aggregate) -> Option<Meter> {
    match aggregate {
        Aggregate::Instance(i) if i.state == InstanceState::Running => Some(Meter {
            account: i.account.to_string(),
            resource: "instance",
            unit: i.vm_type.name.to_string(),
            quantity: 1,
        }),
        Aggregate::Volume(v) if matches!(v.state, VolumeState::Available | VolumeState::InUse) => {
            Some(Meter {
                account: v.account.to_string(),
                resource: "volume",
                unit: v.volume_type.clone(),
                quantity: u64::from(v.size_gib),
            })
        }
        Aggregate::Snapshot(s) if s.state == SnapshotState::Completed && !s.deleted => Some(Meter {
            account: s.account.to_string(),
            resource: "snapshot",
            unit: "standard".to_owned(),
            quantity: u64::from(s.size_gib),
        }),
        // A bucket's owner pays for what it stores (every version of every
        // object, whoever put it, as in S3), in MiB, rounded up.
        Aggregate::Bucket(b) if !b.deleted && b.stored > 0 => Some(Meter {
            account: b.owner.to_string(),
            resource: "object-storage",
            unit: "MiB".to_owned(),
            quantity: b.stored.div_ceil(1 << 20),
        }),
        _ => None,
    }
}

/// Whether a folded state can never be charged again (its stream is
/// dropped from memory).
fn finished(aggregate: &Aggregate) -> bool {
    match aggregate {
        Aggregate::Instance(i) => i.state == InstanceState::Terminated,
        Aggregate::Volume(v) => v.is_deleted(),
        Aggregate::Snapshot(s) => s.deleted,
        _ => false,
    }
}

/// One line of usage: an account's use of one unit of one resource kind.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct UsageKey {
    pub account: String,
    pub resource: String,
    pub unit: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UsageAmount {
    /// Quantity × microseconds within the period.
    pub quantity_micros: u128,
    /// How many distinct resources (streams) contributed.
    pub resources: u64,
}

impl UsageAmount {
    /// Whole quantity-seconds (instance-seconds), rounded down.
    pub fn seconds(&self) -> u64 {
        u64::try_from(self.quantity_micros / MICROS_PER_SECOND as u128).unwrap_or(u64::MAX)
    }
}

/// A change in what an account holds, for plotting usage over time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    pub at: Micros,
    pub account: String,
    pub resource: &'static str,
    /// Quantity started (positive) or ended (negative).
    pub delta: i64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct UsageReport {
    pub from: Micros,
    pub to: Micros,
    pub lines: BTreeMap<UsageKey, UsageAmount>,
    /// Account names, by id, as the log created them.
    pub names: BTreeMap<String, String>,
    /// Records whose event this build does not know, by type: skipped.
    pub skipped: BTreeMap<String, u64>,
    /// Metered intervals starting or ending, within the period, in order.
    #[serde(skip)]
    pub steps: Vec<Step>,
    pub records: u64,
}

/// Every metered interval of the log so far, whatever the period: what
/// each stream's state was charged as, from the record that put it in
/// place to the one that changed it (open ones still run). Fed records in
/// log order, it can be advanced as the log grows and asked for the usage
/// of any period ([`UsageLedger::report`]) without reading the log again:
/// the web console keeps one.
#[derive(Default)]
pub struct UsageLedger {
    /// The last position folded.
    position: u64,
    streams: HashMap<String, (Aggregate, Option<(Meter, Micros)>)>,
    /// Intervals that ended: (stream, meter, since, until), in log order.
    closed: Vec<(String, Meter, Micros, Micros)>,
    names: BTreeMap<String, String>,
    skipped: BTreeMap<String, u64>,
    records: u64,
}

impl UsageLedger {
    pub fn new() -> UsageLedger {
        UsageLedger::default()
    }

    /// The last position folded (0: none).
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Folds one record (the next in log order).
    pub fn apply(&mut self, e: &EnvelopeRef<'_>) {
        self.position = e.position;
        self.records += 1;
        let interesting = e.event_type == "AccountCreated" || metered(e.stream);
        if !interesting {
            return;
        }
        let event = match Event::decode(e.event_type, e.schema, e.payload) {
            Ok(event) => event,
            Err(_) => {
                *self.skipped.entry(e.event_type.to_owned()).or_default() += 1;
                return;
            }
        };
        if let Event::AccountCreated(a) = &event {
            self.names.insert(a.account.to_string(), a.name.clone());
        }
        if !metered(e.stream) {
            return;
        }
        if !self.streams.contains_key(e.stream) {
            self.streams.insert(e.stream.to_owned(), Default::default());
        }
        let (aggregate, open) = self.streams.get_mut(e.stream).expect("inserted above");
        aggregate.evolve(&event);
        let now = meter(aggregate);
        let done = finished(aggregate);
        let mut closing = None;
        if now.as_ref() != open.as_ref().map(|(m, _)| m) {
            closing = open.take();
            *open = now.map(|m| (m, e.recorded_at));
        }
        if done {
            self.streams.remove(e.stream);
        }
        if let Some((m, since)) = closing {
            self.closed.push((e.stream.to_owned(), m, since, e.recorded_at));
        }
    }

    /// Folds the records after [`UsageLedger::position`] up to the head,
    /// stopping before the first one recorded at or after `until`.
    pub fn advance(&mut self, records: &dyn Records, until: Option<Micros>) -> Result<(), ReplayError> {
        scan(records, self.position + 1, |e| {
            if until.is_some_and(|until| e.recorded_at >= until) {
                return ControlFlow::Break(());
            }
            self.apply(e);
            ControlFlow::Continue(())
        })
    }

    /// The usage within `[from, to)` of what has been folded (which must
    /// include every record before `to`): what is still charged is charged
    /// up to `to`.
    pub fn report(&self, from: Micros, to: Micros) -> UsageReport {
        let mut period = Period { from, to, counted: HashMap::new(), report: UsageReport::default() };
        period.report = UsageReport {
            from,
            to,
            names: self.names.clone(),
            skipped: self.skipped.clone(),
            records: self.records,
            ..UsageReport::default()
        };
        for (stream, m, since, until) in &self.closed {
            period.accrue(stream, m.clone(), *since, *until);
        }
        let mut open: Vec<(&String, &Meter, Micros)> = self
            .streams
            .iter()
            .filter_map(|(s, (_, o))| o.as_ref().map(|(m, since)| (s, m, *since)))
            .collect();
        open.sort_by(|a, b| a.0.cmp(b.0));
        for (stream, m, since) in open {
            period.accrue(stream, m.clone(), since, to);
        }
        period.report.steps.sort_by(|a, b| a.at.cmp(&b.at).then(a.account.cmp(&b.account)));
        period.report
    }
}

/// A report being made for one period.
struct Period {
    from: Micros,
    to: Micros,
    /// Resources counted per line (a resource is counted once per line).
    counted: HashMap<(String, UsageKey), ()>,
    report: UsageReport,
}

impl Period {
    /// Charges `m` for `[since, until)` within the period.
    fn accrue(&mut self, stream: &str, m: Meter, since: Micros, until: Micros) {
        let (start, end) = (since.max(self.from), until.min(self.to));
        if end <= start {
            return;
        }
        let key = UsageKey { account: m.account.clone(), resource: m.resource.to_owned(), unit: m.unit };
        let line = self.report.lines.entry(key.clone()).or_default();
        line.quantity_micros += u128::from(m.quantity) * (end - start) as u128;
        if self.counted.insert((stream.to_owned(), key), ()).is_none() {
            line.resources += 1;
        }
        let (account, resource, delta) = (m.account, m.resource, m.quantity as i64);
        self.report.steps.push(Step { at: start, account: account.clone(), resource, delta });
        if until < self.to {
            self.report.steps.push(Step { at: end, account, resource, delta: -delta });
        }
    }
}

/// Usage within `[from, to)`, optionally of one account (id or name).
pub fn usage(
    records: &dyn Records,
    from: Micros,
    to: Micros,
    progress: &Progress,
) -> Result<UsageReport, ReplayError> {
    if to <= from {
        return Err(ReplayError::Invalid("the period is empty: --to must be after --from".into()));
    }
    let mut ledger = UsageLedger::new();
    let mut done = 0u64;
    scan(records, 1, |e| {
        done += 1;
        progress.at(done);
        if e.recorded_at >= to {
            return ControlFlow::Break(());
        }
        ledger.apply(e);
        ControlFlow::Continue(())
    })?;
    Ok(ledger.report(from, to))
}

/// Prices in milli-units of `currency` per unit-hour, by resource kind and
/// unit; `*` prices every unit of a kind that has no price of its own.
///
/// ```json
/// { "currency": "JPY",
///   "per_hour": { "instance": { "m1.small": 12000, "m1.large": 48000, "*": 20000 },
///                 "address": { "*": 5000 } } }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceSheet {
    pub currency: String,
    pub per_hour: BTreeMap<String, BTreeMap<String, u64>>,
}

impl PriceSheet {
    pub fn load(path: &Path) -> Result<PriceSheet, ReplayError> {
        let text = std::fs::read_to_string(path).map_err(|e| ReplayError::file(path, e))?;
        serde_json::from_str(&text).map_err(|e| ReplayError::file(path, format!("not a price sheet: {e}")))
    }

    /// Milli-units per unit-hour of `key`, if priced.
    pub fn price(&self, key: &UsageKey) -> Option<u64> {
        let kind = self.per_hour.get(&key.resource)?;
        kind.get(&key.unit).or_else(|| kind.get("*")).copied()
    }
}

const MICROS_PER_HOUR: u128 = 3_600 * MICROS_PER_SECOND as u128;

/// What `quantity_micros` of use costs at `per_hour` milli-units, rounded
/// half up to a whole milli-unit.
pub fn cost(quantity_micros: u128, per_hour: u64) -> u128 {
    (quantity_micros * u128::from(per_hour) + MICROS_PER_HOUR / 2) / MICROS_PER_HOUR
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InvoiceLine {
    pub key: UsageKey,
    pub seconds: u64,
    /// Milli-units per unit-hour; `None` when the sheet has no price.
    pub price_per_hour: Option<u64>,
    /// Milli-units.
    pub amount: u128,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Invoice {
    pub account: String,
    pub account_name: Option<String>,
    pub currency: String,
    pub lines: Vec<InvoiceLine>,
    /// Milli-units: the sum of the lines.
    pub total: u128,
}

/// One invoice per account that used anything.
pub fn invoices(report: &UsageReport, sheet: &PriceSheet) -> Vec<Invoice> {
    let mut out: Vec<Invoice> = Vec::new();
    for (key, amount) in &report.lines {
        if out.last().is_none_or(|i| i.account != key.account) {
            out.push(Invoice {
                account: key.account.clone(),
                account_name: report.names.get(&key.account).cloned(),
                currency: sheet.currency.clone(),
                lines: Vec::new(),
                total: 0,
            });
        }
        let invoice = out.last_mut().expect("pushed above");
        let price = sheet.price(key);
        let line_amount = price.map_or(0, |p| cost(amount.quantity_micros, p));
        invoice.total += line_amount;
        invoice.lines.push(InvoiceLine {
            key: key.clone(),
            seconds: amount.seconds(),
            price_per_hour: price,
            amount: line_amount,
        });
    }
    out
}

/// Milli-units as a decimal amount: `12345` → `12.345`.
pub fn money(milli: u128) -> String {
    format!("{}.{:03}", milli / 1000, milli % 1000)
}

#[cfg(test)]
mod tests;
