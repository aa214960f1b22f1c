//! What a RunInstances retry with the same client token must ask for
//! again: its fingerprint, stored in `ClientTokenClaimed`.
//!
//! EC2 compares every parameter but the region and the zone. This
//! release's fingerprints (`v2:` and the SHA-256 of the parameters in a
//! fixed, length-prefixed encoding) do so. Earlier releases wrote an
//! unversioned text naming the zone and only the length of the user data,
//! without tags, termination protection or shutdown behaviour: a claim
//! they wrote is still compared the way they compared it (what it did not
//! record cannot be compared now), so a retry of an old claim with the
//! same parameters still replays.

use super::launch::RunInstances;
use crate::ZoneName;
use crate::security_groups::GroupRef;
use crate::tags::Tag;
use sha2::{Digest, Sha256};

/// The prefix of the fingerprints this release writes.
const V2: &str = "v2:";

/// Feeds a hash length-prefixed fields, so that no two different
/// requests feed the same bytes.
struct Fields(Sha256);

impl Fields {
    fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }

    fn text(&mut self, text: &str) -> &mut Self {
        self.bytes(text.as_bytes())
    }

    fn optional(&mut self, text: Option<&str>) -> &mut Self {
        match text {
            None => self.text("-"),
            Some(t) => self.text("+").text(t),
        }
    }

    fn count(&mut self, n: usize) -> &mut Self {
        self.text(&n.to_string())
    }

    fn tags(&mut self, tags: &[Tag]) -> &mut Self {
        // A set: the order they were listed in asks for nothing.
        let mut sorted: Vec<&Tag> = tags.iter().collect();
        sorted.sort();
        self.count(sorted.len());
        for tag in sorted {
            self.text(&tag.key).text(&tag.value);
        }
        self
    }
}

impl RunInstances {
    /// What a retry with the same client token must ask for again: every
    /// parameter but the zone (EC2's rule), the user data and tags by
    /// content.
    pub fn fingerprint(&self) -> String {
        let mut f = Fields(Sha256::new());
        f.text("RunInstances")
            .text(self.image.as_str())
            .text(&self.vm_type)
            .text(&self.min_count.to_string())
            .text(&self.max_count.to_string())
            .bytes(&self.user_data)
            .optional(self.key_name.as_deref());
        let mut groups: Vec<String> = self
            .groups
            .iter()
            .map(|g| match g {
                GroupRef::Id(id) => format!("id:{id}"),
                GroupRef::Name(name) => format!("name:{name}"),
            })
            .collect();
        groups.sort();
        groups.dedup();
        f.count(groups.len());
        for g in &groups {
            f.text(g);
        }
        f.text(self.shutdown_behavior.ec2_name())
            .text(if self.disable_api_termination { "true" } else { "false" })
            .tags(&self.tags)
            .tags(&self.volume_tags)
            .optional(self.kernel.as_ref().map(|k| k.as_str()))
            .optional(self.ramdisk.as_ref().map(|r| r.as_str()))
            .count(self.block_devices.len());
        for d in &self.block_devices {
            f.text(&d.device)
                .optional(d.size_gib.map(|s| s.to_string()).as_deref())
                .optional(d.snapshot.as_ref().map(|s| s.as_str()))
                .text(&d.volume_type)
                .text(if d.delete_on_termination { "true" } else { "false" });
        }
        let digest = f.0.finalize();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("{V2}{hex}")
    }

    /// Whether this request asks again for what a claimed token's first
    /// request asked for. A claim of an earlier release (no `v2:`) is
    /// compared as that release compared it: by its text naming the zone
    /// asked for, or, when none was, the zone it chose, which
    /// `chosen_zone` gives (asked only then).
    pub(crate) fn asks_again<E>(
        &self,
        claimed: &str,
        chosen_zone: impl FnOnce() -> Result<ZoneName, E>,
    ) -> Result<bool, E> {
        if claimed.starts_with(V2) {
            return Ok(claimed == self.fingerprint());
        }
        let asked = self.zone.as_ref().map_or("", ZoneName::as_str);
        if claimed == self.legacy_fingerprint_in(asked) {
            return Ok(true);
        }
        Ok(self.zone.is_none() && claimed == self.legacy_fingerprint_in(chosen_zone()?.as_str()))
    }

    /// The fingerprint earlier releases stored, naming `zone`: block
    /// device mappings, a kernel or a ramdisk added only when there are
    /// some (as the releases that added them wrote it).
    pub fn legacy_fingerprint_in(&self, zone: &str) -> String {
        let base = format!(
            "{}|{}|{}|{}|{}|{}|{:?}|{:?}",
            self.image,
            self.vm_type,
            self.min_count,
            self.max_count,
            zone,
            self.user_data.len(),
            self.key_name,
            self.groups
        );
        let base = match (&self.kernel, &self.ramdisk) {
            (None, None) => base,
            (kernel, ramdisk) => format!("{base}|{kernel:?}|{ramdisk:?}"),
        };
        if self.block_devices.is_empty() {
            return base;
        }
        let devices: Vec<String> = self
            .block_devices
            .iter()
            .map(|d| {
                format!(
                    "{}:{:?}:{:?}:{}:{}",
                    d.device, d.size_gib, d.snapshot, d.volume_type, d.delete_on_termination
                )
            })
            .collect();
        format!("{base}|{}", devices.join(","))
    }
}
