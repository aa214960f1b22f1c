//! Listing a bucket S3's way: keys in UTF-8 binary order from a marker,
//! under a prefix, keys sharing the part up to the delimiter rolled into
//! one common prefix, at most `max` entries (a common prefix counts as
//! one), and where the next page starts.

use domain::buckets::{Bucket, ObjectVersion, Upload};
use std::ops::Bound;

/// The largest page S3 returns.
pub(crate) const MAX_KEYS: usize = 1000;

/// A page of a listing.
pub(crate) struct Page<T> {
    pub entries: Vec<T>,
    pub prefixes: Vec<String>,
    /// Where the next page starts (the last key or common prefix of this
    /// one), when there is one.
    pub next: Option<String>,
}

impl<T> Page<T> {
    pub fn truncated(&self) -> bool {
        self.next.is_some()
    }
}

/// What a key rolls into under `prefix` and `delimiter`, if anything.
fn rolled<'k>(key: &'k str, prefix: &str, delimiter: Option<&str>) -> Option<&'k str> {
    let d = delimiter.filter(|d| !d.is_empty())?;
    let pos = key[prefix.len()..].find(d)?;
    Some(&key[..prefix.len() + pos + d.len()])
}

/// Keys (or common prefixes) after `after`, in order, each with its
/// versions, until `take` says stop. Shared by the object and version
/// listings.
fn walk<'b, T>(
    bucket: &'b Bucket,
    prefix: &str,
    delimiter: Option<&str>,
    after: Option<&str>,
    max: usize,
    mut entries_of: impl FnMut(&'b str, &'b [ObjectVersion]) -> Vec<T>,
) -> Page<T> {
    let mut page = Page { entries: Vec::new(), prefixes: Vec::new(), next: None };
    let start = match after {
        Some(a) if a >= prefix => Bound::Excluded(a),
        _ => Bound::Included(prefix),
    };
    let mut count = 0usize;
    let mut last: Option<String> = None;
    for (key, versions) in bucket.objects.range::<str, _>((start, Bound::Unbounded)) {
        if !key.starts_with(prefix) {
            break;
        }
        if let Some(common) = rolled(key, prefix, delimiter) {
            if after == Some(common) || page.prefixes.last().map(String::as_str) == Some(common) {
                continue;
            }
            if count == max {
                page.next = last;
                return page;
            }
            page.prefixes.push(common.to_owned());
            count += 1;
            last = Some(common.to_owned());
            continue;
        }
        let entries = entries_of(key, versions);
        if entries.is_empty() {
            continue;
        }
        if count == max {
            page.next = last;
            return page;
        }
        page.entries.extend(entries);
        count += 1;
        last = Some(key.clone());
    }
    page
}

/// ListObjects / ListObjectsV2: the current version of each key that has
/// one (a key whose current version is a delete marker is not listed).
pub(crate) fn objects<'b>(
    bucket: &'b Bucket,
    prefix: &str,
    delimiter: Option<&str>,
    after: Option<&str>,
    max: usize,
) -> Page<(&'b str, &'b ObjectVersion)> {
    walk(bucket, prefix, delimiter, after, max, |key, versions| {
        versions.last().filter(|v| !v.is_delete_marker()).map(|v| (key, v)).into_iter().collect()
    })
}

/// ListObjectVersions: every version of each key, newest first, and
/// whether it is the current one. `version_marker` resumes inside
/// `key_marker`'s versions. Pages end on a key's boundary unless one key
/// alone has more than `max` versions; `next` is then the version to
/// resume after, with its key.
pub(crate) fn versions<'b>(
    bucket: &'b Bucket,
    prefix: &str,
    delimiter: Option<&str>,
    key_marker: Option<&str>,
    version_marker: Option<&str>,
    max: usize,
) -> (Page<(&'b str, &'b ObjectVersion, bool)>, Option<String>) {
    let newest_first =
        |key: &'b str, versions: &'b [ObjectVersion]| -> Vec<(&'b str, &'b ObjectVersion, bool)> {
            let n = versions.len();
            versions.iter().enumerate().rev().map(|(i, v)| (key, v, i + 1 == n)).collect()
        };
    // The rest of the marker key's versions first.
    let mut head: Vec<(&'b str, &'b ObjectVersion, bool)> = Vec::new();
    if let (Some(key), Some(version)) = (key_marker, version_marker)
        && let Some(vs) = bucket.objects.get(key)
        && key.starts_with(prefix)
    {
        let key: &'b str = bucket.objects.get_key_value(key).map(|(k, _)| k.as_str()).unwrap_or_default();
        let all = newest_first(key, vs);
        if let Some(pos) = all.iter().position(|(_, v, _)| v.version == version) {
            head = all[pos + 1..].to_vec();
        }
    }
    if head.len() > max {
        let next_version = head[max - 1].1.version.clone();
        let next_key = head[max - 1].0.to_owned();
        head.truncate(max);
        return (Page { entries: head, prefixes: vec![], next: Some(next_key) }, Some(next_version));
    }
    let room = max - head.len();
    if room == 0 {
        // The page is the marker key's remaining versions: it goes on if
        // anything follows them.
        let rest = walk(bucket, prefix, delimiter, key_marker, 1, newest_first);
        let more = !rest.entries.is_empty() || !rest.prefixes.is_empty();
        let last = head.last().map(|(k, v, _)| ((*k).to_owned(), v.version.clone()));
        let (next, next_version) = match last.filter(|_| more) {
            Some((k, v)) => (Some(k), Some(v)),
            None => (None, None),
        };
        return (Page { entries: head, prefixes: vec![], next }, next_version);
    }
    let mut page = walk(bucket, prefix, delimiter, key_marker, room, newest_first);
    if head.len() + page.entries.len() > max {
        // One key's versions overflow the page: cut inside it.
        let mut all = head;
        all.append(&mut page.entries);
        all.truncate(max);
        let (key, v, _) = all[max - 1];
        let next_version = v.version.clone();
        page.entries = all;
        page.next = Some(key.to_owned());
        return (page, Some(next_version));
    }
    head.append(&mut page.entries);
    page.entries = head;
    (page, None)
}

/// ListMultipartUploads: uploads in progress by key, then by when they
/// began, after the markers.
pub(crate) fn uploads<'b>(
    bucket: &'b Bucket,
    prefix: &str,
    key_marker: Option<&str>,
    upload_marker: Option<&str>,
    max: usize,
) -> (Vec<(&'b str, &'b Upload)>, bool) {
    let mut all: Vec<(&'b str, &'b Upload)> = bucket
        .uploads
        .iter()
        .filter(|(_, u)| u.key.starts_with(prefix))
        .map(|(id, u)| (id.as_str(), u))
        .collect();
    all.sort_by(|a, b| (&a.1.key, a.1.initiated, a.0).cmp(&(&b.1.key, b.1.initiated, b.0)));
    if let Some(key) = key_marker {
        let after = |(id, u): &(&str, &Upload)| match upload_marker {
            Some(marker) => u.key.as_str() > key || (u.key == key && *id > marker),
            None => u.key.as_str() > key,
        };
        all.retain(after);
    }
    let truncated = all.len() > max;
    all.truncate(max);
    (all, truncated)
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::buckets::*;
    use domain::{AccountId, Timestamp};

    fn bucket(keys: &[&str]) -> Bucket {
        let owner = AccountId::from_bits(1);
        let acl = Acl::new(&AclRequest::default(), &owner, &owner);
        let mut b = Bucket {
            name: BucketName::parse("b-1").unwrap(),
            owner: owner.clone(),
            location: String::new(),
            created_at: Timestamp(0),
            deleted: false,
            acl: acl.clone(),
            versioning: Versioning::Enabled,
            cors: vec![],
            tags: vec![],
            objects: Default::default(),
            uploads: Default::default(),
            stored: 0,
            listed: (0, 0),
        };
        for (i, key) in keys.iter().enumerate() {
            let v = ObjectVersion {
                version: format!("v{i}"),
                owner: owner.clone(),
                modified: Timestamp(i as i64),
                content: Some(ObjectContent {
                    parts: vec![],
                    size: 1,
                    etag: "e".into(),
                    headers: Default::default(),
                    metadata: vec![],
                }),
                acl: acl.clone(),
            };
            b.objects.entry((*key).to_owned()).or_default().push(v);
        }
        b
    }

    fn keys(page: &Page<(&str, &ObjectVersion)>) -> Vec<String> {
        page.entries.iter().map(|(k, _)| (*k).to_owned()).collect()
    }

    #[test]
    fn prefixes_delimiters_and_pages() {
        let b = bucket(&["a.txt", "photos/2025/x.jpg", "photos/2026/y.jpg", "photos/z.jpg", "zz"]);
        let all = objects(&b, "", None, None, 1000);
        assert_eq!(keys(&all), ["a.txt", "photos/2025/x.jpg", "photos/2026/y.jpg", "photos/z.jpg", "zz"]);
        assert!(!all.truncated());
        let top = objects(&b, "", Some("/"), None, 1000);
        assert_eq!(keys(&top), ["a.txt", "zz"]);
        assert_eq!(top.prefixes, ["photos/"]);
        let photos = objects(&b, "photos/", Some("/"), None, 1000);
        assert_eq!(keys(&photos), ["photos/z.jpg"]);
        assert_eq!(photos.prefixes, ["photos/2025/", "photos/2026/"]);
        // Pages of two: a common prefix counts as one, and is not repeated.
        let p1 = objects(&b, "", Some("/"), None, 2);
        assert_eq!(
            (keys(&p1), p1.prefixes.clone(), p1.next.clone()),
            (vec!["a.txt".into()], vec!["photos/".into()], Some("photos/".into()))
        );
        let p2 = objects(&b, "", Some("/"), p1.next.as_deref(), 2);
        assert_eq!((keys(&p2), p2.prefixes.len(), p2.next), (vec!["zz".to_owned()], 0, None));
        let none = objects(&b, "nothing/", None, None, 10);
        assert!(none.entries.is_empty() && none.prefixes.is_empty() && !none.truncated());
    }

    #[test]
    fn delete_markers_hide_keys_from_object_listings_only() {
        let mut b = bucket(&["k", "k", "m"]);
        let owner = b.owner.clone();
        b.objects.get_mut("k").unwrap().push(ObjectVersion {
            version: "marker".into(),
            owner: owner.clone(),
            modified: Timestamp(9),
            content: None,
            acl: Acl { owner, grants: vec![] },
        });
        assert_eq!(keys(&objects(&b, "", None, None, 10)), ["m"]);
        let (page, _) = versions(&b, "", None, None, None, 10);
        let listed: Vec<(&str, &str, bool)> =
            page.entries.iter().map(|(k, v, latest)| (*k, v.version.as_str(), *latest)).collect();
        assert_eq!(
            listed,
            [("k", "marker", true), ("k", "v1", false), ("k", "v0", false), ("m", "v2", true)]
        );
        // Resuming inside a key's versions.
        let (first, next_version) = versions(&b, "", None, None, None, 2);
        assert_eq!(first.entries.len(), 2);
        assert_eq!((first.next.as_deref(), next_version.as_deref()), (Some("k"), Some("v1")));
        let (rest, _) = versions(&b, "", None, Some("k"), Some("v1"), 10);
        let listed: Vec<&str> = rest.entries.iter().map(|(_, v, _)| v.version.as_str()).collect();
        assert_eq!(listed, ["v0", "v2"]);
    }

    proptest::proptest! {
        /// Paging through a listing with the markers it hands out gives
        /// exactly the one-page listing: every key under the prefix that
        /// does not roll into a common prefix, every common prefix once,
        /// in order, each page at most `max` long.
        #[test]
        fn pages_add_up_to_the_whole_listing(
            names in proptest::collection::vec("[ab/]{1,6}", 0..40),
            prefix in "[ab/]{0,2}",
            slash in proptest::bool::ANY,
            max in 1usize..7,
        ) {
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let b = bucket(&refs);
            let delimiter = slash.then_some("/");
            let whole = objects(&b, &prefix, delimiter, None, 10_000);
            proptest::prop_assert!(!whole.truncated());
            let (mut listed, mut prefixes, mut after) = (Vec::new(), Vec::new(), None::<String>);
            for _ in 0..100 {
                let page = objects(&b, &prefix, delimiter, after.as_deref(), max);
                proptest::prop_assert!(page.entries.len() + page.prefixes.len() <= max);
                listed.extend(keys(&page));
                prefixes.extend(page.prefixes.clone());
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            proptest::prop_assert_eq!(&listed, &keys(&whole));
            proptest::prop_assert_eq!(&prefixes, &whole.prefixes);
            let mut expected: Vec<String> = b.objects.keys()
                .filter(|k| k.starts_with(prefix.as_str()))
                .filter(|k| !slash || !k[prefix.len()..].contains('/'))
                .cloned()
                .collect();
            expected.dedup();
            proptest::prop_assert_eq!(listed, expected);
        }

        /// The same for ListObjectVersions, whose pages may end inside a
        /// key's versions.
        #[test]
        fn version_pages_add_up_to_every_version(
            names in proptest::collection::vec("[ab]{1,3}", 0..30),
            max in 1usize..6,
        ) {
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let b = bucket(&refs);
            let (whole, _) = versions(&b, "", None, None, None, 10_000);
            let all: Vec<(String, String)> =
                whole.entries.iter().map(|(k, v, _)| ((*k).to_owned(), v.version.clone())).collect();
            proptest::prop_assert_eq!(all.len(), names.len());
            let (mut listed, mut key, mut version) = (Vec::new(), None::<String>, None::<String>);
            for _ in 0..200 {
                let (page, next_version) = versions(&b, "", None, key.as_deref(), version.as_deref(), max);
                proptest::prop_assert!(page.entries.len() <= max);
                listed.extend(page.entries.iter().map(|(k, v, _)| ((*k).to_owned(), v.version.clone())));
                match page.next {
                    Some(next) => {
                        version = next_version.or_else(|| {
                            page.entries.last().filter(|(k, _, _)| *k == next).map(|(_, v, _)| v.version.clone())
                        });
                        key = Some(next);
                    }
                    None => break,
                }
            }
            proptest::prop_assert_eq!(listed, all);
        }
    }
}
