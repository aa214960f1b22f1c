//! `kill -9` the controller while clients launch and terminate, many times:
//! every call that was answered with success is still there after the
//! restart, instances carry on from the state they had, and the log
//! verifies.
//!
//! CI kills it 5 times under 8 clients; the long run is
//! `YUKARI_CRASH_ROUNDS=100 cargo nextest run --test crash` (RELIABILITY.md).

mod common;
use common::wire::Signer;
use common::*;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct Acked {
    launched: Vec<String>,
    terminated: Vec<String>,
    /// Terminations sent but not answered: they may or may not have happened.
    attempted: Vec<String>,
}

fn describe_states(cloud: &Cloud, ids: &[String]) -> Vec<(String, String)> {
    let client = cloud.wire("/");
    let mut states = Vec::new();
    for chunk in ids.chunks(100) {
        let mut params: Vec<(String, String)> =
            vec![("Action".into(), "DescribeInstances".into()), ("Version".into(), "2016-11-15".into())];
        for (i, id) in chunk.iter().enumerate() {
            params.push((format!("InstanceId.{}", i + 1), id.clone()));
        }
        let borrowed: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let answer = client.send(&borrowed, Signer::Boto3);
        assert_eq!(answer.status, 200, "acknowledged instances missing after restart: {}", answer.body);
        let found = answer.all("instanceId");
        states.extend(found.into_iter().zip(answer.instance_states()));
    }
    states
}

#[test]
fn acknowledged_work_survives_repeated_sigkill() {
    let mut cloud = Cloud::start_with(&[
        "--node-cpus",
        "100000000",
        "--node-memory-mib",
        "100000000",
        "--node-disk-gib",
        "100000000",
        // The long run launches more instances than a /16 has addresses
        // (and than 100,000 CPUs hold).
        "--private-network",
        "10.0.0.0/8",
    ]);
    let acked = Arc::new(Mutex::new(Acked::default()));
    let rounds: u64 = std::env::var("YUKARI_CRASH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(5);
    for round in 0..rounds {
        let launched_before = acked.lock().unwrap().launched.len();
        let workers: Vec<_> = (0..8)
            .map(|w| {
                let client = cloud.wire("/");
                let acked = acked.clone();
                std::thread::spawn(move || {
                    for n in 0.. {
                        let token = format!("crash-{round}-{w}-{n}");
                        let answer = client.send(
                            &[
                                ("Action", "RunInstances"),
                                ("ImageId", DEFAULT_IMAGE),
                                ("MinCount", "1"),
                                ("MaxCount", "2"),
                                ("ClientToken", &token),
                                ("Version", "2016-11-15"),
                            ],
                            Signer::Boto3,
                        );
                        if answer.status != 200 {
                            // 0: the connection died with the controller.
                            if answer.status != 0 {
                                eprintln!("worker {w}: {} {}", answer.status, answer.body);
                            }
                            return;
                        }
                        let ids = answer.all("instanceId");
                        assert_eq!(ids.len(), 2, "{}", answer.body);
                        acked.lock().unwrap().launched.extend(ids.iter().cloned());
                        if w == 0 {
                            acked.lock().unwrap().attempted.push(ids[0].clone());
                            let stop = client.send(
                                &[
                                    ("Action", "TerminateInstances"),
                                    ("InstanceId.1", &ids[0]),
                                    ("Version", "2016-11-15"),
                                ],
                                Signer::Boto3,
                            );
                            if stop.status != 200 {
                                return;
                            }
                            acked.lock().unwrap().terminated.push(ids[0].clone());
                        }
                    }
                })
            })
            .collect();
        // The kill comes while clients are being answered: after the first
        // acknowledged launch of the round (a controller that restarts on
        // a long log takes a while before it answers), then at a moment
        // that varies from round to round.
        let answering = (0..600).any(|_| {
            std::thread::sleep(Duration::from_millis(100));
            acked.lock().unwrap().launched.len() > launched_before
        });
        assert!(answering, "round {round}: no launch was acknowledged within a minute of the restart");
        std::thread::sleep(Duration::from_millis(100 + (round * 317) % 900));
        cloud.kill9();
        for w in workers {
            let _ = w.join();
        }
        cloud.restart();
        let acked = acked.lock().unwrap();
        assert!(!acked.launched.is_empty(), "round {round}: no call succeeded before the kill");
        eprintln!(
            "round {round}: {} launches and {} terminations acknowledged so far",
            acked.launched.len(),
            acked.terminated.len()
        );
        let states = describe_states(&cloud, &acked.launched);
        let mut found: Vec<&String> = states.iter().map(|(id, _)| id).collect();
        found.sort();
        found.dedup();
        assert_eq!(found.len(), acked.launched.len(), "round {round}: acknowledged launches were lost");
        for id in &acked.terminated {
            let (_, state) = states.iter().find(|(i, _)| i == id).unwrap();
            assert!(state == "shutting-down" || state == "terminated", "{id} was terminated but is {state}");
        }
    }
    // After the last restart, the survivors carry on: every launched and not
    // terminated instance reaches running, every terminated one terminated.
    let acked = acked.lock().unwrap();
    let mut unsettled = Vec::new();
    let settled = (0..300).any(|_| {
        unsettled = describe_states(&cloud, &acked.launched)
            .into_iter()
            .filter(|(id, state)| {
                if acked.terminated.contains(id) {
                    state != "terminated"
                } else if acked.attempted.contains(id) {
                    state != "terminated" && state != "running"
                } else {
                    state != "running"
                }
            })
            .collect();
        std::thread::sleep(Duration::from_millis(200));
        unsettled.is_empty()
    });
    assert!(
        settled,
        "{} instances did not settle, e.g. {:?}",
        unsettled.len(),
        &unsettled[..unsettled.len().min(5)]
    );
    assert!(cloud.stop().success());
    let verify = yukari().args(["replay", "verify", "--data-dir"]).arg(&cloud.dir).output().unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
    assert!(String::from_utf8_lossy(&verify.stdout).contains("OK"));
}
