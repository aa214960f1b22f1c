//! A bucket as its stream folds it: its configuration, every version of
//! every object, and the multipart uploads in progress. The read side
//! keeps the same state (projections fold bucket streams with this code).

use super::NULL_VERSION;
use super::acl::{Acl, Caller, Permission};
use super::events::*;
use super::names::BucketName;
use crate::aggregate::{Aggregate, Evolve, State, StateView};
use crate::event::Event;
use crate::ids::AccountId;
use crate::model::Timestamp;
use crate::registry::BucketEvent;
use crate::stream::StreamId;
use crate::tags::Tags;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    pub name: BucketName,
    pub owner: AccountId,
    pub location: String,
    pub created_at: Timestamp,
    /// Deleted: the name is free again (a later CreateBucket recreates it).
    pub deleted: bool,
    pub acl: Acl,
    pub versioning: Versioning,
    pub cors: Vec<CorsRule>,
    pub tags: Vec<(String, String)>,
    /// Every key's versions, oldest first (the last is the current one).
    pub objects: BTreeMap<String, Vec<ObjectVersion>>,
    /// Multipart uploads in progress, by upload id.
    pub uploads: BTreeMap<String, Upload>,
    /// Bytes of every stored version (what usage meters), kept with the
    /// versions.
    pub stored: u64,
    /// Objects whose current version is not a delete marker, and their
    /// bytes (what a listing shows), kept with the versions.
    pub listed: (u64, u64),
}

/// One version of an object, or a delete marker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObjectVersion {
    pub version: String,
    /// Who stored it (or placed the marker).
    pub owner: AccountId,
    pub modified: Timestamp,
    /// `None`: a delete marker.
    pub content: Option<ObjectContent>,
    pub acl: Acl,
}

impl ObjectVersion {
    pub fn is_delete_marker(&self) -> bool {
        self.content.is_none()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Upload {
    pub key: String,
    pub account: AccountId,
    pub initiated: Timestamp,
    pub headers: ObjectHeaders,
    pub metadata: Vec<(String, String)>,
    pub acl: Acl,
    /// Parts by number, each with its MD5 (hex) and when it was stored.
    pub parts: BTreeMap<u32, UploadedPart>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UploadedPart {
    pub part: BlobRef,
    pub etag: String,
    pub at: Timestamp,
}

impl Bucket {
    /// Whether `caller` may do what `permission` covers on the bucket.
    pub fn allows(&self, caller: &Caller, permission: Permission) -> bool {
        !self.deleted && self.acl.allows(caller, permission)
    }

    /// The current version of `key` (a delete marker included).
    pub fn current(&self, key: &str) -> Option<&ObjectVersion> {
        self.objects.get(key).and_then(|versions| versions.last())
    }

    /// One version of `key`.
    pub fn version(&self, key: &str, version: &str) -> Option<&ObjectVersion> {
        self.objects.get(key)?.iter().find(|v| v.version == version)
    }

    /// The version a GET without a version id reads: the current one, if
    /// it is not a delete marker.
    pub fn latest(&self, key: &str) -> Option<&ObjectVersion> {
        self.current(key).filter(|v| !v.is_delete_marker())
    }

    /// The version id S3 shows for `version`: none on a bucket never
    /// versioned (it sends no `x-amz-version-id` then).
    pub fn version_shown(&self, version: &str) -> Option<String> {
        (self.versioning != Versioning::Unversioned).then(|| version.to_owned())
    }

    /// Whether the bucket holds no version of anything (DeleteBucket's
    /// condition; delete markers count, as in S3).
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// Every blob the bucket's objects and uploads name.
    pub fn blobs(&self) -> impl Iterator<Item = &str> + '_ {
        let objects = self.objects.values().flatten().filter_map(|v| v.content.as_ref());
        let stored = objects.flat_map(|c| c.parts.iter().map(|p| p.blob.as_str()));
        let uploading = self.uploads.values().flat_map(|u| u.parts.values().map(|p| p.part.blob.as_str()));
        stored.chain(uploading)
    }

    /// Bytes stored by every version of every object, counted again (the
    /// check of [`Bucket::stored`]).
    pub fn stored_bytes(&self) -> u64 {
        self.objects.values().flatten().map(size_of).sum()
    }

    /// The current objects and their bytes, counted again (the check of
    /// [`Bucket::listed`]).
    pub fn current_counted(&self) -> (u64, u64) {
        self.objects.keys().filter_map(|k| self.latest(k)).fold((0, 0), |(n, b), v| (n + 1, b + size_of(v)))
    }

    /// What `key`'s current version adds to [`Bucket::listed`].
    fn current_of(&self, key: &str) -> (u64, u64) {
        self.latest(key).map_or((0, 0), |v| (1, size_of(v)))
    }

    /// Changes `key`'s versions, keeping [`Bucket::listed`].
    fn change_key(&mut self, key: &str, change: impl FnOnce(&mut Bucket)) {
        let (n, b) = self.current_of(key);
        self.listed = (self.listed.0 - n, self.listed.1 - b);
        change(self);
        let (n, b) = self.current_of(key);
        self.listed = (self.listed.0 + n, self.listed.1 + b);
    }

    fn put_version(&mut self, key: &str, version: ObjectVersion) {
        self.change_key(key, |bucket| bucket.push_version(key, version));
    }

    fn push_version(&mut self, key: &str, version: ObjectVersion) {
        let versions = self.objects.entry(key.to_owned()).or_default();
        if version.version == NULL_VERSION {
            let gone: u64 = versions.iter().filter(|v| v.version == NULL_VERSION).map(size_of).sum();
            self.stored -= gone;
            versions.retain(|v| v.version != NULL_VERSION);
        }
        self.stored += size_of(&version);
        versions.push(version);
    }

    fn fresh(name: BucketName, account: &AccountId, location: &str, acl: &Acl, at: Timestamp) -> Bucket {
        Bucket {
            name,
            owner: account.clone(),
            location: location.to_owned(),
            created_at: at,
            deleted: false,
            acl: acl.clone(),
            versioning: Versioning::Unversioned,
            cors: Vec::new(),
            tags: Vec::new(),
            objects: BTreeMap::new(),
            uploads: BTreeMap::new(),
            stored: 0,
            listed: (0, 0),
        }
    }
}

fn size_of(v: &ObjectVersion) -> u64 {
    v.content.as_ref().map_or(0, |c| c.size)
}

impl State for Bucket {
    type Created = BucketCreated;

    fn created(e: &BucketCreated) -> Self {
        Bucket::fresh(e.bucket.clone(), &e.account, &e.location, &e.acl, e.at)
    }

    fn tags_mut(&mut self, _resource: &str) -> Option<&mut Tags> {
        None
    }
}

impl Evolve for Bucket {
    type Event<'a> = BucketEvent<'a>;

    fn apply(&mut self, event: BucketEvent<'_>) {
        match event {
            BucketEvent::BucketRecreated(e) => {
                *self = Bucket::fresh(self.name.clone(), &e.account, &e.location, &e.acl, e.at);
            }
            BucketEvent::BucketDeleted(_) => {
                self.deleted = true;
                self.stored = 0;
                self.listed = (0, 0);
                self.objects.clear();
                self.uploads.clear();
                self.cors.clear();
                self.tags.clear();
            }
            BucketEvent::BucketAclSet(e) => self.acl = e.acl.clone(),
            BucketEvent::BucketVersioningSet(e) => self.versioning = e.versioning,
            BucketEvent::BucketCorsSet(e) => self.cors = e.rules.clone(),
            BucketEvent::BucketTaggingSet(e) => self.tags = e.tags.clone(),
            BucketEvent::ObjectStored(e) => {
                let version = ObjectVersion {
                    version: e.version.clone(),
                    owner: e.acl.owner.clone(),
                    modified: e.at,
                    content: Some(e.content.clone()),
                    acl: e.acl.clone(),
                };
                self.put_version(&e.key, version);
            }
            BucketEvent::DeleteMarkerPlaced(e) => {
                let acl = Acl { owner: e.account.clone(), grants: Vec::new() };
                let marker = ObjectVersion {
                    version: e.version.clone(),
                    owner: e.account.clone(),
                    modified: e.at,
                    content: None,
                    acl,
                };
                self.put_version(&e.key, marker);
            }
            BucketEvent::ObjectVersionDeleted(e) => self.change_key(&e.key, |bucket| {
                if let Some(versions) = bucket.objects.get_mut(&e.key) {
                    let gone: u64 = versions.iter().filter(|v| v.version == e.version).map(size_of).sum();
                    bucket.stored -= gone;
                    versions.retain(|v| v.version != e.version);
                    if versions.is_empty() {
                        bucket.objects.remove(&e.key);
                    }
                }
            }),
            BucketEvent::ObjectAclSet(e) => {
                if let Some(v) =
                    self.objects.get_mut(&e.key).and_then(|vs| vs.iter_mut().find(|v| v.version == e.version))
                {
                    v.acl = e.acl.clone();
                }
            }
            BucketEvent::MultipartUploadStarted(e) => {
                self.uploads.insert(
                    e.upload.clone(),
                    Upload {
                        key: e.key.clone(),
                        account: e.account.clone(),
                        initiated: e.at,
                        headers: e.headers.clone(),
                        metadata: e.metadata.clone(),
                        acl: e.acl.clone(),
                        parts: BTreeMap::new(),
                    },
                );
            }
            BucketEvent::MultipartPartStored(e) => {
                if let Some(upload) = self.uploads.get_mut(&e.upload) {
                    upload.parts.insert(
                        e.number,
                        UploadedPart { part: e.part.clone(), etag: e.etag.clone(), at: e.at },
                    );
                }
            }
            BucketEvent::MultipartUploadEnded(e) => {
                self.uploads.remove(&e.upload);
            }
        }
    }
}

/// Folds one event of a bucket's stream into `slot` (`None` before the
/// stream's first event): the read side's way of keeping buckets with the
/// domain's own fold.
pub fn fold_bucket(slot: &mut Option<Box<Bucket>>, event: &Event) {
    let mut aggregate = match slot.take() {
        Some(bucket) => Aggregate::Bucket(bucket),
        None => Aggregate::Empty,
    };
    aggregate.evolve(event);
    *slot = match aggregate {
        Aggregate::Bucket(bucket) => Some(bucket),
        _ => None,
    };
}

impl dyn StateView + '_ {
    /// A bucket's stream, deleted bucket or not.
    pub fn bucket(&self, name: &BucketName) -> Option<&Bucket> {
        match self.get(&StreamId::bucket(name)) {
            Some(Aggregate::Bucket(b)) => Some(b),
            _ => None,
        }
    }
}
