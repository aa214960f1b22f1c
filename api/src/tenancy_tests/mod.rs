//! The tenancy matrix (reliability issue, part 5): generated from the
//! tables of actions the API serves (`Action::NAMES` for EC2, Euare's
//! `ACTIONS`), never from a hand-picked list. Account B tries
//! every action on every kind of account A's resources (by id, by filter,
//! by name, with DryRun and with the cloud admin's AsOf) and must get the
//! answer it gets for a resource that does not exist, with nothing of A's
//! changed (A's Describe* answers and A's streams before and after) and
//! nothing of A's in the answer. A user of A who is not its admin gets
//! only what it may. Every secret the test makes (secret keys, the
//! console password, the sealed forms kept in the log, a private key) is
//! looked for in every log line, error message, answer and audit record.
//!
//! In-process: the EC2 and Euare routers called with signed requests
//! (`tower::ServiceExt::oneshot`), a simulated node, no socket.

mod harness;
mod probes;
mod secrets;

use crate::ec2::actions::Action;
use harness::{Answer, World};
use probes::Probe;
use std::collections::BTreeSet;

/// Every EC2 action of the registry has probes, and the matrix knows no
/// action the registry does not: adding an action without covering it
/// here fails this test.
#[test]
fn the_matrix_covers_exactly_the_table_of_actions() {
    let table: BTreeSet<&str> = Action::NAMES.iter().copied().collect();
    let covered: BTreeSet<&str> = probes::COVERED.iter().copied().collect();
    assert_eq!(covered, table, "the tenancy matrix must cover exactly Action::NAMES");
    for name in Action::NAMES {
        assert!(!probes::ec2(name).is_empty(), "no tenancy probe for {name}");
    }
    let euare: BTreeSet<&str> = crate::euare::ACTIONS.iter().map(|a| a.name).collect();
    let covered: BTreeSet<&str> = probes::EUARE_COVERED.iter().copied().collect();
    assert_eq!(covered, euare, "the tenancy matrix must cover exactly Euare's actions");
}

/// What one run of the matrix did, for the report at the end.
#[derive(Default, Debug)]
struct Tally {
    pairs: usize,
    reader: usize,
    refused_alike: usize,
}

#[tokio::test]
async fn another_account_gets_the_answer_for_nothing_and_changes_nothing() {
    let (w, logs) = World::new_capturing().await;
    let before = w.snapshot_of_a().await;
    let mut tally = Tally::default();

    // Account B, on each of A's resources against a resource that does not exist.
    for &action in Action::NAMES {
        for probe in probes::ec2(action) {
            for variant in probe.variants(Action::access_by_name(action).unwrap().changes()) {
                let real = w.ec2(&w.bob, &variant, &w.a_target).await;
                let ghost = w.ec2(&w.bob, &variant, &w.ghost).await;
                compare(&w, action, &variant, &real, &ghost);
                tally.pairs += 1;
                if real.status != 200 {
                    tally.refused_alike += 1;
                }
            }
        }
    }
    for action in crate::euare::ACTIONS.iter().map(|a| a.name) {
        for probe in probes::euare(action) {
            let real = w.euare(&w.bob, &probe, &w.a_target).await;
            let ghost = w.euare(&w.bob, &probe, &w.ghost).await;
            compare(&w, action, &probe, &real, &ghost);
            tally.pairs += 1;
        }
    }

    // A user of A who is not its admin: reads A's resources, changes none.
    for &action in Action::NAMES {
        let changes = Action::access_by_name(action).unwrap().changes();
        for probe in probes::ec2(action) {
            for variant in probe.variants(changes) {
                let answer = w.ec2(&w.reader, &variant, &w.a_target).await;
                check_reader(action, &variant, changes, &answer);
                tally.reader += 1;
            }
        }
    }
    for action in crate::euare::ACTIONS.iter().filter(|a| a.changes).map(|a| a.name) {
        for probe in probes::euare_as_reader(action) {
            let answer = w.euare(&w.reader, &probe, &w.a_target).await;
            assert_eq!(
                answer.code(),
                Some("AccessDenied"),
                "A's reader {action} {:?}: {}",
                probe.params,
                answer.body
            );
            tally.reader += 1;
        }
    }

    // What was refused could have been answered: A's reader sees A's
    // instance, and the cloud admin may ask for the past.
    let t = &w.a_target;
    let seen = w.call_ec2(&w.reader, &[("Action", "DescribeInstances"), ("InstanceId.1", &t.instance)]).await;
    assert!(seen.body.contains(&t.instance) && seen.body.contains(&t.instance_name), "{}", seen.body);
    let past = w.call_ec2(&w.cloud_admin, &[("Action", "DescribeInstances"), ("AsOfPosition", "1")]).await;
    assert_eq!(past.status, 200, "{}", past.body);

    let after = w.snapshot_of_a().await;
    harness::assert_same_snapshot(&before, &after);
    assert!(tally.pairs > 200 && tally.reader > 100, "{tally:?}");
    eprintln!("tenancy matrix: {tally:?}");

    secrets::assert_no_secret_anywhere(&w, &logs).await;
}

/// B's answer about A's resource equals its answer about a resource that
/// does not exist (with the value asked for put back as `{}` in each) and
/// shows nothing of A's beyond what B itself sent.
fn compare(w: &World, action: &str, probe: &Probe, real: &Answer, ghost: &Answer) {
    let shown_real = real.normalised(&w.a_target, probe);
    let shown_ghost = ghost.normalised(&w.ghost, probe);
    assert_eq!(
        (real.status, &shown_real),
        (ghost.status, &shown_ghost),
        "{action} {:?}: B's answer about A's resource differs from that about none\nA's: {}\nnone: {}",
        probe.params,
        real.body,
        ghost.body
    );
    let sent = probe.values_sent(&w.a_target);
    for mark in w.a_target.marks() {
        if sent.iter().any(|s| s.contains(mark.as_str())) {
            continue;
        }
        assert!(
            !harness::contains_token(&real.body, &mark),
            "{action} {:?}: B's answer shows A's {mark}: {}",
            probe.params,
            real.body
        );
    }
}

fn check_reader(action: &str, probe: &Probe, changes: bool, answer: &Answer) {
    let asked_past = probe.params.iter().any(|(k, _)| k.starts_with("AsOf"));
    if changes || asked_past {
        assert_eq!(
            answer.code(),
            Some("UnauthorizedOperation"),
            "A's reader {action} {:?} must be refused: {}",
            probe.params,
            answer.body
        );
    } else {
        assert_ne!(answer.code(), Some("UnauthorizedOperation"), "A's reader may {action}: {}", answer.body);
        assert_ne!(answer.status, 500, "{action}: {}", answer.body);
    }
}
