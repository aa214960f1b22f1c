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
    // Its own bundle, uploaded private (no aws-exec-read): the cloud could
    // not fetch it for a node, so it is refused now, as EC2 does.
    let private_dir = temp.path().join("private");
    let manifest =
        ok(image(&other, &["bundle", disk.to_str().unwrap(), "-d", private_dir.to_str().unwrap()]));
    for args in [
        vec!["s3", "mb", "s3://private-bundles"],
        vec!["s3", "cp", "--recursive", private_dir.to_str().unwrap(), "s3://private-bundles/"],
    ] {
        let out = cloud.client("aws").envs(&other).args(&args).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    assert!(manifest.ends_with("disk.img.manifest.xml"));
    let err =
        refused(image(&other, &["register", "private-bundles/disk.img.manifest.xml", "--name", "private"]));
    assert!(err.contains("InvalidManifest") && err.contains("check your S3 ACLs"), "{err}");
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

/// The state and StateReason message of an instance.
fn state_and_reason(cloud: &Cloud, env: &HashMap<String, String>, id: &str) -> (String, String) {
    let d = json(ec2(cloud, env, &["describe-instances", "--instance-ids", id]));
    let i = &d["Reservations"][0]["Instances"][0];
    let state = i["State"]["Name"].as_str().unwrap_or_default().to_owned();
    (state, i["StateReason"]["Message"].as_str().unwrap_or_default().to_owned())
}

/// Issue 11 part 4: nodes boot from Walrus. The built-in image's kernel,
/// initramfs and disk, imported as bundles, boot a real QEMU guest: the
/// node gets a download manifest (presigned part URLs, the key sealed to
/// its own key), fetches and checks every part, decrypts and caches each
/// image once by digest, and boots an overlay on it. A part changed in
/// Walrus after registration, or one the cloud may not read, fails the
/// launch with a StateReason that says so, and nothing is cached.
#[test]
fn bundled_images_boot_real_guests_from_walrus() {
    let images = image_dir();
    let temp = qemu_temp_dir();
    let dir = temp.path().join("data");
    let _reaper = QemuReaper(dir.clone());
    let cloud = Cloud::start_in(&dir, free_port(), &libvirt_flags(&images).each_ref().map(String::as_str));
    let env = cloud.env.clone();
    let file = |name: &str| images.join(name).to_string_lossy().into_owned();
    let eki =
        ok(image(&env, &["import", &file("yukari-kernel"), "--bucket", "boot", "--image-type", "kernel"]));
    let eri =
        ok(image(&env, &["import", &file("yukari-initrd"), "--bucket", "boot", "--image-type", "ramdisk"]));
    let emi = ok(image(
        &env,
        &["import", &file("yukari-default"), "--bucket", "boot", "--kernel", &eki, "--ramdisk", &eri],
    ));
    assert!(
        eki.starts_with("eki-") && eri.starts_with("eri-") && emi.starts_with("emi-"),
        "{eki} {eri} {emi}"
    );

    let run = json(ec2(&cloud, &env, &["run-instances", "--image-id", &emi, "--instance-type", "m1.small"]));
    let id = run["Instances"][0]["InstanceId"].as_str().unwrap().to_owned();
    poll(240, "the guest of the bundled image to run", || {
        let (state, reason) = state_and_reason(&cloud, &env, &id);
        assert_ne!(state, "terminated", "the launch failed: {reason}");
        state == "running"
    });
    let cache = dir.join("node/images");
    let cached = || {
        let mut names: Vec<String> = std::fs::read_dir(&cache)
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().unwrap().is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let first = cached();
    assert_eq!(first.len(), 3, "kernel, ramdisk and disk, each once: {first:?}");
    assert!(first.iter().all(|n| n.len() == 40 && !n.contains('.')), "named by digest: {first:?}");
    // The cached files are the very bytes that were bundled.
    let mut sizes: Vec<u64> = first.iter().map(|n| std::fs::metadata(cache.join(n)).unwrap().len()).collect();
    sizes.sort();
    let mut expected: Vec<u64> = ["yukari-initrd", "yukari-kernel", "yukari-default"]
        .iter()
        .map(|n| std::fs::metadata(images.join(n)).unwrap().len())
        .collect();
    expected.sort();
    assert_eq!(sizes, expected);
    let qemu = qemu_processes(&format!("guest={id}"));
    assert_eq!(qemu.len(), 1, "{qemu:?}");
    assert!(qemu[0].1.contains("node/images/"), "the guest boots the cached kernel: {}", qemu[0].1);
    let console = dir.join("node/instances").join(&id).join("console.log");
    let up_line = format!("Yukari guest {id} is up");
    poll(180, "the bundled guest's boot line", || {
        String::from_utf8_lossy(&std::fs::read(&console).unwrap_or_default()).contains(&up_line)
    });

    // A second guest of the same image: the cache answers.
    // A fetch writes a new file (a new inode); a cache hit only marks its use.
    let stamp = |n: &str| std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(cache.join(n)).unwrap());
    let stamps: Vec<_> = first.iter().map(|n| stamp(n)).collect();
    let run = json(ec2(&cloud, &env, &["run-instances", "--image-id", &emi]));
    let second = run["Instances"][0]["InstanceId"].as_str().unwrap().to_owned();
    poll(240, "the second guest to run", || state_and_reason(&cloud, &env, &second).0 == "running");
    assert_eq!(cached(), first);
    assert_eq!(first.iter().map(|n| stamp(n)).collect::<Vec<_>>(), stamps, "nothing fetched again");
    assert!(ec2(&cloud, &env, &["terminate-instances", "--instance-ids", &id, &second]).status.success());

    // A disk whose part is changed in Walrus after registration.
    let temp_disk = temp.path().join("small.img");
    std::fs::write(&temp_disk, (0..200_000u32).map(|i| (i * 13 % 251) as u8).collect::<Vec<_>>()).unwrap();
    let disk = temp_disk.to_string_lossy().into_owned();
    let tampered =
        ok(image(&env, &["import", &disk, "--bucket", "boot", "--kernel", &eki, "--ramdisk", &eri]));
    let aws_s3 = |env: &HashMap<String, String>, args: &[&str]| {
        let out = cloud.client("aws").envs(env).args(args).output().unwrap();
        assert!(out.status.success(), "aws {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let failed_launch = |env: &HashMap<String, String>, image: &str| {
        let run = json(ec2(&cloud, env, &["run-instances", "--image-id", image]));
        let id = run["Instances"][0]["InstanceId"].as_str().unwrap().to_owned();
        let mut last = (String::new(), String::new());
        poll(120, "the launch to fail", || {
            last = state_and_reason(&cloud, env, &id);
            assert_ne!(last.0, "running", "a guest booted a bad image");
            !last.1.is_empty()
        });
        last.1
    };
    let body = temp.path().join("tampered.part");
    std::fs::write(&body, b"not the part that was signed").unwrap();
    let body = body.to_string_lossy().into_owned();
    let key = ["--bucket", "boot", "--key", "small.img.part.00"];
    aws_s3(
        &env,
        &[&["s3api", "put-object"][..], &key, &["--body", &body, "--acl", "aws-exec-read"]].concat(),
    );
    let reason = failed_launch(&env, &tampered);
    assert!(reason.contains(&tampered) && reason.contains("SHA1") && reason.contains("not used"), "{reason}");

    // Another account's bundle whose part, intact, the cloud may not read.
    let out = yukari().args(["account", "create", "other", "--data-dir"]).arg(&cloud.dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let other = parse_eucarc(&std::fs::read_to_string(cloud.dir.join("accounts/other/eucarc")).unwrap());
    let theirs = ok(image(&other, &["import", &disk, "--bucket", "theirs"]));
    let part = temp.path().join("their.part");
    let part = part.to_string_lossy().into_owned();
    aws_s3(&other, &["s3", "cp", "s3://theirs/small.img.part.00", &part]);
    aws_s3(
        &other,
        &["s3api", "put-object", "--bucket", "theirs", "--key", "small.img.part.00", "--body", &part],
    );
    let reason = failed_launch(&other, &theirs);
    assert!(
        reason.contains("may not read theirs/small.img.part.00") && reason.contains("aws-exec-read"),
        "{reason}"
    );
    assert_eq!(cached(), first, "a failed fetch leaves nothing in the cache");
}
