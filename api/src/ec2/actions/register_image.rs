//! RegisterImage of a bundle in Walrus (`ImageLocation=bucket/prefix.manifest.xml`,
//! as euca-register and `aws ec2 register-image --image-location` send it):
//! the manifest read as the caller may read it, parsed, its signature
//! checked against the account's active signing certificates, its key
//! opened with the cloud's key (it was bundled for this cloud), every
//! part read and checked against its signed SHA1. The image's type (emi,
//! eki, eri) is the manifest's `image/type`; Name, Description,
//! Architecture, KernelId and RamdiskId override what the manifest says.
//! The domain then checks, against the log, the signer and that nothing
//! read has changed.
//!
//! Without ImageLocation, RegisterImage makes an EBS-backed image
//! (`--root-device-name /dev/sda1 --block-device-mappings
//! DeviceName=/dev/sda1,Ebs={SnapshotId=snap-…}`): its instances boot from
//! a volume made from the root device's snapshot.

use super::block_device_mappings;
use crate::app::images::{ImageSupport, ObjectReadError};
use crate::app::{App, ids::now};
use crate::ec2::Ctx;
use crate::ec2::error::{Code, Ec2Error};
use crate::ec2::params::Params;
use domain::buckets::{BlobRef, BucketName, Caller, Permission};
use domain::command::{BundleRegistration, RegisterImage};
use domain::event::{ImageBundleRecorded, ImagePart};
use domain::images::EbsRegistration;
use domain::{Command, ImageId, ImageKind};
use sha1::Digest;

/// Manifests are a few KiB; refuse anything much larger.
const MANIFEST_LIMIT: u64 = 4 << 20;
/// Parts are 10 MiB as euca2ools makes them; allow some room.
const PART_LIMIT: u64 = 64 << 20;

/// Where the image comes from.
#[derive(Debug)]
enum Source {
    /// A bundle's manifest in Walrus.
    Bundle { bucket: BucketName, key: String },
    /// Snapshots: the root device's and the other mapped devices'.
    Ebs(EbsRegistration),
}

#[derive(Debug)]
pub struct Request {
    source: Source,
    name: Option<String>,
    description: String,
    architecture: Option<String>,
    kernel: Option<ImageId>,
    ramdisk: Option<ImageId>,
}

fn image_id(params: &Params, name: &str) -> Result<Option<ImageId>, Ec2Error> {
    params
        .get(name)
        .filter(|s| !s.is_empty())
        .map(|s| {
            ImageId::parse(s)
                .map_err(|_| Ec2Error::new(Code::InvalidAmiIdMalformed, format!("Invalid id: \"{s}\"")))
        })
        .transpose()
}

/// A bundle's location (`bucket/prefix.manifest.xml`).
fn bundle_source(location: &str) -> Result<Source, Ec2Error> {
    let (bucket, key) = location.trim_start_matches('/').split_once('/').ok_or_else(|| {
        Ec2Error::invalid(format!("ImageLocation {location} is not bucket/prefix.manifest.xml"))
    })?;
    if !key.ends_with(".manifest.xml") {
        return Err(Ec2Error::invalid(format!(
            "ImageLocation {location} does not name a manifest (bucket/prefix.manifest.xml)"
        )));
    }
    let bucket =
        BucketName::parse(bucket).map_err(|e| Ec2Error::invalid(format!("ImageLocation {location}: {e}")))?;
    Ok(Source::Bundle { bucket, key: key.to_owned() })
}

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    let location = params.get("ImageLocation").filter(|l| !l.is_empty());
    let devices = block_device_mappings::for_launch(params)?;
    let root = params.get("RootDeviceName").filter(|r| !r.is_empty());
    let source = match (location, root) {
        (Some(_), _) if !devices.is_empty() => {
            return Err(Ec2Error::new(
                Code::InvalidParameterCombination,
                "A bundle (ImageLocation) is registered without BlockDeviceMapping: its root device is \
                 the bundled image",
            ));
        }
        (Some(location), _) => bundle_source(location)?,
        (None, Some(root)) => Source::Ebs(EbsRegistration { root_device: root.to_owned(), devices }),
        (None, None) => {
            return Err(Ec2Error::missing(
                "ImageLocation (bucket/prefix.manifest.xml), or RootDeviceName with a BlockDeviceMapping \
                 of its snapshot",
            ));
        }
    };
    if matches!(source, Source::Ebs(_)) && params.get("Name").is_none_or(str::is_empty) {
        return Err(Ec2Error::missing("Name"));
    }
    let architecture = params.get("Architecture").filter(|a| !a.is_empty()).map(str::to_owned);
    if let Some(a) = &architecture
        && !matches!(a.as_str(), "i386" | "x86_64")
    {
        return Err(Ec2Error::invalid(format!(
            "Value ({a}) for parameter architecture is invalid. Expected: i386, x86_64."
        )));
    }
    let name = params.get("Name").filter(|n| !n.is_empty()).map(str::to_owned);
    if let Some(n) = &name
        && (n.len() < 3 || n.len() > 128)
    {
        return Err(Ec2Error::invalid("Name must be 3 to 128 characters long"));
    }
    Ok(Request {
        source,
        name,
        description: params.get("Description").unwrap_or("").to_owned(),
        architecture,
        kernel: image_id(params, "KernelId")?,
        ramdisk: image_id(params, "RamdiskId")?,
    })
}

/// RegisterImage of a bundle, its location parsed.
struct BundleRequest {
    bucket: BucketName,
    key: String,
    name: Option<String>,
    description: String,
    architecture: Option<String>,
    kernel: Option<ImageId>,
    ramdisk: Option<ImageId>,
}

fn invalid_manifest(message: impl Into<String>) -> Ec2Error {
    Ec2Error::new(Code::InvalidManifest, message)
}

fn read_failed(what: &str, e: ObjectReadError) -> Ec2Error {
    match e {
        ObjectReadError::TooLarge(limit) => {
            invalid_manifest(format!("{what} is larger than {limit} bytes: not a bundle's"))
        }
        other => {
            tracing::error!(error = %other, object = what, "cannot read an object of a bundle");
            Ec2Error::internal()
        }
    }
}

/// The latest version of `key` in `bucket` if `caller` may read it: its
/// version id and bytes' blobs.
fn readable(
    app: &App,
    bucket: &BucketName,
    key: &str,
    caller: &Caller,
) -> Result<(String, Vec<BlobRef>), Ec2Error> {
    let models = app.projections.read();
    let b = models
        .buckets
        .bucket(bucket.as_str())
        .filter(|b| !b.deleted)
        .ok_or_else(|| invalid_manifest(format!("The bucket {bucket} does not exist")))?;
    let v = b.latest(key).ok_or_else(|| invalid_manifest(format!("{bucket}/{key} does not exist")))?;
    if !v.acl.allows(caller, Permission::Read) {
        return Err(Ec2Error::new(Code::AuthFailure, format!("Not authorized to read {bucket}/{key}")));
    }
    // Nodes read bundles as the cloud does (`aws-exec-read`): refuse now
    // what no node could fetch later, as EC2 does.
    let cloud = crate::app::image_downloads::cloud_reader(&models);
    if cloud.is_some_and(|cloud| !v.acl.allows(&cloud, Permission::Read)) {
        return Err(invalid_manifest(format!(
            "HTTP 403 (Forbidden) response for {bucket}/{key}: check your S3 ACLs are correct \
             (the cloud reads bundles through the aws-exec-read ACL)"
        )));
    }
    let parts = v.content.as_ref().map(|c| c.parts.clone()).unwrap_or_default();
    Ok((v.version.clone(), parts))
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let (bucket, key) = match r.source {
        Source::Bundle { bucket, key } => (bucket, key),
        Source::Ebs(ebs) => {
            let account = ctx.account().clone();
            let name = r.name.unwrap_or_default();
            let image = app.ids.image(ImageKind::Machine);
            let command = Command::RegisterImage(RegisterImage {
                image: image.clone(),
                owner: account.clone(),
                kind: ImageKind::Machine,
                location: format!("{account}/{name}"),
                name,
                description: r.description,
                architecture: r.architecture.unwrap_or_else(|| "x86_64".into()),
                kernel: r.kernel,
                ramdisk: r.ramdisk,
                public: false,
                bundle: None,
                ebs: Some(ebs),
                at: now(),
            });
            ctx.execute(app, command).await?;
            let mut x = ctx.response("RegisterImageResponse");
            x.text("imageId", image.as_str());
            return Ok(x.finish());
        }
    };
    let r = BundleRequest {
        bucket,
        key,
        name: r.name,
        description: r.description,
        architecture: r.architecture,
        kernel: r.kernel,
        ramdisk: r.ramdisk,
    };
    let support: &ImageSupport = app.images.get().ok_or_else(|| {
        Ec2Error::new(
            Code::Unsupported,
            "This cloud has no object store or certificate to register bundles with",
        )
    })?;
    let account = ctx.account().clone();
    let caller = Caller::Account { account: account.clone(), cloud_admin: app.is_cloud_admin(&account) };
    let location = format!("{}/{}", r.bucket, r.key);

    let (manifest_version, blobs) = readable(app, &r.bucket, &r.key, &caller)?;
    let mut bytes = Vec::new();
    support
        .read(&blobs, MANIFEST_LIMIT, |c| bytes.extend_from_slice(c))
        .await
        .map_err(|e| read_failed(&location, e))?;
    let manifest_sha256 = hex::encode(sha2::Sha256::digest(&bytes));
    let text =
        String::from_utf8(bytes).map_err(|_| invalid_manifest(format!("{location} is not UTF-8 XML")))?;
    let manifest = bundle::Manifest::parse(&text)
        .map_err(|e| invalid_manifest(format!("{location} is not a bundle manifest: {e}")))?;

    let owner = manifest.account_id.replace('-', "");
    if owner != account.as_str() {
        return Err(Ec2Error::new(
            Code::AuthFailure,
            format!("The manifest {location} was bundled for account {owner}, not for yours ({account})"),
        ));
    }
    let certificates: Vec<(String, String)> = {
        let models = app.projections.read();
        models
            .accounts
            .certificates
            .iter()
            .filter(|(_, c)| c.account == account && c.active)
            .map(|(id, c)| (id.clone(), c.pem.clone()))
            .collect()
    };
    let signed_by = certificates
        .iter()
        .find(|(_, pem)| manifest.verify_signature(pem).is_ok())
        .map(|(id, _)| id.clone())
        .ok_or_else(|| {
            Ec2Error::new(
                Code::AuthFailure,
                format!(
                    "The signature of {location} does not verify with any active signing certificate of \
                     account {account} ({} checked): the manifest was changed, or signed with another key",
                    certificates.len()
                ),
            )
        })?;
    manifest.decrypt_key_iv(support.cloud.private_key()).map_err(|_| {
        invalid_manifest(format!(
            "{location} was not bundled for this cloud: its key is not encrypted to this cloud's \
             certificate (EUCALYPTUS_CERT)"
        ))
    })?;

    let dir = r.key.rfind('/').map_or("", |i| &r.key[..=i]);
    let mut parts = Vec::new();
    for part in &manifest.parts {
        let key = format!("{dir}{}", part.filename);
        let (version, blobs) = readable(app, &r.bucket, &key, &caller)?;
        let mut sha = sha1::Sha1::new();
        let size = support
            .read(&blobs, PART_LIMIT, |c| sha.update(c))
            .await
            .map_err(|e| read_failed(&format!("{}/{key}", r.bucket), e))?;
        let digest = hex::encode(sha.finalize());
        if !digest.eq_ignore_ascii_case(&part.digest) {
            return Err(invalid_manifest(format!(
                "Part {}/{key} does not match its SHA1 in the signed manifest (it was changed or is corrupt)",
                r.bucket
            )));
        }
        parts.push(ImagePart { key, version, sha1: digest, size });
    }

    let kind = match manifest.image_type {
        bundle::ImageType::Machine => ImageKind::Machine,
        bundle::ImageType::Kernel => ImageKind::Kernel,
        bundle::ImageType::Ramdisk => ImageKind::Ramdisk,
    };
    let from_manifest = |id: &Option<String>| id.as_deref().and_then(|s| ImageId::parse(s).ok());
    let (kernel, ramdisk) = match kind {
        ImageKind::Machine => (
            r.kernel.or_else(|| from_manifest(&manifest.kernel_id)),
            r.ramdisk.or_else(|| from_manifest(&manifest.ramdisk_id)),
        ),
        _ => (None, None),
    };
    let at = now();
    let image = app.ids.image(kind);
    let recorded = ImageBundleRecorded {
        bucket: r.bucket.to_string(),
        manifest_key: r.key.clone(),
        manifest_version,
        manifest_sha256,
        signed_by,
        image_digest: manifest.image_digest.clone(),
        image_size: manifest.image_size,
        bundled_size: manifest.bundled_size,
        encrypted_key: manifest.ec2_encrypted_key.clone(),
        encrypted_iv: manifest.ec2_encrypted_iv.clone(),
        parts,
        at,
    };
    let command = Command::RegisterImage(RegisterImage {
        image: image.clone(),
        owner: account,
        kind,
        name: r.name.unwrap_or_else(|| manifest.name.clone()),
        description: r.description,
        architecture: r.architecture.unwrap_or_else(|| manifest.architecture.as_str().to_owned()),
        location,
        kernel,
        ramdisk,
        public: false,
        bundle: Some(BundleRegistration { caller, recorded }),
        ebs: None,
        at,
    });
    ctx.execute(app, command).await?;
    let mut x = ctx.response("RegisterImageResponse");
    x.text("imageId", image.as_str());
    Ok(x.finish())
}
