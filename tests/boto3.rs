//! boto3 (client and resource APIs, waiters, paginators) against the real
//! binary; the checks live in tests/clients/boto3_lifecycle.py.

mod common;
use common::*;

#[test]
fn boto3_lifecycle() {
    let cloud = Cloud::start();
    let out = cloud.python("boto3_lifecycle.py", &[]);
    assert!(
        out.status.success(),
        "boto3 checks failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("all checks passed"));
}

#[test]
fn boto3_key_pairs_and_instance_lifecycle() {
    let cloud = Cloud::start();
    let out = cloud.python("boto3_instances.py", &[]);
    assert!(
        out.status.success(),
        "boto3 checks failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("all checks passed"));
}
