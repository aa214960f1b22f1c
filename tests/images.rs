//! Machine images end to end: `yukari image bundle/upload/register`
//! against `yukari up --hypervisor sim`, a bundle made by an independent
//! implementation of the format (bundle/tests/euca_bundle.py), refusals of
//! tampered bundles and of other accounts' keys, and launch permissions.

mod common;

use common::*;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::process::Output;

fn image(env: &HashMap<String, String>, args: &[&str]) -> Output {
    yukari()
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env)
        .arg("image")
        .args(args)
        .output()
        .unwrap()
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().lines().last().unwrap_or("").to_owned()
}

fn refused(out: Output) -> String {
    assert!(!out.status.success(), "expected a refusal, got {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn ec2(cloud: &Cloud, env: &HashMap<String, String>, args: &[&str]) -> Output {
    cloud.client("aws").envs(env).arg("ec2").args(args).args(["--output", "json"]).output().unwrap()
}

fn json(out: Output) -> Value {
    assert!(out.status.success(), "failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

fn own_images(cloud: &Cloud, env: &HashMap<String, String>) -> Vec<String> {
    let d = json(ec2(cloud, env, &["describe-images", "--owners", "self"]));
    d["Images"].as_array().unwrap().iter().map(|i| i["ImageId"].as_str().unwrap().to_owned()).collect()
}

fn python_bundle(
    env: &HashMap<String, String>,
    file: &Path,
    dest: &Path,
    prefix: &str,
    cert: &str,
    key: &str,
) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bundle/tests/euca_bundle.py");
    std::fs::create_dir_all(dest).unwrap();
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg("bundle")
        .arg(file)
        .arg(dest)
        .arg(prefix)
        .args([cert, key, &env["EUCALYPTUS_CERT"], &env["EC2_USER_ID"]])
        .output()
        .unwrap();
    assert!(out.status.success(), "euca_bundle.py: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn bundles_are_made_uploaded_registered_shared_and_launched() {
    let cloud = Cloud::start();
    let env = cloud.env.clone();
    let temp = tempfile::tempdir().unwrap();

    // eucarc names the cloud's certificate and the admin's signing pair.
    for name in ["EUCALYPTUS_CERT", "EC2_CERT", "EC2_PRIVATE_KEY"] {
        let text = std::fs::read_to_string(&env[name]).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(text.starts_with("-----BEGIN"), "{name}: {text}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&env["EC2_PRIVATE_KEY"]).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let account = env["EC2_USER_ID"].clone();

    // Bundle, upload, register with yukari.
    let disk = temp.path().join("disk.img");
    std::fs::write(&disk, (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect::<Vec<_>>()).unwrap();
    let out_dir = temp.path().join("bundle");
    let manifest = ok(image(&env, &["bundle", disk.to_str().unwrap(), "-d", out_dir.to_str().unwrap()]));
    assert!(manifest.ends_with("disk.img.manifest.xml"), "{manifest}");
    let location = ok(image(&env, &["upload", "--bucket", "images", &manifest]));
    assert_eq!(location, "images/disk.img.manifest.xml");
    let emi = ok(image(&env, &["register", &location, "--name", "my-disk"]));
    assert!(emi.starts_with("emi-"), "{emi}");

    let d = json(ec2(&cloud, &env, &["describe-images", "--image-ids", &emi]));
    let i = &d["Images"][0];
    assert_eq!(i["OwnerId"], account.as_str());
    assert_eq!(i["ImageType"], "machine");
    assert_eq!(i["State"], "available");
    assert_eq!(i["ImageLocation"], "images/disk.img.manifest.xml");
    assert_eq!(i["Name"], "my-disk");
    assert_eq!(i["Public"], false);
    // The built-in images answer to `amazon`, not to `self`.
    let amazon = json(ec2(&cloud, &env, &["describe-images", "--owners", "amazon"]));
    assert!(amazon["Images"].as_array().unwrap().iter().all(|i| i["ImageId"] != emi.as_str()));
    assert_eq!(amazon["Images"].as_array().unwrap().len(), 3);
    let filtered = json(ec2(
        &cloud,
        &env,
        &["describe-images", "--filters", "Name=image-type,Values=machine", "Name=is-public,Values=false"],
    ));
    assert_eq!(filtered["Images"].as_array().unwrap().len(), 1);

    // It launches on the simulated node.
    let run = json(ec2(&cloud, &env, &["run-instances", "--image-id", &emi]));
    let instance = run["Instances"][0]["InstanceId"].as_str().unwrap().to_owned();
    cloud.eventually(30, "the instance of the bundled image runs", || {
        let d = json(ec2(&cloud, &env, &["describe-instances", "--instance-ids", &instance]));
        d["Reservations"][0]["Instances"][0]["State"]["Name"] == "running"
    });

    // A bundle made by an independent implementation registers too.
    let py_dir = temp.path().join("py");
    python_bundle(&env, &disk, &py_dir, "py-disk.img", &env["EC2_CERT"], &env["EC2_PRIVATE_KEY"]);
    let py_manifest = py_dir.join("py-disk.img.manifest.xml");
    let py_location = ok(image(&env, &["upload", "--bucket", "images", py_manifest.to_str().unwrap()]));
    let py_emi = ok(image(&env, &["register", &py_location, "--name", "python-disk"]));
    assert!(py_emi.starts_with("emi-"), "{py_emi}");
    let registered = own_images(&cloud, &env);
    assert_eq!(registered.len(), 2, "{registered:?}");

    // A tampered part: one byte changed after bundling.
    let bad_dir = temp.path().join("bad-part");
    let bad = ok(image(
        &env,
        &["bundle", disk.to_str().unwrap(), "-d", bad_dir.to_str().unwrap(), "--prefix", "bad-part.img"],
    ));
    let part = bad_dir.join("bad-part.img.part.00");
    let mut bytes = std::fs::read(&part).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&part, bytes).unwrap();
    let loc = ok(image(&env, &["upload", "--bucket", "images", &bad]));
    let err = refused(image(&env, &["register", &loc, "--name", "tampered-part"]));
    assert!(err.contains("InvalidManifest") && err.contains("SHA1"), "{err}");

    // A tampered manifest: one byte changed in <image>.
    let man_dir = temp.path().join("bad-manifest");
    let man = ok(image(
        &env,
        &["bundle", disk.to_str().unwrap(), "-d", man_dir.to_str().unwrap(), "--prefix", "bad-man.img"],
    ));
    let text = std::fs::read_to_string(&man).unwrap();
    let at = text.find("<image>").unwrap()
        + text[text.find("<image>").unwrap()..].find("<size>").unwrap()
        + "<size>".len();
    let mut changed = text.clone().into_bytes();
    changed[at] = if changed[at] == b'1' { b'2' } else { b'1' };
    std::fs::write(&man, changed).unwrap();
    let loc = ok(image(&env, &["upload", "--bucket", "images", &man]));
    let err = refused(image(&env, &["register", &loc, "--name", "tampered-manifest"]));
    assert!(err.contains("AuthFailure") && err.contains("signature"), "{err}");

    // Another account: its own keys, and what it cannot read.
    let out = yukari().args(["account", "create", "other", "--data-dir"]).arg(&cloud.dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let other = parse_eucarc(&std::fs::read_to_string(cloud.dir.join("accounts/other/eucarc")).unwrap());
    assert_ne!(other["EC2_CERT"], env["EC2_CERT"]);
    // A manifest for the admin's account signed with the other account's key.
    let forged_dir = temp.path().join("forged");
    python_bundle(&env, &disk, &forged_dir, "forged.img", &other["EC2_CERT"], &other["EC2_PRIVATE_KEY"]);
    let loc = ok(image(
        &env,
        &["upload", "--bucket", "images", forged_dir.join("forged.img.manifest.xml").to_str().unwrap()],
    ));
    let err = refused(image(&env, &["register", &loc, "--name", "forged"]));
    assert!(err.contains("AuthFailure") && err.contains("signature"), "{err}");
    // The other account cannot register the admin's manifest (it cannot read it).
    let err = refused(image(&other, &["register", "images/disk.img.manifest.xml", "--name", "stolen"]));
    assert!(err.contains("AuthFailure"), "{err}");
    assert_eq!(own_images(&cloud, &env), registered, "refusals registered nothing");
    assert!(own_images(&cloud, &other).is_empty());

    // Launch permissions: shared, the other account sees and launches it; reset, it does not.
    let not_found = ec2(&cloud, &other, &["describe-images", "--image-ids", &emi]);
    assert!(String::from_utf8_lossy(&not_found.stderr).contains("InvalidAMIID.NotFound"));
    let other_id = other["EC2_USER_ID"].clone();
    let add = format!("Add=[{{UserId={other_id}}}]");
    assert!(
        ec2(&cloud, &env, &["modify-image-attribute", "--image-id", &emi, "--launch-permission", &add])
            .status
            .success()
    );
    let attr = json(ec2(
        &cloud,
        &env,
        &["describe-image-attribute", "--image-id", &emi, "--attribute", "launchPermission"],
    ));
    assert_eq!(attr["LaunchPermissions"][0]["UserId"], other_id.as_str());
    let seen = json(ec2(&cloud, &other, &["describe-images", "--image-ids", &emi]));
    assert_eq!(seen["Images"][0]["ImageId"], emi.as_str());
    let shared =
        json(ec2(&cloud, &other, &["describe-images", "--executable-users", "self", "--owners", &account]));
    assert_eq!(shared["Images"].as_array().unwrap().len(), 1);
    let run = json(ec2(&cloud, &other, &["run-instances", "--image-id", &emi]));
    assert!(run["Instances"][0]["InstanceId"].as_str().unwrap().starts_with("i-"));
    assert!(
        ec2(&cloud, &env, &["reset-image-attribute", "--image-id", &emi, "--attribute", "launchPermission"])
            .status
            .success()
    );
    let gone = ec2(&cloud, &other, &["describe-images", "--image-ids", &emi]);
    assert!(String::from_utf8_lossy(&gone.stderr).contains("InvalidAMIID.NotFound"));
    let refused_run = ec2(&cloud, &other, &["run-instances", "--image-id", &emi]);
    assert!(String::from_utf8_lossy(&refused_run.stderr).contains("InvalidAMIID.NotFound"));

    // Deregistered, it is gone.
    assert!(ec2(&cloud, &env, &["deregister-image", "--image-id", &py_emi]).status.success());
    assert_eq!(own_images(&cloud, &env), vec![emi.clone()]);
}
