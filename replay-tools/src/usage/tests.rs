use super::*;
use crate::testing::{Envelopes, synthetic_log};
use domain::event::*;
use domain::*;

const T0: Micros = 1_800_000_000 * MICROS_PER_SECOND;
const S: Micros = MICROS_PER_SECOND;

fn requested(id: &InstanceId, account: &AccountId, vm: &str) -> Event {
    let vm_type = VmType::eucalyptus_defaults().into_iter().find(|t| t.name == vm).unwrap();
    InstanceRequested {
        instance: id.clone(),
        reservation: ReservationId::from_bits(1),
        account: account.clone(),
        image: ImageId::with_kind(ImageKind::Machine, 1),
        kernel: None,
        ramdisk: None,
        vm_type,
        launch_index: 0,
        user_data: Vec::new(),
        client_token: None,
        key_name: None,
        security_groups: Vec::new(),
        shutdown_behavior: ShutdownBehavior::Stop,
        disable_api_termination: false,
        at: Timestamp(0),
    }
    .into()
}

fn node() -> NodeId {
    NodeId::from_bits(9)
}

fn running() -> Event {
    InstanceRunning { node: node(), at: Timestamp(0) }.into()
}

fn terminating() -> Event {
    InstanceTerminationRequested { at: Timestamp(0) }.into()
}

fn terminated() -> Event {
    InstanceTerminated { reason: StateReason::user_terminated(), at: Timestamp(0) }.into()
}

#[test]
fn an_instance_that_ran_90_seconds_of_m1_small_shows_exactly_90_seconds() {
    let account = AccountId::from_bits(123_456_789_012);
    let i = InstanceId::from_bits(1);
    let stream = format!("instance/{i}");
    let mut log = Envelopes::default();
    log.push(
        &format!("account/{account}"),
        T0,
        AccountCreated { account: account.clone(), name: "acme".into(), at: Timestamp(0) }.into(),
    );
    log.push(&stream, T0 + S, requested(&i, &account, "m1.small"));
    log.push(
        &stream,
        T0 + S,
        InstancePlaced { node: node(), zone: ZoneName::parse("z").unwrap(), at: Timestamp(0) }.into(),
    );
    log.push(&stream, T0 + 5 * S, running());
    log.push(&stream, T0 + 95 * S, terminating());
    log.push(&stream, T0 + 97 * S, terminated());
    let report = log.usage(0, T0 + 1000 * S);
    let key = UsageKey { account: account.to_string(), resource: "instance".into(), unit: "m1.small".into() };
    assert_eq!(report.lines.len(), 1, "{:?}", report.lines);
    assert_eq!(report.lines[&key].seconds(), 90);
    assert_eq!(report.lines[&key].quantity_micros, 90 * S as u128);
    assert_eq!(report.lines[&key].resources, 1);
    assert_eq!(report.names[&account.to_string()], "acme");

    // Clipped to a period that starts 30 s into the run and ends 20 s later.
    let part = log.usage(T0 + 35 * S, T0 + 55 * S);
    assert_eq!(part.lines[&key].seconds(), 20);
    // A period before it ran, and one after it stopped: nothing.
    assert!(log.usage(0, T0 + 5 * S).lines.is_empty());
    assert!(log.usage(T0 + 95 * S, T0 + 2000 * S).lines.is_empty());

    // The plot's steps: +1 when it started, -1 when it stopped.
    let steps: Vec<(Micros, i64)> = report.steps.iter().map(|s| (s.at, s.delta)).collect();
    assert_eq!(steps, [(T0 + 5 * S, 1), (T0 + 95 * S, -1)]);
}

#[test]
fn a_running_instance_is_charged_up_to_the_end_of_the_period_and_types_are_kept_apart() {
    let account = AccountId::from_bits(111_111_111_111);
    let (a, b, c) = (InstanceId::from_bits(1), InstanceId::from_bits(2), InstanceId::from_bits(3));
    let mut log = Envelopes::default();
    log.push(&format!("instance/{a}"), T0, requested(&a, &account, "m1.small"));
    log.push(&format!("instance/{b}"), T0, requested(&b, &account, "m1.large"));
    log.push(&format!("instance/{c}"), T0, requested(&c, &account, "m1.small"));
    log.push(&format!("instance/{a}"), T0 + 10 * S, running());
    log.push(&format!("instance/{b}"), T0 + 10 * S + 500_000, running());
    // c never came up: launch failed, no usage.
    log.push(
        &format!("instance/{c}"),
        T0 + 11 * S,
        InstanceLaunchFailed { node: node(), reason: StateReason::launch_failed("x"), at: Timestamp(0) }
            .into(),
    );
    // A repeated running report changes nothing.
    log.push(&format!("instance/{a}"), T0 + 20 * S, running());
    let report = log.usage(T0, T0 + 70 * S);
    let small =
        UsageKey { account: account.to_string(), resource: "instance".into(), unit: "m1.small".into() };
    let large = UsageKey { unit: "m1.large".into(), ..small.clone() };
    assert_eq!(report.lines[&small].quantity_micros, 60 * S as u128);
    assert_eq!(report.lines[&small].resources, 1);
    assert_eq!(report.lines[&large].quantity_micros, 59 * S as u128 + 500_000);
    assert_eq!(report.lines[&large].seconds(), 59);
}

#[test]
fn a_stopped_instance_is_not_charged_until_it_runs_again() {
    let account = AccountId::from_bits(222_222_222_222);
    let i = InstanceId::from_bits(7);
    let stream = format!("instance/{i}");
    let mut log = Envelopes::default();
    log.push(&stream, T0, requested(&i, &account, "c1.medium"));
    log.push(&stream, T0 + 10 * S, running());
    log.push(
        &stream,
        T0 + 40 * S,
        InstanceStopRequested { force: false, by_guest: false, at: Timestamp(0) }.into(),
    );
    log.push(&stream, T0 + 45 * S, InstanceStopped { at: Timestamp(0) }.into());
    log.push(&stream, T0 + 100 * S, InstanceStartRequested { at: Timestamp(0) }.into());
    log.push(
        &stream,
        T0 + 101 * S,
        InstancePlaced { node: node(), zone: ZoneName::parse("z").unwrap(), at: Timestamp(0) }.into(),
    );
    log.push(&stream, T0 + 110 * S, running());
    log.push(&stream, T0 + 130 * S, terminating());
    let report = log.usage(0, T0 + 1000 * S);
    let key =
        UsageKey { account: account.to_string(), resource: "instance".into(), unit: "c1.medium".into() };
    // 30 s before the stop, 20 s after the start; stopping and stopped are free.
    assert_eq!(report.lines[&key].seconds(), 50);
    let steps: Vec<(Micros, i64)> = report.steps.iter().map(|s| (s.at, s.delta)).collect();
    assert_eq!(steps, [(T0 + 10 * S, 1), (T0 + 40 * S, -1), (T0 + 110 * S, 1), (T0 + 130 * S, -1)]);
}

#[test]
fn unknown_event_types_are_skipped_and_counted() {
    let mut log = Envelopes::default();
    let i = InstanceId::from_bits(5);
    log.push(&format!("instance/{i}"), T0, requested(&i, &AccountId::from_bits(1), "m1.small"));
    log.push_raw(&format!("instance/{i}"), T0 + S, "InstanceHibernated", 1, vec![1, 2, 3]);
    let report = log.usage(0, T0 + 10 * S);
    assert_eq!(report.skipped.get("InstanceHibernated"), Some(&1));
    assert!(report.lines.is_empty());
}

#[test]
fn invoices_are_integers_rounded_half_up_per_line() {
    // One m1.small for 90 s at 12.000/h: 12000 milli × 90/3600 = 300 milli.
    assert_eq!(cost(90 * S as u128, 12_000), 300);
    // 1 s at 1.000/h = 0.2777… milli → 0; 2 s → 0.555… → 1 (half up).
    assert_eq!(cost(S as u128, 1_000), 0);
    assert_eq!(cost(2 * S as u128, 1_000), 1);
    assert_eq!(cost(1_800 * S as u128, 1), 1);
    assert_eq!(money(12_345), "12.345");
    assert_eq!(money(7), "0.007");

    let mut report = UsageReport::default();
    let key = |unit: &str| UsageKey {
        account: "111111111111".into(),
        resource: "instance".into(),
        unit: unit.into(),
    };
    report.lines.insert(key("m1.small"), UsageAmount { quantity_micros: 3_600 * S as u128, resources: 2 });
    report.lines.insert(key("x9.huge"), UsageAmount { quantity_micros: 7_200 * S as u128, resources: 1 });
    report.lines.insert(
        UsageKey { account: "222222222222".into(), ..key("m1.small") },
        UsageAmount { quantity_micros: 90 * S as u128, resources: 1 },
    );
    let sheet: PriceSheet = serde_json::from_str(
        r#"{"currency": "JPY", "per_hour": {"instance": {"m1.small": 12000, "*": 5000}}}"#,
    )
    .unwrap();
    let invoices = invoices(&report, &sheet);
    assert_eq!(invoices.len(), 2);
    assert_eq!(invoices[0].lines[0].amount, 12_000);
    assert_eq!(invoices[0].lines[1].price_per_hour, Some(5_000));
    assert_eq!(invoices[0].lines[1].amount, 10_000);
    assert_eq!(invoices[0].total, 22_000);
    assert_eq!(invoices[1].total, 300);
    let no_wildcard: PriceSheet =
        serde_json::from_str(r#"{"currency": "JPY", "per_hour": {"instance": {"m1.small": 12000}}}"#)
            .unwrap();
    let unpriced = crate::usage::invoices(&report, &no_wildcard);
    assert_eq!(unpriced[0].lines[1].price_per_hour, None);
    assert_eq!(unpriced[0].total, 12_000);
    assert!(serde_json::from_str::<PriceSheet>(r#"{"currency": "JPY", "prices": {}}"#).is_err());
}

/// Usage from the fold equals a brute-force recomputation: for every
/// instance, the time between its `InstanceRunning` record and the next
/// record of its stream, read through the stream index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_equals_a_brute_force_recomputation_on_a_synthetic_log() {
    let (_dir, offline, _summary) = synthetic_log(6_000, 20).await;
    let head_time = offline.read(offline.head().unwrap(), 1).unwrap()[0].recorded_at;
    let first_time = offline.read(1, 1).unwrap()[0].recorded_at;
    let (from, to) = (first_time + (head_time - first_time) / 4, head_time - (head_time - first_time) / 5);
    let report = usage(&offline, from, to, &Progress::hidden()).unwrap();
    assert!(report.lines.len() > 3, "{:?}", report.lines);

    let mut brute: BTreeMap<UsageKey, u128> = BTreeMap::new();
    let mut instances = BTreeMap::new();
    crate::source::scan(&offline, 1, |e| {
        if domain::StreamKind::of(e.stream) == domain::StreamKind::Instance && e.version == 1 {
            instances.insert(e.stream.to_owned(), ());
        }
        std::ops::ControlFlow::Continue(())
    })
    .unwrap();
    for stream in instances.keys() {
        let records = offline.stream(stream).unwrap();
        let Ok(Event::InstanceRequested(req)) =
            Event::decode(&records[0].event_type, records[0].schema, &records[0].payload)
        else {
            panic!("an instance stream starts with InstanceRequested")
        };
        let Some(up) = records.iter().position(|r| r.event_type == "InstanceRunning") else { continue };
        let start = records[up].recorded_at;
        let end = records.get(up + 1).map_or(to, |r| r.recorded_at);
        let (start, end) = (start.max(from), end.min(to));
        if end > start {
            let key = UsageKey {
                account: req.account.to_string(),
                resource: "instance".into(),
                unit: req.vm_type.name.to_string(),
            };
            *brute.entry(key).or_default() += (end - start) as u128;
        }
    }
    let folded: BTreeMap<UsageKey, u128> =
        report.lines.iter().map(|(k, v)| (k.clone(), v.quantity_micros)).collect();
    assert_eq!(folded, brute);
    let total: u128 = brute.values().sum();
    assert!(total > 0);

    // A ledger advanced in steps, past the period's end, reports the same
    // period the same way (the console keeps one as the log grows).
    let mut ledger = crate::usage::UsageLedger::new();
    let middle = offline.head().unwrap() / 2;
    ledger.advance(&offline, Some(first_time + 1)).unwrap();
    assert!(ledger.position() >= 1, "the records before the time asked for");
    while ledger.position() < middle {
        let next = offline.read(ledger.position() + 1, 1).unwrap();
        ledger.apply(&next[0].as_envelope());
    }
    ledger.advance(&offline, None).unwrap();
    assert_eq!(ledger.position(), offline.head().unwrap());
    let again = ledger.report(from, to);
    assert_eq!(again.lines, report.lines);
    assert_eq!(again.steps, report.steps);
    assert_eq!(again.names, report.names);
}

#[test]
fn volumes_are_charged_by_their_size_while_they_exist_and_snapshots_once_completed() {
    let account = AccountId::from_bits(222_222_222_222);
    let (v, s) = (VolumeId::from_bits(1), SnapshotId::from_bits(2));
    let (volume, snapshot) = (format!("volume/{v}"), format!("snapshot/{s}"));
    let zone = ZoneName::parse("z").unwrap();
    let mut log = Envelopes::default();
    let requested = VolumeRequested {
        volume: v.clone(),
        account: account.clone(),
        zone: zone.clone(),
        size_gib: 4,
        volume_type: "gp3".into(),
        snapshot: None,
        at: Timestamp(0),
    };
    log.push(&volume, T0, requested.into());
    // Creating is not charged: from VolumeCreated on.
    log.push(&volume, T0 + 10 * S, VolumeCreated { at: Timestamp(0) }.into());
    log.push(
        &snapshot,
        T0 + 20 * S,
        SnapshotRequested {
            snapshot: s.clone(),
            account: account.clone(),
            volume: v.clone(),
            zone,
            size_gib: 4,
            description: String::new(),
            at: Timestamp(0),
        }
        .into(),
    );
    log.push(&snapshot, T0 + 30 * S, SnapshotCompleted { manifest: "m".into(), at: Timestamp(0) }.into());
    // Charged until it is being deleted.
    log.push(&volume, T0 + 110 * S, VolumeDeleteRequested { at: Timestamp(0) }.into());
    log.push(&volume, T0 + 115 * S, VolumeDeleted { at: Timestamp(0) }.into());
    log.push(&snapshot, T0 + 130 * S, SnapshotDeleted { at: Timestamp(0) }.into());
    let report = log.usage(0, T0 + 1000 * S);
    let line = |resource: &str, unit: &str| {
        let key = UsageKey { account: account.to_string(), resource: resource.into(), unit: unit.into() };
        report.lines[&key].seconds()
    };
    assert_eq!(report.lines.len(), 2, "{:?}", report.lines);
    assert_eq!(line("volume", "gp3"), 4 * 100, "4 GiB for 100 s");
    assert_eq!(line("snapshot", "standard"), 4 * 100, "4 GiB for 100 s");
}
