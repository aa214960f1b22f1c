use super::*;
use crate::testing::synthetic_log;

fn full_scan(records: &dyn Records, filter: &AuditFilter) -> Vec<AuditEntry> {
    let mut out = Vec::new();
    audit(records, filter, &Progress::hidden(), |e| {
        out.push(e);
        ControlFlow::Continue(())
    })
    .unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_entry_per_request_and_the_index_finds_what_a_full_scan_finds() {
    let (_dir, offline, summary) = synthetic_log(4_000, 100).await;
    let all = full_scan(&offline, &AuditFilter::default());
    // Every record is in exactly one entry, in order, without gaps.
    let mut next = 1;
    for e in &all {
        assert_eq!(e.first_position, next, "{e:?}");
        assert!(e.last_position >= e.first_position);
        next = e.last_position + 1;
    }
    assert_eq!(next - 1, offline.head().unwrap());
    assert_eq!(all[0].action, "BootstrapCloud");
    assert_eq!(all[0].account, "000000000000");

    let id = summary.terminated[0].to_string();
    let filter = AuditFilter { resource: Some(id.clone()), ..AuditFilter::default() };
    let scanned = full_scan(&offline, &filter);
    let indexed = audit_resource(&offline, &filter, &Progress::hidden()).unwrap();
    assert_eq!(indexed, scanned);
    // (Another account's refused attempt on it is checked below.)
    let actions: Vec<&str> =
        indexed.iter().filter(|e| e.outcome == Outcome::Ok).map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["RunInstances", "ReportInstanceRunning", "TerminateInstances", "ReportInstanceTerminated"]
    );
    let launch = &indexed[0];
    assert!(launch.account_name.as_deref().unwrap().starts_with("customer-"));
    assert_eq!(launch.user, "ops");
    assert!(launch.source.starts_with("10.1."));
    assert!(launch.resources.contains(&id));
    assert_eq!(
        launch.events,
        [
            "ClientTokenClaimed",
            "ReservationCreated",
            "InstanceRequested",
            "InstancePlaced",
            "CapacityReserved",
            "PrivateAddressTaken",
            "InstanceAddressed",
            "SecurityGroupMemberAdded"
        ]
    );
    assert_eq!(launch.outcome, Outcome::Ok);
    assert!(!launch.request_id.is_empty());

    // Filters by account name, user and action, and the two paths agree.
    let filter = AuditFilter {
        resource: Some(id.clone()),
        account: launch.account_name.clone(),
        action: Some("terminateinstances".into()),
        ..AuditFilter::default()
    };
    let only = audit_resource(&offline, &filter, &Progress::hidden()).unwrap();
    assert_eq!(only.len(), 1, "the owner's, not the other account's refused attempt");
    assert_eq!(only, full_scan(&offline, &filter));
    let by_user =
        full_scan(&offline, &AuditFilter { user: Some("node-executor".into()), ..AuditFilter::default() });
    assert!(by_user.iter().all(|e| e.action.starts_with("Report")) && !by_user.is_empty());
    // A time window: entries inside it only.
    let mut times: Vec<i64> = all.iter().map(|e| e.time).collect();
    times.dedup();
    assert!(times.len() > 6, "too few commits for distinct record times");
    let (from, to) = (times[2], times[5]);
    let window =
        full_scan(&offline, &AuditFilter { from: Some(from), to: Some(to), ..AuditFilter::default() });
    assert!(!window.is_empty());
    assert!(window.iter().all(|e| e.time >= from && e.time < to));
    let expected: Vec<&AuditEntry> = all.iter().filter(|e| e.time >= from && e.time < to).collect();
    assert_eq!(window.iter().collect::<Vec<_>>(), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_name_their_resources_and_the_index_finds_them() {
    let (_dir, offline, summary) = synthetic_log(4_000, 100).await;
    let id = summary.refused[0].to_string();
    let filter = AuditFilter { resource: Some(id.clone()), ..AuditFilter::default() };
    let scanned = full_scan(&offline, &filter);
    let indexed = audit_resource(&offline, &filter, &Progress::hidden()).unwrap();
    assert_eq!(indexed, scanned);
    let refused: Vec<&AuditEntry> = indexed.iter().filter(|e| e.outcome != Outcome::Ok).collect();
    assert_eq!(refused.len(), 1, "{indexed:#?}");
    let r = refused[0];
    assert_eq!(r.outcome, Outcome::Refused { code: Some("InvalidInstanceID.NotFound".into()) });
    assert_eq!(r.outcome.to_string(), "refused:InvalidInstanceID.NotFound");
    assert_eq!(r.action, "TerminateInstances");
    assert_eq!(r.resources, vec![id.clone()]);
    assert_eq!(r.events, ["RequestRefused"]);
    assert_eq!(r.source, "10.2.0.7:40000");
    // Another account than the owner's, which terminated it afterwards.
    let owner =
        indexed.iter().find(|e| e.action == "TerminateInstances" && e.outcome == Outcome::Ok).unwrap();
    assert_ne!(r.account, owner.account);
    assert!(r.first_position < owner.first_position);
    // A refusal changes no read model: the fold ignores it.
    let by_outcome = full_scan(&offline, &AuditFilter::default());
    assert_eq!(by_outcome.iter().filter(|e| e.outcome != Outcome::Ok).count(), summary.refused.len());
}

#[test]
fn a_refused_request_shows_as_refused() {
    let mut records = crate::testing::Envelopes::default();
    records.push_raw("account/111111111111", 5, "RequestRefused", 1, vec![]);
    let mut grouper = Grouper::default();
    assert!(grouper.push(&records.records[0].as_envelope()).is_none());
    let entry = grouper.close().unwrap();
    assert_eq!(entry.outcome, Outcome::Refused { code: None });
    assert_eq!(entry.outcome.to_string(), "refused");
}

#[test]
fn resources_and_streams_of_ids() {
    assert_eq!(resource_of("instance/i-0123456789abcdef0"), "i-0123456789abcdef0");
    assert_eq!(resource_of("cloud"), "cloud");
    assert_eq!(resource_of("token/111111111111/abc"), "token/111111111111/abc");
    assert_eq!(streams_of("i-0123456789abcdef0").unwrap(), ["instance/i-0123456789abcdef0"]);
    assert_eq!(streams_of("123456789012").unwrap(), ["account/123456789012"]);
    assert_eq!(streams_of("emi-0000059554b415249").unwrap(), ["image/emi-0000059554b415249"]);
    assert_eq!(streams_of("yukari-1a"), None);
    assert_eq!(crate::output::csv_field("a,b \"c\""), "\"a,b \"\"c\"\"\"");
}
