//! Buckets and their objects (Walrus, S3), folded with the domain's own
//! fold of a bucket's stream, so what S3 reads is exactly what the
//! decisions saw.

use domain::buckets::{Bucket, BucketName, fold_bucket};
use domain::event::Event;
use domain::{AccountId, ParsedStream};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BucketsView {
    /// Every bucket stream's state, deleted buckets included (a deleted
    /// bucket keeps its name's stream, which a later CreateBucket
    /// continues).
    pub buckets: BTreeMap<BucketName, Box<Bucket>>,
}

impl BucketsView {
    pub(crate) fn apply(&mut self, stream: &str, event: &Event) {
        let ParsedStream::Bucket(name) = ParsedStream::of(stream) else {
            return;
        };
        let mut slot = self.buckets.remove(&name);
        fold_bucket(&mut slot, event);
        if let Some(bucket) = slot {
            self.buckets.insert(name, bucket);
        }
    }

    /// A bucket that exists (not deleted).
    pub fn bucket(&self, name: &str) -> Option<&Bucket> {
        let name = BucketName::parse(name).ok()?;
        self.buckets.get(&name).map(|b| &**b).filter(|b| !b.deleted)
    }

    /// The buckets `account` owns, by name.
    pub fn owned_by<'a>(&'a self, account: &'a AccountId) -> impl Iterator<Item = &'a Bucket> + 'a {
        self.buckets.values().map(|b| &**b).filter(move |b| !b.deleted && &b.owner == account)
    }

    /// Every blob some object version or upload names (what the object
    /// store's garbage collection keeps).
    pub fn blobs(&self) -> std::collections::HashSet<&str> {
        self.buckets.values().flat_map(|b| b.blobs()).collect()
    }
}
