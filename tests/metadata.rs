//! The metadata service answers each instance about itself, found by a
//! token made from the master key (as the guest gets it on its kernel
//! command line) or by its address; anything else gets nothing.

mod common;
use common::wire::raw_http;
use common::*;
use hmac::{Hmac, Mac};
use sha2::Sha256;

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// The token the controller gives an instance (see api/src/metadata.rs).
fn token(cloud: &Cloud, instance: &str) -> String {
    let master = std::fs::read(cloud.dir.join("master.key")).unwrap();
    let key = hmac(&master, b"yukari metadata tokens");
    format!("{instance}.{}", hex::encode(&hmac(&key, instance.as_bytes())[..16]))
}

#[test]
fn instances_read_their_own_metadata_and_user_data() {
    let cloud = Cloud::start();
    cloud.aws(&["create-key-pair", "--key-name", "meta"]);
    let run = cloud.aws(&[
        "run-instances",
        "--image-id",
        DEFAULT_IMAGE,
        "--key-name",
        "meta",
        "--user-data",
        "#!/bin/sh\necho from user data",
    ]);
    let i = &run["Instances"][0];
    let id = i["InstanceId"].as_str().unwrap();
    let get = |path: &str| {
        let host = format!("127.0.0.1:{}", cloud.port);
        raw_http(cloud.port, "GET", path, &[("Host".into(), host)], b"")
    };
    let base = format!("/metadata/{}/latest", token(&cloud, id));
    let item = |p: &str| {
        let a = get(&format!("{base}/meta-data/{p}"));
        assert_eq!(a.status, 200, "{p}: {}", a.body);
        a.body
    };
    assert_eq!(item("instance-id"), id);
    assert_eq!(item("ami-id"), DEFAULT_IMAGE);
    assert_eq!(item("instance-type"), "m1.small");
    assert_eq!(item("local-ipv4"), i["PrivateIpAddress"].as_str().unwrap());
    assert_eq!(item("public-ipv4"), i["PublicIpAddress"].as_str().unwrap());
    assert_eq!(item("placement/availability-zone"), "yukari-1a");
    assert_eq!(item("reservation-id"), run["ReservationId"].as_str().unwrap());
    assert_eq!(item("security-groups"), "default");
    assert_eq!(item("public-keys/"), "0=meta");
    assert!(item("public-keys/0/openssh-key").starts_with("ssh-rsa AAAA"));
    let listing = item("");
    for name in ["instance-id", "local-ipv4", "placement/", "public-keys/"] {
        assert!(listing.lines().any(|l| l == name), "{name} missing from {listing:?}");
    }
    let user_data = get(&format!("{base}/user-data"));
    assert_eq!((user_data.status, user_data.body.as_str()), (200, "#!/bin/sh\necho from user data"));

    // A forged token, another instance's id under this token, and a caller
    // whose address is no instance's get nothing.
    let forged =
        get(&format!("/metadata/{id}.00000000000000000000000000000000/latest/meta-data/instance-id"));
    assert_eq!(forged.status, 403);
    let other = cloud.aws(&["run-instances", "--image-id", DEFAULT_IMAGE]);
    let other_id = other["Instances"][0]["InstanceId"].as_str().unwrap();
    let mac = token(&cloud, id).split_once('.').unwrap().1.to_owned();
    let swapped = get(&format!("/metadata/{other_id}.{mac}/latest/meta-data/instance-id"));
    assert_eq!(swapped.status, 403);
    assert_eq!(get("/latest/meta-data/instance-id").status, 404, "127.0.0.1 is no instance");
}
