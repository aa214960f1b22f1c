//! Images and the kernels and ramdisks they name.

use super::samples::*;
use super::*;
use crate::command::*;
use crate::images::{ImageBundleRecorded, ImagePart};

#[test]
fn an_image_needs_a_visible_kernel_of_the_right_kind() {
    let mut g = given(&[]);
    g.then_apply(&bootstrap(4)).unwrap();
    let wrong_kind =
        image_cmd(ImageId::with_kind(ImageKind::Machine, 9), ImageKind::Machine, Some(default_image()));
    assert_eq!(g.when(&Command::RegisterImage(wrong_kind)), Err(DecideError::ImageNotFound(default_image())));
    let again = image_cmd(default_image(), ImageKind::Machine, None);
    assert_eq!(g.when(&Command::RegisterImage(again)), Err(DecideError::ImageExists(default_image())));
}

const CERT: &str = "QFYJ4UDWPW5BOMZ2BSQH4XUYRDBKJPXO";

fn upload_cert(account: AccountId, certificate: &str) -> Command {
    Command::UploadSigningCertificate(UploadSigningCertificate {
        account,
        user: UserName::admin(),
        certificate: certificate.into(),
        pem: "-----BEGIN CERTIFICATE-----\n".into(),
        issued_by_cloud: false,
        at: t(3),
    })
}

fn caller(account: AccountId) -> crate::buckets::Caller {
    crate::buckets::Caller::Account { account, cloud_admin: false }
}

/// A bucket `images` of the admin's with the manifest and one part.
fn with_bundle(acl: crate::buckets::CannedAcl) -> Given {
    use crate::buckets::*;
    let mut g = given(&[]);
    g.then_apply(&bootstrap(4)).unwrap();
    g.then_apply(&create_other()).unwrap();
    g.then_apply(&upload_cert(admin(), CERT)).unwrap();
    let bucket = BucketName::parse("images").unwrap();
    g.then_apply(&Command::CreateBucket(CreateBucket {
        caller: caller(admin()),
        bucket: bucket.clone(),
        location: String::new(),
        acl: AclRequest::default(),
        at: t(4),
    }))
    .unwrap();
    for key in ["disk.img.manifest.xml", "disk.img.part.00"] {
        g.then_apply(&Command::PutObject(PutObject {
            caller: caller(admin()),
            bucket: bucket.clone(),
            key: key.into(),
            version: "null".into(),
            content: sample_content(),
            acl: AclRequest::Canned(acl),
            if_none_match: false,
            if_match: None,
            at: t(5),
        }))
        .unwrap();
    }
    g
}

fn register(owner: AccountId, bits: u128, certificate: &str) -> Command {
    let mut c = image_cmd(ImageId::with_kind(ImageKind::Machine, bits), ImageKind::Machine, None);
    c.owner = owner.clone();
    c.public = false;
    c.bundle = Some(BundleRegistration {
        caller: caller(owner),
        recorded: ImageBundleRecorded {
            bucket: "images".into(),
            manifest_key: "disk.img.manifest.xml".into(),
            manifest_version: "null".into(),
            manifest_sha256: "cd".repeat(32),
            signed_by: certificate.into(),
            image_digest: "ef".repeat(20),
            image_size: 10,
            bundled_size: 0,
            encrypted_key: "0a".into(),
            encrypted_iv: "0b".into(),
            parts: vec![ImagePart {
                key: "disk.img.part.00".into(),
                version: "null".into(),
                sha1: "12".repeat(20),
                size: 0,
            }],
            at: t(6),
        },
    });
    Command::RegisterImage(c)
}

#[test]
fn a_bundle_registers_with_an_active_certificate_of_its_owner() {
    let mut g = with_bundle(crate::buckets::CannedAcl::AwsExecRead);
    let d = g.then_apply(&register(admin(), 9, CERT)).unwrap();
    assert_eq!(event_types(&d), vec!["ImageRegistered", "ImageBundleRecorded"]);
    // An unknown certificate, or one turned off, signs nothing.
    assert!(matches!(g.when(&register(admin(), 10, "NOPE")), Err(DecideError::ManifestNotSigned(_))));
    g.then_apply(&Command::UpdateSigningCertificate(UpdateSigningCertificate {
        account: admin(),
        user: UserName::admin(),
        certificate: CERT.into(),
        active: false,
        at: t(7),
    }))
    .unwrap();
    assert!(matches!(g.when(&register(admin(), 10, CERT)), Err(DecideError::ManifestNotSigned(_))));
}

#[test]
fn another_account_cannot_register_a_bundle_it_cannot_read() {
    let mut g = with_bundle(crate::buckets::CannedAcl::AwsExecRead);
    g.then_apply(&upload_cert(other_account(), "OTHERCERT")).unwrap();
    assert!(matches!(g.when(&register(other_account(), 11, "OTHERCERT")), Err(DecideError::AccessDenied(_))));
    // … nor with the owner's certificate.
    assert!(matches!(g.when(&register(other_account(), 11, CERT)), Err(DecideError::ManifestNotSigned(_))));
}

#[test]
fn launch_permissions_let_another_account_launch_until_reset() {
    let mut g = with_bundle(crate::buckets::CannedAcl::AwsExecRead);
    g.then_apply(&register(admin(), 9, CERT)).unwrap();
    let image = ImageId::with_kind(ImageKind::Machine, 9);
    let stream = StreamId::image(&image);
    let visible = |g: &Given| match g.state(&stream) {
        Some(Aggregate::Image(i)) => i.visible_to(&other_account()),
        other => panic!("{other:?}"),
    };
    assert!(!visible(&g));
    let modify = |account: AccountId| {
        Command::ModifyImageAttribute(ModifyImageAttribute {
            account,
            image: image.clone(),
            add: vec![other_account()],
            remove: vec![],
            public: None,
            description: None,
            at: t(8),
        })
    };
    assert_eq!(g.when(&modify(other_account())), Err(DecideError::ImageNotFound(image.clone())));
    let d = g.then_apply(&modify(admin())).unwrap();
    assert_eq!(event_types(&d), vec!["ImageLaunchPermissionsSet"]);
    assert!(visible(&g));
    assert!(event_types(&g.when(&modify(admin())).unwrap()).is_empty());
    let reset = Command::ResetImageAttribute(ResetImageAttribute {
        account: admin(),
        image: image.clone(),
        at: t(9),
    });
    g.then_apply(&reset).unwrap();
    assert!(!visible(&g));
    let deregister =
        Command::DeregisterImage(DeregisterImage { account: admin(), image: image.clone(), at: t(10) });
    g.then_apply(&deregister).unwrap();
    assert_eq!(g.when(&deregister), Err(DecideError::ImageNotFound(image)));
}

#[test]
fn a_user_has_at_most_two_signing_certificates() {
    let mut g = given(&[]);
    g.then_apply(&bootstrap(4)).unwrap();
    g.then_apply(&upload_cert(admin(), "A")).unwrap();
    assert_eq!(g.when(&upload_cert(admin(), "A")), Err(DecideError::DuplicateCertificate("A".into())));
    g.then_apply(&upload_cert(admin(), "B")).unwrap();
    assert_eq!(
        g.when(&upload_cert(admin(), "C")),
        Err(DecideError::SigningCertificateLimit(UserName::admin()))
    );
    let delete = Command::DeleteSigningCertificate(DeleteSigningCertificate {
        account: admin(),
        user: UserName::admin(),
        certificate: "A".into(),
        at: t(4),
    });
    g.then_apply(&delete).unwrap();
    assert_eq!(g.when(&delete), Err(DecideError::SigningCertificateNotFound("A".into())));
    g.then_apply(&upload_cert(admin(), "C")).unwrap();
}
