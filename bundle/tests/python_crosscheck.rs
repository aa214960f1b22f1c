//! The crate against an independent Python implementation of the format
//! (`tests/euca_bundle.py`, standard library + `cryptography`): each reads
//! what the other writes. Skipped, with a message, when python3 or its
//! `cryptography` package is missing.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use bundle::{Manifest, bundle_image, unbundle};
use common::{keys, noise, options, parts_from_dir};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/euca_bundle.py")
}

fn python_ready() -> bool {
    match Command::new("python3").args(["-c", "import cryptography"]).output() {
        Ok(out) if out.status.success() => true,
        Ok(_) => {
            eprintln!("SKIPPED: python3 has no `cryptography` package (pip install cryptography)");
            false
        }
        Err(e) => {
            eprintln!("SKIPPED: python3 is not available ({e})");
            false
        }
    }
}

fn run(args: &[&Path]) {
    let out = Command::new("python3").arg(script()).args(args).output().unwrap();
    assert!(out.status.success(), "{:?} failed: {}", args, String::from_utf8_lossy(&out.stderr));
}

fn write_key_files(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let user_cert = dir.join("user-cert.pem");
    let user_key = dir.join("user-pk.pem");
    fs::write(&user_cert, &keys().user.certificate_pem).unwrap();
    fs::write(&user_key, &keys().user.private_key_pem).unwrap();
    (user_cert, user_key, keys().dir.join("cloud-cert.pem"))
}

#[test]
fn the_crate_opens_what_python_bundles() {
    if !python_ready() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let (user_cert, user_key, cloud_cert) = write_key_files(work.path());
    // Over one part, so that the part split is exercised too.
    let image = noise(11 * 1024 * 1024 + 123, 7);
    let image_path = work.path().join("py.img");
    fs::write(&image_path, &image).unwrap();
    let dest = work.path().join("out");
    fs::create_dir(&dest).unwrap();
    run(&[
        Path::new("bundle"),
        &image_path,
        &dest,
        Path::new("py.img"),
        &user_cert,
        &user_key,
        &cloud_cert,
        Path::new("123456789012"),
    ]);

    let manifest = Manifest::parse(&fs::read_to_string(dest.join("py.img.manifest.xml")).unwrap()).unwrap();
    assert_eq!(manifest.parts.len(), 2);
    manifest.verify_signature(&keys().user.certificate_pem).unwrap();
    let (key, iv) = manifest.decrypt_key_iv(keys().cloud.private_key()).unwrap();
    let mut unpacked = Vec::new();
    let report = unbundle(parts_from_dir(&dest, &manifest), &manifest, &key, &iv, &mut unpacked).unwrap();
    assert_eq!(report.member_name, "py.img");
    assert!(unpacked == image, "image differs after a Python bundle and a Rust unbundle");
    // The crate writes the same manifest text for the same fields.
    let text = fs::read_to_string(dest.join("py.img.manifest.xml")).unwrap();
    assert_eq!(manifest.render(), text);
}

#[test]
fn python_opens_what_the_crate_bundles() {
    if !python_ready() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let (_, _, cloud_cert) = write_key_files(work.path());
    let signer = work.path().join("signer.pem");
    fs::write(&signer, &keys().user.certificate_pem).unwrap();
    let image = noise(21 * 1024 * 1024, 9);
    let out =
        bundle_image(&image[..], &options("rust.img", image.len() as u64), work.path(), &mut |_| {}).unwrap();
    assert_eq!(out.part_paths.len(), 3);
    let unpacked = work.path().join("unpacked.img");
    run(&[
        Path::new("unbundle"),
        &out.manifest_path,
        work.path(),
        &keys().dir.join("cloud-pk.pem"),
        &signer,
        &unpacked,
    ]);
    assert!(fs::read(&unpacked).unwrap() == image, "image differs after a Rust bundle and a Python unbundle");
    let _ = cloud_cert;
}

#[test]
fn python_rejects_a_tampered_crate_manifest() {
    // The cross-check is only worth something if the Python side can fail.
    if !python_ready() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let signer = work.path().join("signer.pem");
    fs::write(&signer, &keys().user.certificate_pem).unwrap();
    let out = bundle_image(&b"hello"[..], &options("t.img", 5), work.path(), &mut |_| {}).unwrap();
    let text = fs::read_to_string(&out.manifest_path).unwrap();
    fs::write(&out.manifest_path, text.replace("<size>5</size>", "<size>6</size>")).unwrap();
    let status = Command::new("python3")
        .arg(script())
        .args(["unbundle".as_ref(), out.manifest_path.as_os_str(), work.path().as_os_str()])
        .arg(keys().dir.join("cloud-pk.pem"))
        .arg(&signer)
        .arg(work.path().join("never.img"))
        .output()
        .unwrap();
    assert!(!status.status.success(), "python accepted a tampered manifest");
}
