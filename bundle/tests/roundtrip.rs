//! Bundle → parse → verify → decrypt → unbundle, and what each check catches.

mod common;

use std::fs;

use bundle::{BundleError, Manifest, bundle_image, unbundle};
use common::{keys, noise, options, parts_from_dir};

const MIB: usize = 1024 * 1024;

/// Bundles `image`, reads the manifest back from disk and unbundles it.
fn round_trip(image: &[u8], expected_parts: usize) {
    let dir = tempfile::tempdir().unwrap();
    let opts = options("disk.img", image.len() as u64);
    let mut last_progress = 0;
    let out = bundle_image(image, &opts, dir.path(), &mut |n| last_progress = n).unwrap();
    assert_eq!(last_progress, image.len() as u64);
    assert_eq!(out.part_paths.len(), expected_parts, "parts for {} bytes", image.len());

    let text = fs::read_to_string(&out.manifest_path).unwrap();
    let manifest = Manifest::parse(&text).unwrap();
    assert_eq!(manifest, out.manifest, "parsing the written manifest gives what was written");
    assert_eq!(manifest.render(), text);
    assert_eq!(manifest.image_size, image.len() as u64);
    assert_eq!(manifest.account_id, "123456789012");
    let on_disk: u64 = out.part_paths.iter().map(|p| fs::metadata(p).unwrap().len()).sum();
    assert_eq!(manifest.bundled_size, on_disk);

    manifest.verify_signature(&keys().user.certificate_pem).unwrap();
    let (key, iv) = manifest.decrypt_key_iv(keys().cloud.private_key()).unwrap();
    let user_key = bundle::private_key_from_pem(&keys().user.private_key_pem).unwrap();
    assert_eq!(manifest.decrypt_user_key_iv(&user_key).unwrap(), (key, iv));

    let mut unpacked = Vec::new();
    let report =
        unbundle(parts_from_dir(dir.path(), &manifest), &manifest, &key, &iv, &mut unpacked).unwrap();
    assert_eq!(report.member_name, "disk.img");
    assert_eq!(report.image_digest, manifest.image_digest);
    assert_eq!(report.parts, expected_parts);
    assert!(unpacked == image, "unbundled image differs from the original");
}

#[test]
fn round_trip_empty_image() {
    round_trip(&[], 1);
}

#[test]
fn round_trip_one_byte() {
    round_trip(&[0x42], 1);
}

#[test]
fn round_trip_ten_mib_exactly() {
    // Incompressible: gzip and the tar header make it a little over 10 MiB.
    round_trip(&noise(10 * MIB, 1), 2);
}

#[test]
fn round_trip_twenty_five_mib_in_three_parts() {
    round_trip(&noise(25 * MIB, 2), 3);
}

#[test]
fn compressible_image_shrinks() {
    let image = vec![0u8; 12 * MIB];
    round_trip(&image, 1);
}

/// A small bundle in a temporary directory, for the failure tests.
fn small_bundle(len: usize, part_size: u64) -> (tempfile::TempDir, Manifest, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options("small.img", len as u64);
    opts.part_size = part_size;
    let out = bundle_image(&noise(len, 3)[..], &opts, dir.path(), &mut |_| {}).unwrap();
    let text = fs::read_to_string(out.manifest_path).unwrap();
    (dir, out.manifest, text)
}

#[test]
fn changing_one_byte_inside_image_breaks_the_signature() {
    let (_dir, _, text) = small_bundle(1000, 4096);
    let at = text.find("<size>1000</size>").unwrap() + "<size>".len();
    let mut tampered = text.clone().into_bytes();
    tampered[at] = b'2';
    let tampered = String::from_utf8(tampered).unwrap();
    let manifest = Manifest::parse(&tampered).unwrap();
    assert_eq!(manifest.image_size, 2000);
    let err = manifest.verify_signature(&keys().user.certificate_pem).unwrap_err();
    assert!(matches!(err, BundleError::BadSignature), "{err}");

    // Bytes outside the two signed elements are not covered, as in euca2ools.
    let outside = text.replace("<release>0</release>", "<release>7</release>");
    Manifest::parse(&outside).unwrap().verify_signature(&keys().user.certificate_pem).unwrap();
    // And the untouched text verifies.
    Manifest::parse(&text).unwrap().verify_signature(&keys().user.certificate_pem).unwrap();
}

#[test]
fn signature_does_not_verify_under_another_certificate() {
    let (_dir, manifest, _) = small_bundle(10, 4096);
    let err = manifest.verify_signature(keys().cloud.cert_pem()).unwrap_err();
    assert!(matches!(err, BundleError::BadSignature), "{err}");
}

#[test]
fn a_flipped_byte_in_a_part_is_caught_and_named() {
    let (dir, manifest, _) = small_bundle(50_000, 16 * 1024);
    assert!(manifest.parts.len() >= 3);
    let victim = dir.path().join(&manifest.parts[1].filename);
    let mut bytes = fs::read(&victim).unwrap();
    bytes[100] ^= 0x01;
    fs::write(&victim, bytes).unwrap();

    let (key, iv) = manifest.decrypt_key_iv(keys().cloud.private_key()).unwrap();
    let mut out = Vec::new();
    let err = unbundle(parts_from_dir(dir.path(), &manifest), &manifest, &key, &iv, &mut out).unwrap_err();
    match err {
        BundleError::PartDigestMismatch { part } => assert_eq!(part, "small.img.part.01"),
        other => panic!("expected a part digest mismatch, got {other}"),
    }
    // Nothing of the bad part reached the output: only part 00 was used.
    assert!(out.len() < 16 * 1024 + 512);
}

#[test]
fn a_missing_part_is_named() {
    let (dir, manifest, _) = small_bundle(50_000, 16 * 1024);
    let (key, iv) = manifest.decrypt_key_iv(keys().cloud.private_key()).unwrap();
    let mut parts = parts_from_dir(dir.path(), &manifest);
    parts.remove(1);
    let err = unbundle(parts, &manifest, &key, &iv, std::io::sink()).unwrap_err();
    assert!(matches!(&err, BundleError::MissingPart { part } if part == "small.img.part.01"), "{err}");

    let mut parts = parts_from_dir(dir.path(), &manifest);
    parts.pop();
    let err = unbundle(parts, &manifest, &key, &iv, std::io::sink()).unwrap_err();
    let last = manifest.parts.last().unwrap().filename.clone();
    assert!(matches!(&err, BundleError::MissingPart { part } if *part == last), "{err}");
}

#[test]
fn a_wrong_cloud_key_cannot_open_the_key() {
    let (_dir, manifest, _) = small_bundle(10, 4096);
    let other = bundle::private_key_from_pem(&keys().user.private_key_pem).unwrap();
    let err = manifest.decrypt_key_iv(&other).unwrap_err();
    assert!(matches!(err, BundleError::Crypto(_)), "{err}");
}

#[test]
fn a_wrong_aes_key_fails_without_passing_as_success() {
    let (dir, manifest, _) = small_bundle(5000, 4096);
    let (mut key, iv) = manifest.decrypt_key_iv(keys().cloud.private_key()).unwrap();
    key[0] ^= 1;
    let result = unbundle(parts_from_dir(dir.path(), &manifest), &manifest, &key, &iv, std::io::sink());
    assert!(result.is_err());
}

#[test]
fn a_tampered_image_digest_is_an_image_digest_mismatch() {
    let (dir, mut manifest, _) = small_bundle(5000, 4096);
    manifest.image_digest = "0".repeat(40);
    let (key, iv) = manifest.decrypt_key_iv(keys().cloud.private_key()).unwrap();
    let err =
        unbundle(parts_from_dir(dir.path(), &manifest), &manifest, &key, &iv, std::io::sink()).unwrap_err();
    assert!(matches!(err, BundleError::ImageDigestMismatch { .. }), "{err}");
}

#[test]
fn input_shorter_or_longer_than_declared_is_refused_and_cleaned_up() {
    let dir = tempfile::tempdir().unwrap();
    let short = bundle_image(&[1u8; 10][..], &options("x.img", 11), dir.path(), &mut |_| {}).unwrap_err();
    assert!(matches!(short, BundleError::ImageSizeMismatch { expected: 11, actual: 10 }), "{short}");
    let long = bundle_image(&[1u8; 12][..], &options("x.img", 11), dir.path(), &mut |_| {}).unwrap_err();
    assert!(matches!(long, BundleError::Malformed(_)), "{long}");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0, "partial files were left behind");
}

#[test]
fn reencrypting_for_a_node_keeps_key_and_iv() {
    let (_dir, manifest, _) = small_bundle(10, 4096);
    let node = bundle::SigningCertificate::generate("node-1").unwrap();
    let node_key = bundle::private_key_from_pem(&node.private_key_pem).unwrap();
    let sealed = manifest.reencrypt_for(keys().cloud.private_key(), &node_key.to_public_key()).unwrap();
    let key = bundle::decrypt_hex_text(&node_key, &sealed.encrypted_key, "key").unwrap();
    let iv = bundle::decrypt_hex_text(&node_key, &sealed.encrypted_iv, "iv").unwrap();
    assert_eq!((key, iv), manifest.decrypt_key_iv(keys().cloud.private_key()).unwrap());
}

#[test]
fn manifest_layout_is_euca2ools_order() {
    let (_dir, _, text) = small_bundle(10, 4096);
    assert!(text.starts_with(
        "<?xml version='1.0' encoding='ASCII'?>\n<manifest><version>2007-10-10</version><bundler><name>"
    ));
    assert!(!text.ends_with('\n'));
    let order = [
        "<machine_configuration><architecture>x86_64</architecture><block_device_mapping><mapping><virtual>ami</virtual><device>sda1</device></mapping><mapping><virtual>ephemeral0</virtual>",
        "</block_device_mapping></machine_configuration><image><name>small.img</name><user>123456789012</user><type>machine</type><digest algorithm=\"SHA1\">",
        "<size>10</size><bundled_size>",
        "<ec2_encrypted_key algorithm=\"AES-128-CBC\">",
        "<user_encrypted_key algorithm=\"AES-128-CBC\">",
        "<ec2_encrypted_iv>",
        "<user_encrypted_iv>",
        "<parts count=\"1\"><part index=\"0\"><filename>small.img.part.00</filename><digest algorithm=\"SHA1\">",
        "</part></parts></image><signature>",
    ];
    let mut from = 0;
    for piece in order {
        let at = text[from..].find(piece).unwrap_or_else(|| panic!("{piece} not in order in {text}"));
        from += at + piece.len();
    }
}
