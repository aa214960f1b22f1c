//! A terminated instance is shown for an hour after it ended, then no
//! longer, as in EC2 (the read models forget it; the log keeps it). The
//! log's clock is the test's own, moved an hour on.

use super::block_device_tests::{call, node_report, ok, texts};
use super::limits_tests::emi;
use crate::app::testing::test_app_with;
use domain::command::NodeOutcome;
use eventlog::{Clock, LogOptions};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

#[tokio::test]
async fn a_terminated_instance_is_shown_for_an_hour_then_answered_as_missing() {
    let later = Arc::new(AtomicI64::new(0));
    let offset = later.clone();
    let clock = Clock::new(move || Clock::wall().now_micros() + offset.load(Ordering::SeqCst));
    let t = test_app_with(LogOptions { clock, ..LogOptions::default() }).await;
    let emi = emi();
    let launch = |token: &'static str| {
        [
            ("Action", "RunInstances"),
            ("ImageId", emi.as_str()),
            ("MinCount", "1"),
            ("MaxCount", "1"),
            ("ClientToken", token),
        ]
    };
    let body = ok(&t, &launch("once")).await;
    let instance = texts(&body, "instanceId").remove(0);
    node_report(&t, &instance, NodeOutcome::Running).await;
    ok(&t, &[("Action", "TerminateInstances"), ("InstanceId.1", &instance)]).await;
    node_report(&t, &instance, NodeOutcome::Terminated).await;
    let described = ok(&t, &[("Action", "DescribeInstances"), ("InstanceId.1", &instance)]).await;
    assert_eq!(texts(&described, "name"), ["terminated"], "{described}");
    // A retry of the launch answers the same reservation while it is shown.
    let again = ok(&t, &launch("once")).await;
    assert_eq!(texts(&again, "instanceId"), std::slice::from_ref(&instance));

    // An hour later (and one more record to fold), it is gone.
    later.store(projections::TERMINATED_VISIBLE_US, Ordering::SeqCst);
    ok(&t, &[("Action", "CreateKeyPair"), ("KeyName", "a-record")]).await;
    call(&t, &[("Action", "DescribeInstances"), ("InstanceId.1", &instance)])
        .await
        .refused("InvalidInstanceID.NotFound", "an instance that ended an hour ago");
    let all = ok(&t, &[("Action", "DescribeInstances")]).await;
    assert!(!all.contains(&instance), "{all}");
    call(&t, &launch("once")).await.refused("IdempotentInstanceTerminated", "a retry of its launch");
    let fresh = ok(&t, &launch("twice")).await;
    assert_eq!(texts(&fresh, "instanceId").len(), 1);
}
